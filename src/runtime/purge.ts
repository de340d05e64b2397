// Purging repartition topics, as Kafka Streams does (repartition.purge.interval.ms): they are
// created with no time retention, so a backfill of old events is never deleted before the
// downstream task reads it, and what the downstream tasks have read and committed is deleted by
// offset (DeleteRecords), at most once per interval.
import { isEddyError } from '../core/errors.js'
import type { Plan } from '../plan/plan.js'
import type { TopicPartitionOffset, Transport } from '../transport/transport.js'

/** Kafka Streams' default repartition.purge.interval.ms. */
export const PURGE_INTERVAL_MS_DEFAULT = 30_000

export class RepartitionPurge {
  /** The repartition topics of the plan, by their full (app-prefixed) names. */
  private readonly topics: ReadonlySet<string>
  private lastPurgeMs: number
  /** Per `topic\0partition`: the offset records were last deleted before. */
  private readonly purgedTo = new Map<string, number>()
  /**
   * The last error a purge met, or null. A failed purge only leaves records on disk a while
   * longer, so it does not stop the app: it is tried again at the next interval.
   */
  lastError: unknown = null

  constructor(
    plan: Plan,
    internalTopic: (name: string) => string,
    private readonly transport: Transport,
    private readonly intervalMs: number = PURGE_INTERVAL_MS_DEFAULT,
    nowMs: number = Date.now(),
  ) {
    const topics = new Set<string>()
    for (const id of plan.order) {
      const n = plan.node(id)
      if (n.kind === 'repartition') topics.add(internalTopic(n.topic))
    }
    this.topics = topics
    this.lastPurgeMs = nowMs
  }

  /**
   * Call after a successful commit with the offsets it committed: once the interval has passed,
   * deletes the records of repartition topics before them.
   */
  async afterCommit(committed: readonly TopicPartitionOffset[], nowMs: number = Date.now()): Promise<void> {
    if (this.topics.size === 0 || nowMs - this.lastPurgeMs < this.intervalMs) return
    this.lastPurgeMs = nowMs
    const deletes: Promise<void>[] = []
    for (const { topic, partition, offset } of committed) {
      if (!this.topics.has(topic)) continue
      const key = `${topic}\u0000${partition}`
      if (offset <= (this.purgedTo.get(key) ?? 0)) continue
      deletes.push(
        this.transport.deleteRecordsBefore(topic, partition, offset).then(() => {
          this.purgedTo.set(key, offset)
        }),
      )
    }
    for (const r of await Promise.allSettled(deletes)) {
      if (r.status === 'fulfilled') continue
      if (!isEddyError(r.reason)) throw r.reason
      this.lastError = r.reason
    }
  }
}
