// The processor's view of a log: one contract, two implementations — `embedded` (the in-process
// log) and `kafka` (a Kafka client for Eddy's broker or any Kafka cluster). Both pass the suite in
// test/transport/conformance.ts.
import type { LogRecord, RecordInput } from '../core/record.js'
import type { IsolationLevel } from '../log/types.js'

export interface TopicSpec {
  readonly partitions: number
  readonly compact?: boolean
}

export interface FetchedRecords {
  readonly records: LogRecord[]
  readonly nextOffset: number
  /** The end of what this isolation level can read (the last stable offset for read_committed). */
  readonly highWatermark: number
}

export interface TopicPartitionOffset {
  readonly topic: string
  readonly partition: number
  /** The next offset to read. */
  readonly offset: number
  /** Stored with the offset: the runtime keeps each input partition's event time here. */
  readonly metadata?: string
}

/** A producer: idempotent always; transactional when created with a transactional id. */
export interface TransportProducer {
  send(topic: string, partition: number, records: readonly RecordInput[]): Promise<void>
  beginTransaction(): void
  /** Adds consumer offsets to the open transaction: they commit with the records. */
  sendOffsets(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void>
  commitTransaction(): Promise<void>
  abortTransaction(): Promise<void>
  close(): Promise<void>
}

export interface Transport {
  readonly kind: 'embedded' | 'kafka'
  /** Creates the topic if missing; checks partitions (and compaction) if it exists. Returns its partition count. */
  ensureTopic(topic: string, spec: TopicSpec): Promise<number>
  /** The topic's partition count, or null when it does not exist. */
  partitionCount(topic: string): Promise<number | null>
  fetch(
    topic: string,
    partition: number,
    offset: number,
    opts: { maxBytes?: number; maxWaitMs?: number; isolation: IsolationLevel; signal?: AbortSignal },
  ): Promise<FetchedRecords>
  earliestOffset(topic: string, partition: number): Promise<number>
  latestOffset(topic: string, partition: number, isolation: IsolationLevel): Promise<number>
  /** One entry per partition asked, in the order asked: offset -1 and metadata '' where nothing is committed. */
  committedOffsets(
    group: string,
    partitions: readonly { topic: string; partition: number }[],
  ): Promise<TopicPartitionOffset[]>
  /** Commits offsets outside a transaction (at-least-once). */
  commitOffsets(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void>
  producer(opts: { transactionalId?: string }): Promise<TransportProducer>
  close(): Promise<void>
}
