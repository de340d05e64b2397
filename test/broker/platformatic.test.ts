// Interop: @platformatic/kafka 1.x (a real client nobody here wrote) against the broker,
// in-process on a free port: produce and consume, a consumer group that rebalances, committed
// offsets resumed, a transactional read-process-write, and an idempotent produce retried after a
// lost response.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  Admin,
  type BaseOptions,
  type ConsumeOptions,
  Consumer,
  compatibilityPartitioner,
  FetchIsolationLevels,
  type Message,
  type MessagesStream,
  Producer,
  type ProducerOptions,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka'
import type { RequestOf } from '../../src/protocol/index.js'
import type { TestBroker } from './harness.js'
import { javaPartition, startInteropBroker, waitFor } from './interop-helpers.js'

type Msg = Message<string, string, string, string>
type Stream = MessagesStream<string, string, string, string>
type StrConsumer = Consumer<string, string, string, string>
type StrProducer = Producer<string, string, string, string>

interface Received {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: string | null
  readonly value: string
  readonly headers: Record<string, string>
}

function received(m: Msg): Received {
  return {
    topic: m.topic,
    partition: m.partition,
    offset: Number(m.offset),
    key: m.key ?? null,
    value: m.value ?? '',
    headers: Object.fromEntries(m.headers),
  }
}

describe('@platformatic/kafka 1.x against the broker', () => {
  let b: TestBroker
  let base: BaseOptions
  let admin: Admin
  /** Topic whose first Produce response the broker drops (set by the idempotence test). */
  let dropProduceResponseFor: string | null = null
  let droppedResponses = 0
  const closers: (() => Promise<void>)[] = []
  let clientSeq = 0

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
    base = {
      clientId: 'eddy-platformatic-test',
      bootstrapBrokers: [`127.0.0.1:${b.port}`],
      retries: 8,
      retryDelay: 50,
    }
    admin = new Admin(base)
    closers.push(() => admin.close())
  })
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {})
    await b?.stop()
  })

  function producer(opts: Partial<ProducerOptions<string, string, string, string>> = {}): StrProducer {
    const p = new Producer({
      ...base,
      clientId: `plt-producer-${clientSeq++}`,
      serializers: stringSerializers,
      ...opts,
    })
    closers.push(() => p.close())
    return p
  }

  interface Member {
    readonly consumer: StrConsumer
    readonly stream: Stream
    /** Leaves the group and closes. */
    close(): Promise<void>
  }

  async function consumer(
    groupId: string,
    topic: string,
    onMessage: (m: Msg) => void,
    opts: Partial<ConsumeOptions<string, string, string, string>> = {},
  ): Promise<Member> {
    const c: StrConsumer = new Consumer({
      ...base,
      clientId: `plt-consumer-${clientSeq++}`,
      groupId,
      deserializers: stringDeserializers,
      heartbeatInterval: 100,
      sessionTimeout: 10_000,
      maxWaitTime: 100,
    })
    const stream = await c.consume({
      topics: [topic],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: 50,
      ...opts,
    })
    stream.on('data', onMessage)
    let closed = false
    const close = async () => {
      if (closed) return
      closed = true
      await stream.close()
      await c.close()
    }
    closers.push(close)
    return { consumer: c, stream, close }
  }

  /** Every member's assigned partitions of `topic`, once the group is Stable with `members` members. */
  async function stableAssignment(groupId: string, topic: string, members: number): Promise<number[][]> {
    return waitFor(`group ${groupId} stable with ${members} members`, async () => {
      const g = (await admin.describeGroups({ groups: [groupId] })).get(groupId)
      if (g === undefined || g.state !== 'STABLE' || g.members.size !== members) return undefined
      const parts = [...g.members.values()].map((m) =>
        [...(m.assignments?.get(topic)?.partitions ?? [])].sort(),
      )
      return parts.flat().length === 6 ? parts : undefined
    })
  }

  it('produces keyed messages with headers to 6 partitions and consumes them all back', async () => {
    await admin.createTopics({ topics: ['plt-keyed'], partitions: 6, replicas: 1 })
    // The Java-compatible partitioner: the client's default one differs from Kafka's (see below).
    const p = producer({ partitioner: compatibilityPartitioner })
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`)
    const sent = Array.from({ length: 60 }, (_, i) => ({
      topic: 'plt-keyed',
      key: keys[i % keys.length]!,
      value: `value-${i}`,
      headers: { seq: String(i), origin: 'platformatic' },
    }))
    const result = await p.send({ messages: sent })
    assert.ok((result.offsets?.length ?? 0) > 0)

    const got: Received[] = []
    await consumer('plt-keyed-reader', 'plt-keyed', (m) => got.push(received(m)))
    await waitFor('60 messages', () => got.length >= 60)
    assert.equal(got.length, 60)
    const byValue = new Map(got.map((m) => [m.value, m]))
    for (const [i, s] of sent.entries()) {
      const m = byValue.get(s.value)
      assert.ok(m, `${s.value} was consumed`)
      assert.equal(m.key, s.key)
      assert.deepEqual(m.headers, { seq: String(i), origin: 'platformatic' })
      assert.equal(m.partition, javaPartition(s.key, 6), `${s.key} on the murmur2 partition`)
    }
    for (let part = 0; part < 6; part++) {
      const seqs = got.filter((m) => m.partition === part).map((m) => Number(m.headers.seq))
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, c) => a - c),
      )
    }
    assert.ok(new Set(got.map((m) => m.partition)).size > 1, 'keys spread over partitions')
    const log0 = await b.log.read('plt-keyed', got[0]!.partition, 0, { maxBytes: 1 << 20 })
    assert.ok(log0.records.some((r) => r.value?.toString() === got[0]!.value))
  })

  it('balances a group of 3 over 6 partitions and rebalances the 6 over 2 when one leaves', async () => {
    const topic = 'plt-group'
    await admin.createTopics({ topics: [topic], partitions: 6, replicas: 1 })
    const p = producer()
    const got: Received[][] = [[], [], []]
    const members = await Promise.all(
      [0, 1, 2].map((i) => consumer('plt-trio', topic, (m) => got[i]!.push(received(m)))),
    )
    const three = await stableAssignment('plt-trio', topic, 3)
    assert.deepEqual(
      three.map((ps) => ps.length),
      [2, 2, 2],
    )
    assert.deepEqual(three.flat().sort(), [0, 1, 2, 3, 4, 5])
    // Each client knows its own 2.
    await waitFor('each client sees its 2 partitions', () =>
      members.every((m) => m.consumer.assignments?.find((a) => a.topic === topic)?.partitions.length === 2),
    )

    await p.send({
      messages: [0, 1, 2, 3, 4, 5].map((part) => ({ topic, partition: part, value: `before-${part}` })),
    })
    await waitFor('6 messages over the 3 members', () => got.flat().length >= 6)
    for (const g of got) assert.equal(new Set(g.map((m) => m.partition)).size, 2, 'each member reads its 2')

    await members[2]!.close()
    const two = await stableAssignment('plt-trio', topic, 2)
    assert.deepEqual(
      two.map((ps) => ps.length),
      [3, 3],
    )
    assert.deepEqual(two.flat().sort(), [0, 1, 2, 3, 4, 5])

    const leftWith = got[2]!.length
    await p.send({
      messages: [0, 1, 2, 3, 4, 5].flatMap((part) => [
        { topic, partition: part, value: `after-${part}-a` },
        { topic, partition: part, value: `after-${part}-b` },
      ]),
    })
    const afterMsgs = () => got.slice(0, 2).flatMap((g) => g.filter((m) => m.value.startsWith('after-')))
    await waitFor(
      '12 new messages at the 2 remaining members',
      () => new Set(afterMsgs().map((m) => m.value)).size >= 12,
    )
    assert.deepEqual(new Set(afterMsgs().map((m) => m.partition)), new Set([0, 1, 2, 3, 4, 5]))
    assert.equal(got[2]!.length, leftWith, 'the member that left reads nothing more')
    // Closed here, not with the suite: members left running through the later tests (a loaded
    // machine can starve their heartbeats) rejoin in the background and fail after this test ended.
    for (const m of members) await m.close()
  })

  it('resumes a group from its committed offsets after the consumer restarts', async () => {
    const topic = 'plt-resume'
    const groupId = 'plt-resumer'
    await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 })
    const p = producer()
    await p.send({
      messages: [0, 1].flatMap((part) =>
        Array.from({ length: 10 }, (_, i) => ({ topic, partition: part, value: `r${part}-${i}` })),
      ),
    })
    const first: Msg[] = []
    const c1 = await consumer(groupId, topic, (m) => first.push(m), { autocommit: false })
    await waitFor('20 messages', () => first.length >= 20)
    // Commit half of each partition: the message at offset 4 commits offset 5.
    for (const m of first.filter((x) => x.offset === 4n)) await m.commit()
    const listed = await c1.consumer.listCommittedOffsets({ topics: [{ topic, partitions: [0, 1] }] })
    assert.deepEqual(listed.get(topic), [5n, 5n])
    await c1.close()
    assert.deepEqual(
      b.log.groups.fetch(groupId, [topic]).map((c) => c.offset),
      [5, 5],
    )

    const second: Received[] = []
    await consumer(groupId, topic, (m) => second.push(received(m)))
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
    const groupId = 'plt-rpw'
    await admin.createTopics({ topics: ['plt-in', 'plt-out'], partitions: 1, replicas: 1 })
    const plain = producer()
    await plain.send({ messages: [1, 2, 3, 4, 5, 6].map((i) => ({ topic: 'plt-in', value: `in-${i}` })) })

    // The input side: a consumer that does not commit; the transaction carries its offsets.
    const input: Msg[] = []
    const reader = await consumer(groupId, 'plt-in', (m) => input.push(m), { autocommit: false })
    await waitFor('6 input messages', () => input.length >= 6)

    const tp = producer({ transactionalId: 'plt-rpw-tx', idempotent: true })
    const processWrite = async (batch: Msg[], tag: string, commit: boolean) => {
      const tx = await tp.beginTransaction()
      await tx.send({
        messages: batch.map((m) => ({ topic: 'plt-out', value: `${tag}:${(m.value ?? '').toUpperCase()}` })),
      })
      await tx.addConsumer(reader.consumer)
      await tx.addOffset(batch.at(-1)!)
      if (commit) await tx.commit()
      else await tx.abort()
    }
    // Aborted: all six processed, offset 6 sent — neither the output nor the offset may count.
    await processWrite(input, 'aborted', false)
    assert.deepEqual(
      b.log.groups.fetch(groupId, ['plt-in']).map((c) => c.offset),
      [-1],
    )
    // Committed: the first three processed again, offset 3 sent.
    await processWrite(input.slice(0, 3), 'committed', true)
    assert.deepEqual(
      b.log.groups.fetch(groupId, ['plt-in']).map((c) => c.offset),
      [3],
    )
    const listed = await reader.consumer.listCommittedOffsets({
      topics: [{ topic: 'plt-in', partitions: [0] }],
    })
    assert.deepEqual(listed.get('plt-in'), [3n])
    // A plain record after both transactions marks the end of what readers must reach.
    await plain.send({ messages: [{ topic: 'plt-out', value: 'end' }] })

    const readAll = async (isolationLevel: number): Promise<string[]> => {
      const got: string[] = []
      await consumer(`plt-out-${isolationLevel}`, 'plt-out', (m) => got.push(m.value ?? ''), {
        isolationLevel,
      })
      await waitFor('the end marker', () => got.includes('end'))
      return got
    }
    assert.deepEqual(await readAll(FetchIsolationLevels.READ_COMMITTED), [
      'committed:IN-1',
      'committed:IN-2',
      'committed:IN-3',
      'end',
    ])
    assert.deepEqual(await readAll(FetchIsolationLevels.READ_UNCOMMITTED), [
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
    const topic = 'plt-idem'
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 })
    const p = producer({ idempotent: true })
    dropProduceResponseFor = topic
    const result = await p.send({ messages: [1, 2, 3, 4, 5].map((i) => ({ topic, value: `idem-${i}` })) })
    assert.equal(droppedResponses, 1, 'the first Produce response was dropped')
    assert.deepEqual(
      result.offsets,
      [{ topic, partition: 0, offset: 0n }],
      'the retry is answered with the first append',
    )
    // The next batch follows on: the producer's sequence moved past the retried one.
    await p.send({ messages: [{ topic, value: 'idem-6' }] })
    const { records } = await b.log.read(topic, 0, 0, { maxBytes: 1 << 20 })
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      ['idem-1', 'idem-2', 'idem-3', 'idem-4', 'idem-5', 'idem-6'],
    )
    assert.ok(b.logger.lines.some((l) => /test hook: dropping the connection/.test(l)))
  })
})
