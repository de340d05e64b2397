/** Wall-clock time, injected so the log and the runtime can be driven deterministically in tests. */
export interface Clock {
  nowMs(): number
}

export const systemClock: Clock = { nowMs: () => Date.now() }

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  constructor(private timeMs = 0) {}
  nowMs(): number {
    return this.timeMs
  }
  advance(ms: number): void {
    this.timeMs += ms
  }
  set(ms: number): void {
    this.timeMs = ms
  }
}
