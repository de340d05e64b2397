// Interop: kafkajs 2.2.4 (a real client nobody here wrote) against the broker, in-process on a free
// port: produce and consume, a consumer group that rebalances, committed offsets resumed, a
// transactional read-process-write, and an idempotent produce retried after a lost response.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  type Admin,
  AssignerProtocol,
  type Consumer,
  type ConsumerConfig,
  type EachMessagePayload,
  Kafka,
  logLevel,
  Partitioners,
  type Producer,
} from 'kafkajs'
import type { RequestOf } from '../../src/protocol/index.js'
import type { TestBroker } from './harness.js'
import { javaPartition, startInteropBroker, waitFor } from './interop-helpers.js'

interface Received {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: string | null
  readonly value: string
  readonly headers: Record<string, string>
}

function received({ topic, partition, message }: EachMessagePayload): Received {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v)
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key?.toString() ?? null,
    value: message.value?.toString() ?? '',
    headers,
  }
}

describe('kafkajs 2.2.4 against the broker', () => {
  let b: TestBroker
  let kafka: Kafka
  let admin: Admin
  /** Topic whose first Produce response the broker drops (set by the idempotence test). */
  let dropProduceResponseFor: string | null = null
  let droppedResponses = 0
  const clients: { disconnect(): Promise<void> }[] = []

  before(async () => {
    b = await startInteropBroker({
      testHooks: {
        beforeProduceResponse(req: RequestOf<'Produce'>) {
          if (dropProduceResponseFor === null) return false
          if (!req.topicData.some((t) => t.name === dropProduceResponseFor)) return false
          dropProduceResponseFor = null
          droppedResponses++
          return true
        },
      },
    })
    kafka = new Kafka({
      clientId: 'eddy-kafkajs-test',
      brokers: [`127.0.0.1:${b.port}`],
      logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 50, retries: 8 },
    })
    admin = kafka.admin()
    await admin.connect()
    clients.push(admin)
  })
  after(async () => {
    for (const c of clients.reverse()) await c.disconnect().catch(() => {})
    await b?.stop()
  })

  async function producer(opts: Parameters<Kafka['producer']>[0] = {}): Promise<Producer> {
    const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...opts })
    await p.connect()
    clients.push(p)
    return p
  }

  async function consumer(
    opts: ConsumerConfig,
    topic: string,
    onMessage: (m: Received) => void,
    run: { autoCommit?: boolean } = {},
  ): Promise<Consumer> {
    const c = kafka.consumer({ heartbeatInterval: 100, maxWaitTimeInMs: 100, ...opts })
    await c.connect()
    clients.push(c)
    await c.subscribe({ topic, fromBeginning: true })
    await c.run({ autoCommit: run.autoCommit ?? true, eachMessage: async (p) => onMessage(received(p)) })
    return c
  }

  /** Every member's assigned partitions of `topic`, once the group is Stable with `members` members. */
  async function stableAssignment(groupId: string, topic: string, members: number): Promise<number[][]> {
    return waitFor(`group ${groupId} stable with ${members} members`, async () => {
      const { groups } = await admin.describeGroups([groupId])
      const g = groups[0]
      if (g === undefined || g.state !== 'Stable' || g.members.length !== members) return undefined
      const parts = g.members.map((m) =>
        [...(AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic] ?? [])].sort(),
      )
      // A new generation is Stable only after every member synced: all 6 are handed out.
      return parts.flat().length === 6 ? parts : undefined
    })
  }

  it('produces keyed messages with headers to 6 partitions and consumes them all back', async () => {
    await admin.createTopics({ topics: [{ topic: 'kjs-keyed', numPartitions: 6 }], waitForLeaders: true })
    const p = await producer()
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`)
    const sent = Array.from({ length: 60 }, (_, i) => ({
      key: keys[i % keys.length]!,
      value: `value-${i}`,
      headers: { seq: String(i), origin: 'kafkajs' },
    }))
    await p.send({ topic: 'kjs-keyed', messages: sent })

    const got: Received[] = []
    await consumer({ groupId: 'kjs-keyed-reader' }, 'kjs-keyed', (m) => got.push(m))
    await waitFor('60 messages', () => got.length >= 60)
    assert.equal(got.length, 60)
    const byValue = new Map(got.map((m) => [m.value, m]))
    for (const [i, s] of sent.entries()) {
      const m = byValue.get(s.value)
      assert.ok(m, `${s.value} was consumed`)
      assert.equal(m.key, s.key)
      assert.deepEqual(m.headers, { seq: String(i), origin: 'kafkajs' })
      assert.equal(m.partition, javaPartition(s.key, 6), `${s.key} on the murmur2 partition`)
    }
    // Each partition's records come back in the order they were sent.
    for (let part = 0; part < 6; part++) {
      const seqs = got.filter((m) => m.partition === part).map((m) => Number(m.headers.seq))
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, c) => a - c),
      )
    }
    assert.ok(new Set(got.map((m) => m.partition)).size > 1, 'keys spread over partitions')
    // The broker's log holds what kafkajs wrote.
    const log0 = await b.log.read('kjs-keyed', got[0]!.partition, 0, { maxBytes: 1 << 20 })
    assert.ok(log0.records.some((r) => r.value?.toString() === got[0]!.value))
  })

  it('balances a group of 3 over 6 partitions and rebalances the 6 over 2 when one leaves', async () => {
    const topic = 'kjs-group'
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true })
    const p = await producer()
    const got: Received[][] = [[], [], []]
    const members = await Promise.all(
      [0, 1, 2].map((i) => consumer({ groupId: 'kjs-trio' }, topic, (m) => got[i]!.push(m))),
    )
    const three = await stableAssignment('kjs-trio', topic, 3)
    assert.deepEqual(
      three.map((ps) => ps.length),
      [2, 2, 2],
    )
    assert.deepEqual(three.flat().sort(), [0, 1, 2, 3, 4, 5])

    await p.send({
      topic,
      messages: [0, 1, 2, 3, 4, 5].map((part) => ({ partition: part, value: `before-${part}` })),
    })
    await waitFor('6 messages over the 3 members', () => got.flat().length >= 6)
    for (const g of got) assert.equal(new Set(g.map((m) => m.partition)).size, 2, 'each member reads its 2')

    await members[2]!.disconnect()
    const two = await stableAssignment('kjs-trio', topic, 2)
    assert.deepEqual(
      two.map((ps) => ps.length),
      [3, 3],
    )
    assert.deepEqual(two.flat().sort(), [0, 1, 2, 3, 4, 5])

    const leftWith = got[2]!.length
    await p.send({
      topic,
      messages: [0, 1, 2, 3, 4, 5].flatMap((part) => [
        { partition: part, value: `after-${part}-a` },
        { partition: part, value: `after-${part}-b` },
      ]),
    })
    const afterLeave = () => got.slice(0, 2).flatMap((g) => g.filter((m) => m.value.startsWith('after-')))
    await waitFor(
      '12 new messages at the 2 remaining members',
      () => new Set(afterLeave().map((m) => m.value)).size >= 12,
    )
    assert.deepEqual(new Set(afterLeave().map((m) => m.partition)), new Set([0, 1, 2, 3, 4, 5]))
    assert.equal(got[2]!.length, leftWith, 'the member that left reads nothing more')
  })

  it('resumes a group from its committed offsets after the consumer restarts', async () => {
    const topic = 'kjs-resume'
    const groupId = 'kjs-resumer'
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true })
    const p = await producer()
    for (const part of [0, 1]) {
      await p.send({
        topic,
        messages: Array.from({ length: 10 }, (_, i) => ({ partition: part, value: `r${part}-${i}` })),
      })
    }
    const first: Received[] = []
    const c1 = await consumer({ groupId }, topic, (m) => first.push(m), { autoCommit: false })
    await waitFor('20 messages', () => first.length >= 20)
    // Commit half of each partition: the next record to read is offset 5.
    await c1.commitOffsets([0, 1].map((partition) => ({ topic, partition, offset: '5' })))
    assert.deepEqual(
      (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions
        .map((x) => [x.partition, x.offset])
        .sort(),
      [
        [0, '5'],
        [1, '5'],
      ],
    )
    await c1.disconnect()
    assert.deepEqual(
      b.log.groups.fetch(groupId, [topic]).map((c) => c.offset),
      [5, 5],
    )

    const second: Received[] = []
    await consumer({ groupId }, topic, (m) => second.push(m))
    await waitFor('10 uncommitted messages', () => second.length >= 10)
    assert.deepEqual(
      second.map((m) => `${m.partition}@${m.offset}`).sort(),
      [0, 1].flatMap((part) => [5, 6, 7, 8, 9].map((o) => `${part}@${o}`)).sort(),
      'exactly the records past the committed offsets, none of the committed ones',
    )
    assert.deepEqual(
      second.filter((m) => m.partition === 0).map((m) => m.value),
      ['r0-5', 'r0-6', 'r0-7', 'r0-8', 'r0-9'],
    )
  })

  it('reads, processes and writes in a transaction: aborted once, committed once', async () => {
    const groupId = 'kjs-rpw'
    await admin.createTopics({
      topics: [
        { topic: 'kjs-in', numPartitions: 1 },
        { topic: 'kjs-out', numPartitions: 1 },
      ],
      waitForLeaders: true,
    })
    const plain = await producer()
    await plain.send({ topic: 'kjs-in', messages: [1, 2, 3, 4, 5, 6].map((i) => ({ value: `in-${i}` })) })

    // The input side: a consumer that does not commit; the transaction carries its offsets.
    const input: Received[] = []
    await consumer({ groupId }, 'kjs-in', (m) => input.push(m), { autoCommit: false })
    await waitFor('6 input messages', () => input.length >= 6)

    const tp = await producer({ transactionalId: 'kjs-rpw-tx', idempotent: true, maxInFlightRequests: 1 })
    const processWrite = async (batch: Received[], tag: string, commit: boolean) => {
      const tx = await tp.transaction()
      await tx.send({
        topic: 'kjs-out',
        messages: batch.map((m) => ({ value: `${tag}:${m.value.toUpperCase()}` })),
      })
      await tx.sendOffsets({
        consumerGroupId: groupId,
        topics: [
          { topic: 'kjs-in', partitions: [{ partition: 0, offset: String(batch.at(-1)!.offset + 1) }] },
        ],
      })
      if (commit) await tx.commit()
      else await tx.abort()
    }
    // Aborted: all six processed, offset 6 sent — neither the output nor the offset may count.
    await processWrite(input, 'aborted', false)
    assert.deepEqual(
      b.log.groups.fetch(groupId, ['kjs-in']).map((c) => c.offset),
      [-1],
    )
    // Committed: the first three processed again, offset 3 sent.
    await processWrite(input.slice(0, 3), 'committed', true)
    assert.deepEqual(
      b.log.groups.fetch(groupId, ['kjs-in']).map((c) => c.offset),
      [3],
    )
    const committedOffsets = await admin.fetchOffsets({ groupId, topics: ['kjs-in'] })
    assert.equal(committedOffsets[0]!.partitions[0]!.offset, '3')
    // A plain record after both transactions marks the end of what readers must reach.
    await plain.send({ topic: 'kjs-out', messages: [{ value: 'end' }] })

    const readAll = async (readUncommitted: boolean): Promise<string[]> => {
      const got: string[] = []
      await consumer(
        { groupId: `kjs-out-${readUncommitted ? 'ru' : 'rc'}`, readUncommitted },
        'kjs-out',
        (m) => got.push(m.value),
      )
      await waitFor('the end marker', () => got.includes('end'))
      return got
    }
    assert.deepEqual(await readAll(false), ['committed:IN-1', 'committed:IN-2', 'committed:IN-3', 'end'])
    assert.deepEqual(await readAll(true), [
      'aborted:IN-1',
      'aborted:IN-2',
      'aborted:IN-3',
      'aborted:IN-4',
      'aborted:IN-5',
      'aborted:IN-6',
      'committed:IN-1',
      'committed:IN-2',
      'committed:IN-3',
      'end',
    ])
  })

  it('retries an idempotent produce whose response was lost without duplicating it', async () => {
    const topic = 'kjs-idem'
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })
    const p = await producer({ idempotent: true, maxInFlightRequests: 1 })
    dropProduceResponseFor = topic
    const [result] = await p.send({ topic, messages: [1, 2, 3, 4, 5].map((i) => ({ value: `idem-${i}` })) })
    assert.equal(droppedResponses, 1, 'the first Produce response was dropped')
    assert.equal(result?.errorCode, 0)
    assert.equal(result?.baseOffset, '0', 'the retry is answered with the first append')
    // The next batch follows on: the producer's sequence moved past the retried one.
    await p.send({ topic, messages: [{ value: 'idem-6' }] })
    const { records } = await b.log.read(topic, 0, 0, { maxBytes: 1 << 20 })
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      ['idem-1', 'idem-2', 'idem-3', 'idem-4', 'idem-5', 'idem-6'],
    )
    assert.ok(b.logger.lines.some((l) => /test hook: dropping the connection/.test(l)))
  })

  it('deletes records before an offset (admin.deleteTopicRecords, DeleteRecords v1)', async () => {
    const topic = 'kjs-purge'
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true })
    const p = await producer()
    await p.send({ topic, messages: [0, 1, 2, 3, 4].map((i) => ({ value: `v${i}`, partition: 0 })) })
    await p.send({ topic, messages: [{ value: 'w', partition: 1 }] })
    // kafkajs looks the leaders up in its cached metadata, which holds only topics asked about.
    await admin.fetchTopicMetadata({ topics: [topic] })
    // -1: up to the high watermark.
    await admin.deleteTopicRecords({
      topic,
      partitions: [
        { partition: 0, offset: '3' },
        { partition: 1, offset: '-1' },
      ],
    })
    assert.equal(b.log.earliestOffset(topic, 0), 3)
    assert.equal(b.log.earliestOffset(topic, 1), 1)
    const offsets = await admin.fetchTopicOffsets(topic)
    assert.deepEqual(offsets.map((o) => [o.partition, o.low, o.high]).sort(), [
      [0, '3', '5'],
      [1, '1', '1'],
    ])
  })
})
