// Event-time and processing-time timers of one processor. They are state: each lives in the
// processor's timer store (so it survives a restart through the changelog), with an in-memory
// queue ordered by time derived from it.
import type { KeyValueStore } from '../core/store.js'
import { keyIdentity } from '../core/store.js'
import type { Timer } from '../plan/processor.js'

function timerId(t: Timer<unknown>): string {
  return `${t.domain}\u0000${t.time}\u0000${t.tag}\u0000${String(keyIdentity(t.key))}`
}

class TimerQueue {
  private items: Timer<unknown>[] = []
  private sorted = true

  push(t: Timer<unknown>): void {
    const last = this.items[this.items.length - 1]
    if (last !== undefined && t.time < last.time) this.sorted = false
    this.items.push(t)
  }

  remove(id: string): void {
    this.items = this.items.filter((t) => timerId(t) !== id)
  }

  /** Removes and returns timers with time <= now, earliest first. */
  takeDue(now: number): Timer<unknown>[] {
    if (this.items.length === 0) return []
    if (!this.sorted) {
      this.items.sort((a, b) => a.time - b.time)
      this.sorted = true
    }
    let n = 0
    while (n < this.items.length && this.items[n]!.time <= now) n++
    if (n === 0) return []
    const due = this.items.slice(0, n)
    this.items = this.items.slice(n)
    return due
  }
}

export class TimerService {
  private readonly event = new TimerQueue()
  private readonly processing = new TimerQueue()
  private readonly registered = new Set<string>()

  constructor(private readonly store: KeyValueStore<unknown, unknown> | null) {
    if (store !== null) {
      for (const [, t] of store.entries()) this.enqueue(t as Timer<unknown>)
    }
  }

  private enqueue(t: Timer<unknown>): void {
    const id = timerId(t)
    if (this.registered.has(id)) return
    this.registered.add(id)
    ;(t.domain === 'event' ? this.event : this.processing).push(t)
  }

  register(t: Timer<unknown>): void {
    const id = timerId(t)
    if (this.registered.has(id)) return
    this.enqueue(t)
    this.store?.put(id, t)
  }

  delete(t: Timer<unknown>): void {
    const id = timerId(t)
    if (!this.registered.delete(id)) return
    ;(t.domain === 'event' ? this.event : this.processing).remove(id)
    this.store?.delete(id)
  }

  fireEvent(watermark: number, fire: (t: Timer<unknown>) => void): void {
    this.fire(this.event, watermark, fire)
  }

  fireProcessing(now: number, fire: (t: Timer<unknown>) => void): void {
    this.fire(this.processing, now, fire)
  }

  private fire(queue: TimerQueue, now: number, fire: (t: Timer<unknown>) => void): void {
    // A timer may register another that is already due: loop until none is.
    for (let due = queue.takeDue(now); due.length > 0; due = queue.takeDue(now)) {
      for (const t of due) {
        const id = timerId(t)
        if (!this.registered.delete(id)) continue
        this.store?.delete(id)
        fire(t)
      }
    }
  }
}
