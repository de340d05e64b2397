// The processor's view of a log: one contract, two implementations — `embedded` (the in-process
// log) and `kafka` (a Kafka client for Eddy's broker or any Kafka cluster). Both pass the suite in
// test/transport/conformance.ts.
import type { LogRecord } from '../core/record.js'
import type { RecordsToSend } from '../core/record-batch.js'
import type { IsolationLevel } from '../log/types.js'

export interface TopicSpec {
  readonly partitions: number
  readonly compact?: boolean
  /**
   * Records older than this (by timestamp) may be deleted; null keeps them until deleted by offset
   * (`deleteRecordsBefore`). Absent: the log's default (none for compacted topics). Applied when
   * the topic is created; an existing topic keeps its own.
   */
  readonly retentionMs?: number | null
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
  /** Records, or a batch built as they came (`RecordBatchBuilder`): one batch, in order. */
  send(topic: string, partition: number, records: RecordsToSend): Promise<void>
  beginTransaction(): void
  /**
   * Adds consumer offsets to the open transaction: they commit with the records. With `member`,
   * the group's coordinator refuses them (REBALANCED) once that generation is over, which fences
   * a zombie that lost its tasks (KIP-447).
   */
  sendOffsets(
    group: string,
    offsets: readonly TopicPartitionOffset[],
    member?: GroupGeneration,
  ): Promise<void>
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
  /**
   * Deletes the partition's records before `offset` (Kafka's DeleteRecords): it becomes the
   * earliest offset, and fetches below it fail with OFFSET_OUT_OF_RANGE. An offset at or below
   * the earliest changes nothing; one past the end is OFFSET_OUT_OF_RANGE; a compacted topic is
   * INVALID_ARGUMENT. Resolves with the earliest offset after the call.
   */
  deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number>
  /** One entry per partition asked, in the order asked: offset -1 and metadata '' where nothing is committed. */
  committedOffsets(
    group: string,
    partitions: readonly { topic: string; partition: number }[],
  ): Promise<TopicPartitionOffset[]>
  /**
   * Commits offsets outside a transaction (at-least-once). With `member`, the group's coordinator
   * refuses them (REBALANCED) once that generation is over.
   */
  commitOffsets(
    group: string,
    offsets: readonly TopicPartitionOffset[],
    member?: GroupGeneration,
  ): Promise<void>
  producer(opts: { transactionalId?: string }): Promise<TransportProducer>
  /**
   * A membership in a consumer group whose leader assigns the work (Kafka's classic group
   * protocol, protocol type "consumer"). Nothing is sent until `join()`.
   */
  joinGroup(opts: GroupJoinOptions): GroupMembership
  close(): Promise<void>
}

/** A member's generation: offsets committed with it are refused once the group moved on. */
export interface GroupGeneration {
  readonly generationId: number
  readonly memberId: string
}

/** A member as the leader sees it when it assigns the work. */
export interface GroupMemberInfo {
  readonly memberId: string
  /** What the member sent with its join (`GroupJoinOptions.userData`). */
  readonly userData: Buffer
}

/** What one member is given: the partitions it reads, and anything else the leader tells it. */
export interface GroupAssignmentOut {
  readonly partitions: readonly { topic: string; partition: number }[]
  readonly userData: Buffer
}

export interface GroupAssignment extends GroupAssignmentOut, GroupGeneration {
  /** True on the member that computed this generation's assignment. */
  readonly leader: boolean
}

export interface GroupJoinOptions {
  readonly group: string
  /** The topics the members read, as the subscription that Kafka's tools show. */
  readonly topics: readonly string[]
  /** Sent with every join: what the leader needs to know about this member. */
  readonly userData: () => Buffer
  /** Runs on the member the coordinator elects leader: every member's assignment, by member id. */
  readonly assign: (members: readonly GroupMemberInfo[]) => Map<string, GroupAssignmentOut>
  /** A member silent this long is removed and its work moves (default 10 s). */
  readonly sessionTimeoutMs?: number
  /** How long the group waits for every member to rejoin in a rebalance (default 60 s). */
  readonly rebalanceTimeoutMs?: number
  /** How often the member tells the coordinator it is alive (default a third of the session timeout). */
  readonly heartbeatIntervalMs?: number
}

export interface GroupMembership {
  /**
   * Joins the group, or rejoins it after a rebalance was asked for, and resolves with this
   * member's assignment once the leader has made it. Heartbeats run in the background from then on.
   */
  join(): Promise<GroupAssignment>
  /**
   * True once the group started a rebalance (a member joined or left) or this member's session was
   * lost: commit what is still allowed, then call `join()` again.
   */
  readonly rebalancing: boolean
  /** The generation of the last `join()`, or null before one. */
  readonly generation: GroupGeneration | null
  /**
   * True when the group has dropped this member (session expired, or fenced), not merely started
   * a rebalance: its work may have gone to others meanwhile, so what it holds is stale. Cleared by
   * the next `join()`.
   */
  readonly generationLost: boolean
  /** Leaves the group (its work moves at once) and stops the heartbeats. */
  leave(): Promise<void>
}
