// The public vocabulary of the embedded log.
import type { Clock } from '../core/clock.js'

/** When appended bytes are forced to disk; an append is acknowledged only once its policy is met. */
export type FsyncPolicy =
  | { readonly kind: 'always' }
  | { readonly kind: 'interval'; readonly intervalMs: number }
  | { readonly kind: 'never' }

export interface TopicConfig {
  readonly partitions: number
  /** Keep only the latest value per key (a compacted topic, like Kafka's cleanup.policy=compact). */
  readonly compact: boolean
  /** Delete whole segments whose newest record is older than this; null keeps them forever. */
  readonly retentionMs: number | null
  /** Delete the oldest segments while a partition is larger than this; null means no limit. */
  readonly retentionBytes: number | null
  /** Roll to a new segment at this size. */
  readonly segmentBytes: number
  /** Roll to a new segment when the active one is this old. */
  readonly segmentMs: number
  /** Compacted topics: how long a tombstone (null value) stays readable before compaction removes it. */
  readonly deleteRetentionMs: number
  /** Internal topics (group offsets, transaction state) are hidden from the default listing. */
  readonly internal: boolean
}

export interface PartitionDescription {
  readonly partition: number
  /** First offset still on the log. */
  readonly earliestOffset: number
  /** The offset the next record will get (Kafka's log end offset / high watermark). */
  readonly latestOffset: number
  /** No offset at or past this is part of an open transaction. */
  readonly lastStableOffset: number
  readonly bytes: number
  readonly segments: number
}

export interface TopicDescription {
  readonly name: string
  readonly config: TopicConfig
  readonly partitions: readonly PartitionDescription[]
}

export type IsolationLevel = 'read_uncommitted' | 'read_committed'

export interface AppendResult {
  readonly baseOffset: number
  readonly lastOffset: number
  /** True when the batch was a retry of one already on the log (idempotent producers). */
  readonly duplicate: boolean
}

export interface AbortedTransaction {
  readonly producerId: number
  readonly firstOffset: number
  /** Offset of the abort marker. */
  readonly lastOffset: number
}

export interface FetchOptions {
  /** Stop adding batches past this many bytes; at least one batch is returned if there is one. */
  readonly maxBytes?: number
  readonly isolation?: IsolationLevel
  /** Wait up to this long for data at `offset` to arrive (long poll). 0 returns at once. */
  readonly maxWaitMs?: number
  /** Aborts the long-poll wait. */
  readonly signal?: AbortSignal
}

export interface FetchResult {
  /** Whole record batches, concatenated, exactly as stored; each has passed its CRC check. */
  readonly bytes: Buffer
  readonly highWatermark: number
  readonly lastStableOffset: number
  readonly logStartOffset: number
  /** read_committed only: aborted transactions overlapping the returned range. */
  readonly abortedTransactions: readonly AbortedTransaction[]
}

export interface LogOptions {
  readonly dir: string
  readonly fsync?: FsyncPolicy
  readonly clock?: Clock
  /** Default config for new topics. */
  readonly topicDefaults?: Partial<TopicConfig>
  /** How often retention and compaction run in the background; 0 turns the background job off. */
  readonly maintenanceIntervalMs?: number
}

export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

export interface ProducerIdentity {
  readonly producerId: number
  readonly producerEpoch: number
}
