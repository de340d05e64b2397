// Every bound Eddy enforces, in one place. Relations between them are asserted at load.
import { assert } from './assert.js'

export const limits = {
  /** Longest topic name, as in Kafka. */
  topicNameLengthMax: 249,
  /** Most partitions a topic may have. */
  partitionsMax: 10_000,
  /** Largest single record (key + value + headers), as encoded. */
  recordBytesMax: 1024 * 1024,
  /** Largest record batch accepted on append. */
  batchBytesMax: 16 * 1024 * 1024,
  /** Most records in one batch. */
  batchRecordsMax: 1_000_000,
  /** Largest key. */
  keyBytesMax: 64 * 1024,
  /** Default and bounds for segment size. */
  segmentBytesDefault: 128 * 1024 * 1024,
  segmentBytesMin: 1024,
  segmentBytesMax: 1024 * 1024 * 1024,
  /** Bytes of log between two entries of the sparse offset/time index. */
  indexIntervalBytes: 4096,
  /** Largest fetch response in bytes. */
  fetchBytesMax: 64 * 1024 * 1024,
  /** Longest long-poll wait. */
  fetchWaitMsMax: 60_000,
  /** Producer ids remembered per partition for idempotence. */
  producersPerPartitionMax: 100_000,
  /** Batches remembered per producer to detect retried duplicates (Kafka keeps 5). */
  producerBatchesRemembered: 5,
  /** Default transaction timeout, after which an open transaction is aborted. */
  transactionTimeoutMsDefault: 60_000,
  transactionTimeoutMsMax: 15 * 60_000,
  /** Largest metadata string stored with a committed consumer-group offset (Kafka's offset.metadata.max.bytes). */
  offsetMetadataBytesMax: 4096,
} as const

assert(limits.recordBytesMax <= limits.batchBytesMax, 'a record must fit in a batch')
assert(limits.batchBytesMax <= limits.segmentBytesMax, 'a batch must fit in a segment')
assert(limits.segmentBytesMax <= 2 ** 31 - 1, 'segment positions are int32 in the index')
assert(limits.keyBytesMax <= limits.recordBytesMax, 'a key must fit in a record')
assert(limits.indexIntervalBytes < limits.segmentBytesMin * 8, 'index interval must be small')
