// Sparse indexes of one segment, kept in memory and appended to a file as they grow.
//   offset index: (relativeOffset int32, position int32), one entry per ~indexIntervalBytes of log
//   time index:   (timestamp int64, relativeOffset int32), the largest timestamp so far at that point
// Both are derived data: when a file is missing or fails its checks, it is rebuilt from the segment.
import * as fs from 'node:fs'

const OFFSET_ENTRY_BYTES = 8
const TIME_ENTRY_BYTES = 12

class GrowableInts {
  a: Int32Array = new Int32Array(64)
  b: Float64Array = new Float64Array(64)
  length = 0
  push(a: number, b: number): void {
    if (this.length === this.a.length) {
      const na = new Int32Array(this.a.length * 2)
      na.set(this.a)
      const nb = new Float64Array(this.b.length * 2)
      nb.set(this.b)
      this.a = na
      this.b = nb
    }
    this.a[this.length] = a
    this.b[this.length] = b
    this.length++
  }
  clear(): void {
    this.length = 0
  }
}

/** Largest i with keys[i] <= target, or -1. `keys` is sorted ascending over [0, n). */
function floorIndex(keys: ArrayLike<number>, n: number, target: number): number {
  let lo = 0
  let hi = n - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid]! <= target) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

export class OffsetIndex {
  // a = relative offset, b = position
  private readonly entries = new GrowableInts()
  private fd: number | null = null

  constructor(private readonly path: string) {}

  get size(): number {
    return this.entries.length
  }

  /** Loads the file; returns false (and holds nothing) when it is missing or fails its checks. */
  load(segmentBytes: number): boolean {
    this.entries.clear()
    let data: Buffer
    try {
      data = fs.readFileSync(this.path)
    } catch {
      return false
    }
    if (data.length % OFFSET_ENTRY_BYTES !== 0) return false
    let prevRel = -1
    let prevPos = -1
    for (let p = 0; p < data.length; p += OFFSET_ENTRY_BYTES) {
      const rel = data.readInt32BE(p)
      const pos = data.readInt32BE(p + 4)
      if (rel <= prevRel || pos <= prevPos || pos >= segmentBytes) {
        this.entries.clear()
        return false
      }
      this.entries.push(rel, pos)
      prevRel = rel
      prevPos = pos
    }
    return true
  }

  /** Opens the file for appending; `truncate` starts it afresh (for a rebuild). */
  openForAppend(truncate: boolean): void {
    if (truncate) this.entries.clear()
    this.fd = fs.openSync(this.path, truncate ? 'w' : 'a')
  }

  append(relativeOffset: number, position: number): void {
    this.entries.push(relativeOffset, position)
    if (this.fd !== null) {
      const buf = Buffer.allocUnsafe(OFFSET_ENTRY_BYTES)
      buf.writeInt32BE(relativeOffset, 0)
      buf.writeInt32BE(position, 4)
      fs.writeSync(this.fd, buf)
    }
  }

  /** Position of the last indexed batch starting at or before `relativeOffset` (0 if none). */
  positionFor(relativeOffset: number): number {
    const i = floorIndex(this.entries.a, this.entries.length, relativeOffset)
    return i < 0 ? 0 : this.entries.b[i]!
  }

  lastPosition(): number {
    return this.entries.length === 0 ? 0 : this.entries.b[this.entries.length - 1]!
  }

  /** Forces the entries to disk: a sealed segment's index must survive a power loss with it. */
  sync(): void {
    if (this.fd !== null) fs.fdatasyncSync(this.fd)
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd)
    this.fd = null
  }
}

export class TimeIndex {
  // a = relative offset, b = timestamp
  private readonly entries = new GrowableInts()
  private fd: number | null = null

  constructor(private readonly path: string) {}

  load(): boolean {
    this.entries.clear()
    let data: Buffer
    try {
      data = fs.readFileSync(this.path)
    } catch {
      return false
    }
    if (data.length % TIME_ENTRY_BYTES !== 0) return false
    let prevTs = Number.NEGATIVE_INFINITY
    let prevRel = -1
    for (let p = 0; p < data.length; p += TIME_ENTRY_BYTES) {
      const ts = data.readInt32BE(p) * 4294967296 + data.readUInt32BE(p + 4)
      const rel = data.readInt32BE(p + 8)
      if (ts <= prevTs || rel < prevRel) {
        this.entries.clear()
        return false
      }
      this.entries.push(rel, ts)
      prevTs = ts
      prevRel = rel
    }
    return true
  }

  openForAppend(truncate: boolean): void {
    if (truncate) this.entries.clear()
    this.fd = fs.openSync(this.path, truncate ? 'w' : 'a')
  }

  get lastTimestamp(): number {
    return this.entries.length === 0 ? Number.NEGATIVE_INFINITY : this.entries.b[this.entries.length - 1]!
  }

  /** Records that the log reached `timestamp` (a new maximum) at `relativeOffset`. */
  append(timestamp: number, relativeOffset: number): void {
    if (timestamp <= this.lastTimestamp) return
    this.entries.push(relativeOffset, timestamp)
    if (this.fd !== null) {
      const buf = Buffer.allocUnsafe(TIME_ENTRY_BYTES)
      const hi = Math.floor(timestamp / 4294967296)
      buf.writeInt32BE(hi, 0)
      buf.writeUInt32BE(timestamp - hi * 4294967296, 4)
      buf.writeInt32BE(relativeOffset, 8)
      fs.writeSync(this.fd, buf)
    }
  }

  /**
   * A relative offset from which a scan finds the first record with timestamp >= `target`:
   * every record before the returned offset is older than `target`.
   */
  scanStartFor(target: number): number {
    // Entries are (offset, max timestamp up to that offset); find the last one still below target.
    let lo = 0
    let hi = this.entries.length - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.entries.b[mid]! < target) {
        found = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    return found < 0 ? 0 : this.entries.a[found]!
  }

  /** Forces the entries to disk: a sealed segment's index must survive a power loss with it. */
  sync(): void {
    if (this.fd !== null) fs.fdatasyncSync(this.fd)
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd)
    this.fd = null
  }
}
