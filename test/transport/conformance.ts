// The Transport contract as one suite, run on every implementation (DESIGN.md §8): the embedded
// transport over a log in a temporary directory, and the Kafka transport against Eddy's broker.
// Each test uses topics, groups and transactional ids of its own, so one transport serves all.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type EddyErrorCode, isEddyError } from '../../src/core/errors.js'
import type { LogRecord, RecordInput } from '../../src/core/record.js'
import type { IsolationLevel } from '../../src/log/types.js'
import type { GroupMemberInfo, Transport, TransportProducer } from '../../src/transport/transport.js'

export interface TransportUnderTest {
  readonly transport: Transport
  /** Runs the time and size retention of the log underneath once, now. */
  applyRetention(): void
  /** Closes the transport and whatever it runs on. */
  close(): Promise<void>
}

const v = (s: string) => Buffer.from(s)
const valuesOf = (records: readonly LogRecord[]) => records.map((r) => r.value?.toString() ?? null)
const inputs = (...values: string[]): RecordInput[] => values.map((x) => ({ value: v(x) }))

/** An assert.rejects check: an EddyError with `code`, and a message containing each of `words`. */
function eddyError(code: EddyErrorCode, ...words: string[]) {
  return (err: unknown) => {
    assert.ok(isEddyError(err, code), `expected EddyError ${code}, got ${String(err)}`)
    for (const w of words) assert.ok(err.message.includes(w), `message "${err.message}" should name ${w}`)
    return true
  }
}

/** Whether a promise has settled, looked at without waiting for it. */
function settledFlag(p: Promise<unknown>): { readonly settled: boolean } {
  const flag = { settled: false }
  p.then(
    () => {
      flag.settled = true
    },
    () => {
      flag.settled = true
    },
  )
  return flag
}

export function transportConformance(name: string, open: () => Promise<TransportUnderTest>): void {
  describe(`Transport conformance: ${name}`, () => {
    let env: TransportUnderTest
    let t: Transport
    let seq = 0
    const unique = (prefix: string) => `${prefix}-${++seq}`
    const producers: TransportProducer[] = []

    before(async () => {
      env = await open()
      t = env.transport
    })
    after(async () => {
      for (const p of producers) await p.close().catch(() => {})
      await env.close()
    })

    async function producer(transactionalId?: string): Promise<TransportProducer> {
      const p = await t.producer(transactionalId === undefined ? {} : { transactionalId })
      producers.push(p)
      return p
    }

    async function topic(partitions = 1): Promise<string> {
      const name = unique('topic')
      assert.equal(await t.ensureTopic(name, { partitions }), partitions)
      return name
    }

    /** Every record from `from` to the isolation level's end, fetch by fetch. */
    async function readAll(
      topicName: string,
      partition: number,
      isolation: IsolationLevel,
      from = 0,
    ): Promise<{ records: LogRecord[]; nextOffset: number }> {
      const end = await t.latestOffset(topicName, partition, isolation)
      const records: LogRecord[] = []
      let offset = from
      while (offset < end) {
        const r = await t.fetch(topicName, partition, offset, { isolation })
        assert.ok(r.nextOffset > offset, `fetch at ${offset} of ${topicName}-${partition} made no progress`)
        records.push(...r.records)
        offset = r.nextOffset
      }
      return { records, nextOffset: offset }
    }

    describe('topics', () => {
      it('ensureTopic creates a topic with its partitions; partitionCount sees it, and null for a missing one', async () => {
        const name = unique('topic')
        assert.equal(await t.partitionCount(name), null)
        assert.equal(await t.ensureTopic(name, { partitions: 3 }), 3)
        assert.equal(await t.partitionCount(name), 3)
        for (let p = 0; p < 3; p++) {
          assert.equal(await t.earliestOffset(name, p), 0)
          assert.equal(await t.latestOffset(name, p, 'read_uncommitted'), 0)
        }
        // Again: it exists with the partitions asked for.
        assert.equal(await t.ensureTopic(name, { partitions: 3 }), 3)
      })

      it('ensureTopic fails, naming the topic and both partition counts, when the topic has others', async () => {
        const name = await topic(3)
        await assert.rejects(
          t.ensureTopic(name, { partitions: 2 }),
          eddyError('INVALID_ARGUMENT', name, '3', '2'),
        )
        await assert.rejects(
          t.ensureTopic(name, { partitions: 4 }),
          eddyError('INVALID_ARGUMENT', name, '3', '4'),
        )
        assert.equal(await t.partitionCount(name), 3)
      })

      it('ensureTopic with compact makes a compacted topic, and refuses an existing topic that is not', async () => {
        const compacted = unique('changelog')
        assert.equal(await t.ensureTopic(compacted, { partitions: 2, compact: true }), 2)
        // Only a compacted topic passes this check, so the first call made one.
        assert.equal(await t.ensureTopic(compacted, { partitions: 2, compact: true }), 2)
        assert.equal(await t.ensureTopic(compacted, { partitions: 2 }), 2)
        const plain = await topic(2)
        await assert.rejects(
          t.ensureTopic(plain, { partitions: 2, compact: true }),
          eddyError('INVALID_ARGUMENT', plain, 'compact'),
        )
      })

      it('ensureTopic refuses a bad topic name and a partition count below 1', async () => {
        await assert.rejects(
          t.ensureTopic('no spaces allowed', { partitions: 1 }),
          eddyError('INVALID_TOPIC_NAME'),
        )
        await assert.rejects(t.ensureTopic(unique('topic'), { partitions: 0 }), eddyError('INVALID_ARGUMENT'))
      })
    })

    describe('producing and fetching', () => {
      it('records come back as sent: keys, null keys and values, headers, timestamps, offsets', async () => {
        const name = await topic(2)
        const p = await producer()
        const sent: RecordInput[] = [
          {
            key: v('k1'),
            value: v('v1'),
            timestamp: 1_700_000_000_000,
            headers: [{ key: 'h', value: v('x') }],
          },
          { key: null, value: null, timestamp: 1_700_000_000_005 },
          {
            key: v('k3'),
            value: v(''),
            timestamp: 1_699_999_999_000,
            headers: [
              { key: 'a', value: null },
              { key: 'b', value: v('2') },
            ],
          },
        ]
        await p.send(name, 1, sent)
        const r = await t.fetch(name, 1, 0, { isolation: 'read_committed' })
        assert.equal(r.nextOffset, 3)
        assert.equal(r.highWatermark, 3)
        assert.deepEqual(
          r.records.map((x) => ({
            topic: x.topic,
            partition: x.partition,
            offset: x.offset,
            timestamp: x.timestamp,
            key: x.key,
            value: x.value,
            headers: x.headers,
          })),
          sent.map((s, i) => ({
            topic: name,
            partition: 1,
            offset: i,
            timestamp: s.timestamp,
            key: s.key ?? null,
            value: s.value,
            headers: s.headers ?? [],
          })),
        )
        assert.equal(await t.latestOffset(name, 0, 'read_uncommitted'), 0)
      })

      it('a record without a timestamp gets the time it was sent', async () => {
        const name = await topic()
        const p = await producer()
        const before = Date.now()
        await p.send(name, 0, inputs('now'))
        const after = Date.now()
        const [r] = (await t.fetch(name, 0, 0, { isolation: 'read_uncommitted' })).records
        assert.ok(
          r !== undefined && r.timestamp >= before && r.timestamp <= after,
          `timestamp ${r?.timestamp}`,
        )
      })

      it('a fetch from inside a batch starts at that offset', async () => {
        const name = await topic()
        const p = await producer()
        await p.send(name, 0, inputs('a', 'b', 'c', 'd'))
        const r = await t.fetch(name, 0, 2, { isolation: 'read_uncommitted' })
        assert.deepEqual(valuesOf(r.records), ['c', 'd'])
        assert.deepEqual(
          r.records.map((x) => x.offset),
          [2, 3],
        )
        assert.equal(r.nextOffset, 4)
      })

      it('maxBytes bounds a fetch, which still returns at least one whole batch', async () => {
        const name = await topic()
        const p = await producer()
        await p.send(name, 0, inputs('a1', 'a2', 'a3'))
        await p.send(name, 0, inputs('b1', 'b2'))
        await p.send(name, 0, inputs('c1'))
        const first = await t.fetch(name, 0, 0, { maxBytes: 1, isolation: 'read_uncommitted' })
        assert.deepEqual(valuesOf(first.records), ['a1', 'a2', 'a3'])
        assert.equal(first.nextOffset, 3)
        assert.equal(first.highWatermark, 6)
        const all = await t.fetch(name, 0, 0, { maxBytes: 1024 * 1024, isolation: 'read_uncommitted' })
        assert.deepEqual(valuesOf(all.records), ['a1', 'a2', 'a3', 'b1', 'b2', 'c1'])
      })

      it('earliest and latest offsets', async () => {
        const name = await topic(2)
        const p = await producer()
        await p.send(name, 0, inputs('a', 'b'))
        await p.send(name, 0, inputs('c'))
        assert.equal(await t.earliestOffset(name, 0), 0)
        assert.equal(await t.latestOffset(name, 0, 'read_uncommitted'), 3)
        assert.equal(await t.latestOffset(name, 0, 'read_committed'), 3)
        assert.equal(await t.latestOffset(name, 1, 'read_committed'), 0)
      })

      it('a fetch at the end returns no records; past the end it is OFFSET_OUT_OF_RANGE', async () => {
        const name = await topic()
        const p = await producer()
        await p.send(name, 0, inputs('a', 'b'))
        const r = await t.fetch(name, 0, 2, { isolation: 'read_committed' })
        assert.deepEqual(r, { records: [], nextOffset: 2, highWatermark: 2 })
        await assert.rejects(
          t.fetch(name, 0, 5, { isolation: 'read_committed' }),
          eddyError('OFFSET_OUT_OF_RANGE'),
        )
      })

      it('unknown topics and partitions are refused by name', async () => {
        const missing = unique('missing')
        const name = await topic(2)
        const p = await producer()
        await assert.rejects(
          t.fetch(missing, 0, 0, { isolation: 'read_committed' }),
          eddyError('UNKNOWN_TOPIC', missing),
        )
        await assert.rejects(t.earliestOffset(missing, 0), eddyError('UNKNOWN_TOPIC', missing))
        await assert.rejects(
          t.latestOffset(missing, 0, 'read_committed'),
          eddyError('UNKNOWN_TOPIC', missing),
        )
        await assert.rejects(p.send(missing, 0, inputs('x')), eddyError('UNKNOWN_TOPIC', missing))
        await assert.rejects(
          t.fetch(name, 2, 0, { isolation: 'read_committed' }),
          eddyError('UNKNOWN_PARTITION', name),
        )
        await assert.rejects(t.latestOffset(name, 5, 'read_committed'), eddyError('UNKNOWN_PARTITION', name))
        await assert.rejects(p.send(name, 2, inputs('x')), eddyError('UNKNOWN_PARTITION', name))
        // The producer is still usable.
        await p.send(name, 1, inputs('ok'))
        assert.deepEqual(valuesOf((await readAll(name, 1, 'read_committed')).records), ['ok'])
      })

      it('sends to a partition keep their order, also when made at once; each partition has its own offsets', async () => {
        const name = await topic(3)
        const p = await producer()
        const sends: Promise<void>[] = []
        for (let i = 0; i < 30; i++) sends.push(p.send(name, i % 3, inputs(`m${i}`)))
        await Promise.all(sends)
        for (let part = 0; part < 3; part++) {
          const { records } = await readAll(name, part, 'read_committed')
          const expected = Array.from({ length: 10 }, (_, j) => `m${j * 3 + part}`)
          assert.deepEqual(valuesOf(records), expected)
          assert.deepEqual(
            records.map((r) => r.offset),
            Array.from({ length: 10 }, (_, j) => j),
          )
        }
      })

      it('fetches of many partitions at once each get their own partition', async () => {
        const name = await topic(8)
        const p = await producer()
        await Promise.all(
          Array.from({ length: 8 }, (_, part) => p.send(name, part, inputs(`p${part}a`, `p${part}b`))),
        )
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, part) => t.fetch(name, part, 1, { isolation: 'read_committed' })),
        )
        results.forEach((r, part) => {
          assert.deepEqual(valuesOf(r.records), [`p${part}b`])
          assert.ok(r.records.every((x) => x.partition === part && x.topic === name))
          assert.equal(r.nextOffset, 2)
        })
      })
    })

    describe('deleting records and retention', () => {
      it('deleteRecordsBefore moves the earliest offset; fetches below it are OFFSET_OUT_OF_RANGE; the rest reads as before', async () => {
        const name = await topic(2)
        const p = await producer()
        await p.send(name, 0, inputs('a', 'b', 'c'))
        await p.send(name, 0, inputs('d'))
        await p.send(name, 0, inputs('e'))
        await p.send(name, 1, inputs('x'))
        // Inside a batch: the batch stays on disk, but its earlier records are gone.
        assert.equal(await t.deleteRecordsBefore(name, 0, 1), 1)
        assert.deepEqual(valuesOf((await readAll(name, 0, 'read_committed', 1)).records), [
          'b',
          'c',
          'd',
          'e',
        ])
        assert.equal(await t.deleteRecordsBefore(name, 0, 4), 4)
        assert.equal(await t.earliestOffset(name, 0), 4)
        await assert.rejects(
          t.fetch(name, 0, 3, { isolation: 'read_committed' }),
          eddyError('OFFSET_OUT_OF_RANGE'),
        )
        assert.deepEqual(valuesOf((await readAll(name, 0, 'read_committed', 4)).records), ['e'])
        // At or below the earliest: nothing changes.
        assert.equal(await t.deleteRecordsBefore(name, 0, 2), 4)
        assert.equal(await t.earliestOffset(name, 0), 4)
        // The other partition is untouched.
        assert.equal(await t.earliestOffset(name, 1), 0)
        // Up to the end: nothing left to read; what comes next is.
        assert.equal(await t.deleteRecordsBefore(name, 0, 5), 5)
        assert.deepEqual(await t.fetch(name, 0, 5, { isolation: 'read_committed' }), {
          records: [],
          nextOffset: 5,
          highWatermark: 5,
        })
        await p.send(name, 0, inputs('f'))
        assert.deepEqual(valuesOf((await readAll(name, 0, 'read_committed', 5)).records), ['f'])
        assert.equal(await t.latestOffset(name, 0, 'read_committed'), 6)
      })

      it('deleteRecordsBefore refuses offsets past the end, compacted topics, unknown topics and partitions', async () => {
        const name = await topic()
        const p = await producer()
        await p.send(name, 0, inputs('a', 'b'))
        await assert.rejects(t.deleteRecordsBefore(name, 0, 3), eddyError('OFFSET_OUT_OF_RANGE'))
        await assert.rejects(t.deleteRecordsBefore(name, 0, -1), eddyError('OFFSET_OUT_OF_RANGE'))
        assert.equal(await t.earliestOffset(name, 0), 0)
        const compacted = unique('changelog')
        await t.ensureTopic(compacted, { partitions: 1, compact: true })
        await p.send(compacted, 0, [{ key: v('k'), value: v('v') }])
        await assert.rejects(t.deleteRecordsBefore(compacted, 0, 1), eddyError('INVALID_ARGUMENT'))
        assert.equal(await t.earliestOffset(compacted, 0), 0)
        const missing = unique('missing')
        await assert.rejects(t.deleteRecordsBefore(missing, 0, 0), eddyError('UNKNOWN_TOPIC', missing))
        await assert.rejects(t.deleteRecordsBefore(name, 1, 0), eddyError('UNKNOWN_PARTITION', name))
      })

      it('ensureTopic honours retentionMs: null keeps old records, a number deletes past it, absent is the default (7 days)', async () => {
        const dayMs = 24 * 3600_000
        const now = Date.now()
        const cases = [
          { spec: { retentionMs: null }, ageMs: 30 * dayMs, kept: true },
          { spec: {}, ageMs: 30 * dayMs, kept: false },
          { spec: {}, ageMs: 2 * dayMs, kept: true },
          { spec: { retentionMs: dayMs }, ageMs: 2 * dayMs, kept: false },
        ]
        const p = await producer()
        const names: string[] = []
        for (const c of cases) {
          const name = unique('retained')
          names.push(name)
          assert.equal(await t.ensureTopic(name, { partitions: 1, ...c.spec }), 1)
          await p.send(name, 0, [{ value: v('old'), timestamp: now - c.ageMs }])
        }
        env.applyRetention()
        for (const [i, c] of cases.entries()) {
          const earliest = await t.earliestOffset(names[i]!, 0)
          assert.equal(earliest, c.kept ? 0 : 1, `case ${i} (${JSON.stringify(c)})`)
        }
      })
    })

    describe('long polls', () => {
      it('a long poll returns when records arrive', async () => {
        const name = await topic()
        const p = await producer()
        await p.send(name, 0, inputs('first'))
        const started = Date.now()
        const waiting = t.fetch(name, 0, 1, { maxWaitMs: 30_000, isolation: 'read_uncommitted' })
        const state = settledFlag(waiting)
        // A round trip to the log: the poll has had time to answer, and must not have.
        assert.equal(await t.latestOffset(name, 0, 'read_uncommitted'), 1)
        assert.equal(state.settled, false)
        await p.send(name, 0, inputs('second'))
        const r = await waiting
        assert.deepEqual(valuesOf(r.records), ['second'])
        assert.equal(r.nextOffset, 2)
        assert.ok(Date.now() - started < 15_000, 'woken by the record, not by the end of the wait')
      })

      it('a long poll that sees nothing returns no records once its wait is over', async () => {
        const name = await topic()
        const started = Date.now()
        const r = await t.fetch(name, 0, 0, { maxWaitMs: 200, isolation: 'read_committed' })
        const waited = Date.now() - started
        assert.deepEqual(r, { records: [], nextOffset: 0, highWatermark: 0 })
        assert.ok(waited >= 150, `returned after ${waited} ms, before its wait was over`)
      })

      it('an aborted long poll returns at once with no records; so does one aborted before it starts', async () => {
        const name = await topic()
        const controller = new AbortController()
        const started = Date.now()
        const waiting = t.fetch(name, 0, 0, {
          maxWaitMs: 30_000,
          isolation: 'read_committed',
          signal: controller.signal,
        })
        await t.latestOffset(name, 0, 'read_committed')
        controller.abort()
        assert.deepEqual(await waiting, { records: [], nextOffset: 0, highWatermark: 0 })
        const r = await t.fetch(name, 0, 0, {
          maxWaitMs: 30_000,
          isolation: 'read_committed',
          signal: controller.signal,
        })
        assert.deepEqual(r, { records: [], nextOffset: 0, highWatermark: 0 })
        assert.ok(Date.now() - started < 15_000, 'the aborts ended the waits')
      })

      it('of long polls on many partitions, the one that gets records returns; the others wait on until aborted', async () => {
        const name = await topic(4)
        const p = await producer()
        const controller = new AbortController()
        const polls = Array.from({ length: 4 }, (_, part) =>
          t.fetch(name, part, 0, {
            maxWaitMs: 30_000,
            isolation: 'read_committed',
            signal: controller.signal,
          }),
        )
        const states = polls.map(settledFlag)
        await p.send(name, 2, inputs('only'))
        const first = await Promise.race(polls)
        assert.deepEqual(valuesOf(first.records), ['only'])
        assert.equal(first.records[0]!.partition, 2)
        await t.latestOffset(name, 0, 'read_committed')
        assert.deepEqual(
          states.map((s) => s.settled),
          [false, false, true, false],
        )
        controller.abort()
        const rest = await Promise.all(polls)
        for (const part of [0, 1, 3])
          assert.deepEqual(rest[part], { records: [], nextOffset: 0, highWatermark: 0 })
      })

      it('a read_committed long poll wakes when a transaction commits, not when it writes', async () => {
        const name = await topic()
        const p = await producer(unique('txn'))
        const waiting = t.fetch(name, 0, 0, { maxWaitMs: 30_000, isolation: 'read_committed' })
        const state = settledFlag(waiting)
        p.beginTransaction()
        await p.send(name, 0, inputs('t1', 't2'))
        assert.equal(await t.latestOffset(name, 0, 'read_uncommitted'), 2)
        assert.equal(state.settled, false)
        await p.commitTransaction()
        const r = await waiting
        assert.deepEqual(valuesOf(r.records), ['t1', 't2'])
        assert.equal(r.highWatermark, 3)
      })
    })

    describe('group offsets', () => {
      it('nothing committed reads as offset -1 with empty metadata; commits keep their metadata, answered in the order asked', async () => {
        const name = await topic(3)
        const group = unique('group')
        assert.deepEqual(await t.committedOffsets(group, [{ topic: name, partition: 1 }]), [
          { topic: name, partition: 1, offset: -1, metadata: '' },
        ])
        await t.commitOffsets(group, [
          { topic: name, partition: 0, offset: 5, metadata: '{"time":17}' },
          { topic: name, partition: 2, offset: 9 },
        ])
        assert.deepEqual(
          await t.committedOffsets(group, [
            { topic: name, partition: 2 },
            { topic: name, partition: 1 },
            { topic: name, partition: 0 },
          ]),
          [
            { topic: name, partition: 2, offset: 9, metadata: '' },
            { topic: name, partition: 1, offset: -1, metadata: '' },
            { topic: name, partition: 0, offset: 5, metadata: '{"time":17}' },
          ],
        )
        assert.deepEqual(await t.committedOffsets(unique('group'), [{ topic: name, partition: 0 }]), [
          { topic: name, partition: 0, offset: -1, metadata: '' },
        ])
      })

      it('a later commit replaces an earlier one', async () => {
        const name = await topic()
        const group = unique('group')
        await t.commitOffsets(group, [{ topic: name, partition: 0, offset: 3, metadata: 'a' }])
        await t.commitOffsets(group, [{ topic: name, partition: 0, offset: 7, metadata: 'b' }])
        assert.deepEqual(await t.committedOffsets(group, [{ topic: name, partition: 0 }]), [
          { topic: name, partition: 0, offset: 7, metadata: 'b' },
        ])
      })
    })

    describe('group membership', () => {
      it('a member alone leads: its assign sees its userData, it gets what it assigned, commits with its generation, leaves', async () => {
        const name = await topic(2)
        const group = unique('group')
        let seen: GroupMemberInfo[] = []
        const all = [
          { topic: name, partition: 0 },
          { topic: name, partition: 1 },
        ]
        const m = t.joinGroup({
          group,
          topics: [name],
          userData: () => v('about me'),
          assign: (members) => {
            seen = [...members]
            return new Map(members.map((x) => [x.memberId, { partitions: all, userData: v('for you') }]))
          },
        })
        assert.equal(m.generation, null)
        const a = await m.join()
        assert.equal(a.leader, true)
        assert.deepEqual(a.partitions, all)
        assert.equal(a.userData.toString(), 'for you')
        assert.deepEqual(
          seen.map((x) => [x.memberId, x.userData.toString()]),
          [[a.memberId, 'about me']],
        )
        assert.deepEqual(m.generation, { generationId: a.generationId, memberId: a.memberId })
        assert.equal(m.rebalancing, false)
        await t.commitOffsets(group, [{ topic: name, partition: 1, offset: 4, metadata: 'x' }], m.generation!)
        assert.deepEqual(await t.committedOffsets(group, [{ topic: name, partition: 1 }]), [
          { topic: name, partition: 1, offset: 4, metadata: 'x' },
        ])
        await m.leave()
      })
    })

    describe('transactions', () => {
      it('a committed transaction becomes visible to read_committed; the last stable offset waits for it', async () => {
        const name = await topic(2)
        const p = await producer(unique('txn'))
        p.beginTransaction()
        await p.send(name, 0, inputs('a', 'b'))
        await p.send(name, 1, inputs('c'))
        assert.equal(await t.latestOffset(name, 0, 'read_uncommitted'), 2)
        assert.equal(await t.latestOffset(name, 0, 'read_committed'), 0)
        const open = await t.fetch(name, 0, 0, { isolation: 'read_committed' })
        assert.deepEqual(open, { records: [], nextOffset: 0, highWatermark: 0 })
        const uncommitted = await t.fetch(name, 0, 0, { isolation: 'read_uncommitted' })
        assert.deepEqual(valuesOf(uncommitted.records), ['a', 'b'])
        assert.equal(uncommitted.highWatermark, 2)
        await p.commitTransaction()
        // Each partition has its records and a commit marker.
        assert.equal(await t.latestOffset(name, 0, 'read_committed'), 3)
        assert.equal(await t.latestOffset(name, 1, 'read_committed'), 2)
        const r = await readAll(name, 0, 'read_committed')
        assert.deepEqual(valuesOf(r.records), ['a', 'b'])
        assert.equal(r.nextOffset, 3)
        assert.deepEqual(valuesOf((await readAll(name, 1, 'read_committed')).records), ['c'])
      })

      it('an aborted transaction stays invisible to read_committed, whose offsets move past it', async () => {
        const name = await topic()
        const p = await producer(unique('txn'))
        p.beginTransaction()
        await p.send(name, 0, inputs('x1', 'x2'))
        await p.abortTransaction()
        // Records 0-1 and an abort marker at 2: nothing to read, but the offset moves on.
        const onlyAborted = await t.fetch(name, 0, 0, { isolation: 'read_committed' })
        assert.deepEqual(onlyAborted, { records: [], nextOffset: 3, highWatermark: 3 })
        p.beginTransaction()
        await p.send(name, 0, inputs('ok'))
        await p.commitTransaction()
        const committed = await readAll(name, 0, 'read_committed')
        assert.deepEqual(valuesOf(committed.records), ['ok'])
        assert.equal(committed.records[0]!.offset, 3)
        assert.equal(committed.nextOffset, 5)
        // read_uncommitted sees every record written, aborted ones included (as in Kafka).
        assert.deepEqual(valuesOf((await readAll(name, 0, 'read_uncommitted')).records), ['x1', 'x2', 'ok'])
      })

      it('offsets sent in a transaction commit with it, metadata included; an abort drops them', async () => {
        const name = await topic(2)
        const group = unique('group')
        const p = await producer(unique('txn'))
        p.beginTransaction()
        await p.send(name, 0, inputs('out'))
        await p.sendOffsets(group, [
          { topic: name, partition: 0, offset: 4, metadata: 'w=100' },
          { topic: name, partition: 1, offset: 2, metadata: 'w=90' },
        ])
        await p.commitTransaction()
        const asked = [
          { topic: name, partition: 0 },
          { topic: name, partition: 1 },
        ]
        const committed = [
          { topic: name, partition: 0, offset: 4, metadata: 'w=100' },
          { topic: name, partition: 1, offset: 2, metadata: 'w=90' },
        ]
        assert.deepEqual(await t.committedOffsets(group, asked), committed)
        p.beginTransaction()
        await p.sendOffsets(group, [{ topic: name, partition: 0, offset: 8, metadata: 'w=200' }])
        await p.abortTransaction()
        assert.deepEqual(await t.committedOffsets(group, asked), committed)
        // Offsets alone (no records) make a transaction too.
        p.beginTransaction()
        await p.sendOffsets(group, [{ topic: name, partition: 1, offset: 3, metadata: 'w=95' }])
        await p.commitTransaction()
        assert.deepEqual(await t.committedOffsets(group, asked), [
          committed[0],
          { topic: name, partition: 1, offset: 3, metadata: 'w=95' },
        ])
      })

      it('a transaction over several topics and partitions commits whole', async () => {
        const a = await topic(3)
        const b = await topic(2)
        const p = await producer(unique('txn'))
        p.beginTransaction()
        await Promise.all([
          p.send(a, 0, inputs('a0')),
          p.send(a, 1, inputs('a1')),
          p.send(a, 2, inputs('a2')),
          p.send(b, 0, inputs('b0')),
          p.send(b, 1, inputs('b1')),
        ])
        for (const [name, part] of [
          [a, 0],
          [b, 1],
        ] as const) {
          assert.equal(await t.latestOffset(name, part, 'read_committed'), 0)
        }
        await p.commitTransaction()
        for (const [name, part, value] of [
          [a, 0, 'a0'],
          [a, 1, 'a1'],
          [a, 2, 'a2'],
          [b, 0, 'b0'],
          [b, 1, 'b1'],
        ] as const) {
          assert.deepEqual(valuesOf((await readAll(name, part, 'read_committed')).records), [value])
        }
      })

      it('transactions used out of order are INVALID_TXN_STATE', async () => {
        const name = await topic()
        const p = await producer(unique('txn'))
        await assert.rejects(p.send(name, 0, inputs('x')), eddyError('INVALID_TXN_STATE'))
        await assert.rejects(
          p.sendOffsets(unique('group'), [{ topic: name, partition: 0, offset: 1 }]),
          eddyError('INVALID_TXN_STATE'),
        )
        await assert.rejects(p.commitTransaction(), eddyError('INVALID_TXN_STATE'))
        await assert.rejects(p.abortTransaction(), eddyError('INVALID_TXN_STATE'))
        p.beginTransaction()
        assert.throws(() => p.beginTransaction(), eddyError('INVALID_TXN_STATE'))
        await p.abortTransaction()
        const plain = await producer()
        assert.throws(() => plain.beginTransaction(), eddyError('INVALID_TXN_STATE'))
        await assert.rejects(plain.commitTransaction(), eddyError('INVALID_TXN_STATE'))
      })

      it('a failed send dooms its transaction: commit is refused, abort works, the next one commits', async () => {
        const name = await topic()
        const p = await producer(unique('txn'))
        p.beginTransaction()
        await p.send(name, 0, inputs('doomed'))
        await assert.rejects(p.send(unique('missing'), 0, inputs('x')), eddyError('UNKNOWN_TOPIC'))
        await assert.rejects(p.commitTransaction(), eddyError('INVALID_TXN_STATE'))
        await p.abortTransaction()
        p.beginTransaction()
        await p.send(name, 0, inputs('fine'))
        await p.commitTransaction()
        assert.deepEqual(valuesOf((await readAll(name, 0, 'read_committed')).records), ['fine'])
      })

      it('a new producer with the same transactional id fences the old one', async () => {
        const name = await topic()
        const id = unique('txn')
        const zombie = await producer(id)
        zombie.beginTransaction()
        await zombie.send(name, 0, inputs('zombie-1'))
        const successor = await producer(id)
        await assert.rejects(zombie.send(name, 0, inputs('zombie-2')), eddyError('PRODUCER_FENCED'))
        await assert.rejects(zombie.commitTransaction(), eddyError('PRODUCER_FENCED'))
        assert.throws(() => zombie.beginTransaction(), eddyError('PRODUCER_FENCED'))
        successor.beginTransaction()
        await successor.send(name, 0, inputs('successor'))
        await successor.commitTransaction()
        assert.deepEqual(valuesOf((await readAll(name, 0, 'read_committed')).records), ['successor'])
      })

      it('a fenced producer that was between transactions fails on its next one', async () => {
        const name = await topic()
        const id = unique('txn')
        const zombie = await producer(id)
        zombie.beginTransaction()
        await zombie.send(name, 0, inputs('before'))
        await zombie.commitTransaction()
        await producer(id)
        zombie.beginTransaction()
        await assert.rejects(zombie.send(name, 0, inputs('after')), eddyError('PRODUCER_FENCED'))
        await assert.rejects(zombie.commitTransaction(), eddyError('PRODUCER_FENCED'))
        assert.deepEqual(valuesOf((await readAll(name, 0, 'read_committed')).records), ['before'])
      })
    })
  })
}
