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
  /**
   * Largest records section of a compressed batch once decompressed. The compressed batch is
   * bounded by batchBytesMax; this bounds what it may expand to, so a "zip bomb" is refused
   * rather than filling memory. 4x leaves room for well-compressing JSON batches.
   */
  decompressedBatchBytesMax: 64 * 1024 * 1024,
  /**
   * Largest record batch the Kafka transport sends. Kafka refuses batches over its
   * max.message.bytes (1 MiB by default), so a bigger send goes out as several batches.
   */
  kafkaBatchBytesMax: 1024 * 1024,
  /** Most records in one batch. */
  batchRecordsMax: 1_000_000,
  /** Largest key. */
  keyBytesMax: 64 * 1024,
  /** Largest serialized key of a state store: lmdb's 1978-byte key limit less a window key's 12 bytes. */
  storeKeyBytesMax: 1966,
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
  /**
   * Connections the Kafka transport opens to one broker for fetches. A long poll holds its
   * connection (a broker answers a connection's requests in order), so a fetch that must not
   * wait behind one takes another.
   */
  fetchConnectionsPerBrokerMax: 4,
  /** Producer ids remembered per partition for idempotence. */
  producersPerPartitionMax: 100_000,
  /** Batches remembered per producer to detect retried duplicates (Kafka keeps 5). */
  producerBatchesRemembered: 5,
  /** Default transaction timeout, after which an open transaction is aborted. */
  transactionTimeoutMsDefault: 60_000,
  transactionTimeoutMsMax: 15 * 60_000,
  /** Defaults of a consumer-group membership: a silent member is removed after the session timeout. */
  groupSessionTimeoutMsDefault: 10_000,
  /** How long a group waits for its members to rejoin in a rebalance. */
  groupRebalanceTimeoutMsDefault: 60_000,
  /** Largest metadata string stored with a committed consumer-group offset (Kafka's offset.metadata.max.bytes). */
  offsetMetadataBytesMax: 4096,
  /** Largest Kafka request frame the broker reads (Kafka's socket.request.max.bytes); a bigger one closes the connection. */
  frameBytesMax: 100 * 1024 * 1024,
  /** Most client connections the broker holds at once; more are refused (Kafka's max.connections). */
  connectionsMax: 1000,
  /** Requests read but not yet answered on one connection; past this the broker stops reading it. */
  inFlightRequestsPerConnectionMax: 100,
  /**
   * A connection with nothing read, nothing buffered and no request being served for this long
   * is closed (Kafka's connections.max.idle.ms). A long poll or a pending join is not idle.
   */
  connectionIdleMsMax: 10 * 60_000,
  /** Once a frame's first bytes arrived, the rest must arrive within this, else the connection is closed. */
  partialFrameMsMax: 30_000,
  /** Most entries (or windows) one HTTP store query returns; its `limit` may ask for fewer. */
  queryEntriesMax: 10_000,
} as const

assert(limits.recordBytesMax <= limits.batchBytesMax, 'a record must fit in a batch')
assert(limits.batchBytesMax <= limits.segmentBytesMax, 'a batch must fit in a segment')
assert(
  limits.batchBytesMax <= limits.decompressedBatchBytesMax,
  'an uncompressed batch must be decompressible',
)
assert(limits.decompressedBatchBytesMax <= 2 ** 30, 'a decompressed batch must fit in one Buffer')
assert(limits.segmentBytesMax <= 2 ** 31 - 1, 'segment positions are int32 in the index')
assert(limits.keyBytesMax <= limits.recordBytesMax, 'a key must fit in a record')
assert(limits.storeKeyBytesMax + 12 <= 1978, 'a window store key must fit in an lmdb key')
assert(limits.indexIntervalBytes < limits.segmentBytesMin * 8, 'index interval must be small')
assert(limits.batchBytesMax < limits.frameBytesMax, 'a produce request of one full batch must fit in a frame')
assert(limits.frameBytesMax <= 2 ** 31 - 1, 'a frame size is an int32')
assert(limits.connectionIdleMsMax > limits.fetchWaitMsMax, 'a connection must outlive its idle long poll')
