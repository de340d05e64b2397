import type { StoreView } from '../core/store.js'
import type { StreamRecord } from '../core/stream-record.js'
import type { Processor, ProcessorContext } from '../plan/processor.js'
import type { Aggregator } from './aggregators.js'

/** A running aggregate per key; emits the new result after each record (a table's changes). */
export class KeyedAggregateProcessor<K, V, R> implements Processor<K, V, K, R> {
  /** Keeps keys and values, never the record object: the runtime may reuse it. */
  readonly borrowsRecords = true
  constructor(
    private readonly agg: Aggregator<V, unknown, R>,
    private readonly storeName: string,
  ) {}

  process(record: StreamRecord<K, V>, ctx: ProcessorContext<K, R>): void {
    const store = ctx.keyValueStore<K, unknown>(this.storeName)
    const prev = store.get(record.key)
    const acc = this.agg.add(prev === undefined ? this.agg.init() : prev, record.value)
    store.put(record.key, acc)
    ctx.forward({ ...record, value: this.agg.result(acc) })
  }
}

/** Queries of an aggregation's store show each key's result, not its running state. */
export function aggregateView(agg: Aggregator<never, unknown, unknown>): StoreView {
  return { kind: 'kv', value: (acc) => agg.result(acc) }
}
