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
  /** A compression codec this process cannot use (unknown codec id, or its library failed to load). */
  | 'UNSUPPORTED_COMPRESSION'
  /** An interactive query named a store the app does not have. */
  | 'UNKNOWN_STORE'
  /** An interactive query came while the app was not running, or still restoring its state. */
  | 'STORE_NOT_READY'
  /** An interactive query asked this instance for a key another instance of the app owns. */
  | 'NOT_OWNER'
  /** A Kafka cluster that cannot be reached (or refuses the credentials) after retrying. */
  | 'BROKER_UNAVAILABLE'
  /**
   * The consumer group moved on (rebalanced, or removed this member): what this member did since
   * its last commit is refused; it rejoins and gets its work anew.
   */
  | 'REBALANCED'
  /** A Kafka cluster's error Eddy has no code of its own for; the message names it. */
  | 'KAFKA_ERROR'

/** Marks Eddy's errors so they are recognised across copies of this module (src and dist). */
const EDDY_ERROR = Symbol.for('eddy.error')

export class EddyError extends Error {
  readonly code: EddyErrorCode
  constructor(code: EddyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EddyError'
    this.code = code
    Object.defineProperty(this, EDDY_ERROR, { value: true })
  }
}

/** True for Eddy's operating errors, even ones thrown by another copy of Eddy's code. */
export function isEddyError(err: unknown, code?: EddyErrorCode): err is EddyError {
  const branded =
    err instanceof EddyError ||
    (typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[EDDY_ERROR] === true)
  return branded && (code === undefined || (err as EddyError).code === code)
}
