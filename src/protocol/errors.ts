// Kafka's error codes (org.apache.kafka.common.protocol.Errors), the subset a broker and a client
// of the APIs in apis/ meet, and how Eddy's own error codes map onto them.

import { type EddyErrorCode, isEddyError } from '../core/errors.js'

export const KafkaErrors = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_FETCH_SIZE: 4,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  BROKER_NOT_AVAILABLE: 8,
  REPLICA_NOT_AVAILABLE: 9,
  MESSAGE_TOO_LARGE: 10,
  OFFSET_METADATA_TOO_LARGE: 12,
  NETWORK_EXCEPTION: 13,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  INVALID_REQUIRED_ACKS: 21,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_COMMIT_OFFSET_SIZE: 28,
  TOPIC_AUTHORIZATION_FAILED: 29,
  GROUP_AUTHORIZATION_FAILED: 30,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_TXN_STATE: 48,
  INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50,
  CONCURRENT_TRANSACTIONS: 51,
  TRANSACTION_COORDINATOR_FENCED: 52,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  SECURITY_DISABLED: 54,
  OPERATION_NOT_ATTEMPTED: 55,
  KAFKA_STORAGE_ERROR: 56,
  SASL_AUTHENTICATION_FAILED: 58,
  UNKNOWN_PRODUCER_ID: 59,
  REASSIGNMENT_IN_PROGRESS: 60,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  FETCH_SESSION_ID_NOT_FOUND: 70,
  INVALID_FETCH_SESSION_EPOCH: 71,
  TOPIC_DELETION_DISABLED: 73,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  OFFSET_NOT_AVAILABLE: 78,
  MEMBER_ID_REQUIRED: 79,
  GROUP_MAX_SIZE_REACHED: 81,
  FENCED_INSTANCE_ID: 82,
  GROUP_SUBSCRIBED_TO_TOPIC: 86,
  INVALID_RECORD: 87,
  UNSTABLE_OFFSET_COMMIT: 88,
  THROTTLING_QUOTA_EXCEEDED: 89,
  PRODUCER_FENCED: 90,
  RESOURCE_NOT_FOUND: 91,
  UNKNOWN_TOPIC_ID: 100,
  INCONSISTENT_TOPIC_ID: 103,
  TRANSACTIONAL_ID_NOT_FOUND: 105,
  FETCH_SESSION_TOPIC_ID_ERROR: 106,
  FENCED_MEMBER_EPOCH: 110,
  UNRELEASED_INSTANCE_ID: 111,
  UNSUPPORTED_ASSIGNOR: 112,
  STALE_MEMBER_EPOCH: 113,
  TRANSACTION_ABORTABLE: 120,
} as const

export type KafkaErrorName = keyof typeof KafkaErrors
export type KafkaErrorCode = (typeof KafkaErrors)[KafkaErrorName]

const names = new Map<number, KafkaErrorName>(
  (Object.entries(KafkaErrors) as [KafkaErrorName, number][]).map(([name, code]) => [code, name]),
)

/** 'UNKNOWN_TOPIC_OR_PARTITION' for 3; 'UNKNOWN_ERROR_CODE_<n>' for codes not listed here. */
export function kafkaErrorName(code: number): string {
  return names.get(code) ?? `UNKNOWN_ERROR_CODE_${code}`
}

/** Eddy's operating errors as Kafka reports them. A Record, so a new EddyErrorCode must be mapped here. */
export const kafkaErrorForEddyCode: Readonly<Record<EddyErrorCode, KafkaErrorCode>> = {
  INVALID_ARGUMENT: KafkaErrors.INVALID_REQUEST,
  INVALID_TOPIC_NAME: KafkaErrors.INVALID_TOPIC_EXCEPTION,
  UNKNOWN_TOPIC: KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION,
  TOPIC_EXISTS: KafkaErrors.TOPIC_ALREADY_EXISTS,
  UNKNOWN_PARTITION: KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION,
  OFFSET_OUT_OF_RANGE: KafkaErrors.OFFSET_OUT_OF_RANGE,
  // Kafka's max.message.bytes applies to a whole batch in format v2, so both are "message too large".
  RECORD_TOO_LARGE: KafkaErrors.MESSAGE_TOO_LARGE,
  BATCH_TOO_LARGE: KafkaErrors.MESSAGE_TOO_LARGE,
  CORRUPT_RECORD: KafkaErrors.CORRUPT_MESSAGE,
  INVALID_RECORD: KafkaErrors.INVALID_RECORD,
  DUPLICATE_SEQUENCE: KafkaErrors.DUPLICATE_SEQUENCE_NUMBER,
  OUT_OF_ORDER_SEQUENCE: KafkaErrors.OUT_OF_ORDER_SEQUENCE_NUMBER,
  PRODUCER_FENCED: KafkaErrors.PRODUCER_FENCED,
  INVALID_PRODUCER_EPOCH: KafkaErrors.INVALID_PRODUCER_EPOCH,
  INVALID_TXN_STATE: KafkaErrors.INVALID_TXN_STATE,
  UNKNOWN_PRODUCER_ID: KafkaErrors.UNKNOWN_PRODUCER_ID,
  INVALID_PRODUCER_ID_MAPPING: KafkaErrors.INVALID_PRODUCER_ID_MAPPING,
  INVALID_TRANSACTION_TIMEOUT: KafkaErrors.INVALID_TRANSACTION_TIMEOUT,
  // A closed log means the broker is going away: a retriable error sends clients to metadata
  // and back, as during a Kafka broker's controlled shutdown.
  LOG_CLOSED: KafkaErrors.NOT_LEADER_OR_FOLLOWER,
  DATA_DIR_LOCKED: KafkaErrors.UNKNOWN_SERVER_ERROR,
  IO: KafkaErrors.KAFKA_STORAGE_ERROR,
  MALFORMED_MESSAGE: KafkaErrors.INVALID_REQUEST,
  UNSUPPORTED_VERSION: KafkaErrors.UNSUPPORTED_VERSION,
  UNSUPPORTED_COMPRESSION: KafkaErrors.UNSUPPORTED_COMPRESSION_TYPE,
  // Store queries never reach the wire; mapped only because the Record must be total.
  UNKNOWN_STORE: KafkaErrors.UNKNOWN_SERVER_ERROR,
  STORE_NOT_READY: KafkaErrors.UNKNOWN_SERVER_ERROR,
  NOT_OWNER: KafkaErrors.UNKNOWN_SERVER_ERROR,
  BROKER_UNAVAILABLE: KafkaErrors.NETWORK_EXCEPTION,
  REBALANCED: KafkaErrors.ILLEGAL_GENERATION,
  KAFKA_ERROR: KafkaErrors.UNKNOWN_SERVER_ERROR,
}

/** The Kafka error code for any thrown value: EddyErrors by their code, anything else UNKNOWN_SERVER_ERROR. */
export function kafkaErrorCodeOf(err: unknown): KafkaErrorCode {
  return isEddyError(err) ? kafkaErrorForEddyCode[err.code] : KafkaErrors.UNKNOWN_SERVER_ERROR
}

// apiKey → first version whose clients understand PRODUCER_FENCED (KIP-588); older ones get
// INVALID_PRODUCER_EPOCH, as Kafka's broker does.
const producerFencedSince: ReadonlyMap<number, number> = new Map([
  [22, 4], // InitProducerId
  [24, 2], // AddPartitionsToTxn
  [25, 2], // AddOffsetsToTxn
  [26, 2], // EndTxn
])

/** `code`, or the older code a client of this API version understands instead. */
export function errorCodeForVersion(apiKey: number, apiVersion: number, code: number): number {
  if (code === KafkaErrors.PRODUCER_FENCED) {
    const since = producerFencedSince.get(apiKey)
    if (since === undefined || apiVersion < since) return KafkaErrors.INVALID_PRODUCER_EPOCH
  }
  return code
}
