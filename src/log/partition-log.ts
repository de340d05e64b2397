// One partition of a topic: an ordered list of segments, the offsets, durability, and the
// producer state that idempotence and transactions need.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { assert } from '../core/assert.js'
import type { Clock } from '../core/clock.js'
import { crc32c } from '../core/crc32c.js'
import { EddyError, isEddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { LogRecord } from '../core/record.js'
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  type BatchHeader,
  batchCrcValid,
  CONTROL_COMMIT,
  checkRecordsSection,
  controlTypeOf,
  decodeBatchRecords,
  encodeControlBatch,
  encodeToSend,
  type RecordsToSend,
  readBatchHeader,
  setBaseOffset,
} from '../core/record-batch.js'
import { fsyncDir, replaceFile } from './fs-util.js'
import { type BatchFacts, ProducerStateTable } from './producer-state.js'
import { Segment, segmentFileName } from './segment.js'
import { recoverSegmentSwap } from './segment-swap.js'
import type { SyncScheduler } from './sync-scheduler.js'
import type { AppendResult, FetchResult, FsyncPolicy, IsolationLevel, TopicConfig } from './types.js'

const INT32_MAX = 2 ** 31 - 1
const SNAPSHOT_SUFFIX = '.snapshot'
const SNAPSHOTS_KEPT = 2
/** Where deleteRecordsBefore keeps the log start offset (JSON `{crc, body}`, as the snapshots). */
const LOG_START_FILE = 'log-start-offset.json'

export interface PartitionLogOptions {
  readonly dir: string
  readonly topic: string
  readonly partition: number
  readonly config: TopicConfig
  readonly clock: Clock
  readonly fsync: FsyncPolicy
  /** Groups the fsyncs of the policy `always` (one per EventLog). */
  readonly syncs: SyncScheduler
}

export interface ProducerFields {
  readonly producerId: number
  readonly producerEpoch: number
  readonly baseSequence: number
  readonly transactional: boolean
}

interface AckWaiter {
  readonly offset: number
  readonly resolve: () => void
  readonly reject: (err: unknown) => void
}

export class PartitionLog {
  readonly topic: string
  readonly partition: number
  readonly dir: string
  config: TopicConfig
  private readonly clock: Clock
  private readonly fsyncPolicy: FsyncPolicy
  private readonly syncs: SyncScheduler
  readonly segments: Segment[] = []
  private producerState: ProducerStateTable
  /** Offset the next appended record gets. */
  nextOffset = 0
  /** Offsets below this are durable by the fsync policy, acknowledged, and visible to readers. */
  highWatermark = 0
  private readonly ackWaiters: AckWaiter[] = []
  private flushing = false
  private flushAgain = false
  private readonly dataWaiters = new Set<() => void>()
  private closed = false
  /** Bytes recovery cut from a torn or corrupt tail when the partition was opened. */
  readonly recoveredTruncatedBytes: number
  /** Set by deleteRecordsBefore: offsets below it are gone, also where their segment is still on disk. */
  private deletedBefore = 0
  /**
   * Called after every batch lands on the log (the group-offset store listens to its topic).
   * The bytes are valid only during the call (appended records are encoded into a reused buffer).
   */
  onAppend: ((buf: Buffer, at: number, header: BatchHeader) => void) | null = null

  private constructor(opts: PartitionLogOptions, truncated: number) {
    this.topic = opts.topic
    this.partition = opts.partition
    this.dir = opts.dir
    this.config = opts.config
    this.clock = opts.clock
    this.fsyncPolicy = opts.fsync
    this.syncs = opts.syncs
    this.recoveredTruncatedBytes = truncated
    this.producerState = new ProducerStateTable(this.where())
  }

  where(): string {
    return `${this.topic}-${this.partition}`
  }

  static create(opts: PartitionLogOptions): PartitionLog {
    const created = fs.mkdirSync(opts.dir, { recursive: true })
    const log = new PartitionLog(opts, 0)
    log.segments.push(Segment.create(opts.dir, 0, opts.clock.nowMs()))
    if (log.durable) {
      fsyncDir(opts.dir)
      if (created !== undefined) fsyncDir(path.dirname(opts.dir))
    }
    return log
  }

  /** Opens a partition directory, recovering its active segment and its producer state. */
  static open(opts: PartitionLogOptions): PartitionLog {
    // Leftovers of an interrupted compaction swap are finished or undone before anything else.
    const files = recoverSegmentSwap(opts.dir, fs.readdirSync(opts.dir))
    const bases = files
      .filter((f) => /^\d{20}\.log$/.test(f))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => a - b)
    const now = opts.clock.nowMs()
    if (bases.length === 0) return PartitionLog.create(opts)
    let truncated = 0
    const segments: Segment[] = []
    for (let i = 0; i < bases.length; i++) {
      const isLast = i === bases.length - 1
      const { segment, truncatedBytes } = Segment.open(opts.dir, bases[i]!, isLast, now)
      segments.push(segment)
      truncated += truncatedBytes
    }
    const log = new PartitionLog(opts, truncated)
    log.segments.push(...segments)
    log.nextOffset = segments[segments.length - 1]!.nextOffset
    log.highWatermark = log.nextOffset
    log.deletedBefore = readLogStart(opts.dir)
    if (log.deletedBefore > log.nextOffset) {
      // Records up to the log start were lost with unflushed writes (fsync never): start over
      // there, so that no offset a reader has passed is given out again.
      for (const s of log.segments.splice(0)) s.delete()
      log.segments.push(Segment.create(opts.dir, log.deletedBefore, now))
      log.nextOffset = log.deletedBefore
      log.highWatermark = log.nextOffset
    }
    log.recoverProducerState(files)
    // A crash may have come between moving the log start and deleting the segments below it.
    log.deleteSegmentsBelowStart()
    return log
  }

  /** True once closed or destroyed (background work checks it between steps). */
  get isClosed(): boolean {
    return this.closed
  }

  get logStartOffset(): number {
    return Math.max(this.segments[0]!.baseOffset, this.deletedBefore)
  }

  /** Whether new files and renames are made durable (directory fsyncs) as well as appends. */
  private get durable(): boolean {
    return this.fsyncPolicy.kind !== 'never'
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!
  }

  get sizeBytes(): number {
    let total = 0
    for (const s of this.segments) total += s.sizeBytes
    return total
  }

  /** No offset at or past this belongs to an open transaction (read_committed stops here). */
  get lastStableOffset(): number {
    const open = this.producerState.firstOpenTxnOffset()
    return open === null ? this.highWatermark : Math.min(open, this.highWatermark)
  }

  get producers(): ProducerStateTable {
    return this.producerState
  }

  // ---- appending -------------------------------------------------------------------------

  /** Encodes and appends records as one batch (a built batch gets its producer fields). */
  appendRecords(records: RecordsToSend, producer?: ProducerFields): Promise<AppendResult> {
    let batch: Buffer
    try {
      batch = encodeToSend(records, {
        defaultTimestamp: this.clock.nowMs(),
        producerId: producer?.producerId,
        producerEpoch: producer?.producerEpoch,
        baseSequence: producer?.baseSequence,
        transactional: producer?.transactional,
        // Safe: an append is synchronous up to the write, so the batch is on its segment (and
        // seen by `onAppend`) before anything encodes again.
        scratch: true,
        keyBytesMax: limits.keyBytesMax,
      })
    } catch (err) {
      // The encoder does not know where the records were going.
      const sized = isEddyError(err, 'RECORD_TOO_LARGE') || isEddyError(err, 'BATCH_TOO_LARGE')
      if (sized && !err.message.startsWith(this.where())) {
        return Promise.reject(new EddyError(err.code, `${this.where()}: ${err.message}`, { cause: err }))
      }
      return Promise.reject(err)
    }
    return this.appendBatch(batch, true)
  }

  /**
   * Appends one v2 record batch as given (the broker's path: bytes stored as received).
   * `trusted` skips re-validating records that Eddy itself just encoded.
   */
  appendBatch(batch: Buffer, trusted = false): Promise<AppendResult> {
    try {
      this.checkOpen()
      const header = this.validateBatch(batch, trusted)
      const result = this.appendValidated(batch, header)
      // A transaction's data need not be durable before the transaction commits: the coordinator
      // makes the transaction's partitions durable before it writes the decision (see
      // Transactions.endTxn), so an append inside a transaction is acknowledged once written, as
      // a Kafka broker acknowledges it once replicated, and pays no fsync of its own. (Under
      // `never`, acknowledging is what moves the high watermark, so it goes the usual way.)
      if ((header.attributes & ATTR_TRANSACTIONAL) !== 0 && this.durable) return Promise.resolve(result)
      return this.ackAfterAppend(result)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  private appendValidated(batch: Buffer, header: BatchHeader): AppendResult {
    if (header.attributes & ATTR_CONTROL) {
      throw new EddyError('INVALID_RECORD', `${this.where()}: producers may not write control batches`)
    }
    const verdict = this.producerState.check(
      header.producerId,
      header.producerEpoch,
      header.baseSequence,
      header.recordCount,
    )
    if (verdict.kind === 'duplicate') {
      return { baseOffset: verdict.meta.baseOffset, lastOffset: verdict.meta.lastOffset, duplicate: true }
    }
    return this.write(batch, header)
  }

  /**
   * Writes a transaction marker for `producerId` if it has an open transaction here.
   * Returns null when there is nothing to end (so recovery may repeat it safely).
   */
  appendMarker(producerId: number, producerEpoch: number, commit: boolean): Promise<AppendResult> | null {
    this.checkOpen()
    if (!this.producerState.inTransaction(producerId)) return null
    const batch = encodeControlBatch({ producerId, producerEpoch, commit, timestamp: this.clock.nowMs() })
    return this.ackAfterAppend(this.write(batch, readBatchHeader(batch, 0), commit))
  }

  private write(batch: Buffer, header: BatchHeader, commitMarker?: boolean): AppendResult {
    const count = header.lastOffsetDelta + 1
    this.maybeRoll(batch.length, count)
    const baseOffset = this.nextOffset
    const lastOffset = baseOffset + header.lastOffsetDelta
    setBaseOffset(batch, 0, baseOffset)
    this.active.append(batch, baseOffset, lastOffset, header.maxTimestamp)
    this.nextOffset = lastOffset + 1
    this.producerState.apply(this.factsOf(header, baseOffset, commitMarker), this.clock.nowMs())
    this.onAppend?.(batch, 0, { ...header, baseOffset })
    return { baseOffset, lastOffset, duplicate: false }
  }

  private factsOf(h: BatchHeader, baseOffset: number, commitMarker?: boolean): BatchFacts {
    return {
      producerId: h.producerId,
      producerEpoch: h.producerEpoch,
      baseSequence: h.baseSequence,
      // Compaction removes records but keeps lastOffsetDelta, which sequences follow (as Kafka's lastSequence).
      recordCount: h.lastOffsetDelta + 1,
      baseOffset,
      lastOffset: baseOffset + h.lastOffsetDelta,
      transactional: (h.attributes & ATTR_TRANSACTIONAL) !== 0,
      commitMarker,
    }
  }

  /** Checks everything about a batch that can be checked before it is accepted. */
  private validateBatch(batch: Buffer, trusted: boolean): BatchHeader {
    const where = this.where()
    if (batch.length > limits.batchBytesMax) {
      throw new EddyError(
        'BATCH_TOO_LARGE',
        `${where}: batch of ${batch.length} bytes exceeds limits.batchBytesMax (${limits.batchBytesMax}): send smaller batches`,
      )
    }
    const header = readBatchHeader(batch, 0)
    if (header.sizeBytes !== batch.length) {
      throw new EddyError(
        'CORRUPT_RECORD',
        `${where}: batch length field says ${header.sizeBytes} bytes but ${batch.length} were given`,
      )
    }
    // As Kafka: offsets must span exactly the records, or a producer could skip offsets at will.
    if (header.recordCount <= 0 || header.lastOffsetDelta !== header.recordCount - 1) {
      throw new EddyError(
        'INVALID_RECORD',
        `${where}: batch has ${header.recordCount} records and last offset delta ${header.lastOffsetDelta}; it needs at least one record, with offset deltas 0..count-1`,
      )
    }
    if (trusted) return header
    if (!batchCrcValid(batch, 0, batch.length)) {
      throw new EddyError(
        'CORRUPT_RECORD',
        `${where}: batch CRC-32C does not match its bytes: the producer must resend it`,
      )
    }
    if ((header.attributes & ATTR_COMPRESSION_MASK) === 0) {
      // Records must parse exactly and be within limits; corrupt data is refused at the door.
      // (The broker checks compressed batches the same way after decompressing them.)
      checkRecordsSection(batch, BATCH_HEADER_BYTES, batch.length, header, this.topic, this.partition, where)
    }
    return header
  }

  private maybeRoll(incomingBytes: number, incomingCount: number): void {
    const seg = this.active
    if (seg.sizeBytes === 0) return
    const full = seg.sizeBytes + incomingBytes > this.config.segmentBytes
    const old = this.clock.nowMs() - seg.createdMs >= this.config.segmentMs
    const offsetsOverflow = this.nextOffset + incomingCount - seg.baseOffset > INT32_MAX
    if (full || old || offsetsOverflow) this.roll()
  }

  /** Seals the active segment and starts a new one at the log end. */
  roll(): void {
    if (this.durable) this.active.fsyncSync()
    this.segments.push(Segment.create(this.dir, this.nextOffset, this.clock.nowMs()))
    // Its directory fsync also makes the new segment's files durable.
    this.writeProducerSnapshot(this.nextOffset)
  }

  // ---- durability ------------------------------------------------------------------------

  private ackAfterAppend(result: AppendResult): Promise<AppendResult> {
    if (result.duplicate && result.lastOffset < this.highWatermark) return Promise.resolve(result)
    if (this.fsyncPolicy.kind === 'never') {
      this.advanceHighWatermark(this.nextOffset)
      return Promise.resolve(result)
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.ackWaiters.push({ offset: result.lastOffset, resolve: () => resolve(result), reject })
      if (this.fsyncPolicy.kind === 'always') this.syncs.request(this)
    })
  }

  get isFlushing(): boolean {
    return this.flushing
  }

  /**
   * Resolves once everything appended so far is durable as the fsync policy makes it: at once
   * under `never`, after an fsync under `always`, at the next interval's under `interval`.
   */
  whenDurable(): Promise<void> {
    if (!this.durable || this.highWatermark >= this.nextOffset) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.ackWaiters.push({ offset: this.nextOffset - 1, resolve, reject })
      if (this.fsyncPolicy.kind === 'always') this.syncs.request(this)
    })
  }

  /** Forces appended bytes to disk on this thread, then acknowledges the appends it covered. */
  flushSync(): void {
    if (this.closed) return
    const target = this.nextOffset
    if (target === this.highWatermark) return
    try {
      this.active.syncDataSync()
    } catch (err) {
      this.failWaiters(this.fsyncFailed(err))
      return
    }
    this.advanceHighWatermark(target)
  }

  private fsyncFailed(err: unknown): EddyError {
    return new EddyError('IO', `${this.where()}: fsync failed: ${String(err)}`, { cause: err })
  }

  /** Forces appended bytes to disk, then acknowledges the appends it covered. */
  async flush(): Promise<void> {
    if (this.closed) return
    if (this.flushing) {
      this.flushAgain = true
      return
    }
    this.flushing = true
    try {
      do {
        this.flushAgain = false
        const target = this.nextOffset
        if (target === this.highWatermark) break
        try {
          await this.active.fsync()
        } catch (err) {
          this.failWaiters(this.fsyncFailed(err))
          return
        }
        this.advanceHighWatermark(target)
      } while (this.flushAgain)
    } finally {
      this.flushing = false
    }
  }

  get hasUnflushed(): boolean {
    return this.nextOffset > this.highWatermark
  }

  private advanceHighWatermark(offset: number): void {
    if (offset <= this.highWatermark) return
    this.highWatermark = offset
    let i = 0
    while (i < this.ackWaiters.length && this.ackWaiters[i]!.offset < offset) this.ackWaiters[i++]!.resolve()
    if (i > 0) this.ackWaiters.splice(0, i)
    this.wakeReaders()
  }

  private failWaiters(err: unknown): void {
    for (const w of this.ackWaiters.splice(0)) w.reject(err)
  }

  private wakeReaders(): void {
    if (this.dataWaiters.size === 0) return
    const waiters = [...this.dataWaiters]
    this.dataWaiters.clear()
    for (const w of waiters) w()
  }

  // ---- reading ---------------------------------------------------------------------------

  /** The readable end for an isolation level. */
  endOffsetFor(isolation: IsolationLevel): number {
    return isolation === 'read_committed' ? this.lastStableOffset : this.highWatermark
  }

  /** Reads whole batches from `offset`, up to `maxBytes` (at least one batch), CRC-checked. */
  fetch(offset: number, maxBytes: number, isolation: IsolationLevel): FetchResult {
    this.checkOpen()
    const hw = this.highWatermark
    const lso = this.lastStableOffset
    const end = isolation === 'read_committed' ? lso : hw
    const base = { highWatermark: hw, lastStableOffset: lso, logStartOffset: this.logStartOffset }
    if (offset < this.logStartOffset || offset > hw) {
      throw new EddyError(
        'OFFSET_OUT_OF_RANGE',
        `${this.where()}: offset ${offset} is outside [${this.logStartOffset}, ${hw}]: fetch from the earliest or latest offset`,
      )
    }
    const parts: Buffer[] = []
    let total = 0
    let from = offset
    for (let i = this.segmentIndexFor(offset); i < this.segments.length && from < end; i++) {
      const seg = this.segments[i]!
      if (seg.nextOffset <= from) continue
      const budget = Math.max(maxBytes - total, 0)
      const part = this.readSegment(seg, from, end, budget, total === 0)
      if (part === null) break
      parts.push(part.bytes)
      total += part.bytes.length
      from = part.nextOffset
      // Stopped inside this segment (budget spent): going on to the next would skip the rest of it.
      if (total >= maxBytes || from < seg.nextOffset) break
    }
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total)
    const abortedTransactions =
      isolation === 'read_committed' ? this.producerState.abortedBetween(offset, from) : []
    return { ...base, bytes, abortedTransactions }
  }

  private readSegment(
    seg: Segment,
    from: number,
    end: number,
    budget: number,
    mustReturnOne: boolean,
  ): { bytes: Buffer; nextOffset: number } | null {
    const startPos = seg.lookupPosition(from)
    // Read the budget plus one index interval, since the index points at or before `from`.
    let want = budget + limits.indexIntervalBytes
    for (;;) {
      const buf = seg.read(startPos, Math.max(want, 64))
      let p = 0
      let first = -1
      let stop = -1
      let next = from
      let prevLastOffset = seg.baseOffset - 1
      while (p + 12 <= buf.length) {
        const size = buf.readInt32BE(p + 8) + 12
        // Length and magic are outside the CRC: check them before trusting them to walk the segment.
        if (
          size < BATCH_HEADER_BYTES ||
          startPos + p + size > seg.sizeBytes ||
          (p + 16 < buf.length && buf[p + 16] !== 2)
        ) {
          if (first >= 0) break // return the good batches before it; a fetch from here fails
          throw new EddyError(
            'CORRUPT_RECORD',
            `${this.where()}: batch at byte ${startPos + p} of ${seg.logPath} has an impossible length (${size}) or magic: the segment is damaged; restore it from a replica or backup`,
          )
        }
        if (p + size > buf.length) {
          // A batch the buffer cut: read more if it is the only one we would return.
          if (first < 0 && mustReturnOne && startPos + p + size <= seg.sizeBytes) {
            want = p + size
            first = -2
          }
          break
        }
        const baseOffset = buf.readInt32BE(p) * 4294967296 + buf.readUInt32BE(p + 4)
        const lastOffset = baseOffset + buf.readInt32BE(p + 23)
        // The CRC does not cover baseOffset: a flipped one must not pass for other offsets.
        if (baseOffset <= prevLastOffset || lastOffset < baseOffset || lastOffset >= seg.nextOffset) {
          if (first >= 0) break // return the good batches before it; a fetch from here fails
          throw new EddyError(
            'CORRUPT_RECORD',
            `${this.where()}: batch at byte ${startPos + p} of ${seg.logPath} has offsets ${baseOffset}..${lastOffset}, outside the segment's [${seg.baseOffset}, ${seg.nextOffset}) or not after the previous batch's ${prevLastOffset}: the segment is damaged; restore it from a replica or backup`,
          )
        }
        prevLastOffset = lastOffset
        if (baseOffset >= end) break
        if (lastOffset >= from) {
          if (first >= 0 && p + size - first > budget) break
          if (first < 0 && size > budget && !mustReturnOne) break
          if (!batchCrcValid(buf, p, size)) {
            throw new EddyError(
              'CORRUPT_RECORD',
              `${this.where()}: batch at offset ${baseOffset} (byte ${startPos + p} of ${seg.logPath}) fails its CRC-32C check: the segment is damaged; restore it from a replica or backup`,
            )
          }
          if (first < 0) first = p
          stop = p + size
          next = lastOffset + 1
        }
        p += size
      }
      if (first === -2) continue
      // The read ended inside the next batch's first 12 bytes (its size unseen): read past them.
      if (first === -1 && mustReturnOne && p + 12 > buf.length && startPos + buf.length < seg.sizeBytes) {
        want = p + 12
        continue
      }
      if (first < 0) return null
      return { bytes: buf.subarray(first, stop), nextOffset: next }
    }
  }

  /** Decoded records from `offset`, with aborted transactions and control batches removed. */
  readRecords(
    offset: number,
    maxBytes: number,
    isolation: IsolationLevel,
  ): { records: LogRecord[]; nextOffset: number; fetch: FetchResult } {
    const fetch = this.fetch(offset, maxBytes, isolation)
    const records: LogRecord[] = []
    const nextOffset = decodeFetched(fetch, this.topic, this.partition, offset, records)
    return { records, nextOffset, fetch }
  }

  /** Resolves when data past `offset` is readable at `isolation`, or after `maxWaitMs`. */
  waitForData(
    offset: number,
    isolation: IsolationLevel,
    maxWaitMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    if (this.endOffsetFor(isolation) > offset || maxWaitMs <= 0 || this.closed || signal?.aborted) {
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.dataWaiters.delete(check)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const check = () => {
        if (this.endOffsetFor(isolation) > offset || this.closed) done()
        else this.dataWaiters.add(check)
      }
      const timer = setTimeout(done, Math.min(maxWaitMs, limits.fetchWaitMsMax))
      signal?.addEventListener('abort', done)
      this.dataWaiters.add(check)
    })
  }

  /** The first offset whose record timestamp is >= `timestamp`, or null when none is. */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number } | null {
    for (const seg of this.segments) {
      if (seg.maxTimestamp < timestamp) continue
      let found: { offset: number; timestamp: number } | null = null
      seg.scan(seg.timeLookupPosition(timestamp), (b, buf, at) => {
        if (b.maxTimestamp < timestamp || b.baseOffset >= this.highWatermark)
          return b.baseOffset < this.highWatermark
        if (!batchCrcValid(buf, at, b.sizeBytes)) {
          throw new EddyError(
            'CORRUPT_RECORD',
            `${this.where()}: batch at offset ${b.baseOffset} (byte ${b.position} of ${seg.logPath}) fails its CRC-32C check: the segment is damaged; restore it from a replica or backup`,
          )
        }
        const header = readBatchHeader(buf, at)
        if (header.attributes & ATTR_CONTROL) return true
        const records: LogRecord[] = []
        decodeBatchRecords(buf, at, header, this.topic, this.partition, records)
        for (const r of records) {
          if (r.timestamp >= timestamp && r.offset >= this.logStartOffset) {
            found = { offset: r.offset, timestamp: r.timestamp }
            return false
          }
        }
        return true
      })
      if (found !== null) return found
    }
    return null
  }

  /** The segment that holds `offset` (the last whose base is <= it). */
  private segmentIndexFor(offset: number): number {
    let lo = 0
    let hi = this.segments.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.segments[mid]!.baseOffset <= offset) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  // ---- retention -------------------------------------------------------------------------

  /** Deletes whole segments past the topic's retention; returns how many went. */
  applyRetention(nowMs: number): number {
    const { retentionMs, retentionBytes } = this.config
    let deleted = this.deleteSegmentsBelowStart()
    if (retentionMs !== null) {
      const active = this.active
      if (active.sizeBytes > 0 && active.maxTimestamp < nowMs - retentionMs && this.hasNoOpenTxn())
        this.roll()
      while (this.segments.length > 1 && this.segments[0]!.maxTimestamp < nowMs - retentionMs) {
        if (!this.deleteOldestSegment()) break
        deleted++
      }
    }
    if (retentionBytes !== null) {
      let size = this.sizeBytes
      while (this.segments.length > 1 && size - this.segments[0]!.sizeBytes >= retentionBytes) {
        const bytes = this.segments[0]!.sizeBytes
        if (!this.deleteOldestSegment()) break
        size -= bytes
        deleted++
      }
    }
    if (deleted > 0) this.producerState.trimAborted(this.logStartOffset)
    return deleted
  }

  /**
   * Kafka's DeleteRecords: moves the log start offset to `offset` (durably, before this returns)
   * and deletes the whole segments below it; earlier offsets can no longer be read. An offset at
   * or below the log start changes nothing. Returns the log start offset.
   */
  deleteRecordsBefore(offset: number): number {
    this.checkOpen()
    const where = this.where()
    if (this.config.compact && this.config.retentionMs === null && this.config.retentionBytes === null) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `${where}: records of a compacted topic (cleanup.policy=compact) cannot be deleted by offset; compaction removes what is superseded`,
      )
    }
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > this.highWatermark) {
      throw new EddyError(
        'OFFSET_OUT_OF_RANGE',
        `${where}: cannot delete records before offset ${offset}, outside [0, ${this.highWatermark}]: give an offset at most the high watermark`,
      )
    }
    if (offset <= this.logStartOffset) return this.logStartOffset
    const body = JSON.stringify({ offset })
    const data = JSON.stringify({ crc: crc32c(Buffer.from(body)), body })
    replaceFile(path.join(this.dir, LOG_START_FILE), data, this.durable)
    this.deletedBefore = offset
    this.deleteSegmentsBelowStart()
    this.producerState.trimAborted(this.logStartOffset)
    return this.logStartOffset
  }

  /** Deletes the segments that hold only offsets below the log start; returns how many went. */
  private deleteSegmentsBelowStart(): number {
    let deleted = 0
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= this.deletedBefore) {
      if (!this.deleteOldestSegment()) break
      deleted++
    }
    return deleted
  }

  private hasNoOpenTxn(): boolean {
    return this.producerState.firstOpenTxnOffset() === null
  }

  private deleteOldestSegment(): boolean {
    const next = this.segments[1]
    // Never delete what readers cannot yet see or what an open transaction still needs.
    if (next === undefined || next.baseOffset > this.highWatermark) return false
    const open = this.producerState.firstOpenTxnOffset()
    if (open !== null && next.baseOffset > open) return false
    this.segments.shift()!.delete()
    return true
  }

  /**
   * Replaces consecutive sealed segments by compaction's output, in memory; `replacement` holds the
   * same offset range, and its files were already swapped in crash-safely (segment-swap.ts).
   */
  replaceSegments(oldSegments: readonly Segment[], replacement: readonly Segment[]): void {
    const first = this.segments.indexOf(oldSegments[0]!)
    assert(
      first >= 0 && first + oldSegments.length < this.segments.length,
      'replaced segments must be sealed',
    )
    for (let i = 1; i < oldSegments.length; i++) {
      assert(this.segments[first + i] === oldSegments[i], 'replaced segments must be consecutive')
    }
    this.segments.splice(first, oldSegments.length, ...replacement)
  }

  // ---- producer state snapshots ----------------------------------------------------------

  private writeProducerSnapshot(offset: number): void {
    const body = JSON.stringify({ offset, state: this.producerState.toJSON() })
    const data = JSON.stringify({ crc: crc32c(Buffer.from(body)), body })
    replaceFile(path.join(this.dir, segmentFileName(offset, SNAPSHOT_SUFFIX)), data, this.durable)
    const snapshots = fs
      .readdirSync(this.dir)
      .filter((f) => f.endsWith(SNAPSHOT_SUFFIX))
      .sort()
    for (const old of snapshots.slice(0, Math.max(0, snapshots.length - SNAPSHOTS_KEPT))) {
      fs.rmSync(path.join(this.dir, old), { force: true })
    }
  }

  /** Loads the newest valid snapshot at or below the log end, then replays the batches after it. */
  private recoverProducerState(files: string[]): void {
    const snapshots = files
      .filter((f) => /^\d{20}\.snapshot$/.test(f))
      .map((f) => Number(f.slice(0, 20)))
      .sort((a, b) => b - a)
    // From the first segment, not the log start: batches below it still shape producer state.
    let from = this.segments[0]!.baseOffset
    for (const offset of snapshots) {
      if (offset > this.nextOffset) continue
      const loaded = this.loadSnapshot(offset)
      if (loaded !== null) {
        this.producerState = loaded
        from = offset
        break
      }
    }
    const now = this.clock.nowMs()
    for (const seg of this.segments) {
      if (seg.nextOffset <= from) continue
      seg.scan(seg.lookupPosition(from), (b, buf, at) => {
        if (b.baseOffset < from) return true
        const header = readBatchHeader(buf, at)
        const control = (header.attributes & ATTR_CONTROL) !== 0
        const commit = control ? controlTypeOf(buf, at, header) === CONTROL_COMMIT : undefined
        this.producerState.apply(this.factsOf(header, b.baseOffset, commit), now)
        return true
      })
    }
    this.producerState.trimAborted(this.logStartOffset)
  }

  private loadSnapshot(offset: number): ProducerStateTable | null {
    try {
      const file = path.join(this.dir, segmentFileName(offset, SNAPSHOT_SUFFIX))
      const { crc, body } = JSON.parse(fs.readFileSync(file, 'utf8')) as { crc: number; body: string }
      if (crc32c(Buffer.from(body)) !== crc) return null
      const parsed = JSON.parse(body) as {
        offset: number
        state: Parameters<typeof ProducerStateTable.fromJSON>[1]
      }
      if (parsed.offset !== offset) return null
      return ProducerStateTable.fromJSON(this.where(), parsed.state)
    } catch {
      return null
    }
  }

  // ---- lifecycle -------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new EddyError('LOG_CLOSED', `${this.where()} is closed`)
  }

  /** Flushes (when the policy asks for it) and closes the files. */
  async close(): Promise<void> {
    if (this.closed) return
    if (this.fsyncPolicy.kind !== 'never') {
      while (this.flushing) await new Promise((r) => setImmediate(r))
      await this.flush()
    }
    this.closed = true
    this.failWaiters(new EddyError('LOG_CLOSED', `${this.where()} closed before the append was durable`))
    this.wakeReaders()
    for (const s of this.segments) s.close()
  }

  /** Closes without flushing and removes every file of the partition. */
  destroy(): void {
    this.closed = true
    this.failWaiters(new EddyError('LOG_CLOSED', `${this.where()} was deleted`))
    this.wakeReaders()
    for (const s of this.segments) s.close()
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}

/** The offset deleteRecordsBefore last moved the log start to; 0 when none (or the file is damaged). */
function readLogStart(dir: string): number {
  try {
    const { crc, body } = JSON.parse(fs.readFileSync(path.join(dir, LOG_START_FILE), 'utf8')) as {
      crc: number
      body: string
    }
    if (crc32c(Buffer.from(body)) !== crc) return 0
    const { offset } = JSON.parse(body) as { offset: number }
    return Number.isSafeInteger(offset) && offset > 0 ? offset : 0
  } catch {
    return 0
  }
}

/**
 * Decodes fetched batches into records the way a Kafka consumer does: skips control batches,
 * drops records of aborted transactions (read_committed), and records before `fromOffset`.
 * Returns the offset to fetch next.
 */
export function decodeFetched(
  fetch: FetchResult,
  topic: string,
  partition: number,
  fromOffset: number,
  out: LogRecord[],
): number {
  const buf = fetch.bytes
  let next = fromOffset
  const aborted = fetch.abortedTransactions
  // Producers whose aborted transaction we are inside, keyed by producer id.
  const abortedOpen = new Set<number>()
  let abortedIdx = 0
  const sortedAborted =
    aborted.length > 1 ? [...aborted].sort((a, b) => a.firstOffset - b.firstOffset) : aborted
  let p = 0
  while (p < buf.length) {
    const header = readBatchHeader(buf, p)
    while (
      abortedIdx < sortedAborted.length &&
      sortedAborted[abortedIdx]!.firstOffset <= header.baseOffset + header.lastOffsetDelta
    ) {
      abortedOpen.add(sortedAborted[abortedIdx]!.producerId)
      abortedIdx++
    }
    const control = (header.attributes & ATTR_CONTROL) !== 0
    if (control) {
      if (abortedOpen.has(header.producerId) && controlTypeOf(buf, p, header) !== CONTROL_COMMIT) {
        abortedOpen.delete(header.producerId)
      }
    } else if (!((header.attributes & ATTR_TRANSACTIONAL) !== 0 && abortedOpen.has(header.producerId))) {
      const start = out.length
      decodeBatchRecords(buf, p, header, topic, partition, out)
      // Drop records before the requested offset (a batch may start earlier).
      if (header.baseOffset < fromOffset) {
        let keep = start
        for (let i = start; i < out.length; i++) if (out[i]!.offset >= fromOffset) out[keep++] = out[i]!
        out.length = keep
      }
    }
    next = header.baseOffset + header.lastOffsetDelta + 1
    p += header.sizeBytes
  }
  return Math.max(next, fromOffset)
}
