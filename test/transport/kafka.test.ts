// What only the Kafka transport has to get right, against Eddy's broker in this process: fetches
// gathered into few requests, long polls that do not hold up other fetches, retries that neither
// lose nor duplicate records (a dropped connection, a broker restart), clear errors for an
// unreachable cluster or a missing API version, and batches compressed by another client.
import assert from 'node:assert/strict'
import * as net from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Producer } from '@platformatic/kafka'
import { Broker } from '../../src/broker/broker.js'
import { GroupCoordinator } from '../../src/broker/group-coordinator.js'
import { isEddyError } from '../../src/core/errors.js'
import type { LogRecord } from '../../src/core/record.js'
import type { ApiName, KafkaRequest } from '../../src/protocol/index.js'
import { KafkaTransport } from '../../src/transport/kafka.js'
import { startBroker, type TestBroker } from '../broker/harness.js'

const v = (s: string) => Buffer.from(s)
const valuesOf = (records: readonly LogRecord[]) => records.map((r) => r.value?.toString() ?? null)

describe('Kafka transport against Eddy broker', () => {
  let b: TestBroker
  let t: KafkaTransport
  const counts = new Map<ApiName, number>()
  /** Topic whose next Produce loses its connection after the append (then the hook disarms). */
  let dropProduceTo: string | null = null
  let seq = 0
  const unique = (prefix: string) => `${prefix}-${++seq}`

  const count = (api: ApiName) => counts.get(api) ?? 0

  before(async () => {
    b = await startBroker({
      transactionCheckIntervalMs: 0,
      testHooks: {
        onRequest(req: KafkaRequest) {
          counts.set(req.api, count(req.api) + 1)
        },
        beforeProduceResponse(req) {
          if (dropProduceTo === null || !req.topicData.some((d) => d.name === dropProduceTo)) return false
          dropProduceTo = null
          return true
        },
      },
    })
    t = await KafkaTransport.connect({ brokers: [`127.0.0.1:${b.port}`], clientId: 'eddy-transport-test' })
  })

  after(async () => {
    await t.close()
    await b.stop()
  })

  async function topic(partitions = 1): Promise<string> {
    const name = unique('topic')
    await t.ensureTopic(name, { partitions })
    return name
  }

  it('fetches made together for partitions of one broker go out as one Fetch request', async () => {
    const name = await topic(16)
    const p = await t.producer({})
    await Promise.all(Array.from({ length: 16 }, (_, part) => p.send(name, part, [{ value: v(`r${part}`) }])))
    const before = count('Fetch')
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, part) => t.fetch(name, part, 0, { isolation: 'read_committed' })),
    )
    assert.deepEqual(
      results.map((r) => valuesOf(r.records)),
      Array.from({ length: 16 }, (_, part) => [`r${part}`]),
    )
    assert.equal(count('Fetch') - before, 1)
    await p.close()
  })

  it('long polls on many partitions are one request, and aborting the rest after one returns costs none', async () => {
    const name = await topic(8)
    const p = await t.producer({})
    const before = count('Fetch')
    const controller = new AbortController()
    const polls = Array.from({ length: 8 }, (_, part) =>
      t.fetch(name, part, 0, { maxWaitMs: 30_000, isolation: 'read_committed', signal: controller.signal }),
    )
    await p.send(name, 5, [{ value: v('wake') }])
    const first = await Promise.race(polls)
    controller.abort()
    const all = await Promise.all(polls)
    assert.deepEqual(valuesOf(first.records), ['wake'])
    assert.equal(all.filter((r) => r.records.length > 0).length, 1)
    assert.equal(count('Fetch') - before, 1)
    await p.close()
  })

  it('a fetch does not wait behind a long poll on another partition', async () => {
    const quiet = await topic()
    const busy = await topic()
    const p = await t.producer({})
    await p.send(busy, 0, [{ value: v('here') }])
    const controller = new AbortController()
    const poll = t.fetch(quiet, 0, 0, {
      maxWaitMs: 30_000,
      isolation: 'read_committed',
      signal: controller.signal,
    })
    // Let the long poll go out before the next fetch is made.
    await t.latestOffset(quiet, 0, 'read_committed')
    const started = Date.now()
    const r = await t.fetch(busy, 0, 0, { isolation: 'read_committed' })
    assert.deepEqual(valuesOf(r.records), ['here'])
    assert.ok(Date.now() - started < 10_000, 'the fetch went out on another connection')
    controller.abort()
    assert.deepEqual((await poll).records, [])
    await p.close()
  })

  it('a send whose connection drops after the append is retried, and lands once', async () => {
    const name = await topic()
    const p = await t.producer({})
    dropProduceTo = name
    await p.send(name, 0, [{ value: v('once') }])
    assert.equal(dropProduceTo, null, 'the hook dropped a response')
    await p.send(name, 0, [{ value: v('twice') }])
    const r = await t.fetch(name, 0, 0, { isolation: 'read_committed' })
    assert.deepEqual(valuesOf(r.records), ['once', 'twice'])
    await p.close()
  })

  it('a transactional send whose connection drops is retried, and the transaction commits it once', async () => {
    const name = await topic()
    const p = await t.producer({ transactionalId: unique('txn') })
    p.beginTransaction()
    dropProduceTo = name
    await p.send(name, 0, [{ value: v('a') }, { value: v('b') }])
    assert.equal(dropProduceTo, null, 'the hook dropped a response')
    await p.commitTransaction()
    const r = await t.fetch(name, 0, 0, { isolation: 'read_committed' })
    assert.deepEqual(valuesOf(r.records), ['a', 'b'])
    await p.close()
  })

  it('a send given up on after its connection dropped fails; the producer goes on under a new producer id', async () => {
    const name = await topic()
    // No time for retries: the send fails with the broker's fate of its batch unknown.
    const impatient = await KafkaTransport.connect({ brokers: [`127.0.0.1:${b.port}`], retryTimeoutMs: 1 })
    try {
      const p = await impatient.producer({})
      dropProduceTo = name
      await assert.rejects(p.send(name, 0, [{ value: v('unacknowledged') }]), (e) =>
        isEddyError(e, 'BROKER_UNAVAILABLE'),
      )
      const inits = count('InitProducerId')
      await p.send(name, 0, [{ value: v('next') }])
      assert.equal(count('InitProducerId') - inits, 1, 'a new producer id before the next batch')
      const r = await t.fetch(name, 0, 0, { isolation: 'read_committed' })
      // The broker had appended the first batch before the connection dropped.
      assert.deepEqual(valuesOf(r.records), ['unacknowledged', 'next'])
      await p.close()
    } finally {
      await impatient.close()
    }
  })

  it('a send bigger than a batch Kafka takes goes out as several batches, in order', async () => {
    const name = await topic()
    const p = await t.producer({ transactionalId: unique('txn') })
    const records = Array.from({ length: 30 }, (_, i) => ({ value: Buffer.alloc(100_000, i) }))
    const before = count('Produce')
    p.beginTransaction()
    await p.send(name, 0, records)
    await p.commitTransaction()
    const produced = count('Produce') - before
    assert.ok(produced >= 3, `3 MB in ${produced} Produce request(s)`)
    const got: LogRecord[] = []
    for (let offset = 0; offset < 30; ) {
      const r = await t.fetch(name, 0, offset, { isolation: 'read_committed', maxBytes: 4 * 1024 * 1024 })
      got.push(...r.records)
      offset = r.nextOffset
    }
    assert.deepEqual(
      got.map((r) => r.value![0]),
      Array.from({ length: 30 }, (_, i) => i),
    )
    await p.close()
  })

  it('reads batches another client compressed', async () => {
    const name = await topic()
    const producer = new Producer({
      clientId: 'compressing-client',
      bootstrapBrokers: [`127.0.0.1:${b.port}`],
      compression: 'gzip',
    })
    try {
      await producer.send({
        messages: ['z1', 'z2', 'z3'].map((x) => ({ topic: name, partition: 0, key: v('k'), value: v(x) })),
      })
    } finally {
      await producer.close()
    }
    const r = await t.fetch(name, 0, 0, { isolation: 'read_committed' })
    assert.deepEqual(valuesOf(r.records), ['z1', 'z2', 'z3'])
    assert.deepEqual(
      r.records.map((x) => x.key?.toString()),
      ['k', 'k', 'k'],
    )
  })

  it('an API version both sides lack is UNSUPPORTED_VERSION, naming the API', async () => {
    const old = await KafkaTransport.connect({
      brokers: [`127.0.0.1:${b.port}`],
      maxApiVersions: { Fetch: 3 },
    })
    try {
      const name = await topic()
      await assert.rejects(
        old.fetch(name, 0, 0, { isolation: 'read_committed' }),
        (e) => isEddyError(e, 'UNSUPPORTED_VERSION') && e.message.includes('Fetch'),
      )
    } finally {
      await old.close()
    }
  })
})

describe('Kafka transport and an unavailable broker', () => {
  it('connecting to an address nobody listens on is BROKER_UNAVAILABLE, naming it', async () => {
    const port = await freePort()
    await assert.rejects(
      KafkaTransport.connect({ brokers: [`127.0.0.1:${port}`], retryTimeoutMs: 200, connectTimeoutMs: 1000 }),
      (e) => isEddyError(e, 'BROKER_UNAVAILABLE') && e.message.includes(`127.0.0.1:${port}`),
    )
  })

  it('sends and fetches made while the broker restarts complete once it is back', async () => {
    const b = await startBroker({ transactionCheckIntervalMs: 0 })
    const t = await KafkaTransport.connect({ brokers: [`127.0.0.1:${b.port}`], retryTimeoutMs: 20_000 })
    let restarted: Broker | null = null
    const groups = new GroupCoordinator({ initialRebalanceDelayMs: 0 })
    try {
      const name = unique('restart')
      await t.ensureTopic(name, { partitions: 1 })
      const p = await t.producer({ transactionalId: 'restart-txn' })
      p.beginTransaction()
      await p.send(name, 0, [{ value: v('before') }])
      await p.commitTransaction()
      await b.broker.close()
      // Made while nothing listens: they retry until the broker is back.
      const polled = t.fetch(name, 0, 2, { maxWaitMs: 20_000, isolation: 'read_committed' })
      const offsets = t.latestOffset(name, 0, 'read_committed')
      restarted = await Broker.start({
        log: b.log,
        port: b.port,
        logger: b.logger,
        groups,
        transactionCheckIntervalMs: 0,
      })
      assert.equal(await offsets, 2)
      p.beginTransaction()
      await p.send(name, 0, [{ value: v('after') }])
      await p.commitTransaction()
      assert.deepEqual(valuesOf((await polled).records), ['after'])
      await p.close()
    } finally {
      await t.close()
      await restarted?.close()
      groups.close()
      await b.stop()
    }
  })
})

let unique_seq = 0
function unique(prefix: string): string {
  return `${prefix}-${++unique_seq}`
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
