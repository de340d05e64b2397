// Log compaction for compacted topics: Kafka's log cleaner, simplified.
//
// A pass over one partition:
//   1. Scan the log below min(high watermark, last stable offset), active segment included, into a
//      map key → offset of its latest record. A transaction's records count once its commit marker
//      is seen; aborted ones are noted; one whose marker is not below that end is undecided.
//   2. Rewrite the sealed segments wholly below the cleanable end (the active segment's base, the
//      LSO, the first undecided transaction), in groups of consecutive segments up to segmentBytes,
//      keeping per key only its latest record, and swap each group in (segment-swap.ts).
// Offsets never change: a rewritten batch keeps its base offset, lastOffsetDelta and producer
// fields, so the log gets gaps. The work yields to the event loop every ~stepBytes: appends (to the
// active segment only) and reads go on meanwhile; readers use the old segments until the swap,
// which is synchronous.
//
// Where this is simpler than Kafka:
// - records with a null key (Kafka refuses them in compacted topics at produce) are kept;
// - tombstones go after their delete horizon (cleaning-passes.ts);
// - aborted transactions' records are removed; control batches are all kept, markers included;
// - a batch emptied by compaction is dropped, unless it is its idempotent producer's last data
//   batch: that one stays as an empty batch (header only, as Kafka writes it), so producer state
//   rebuilt from the log still has the producer's epoch and last sequence. The last batch of each
//   rewritten segment stays too (empty if need be): segments stay contiguous, and a reader whose
//   offset falls in a gap always finds a batch past it before the high watermark;
// - segments holding compressed batches are left as they are (core cannot decode them yet), and
//   tombstones above the first of them are kept, so removing one never resurrects a value they hold;
// - the key map is in memory, one entry per distinct key (Kafka bounds it and cleans in parts).
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { assert } from '../core/assert.js'
import type { Clock } from '../core/clock.js'
import { crc32c } from '../core/crc32c.js'
import { EddyError, isEddyError } from '../core/errors.js'
import type { LogRecord } from '../core/record.js'
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD,
  type BatchHeader,
  batchCrcValid,
  CONTROL_COMMIT,
  compressionOf,
  controlTypeOf,
  decodeBatchRecords,
  encodeRecordBatch,
  isControl,
  isTransactional,
  lastOffsetOf,
  readBatchHeader,
} from '../core/record-batch.js'
import {
  addPass,
  type CleaningPass,
  cleanedEndOffset,
  readPasses,
  tombstoneHorizonOffset,
  writePasses,
} from './cleaning-passes.js'
import type { PartitionLog } from './partition-log.js'
import { Segment } from './segment.js'
import { CLEANED_DIR, swapInCleanedSegment } from './segment-swap.js'

const STEP_BYTES_DEFAULT = 4 * 1024 * 1024
const MIN_CLEANABLE_DIRTY_RATIO_DEFAULT = 0.5
const INT32_MAX = 2 ** 31 - 1
/** Keys up to this many bytes are map keys as they are; longer ones by their SHA-256. */
const KEY_INLINE_BYTES_MAX = 32

// Batch header fields the empty batch rewrites (see core/record-batch.ts for the layout).
const OFF_BATCH_LENGTH = 8
const OFF_CRC = 17
const OFF_ATTRIBUTES = 21
const OFF_RECORD_COUNT = 57

export interface CompactorOptions {
  readonly clock: Clock
  /** Bytes of log read per step before yielding to the event loop. */
  readonly stepBytes?: number
  /** Background passes start when dirty / sealed bytes reaches this (Kafka's min.cleanable.dirty.ratio). */
  readonly minCleanableDirtyRatio?: number
}

export interface CompactionResult {
  readonly topic: string
  readonly partition: number
  /** Sealed segments swapped out, and the segments that replaced them. */
  readonly segmentsBefore: number
  readonly segmentsAfter: number
  readonly bytesBefore: number
  readonly bytesAfter: number
  readonly recordsRemoved: number
  /** Offsets below this have been compacted at least once. */
  readonly cleanedEndOffset: number
}

/** A sealed segment compaction may rewrite, and the offset where the next segment begins. */
interface Cleanable {
  readonly seg: Segment
  readonly end: number
}

/** Map key of a record key. The two forms have different lengths, so they cannot collide. */
function keyId(key: Buffer): string {
  if (key.length <= KEY_INLINE_BYTES_MAX) return key.toString('latin1')
  return `\u0001${createHash('sha256').update(key).digest().toString('latin1')}`
}

/** What a scan of the whole partition learned: latest offset per key, transactions, producers. */
class LogScan {
  /** Key → offset of its latest record, counting only non-transactional and committed records. */
  readonly latest = new Map<string, number>()
  /** Producer → base offset of its last data batch. */
  readonly lastDataBatch = new Map<number, number>()
  readonly compressed = new Set<Segment>()
  private readonly aborted = new Map<number, { first: number; last: number }[]>()
  private readonly open = new Map<number, { first: number; keys: [string, number][] }>()

  constructor(
    private readonly topic: string,
    private readonly partition: number,
  ) {}

  visit(seg: Segment, h: BatchHeader, buf: Buffer, at: number): void {
    const pid = h.producerId
    if (isControl(h)) {
      const txn = this.open.get(pid)
      if (txn === undefined) return
      this.open.delete(pid)
      if (controlTypeOf(buf, at, h) === CONTROL_COMMIT) {
        for (const [k, offset] of txn.keys) this.see(k, offset)
      } else {
        const list = this.aborted.get(pid) ?? []
        list.push({ first: txn.first, last: lastOffsetOf(h) })
        this.aborted.set(pid, list)
      }
      return
    }
    if (pid >= 0) this.lastDataBatch.set(pid, h.baseOffset)
    let txn: { first: number; keys: [string, number][] } | undefined
    if (isTransactional(h)) {
      txn = this.open.get(pid)
      if (txn === undefined) {
        txn = { first: h.baseOffset, keys: [] }
        this.open.set(pid, txn)
      }
    }
    if (compressionOf(h) !== 0) {
      this.compressed.add(seg)
      return
    }
    const records: LogRecord[] = []
    decodeBatchRecords(buf, at, h, this.topic, this.partition, records)
    for (const r of records) {
      if (r.key === null) continue
      if (txn !== undefined) txn.keys.push([keyId(r.key), r.offset])
      else this.see(keyId(r.key), r.offset)
    }
  }

  private see(k: string, offset: number): void {
    const prev = this.latest.get(k)
    if (prev === undefined || prev < offset) this.latest.set(k, offset)
  }

  /** The first offset of a transaction whose outcome the scan did not see. */
  firstUndecidedOffset(): number {
    let min = Number.POSITIVE_INFINITY
    for (const t of this.open.values()) min = Math.min(min, t.first)
    return min
  }

  isAborted(producerId: number, offset: number): boolean {
    for (const a of this.aborted.get(producerId) ?? []) if (a.first <= offset && offset <= a.last) return true
    return false
  }
}

class StepBudget {
  private used = 0
  constructor(private readonly stepBytes: number) {}
  /** Counts bytes read; true once this step has read its share. */
  spend(bytes: number): boolean {
    this.used += bytes
    return this.used >= this.stepBytes
  }
  async yield(): Promise<void> {
    this.used = 0
    await yieldToLoop()
  }
}

type Totals = {
  -readonly [K in
    | 'segmentsBefore'
    | 'segmentsAfter'
    | 'bytesBefore'
    | 'bytesAfter'
    | 'recordsRemoved']: number
}

/** One pass over one partition. */
interface Pass {
  readonly p: PartitionLog
  readonly nowMs: number
  readonly budget: StepBudget
  readonly scan: LogScan
  /** Tombstones below this offset are past their delete horizon. */
  readonly horizonOffset: number
}

/** A batch's fate in a cleaned segment: its bytes as they are, new bytes, or gone. */
type Cleaned =
  | { kind: 'same' }
  | { kind: 'new'; bytes: Buffer; removed: number }
  | { kind: 'tail'; bytes: Buffer; isNew: boolean; removed: number }
  | { kind: 'gone'; removed: number }

export class Compactor {
  private readonly clock: Clock
  private readonly stepBytes: number
  private readonly minDirtyRatio: number
  private readonly passes = new WeakMap<PartitionLog, CleaningPass[]>()
  private queue: Promise<void> = Promise.resolve()
  private queued = 0
  private closing = false
  /** The last error of a background pass (on-demand passes reject instead). */
  lastError: unknown = null

  constructor(opts: CompactorOptions) {
    this.clock = opts.clock
    this.stepBytes = opts.stepBytes ?? STEP_BYTES_DEFAULT
    this.minDirtyRatio = opts.minCleanableDirtyRatio ?? MIN_CLEANABLE_DIRTY_RATIO_DEFAULT
    assert(this.stepBytes > 0, 'compaction step bytes must be > 0')
  }

  /** Compacts the partitions one after another, after any pass already under way. */
  compact(partitions: readonly PartitionLog[]): Promise<CompactionResult[]> {
    return this.enqueue(async () => {
      const results: CompactionResult[] = []
      for (const p of partitions) results.push(await this.compactPartition(p))
      return results
    })
  }

  /** Background: starts a pass on the dirtiest compacted partition over the ratio, if none runs. */
  maintain(partitions: readonly PartitionLog[]): void {
    if (this.queued > 0 || this.closing) return
    let best: PartitionLog | null = null
    let bestRatio = this.minDirtyRatio
    for (const p of partitions) {
      if (!p.config.compact || p.isClosed) continue
      const ratio = this.dirtyRatio(p)
      if (ratio >= bestRatio && ratio > 0) {
        best = p
        bestRatio = ratio
      }
    }
    if (best === null) return
    const p = best
    this.enqueue(() => this.compactPartition(p)).catch((err: unknown) => {
      if (!isEddyError(err, 'LOG_CLOSED')) this.lastError = err
    })
  }

  /**
   * Bytes of sealed segments not yet compacted (and below the LSO, so compactable now) over all
   * sealed bytes; 0 when there are no sealed segments.
   */
  dirtyRatio(p: PartitionLog): number {
    const segs = p.segments
    const limit = Math.min(p.highWatermark, p.lastStableOffset)
    const cleanedEnd = cleanedEndOffset(this.passesOf(p), p.logStartOffset)
    let dirty = 0
    let total = 0
    for (let i = 0; i + 1 < segs.length; i++) {
      const size = segs[i]!.sizeBytes
      total += size
      if (segs[i]!.baseOffset >= cleanedEnd && segs[i + 1]!.baseOffset <= limit) dirty += size
    }
    return total === 0 ? 0 : dirty / total
  }

  /** Stops: the pass under way ends at its next step, leaving the log as it was before it. */
  async close(): Promise<void> {
    this.closing = true
    await this.queue
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    this.queued++
    // Counted down before the caller resumes, so a `maintain` right after sees the queue free.
    const run = this.queue.then(job).finally(() => {
      this.queued--
    })
    this.queue = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }

  private passesOf(p: PartitionLog): CleaningPass[] {
    let passes = this.passes.get(p)
    if (passes === undefined) {
      passes = readPasses(p.dir)
      this.passes.set(p, passes)
    }
    return passes
  }

  private checkRunning(p: PartitionLog): void {
    if (this.closing || p.isClosed) {
      throw new EddyError('LOG_CLOSED', `${p.where()}: compaction stopped because the log was closed`)
    }
  }

  /** One pass over `p`; see the top of this file. */
  private async compactPartition(p: PartitionLog): Promise<CompactionResult> {
    this.checkRunning(p)
    if (!p.config.compact) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `${p.where()} is not a compacted topic: create the topic with compact: true to compact it`,
      )
    }
    const nowMs = this.clock.nowMs()
    const budget = new StepBudget(this.stepBytes)
    const mapEnd = Math.min(p.highWatermark, p.lastStableOffset)
    const atStart = [...p.segments]
    const activeBase = atStart[atStart.length - 1]!.baseOffset
    const scan = new LogScan(p.topic, p.partition)
    for (const seg of atStart) {
      if (seg.baseOffset >= mapEnd) break
      await this.walk(p, seg, budget, (h, buf, at) => {
        if (h.baseOffset >= mapEnd) return false
        scan.visit(seg, h, buf, at)
        return true
      })
    }

    // Sealed segments wholly below the cleanable end, each with where it ends.
    const cleanLimit = Math.min(activeBase, mapEnd, scan.firstUndecidedOffset())
    const segs = p.segments
    const cleanable: Cleanable[] = []
    for (let i = 0; i + 1 < segs.length && segs[i + 1]!.baseOffset <= cleanLimit; i++) {
      cleanable.push({ seg: segs[i]!, end: segs[i + 1]!.baseOffset })
    }
    const firstCompressed = cleanable.find((c) => scan.compressed.has(c.seg))
    const passes = this.passesOf(p)
    const horizonOffset = Math.min(
      tombstoneHorizonOffset(passes, nowMs, p.config.deleteRetentionMs),
      firstCompressed?.seg.baseOffset ?? Number.POSITIVE_INFINITY,
    )
    const pass: Pass = { p, nowMs, budget, scan, horizonOffset }
    const totals: Totals = {
      segmentsBefore: 0,
      segmentsAfter: 0,
      bytesBefore: 0,
      bytesAfter: 0,
      recordsRemoved: 0,
    }
    const runs = runsOf(cleanable, scan.compressed)
    const cleanedDir = path.join(p.dir, CLEANED_DIR)
    if (runs.length > 0) {
      fs.rmSync(cleanedDir, { recursive: true, force: true })
      fs.mkdirSync(cleanedDir)
    }
    try {
      for (const run of runs) {
        for (let i = 0; i < run.length; ) i = await this.cleanGroup(pass, run, i, totals)
      }
    } finally {
      fs.rmSync(cleanedDir, { recursive: true, force: true })
    }

    const coveredEnd = cleanable.length > 0 ? cleanable[cleanable.length - 1]!.end : 0
    if (coveredEnd > cleanedEndOffset(passes, p.logStartOffset)) {
      const next = addPass(passes, { endOffset: coveredEnd, timeMs: nowMs }, p.logStartOffset)
      this.checkRunning(p)
      writePasses(p.dir, next)
      this.passes.set(p, next)
    }
    return {
      topic: p.topic,
      partition: p.partition,
      ...totals,
      cleanedEndOffset: cleanedEndOffset(this.passesOf(p), p.logStartOffset),
    }
  }

  /**
   * Visits the batches of `seg` in order, each CRC-checked, yielding to the event loop between
   * steps; `visit` returns false to stop. Returns false when the segment went away meanwhile
   * (retention deleted it).
   */
  private async walk(
    p: PartitionLog,
    seg: Segment,
    budget: StepBudget,
    visit: (h: BatchHeader, buf: Buffer, at: number) => boolean,
  ): Promise<boolean> {
    let position = 0
    for (;;) {
      this.checkRunning(p)
      if (!p.segments.includes(seg)) return false
      let stopped = false
      let stepDone = false
      const end = seg.scan(position, (b, buf, at) => {
        if (!batchCrcValid(buf, at, b.sizeBytes)) throw corrupt(p, seg, b.position)
        if (!visit(readBatchHeader(buf, at), buf, at)) {
          stopped = true
          return false
        }
        stepDone = budget.spend(b.sizeBytes)
        return !stepDone
      })
      if (stopped) return true
      if (!stepDone) {
        if (end < seg.sizeBytes) throw corrupt(p, seg, end)
        return true
      }
      position = end
      await budget.yield()
    }
  }

  /**
   * Cleans `run[start]` and as many segments after it as fit in one segment (by what was written
   * so far plus the next one's size) into a new segment, and swaps it in if it differs.
   * Returns the index in `run` after the last segment it took.
   */
  private async cleanGroup(
    pass: Pass,
    run: readonly Cleanable[],
    start: number,
    totals: Totals,
  ): Promise<number> {
    const { p } = pass
    const baseOffset = run[start]!.seg.baseOffset
    const maxBytes = p.config.segmentBytes
    const out = Segment.create(path.join(p.dir, CLEANED_DIR), baseOffset, pass.nowMs)
    const group: Segment[] = []
    let endOffset = baseOffset
    let bytesBefore = 0
    let removed = 0
    let changed = false
    // A segment's emptied last batch, written only if the group ends with that segment.
    const tail: { batch: { bytes: Buffer; isNew: boolean } | null } = { batch: null }
    let swapped = false
    let i = start
    try {
      for (; i < run.length; i++) {
        const { seg, end } = run[i]!
        const pending = out.sizeBytes + (tail.batch?.bytes.length ?? 0)
        if (i > start && (pending + seg.sizeBytes > maxBytes || end - baseOffset > INT32_MAX)) break
        if (tail.batch !== null) changed = true // dropped: the group goes on past it
        tail.batch = null
        group.push(seg)
        endOffset = end
        bytesBefore += seg.sizeBytes
        const present = await this.walk(p, seg, pass.budget, (h, buf, at) => {
          const c = this.cleanBatch(pass, h, buf, at, end)
          if (c.kind === 'same') {
            out.append(buf.subarray(at, at + h.sizeBytes), h.baseOffset, lastOffsetOf(h), h.maxTimestamp)
            return true
          }
          removed += c.removed
          if (c.kind === 'tail') {
            tail.batch = { bytes: c.bytes, isNew: c.isNew }
            return true
          }
          changed = true
          if (c.kind === 'new') {
            out.append(c.bytes, h.baseOffset, lastOffsetOf(h), readBatchHeader(c.bytes, 0).maxTimestamp)
          }
          return true
        })
        if (!present) return i + 1 // retention removed it meanwhile: leave this group
      }
      const last = tail.batch
      if (last !== null) {
        const h = readBatchHeader(last.bytes, 0)
        out.append(last.bytes, h.baseOffset, lastOffsetOf(h), h.maxTimestamp)
        if (last.isNew) changed = true
      }
      if (!changed && group.length === 1) return i
      await out.fsync() // the bulk, off the event loop
      out.fsyncSync() // now quick: the small index files
      out.close()
      this.checkRunning(p)
      if (!consecutiveIn(p.segments, group)) return i
      // From here to the end, synchronous: no read or append sees a half-done swap.
      swapInCleanedSegment(p.dir, baseOffset, endOffset, group)
      swapped = true
      let fresh: Segment
      try {
        fresh = Segment.open(p.dir, baseOffset, false, this.clock.nowMs()).segment
      } catch (err) {
        throw new EddyError(
          'IO',
          `${p.where()}: compaction swapped in segment ${baseOffset} but could not open it (${String(err)}): close and reopen the log`,
          { cause: err },
        )
      }
      p.replaceSegments(group, [fresh])
      totals.segmentsBefore += group.length
      totals.segmentsAfter += 1
      totals.bytesBefore += bytesBefore
      totals.bytesAfter += fresh.sizeBytes
      totals.recordsRemoved += removed
      return i
    } finally {
      if (!swapped) out.delete()
    }
  }

  /** What becomes of one batch of a segment ending at `segmentEnd`. */
  private cleanBatch(pass: Pass, h: BatchHeader, buf: Buffer, at: number, segmentEnd: number): Cleaned {
    if (isControl(h)) return { kind: 'same' }
    const pid = h.producerId
    // Emptied, an idempotent producer's last batch stays as an empty batch; so does a segment's
    // last batch if the group ends there (segments stay contiguous, a reader in a gap moves on).
    const producersLast = pid >= 0 && pass.scan.lastDataBatch.get(pid) === h.baseOffset
    const segmentsLast = lastOffsetOf(h) === segmentEnd - 1
    if (h.recordCount === 0) {
      if (producersLast) return { kind: 'same' }
      if (segmentsLast)
        return {
          kind: 'tail',
          bytes: Buffer.from(buf.subarray(at, at + h.sizeBytes)),
          isNew: false,
          removed: 0,
        }
      return { kind: 'gone', removed: 0 }
    }
    let kept: LogRecord[] = []
    if (!(isTransactional(h) && pass.scan.isAborted(pid, h.baseOffset))) {
      const records: LogRecord[] = []
      decodeBatchRecords(buf, at, h, pass.p.topic, pass.p.partition, records)
      kept = records.filter((r) => this.keeps(pass, r))
      if (kept.length === records.length) return { kind: 'same' }
    }
    const removed = h.recordCount - kept.length
    if (kept.length === 0) {
      if (producersLast) return { kind: 'new', bytes: emptyBatchOf(buf, at), removed }
      if (segmentsLast) return { kind: 'tail', bytes: emptyBatchOf(buf, at), isNew: true, removed }
      return { kind: 'gone', removed }
    }
    try {
      return { kind: 'new', bytes: rewriteBatch(h, kept), removed }
    } catch (err) {
      // A record over today's limits (stored before they changed) keeps its batch as it is.
      if (isEddyError(err, 'RECORD_TOO_LARGE') || isEddyError(err, 'BATCH_TOO_LARGE')) return { kind: 'same' }
      throw err
    }
  }

  private keeps(pass: Pass, r: LogRecord): boolean {
    if (r.key === null) return true
    const latest = pass.scan.latest.get(keyId(r.key))
    if (latest === undefined) return true // not in the map (cannot happen below the cleanable end): keep
    if (latest > r.offset) return false
    return r.value !== null || r.offset >= pass.horizonOffset
  }
}

/** Runs of consecutive cleanable segments; segments with compressed batches are left out. */
function runsOf(cleanable: readonly Cleanable[], compressed: ReadonlySet<Segment>): Cleanable[][] {
  const runs: Cleanable[][] = []
  let current: Cleanable[] = []
  for (const c of cleanable) {
    if (compressed.has(c.seg)) {
      if (current.length > 0) runs.push(current)
      current = []
    } else current.push(c)
  }
  if (current.length > 0) runs.push(current)
  return runs
}

function consecutiveIn(segments: readonly Segment[], group: readonly Segment[]): boolean {
  const first = segments.indexOf(group[0]!)
  if (first < 0 || first + group.length >= segments.length) return false
  return group.every((s, i) => segments[first + i] === s)
}

/** The batch with only `kept` of its records; offsets, lastOffsetDelta and producer fields stay. */
function rewriteBatch(h: BatchHeader, kept: readonly LogRecord[]): Buffer {
  const bytes = encodeRecordBatch({
    baseOffset: h.baseOffset,
    records: kept,
    offsetDeltas: kept.map((r) => r.offset - h.baseOffset),
    lastOffsetDelta: h.lastOffsetDelta,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    transactional: isTransactional(h),
    partitionLeaderEpoch: h.partitionLeaderEpoch,
  })
  if (bytes.readInt16BE(OFF_ATTRIBUTES) !== h.attributes) {
    // Attribute bits the encoder does not set (log-append time) are kept.
    bytes.writeInt16BE(h.attributes, OFF_ATTRIBUTES)
    bytes.writeUInt32BE(crc32c(bytes, OFF_ATTRIBUTES, bytes.length), OFF_CRC)
  }
  return bytes
}

/** The batch at `at` with no records (its offsets and producer fields stay). */
function emptyBatchOf(buf: Buffer, at: number): Buffer {
  const out = Buffer.from(buf.subarray(at, at + BATCH_HEADER_BYTES))
  out.writeInt32BE(BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD, OFF_BATCH_LENGTH)
  out.writeInt32BE(0, OFF_RECORD_COUNT)
  out.writeUInt32BE(crc32c(out, OFF_ATTRIBUTES, BATCH_HEADER_BYTES), OFF_CRC)
  return out
}

function corrupt(p: PartitionLog, seg: Segment, position: number): EddyError {
  return new EddyError(
    'CORRUPT_RECORD',
    `${p.where()}: compaction found a bad batch at byte ${position} of ${seg.logPath}: restore the segment from a backup or delete the partition`,
  )
}
