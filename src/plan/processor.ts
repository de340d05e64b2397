// The low-level processor API under the DSL: keyed state, event-time and processing-time timers.
// Every stateful DSL verb (aggregations, windows, joins) is a Processor.
import type { KeyValueStore, WindowStore } from '../core/store.js'
import type { StreamRecord } from '../core/stream-record.js'

export interface Timer<K> {
  readonly key: K
  /** When it fires: event time (watermark) or wall-clock ms. */
  readonly time: number
  readonly domain: 'event' | 'processing'
  /** Lets one key hold several timers (e.g. one per window). */
  readonly tag: string
}

/** A read-only view of a global table. */
export interface GlobalTableView<K, V> {
  get(key: K): V | undefined
  readonly size: number
}

export interface ProcessorContext<KOut, VOut> {
  /** The step's id. */
  readonly step: string
  /** The task's event time: no record older than this is expected any more. */
  readonly watermark: number
  /** Processing (wall-clock) time. */
  readonly wallClockMs: number
  forward(record: StreamRecord<KOut, VOut>): void
  /** Sends a record to a named side output (late records, for instance). */
  forwardTo(output: string, record: StreamRecord<unknown, unknown>): void
  keyValueStore<K, V>(name: string): KeyValueStore<K, V>
  /** A global table (every partition of its topic, on every task), read-only. */
  globalTable<K, V>(name: string): GlobalTableView<K, V>
  windowStore<K, V>(name: string): WindowStore<K, V>
  /** Fires `onTimer` once the watermark reaches `time`. Same key, time and tag: one timer. */
  registerEventTimer(key: unknown, time: number, tag?: string): void
  /** Fires `onTimer` once the wall clock reaches `time`. */
  registerProcessingTimer(key: unknown, time: number, tag?: string): void
  deleteTimer(key: unknown, time: number, domain: 'event' | 'processing', tag?: string): void
}

export interface Processor<KIn, VIn, KOut, VOut> {
  /**
   * True when the processor keeps no reference to a record object it is given past the call to
   * `process` or `processFrom` (it may keep the key, value and headers, and pass the record to
   * `forward`): the runtime then refills one record object per input instead of making one per
   * record (Flink's object reuse). Default false: a new object each time.
   */
  readonly borrowsRecords?: boolean
  /** Called once per task before any record, with stores already restored. */
  init?(ctx: ProcessorContext<KOut, VOut>): void
  process(record: StreamRecord<KIn, VIn>, ctx: ProcessorContext<KOut, VOut>): void
  /**
   * A step with several parents (a join) gets each record here, with the index of the parent it
   * came from (its position in the step's parents). Without it, every record goes to `process`.
   */
  processFrom?(input: number, record: StreamRecord<unknown, unknown>, ctx: ProcessorContext<KOut, VOut>): void
  onTimer?(timer: Timer<KIn>, ctx: ProcessorContext<KOut, VOut>): void
  /** Called when the task's watermark advances (after due timers fired). */
  onWatermark?(watermark: number, ctx: ProcessorContext<KOut, VOut>): void
}
