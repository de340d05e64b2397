// One segment file of a partition: record batches v2 byte for byte, with its sparse indexes.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { assert } from '../core/assert.js'
import { EddyError } from '../core/errors.js'
import { readInt64 } from '../core/int64.js'
import { limits } from '../core/limits.js'
import { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD, batchCrcValid } from '../core/record-batch.js'
import { OffsetIndex, TimeIndex } from './segment-index.js'

const OFF_MAGIC = 16
const OFF_LAST_OFFSET_DELTA = 23
const OFF_MAX_TIMESTAMP = 35

export function segmentFileName(baseOffset: number, suffix: string): string {
  return `${String(baseOffset).padStart(20, '0')}${suffix}`
}

/** The few header fields the segment needs, read without allocating a full header. */
export interface BatchPosition {
  readonly baseOffset: number
  readonly lastOffset: number
  readonly maxTimestamp: number
  readonly position: number
  readonly sizeBytes: number
}

const SCAN_CHUNK_BYTES = 1024 * 1024

export class Segment {
  readonly baseOffset: number
  readonly logPath: string
  private fd: number
  sizeBytes: number
  /** One past the last offset in this segment (baseOffset when empty). */
  nextOffset: number
  maxTimestamp = Number.NEGATIVE_INFINITY
  /** Wall-clock time of the first append, for rolling by age. */
  createdMs: number
  private readonly offsetIndex: OffsetIndex
  private readonly timeIndex: TimeIndex
  private bytesSinceIndexEntry = 0

  private constructor(dir: string, baseOffset: number, fd: number, sizeBytes: number, createdMs: number) {
    this.baseOffset = baseOffset
    this.logPath = path.join(dir, segmentFileName(baseOffset, '.log'))
    this.fd = fd
    this.sizeBytes = sizeBytes
    this.nextOffset = baseOffset
    this.createdMs = createdMs
    this.offsetIndex = new OffsetIndex(path.join(dir, segmentFileName(baseOffset, '.index')))
    this.timeIndex = new TimeIndex(path.join(dir, segmentFileName(baseOffset, '.timeindex')))
  }

  static create(dir: string, baseOffset: number, nowMs: number): Segment {
    const logPath = path.join(dir, segmentFileName(baseOffset, '.log'))
    const fd = fs.openSync(logPath, 'wx+')
    const seg = new Segment(dir, baseOffset, fd, 0, nowMs)
    seg.offsetIndex.openForAppend(true)
    seg.timeIndex.openForAppend(true)
    return seg
  }

  /**
   * Opens an existing segment. The active (last) segment is recovered: every batch is checked
   * (length, magic, CRC, offsets increasing) and the file is cut at the first bad one, which
   * only a torn or corrupted write can leave at the tail. Sealed segments load their indexes.
   * Returns the segment and how many bytes recovery cut off.
   */
  static open(
    dir: string,
    baseOffset: number,
    recover: boolean,
    nowMs: number,
  ): { segment: Segment; truncatedBytes: number } {
    const logPath = path.join(dir, segmentFileName(baseOffset, '.log'))
    const fd = fs.openSync(logPath, 'r+')
    const size = fs.fstatSync(fd).size
    const seg = new Segment(dir, baseOffset, fd, size, nowMs)
    let truncatedBytes = 0
    if (recover || !seg.offsetIndex.load(size) || !seg.timeIndex.load()) {
      truncatedBytes = seg.rebuild(recover)
    } else {
      // Sealed and indexed: only the tail past the last index entry needs reading.
      seg.offsetIndex.openForAppend(false)
      seg.timeIndex.openForAppend(false)
      seg.maxTimestamp = seg.timeIndex.lastTimestamp
      const from = seg.offsetIndex.lastPosition()
      const end = seg.scan(from, (b) => {
        seg.nextOffset = b.lastOffset + 1
        if (b.maxTimestamp > seg.maxTimestamp) seg.maxTimestamp = b.maxTimestamp
        return true
      })
      // Stopping short would silently hide the rest of the segment (nextOffset too small).
      if (end < size) {
        seg.close()
        throw new EddyError(
          'CORRUPT_RECORD',
          `segment ${logPath} is corrupt at byte ${end} (of ${size}): restore it from a backup or delete the partition`,
        )
      }
    }
    const first = seg.firstBatchMaxTimestamp()
    if (first !== null) seg.createdMs = Math.min(nowMs, first)
    return { segment: seg, truncatedBytes }
  }

  /** Re-reads the whole file, rebuilding both indexes; with `truncate`, cuts at the first bad batch. */
  private rebuild(truncate: boolean): number {
    this.offsetIndex.openForAppend(true)
    this.timeIndex.openForAppend(true)
    this.nextOffset = this.baseOffset
    this.maxTimestamp = Number.NEGATIVE_INFINITY
    this.bytesSinceIndexEntry = 0
    const end = this.scan(
      0,
      (b) => {
        this.indexBatch(b.baseOffset, b.maxTimestamp, b.position, b.sizeBytes)
        this.nextOffset = b.lastOffset + 1
        return true
      },
      true,
      truncate,
    )
    if (end < this.sizeBytes) {
      if (!truncate) {
        throw new EddyError(
          'CORRUPT_RECORD',
          `segment ${this.logPath} is corrupt at byte ${end} (of ${this.sizeBytes}): restore it from a backup or delete the partition`,
        )
      }
      const cut = this.sizeBytes - end
      fs.ftruncateSync(this.fd, end)
      this.sizeBytes = end
      return cut
    }
    return 0
  }

  private firstBatchMaxTimestamp(): number | null {
    if (this.sizeBytes < BATCH_HEADER_BYTES) return null
    const buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES)
    fs.readSync(this.fd, buf, 0, BATCH_HEADER_BYTES, 0)
    return readInt64(buf, OFF_MAX_TIMESTAMP)
  }

  /**
   * Walks the batches from `position`, calling `visit` until it returns false. With `verify`,
   * checks each batch's CRC and stops at the first invalid one. Returns where the walk stopped:
   * the end of the last good batch. With `contiguous` (the active segment, which compaction never
   * rewrites), each batch must start right after the previous one: the CRC does not cover baseOffset.
   */
  scan(
    position: number,
    visit: (b: BatchPosition, buf: Buffer, at: number) => boolean,
    verify = false,
    contiguous = false,
  ): number {
    let chunk = Buffer.allocUnsafe(SCAN_CHUNK_BYTES)
    let pos = position
    let expectedOffset = this.baseOffset
    while (pos + BATCH_LOG_OVERHEAD <= this.sizeBytes) {
      let n = fs.readSync(this.fd, chunk, 0, Math.min(chunk.length, this.sizeBytes - pos), pos)
      let p = 0
      while (p + BATCH_HEADER_BYTES <= n) {
        const size = chunk.readInt32BE(p + 8) + BATCH_LOG_OVERHEAD
        if (size < BATCH_HEADER_BYTES || size > limits.batchBytesMax || chunk.readInt8(p + OFF_MAGIC) !== 2) {
          return pos + p
        }
        if (p + size > n) {
          if (pos + p + size > this.sizeBytes) return pos + p // torn tail
          if (size > chunk.length) chunk = Buffer.allocUnsafe(size)
          break // re-read from this batch
        }
        const baseOffset = readInt64(chunk, p)
        const lastOffset = baseOffset + chunk.readInt32BE(p + OFF_LAST_OFFSET_DELTA)
        if (verify) {
          if (
            baseOffset < expectedOffset ||
            (contiguous && baseOffset !== expectedOffset) ||
            lastOffset < baseOffset ||
            lastOffset - this.baseOffset > 2 ** 31 - 1 ||
            !batchCrcValid(chunk, p, size)
          ) {
            return pos + p
          }
          expectedOffset = lastOffset + 1
        }
        const b: BatchPosition = {
          baseOffset,
          lastOffset,
          maxTimestamp: readInt64(chunk, p + OFF_MAX_TIMESTAMP),
          position: pos + p,
          sizeBytes: size,
        }
        if (!visit(b, chunk, p)) return pos + p + size
        p += size
      }
      if (p === 0 && n < BATCH_HEADER_BYTES) return pos // a fragment shorter than a header
      pos += p
      n = 0
    }
    return pos
  }

  private indexBatch(baseOffset: number, maxTimestamp: number, position: number, sizeBytes: number): void {
    if (this.bytesSinceIndexEntry >= limits.indexIntervalBytes) {
      const rel = baseOffset - this.baseOffset
      this.offsetIndex.append(rel, position)
      this.timeIndex.append(Math.max(this.maxTimestamp, maxTimestamp), rel)
      this.bytesSinceIndexEntry = 0
    }
    this.bytesSinceIndexEntry += sizeBytes
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp
  }

  /** Appends whole batches (already assigned offsets, CRC-checked). Synchronous; not yet durable. */
  append(bytes: Buffer, baseOffset: number, lastOffset: number, maxTimestamp: number): void {
    assert(baseOffset >= this.nextOffset, `append at ${baseOffset} below segment end ${this.nextOffset}`)
    const position = this.sizeBytes
    let written = 0
    while (written < bytes.length) {
      written += fs.writeSync(this.fd, bytes, written, bytes.length - written, position + written)
    }
    this.sizeBytes += bytes.length
    this.indexBatch(baseOffset, maxTimestamp, position, bytes.length)
    this.nextOffset = lastOffset + 1
  }

  /** Position of the batch holding `offset`, or of the nearest indexed batch before it. */
  lookupPosition(offset: number): number {
    return this.offsetIndex.positionFor(offset - this.baseOffset)
  }

  /** Start position for a scan to the first record with timestamp >= target. */
  timeLookupPosition(target: number): number {
    return this.lookupPosition(this.baseOffset + this.timeIndex.scanStartFor(target))
  }

  read(position: number, length: number): Buffer {
    const len = Math.max(0, Math.min(length, this.sizeBytes - position))
    const buf = Buffer.allocUnsafe(len)
    let got = 0
    while (got < len) {
      const n = fs.readSync(this.fd, buf, got, len - got, position + got)
      if (n === 0) break
      got += n
    }
    return got === len ? buf : buf.subarray(0, got)
  }

  fsync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())))
  }

  /** fdatasync of the log file on this thread (the indexes are rebuilt from it on recovery). */
  syncDataSync(): void {
    fs.fdatasyncSync(this.fd)
  }

  /** Forces the log and its indexes to disk (on roll: a sealed segment trusts its index files). */
  fsyncSync(): void {
    fs.fdatasyncSync(this.fd)
    this.offsetIndex.sync()
    this.timeIndex.sync()
  }

  close(): void {
    this.offsetIndex.close()
    this.timeIndex.close()
    if (this.fd >= 0) fs.closeSync(this.fd)
    this.fd = -1
  }

  /** Closes and removes the segment's files. */
  delete(): void {
    this.close()
    const dir = path.dirname(this.logPath)
    for (const suffix of ['.log', '.index', '.timeindex']) {
      fs.rmSync(path.join(dir, segmentFileName(this.baseOffset, suffix)), { force: true })
    }
  }
}
