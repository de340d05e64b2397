// Eddy's public API.
export { type Clock, ManualClock, systemClock } from './core/clock.js'
export { EddyError, type EddyErrorCode, isEddyError } from './core/errors.js'
export { limits } from './core/limits.js'
export type { LogRecord, RecordHeader, RecordInput } from './core/record.js'
export { defaultTopicConfig, EventLog } from './log/event-log.js'
export type { CommittedOffset, GroupOffsetStore, OffsetCommitInput } from './log/group-offsets.js'
export type { Producer, ProducerOptions } from './log/producer.js'
export type { TransactionCoordinator, TransactionDescription, TransactionState } from './log/transactions.js'
export type {
  AbortedTransaction,
  AppendResult,
  FetchOptions,
  FetchResult,
  FsyncPolicy,
  IsolationLevel,
  LogOptions,
  PartitionDescription,
  TopicConfig,
  TopicDescription,
  TopicPartition,
} from './log/types.js'
