// Group commit for the fsync policy `always`.
//
// Appends made in one turn of the event loop are made durable together, once that turn's I/O
// callbacks have run (setImmediate), so a broker serving many connections, or a runtime writing
// to many partitions, pays one fsync per partition per turn rather than one per append.
//
// One partition with new bytes is synced on this thread: handing a single fdatasync to libuv's
// thread pool and waking up for its completion cost about 0.15 ms more than the fdatasync itself
// on this machine (0.47 ms against 0.32 ms per 118 KB batch; bench/log.bench.ts), and the
// acknowledgement waits for it either way. Several partitions are synced in the pool, in parallel.

/** What the scheduler needs of a partition (log/partition-log.ts). */
export interface SyncTarget {
  readonly isClosed: boolean
  /** True while an fsync of this partition runs in the thread pool. */
  readonly isFlushing: boolean
  /** fdatasync in the thread pool; acknowledges what it covered. */
  flush(): Promise<void>
  /** fdatasync on this thread; acknowledges what it covered. */
  flushSync(): void
}

export class SyncScheduler {
  private readonly pending = new Set<SyncTarget>()
  private scheduled = false

  /** Asks for `target`'s appended bytes to be made durable at the end of this turn. */
  request(target: SyncTarget): void {
    this.pending.add(target)
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(this.run)
  }

  private readonly run = (): void => {
    this.scheduled = false
    const targets = [...this.pending]
    this.pending.clear()
    const open = targets.filter((t) => !t.isClosed)
    if (open.length === 1 && !open[0]!.isFlushing) {
      open[0]!.flushSync()
      return
    }
    for (const t of open) void t.flush()
  }
}
