// Operating errors: typed, with a message that says what failed, where, and what to do.
// Programmer errors (broken invariants) use `assert` instead.

export type EddyErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_TOPIC_NAME'
  | 'UNKNOWN_TOPIC'
  | 'TOPIC_EXISTS'
  | 'UNKNOWN_PARTITION'
  | 'OFFSET_OUT_OF_RANGE'
  | 'RECORD_TOO_LARGE'
  | 'BATCH_TOO_LARGE'
  | 'CORRUPT_RECORD'
  | 'INVALID_RECORD'
  | 'DUPLICATE_SEQUENCE'
  | 'OUT_OF_ORDER_SEQUENCE'
  | 'PRODUCER_FENCED'
  | 'INVALID_PRODUCER_EPOCH'
  | 'INVALID_TXN_STATE'
  | 'UNKNOWN_PRODUCER_ID'
  | 'INVALID_PRODUCER_ID_MAPPING'
  | 'INVALID_TRANSACTION_TIMEOUT'
  | 'LOG_CLOSED'
  | 'DATA_DIR_LOCKED'
  | 'IO'
  /** Bytes on the wire that do not parse as the Kafka message they claim to be. */
  | 'MALFORMED_MESSAGE'
  /** A Kafka API or API version that Eddy does not implement. */
  | 'UNSUPPORTED_VERSION'

export class EddyError extends Error {
  readonly code: EddyErrorCode
  constructor(code: EddyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EddyError'
    this.code = code
  }
}

export function isEddyError(err: unknown, code?: EddyErrorCode): err is EddyError {
  return err instanceof EddyError && (code === undefined || err.code === code)
}
