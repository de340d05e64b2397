// The Kafka wire protocol: pure encode/decode, no I/O. What the broker and the Kafka transport use.

export {
  type AnyApi,
  type ApiDefinition,
  type ApiName,
  type ApiVersionRange,
  apiByKey,
  apis,
  isFlexible,
  isSupported,
  type RequestOf,
  type ResponseOf,
  supportedApiVersions,
} from './apis/index.js'
export { Reader, STRING_BYTES_MAX, UUID_ZERO, Writer } from './codec.js'
export {
  Compression,
  compressionName,
  compressRecords,
  decodeCompressedBatch,
  decompressRecords,
  type EncodeCompressedBatchOptions,
  encodeCompressedBatch,
  type ValidatedBatch,
  validateCompressedBatch,
} from './compression.js'
export {
  type ConsumerAssignment,
  type ConsumerSubscription,
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
  type TopicPartitionList,
} from './consumer-protocol.js'
export {
  errorCodeForVersion,
  type KafkaErrorCode,
  type KafkaErrorName,
  KafkaErrors,
  kafkaErrorCodeOf,
  kafkaErrorForEddyCode,
  kafkaErrorName,
} from './errors.js'
export {
  decodeRequest,
  decodeResponse,
  encodeApiVersionsUnsupported,
  encodeRequest,
  encodeResponse,
  FRAME_SIZE_BYTES,
  frameSize,
  type KafkaRequest,
  type RequestHeaderInput,
  UnsupportedRequestError,
} from './frame.js'
export {
  type RequestHeader,
  type ResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from './header.js'
export { ProtocolError } from './protocol-error.js'
export type { Input, MessageSchema, Value } from './schema.js'
