// Timers for the broker's coordinators, injected so group and session timeouts can be driven
// deterministically in tests (a ManualScheduler moves only when told to).
import { assert } from '../core/assert.js'
import type { Clock } from '../core/clock.js'

export interface Timer {
  /** Idempotent; a cancelled timer never runs. */
  cancel(): void
}

export interface Scheduler extends Clock {
  /** Runs `task` once, `delayMs` from now. */
  schedule(delayMs: number, task: () => void): Timer
}

/** Real time; timers are unref'd so pending group timeouts never keep a process alive. */
export const systemScheduler: Scheduler = {
  nowMs: () => Date.now(),
  schedule(delayMs, task) {
    const handle = setTimeout(task, Math.max(0, delayMs))
    handle.unref()
    return { cancel: () => clearTimeout(handle) }
  },
}

interface ManualTask {
  readonly dueMs: number
  readonly seq: number
  readonly task: () => void
  cancelled: boolean
}

/** Simulated time: `advance` runs due tasks in due-time order (ties in scheduling order). */
export class ManualScheduler implements Scheduler {
  private readonly tasks: ManualTask[] = []
  private seq = 0

  constructor(private timeMs = 0) {}

  nowMs(): number {
    return this.timeMs
  }

  schedule(delayMs: number, task: () => void): Timer {
    const entry: ManualTask = {
      dueMs: this.timeMs + Math.max(0, delayMs),
      seq: this.seq++,
      task,
      cancelled: false,
    }
    this.tasks.push(entry)
    return {
      cancel: () => {
        entry.cancelled = true
      },
    }
  }

  /** Moves time forward by `ms`, running every task that falls due on the way (also those scheduled meanwhile). */
  advance(ms: number): void {
    assert(ms >= 0, `ManualScheduler.advance: negative step ${ms}`)
    const targetMs = this.timeMs + ms
    for (;;) {
      const next = this.nextDue(targetMs)
      if (next === undefined) break
      this.tasks.splice(this.tasks.indexOf(next), 1)
      this.timeMs = next.dueMs
      next.task()
    }
    this.timeMs = targetMs
  }

  /** Tasks scheduled and not yet run or cancelled. */
  get pendingCount(): number {
    return this.tasks.filter((t) => !t.cancelled).length
  }

  private nextDue(targetMs: number): ManualTask | undefined {
    let best: ManualTask | undefined
    for (let i = this.tasks.length - 1; i >= 0; i--) {
      const t = this.tasks[i]!
      if (t.cancelled) {
        this.tasks.splice(i, 1)
        continue
      }
      if (t.dueMs > targetMs) continue
      if (best === undefined || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.seq < best.seq)) best = t
    }
    return best
  }
}
