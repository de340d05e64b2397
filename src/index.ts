// Eddy's public API.

import * as fs from 'node:fs'
import * as path from 'node:path'
import { systemClock } from './core/clock.js'
import { EddyError } from './core/errors.js'
import type { ReadOnlyKeyValueStore, ReadOnlyStore, ReadOnlyWindowStore } from './core/store.js'
import { GlobalTable, type Table, Topology, type WindowedAggregation } from './dsl/stream.js'
import { DataDirLock } from './log/data-dir-lock.js'
import { EventLog } from './log/event-log.js'
import { EddyMetrics } from './observe/metrics.js'
import { AppRunner, type ProcessingGuarantee, type RunnerStatus } from './runtime/app-runner.js'
import {
  type QueryableTask,
  type QuerySource,
  type StoreDescription,
  StoreQueries,
} from './runtime/store-queries.js'
import { MetricsServer } from './server/metrics-server.js'
import { localTaskIds } from './state/lmdb-env.js'
import { type RestoreProgress, taskStateFactory } from './state/task-state.js'
import { EmbeddedTransport } from './transport/embedded.js'
import { KafkaTransport, type KafkaTransportOptions } from './transport/kafka.js'
import type { Transport } from './transport/transport.js'
// Registers the gzip/snappy/lz4/zstd decompressor with core, so the embedded log reads the
// compressed batches Kafka clients produce (see protocol/compression.ts).
import './protocol/compression.js'

export { Broker, type BrokerLimits, type BrokerLogger, type BrokerOptions } from './broker/broker.js'
export { type Clock, ManualClock, systemClock } from './core/clock.js'
export type { Duration } from './core/duration.js'
export { EddyError, type EddyErrorCode, isEddyError } from './core/errors.js'
export { limits } from './core/limits.js'
export { partitionForKey } from './core/murmur2.js'
export type { LogRecord, RecordHeader, RecordInput } from './core/record.js'
export { bytes, json, type Serde, string } from './core/serde.js'
export type {
  KeyValueStore,
  ReadOnlyKeyValueStore,
  ReadOnlyStore,
  ReadOnlyWindowStore,
  StoreSpec,
  WindowEntry,
  WindowStore,
} from './core/store.js'
export type { StreamRecord } from './core/stream-record.js'
export { type Aggregator, aggregate, avg, count, max, min, reduce, sum } from './dsl/aggregators.js'
export { keyValueStore, type StoreOptions, windowStore } from './dsl/stores.js'
export {
  type AsOfJoinOptions,
  GlobalTable,
  GroupedStream,
  type KeyValue,
  type LookupJoinOptions,
  type OnError,
  type StepOptions,
  Stream,
  Table,
  Topology,
  WindowedAggregation,
  WindowedStream,
  WindowJoinedStream,
  type WindowJoinOptions,
} from './dsl/stream.js'
export { hopping, session, sliding, tumbling, type WindowResult, type WindowSpec } from './dsl/windows.js'
export { defaultTopicConfig, EventLog } from './log/event-log.js'
export type { CommittedOffset, GroupOffsetStore, OffsetCommitInput } from './log/group-offsets.js'
export type { Producer, ProducerOptions } from './log/producer.js'
export type { TransactionCoordinator, TransactionDescription, TransactionState } from './log/transactions.js'
export type {
  AbortedTransaction,
  AppendResult,
  FetchOptions,
  FetchResult,
  FsyncPolicy,
  IsolationLevel,
  LogOptions,
  PartitionDescription,
  TopicConfig,
  TopicDescription,
  TopicPartition,
} from './log/types.js'
export { Plan } from './plan/plan.js'
export type { GlobalTableView, Processor, ProcessorContext, Timer } from './plan/processor.js'
export { describePlan, planToMermaid } from './plan/render.js'
export type { ProcessingGuarantee, RunnerStatus } from './runtime/app-runner.js'
export type { StoreDescription } from './runtime/store-queries.js'
export { ProcessingError } from './runtime/task-executor.js'
export type { RestoreProgress } from './state/task-state.js'

export interface AppOptions {
  /** Names the app: its consumer group, internal topics and state. */
  readonly id: string
  /** The embedded log's directory (default $EDDY_DATA_DIR or ./.eddy). */
  readonly dataDir?: string
  /** exactly_once (default) or at_least_once. */
  readonly guarantee?: ProcessingGuarantee
  /** How often results are committed (default 100 ms under exactly-once). */
  readonly commitIntervalMs?: number
  /** How late a record may arrive and still count as on time (default 0). */
  readonly outOfOrdernessMs?: number
  /** An input quiet this long stops holding event time back (default 5 s). */
  readonly idleTimeoutMs?: number
  /** When every input is idle, event time follows the wall clock, so quiet windows close. */
  readonly advanceWithWallClock?: boolean
  /** Most records a task processes per loop, between commit checks (default 10,000). */
  readonly maxBatchRecords?: number
  /**
   * Serve the app over HTTP on 127.0.0.1:PORT while running (0: any free port): Prometheus
   * metrics at /metrics, queries of its state at /stores.
   */
  readonly metricsPort?: number
  /**
   * Run on a Kafka cluster (Apache Kafka, Redpanda, `eddy broker`) instead of the embedded log:
   * bootstrap brokers, `host:port` each. Every instance started with the same `id` joins one
   * consumer group and takes a share of the tasks. `eddy run --brokers` sets this too.
   */
  readonly brokers?: readonly string[]
  /** Connection settings for `brokers` (client id, SASL, TLS, timeouts). */
  readonly kafka?: Omit<KafkaTransportOptions, 'brokers'>
  /**
   * Names this instance among the app's instances on Kafka: its transactional id, and its state
   * directory (<dataDir>/state/<instanceId>), so a restarted instance finds its state. Default: a
   * random id, with state in <dataDir>/state.
   */
  readonly instanceId?: string
  /** Warm copies of each task's state kept on other instances, for fast failover (default 0). */
  readonly standbyReplicas?: number
  /** An instance silent this long is presumed dead and its tasks move (default 10 s). */
  readonly sessionTimeoutMs?: number
}

export interface RunOptions {
  /** Stop once the inputs have been caught up and idle this long (default: run until stopped). */
  readonly untilIdleMs?: number
  readonly signal?: AbortSignal
  /** Called about once a second with the app's progress. */
  readonly onStatus?: (status: RunnerStatus) => void
  /** Called as each task's stores are restored from their changelogs at start-up. */
  readonly onRestoreProgress?: (progress: RestoreProgress & { readonly taskId: string }) => void
  /** Serve metrics and state queries on this port while running (overrides `AppOptions.metricsPort`). */
  readonly metricsPort?: number
  /** Called after each rebalance with the group generation and this instance's tasks. */
  readonly onAssignment?: (assignment: {
    readonly generation: number
    readonly active: readonly string[]
    readonly standby: readonly string[]
  }) => void
}

/** Settings `eddy run` passes to the app file it runs. */
function runDefaults(): {
  untilIdleMs?: number
  dataDir?: string
  metricsPort?: number
  brokers?: string[]
  instanceId?: string
} {
  const idle = process.env.EDDY_RUN_UNTIL_IDLE_MS
  const metrics = process.env.EDDY_RUN_METRICS_PORT
  const brokers = process.env.EDDY_RUN_BROKERS
  return {
    untilIdleMs: idle ? Number(idle) : undefined,
    dataDir: process.env.EDDY_DATA_DIR,
    metricsPort: metrics ? Number(metrics) : undefined,
    brokers: brokers ? brokers.split(',').filter((b) => b !== '') : undefined,
    instanceId: process.env.EDDY_RUN_INSTANCE_ID || undefined,
  }
}

/** Kafka Streams' default under exactly-once: a crashed instance's open transaction ends within 10 s. */
const KAFKA_TRANSACTION_TIMEOUT_MS = 10_000

/** A stream-processing app: build its pipeline with `stream(...)`, then `run()` it. */
export class App extends Topology {
  private runner: AppRunner | null = null
  private metricsAt: string | null = null
  private queries: StoreQueries | null = null

  constructor(readonly options: AppOptions) {
    super(options.id)
  }

  /**
   * Runs the pipeline until stopped (SIGINT/SIGTERM, `stop()`, or `untilIdleMs`): on the embedded
   * log, or on Kafka with `brokers`.
   */
  async run(opts: RunOptions = {}): Promise<void> {
    const defaults = runDefaults()
    const dir = path.resolve(this.options.dataDir ?? defaults.dataDir ?? '.eddy')
    // `eddy run --brokers` wins over the file: the same file runs embedded or on a cluster.
    const brokers = defaults.brokers ?? this.options.brokers
    const instanceId = defaults.instanceId ?? this.options.instanceId
    let transport: Transport
    let stateDir = path.join(dir, 'state')
    let stateLock: DataDirLock | null = null
    if (brokers === undefined || brokers.length === 0) {
      transport = new EmbeddedTransport(EventLog.open({ dir }), true)
    } else {
      if (instanceId !== undefined) stateDir = path.join(stateDir, instanceId)
      fs.mkdirSync(stateDir, { recursive: true })
      // Two instances must not share their state: each needs its own data dir or instance id.
      stateLock = DataDirLock.acquire(stateDir)
      try {
        transport = await KafkaTransport.connect({
          clientId: `eddy-${this.options.id}`,
          transactionTimeoutMs: KAFKA_TRANSACTION_TIMEOUT_MS,
          ...this.options.kafka,
          brokers,
        })
      } catch (err) {
        stateLock.release()
        throw err
      }
    }
    const taskState = taskStateFactory({
      dir: stateDir,
      appId: this.options.id,
      transport,
      clock: systemClock,
      onRestoreProgress: (p, taskId) => {
        const progress = { ...p, taskId }
        opts.onRestoreProgress?.(progress)
        // `eddy run` draws a progress bar from these.
        if (process.env.EDDY_RUN_STATUS === '1')
          (process as NodeJS.EventEmitter).emit('eddy:restore', progress)
      },
    })
    const metricsPort = opts.metricsPort ?? this.options.metricsPort ?? defaults.metricsPort
    const metrics = metricsPort === undefined ? null : new EddyMetrics()
    // `eddy run` listens for events (status, restores, assignments) to draw its status line.
    const toCli = process.env.EDDY_RUN_STATUS === '1'
    const plan = this.plan()
    this.queries = new StoreQueries(plan, this.querySource)
    const runner = new AppRunner(plan, {
      appId: this.options.id,
      transport,
      taskState,
      guarantee: this.options.guarantee,
      commitIntervalMs: this.options.commitIntervalMs,
      outOfOrdernessMs: this.options.outOfOrdernessMs,
      idleTimeoutMs: this.options.idleTimeoutMs,
      advanceWithWallClock: this.options.advanceWithWallClock,
      maxBatchRecords: this.options.maxBatchRecords,
      untilIdleMs: opts.untilIdleMs ?? defaults.untilIdleMs,
      signal: opts.signal,
      instanceId,
      standbyReplicas: this.options.standbyReplicas,
      localStateTasks: () => localTaskIds(stateDir, this.options.id),
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      onAssignment: (a) => {
        opts.onAssignment?.(a)
        if (toCli) (process as NodeJS.EventEmitter).emit('eddy:assignment', a)
      },
      endpoint: () => this.metricsAt?.replace(/\/metrics$/, '') ?? null,
      onCommit: metrics === null ? undefined : (ms) => metrics.observeCommit(ms),
    })
    this.runner = runner
    const stop = () => runner.stop()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    const report = () => {
      const st = runner.status()
      metrics?.update(st)
      opts.onStatus?.(st)
      if (toCli) (process as NodeJS.EventEmitter).emit('eddy:status', st)
    }
    const server =
      metrics === null
        ? null
        : new MetricsServer(metrics, {
            beforeScrape: () => metrics.update(runner.status()),
            stores: this.queries,
          })
    const status = opts.onStatus || toCli || metrics ? setInterval(report, 1000) : null
    try {
      if (server !== null) {
        this.metricsAt = `http://127.0.0.1:${await server.start(metricsPort ?? 0)}/metrics`
        if (toCli) (process as NodeJS.EventEmitter).emit('eddy:metrics', this.metricsAt)
      }
      await runner.run()
    } finally {
      if (status) {
        clearInterval(status)
        report()
      }
      await server?.close()
      this.metricsAt = null
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      await transport.close()
      stateLock?.release()
      this.runner = null
    }
  }

  /** Asks a running app to stop after a final commit. */
  stop(): void {
    this.runner?.stop()
  }

  /** Where the running app serves its metrics (`http://127.0.0.1:PORT/metrics`), or null. */
  metricsUrl(): string | null {
    return this.metricsAt
  }

  /** Progress of the running app, or null when it is not running. */
  status(): RunnerStatus | null {
    return this.runner?.status() ?? null
  }

  /** The stores its steps keep, which `store()`, `keyValueStore()` and `windowStore()` read. */
  stores(): StoreDescription[] {
    return this.storeQueries().stores()
  }

  /**
   * Reads a store of the running app, by name: a key-value view (`kind: 'kv'`) or a window view.
   * Reads are synchronous and see every record processed so far (committed or not); they throw a
   * STORE_NOT_READY EddyError while the app is not running or is still restoring its state.
   * @example const counts = shop.store('order-count-store')
   */
  store(name: string): ReadOnlyStore {
    return this.storeQueries().store(name)
  }

  /**
   * Reads a table, a global table (or any key-value store, by name) of the running app.
   * @example
   * const holders = shop.table<CardHolder>('card-holders')
   * // … while shop.run() is running:
   * shop.keyValueStore(holders).get('card-1')
   */
  keyValueStore<K, V>(table: Table<K, V> | GlobalTable<K, V>): ReadOnlyKeyValueStore<K, V>
  keyValueStore<K = unknown, V = unknown>(name: string): ReadOnlyKeyValueStore<K, V>
  keyValueStore<K, V>(tableOrName: Table<K, V> | GlobalTable<K, V> | string): ReadOnlyKeyValueStore<K, V> {
    const name =
      typeof tableOrName === 'string'
        ? tableOrName
        : tableOrName instanceof GlobalTable
          ? `${tableOrName.name}-store`
          : tableOrName.storeName
    if (name === null) {
      const step = (tableOrName as Table<K, V>).nodeId
      throw new EddyError(
        'UNKNOWN_STORE',
        `table ${step} keeps no store of its own (a join of tables computes it from theirs): query the tables it joins, or write it to a topic and read that as a table`,
      )
    }
    return this.storeQueries().keyValueStore<K, V>(name)
  }

  /**
   * Reads the open windows of a windowed aggregation (or any window store, by name) of the running app.
   * @example
   * const perMinute = clicks.groupBy((c) => c.page).window(tumbling({ size: '1m' })).count({ name: 'per-minute' })
   * perMinute.current().to('page-counts')
   * // … while the app runs:
   * app.windowStore(perMinute).fetch('/home', Date.now() - 3_600_000, Date.now())
   */
  windowStore<K, V, R>(windows: WindowedAggregation<K, V, R>): ReadOnlyWindowStore<K, R>
  windowStore<K = unknown, V = unknown>(name: string): ReadOnlyWindowStore<K, V>
  windowStore<K, V>(windowsOrName: WindowedAggregation<K, unknown, V> | string): ReadOnlyWindowStore<K, V> {
    const name = typeof windowsOrName === 'string' ? windowsOrName : windowsOrName.storeName
    if (name === null) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        'this windowed aggregation is not part of the pipeline yet: call .final() or .current() on it first',
      )
    }
    return this.storeQueries().windowStore<K, V>(name)
  }

  private storeQueries(): StoreQueries {
    // Before the first run, from the pipeline as built so far.
    this.queries ??= new StoreQueries(this.plan(), this.querySource)
    return this.queries
  }

  private readonly querySource: QuerySource = {
    tasks: () => this.runningTasks(),
    taskCount: (sub) => this.runner?.taskCount(sub) ?? 0,
    ownerOf: (taskId) => {
      const owner = this.runner?.ownerOf(taskId) ?? null
      const self = this.metricsAt?.replace(/\/metrics$/, '') ?? null
      return owner === self ? null : owner
    },
    globalTable: (name) => {
      this.runningTasks() // throws the reason when not queryable
      const table = this.runner?.queryableGlobalTable(name) ?? null
      if (table === null)
        throw new EddyError('STORE_NOT_READY', `app ${this.options.id} has not loaded global table ${name}`)
      return table
    },
  }

  private runningTasks(): readonly QueryableTask[] {
    const runner = this.runner
    if (runner === null) {
      throw new EddyError(
        'STORE_NOT_READY',
        `app ${this.options.id} is not running: query its stores while run() is in progress`,
      )
    }
    const tasks = runner.queryableTasks()
    if (tasks === null) {
      throw new EddyError(
        'STORE_NOT_READY',
        `app ${this.options.id} is starting (restoring its state from the changelogs) or stopping: retry in a moment`,
      )
    }
    return tasks
  }
}

/**
 * Creates an app.
 * @example
 * const fraud = app({ id: 'fraud' })
 * fraud.stream<Payment>('payments').filter(p => p.amount > 0).to('positive')
 * await fraud.run()
 */
export function app(options: AppOptions): App {
  return new App(options)
}
