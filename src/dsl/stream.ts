// The typed fluent API. Every call returns a new, immutable builder over a plan node; the types
// flow from source to sink. The DSL only builds a plan: it never runs anything.
import { type Duration, toMs } from '../core/duration.js'
import { EddyError } from '../core/errors.js'
import type { RecordHeader } from '../core/record.js'
import { json, type Serde } from '../core/serde.js'
import type { StoreSpec } from '../core/store.js'
import type { StreamRecord } from '../core/stream-record.js'
import {
  type ErrorPolicy,
  type GlobalTableSpec,
  type PlanNode,
  recordOf,
  type Step,
  type StepGuard,
  takesRecord,
} from '../plan/nodes.js'
import { Plan } from '../plan/plan.js'
import type { Processor } from '../plan/processor.js'
import { type Aggregator, type AggregatorSpec, combine, type ResultOf } from './aggregators.js'
import {
  ForeignKeyLeftProcessor,
  ForeignKeyResolveProcessor,
  ForeignKeyRightProcessor,
  GlobalJoinProcessor,
  type JoinType,
  LATE_LEFT_OUTPUT,
  LATE_RIGHT_OUTPUT,
  LookupJoinProcessor,
  TableJoinProcessor,
  TableProcessor,
  WindowJoinProcessor,
} from './joins.js'
import { aggregateView, KeyedAggregateProcessor } from './keyed-aggregate.js'
import {
  BranchStep,
  FilterStep,
  FlatMapStep,
  FlatMapValuesStep,
  GuardedFilterStep,
  GuardedMapStep,
  GuardedMapValuesStep,
  MapStep,
  MapValuesStep,
  PeekStep,
  SelectKeyStep,
  type ValueFn,
  WithHeadersStep,
  WithTimestampStep,
} from './steps.js'
import {
  type EmitMode,
  LATE_OUTPUT,
  SessionWindowProcessor,
  SlidingWindowProcessor,
  TimeWindowProcessor,
  type WindowResult,
  type WindowSpec,
  windowStoreView,
} from './windows.js'

/** What a step does when its function throws: stop (default), drop the record, or dead-letter it. */
export type OnError = 'fail' | 'skip' | { readonly deadLetter: string }

export interface StepOptions {
  /** A stable name for the step: it names state, metrics and the node in the picture. */
  readonly name?: string
  readonly onError?: OnError
}

/** A stream–table join: how long stream records wait for the table to catch up in event time. */
export interface LookupJoinOptions extends StepOptions {
  /** Stream records wait this long in event time, so table updates a little out of order are seen (default 0). */
  readonly grace?: Duration
  /** How much of the table's history is kept for lookups as of a past time (default: grace, at least 1 minute). */
  readonly history?: Duration
}

/** An as-of join. */
export interface AsOfJoinOptions extends LookupJoinOptions {
  /** A right record older than this before the left one does not match (default: no limit). */
  readonly maxLookback?: Duration
}

/**
 * A stream–stream join window: a left record at t joins right records in [t - before, t + after];
 * `within` sets both. Records past the window plus `grace` are late.
 */
export interface WindowJoinOptions extends StepOptions {
  readonly within?: Duration
  readonly before?: Duration
  readonly after?: Duration
  readonly grace?: Duration
}

export interface KeyValue<K, V> {
  readonly key: K
  readonly value: V
}

/** Several aggregations at once, by name. */
type AggregatorsOf<V> = { readonly [name: string]: Aggregator<V, unknown, unknown> }
/**
 * The result of `aggregate(spec)`: R for one aggregator, else one result per name. (The spec is
 * typed `S | Aggregator<V, A, R>`, not a bare `S`, so `sum(p => p.amount)` infers p.)
 */
type AggregateResult<S, R> = [R] extends [never] ? ResultOf<S> : R

/** Strings as UTF-8 (so other Kafka tools read them), null as null, anything else as JSON. */
export function defaultKeySerde<K>(): Serde<K> {
  return {
    name: 'key',
    // A string key's bytes are its UTF-8, as string()'s; any bytes read back as a string.
    bytesFormat: 'utf8',
    serialize: (k) =>
      k === null || k === undefined ? null : Buffer.from(typeof k === 'string' ? k : JSON.stringify(k)),
    serializeText: (k) =>
      k === null || k === undefined ? null : typeof k === 'string' ? k : JSON.stringify(k),
    deserialize: (b) => (b === null ? null : b.toString()) as K,
  }
}

/**
 * Keys in internal topics: a string as its UTF-8 bytes, so it lands in the partition a producer
 * keyed by that string would pick (a repartitioned stream then lines up with a table read from a
 * topic); any other key as a NUL byte and its JSON, so its type comes back.
 */
export function internalKeySerde<K>(): Serde<K> {
  return {
    name: 'key',
    serialize: (k) => {
      if (k === null || k === undefined) return null
      if (typeof k === 'string') return Buffer.from(k)
      return Buffer.from(`\u0000${JSON.stringify(k)}`)
    },
    deserialize: (b) => {
      if (b === null) return null as K
      if (b.length > 0 && b[0] === 0) return JSON.parse(b.toString('utf8', 1)) as K
      return b.toString('utf8') as K
    },
  }
}

function policyOf(onError: OnError | undefined): ErrorPolicy {
  if (onError === undefined || onError === 'fail') return { kind: 'fail' }
  if (onError === 'skip') return { kind: 'skip' }
  return { kind: 'deadLetter', topic: onError.deadLetter }
}

/** The pipeline being built: nodes, and unique stable ids for them. */
export class Topology {
  private readonly nodes: PlanNode[] = []
  private readonly globals: GlobalTableSpec[] = []
  private readonly ids = new Set<string>()
  private readonly counters = new Map<string, number>()

  constructor(readonly appId: string) {
    if (!/^[a-zA-Z0-9._-]+$/.test(appId)) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `app id ${JSON.stringify(appId)} must be letters, digits, '.', '_' or '-'`,
      )
    }
  }

  /**
   * An id from the user's name, or `<verb>-<n>` (name stateful steps so ids stay stable).
   * A `derived` name (made from topic names, not given by the user) gets a `-<n>` suffix when taken.
   */
  id(label: string, name?: string, derived = false): string {
    if (derived && name !== undefined && this.ids.has(name)) return this.id(name)
    if (name !== undefined) {
      if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
        throw new EddyError(
          'INVALID_ARGUMENT',
          `step name ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-'`,
        )
      }
      if (this.ids.has(name))
        throw new EddyError('INVALID_ARGUMENT', `two steps are named ${name}: names must be unique`)
      this.ids.add(name)
      return name
    }
    for (;;) {
      const n = (this.counters.get(label) ?? 0) + 1
      this.counters.set(label, n)
      const id = `${label}-${n}`
      if (!this.ids.has(id)) {
        this.ids.add(id)
        return id
      }
    }
  }

  add(node: PlanNode): void {
    this.nodes.push(node)
  }

  /**
   * Reads one or more topics as a stream (several topics are merged in timestamp order).
   * @example topology.stream<Payment>('payments', json())
   */
  stream<V, K = string | null>(
    topics: string | readonly string[],
    valueSerde: Serde<V> = json<V>(),
    opts: StepOptions & {
      keySerde?: Serde<K>
      timestamp?: (value: V, record: StreamRecord<K, V>) => number
    } = {},
  ): Stream<K, V> {
    const list = typeof topics === 'string' ? [topics] : [...topics]
    const id = this.id('source', opts.name ?? `source-${list.join('_')}`)
    const ts = opts.timestamp
    this.add({
      kind: 'source',
      id,
      label: 'source',
      parents: [],
      errorPolicy: policyOf(opts.onError),
      topics: list,
      keySerde: (opts.keySerde ?? defaultKeySerde<K>()) as Serde<unknown>,
      valueSerde: valueSerde as Serde<unknown>,
      timestampOf: ts ? (r) => ts(r.value as V, r as StreamRecord<K, V>) : undefined,
    })
    return new Stream<K, V>(this, id, false)
  }

  /**
   * Reads a topic as a table: the latest value per key, a null value (tombstone) deletes the key.
   * @example const cards = topology.table<CardHolder>('card-holders')
   */
  table<V, K = string>(
    topic: string,
    valueSerde: Serde<V> = json<V>(),
    opts: StepOptions & {
      keySerde?: Serde<K>
      timestamp?: (value: V, record: StreamRecord<K, V>) => number
    } = {},
  ): Table<K, V> {
    const name = opts.name ?? this.id('table', `table-${topic}`, true)
    const source = this.stream<V, K>(topic, valueSerde, {
      ...opts,
      name: `${name}.source`,
      // A tombstone has no value to read a time from: it keeps the log's.
      timestamp:
        opts.timestamp === undefined
          ? undefined
          : (v, r) => (v === null || v === undefined ? r.timestamp : opts.timestamp!(v, r)),
    })
    const store = `${name}-store`
    this.add({
      kind: 'process',
      id: name,
      label: 'table',
      parents: [source.nodeId],
      errorPolicy: { kind: 'fail' },
      stores: [{ name: store, kind: 'kv', keySerde: json(), valueSerde: json() }],
      create: () => new TableProcessor(store),
      sideOutputs: [],
    })
    return new Table<K, V>(this, name, true, store)
  }

  /**
   * Reads a topic as a global table: every task sees all of it, so a stream can join it by any
   * key it computes, with no co-partitioning. For small, slowly changing tables (reference data).
   * @example const countries = topology.globalTable<Country>('countries')
   */
  globalTable<V, K = string>(
    topic: string,
    valueSerde: Serde<V> = json<V>(),
    opts: { name?: string; keySerde?: Serde<K> } = {},
  ): GlobalTable<K, V> {
    const name = this.id('globalTable', opts.name ?? `global-${topic}`, opts.name === undefined)
    this.globals.push({
      name,
      topic,
      keySerde: (opts.keySerde ?? defaultKeySerde<K>()) as Serde<unknown>,
      valueSerde: valueSerde as Serde<unknown>,
    })
    return new GlobalTable<K, V>(this, name)
  }

  /** The immutable plan of everything built so far. */
  plan(): Plan {
    return new Plan(this.nodes, this.globals)
  }
}

/**
 * A stream of records. The stateless verbs take a function of the value and, as a second
 * parameter, the record (key, timestamp, headers, source position). A function that declares only
 * the value is called with the value alone, and no record object is built for it.
 */
export class Stream<K, V> {
  /** @internal */
  constructor(
    readonly topology: Topology,
    readonly nodeId: string,
    /** True once the key may differ from the source's (groupByKey must repartition then). */
    private readonly keyChanged: boolean,
  ) {}

  /**
   * Keeps the records for which `predicate` is true.
   * @example payments.filter(p => p.amount > 0)
   */
  filter<V2 extends V>(
    predicate: (value: V, record: StreamRecord<K, V>) => value is V2,
    opts?: StepOptions,
  ): Stream<K, V2>
  filter(predicate: (value: V, record: StreamRecord<K, V>) => boolean, opts?: StepOptions): Stream<K, V>
  filter(predicate: (value: V, record: StreamRecord<K, V>) => boolean, opts?: StepOptions): Stream<K, V> {
    const fn = predicate as ValueFn<boolean>
    return this.mapStep<K, V>('filter', opts, (next) => new FilterStep(fn, next), {
      guardedStep: (next, guard) => new GuardedFilterStep(fn, next, guard),
      keyKeptBy: [fn],
    })
  }

  /**
   * A new value for each record; the key stays.
   * @example payments.mapValues(p => ({ ...p, euros: p.cents / 100 }))
   */
  mapValues<V2>(fn: (value: V, record: StreamRecord<K, V>) => V2, opts?: StepOptions): Stream<K, V2> {
    const f = fn as ValueFn<unknown>
    return this.mapStep<K, V2>('mapValues', opts, (next) => new MapValuesStep(f, next), {
      guardedStep: (next, guard) => new GuardedMapValuesStep(f, next, guard),
      keyKeptBy: [f],
    })
  }

  /**
   * A new key and value for each record.
   * @example payments.map(p => ({ key: p.cardId, value: p.amount }))
   */
  map<K2, V2>(
    fn: (value: V, record: StreamRecord<K, V>) => KeyValue<K2, V2>,
    opts?: StepOptions,
  ): Stream<K2, V2> {
    const f = fn as ValueFn<KeyValue<unknown, unknown>>
    return this.mapStep<K2, V2>('map', opts, (next) => new MapStep(f, next), {
      keyChanged: true,
      guardedStep: (next, guard) => new GuardedMapStep(f, next, guard),
    })
  }

  /** A stateless step. Inside, records are untyped arguments (see Step); the verbs' signatures type them. */
  private mapStep<K2, V2>(
    label: string,
    opts: StepOptions | undefined,
    step: (next: Step) => Step,
    how: {
      /** The step sets new keys (a later groupByKey repartitions). */
      readonly keyChanged?: boolean
      /** See MapNode.guardedStep. */
      readonly guardedStep?: (next: Step, guard: StepGuard) => Step
      /** The user functions of a step that keeps keys: if none takes the record, no key is read. */
      readonly keyKeptBy?: readonly ValueFn<unknown>[]
    } = {},
  ): Stream<K2, V2> {
    const id = this.topology.id(label, opts?.name)
    const keepers = how.keyKeptBy
    this.topology.add({
      kind: 'map',
      id,
      label,
      parents: [this.nodeId],
      errorPolicy: policyOf(opts?.onError),
      step,
      guardedStep: how.guardedStep,
      keyPassesThrough: keepers !== undefined && !keepers.some(takesRecord),
    })
    return new Stream<K2, V2>(this.topology, id, how.keyChanged ?? this.keyChanged)
  }

  /**
   * Zero or more records per record, each with its own key and value.
   * @example orders.flatMap(o => o.items.map(i => ({ key: i.sku, value: i })))
   */
  flatMap<K2, V2>(
    fn: (value: V, record: StreamRecord<K, V>) => Iterable<KeyValue<K2, V2>>,
    opts?: StepOptions,
  ): Stream<K2, V2> {
    return this.mapStep<K2, V2>(
      'flatMap',
      opts,
      (next) => new FlatMapStep(fn as ValueFn<Iterable<KeyValue<unknown, unknown>>>, next),
      { keyChanged: true },
    )
  }

  /**
   * Zero or more values per record; the key stays.
   * @example sentences.flatMapValues(s => s.split(' '))
   */
  flatMapValues<V2>(
    fn: (value: V, record: StreamRecord<K, V>) => Iterable<V2>,
    opts?: StepOptions,
  ): Stream<K, V2> {
    const f = fn as ValueFn<Iterable<unknown>>
    return this.mapStep<K, V2>('flatMapValues', opts, (next) => new FlatMapValuesStep(f, next), {
      keyKeptBy: [f],
    })
  }

  /**
   * Looks at each record without changing it.
   * @example payments.peek(p => console.log(p))
   */
  peek(fn: (value: V, record: StreamRecord<K, V>) => void, opts?: StepOptions): Stream<K, V> {
    const f = fn as ValueFn<void>
    return this.mapStep<K, V>('peek', opts, (next) => new PeekStep(f, next), { keyKeptBy: [f] })
  }

  /**
   * A new key for each record; the value stays.
   * @example payments.selectKey(p => p.cardId)
   */
  selectKey<K2>(fn: (value: V, record: StreamRecord<K, V>) => K2, opts?: StepOptions): Stream<K2, V> {
    return this.mapStep<K2, V>('selectKey', opts, (next) => new SelectKeyStep(fn as ValueFn<unknown>, next), {
      keyChanged: true,
    })
  }

  /**
   * Sets each record's event time (and so the windows it falls in).
   * @example events.withTimestamp(e => Date.parse(e.occurredAt))
   */
  withTimestamp(fn: (value: V, record: StreamRecord<K, V>) => number, opts?: StepOptions): Stream<K, V> {
    const f = fn as ValueFn<number>
    return this.mapStep<K, V>('withTimestamp', opts, (next) => new WithTimestampStep(f, next), {
      keyKeptBy: [f],
    })
  }

  /**
   * Sets each record's headers.
   * @example payments.withHeaders((p, r) => [...r.headers, { key: 'source', value: Buffer.from('web') }])
   */
  withHeaders(
    fn: (value: V, record: StreamRecord<K, V>) => readonly RecordHeader[],
    opts?: StepOptions,
  ): Stream<K, V> {
    const f = fn as ValueFn<readonly RecordHeader[]>
    return this.mapStep<K, V>('withHeaders', opts, (next) => new WithHeadersStep(f, next), {
      keyKeptBy: [f],
    })
  }

  /**
   * Splits a stream by predicates: a record goes to the first branch it matches, else `rest`.
   * @example const { big, rest } = payments.split({ big: p => p.amount > 1000 })
   */
  split<const B extends string>(
    branches: { readonly [P in B]: (value: V, record: StreamRecord<K, V>) => boolean },
    opts?: { name?: string },
  ): { readonly [P in B | 'rest']: Stream<K, V> } {
    const names = Object.keys(branches) as B[]
    const preds = names.map((n) => branches[n] as ValueFn<boolean>)
    const base = opts?.name ?? this.topology.id('split')
    const out = {} as { [P in B | 'rest']: Stream<K, V> }
    names.forEach((name, i) => {
      out[name] = this.mapStep<K, V>(
        'branch',
        { name: `${base}.${name}` },
        (next) => new BranchStep(preds, i, next),
        { keyKeptBy: preds },
      )
    })
    out.rest = this.mapStep<K, V>(
      'branch',
      { name: `${base}.rest` },
      (next) => new BranchStep(preds, preds.length, next),
      { keyKeptBy: preds },
    )
    return out
  }

  /**
   * One stream of this one's and the others' records.
   * @example web.merge(mobile)
   */
  merge(...others: Stream<K, V>[]): Stream<K, V> {
    const id = this.topology.id('merge')
    this.topology.add({
      kind: 'merge',
      id,
      label: 'merge',
      parents: [this.nodeId, ...others.map((o) => o.nodeId)],
      errorPolicy: { kind: 'fail' },
    })
    return new Stream<K, V>(this.topology, id, this.keyChanged || others.some((o) => o.keyChanged))
  }

  /**
   * Groups by a new key, moving records through an internal repartition topic.
   * @example payments.groupBy(p => p.cardId)
   */
  groupBy<K2>(
    keyOf: (value: V, record: StreamRecord<K, V>) => K2,
    opts?: StepOptions & { keySerde?: Serde<K2>; valueSerde?: Serde<V>; partitions?: number },
  ): GroupedStream<K2, V> {
    const name = opts?.name ?? this.topology.id('groupBy')
    const keyed = this.mapStep<K2, V>(
      'selectKey',
      { name: `${name}.key`, onError: opts?.onError },
      (next) => new SelectKeyStep(keyOf as ValueFn<unknown>, next),
    )
    return keyed.repartition(name, opts)
  }

  /**
   * Groups by the current key (repartitioning only if the key was changed upstream).
   * @example clicks.selectKey(c => c.page).groupByKey()
   */
  groupByKey(opts?: {
    name?: string
    keySerde?: Serde<K>
    valueSerde?: Serde<V>
    partitions?: number
  }): GroupedStream<K, V> {
    if (!this.keyChanged) return new GroupedStream<K, V>(this.topology, this.nodeId)
    return this.repartition(opts?.name ?? this.topology.id('groupByKey'), opts)
  }

  private repartition(
    name: string,
    opts?: { keySerde?: Serde<K>; valueSerde?: Serde<V>; partitions?: number },
  ): GroupedStream<K, V> {
    const id = `${name}.repartition`
    this.topology.add({
      kind: 'repartition',
      id,
      label: 'repartition',
      parents: [this.nodeId],
      errorPolicy: { kind: 'fail' },
      topic: `${name}-repartition`,
      keySerde: (opts?.keySerde ?? internalKeySerde<K>()) as Serde<unknown>,
      valueSerde: (opts?.valueSerde ?? json<V>()) as Serde<unknown>,
      partitions: opts?.partitions,
    })
    return new GroupedStream<K, V>(this.topology, id)
  }

  /**
   * The low-level processor API: your own processor with declared stores and timers.
   * @example stream.process(() => new Deduplicate(), { name: 'dedupe', stores: [keyValueStore('seen')] })
   */
  process<K2, V2>(
    create: () => Processor<K, V, K2, V2>,
    opts: StepOptions & { stores?: readonly StoreSpec[]; sideOutputs?: readonly string[] },
  ): Stream<K2, V2> {
    const id = this.topology.id('process', opts.name)
    this.topology.add({
      kind: 'process',
      id,
      label: 'process',
      parents: [this.nodeId],
      errorPolicy: policyOf(opts.onError),
      // Timers are state too: they live in a store of their own, restored with the others.
      stores: [
        ...(opts.stores ?? []),
        { name: `${id}-timers`, kind: 'kv', keySerde: json(), valueSerde: json() },
      ],
      create: create as unknown as () => Processor<unknown, unknown, unknown, unknown>,
      sideOutputs: opts.sideOutputs ?? [],
    })
    return new Stream<K2, V2>(this.topology, id, true)
  }

  /**
   * An async function per record (a lookup, an enrichment), at most `concurrency` at a time.
   * Results keep input order unless `ordered: false`; a call past `timeout` fails the record.
   * @example orders.mapAsync(async o => ({ ...o, customer: await lookup(o.customerId) }), { concurrency: 16 })
   */
  mapAsync<V2>(
    fn: (value: V, record: StreamRecord<K, V>, signal: AbortSignal) => Promise<V2>,
    opts: StepOptions & { concurrency?: number; ordered?: boolean; timeoutMs?: number } = {},
  ): Stream<K, V2> {
    const id = this.topology.id('mapAsync', opts.name)
    this.topology.add({
      kind: 'async',
      id,
      label: 'mapAsync',
      parents: [this.nodeId],
      errorPolicy: policyOf(opts.onError),
      fn: async (r, signal) => [
        recordOf(r.key, await fn(r.value as V, r as StreamRecord<K, V>, signal), r.timestamp, r.headers, r),
      ],
      concurrency: opts.concurrency ?? 8,
      ordered: opts.ordered ?? true,
      timeoutMs: opts.timeoutMs ?? 30_000,
    })
    return new Stream<K, V2>(this.topology, id, this.keyChanged)
  }

  /**
   * Joins each record with the table's value for its key as of the record's event time; records
   * without a match are dropped. Against another stream, a windowed join: records of the same key
   * whose times are within the window.
   * @example payments.join(cardHolders, (p, holder) => ({ ...p, country: holder.country }))
   * @example clicks.join(views, (c, v) => ({ c, v }), { within: '5m', grace: '1m' })
   */
  join<VT, VR>(
    table: Table<K, VT>,
    joiner: (value: V, tableValue: VT, record: StreamRecord<K, V>) => VR,
    opts?: LookupJoinOptions,
  ): Stream<K, VR>
  join<VO, VR>(
    other: Stream<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    opts: WindowJoinOptions,
  ): WindowJoinedStream<K, VR, V, VO>
  join<KG, VG, VR>(
    global: GlobalTable<KG, VG>,
    keyOf: (value: V, record: StreamRecord<K, V>) => KG,
    joiner: (value: V, globalValue: VG, record: StreamRecord<K, V>) => VR,
    opts?: StepOptions,
  ): Stream<K, VR>
  join(
    right: Table<K, unknown> | Stream<K, unknown> | GlobalTable<unknown, unknown>,
    joiner: (a: never, b: never, c: never) => unknown,
    opts?: LookupJoinOptions | WindowJoinOptions | ((a: never, b: never, c: never) => unknown),
    globalOpts?: StepOptions,
  ): Stream<K, unknown> {
    return this.anyJoin('inner', right, joiner, opts, globalOpts)
  }

  /**
   * Like join, but a record without a match is kept, joined with null.
   * @example payments.leftJoin(cardHolders, (p, holder) => ({ ...p, country: holder?.country ?? 'unknown' }))
   */
  leftJoin<VT, VR>(
    table: Table<K, VT>,
    joiner: (value: V, tableValue: VT | null, record: StreamRecord<K, V>) => VR,
    opts?: LookupJoinOptions,
  ): Stream<K, VR>
  leftJoin<VO, VR>(
    other: Stream<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    opts: WindowJoinOptions,
  ): WindowJoinedStream<K, VR, V, VO>
  leftJoin<KG, VG, VR>(
    global: GlobalTable<KG, VG>,
    keyOf: (value: V, record: StreamRecord<K, V>) => KG,
    joiner: (value: V, globalValue: VG | null, record: StreamRecord<K, V>) => VR,
    opts?: StepOptions,
  ): Stream<K, VR>
  leftJoin(
    right: Table<K, unknown> | Stream<K, unknown> | GlobalTable<unknown, unknown>,
    joiner: (a: never, b: never, c: never) => unknown,
    opts?: LookupJoinOptions | WindowJoinOptions | ((a: never, b: never, c: never) => unknown),
    globalOpts?: StepOptions,
  ): Stream<K, unknown> {
    return this.anyJoin('left', right, joiner, opts, globalOpts)
  }

  /** join and leftJoin: the kind of join follows from what is on the right. */
  private anyJoin(
    type: 'inner' | 'left',
    right: Table<K, unknown> | Stream<K, unknown> | GlobalTable<unknown, unknown>,
    joiner: (a: never, b: never, c: never) => unknown,
    opts: LookupJoinOptions | WindowJoinOptions | ((a: never, b: never, c: never) => unknown) | undefined,
    globalOpts: StepOptions | undefined,
  ): Stream<K, unknown> {
    if (right instanceof GlobalTable)
      return this.globalJoin(type, right, joiner as never, opts as never, globalOpts)
    return right instanceof Table
      ? this.lookupJoin(type, right, joiner as never, opts as LookupJoinOptions | undefined)
      : this.windowJoin(type, right, joiner as never, opts as WindowJoinOptions)
  }

  /**
   * A windowed join that keeps records of both sides without a partner, joined with null, once
   * no partner can arrive any more.
   * @example orders.outerJoin(shipments, (o, s) => ({ o, s }), { within: '2d' })
   */
  outerJoin<VO, VR>(
    other: Stream<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    opts: WindowJoinOptions,
  ): WindowJoinedStream<K, VR, V, VO> {
    return this.windowJoin('outer', other, joiner as never, opts) as WindowJoinedStream<K, VR, V, VO>
  }

  /**
   * Joins each record with the other stream's latest record of the same key at or before its
   * time (an as-of join: a trade with the quote in force when it happened).
   * @example trades.asOfJoin(quotes, (t, q) => ({ ...t, bid: q.bid }), { maxLookback: '1m' })
   */
  asOfJoin<VO, VR>(
    other: Stream<K, VO>,
    joiner: (value: V, otherValue: VO, record: StreamRecord<K, V>) => VR,
    opts?: AsOfJoinOptions,
  ): Stream<K, VR> {
    return this.lookupJoin('inner', other, joiner as never, opts) as Stream<K, VR>
  }

  /**
   * An as-of join that keeps records without a match, joined with null.
   * @example trades.leftAsOfJoin(quotes, (t, q) => ({ ...t, bid: q?.bid ?? null }))
   */
  leftAsOfJoin<VO, VR>(
    other: Stream<K, VO>,
    joiner: (value: V, otherValue: VO | null, record: StreamRecord<K, V>) => VR,
    opts?: AsOfJoinOptions,
  ): Stream<K, VR> {
    return this.lookupJoin('left', other, joiner as never, opts) as Stream<K, VR>
  }

  private globalJoin(
    type: 'inner' | 'left',
    table: GlobalTable<unknown, unknown>,
    keyOf: (value: never, record: never) => unknown,
    joiner: (a: never, b: never, c: never) => unknown,
    opts: StepOptions | undefined,
  ): Stream<K, unknown> {
    const id = this.topology.id(type === 'inner' ? 'join' : 'leftJoin', opts?.name)
    this.topology.add({
      kind: 'process',
      id,
      label: `${type === 'inner' ? 'join' : 'leftJoin'} global table ${table.name}`,
      parents: [this.nodeId],
      errorPolicy: policyOf(opts?.onError),
      stores: [],
      create: () =>
        new GlobalJoinProcessor({
          type,
          table: table.name,
          keyOf: keyOf as (v: unknown, r: StreamRecord<unknown, unknown>) => unknown,
          joiner: joiner as (l: unknown, r: unknown, rec: StreamRecord<unknown, unknown>) => unknown,
        }),
      sideOutputs: [],
    })
    // The key stays: no repartition needed, whatever it is.
    return new Stream<K, unknown>(this.topology, id, this.keyChanged)
  }

  /** This stream, repartitioned by its key if the key was changed upstream (a join needs that). */
  private byKey(name: string): Stream<K, V> {
    if (!this.keyChanged) return this
    const grouped = this.repartition(name)
    return new Stream<K, V>(this.topology, grouped.nodeId, false)
  }

  private lookupJoin(
    type: 'inner' | 'left',
    right: Table<K, unknown> | Stream<K, unknown>,
    joiner: (left: unknown, right: unknown, record: unknown) => unknown,
    opts: (LookupJoinOptions & AsOfJoinOptions) | undefined,
  ): Stream<K, unknown> {
    const isTable = right instanceof Table
    const label = isTable
      ? `${type === 'inner' ? 'join' : 'leftJoin'}`
      : `${type === 'inner' ? 'asOfJoin' : 'leftAsOfJoin'}`
    const id = this.topology.id(label, opts?.name)
    const left = this.byKey(`${id}.left`)
    const rightNode = isTable ? right.nodeId : (right as Stream<K, unknown>).byKey(`${id}.right`).nodeId
    const graceMs = toMs(opts?.grace ?? 0, `grace of step ${id}`)
    const historyMs = toMs(opts?.history ?? Math.max(graceMs, 60_000), `history of step ${id}`)
    const maxLookbackMs =
      opts?.maxLookback === undefined ? undefined : toMs(opts.maxLookback, `maxLookback of step ${id}`)
    const versionsStore = `${id}-versions`
    const bufferStore = `${id}-buffer`
    const stores: StoreSpec[] = [{ name: versionsStore, kind: 'kv', keySerde: json(), valueSerde: json() }]
    if (graceMs > 0) stores.push({ name: bufferStore, kind: 'kv', keySerde: json(), valueSerde: json() })
    this.topology.add({
      kind: 'process',
      id,
      label: isTable ? `${label} table` : label,
      parents: [left.nodeId, rightNode],
      errorPolicy: policyOf(opts?.onError),
      stores,
      create: () =>
        new LookupJoinProcessor({
          type,
          graceMs,
          historyMs,
          maxLookbackMs,
          rightIsTable: isTable,
          joiner: joiner as (l: unknown, r: unknown, rec: StreamRecord<unknown, unknown>) => unknown,
          versionsStore,
          bufferStore,
        }),
      sideOutputs: [],
    })
    return new Stream<K, unknown>(this.topology, id, false)
  }

  private windowJoin(
    type: JoinType,
    other: Stream<K, unknown>,
    joiner: (left: unknown, right: unknown, key: unknown) => unknown,
    opts: WindowJoinOptions,
  ): WindowJoinedStream<K, unknown, V, unknown> {
    const id = this.topology.id(`${type}Join`, opts.name)
    const within = opts.within === undefined ? undefined : toMs(opts.within, `within of step ${id}`)
    const beforeMs = opts.before !== undefined ? toMs(opts.before, `before of step ${id}`) : within
    const afterMs = opts.after !== undefined ? toMs(opts.after, `after of step ${id}`) : within
    if (beforeMs === undefined || afterMs === undefined || beforeMs < 0 || afterMs < 0) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `the stream–stream join ${id} needs a window: { within: '5m' } or { before: '1m', after: '5m' }, each >= 0`,
      )
    }
    const left = this.byKey(`${id}.left`)
    const right = other.byKey(`${id}.right`)
    const leftStore = `${id}-left`
    const rightStore = `${id}-right`
    this.topology.add({
      kind: 'process',
      id,
      label: `${type} join (stream–stream)`,
      parents: [left.nodeId, right.nodeId],
      errorPolicy: policyOf(opts.onError),
      stores: [
        { name: leftStore, kind: 'window', keySerde: json(), valueSerde: json() },
        { name: rightStore, kind: 'window', keySerde: json(), valueSerde: json() },
      ],
      create: () =>
        new WindowJoinProcessor({
          type,
          beforeMs,
          afterMs,
          graceMs: toMs(opts.grace ?? 0, `grace of step ${id}`),
          joiner,
          leftStore,
          rightStore,
        }),
      sideOutputs: [LATE_LEFT_OUTPUT, LATE_RIGHT_OUTPUT],
    })
    return new WindowJoinedStream<K, unknown, V, unknown>(this.topology, id, false)
  }

  /**
   * Writes the stream to a topic. `onError` applies to a record that cannot be serialized or
   * written (say, one past limits.recordBytesMax), as Kafka Streams' production exception handler.
   * @example alerts.to('alerts')
   */
  to(
    topic: string,
    opts?: { name?: string; keySerde?: Serde<K>; valueSerde?: Serde<V>; onError?: OnError },
  ): void {
    const id =
      opts?.name !== undefined
        ? this.topology.id('to', opts.name)
        : this.topology.id('to', `to-${topic}`, true)
    this.topology.add({
      kind: 'sink',
      id,
      label: 'to',
      parents: [this.nodeId],
      errorPolicy: policyOf(opts?.onError),
      target: {
        type: 'topic',
        topic,
        keySerde: (opts?.keySerde ?? defaultKeySerde<K>()) as Serde<unknown>,
        valueSerde: (opts?.valueSerde ?? json<V>()) as Serde<unknown>,
      },
    })
  }

  /**
   * Calls a function for each record (a sink of your own).
   * @example alerts.forEach(a => notify(a))
   */
  forEach(fn: (value: V, record: StreamRecord<K, V>) => void, opts?: StepOptions): void {
    const id = this.topology.id('forEach', opts?.name)
    this.topology.add({
      kind: 'sink',
      id,
      label: 'forEach',
      parents: [this.nodeId],
      errorPolicy: policyOf(opts?.onError),
      target: { type: 'fn', fn: (r) => fn(r.value as V, r as StreamRecord<K, V>) },
    })
  }

  /**
   * Prints each record to stdout, one JSON line: `{ key, value, timestamp }`.
   * @example counts.print()
   */
  print(opts?: { name?: string; label?: string }): void {
    const id = this.topology.id('print', opts?.name)
    const prefix = opts?.label ? `${opts.label}: ` : ''
    this.topology.add({
      kind: 'sink',
      id,
      label: 'print',
      parents: [this.nodeId],
      errorPolicy: { kind: 'fail' },
      target: {
        type: 'stdout',
        format: (r) => `${prefix}${JSON.stringify({ key: r.key, value: r.value, timestamp: r.timestamp })}`,
      },
    })
  }
}

/** A stream grouped by key: aggregate it, or window it first. */
/**
 * The result of a stream–stream join, with the records that came too late to join: a record is
 * late when every partner it could have had (within the window, plus grace) has been let go.
 * As Flink's interval join's late-data side outputs; Kafka Streams drops them.
 */
export class WindowJoinedStream<K, VR, VL, VO> extends Stream<K, VR> {
  private readonly lateSides: [Stream<K, VL> | null, Stream<K, VO> | null] = [null, null]

  /**
   * This join's left-side records that came too late to join.
   * @example const matched = orders.join(shipments, pair, { within: '2d' }); matched.lateLeft().to('late-orders')
   */
  lateLeft(): Stream<K, VL> {
    if (this.lateSides[0] === null) this.lateSides[0] = this.lateSide<VL>(LATE_LEFT_OUTPUT, 'lateLeft')
    return this.lateSides[0]
  }

  /** This join's right-side records that came too late to join. */
  lateRight(): Stream<K, VO> {
    if (this.lateSides[1] === null) this.lateSides[1] = this.lateSide<VO>(LATE_RIGHT_OUTPUT, 'lateRight')
    return this.lateSides[1]
  }

  private lateSide<T>(output: string, name: string): Stream<K, T> {
    const id = this.topology.id(name, `${this.nodeId}.${name}`)
    this.topology.add({
      kind: 'side',
      id,
      label: `late records (${name === 'lateLeft' ? 'left' : 'right'})`,
      parents: [this.nodeId],
      errorPolicy: { kind: 'fail' },
      output,
    })
    // Each side's records keep the key the join read them by.
    return new Stream<K, T>(this.topology, id, false)
  }
}

export class GroupedStream<K, V> {
  /** @internal */
  constructor(
    readonly topology: Topology,
    readonly nodeId: string,
  ) {}

  /**
   * Aggregates per key into a table that updates with each record.
   * @example payments.groupBy(p => p.cardId).aggregate({ n: count(), total: sum(p => p.amount) })
   */
  aggregate<S extends AggregatorsOf<V>, R = never, A = unknown>(
    spec: S | Aggregator<V, A, R>,
    opts?: StepOptions & {
      /** Forget a key's aggregate when it was not updated for this long (wall-clock time). */
      ttl?: Duration
    },
  ): Table<K, AggregateResult<S, R>> {
    const agg = combine(spec as AggregatorSpec<V>)
    const id = this.topology.id('aggregate', opts?.name)
    const store = `${id}-store`
    this.topology.add({
      kind: 'process',
      id,
      label: `aggregate(${agg.kind})`,
      parents: [this.nodeId],
      errorPolicy: policyOf(opts?.onError),
      stores: [
        {
          name: store,
          kind: 'kv',
          keySerde: json(),
          valueSerde: json(),
          ttlMs: opts?.ttl === undefined ? undefined : toMs(opts.ttl, `ttl of step ${id}`),
          view: aggregateView(agg),
        },
      ],
      create: () =>
        new KeyedAggregateProcessor(agg, store) as unknown as Processor<unknown, unknown, unknown, unknown>,
      sideOutputs: [],
    })
    return new Table<K, AggregateResult<S, R>>(this.topology, id, false, store)
  }

  /**
   * Counts per key.
   * @example clicks.groupBy(c => c.page).count()
   */
  count(opts?: StepOptions): Table<K, number> {
    return this.aggregate(
      {
        kind: 'count',
        init: () => 0,
        add: (a: number) => a + 1,
        merge: (a: number, b: number) => a + b,
        result: (a: number) => a,
      },
      opts,
    ) as Table<K, number>
  }

  /**
   * Groups records into windows of event time.
   * @example payments.groupBy(p => p.cardId).window(tumbling({ size: '1m' }))
   */
  window(spec: WindowSpec): WindowedStream<K, V> {
    return new WindowedStream<K, V>(this.topology, this.nodeId, spec)
  }
}

export class WindowedStream<K, V> {
  /** @internal */
  constructor(
    readonly topology: Topology,
    readonly nodeId: string,
    readonly spec: WindowSpec,
  ) {}

  /**
   * Aggregates each key's records per window; choose `.final()` or `.current()` after.
   * @example .window(tumbling({ size: '1m' })).aggregate(count()).final()
   */
  aggregate<S extends AggregatorsOf<V>, R = never, A = unknown>(
    spec: S | Aggregator<V, A, R>,
    opts?: StepOptions,
  ): WindowedAggregation<K, V, AggregateResult<S, R>> {
    return new WindowedAggregation<K, V, AggregateResult<S, R>>(
      this,
      combine(spec as AggregatorSpec<V>),
      opts,
    )
  }

  /**
   * Counts each key's records per window.
   * @example .window(session({ gap: '30m' })).count().final()
   */
  count(opts?: StepOptions): WindowedAggregation<K, V, number> {
    return new WindowedAggregation<K, V, number>(
      this,
      {
        kind: 'count',
        init: () => 0,
        add: (a) => (a as number) + 1,
        merge: (a, b) => (a as number) + (b as number),
        result: (a) => a as number,
      },
      opts,
    )
  }
}

/** A windowed aggregation waiting for its emit mode. */
export class WindowedAggregation<K, V, R> {
  private late: Stream<K, V> | null = null
  private nodeId: string | null = null
  private emitMode: EmitMode | null = null

  /** @internal */
  constructor(
    private readonly windowed: WindowedStream<K, V>,
    private readonly agg: ReturnType<typeof combine<V>>,
    private readonly opts: StepOptions | undefined,
  ) {}

  private build(emit: EmitMode): string {
    if (this.nodeId !== null) {
      if (this.emitMode !== emit) {
        throw new EddyError(
          'INVALID_ARGUMENT',
          'a windowed aggregation has one emit mode: call .final() or .current(), not both',
        )
      }
      return this.nodeId
    }
    const { topology, nodeId: parent, spec } = this.windowed
    const id = topology.id(`window-${spec.type}`, this.opts?.name)
    const storeName = `${id}-store`
    const agg = this.agg
    const create = (): Processor<unknown, unknown, unknown, unknown> => {
      if (spec.type === 'session') return new SessionWindowProcessor(spec, agg, emit, storeName) as never
      if (spec.type === 'sliding') return new SlidingWindowProcessor(spec, agg, emit, storeName) as never
      return new TimeWindowProcessor(spec, agg, emit, storeName) as never
    }
    topology.add({
      kind: 'process',
      id,
      label: `${spec.type} window ${agg.kind} (${emit})`,
      parents: [parent],
      errorPolicy: policyOf(this.opts?.onError),
      stores: [
        {
          name: storeName,
          kind: spec.type === 'sliding' ? 'kv' : 'window',
          keySerde: json(),
          valueSerde: json(),
          view: windowStoreView(spec, agg),
        },
      ],
      create,
      sideOutputs: [LATE_OUTPUT],
    })
    this.nodeId = id
    this.emitMode = emit
    return id
  }

  /** The store holding the open windows, for interactive queries (null before final() or current()). */
  get storeName(): string | null {
    return this.nodeId === null ? null : `${this.nodeId}-store`
  }

  /**
   * Emits each window's result once, when it closes (its end plus grace has passed).
   * @example .aggregate(count()).final().to('counts')
   */
  final(): Stream<K, WindowResult<K, R>> {
    return new Stream<K, WindowResult<K, R>>(this.windowed.topology, this.build('final'), true)
  }

  /**
   * Emits the window's result after every record that changes it.
   * @example .aggregate(count()).current().filter(c => c.value >= 5)
   */
  current(): Stream<K, WindowResult<K, R>> {
    return new Stream<K, WindowResult<K, R>>(this.windowed.topology, this.build('current'), true)
  }

  /**
   * Records that arrived after all their windows closed. Call after final() or current().
   * @example const counts = agg.final(); agg.lateRecords().to('late-clicks')
   */
  lateRecords(): Stream<K, V> {
    if (this.nodeId === null)
      throw new EddyError('INVALID_ARGUMENT', 'call .final() or .current() before .lateRecords()')
    if (this.late === null) {
      const topology = this.windowed.topology
      const id = topology.id('late', `${this.nodeId}.late`)
      topology.add({
        kind: 'side',
        id,
        label: 'late records',
        parents: [this.nodeId],
        errorPolicy: { kind: 'fail' },
        output: LATE_OUTPUT,
      })
      this.late = new Stream<K, V>(topology, id, true)
    }
    return this.late
  }
}

/** The latest value per key; its changes are a stream. */
// `out` (covariant): without it a Table<K, number | null> type-checked as a Table<K, number>.
export class Table<out K, out V> {
  /** @internal */
  constructor(
    readonly topology: Topology,
    readonly nodeId: string,
    /** True when its changes include deletes (records with a null value). */
    private readonly deletes = false,
    /** The store that holds it, for interactive reads. */
    readonly storeName: string | null = null,
  ) {}

  /**
   * The table's updates: a record per change, with the key and the new value (deletes left out;
   * `changes()` has them).
   * @example counts.toStream().to('page-counts')
   */
  toStream(): Stream<K, V> {
    if (!this.deletes) return new Stream<K, V>(this.topology, this.nodeId, true)
    return this.changes().filter((v): v is V => v !== null)
  }

  /**
   * Every change, deletes included as a null value (what a compacted topic holds).
   * @example holders.changes().to('holders-copy')
   */
  changes(): Stream<K, V | null> {
    return new Stream<K, V | null>(this.topology, this.nodeId, true)
  }

  /**
   * Writes every change to a topic, deletes as tombstones: a compacted topic then holds the table.
   * @example totals.to('totals')
   */
  to(
    topic: string,
    opts?: { name?: string; keySerde?: Serde<K>; valueSerde?: Serde<V>; onError?: OnError },
  ): void {
    this.changes().to(
      topic,
      opts as { name?: string; keySerde?: Serde<K>; valueSerde?: Serde<V | null>; onError?: OnError },
    )
  }

  /**
   * The table of keys in both tables, joined; it changes when either side does.
   * @example orders.join(customers, (o, c) => ({ ...o, customer: c.name }))
   */
  join<VO, VR>(
    other: Table<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    opts?: StepOptions,
  ): Table<K, VR> {
    return this.tableJoin('inner', other, joiner as never, opts) as Table<K, VR>
  }

  /**
   * Every key of this table, joined with the other's value or null.
   * @example orders.leftJoin(discounts, (o, d) => ({ ...o, discount: d?.pct ?? 0 }))
   */
  leftJoin<VO, VR>(
    other: Table<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    opts?: StepOptions,
  ): Table<K, VR> {
    return this.tableJoin('left', other, joiner as never, opts) as Table<K, VR>
  }

  /**
   * Every key of either table, joined with the other's value or null.
   * @example stock.outerJoin(prices, (s, p) => ({ units: s?.units ?? 0, price: p?.price ?? null }))
   */
  outerJoin<VO, VR>(
    other: Table<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    opts?: StepOptions,
  ): Table<K, VR> {
    return this.tableJoin('outer', other, joiner as never, opts) as Table<K, VR>
  }

  /**
   * Joins each row with the other table's row for a foreign key taken from its value (an order
   * with its customer): the result is keyed like this table and changes when either row does.
   * The tables need not be co-partitioned.
   * @example orders.foreignKeyJoin(customers, o => o.customerId, (o, c) => ({ ...o, customer: c.name }))
   */
  foreignKeyJoin<KO, VO, VR>(
    other: Table<KO, VO>,
    foreignKeyOf: (value: V) => KO,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    opts?: StepOptions,
  ): Table<K, VR> {
    return this.fkJoin('inner', other, foreignKeyOf as never, joiner as never, opts) as Table<K, VR>
  }

  /**
   * Like foreignKeyJoin, but every row of this table is kept, joined with null when the foreign
   * key has no row.
   * @example orders.leftForeignKeyJoin(customers, o => o.customerId, (o, c) => ({ ...o, customer: c?.name ?? null }))
   */
  leftForeignKeyJoin<KO, VO, VR>(
    other: Table<KO, VO>,
    foreignKeyOf: (value: V) => KO,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    opts?: StepOptions,
  ): Table<K, VR> {
    return this.fkJoin('left', other, foreignKeyOf as never, joiner as never, opts) as Table<K, VR>
  }

  private fkJoin(
    type: 'inner' | 'left',
    other: Table<unknown, unknown>,
    foreignKeyOf: (value: unknown) => unknown,
    joiner: (left: unknown, right: unknown, key: unknown) => unknown,
    opts: StepOptions | undefined,
  ): Table<K, unknown> {
    const t = this.topology
    const id = t.id(type === 'inner' ? 'foreignKeyJoin' : 'leftForeignKeyJoin', opts?.name)
    const policy = policyOf(opts?.onError)
    const leftStore = `${id}-left`
    const subscribersStore = `${id}-subscribers`
    const rightStore = `${id}-right`
    const kv = (name: string): StoreSpec => ({ name, kind: 'kv', keySerde: json(), valueSerde: json() })
    t.add({
      kind: 'process',
      id: `${id}.subscribe`,
      label: 'foreign-key join: subscribe',
      parents: [this.nodeId],
      errorPolicy: policy,
      stores: [kv(leftStore)],
      create: () => new ForeignKeyLeftProcessor(leftStore, foreignKeyOf),
      sideOutputs: [],
    })
    const internalTopic = (name: string, timed: boolean, parent: string) =>
      t.add({
        kind: 'repartition',
        id: `${id}.${name}`,
        label: 'repartition',
        parents: [parent],
        errorPolicy: { kind: 'fail' },
        topic: `${id}-${name}`,
        keySerde: internalKeySerde(),
        valueSerde: json(),
        timed,
      })
    internalTopic('subscriptions', true, `${id}.subscribe`)
    t.add({
      kind: 'process',
      id: `${id}.respond`,
      label: 'foreign-key join: respond',
      parents: [`${id}.subscriptions`, other.nodeId],
      errorPolicy: policy,
      stores: [kv(subscribersStore), kv(rightStore)],
      create: () => new ForeignKeyRightProcessor(subscribersStore, rightStore),
      sideOutputs: [],
    })
    // Responses go back to the left side's tasks: a loop in time, so they carry no event time.
    internalTopic('responses', false, `${id}.respond`)
    t.add({
      kind: 'process',
      id,
      label: `${type} foreign-key join`,
      parents: [`${id}.responses`],
      errorPolicy: policy,
      stores: [],
      sharedStores: [leftStore],
      create: () => new ForeignKeyResolveProcessor(leftStore, type, joiner),
      sideOutputs: [],
    })
    return new Table<K, unknown>(t, id, true)
  }

  private tableJoin(
    type: JoinType,
    other: Table<K, unknown>,
    joiner: (left: unknown, right: unknown, key: unknown) => unknown,
    opts: StepOptions | undefined,
  ): Table<K, unknown> {
    const id = this.topology.id(`table-${type}Join`, opts?.name)
    const leftStore = `${id}-left`
    const rightStore = `${id}-right`
    this.topology.add({
      kind: 'process',
      id,
      label: `${type} join (table–table)`,
      parents: [this.nodeId, other.nodeId],
      errorPolicy: policyOf(opts?.onError),
      stores: [
        { name: leftStore, kind: 'kv', keySerde: json(), valueSerde: json() },
        { name: rightStore, kind: 'kv', keySerde: json(), valueSerde: json() },
      ],
      create: () => new TableJoinProcessor({ type, joiner, leftStore, rightStore }),
      sideOutputs: [],
    })
    return new Table<K, unknown>(this.topology, id, true)
  }
}

/** A table every task holds whole; streams join it by a key they compute. */
export class GlobalTable<in out K, out V> {
  /** @internal */
  constructor(
    readonly topology: Topology,
    readonly name: string,
  ) {}

  /** @internal Keeps K and V in the type (a global table has no change stream). */
  protected readonly phantom?: (k: K) => V
}
