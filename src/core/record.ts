/** A record header: a string key and a bytes value (or null). */
export interface RecordHeader {
  readonly key: string
  readonly value: Buffer | null
}

/** A record as it lives on the log: bytes, with where and when it is. */
export interface LogRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  /** Milliseconds since the epoch. */
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: readonly RecordHeader[]
}

/** What a producer gives to be appended: the log assigns topic, partition and offset. */
export interface RecordInput {
  readonly key?: Buffer | null
  readonly value: Buffer | null
  /** Defaults to the append time. */
  readonly timestamp?: number
  readonly headers?: readonly RecordHeader[]
}

export const NO_PRODUCER_ID = -1
export const NO_PRODUCER_EPOCH = -1
export const NO_SEQUENCE = -1
