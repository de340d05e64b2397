// TestDriver: runs a pipeline synchronously, in memory, with simulated wall-clock time. It drives
// the same TaskExecutor as the runtime (one task per partition of each sub-topology, records
// moved between sub-topologies through in-memory repartition topics), so results match.
import { EddyError } from '../core/errors.js'
import { partitionForKey } from '../core/murmur2.js'
import type { LogRecord, RecordHeader } from '../core/record.js'
import { type Encoded, encodedBytes, type Serde } from '../core/serde.js'
import type { KeyValueStore, StoreSpec, WindowStore } from '../core/store.js'
import type { Topology } from '../dsl/stream.js'
import { type Plan, type SubTopology, sizeTopics } from '../plan/plan.js'
import { GlobalTables } from '../runtime/global-tables.js'
import { addStepCounters, type StepCounters, TaskExecutor } from '../runtime/task-executor.js'
import { MemoryKeyValueStore, MemoryWindowStore } from '../state/memory-stores.js'

export interface TestDriverOptions {
  /** Partitions per input topic (default 1). */
  readonly partitions?: Readonly<Record<string, number>>
  /** How late a record may be and still be on time (default 0). */
  readonly outOfOrdernessMs?: number
  /** Let event time follow the wall clock when every input is idle (default false). */
  readonly advanceWithWallClock?: boolean
  /** An input partition without records for this long stops holding event time back. */
  readonly idleTimeoutMs?: number
  /** The simulated wall clock's start (default 0). */
  readonly startTimeMs?: number
}

export interface PipeOptions<K> {
  readonly key?: K
  readonly timestamp?: number
  readonly headers?: readonly RecordHeader[]
  readonly partition?: number
}

export interface OutputRecord<K, V> {
  readonly key: K
  readonly value: V
  readonly timestamp: number
  readonly headers: readonly RecordHeader[]
  readonly partition: number
}

interface Task {
  readonly sub: SubTopology
  readonly partition: number
  readonly executor: TaskExecutor
  readonly stores: Map<string, KeyValueStore<unknown, unknown> | WindowStore<unknown, unknown>>
}

const APP_ID = 'test'

export class TestDriver {
  readonly plan: Plan
  private wallClockMs: number
  private readonly tasks: Task[] = []
  private readonly partitionsOf = new Map<string, number>()
  private readonly outputs = new Map<string, LogRecord[]>()
  private readonly offsets = new Map<string, number>()
  private readonly queue: LogRecord[] = []
  private readonly stdoutLines: string[] = []
  private readonly sinkSerdes = new Map<string, { key: Serde<unknown>; value: Serde<unknown> }>()
  private readonly sourceSerdes = new Map<string, { key: Serde<unknown>; value: Serde<unknown> }>()
  private draining = false
  private readonly globals: GlobalTables

  constructor(pipeline: Topology | Plan, opts: TestDriverOptions = {}) {
    this.plan = 'plan' in pipeline ? pipeline.plan() : pipeline
    this.wallClockMs = opts.startTimeMs ?? 0
    this.globals = new GlobalTables(this.plan.globalTables)
    for (const g of this.plan.globalTables) {
      this.partitionsOf.set(g.topic, opts.partitions?.[g.topic] ?? 1)
      this.sourceSerdes.set(g.topic, { key: g.keySerde, value: g.valueSerde })
    }
    const internal = (name: string) => `${APP_ID}-${name}`
    for (const node of this.plan.nodes.values()) {
      if (node.kind === 'source') {
        for (const t of node.topics) {
          this.partitionsOf.set(t, opts.partitions?.[t] ?? 1)
          this.sourceSerdes.set(t, { key: node.keySerde, value: node.valueSerde })
        }
      }
      if (node.kind === 'sink' && node.target.type === 'topic') {
        this.sinkSerdes.set(node.target.topic, { key: node.target.keySerde, value: node.target.valueSerde })
      }
    }
    const subs = this.plan.subTopologies()
    // Sized as the runtime sizes them (and co-partitioning checked the same way).
    const sizing = sizeTopics(
      this.plan,
      subs,
      (t) => this.partitionsOf.get(t) ?? 1,
      (r) => internal(r.topic),
    )
    for (const [rid, n] of sizing.repartitions) {
      const node = this.plan.node(rid)
      if (node.kind === 'repartition') this.partitionsOf.set(internal(node.topic), n)
    }
    for (const sub of subs) {
      const partitions = sizing.tasks.get(sub.index)!
      for (let p = 0; p < partitions; p++)
        this.tasks.push(this.createTask(sub, p, partitions, internal, opts))
    }
    for (const t of this.tasks) t.executor.init()
  }

  private createTask(
    sub: SubTopology,
    partition: number,
    taskCount: number,
    internal: (n: string) => string,
    opts: TestDriverOptions,
  ): Task {
    const stores = new Map<string, KeyValueStore<unknown, unknown> | WindowStore<unknown, unknown>>()
    const executor = new TaskExecutor(
      this.plan,
      sub,
      {
        keyValueStore: (spec: StoreSpec) => {
          const s = new MemoryKeyValueStore<unknown, unknown>(
            spec.name,
            spec.ttlMs,
            () => this.wallClockMs,
            spec.keySerde,
          )
          stores.set(spec.name, s)
          return s
        },
        windowStore: (spec: StoreSpec) => {
          const s = new MemoryWindowStore<unknown, unknown>(spec.name)
          stores.set(spec.name, s)
          return s
        },
      },
      {
        send: (topic, key, value, timestamp, headers, p) =>
          this.send(topic, key, value, timestamp, headers, p),
        stdout: (line) => this.stdoutLines.push(line),
        partitionsOf: (topic) => this.partitionsOf.get(topic) ?? 1,
      },
      {
        outOfOrdernessMs: opts.outOfOrdernessMs ?? 0,
        advanceWithWallClock: opts.advanceWithWallClock ?? false,
        idleTimeoutMs: opts.idleTimeoutMs ?? Number.POSITIVE_INFINITY,
        internalTopic: internal,
        wallClockMs: () => this.wallClockMs,
        taskIndex: partition,
        taskCount,
        globalTable: (name) => this.globals.table(name),
      },
    )
    return { sub, partition, executor, stores }
  }

  private nextOffset(topic: string, partition: number): number {
    const k = `${topic}\u0000${partition}`
    const o = this.offsets.get(k) ?? 0
    this.offsets.set(k, o + 1)
    return o
  }

  private send(
    topic: string,
    encodedKey: Encoded,
    encodedValue: Encoded,
    timestamp: number,
    headers: readonly RecordHeader[],
    explicitPartition?: number,
  ): void {
    const key = encodedBytes(encodedKey)
    const value = encodedBytes(encodedValue)
    const partitions = this.partitionsOf.get(topic) ?? 1
    const partition = explicitPartition ?? (key === null ? 0 : partitionForKey(key, partitions))
    const record: LogRecord = {
      topic,
      partition,
      offset: this.nextOffset(topic, partition),
      timestamp,
      key,
      value,
      headers,
    }
    const list = this.outputs.get(topic) ?? []
    list.push(record)
    this.outputs.set(topic, list)
    if (
      this.tasks.some((t) => t.executor.inputTopics().includes(topic)) ||
      this.plan.globalTables.some((g) => g.topic === topic)
    )
      this.queue.push(record)
  }

  /**
   * Sends a record into an input topic, serialized with the source's serdes, and processes it
   * (and everything it leads to) before returning.
   */
  pipe<V, K = string | null>(topic: string, value: V, opts: PipeOptions<K> = {}): this {
    const serdes = this.sourceSerdes.get(topic)
    if (serdes === undefined) {
      throw new EddyError(
        'UNKNOWN_TOPIC',
        `the pipeline does not read topic ${topic}: pipe into one of ${[...this.sourceSerdes.keys()].join(', ')}`,
      )
    }
    const key = opts.key === undefined ? null : serdes.key.serialize(opts.key)
    return this.pipeRaw(topic, {
      key,
      value: serdes.value.serialize(value),
      timestamp: opts.timestamp,
      headers: opts.headers,
      partition: opts.partition,
    })
  }

  /** Sends raw bytes into an input topic (malformed input, for instance). */
  pipeRaw(
    topic: string,
    r: {
      key?: Buffer | null
      value: Buffer | null
      timestamp?: number
      headers?: readonly RecordHeader[]
      partition?: number
    },
  ): this {
    const partitions = this.partitionsOf.get(topic) ?? 1
    const key = r.key ?? null
    const partition = r.partition ?? (key === null ? 0 : partitionForKey(key, partitions))
    if (partition < 0 || partition >= partitions) {
      throw new EddyError(
        'UNKNOWN_PARTITION',
        `topic ${topic} has ${partitions} partition(s) in this driver; partition ${partition} does not exist`,
      )
    }
    this.queue.push({
      topic,
      partition,
      offset: this.nextOffset(topic, partition),
      timestamp: r.timestamp ?? this.wallClockMs,
      key,
      value: r.value,
      headers: r.headers ?? [],
    })
    this.drain()
    return this
  }

  private drain(): void {
    if (this.draining) return
    this.draining = true
    try {
      // Like the runtime after each batch: upstream tasks tell downstream ones their event time.
      for (;;) {
        for (let rec = this.queue.shift(); rec !== undefined; rec = this.queue.shift()) {
          this.globals.apply(rec)
          for (const t of this.tasks) {
            if (t.partition === rec.partition && t.executor.inputTopics().includes(rec.topic))
              t.executor.process(rec)
          }
        }
        for (const t of this.tasks) {
          t.executor.stampSourceActivity()
          t.executor.emitWatermarks()
        }
        if (this.queue.length === 0) break
      }
    } finally {
      this.draining = false
    }
  }

  /**
   * Waits until every async step (mapAsync) has emitted its results, and processes what they
   * lead to. Rejects with the error of a step whose policy is `fail`.
   */
  async settle(): Promise<this> {
    for (;;) {
      await Promise.all(this.tasks.map((t) => t.executor.settle()))
      this.drain()
      if (this.tasks.every((t) => t.executor.pendingAsync() === 0)) return this
    }
  }

  /** Moves the simulated wall clock: processing-time timers fire, idle inputs release time. */
  advanceWallClock(ms: number): this {
    this.wallClockMs += ms
    for (const t of this.tasks) {
      t.executor.tick()
      for (const store of t.stores.values()) if (store instanceof MemoryKeyValueStore) store.sweepExpired()
    }
    this.drain()
    return this
  }

  get wallClock(): number {
    return this.wallClockMs
  }

  /** Records written to `topic` so far, deserialized with the sink's serdes (or `serdes`). */
  output<V = unknown, K = unknown>(
    topic: string,
    serdes?: { key?: Serde<K>; value?: Serde<V> },
  ): OutputRecord<K, V>[] {
    const known = this.sinkSerdes.get(topic)
    const keySerde = (serdes?.key ?? known?.key) as Serde<K> | undefined
    const valueSerde = (serdes?.value ?? known?.value) as Serde<V> | undefined
    return (this.outputs.get(topic) ?? []).map((r) => ({
      key: keySerde ? keySerde.deserialize(r.key) : (r.key as K),
      value: valueSerde ? valueSerde.deserialize(r.value) : (r.value as V),
      timestamp: r.timestamp,
      headers: r.headers,
      partition: r.partition,
    }))
  }

  /** The values written to `topic`, in order. */
  values<V = unknown>(topic: string): V[] {
    return this.output<V>(topic).map((r) => r.value)
  }

  /** Raw records written to `topic` (dead letters keep the source's bytes). */
  rawOutput(topic: string): readonly LogRecord[] {
    return this.outputs.get(topic) ?? []
  }

  /** Lines printed by `.print()` sinks. */
  get stdout(): readonly string[] {
    return this.stdoutLines
  }

  /** Entries of a key-value store, over every task. */
  keyValueStore<K = unknown, V = unknown>(name: string): [K, V][] {
    const out: [K, V][] = []
    for (const s of this.storesNamed(name)) {
      if ('windowsOf' in s)
        throw new EddyError('INVALID_ARGUMENT', `store ${name} is a window store: use windowStore()`)
      for (const e of s.entries()) out.push(e as [K, V])
    }
    return out
  }

  /** Entries of a window store, over every task: [key, window start, value]. */
  windowStore<K = unknown, V = unknown>(name: string): [K, number, V][] {
    const out: [K, number, V][] = []
    for (const s of this.storesNamed(name)) {
      if (!('windowsOf' in s))
        throw new EddyError('INVALID_ARGUMENT', `store ${name} is a key-value store: use keyValueStore()`)
      for (const e of s.entries()) out.push(e as [K, number, V])
    }
    return out
  }

  private storesNamed(name: string): (KeyValueStore<unknown, unknown> | WindowStore<unknown, unknown>)[] {
    const found = this.tasks.map((t) => t.stores.get(name)).filter((s) => s !== undefined)
    if (found.length === 0) {
      const all = new Set(this.tasks.flatMap((t) => [...t.stores.keys()]))
      throw new EddyError(
        'INVALID_ARGUMENT',
        `no store ${name}: the pipeline has ${[...all].join(', ') || 'none'}`,
      )
    }
    return found
  }

  /** The smallest watermark over the tasks that read `topic` (or over all tasks). */
  watermark(topic?: string): number {
    const tasks =
      topic === undefined ? this.tasks : this.tasks.filter((t) => t.executor.inputTopics().includes(topic))
    return Math.min(...tasks.map((t) => t.executor.watermark))
  }

  /** Records in and out, errors and dead letters, per step, summed over tasks. */
  metrics(): Map<string, StepCounters> {
    const out = new Map<string, StepCounters>()
    for (const t of this.tasks) {
      for (const [id, c] of t.executor.counters) addStepCounters(out, id, c)
    }
    return out
  }
}
