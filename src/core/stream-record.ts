import type { RecordHeader } from './record.js'

/** A typed record flowing through a pipeline: a key, a value, and where and when it is. */
export interface StreamRecord<K, V> {
  readonly key: K
  readonly value: V
  /** Event time, ms since the epoch. */
  readonly timestamp: number
  readonly headers: readonly RecordHeader[]
  /** The source topic, partition and offset the record (or the record it came from) was read at. */
  readonly topic: string
  readonly partition: number
  readonly offset: number
}
