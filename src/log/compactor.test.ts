import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import fc from 'fast-check'
import { ManualClock } from '../core/clock.js'
import { crc32c } from '../core/crc32c.js'
import { isEddyError } from '../core/errors.js'
import type { LogRecord, RecordInput } from '../core/record.js'
import { encodeRecordBatch, isControl, readBatchHeader } from '../core/record-batch.js'
import { Compactor } from './compactor.js'
import { defaultTopicConfig, EventLog } from './event-log.js'
import { PartitionLog } from './partition-log.js'
import { segmentFileName } from './segment.js'
import { CLEANED_DIR, swapFileName } from './segment-swap.js'
import { SyncScheduler } from './sync-scheduler.js'
import type { IsolationLevel, TopicConfig } from './types.js'

// ---- helpers ----------------------------------------------------------------------------

const roots: string[] = []
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-compactor-test-'))
  roots.push(dir)
  return dir
}

function topicConfig(over: Partial<TopicConfig> = {}): TopicConfig {
  return {
    ...defaultTopicConfig,
    compact: true,
    retentionMs: null,
    segmentBytes: 1024,
    segmentMs: 1e12,
    deleteRetentionMs: 1e9,
    ...over,
  }
}

function createPartition(dir: string, clock: ManualClock, over: Partial<TopicConfig> = {}): PartitionLog {
  return PartitionLog.create({
    dir,
    topic: 't',
    partition: 0,
    config: topicConfig(over),
    clock,
    fsync: { kind: 'never' },
    syncs: new SyncScheduler(),
  })
}

function reopen(p: PartitionLog, clock: ManualClock, dir = p.dir): PartitionLog {
  return PartitionLog.open({
    dir,
    topic: 't',
    partition: 0,
    config: p.config,
    clock,
    fsync: { kind: 'never' },
    syncs: new SyncScheduler(),
  })
}

/** Every record from the log start, as a consumer sees them; checks that reads always move on. */
function readAll(p: PartitionLog, isolation: IsolationLevel = 'read_uncommitted'): LogRecord[] {
  const out: LogRecord[] = []
  let offset = p.logStartOffset
  while (offset < p.endOffsetFor(isolation)) {
    const { records, nextOffset } = p.readRecords(offset, 1 << 20, isolation)
    assert.ok(nextOffset > offset, `a read at ${offset} moves on`)
    out.push(...records)
    offset = nextOffset
  }
  return out
}

type Row = [offset: number, key: string | null, value: string | null]

function rows(records: readonly LogRecord[]): Row[] {
  return records.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null])
}

function rec(key: string | null, value: string | null, timestamp?: number): RecordInput {
  return {
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    timestamp,
  }
}

/**
 * The model of one pass: records below `cleanEnd` stay when they are their key's latest below
 * `mapEnd`, and, for tombstones, when they are not below `horizon`.
 */
function compactModel(log: readonly Row[], cleanEnd: number, mapEnd: number, horizon: number): Row[] {
  const latest = new Map<string, number>()
  for (const [offset, key] of log) if (key !== null && offset < mapEnd) latest.set(key, offset)
  return log.filter(([offset, key, value]) => {
    if (offset >= cleanEnd || key === null) return true
    const last = latest.get(key)!
    if (last > offset) return false
    return value !== null || offset >= horizon
  })
}

function activeSegmentBytes(p: PartitionLog): Buffer {
  return fs.readFileSync(p.segments[p.segments.length - 1]!.logPath)
}

function activeBase(p: PartitionLog): number {
  return p.segments[p.segments.length - 1]!.baseOffset
}

async function fill(p: PartitionLog, seed: number, batches: number): Promise<void> {
  let s = seed
  const next = () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  }
  for (let b = 0; b < batches; b++) {
    const n = 1 + Math.floor(next() * 3)
    const records: RecordInput[] = []
    for (let i = 0; i < n; i++) {
      const key = `k${Math.floor(next() * 10)}`
      records.push(rec(key, next() < 0.15 ? null : `${key}-${b}-${i}-${'x'.repeat(Math.floor(next() * 60))}`))
    }
    await p.appendRecords(records)
  }
}

// ---- tests ------------------------------------------------------------------------------

describe('Compactor', () => {
  it('keeps only the latest record per key in sealed segments; offsets stay; the active segment is untouched', async () => {
    const clock = new ManualClock(1000)
    const p = createPartition(tmpDir(), clock)
    await fill(p, 1, 150)
    const before = rows(readAll(p))
    const sealedBefore = p.segments.length - 1
    const active = activeSegmentBytes(p)
    const base = activeBase(p)
    assert.ok(sealedBefore >= 5, 'the test needs several sealed segments')

    const [result] = await new Compactor({ clock }).compact([p])
    const after = rows(readAll(p))
    assert.deepEqual(after, compactModel(before, base, p.nextOffset, 0))
    assert.ok(after.length < before.length, 'something was removed')
    for (let i = 1; i < after.length; i++) assert.ok(after[i]![0] > after[i - 1]![0], 'offsets increase')
    assert.ok(
      after.some(([, , v]) => v === null),
      'unexpired tombstones stay',
    )
    assert.deepEqual(activeSegmentBytes(p), active)
    assert.equal(activeBase(p), base)
    assert.ok(p.segments.length - 1 < sealedBefore, 'small cleaned segments were merged')
    assert.equal(result!.cleanedEndOffset, base)
    assert.equal(result!.recordsRemoved, before.length - after.length)

    // Every segment still ends where the next begins.
    for (let i = 0; i + 1 < p.segments.length; i++) {
      assert.equal(p.segments[i]!.nextOffset, p.segments[i + 1]!.baseOffset)
    }
    // A second pass finds nothing more to do, and the data survives a reopen.
    const [again] = await new Compactor({ clock }).compact([p])
    assert.equal(again!.recordsRemoved, 0)
    await p.close()
    const reopened = reopen(p, clock)
    assert.deepEqual(rows(readAll(reopened)), after)
    await reopened.close()
  })

  it('removes a tombstone only once a pass that covered it is deleteRetentionMs old', async () => {
    const clock = new ManualClock(0)
    const p = createPartition(tmpDir(), clock, { deleteRetentionMs: 1000 })
    const compactor = new Compactor({ clock })
    await p.appendRecords([rec('a', 'a1'), rec('b', 'b1'), rec('a', null)])
    p.roll()
    await p.appendRecords([rec('c', 'c1')])
    const keys = () => rows(readAll(p)).map(([, k, v]) => `${k}=${v}`)

    await compactor.compact([p]) // t=0: first pass covers a's tombstone
    assert.deepEqual(keys(), ['b=b1', 'a=null', 'c=c1'])
    clock.set(500)
    await p.appendRecords([rec('b', null)])
    p.roll()
    await p.appendRecords([rec('d', 'd1')])
    clock.set(999)
    await compactor.compact([p]) // covers b's tombstone at t=999
    assert.deepEqual(keys(), ['a=null', 'c=c1', 'b=null', 'd=d1'])
    clock.set(1000)
    await compactor.compact([p])
    assert.deepEqual(keys(), ['c=c1', 'b=null', 'd=d1'])
    clock.set(1998)
    await compactor.compact([p])
    assert.deepEqual(keys(), ['c=c1', 'b=null', 'd=d1'])
    clock.set(1999)
    await compactor.compact([p])
    assert.deepEqual(keys(), ['c=c1', 'd=d1'])

    // The horizon survives a reopen (the passes are on disk).
    await p.close()
    const reopened = reopen(p, clock)
    assert.deepEqual(
      rows(readAll(reopened)).map(([, k]) => k),
      ['c', 'd'],
    )
    await reopened.close()
  })

  it('lets appends and reads go on during a pass, and keeps what was appended meanwhile', async () => {
    const clock = new ManualClock(0)
    const p = createPartition(tmpDir(), clock)
    await fill(p, 2, 120)
    const before = rows(readAll(p))
    const base = activeBase(p)
    const mapEnd = p.nextOffset
    let done = false
    const pass = new Compactor({ clock, stepBytes: 300 }).compact([p]).finally(() => {
      done = true
    })
    let appendedDuring = 0
    const appended: Row[] = []
    for (let i = 0; i < 40; i++) {
      await yieldToLoop()
      if (!done) appendedDuring++
      const r = await p.appendRecords([rec(`k${i % 10}`, `late-${i}-${'y'.repeat(40)}`)])
      appended.push([r.baseOffset, `k${i % 10}`, `late-${i}-${'y'.repeat(40)}`])
      // Readers see a whole log at every step: the old segments until the swap, the new after.
      const seen = rows(readAll(p))
      assert.deepEqual(seen.slice(-appended.length), appended)
    }
    await pass
    assert.ok(appendedDuring >= 5, `appends ran during the pass (${appendedDuring})`)
    assert.ok(activeBase(p) > base, 'the log rolled during the pass')
    assert.deepEqual(rows(readAll(p)), [...compactModel(before, base, mapEnd, 0), ...appended])
  })

  it('finishes or undoes an interrupted swap when the partition opens', async () => {
    const clock = new ManualClock(0)
    const root = tmpDir()
    const pre = path.join(root, 'pre')
    let p = createPartition(path.join(root, 'live'), clock)
    await fill(p, 3, 100)
    const preRows = rows(readAll(p))
    await p.close()
    fs.cpSync(p.dir, pre, { recursive: true })
    p = reopen(p, clock)
    await new Compactor({ clock }).compact([p])
    const postRows = rows(readAll(p))
    const postBases = p.segments.map((s) => s.baseOffset)
    const firstEnd = postBases[1]!
    await p.close()
    const post = p.dir
    const cleaned0 = fs.readFileSync(path.join(post, segmentFileName(0, '.log')))
    assert.ok(postRows.length < preRows.length)

    // Crash while writing: a complete cleaned segment in .cleaned/, old segments intact.
    const crashWriting = path.join(root, 'writing')
    fs.cpSync(pre, crashWriting, { recursive: true })
    fs.mkdirSync(path.join(crashWriting, CLEANED_DIR))
    fs.writeFileSync(path.join(crashWriting, CLEANED_DIR, segmentFileName(0, '.log')), cleaned0)
    let q = reopen(p, clock, crashWriting)
    assert.deepEqual(rows(readAll(q)), preRows)
    assert.equal(fs.existsSync(path.join(crashWriting, CLEANED_DIR)), false)
    await q.close()

    // Crash after the commit point, with the first old segment already deleted.
    const crashSwapping = path.join(root, 'swapping')
    fs.cpSync(pre, crashSwapping, { recursive: true })
    fs.writeFileSync(path.join(crashSwapping, swapFileName(0, firstEnd)), cleaned0)
    for (const suffix of ['.log', '.index', '.timeindex']) {
      fs.rmSync(path.join(crashSwapping, segmentFileName(0, suffix)), { force: true })
    }
    const expected = [...postRows.filter(([o]) => o < firstEnd), ...preRows.filter(([o]) => o >= firstEnd)]
    q = reopen(p, clock, crashSwapping)
    assert.deepEqual(rows(readAll(q)), expected)
    assert.equal(q.segments[0]!.baseOffset, 0)
    assert.equal(q.segments[1]!.baseOffset, firstEnd)
    assert.deepEqual(
      fs.readdirSync(crashSwapping).filter((f) => f.endsWith('.swap')),
      [],
    )
    await q.close()
    q = reopen(p, clock, crashSwapping)
    assert.deepEqual(rows(readAll(q)), expected)
    await q.close()
  })

  it("keeps an idempotent producer's last batch as an empty batch, so its sequence survives a rebuild", async () => {
    const clock = new ManualClock(0)
    const p = createPartition(tmpDir(), clock)
    const producer = (seq: number) => ({
      producerId: 7,
      producerEpoch: 0,
      baseSequence: seq,
      transactional: false,
    })
    for (let seq = 0; seq < 5; seq++)
      await p.appendRecords([rec('a', `p${seq}-${'z'.repeat(300)}`)], producer(seq))
    for (let i = 0; i < 6; i++) await p.appendRecords([rec('a', `later-${i}-${'z'.repeat(300)}`)])
    p.roll()
    await p.appendRecords([rec('b', 'b')])
    await new Compactor({ clock }).compact([p])
    assert.deepEqual(
      rows(readAll(p)).filter(([, k]) => k === 'a'),
      [[10, 'a', `later-5-${'z'.repeat(300)}`]],
    )
    // The producer's batches are gone but for its last, left empty.
    const fetched = p.fetch(0, 1 << 20, 'read_uncommitted').bytes
    const producerBatches = []
    for (let at = 0; at < fetched.length; ) {
      const h = readBatchHeader(fetched, at)
      if (h.producerId === 7) producerBatches.push(h)
      at += h.sizeBytes
    }
    assert.deepEqual(
      producerBatches.map((h) => [h.baseOffset, h.recordCount, h.baseSequence]),
      [[4, 0, 4]],
    )

    // Rebuild producer state from the log alone: the producer goes on at sequence 5.
    await p.close()
    for (const f of fs.readdirSync(p.dir)) if (f.endsWith('.snapshot')) fs.rmSync(path.join(p.dir, f))
    const q = reopen(p, clock)
    const retry = await q.appendRecords([rec('a', 'retry')], producer(4))
    assert.equal(retry.duplicate, true)
    const next = await q.appendRecords([rec('a', 'p5')], producer(5))
    assert.equal(next.duplicate, false)
    await q.close()
  })

  it('removes aborted transactions, keeps markers, and never compacts past an open transaction', async () => {
    const clock = new ManualClock(0)
    const p = createPartition(tmpDir(), clock)
    const txn = (id: number, seq: number) => ({
      producerId: id,
      producerEpoch: 0,
      baseSequence: seq,
      transactional: true,
    })
    const pad = 'w'.repeat(200)
    await p.appendRecords([rec('x', `aborted-${pad}`)], txn(1, 0))
    await p.appendMarker(1, 0, false)
    await p.appendRecords([rec('x', `committed-${pad}`), rec('y', 'y1')], txn(1, 1))
    await p.appendMarker(1, 0, true)
    for (let i = 0; i < 8; i++) await p.appendRecords([rec('z', `z${i}-${pad}`)])
    const open = await p.appendRecords([rec('x', `open-${pad}`)], txn(2, 0))
    for (let i = 0; i < 8; i++) await p.appendRecords([rec('y', `y-late${i}-${pad}`)])
    p.roll()
    const before = rows(readAll(p))
    const markersBefore = countControlBatches(p)
    await new Compactor({ clock }).compact([p])
    const after = rows(readAll(p))

    assert.equal(countControlBatches(p), markersBefore)
    assert.equal(
      after.find(([, , v]) => v?.startsWith('aborted')),
      undefined,
    )
    assert.ok(after.some(([, k, v]) => k === 'x' && v?.startsWith('committed')))
    // Below the open transaction's segment, compaction happened, with what was before the LSO;
    // from that segment on, nothing changed.
    let openSegBase = 0
    for (const s of p.segments) if (s.baseOffset <= open.baseOffset) openSegBase = s.baseOffset
    const committed = before.filter(([, , v]) => !v?.startsWith('aborted'))
    assert.deepEqual(after, compactModel(committed, openSegBase, open.baseOffset, 0))
    assert.ok(openSegBase > 0 && after.length < committed.length)
    assert.ok(after.filter(([, k]) => k === 'y').length > 1, 'y is not compacted past the open transaction')
    assert.deepEqual(
      rows(readAll(p, 'read_committed')).find(([, , v]) => v?.startsWith('aborted')),
      undefined,
    )
    await p.close()
  })

  it('leaves segments with compressed batches as they are', async () => {
    const clock = new ManualClock(0)
    const p = createPartition(tmpDir(), clock)
    for (let i = 0; i < 5; i++) await p.appendRecords([rec('a', `a${i}-${'q'.repeat(300)}`)])
    p.roll()
    await p.appendBatch(compressedLookingBatch([rec('a', 'in-compressed', 1)]))
    p.roll()
    for (let i = 0; i < 5; i++) await p.appendRecords([rec('a', `a-late${i}-${'q'.repeat(300)}`)])
    const compressedSeg = p.segments.find((s) => s.baseOffset === 5)!
    const bytes = fs.readFileSync(compressedSeg.logPath)
    await new Compactor({ clock }).compact([p])
    assert.ok(p.segments.includes(compressedSeg))
    assert.deepEqual(fs.readFileSync(compressedSeg.logPath), bytes)
    // The segments before it were compacted: what stays of them are empty batches.
    const fetched = p.fetch(0, 1 << 20, 'read_uncommitted').bytes
    const counts: [number, number][] = []
    for (let at = 0; at < fetched.length; ) {
      const h = readBatchHeader(fetched, at)
      if (h.baseOffset < 5) counts.push([h.baseOffset, h.recordCount])
      at += h.sizeBytes
    }
    assert.ok(counts.length > 0 && counts.every(([, n]) => n === 0), JSON.stringify(counts))
    assert.equal(counts[counts.length - 1]![0], 4)
    await p.close()
  })
})

describe('EventLog compaction', () => {
  it('compacts on demand and in the background once the dirty ratio is reached; refuses other topics', async () => {
    const clock = new ManualClock(0)
    const dir = tmpDir()
    let log = EventLog.open({ dir, clock, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
    log.createTopic('c', { compact: true, segmentBytes: 1024, partitions: 2 })
    log.createTopic('plain', { segmentBytes: 1024 })
    for (let i = 0; i < 60; i++) {
      await log.append('c', i % 2, [rec(`k${i % 5}`, `v${i}-${'e'.repeat(100)}`)])
    }
    await assert.rejects(log.compact('plain'), (err) => isEddyError(err, 'INVALID_ARGUMENT'))
    const p1 = log.partition('c', 1)
    const expected = compactModel(rows(readAll(p1)), activeBase(p1), p1.nextOffset, 0)
    assert.equal(log.compactor.dirtyRatio(p1), 1)
    log.maintain() // starts a background pass on one dirty partition
    await log.compactor.compact([]) // waits for it
    log.maintain()
    await log.compactor.compact([])
    assert.equal(log.compactor.dirtyRatio(log.partition('c', 0)), 0)
    assert.equal(log.compactor.dirtyRatio(p1), 0)
    assert.equal(log.compactor.lastError, null)

    assert.deepEqual(rows(readAll(p1)), expected)
    const results = await log.compact('c', 1)
    assert.equal(results.length, 1)
    assert.equal(results[0]!.recordsRemoved, 0)
    await log.close()
    log = EventLog.open({ dir, clock, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
    assert.deepEqual(rows(readAll(log.partition('c', 1))), expected)
    await log.close()
  })

  it('stops a pass when the log closes, leaving the data as it was', async () => {
    const clock = new ManualClock(0)
    const dir = tmpDir()
    let log = EventLog.open({ dir, clock, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
    log.createTopic('c', { compact: true, segmentBytes: 1024 })
    for (let i = 0; i < 100; i++) await log.append('c', 0, [rec(`k${i % 5}`, `v${i}-${'e'.repeat(100)}`)])
    const before = rows(readAll(log.partition('c', 0)))
    const pass = log.compact('c')
    await log.close()
    await assert.rejects(pass, (err) => isEddyError(err, 'LOG_CLOSED'))
    log = EventLog.open({ dir, clock, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
    assert.deepEqual(rows(readAll(log.partition('c', 0))), before)
    await log.close()

    // Closed mid-pass, between two steps.
    const p = createPartition(tmpDir(), clock)
    await fill(p, 4, 150)
    const rowsBefore = rows(readAll(p))
    const compactor = new Compactor({ clock, stepBytes: 200 })
    const running = compactor.compact([p])
    for (let i = 0; i < 20; i++) await yieldToLoop()
    const closing = compactor.close()
    await assert.rejects(running, (err) => isEddyError(err, 'LOG_CLOSED'))
    await closing
    assert.equal(fs.existsSync(path.join(p.dir, CLEANED_DIR)), false)
    assert.deepEqual(rows(readAll(p)), rowsBefore)
    await p.close()
  })
})

function countControlBatches(p: PartitionLog): number {
  const bytes = p.fetch(p.logStartOffset, 1 << 24, 'read_uncommitted').bytes
  let n = 0
  for (let at = 0; at < bytes.length; ) {
    const h = readBatchHeader(bytes, at)
    if (isControl(h)) n++
    at += h.sizeBytes
  }
  return n
}

/** A batch flagged gzip (its records are not really compressed: nothing here decodes them). */
function compressedLookingBatch(records: RecordInput[]): Buffer {
  const b = encodeRecordBatch({ records })
  b.writeInt16BE(b.readInt16BE(21) | 1, 21)
  b.writeUInt32BE(crc32c(b, 21, b.length), 17)
  return b
}

// ---- property ---------------------------------------------------------------------------

type Op =
  | { kind: 'append'; records: { key: number; value: string | null }[] }
  | { kind: 'roll' }
  | { kind: 'advance'; ms: number }
  | { kind: 'compact'; during: number }
  | { kind: 'reopen' }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      records: fc.array(
        fc.record({
          key: fc.integer({ min: 0, max: 11 }),
          value: fc.option(
            fc.tuple(fc.string({ maxLength: 8 }), fc.nat({ max: 300 })).map(([s, n]) => s + '.'.repeat(n)),
            { freq: 3, nil: null },
          ),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'roll' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 400 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('compact' as const), during: fc.integer({ min: 0, max: 4 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
)

describe('Compactor property', () => {
  it('the compacted log is the model: latest per key, tombstones by the horizon, the active segment untouched', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1024, max: 3072 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 64, max: 4096 }),
        fc.array(opArb, { minLength: 8, maxLength: 40, size: 'max' }),
        async (segmentBytes, deleteRetentionMs, stepBytes, ops) => {
          const clock = new ManualClock(0)
          let p = createPartition(tmpDir(), clock, { segmentBytes, deleteRetentionMs })
          const compactor = new Compactor({ clock, stepBytes })
          let model: Row[] = []
          const passes: { end: number; time: number }[] = []
          let n = 0
          const append = async (records: { key: number; value: string | null }[]) => {
            const r = await p.appendRecords(records.map((x) => rec(`k${x.key}`, x.value, n++)))
            for (const [i, x] of records.entries()) model.push([r.baseOffset + i, `k${x.key}`, x.value])
          }
          try {
            for (const op of ops) {
              if (op.kind === 'append') await append(op.records)
              else if (op.kind === 'roll' && p.segments[p.segments.length - 1]!.sizeBytes > 0) p.roll()
              else if (op.kind === 'advance') clock.advance(op.ms)
              else if (op.kind === 'reopen') {
                await p.close()
                p = reopen(p, clock)
              } else if (op.kind === 'compact') {
                const base = activeBase(p)
                const mapEnd = p.nextOffset
                const activeBytes = activeSegmentBytes(p)
                const now = clock.nowMs()
                let horizon = 0
                for (const pass of passes) if (pass.time + deleteRetentionMs <= now) horizon = pass.end
                const running = compactor.compact([p])
                for (let i = 0; i < op.during; i++) {
                  await yieldToLoop()
                  await append([{ key: i, value: `during-${i}-${'-'.repeat(300)}` }])
                }
                await running
                if (op.during === 0) assert.deepEqual(activeSegmentBytes(p), activeBytes)
                model = compactModel(model, base, mapEnd, horizon)
                if (base > (passes[passes.length - 1]?.end ?? 0)) passes.push({ end: base, time: now })
              }
              assert.deepEqual(rows(readAll(p)), model)
            }
            await p.close()
            p = reopen(p, clock)
            assert.deepEqual(rows(readAll(p)), model)
          } finally {
            await p.close()
          }
        },
      ),
      { numRuns: 100 },
    )
  })
})
