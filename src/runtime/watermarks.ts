// A task's event time: per input partition, the largest timestamp seen; the task's watermark is
// the minimum over its active partitions, less the allowed out-of-orderness. It never goes back.

export interface WatermarkOptions {
  /** How far behind the newest record a record may arrive and still be on time. */
  readonly outOfOrdernessMs: number
  /** When every input is idle, let event time follow the wall clock (so quiet windows close). */
  readonly advanceWithWallClock: boolean
}

export class WatermarkTracker {
  private readonly maxTs = new Map<string, number>()
  private readonly active = new Set<string>()
  private lastActivityMs = new Map<string, number>()
  private current = Number.NEGATIVE_INFINITY

  constructor(private readonly opts: WatermarkOptions) {}

  get watermark(): number {
    return this.current
  }

  /** A partition with data waiting holds time back even before its first record. */
  markActive(partition: string, nowMs: number): void {
    this.active.add(partition)
    this.lastActivityMs.set(partition, nowMs)
  }

  markIdle(partition: string): void {
    this.active.delete(partition)
  }

  /** Records a record's timestamp; returns true when the watermark advanced. */
  observe(partition: string, timestamp: number, nowMs: number): boolean {
    const prev = this.maxTs.get(partition)
    if (prev === undefined || timestamp > prev) this.maxTs.set(partition, timestamp)
    if (!this.active.has(partition)) this.active.add(partition)
    this.lastActivityMs.set(partition, nowMs)
    return this.recompute()
  }

  /** Partitions quiet for `idleTimeoutMs` stop holding time back; returns true if it advanced. */
  tick(nowMs: number, idleTimeoutMs: number): boolean {
    for (const p of [...this.active]) {
      if (nowMs - (this.lastActivityMs.get(p) ?? nowMs) >= idleTimeoutMs) this.active.delete(p)
    }
    let advanced = this.recompute()
    if (this.active.size === 0 && this.opts.advanceWithWallClock) {
      const wall = nowMs - this.opts.outOfOrdernessMs
      if (wall > this.current) {
        this.current = wall
        advanced = true
      }
    }
    return advanced
  }

  /** Restores a watermark saved at a checkpoint. */
  restore(watermark: number): void {
    if (watermark > this.current) this.current = watermark
  }

  private recompute(): boolean {
    let min = Number.POSITIVE_INFINITY
    for (const p of this.active) {
      const ts = this.maxTs.get(p)
      if (ts === undefined) return false // an active partition with no record yet holds time back
      if (ts < min) min = ts
    }
    if (min === Number.POSITIVE_INFINITY) {
      // Every partition is idle: none holds time back, so it moves to the newest record seen.
      if (this.maxTs.size === 0) return false
      min = Math.max(...this.maxTs.values())
    }
    const next = min - this.opts.outOfOrdernessMs
    if (next > this.current) {
      this.current = next
      return true
    }
    return false
  }
}
