// The state of one task: its stores in one lmdb environment, their changelogs, restore, and the
// store side of the commit cycle (DESIGN.md §5):
//   flushChangelog() → the runtime sends the records in its transaction → commit →
//   afterCommit(): the taken writes are committed; every few seconds (persistIntervalMs), or
//   when many wait, the committed writes + checkpoints go to lmdb in one lmdb txn
//   (or afterAbort(): the committed writes go to lmdb, the uncommitted ones are dropped)
//
// Persisting less often than every commit is what Kafka Streams does with its checkpoint file:
// an aggregate's open window changes at each of the commits it lives through, and writing it to
// lmdb once saves the other writes (measured: about 14% of the windowed count's time). Committed
// writes wait in the cache; the changelog holds them, so a crash costs a longer replay (at most
// persistIntervalMs of changelog), never a record.
//
// Checkpoints. A store's checkpoint is the changelog offset its lmdb data reflects; restore
// replays the changelog from there. Replaying records already applied is harmless (a record is a
// whole value, the last one wins), so a checkpoint behind the data is safe; one ahead would skip
// committed writes, so it must never be. The runtime's producer does not report offsets, so after
// a commit the checkpoint is the changelog's read_committed end offset (its last stable offset),
// read after the commit: every record below it is committed (and ours: one task writes a
// changelog partition) or aborted, and the stable offset never passes an open transaction. The
// next flush is refused until afterCommit has run, so no later transaction can have committed
// records that the checkpoint would claim.

import { assert } from '../core/assert.js'
import type { Clock } from '../core/clock.js'
import { EddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { KeyValueStore, StoreKind, StoreSpec, WindowStore } from '../core/store.js'
import type { Transport } from '../transport/transport.js'
import { DurableKeyValueStore } from './durable-kv-store.js'
import { DurableWindowStore } from './durable-window-store.js'
import { type BytesWrite, type Checkpoint, LmdbEnv, type StoreWrite, taskStateDir } from './lmdb-env.js'
import { MemoryTaskState } from './memory-task-state.js'
import { type ChangelogEntry, storedFromChangelog } from './store-encoding.js'
import type { DurableStore } from './write-cache.js'

/** How a task's processors get their stores (structurally the runtime's StoreProvider). */
export interface StoreProvider {
  keyValueStore(spec: StoreSpec): KeyValueStore<unknown, unknown>
  windowStore(spec: StoreSpec): WindowStore<unknown, unknown>
}

export interface RestoreProgress {
  readonly store: string
  readonly topic: string
  readonly partition: number
  /** Changelog records applied so far. */
  readonly restored: number
  /** Offsets read so far, of `total` (offsets also count commit markers and aborted records). */
  readonly position: number
  readonly total: number
  /** The local data could not be used (no checkpoint, or one past the changelog's end): rebuilding it all. */
  readonly fromScratch: boolean
  readonly done: boolean
}

export interface TaskStateOptions {
  /** The state root: the task's stores live in `<dir>/<appId>/<taskId>/`. */
  readonly dir: string
  readonly appId: string
  readonly taskId: string
  /** The task's partition: the partition of each changelog it writes and restores. */
  readonly partition: number
  /** Partitions of the changelog topics when they must be created (the task count of the sub-topology). */
  readonly changelogPartitions: number
  readonly specs: readonly StoreSpec[]
  readonly transport: Transport
  readonly changelogTopic: (store: string) => string
  /** The time of writes, for TTL. */
  readonly clock: Clock
  readonly onRestoreProgress?: (progress: RestoreProgress) => void
  /** Bytes fetched per restore step; each step is one lmdb transaction. */
  readonly restoreFetchBytes?: number
  /** Committed writes go to lmdb at the first commit this long after the last time they did (default 5 s). */
  readonly persistIntervalMs?: number
}

/** Changelog records of one store, to be sent by the runtime in its transaction. */
export interface ChangelogBatch {
  readonly store: string
  readonly topic: string
  readonly partition: number
  readonly records: ChangelogEntry[]
}

export interface StoreMetrics {
  readonly store: string
  readonly kind: StoreKind
  /** Entries (windows for a window store), expired ones included until swept. */
  readonly entries: number
  /** Entries in the write cache, not yet in lmdb. */
  readonly cachedEntries: number
  /** Changelog records applied by the last restore. */
  readonly restoredRecords: number
}

const RESTORE_FETCH_BYTES_DEFAULT = 4 * 1024 * 1024
const PERSIST_INTERVAL_MS_DEFAULT = 5_000
/**
 * Committed writes a store keeps in memory before they go to lmdb, whatever the interval. A join
 * window's records mostly come and go within an interval: then neither reaches lmdb.
 */
const UNPERSISTED_MAX = 200_000
/** Changelog bytes per batch handed to the runtime: well inside a log batch. */
const CHANGELOG_BATCH_BYTES = limits.batchBytesMax / 4

interface OpenStore {
  readonly store: DurableStore
  readonly kind: StoreKind
  readonly topic: string
  restoredRecords: number
}

/** A task as the runner describes it when it asks for its state (structurally the runtime's). */
export interface TaskStateRequest {
  readonly taskId: string
  readonly partition: number
  /** Tasks of the sub-topology: the partition count of its changelog topics. */
  readonly taskCount: number
  readonly stores: readonly StoreSpec[]
  readonly changelogTopic: (store: string) => string
}

/**
 * Each task's state for an app runner: durable stores (lmdb + changelog) under `dir`, or memory
 * for a task without stores.
 */
export function taskStateFactory(opts: {
  readonly dir: string
  readonly appId: string
  readonly transport: Transport
  readonly clock: Clock
  readonly onRestoreProgress?: (progress: RestoreProgress, taskId: string) => void
}): (task: TaskStateRequest) => Promise<TaskState | MemoryTaskState> {
  const onProgress = opts.onRestoreProgress
  return async (t) =>
    t.stores.length === 0
      ? new MemoryTaskState()
      : TaskState.open({
          dir: opts.dir,
          appId: opts.appId,
          taskId: t.taskId,
          partition: t.partition,
          changelogPartitions: t.taskCount,
          specs: t.stores,
          transport: opts.transport,
          changelogTopic: t.changelogTopic,
          clock: opts.clock,
          onRestoreProgress: onProgress === undefined ? undefined : (p) => onProgress(p, t.taskId),
        })
}

export class TaskState {
  private readonly byName = new Map<string, OpenStore>()
  private closed = false
  /** A flush's records are in a transaction that has not ended yet. */
  private awaitingCommit = false
  private lastPersistMs = performance.now()

  private constructor(
    private readonly env: LmdbEnv,
    private readonly opts: TaskStateOptions,
  ) {}

  /** Opens the task's stores, creates their changelogs, and restores each from its checkpoint. */
  static async open(opts: TaskStateOptions): Promise<TaskState> {
    checkOptions(opts)
    const dir = taskStateDir(opts.dir, opts.appId, opts.taskId)
    const env = LmdbEnv.open(
      dir,
      opts.specs.map((s) => s.name),
    )
    const state = new TaskState(env, opts)
    try {
      for (const spec of opts.specs) {
        const bytes = env.bytes(spec.name)
        const store =
          spec.kind === 'kv'
            ? new DurableKeyValueStore(spec, bytes, opts.clock)
            : new DurableWindowStore(spec, bytes, opts.clock)
        state.byName.set(spec.name, {
          store,
          kind: spec.kind,
          topic: opts.changelogTopic(spec.name),
          restoredRecords: 0,
        })
      }
      for (const s of state.byName.values()) {
        const partitions = await opts.transport.ensureTopic(s.topic, {
          partitions: opts.changelogPartitions,
          compact: true,
        })
        if (opts.partition >= partitions) {
          throw new EddyError(
            'UNKNOWN_PARTITION',
            `changelog ${s.topic} of store ${s.store.name} has ${partitions} partitions, task ${opts.taskId} needs partition ${opts.partition}: delete the topic (the state is rebuilt from the inputs) or run the app with as many partitions as before`,
          )
        }
      }
      for (const s of state.byName.values()) await state.restore(s)
    } catch (err) {
      await env.close()
      throw err
    }
    return state
  }

  get dir(): string {
    return this.env.dir
  }

  /**
   * A standby's catch-up: applies what the changelogs gained since the last restore (committed
   * records only), so that the task, if it moves here, restores only the rest. Returns the records applied.
   */
  async catchUp(): Promise<number> {
    this.checkOpen()
    let applied = 0
    for (const s of this.byName.values()) applied += await this.restore(s, false)
    return applied
  }

  private async restore(s: OpenStore, reportProgress = true): Promise<number> {
    const { transport, partition } = this.opts
    const name = s.store.name
    const topic = s.topic
    const earliest = await transport.earliestOffset(topic, partition)
    const end = await transport.latestOffset(topic, partition, 'read_committed')
    const checkpoint = this.env.checkpoint(name)
    const usable =
      checkpoint !== null &&
      checkpoint.topic === topic &&
      checkpoint.partition === partition &&
      checkpoint.offset <= end
    // Data without a usable checkpoint cannot be trusted (a changelog recreated, or truncated): rebuild it.
    if (!usable && (checkpoint !== null || this.env.bytes(name).count() > 0)) this.env.clear(name)
    const from = usable ? Math.max(checkpoint.offset, earliest) : earliest
    const total = Math.max(0, end - from)
    let offset = from
    let restored = 0
    const report = (done: boolean) =>
      reportProgress &&
      this.opts.onRestoreProgress?.({
        store: name,
        topic,
        partition,
        restored,
        position: offset - from,
        total,
        fromScratch: !usable,
        done,
      })
    report(false)
    const maxBytes = this.opts.restoreFetchBytes ?? RESTORE_FETCH_BYTES_DEFAULT
    while (offset < end) {
      const fetched = await transport.fetch(topic, partition, offset, {
        isolation: 'read_committed',
        maxBytes,
      })
      if (fetched.nextOffset <= offset) {
        throw new EddyError(
          'IO',
          `restoring store ${name}: ${topic}-${partition} returned nothing at offset ${offset}, below its end ${end}: check the log, then restart the task`,
        )
      }
      const writes: BytesWrite[] = fetched.records.map((r) => storedFromChangelog(r, name))
      this.env.write([{ store: name, writes, checkpoint: { topic, partition, offset: fetched.nextOffset } }])
      restored += writes.length
      offset = fetched.nextOffset
      report(false)
    }
    if (!usable || checkpoint.offset !== offset) {
      this.env.write([{ store: name, writes: [], checkpoint: { topic, partition, offset } }])
    }
    s.restoredRecords = restored
    report(true)
    return restored
  }

  private storeOf(name: string, kind: StoreKind): DurableStore {
    this.checkOpen()
    const s = this.byName.get(name)
    if (s === undefined) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `task ${this.opts.taskId} has no store ${name} (it has [${[...this.byName.keys()].join(', ')}]): declare the store in the step's stores`,
      )
    }
    if (s.kind !== kind) {
      throw new EddyError('INVALID_ARGUMENT', `store ${name} is a ${s.kind} store, not a ${kind} store`)
    }
    return s.store
  }

  keyValueStore<K, V>(name: string): KeyValueStore<K, V> {
    return this.storeOf(name, 'kv') as unknown as KeyValueStore<K, V>
  }

  windowStore<K, V>(name: string): WindowStore<K, V> {
    return this.storeOf(name, 'window') as unknown as WindowStore<K, V>
  }

  /** The stores, for the TaskExecutor (the runtime's StoreProvider). */
  readonly stores: StoreProvider = {
    keyValueStore: (spec) => this.keyValueStore(spec.name),
    windowStore: (spec) => this.windowStore(spec.name),
  }

  storeProvider(): StoreProvider {
    return this.stores
  }

  /**
   * The writes since the last flush, as changelog records for the runtime to send in its
   * transaction. Call afterCommit (or afterAbort) before the next flush.
   */
  flushChangelog(): ChangelogBatch[] {
    this.checkOpen()
    const out: ChangelogBatch[] = []
    if (this.awaitingCommit) {
      throw new EddyError(
        'INVALID_TXN_STATE',
        `task ${this.opts.taskId}: the previous changelog flush was neither committed nor aborted: call afterCommit or afterAbort first`,
      )
    }
    this.awaitingCommit = true
    for (const s of this.byName.values()) {
      const records = s.store.takeDirty()
      for (const chunk of chunks(records)) {
        out.push({ store: s.store.name, topic: s.topic, partition: this.opts.partition, records: chunk })
      }
    }
    return out
  }

  /**
   * The transaction carrying the last flush committed: its writes are committed. They go to lmdb
   * when persistIntervalMs has passed since they last did, or when a store holds many (`persist`).
   */
  async afterCommit(): Promise<void> {
    this.checkOpen()
    this.awaitingCommit = false
    let many = false
    for (const s of this.byName.values()) {
      s.store.commitTaken()
      if (s.store.unpersisted >= UNPERSISTED_MAX) many = true
    }
    const intervalMs = this.opts.persistIntervalMs ?? PERSIST_INTERVAL_MS_DEFAULT
    if (many || performance.now() - this.lastPersistMs >= intervalMs) await this.persist()
  }

  /**
   * Writes the committed writes to lmdb with new checkpoints, in one lmdb transaction. Call it
   * after a commit, before the next flush (a run's final commit does, so a restart replays
   * nothing). `offsets` (store → next changelog offset) is for a transport that knows them;
   * without it each changelog's stable end offset is read (see the top of this file).
   */
  async persist(offsets?: ReadonlyMap<string, number>): Promise<void> {
    this.checkOpen()
    if (this.awaitingCommit) {
      throw new EddyError(
        'INVALID_TXN_STATE',
        `task ${this.opts.taskId}: a changelog flush is neither committed nor aborted: its state cannot be persisted yet`,
      )
    }
    this.lastPersistMs = performance.now()
    const changes: StoreWrite[] = []
    const persisted: DurableStore[] = []
    for (const s of this.byName.values()) {
      if (s.store.unpersisted === 0) continue
      const offset =
        offsets?.get(s.store.name) ??
        (await this.opts.transport.latestOffset(s.topic, this.opts.partition, 'read_committed'))
      const checkpoint: Checkpoint = { topic: s.topic, partition: this.opts.partition, offset }
      changes.push({ store: s.store.name, writes: s.store.pendingWrites(), checkpoint })
      persisted.push(s.store)
    }
    if (changes.length === 0) return
    this.checkOpen()
    this.env.write(changes)
    for (const store of persisted) store.markPersisted()
  }

  /**
   * The transaction aborted: every write since the last commit is dropped; reads see lmdb, where
   * the committed writes go first (with the old checkpoints: replaying from a checkpoint behind
   * the data is harmless).
   */
  afterAbort(): void {
    this.checkOpen()
    this.awaitingCommit = false
    this.persistWithOldCheckpoints()
    for (const s of this.byName.values()) s.store.discardPending()
  }

  /** Writes the committed writes to lmdb, leaving the checkpoints as they are. */
  private persistWithOldCheckpoints(): void {
    const changes: StoreWrite[] = []
    for (const s of this.byName.values()) {
      if (s.store.unpersisted > 0) changes.push({ store: s.store.name, writes: s.store.pendingWrites() })
    }
    if (changes.length > 0) this.env.write(changes)
    for (const s of this.byName.values()) s.store.markPersisted()
  }

  /** Deletes expired entries of TTL stores (the deletes go to the changelog with the next flush). */
  sweepExpired(nowMs: number): number {
    this.checkOpen()
    let n = 0
    for (const s of this.byName.values()) n += s.store.sweepExpired(nowMs)
    return n
  }

  metrics(): StoreMetrics[] {
    return [...this.byName.values()].map((s) => ({
      store: s.store.name,
      kind: s.kind,
      entries: s.store.size,
      cachedEntries: s.store.cachedEntries,
      restoredRecords: s.restoredRecords,
    }))
  }

  /** Entries per store (the runtime's metric). */
  /** True when a store changed since the last flush. */
  hasChanges(): boolean {
    for (const s of this.byName.values()) if (s.store.hasDirty()) return true
    return false
  }

  storeSizes(): Map<string, number> {
    return new Map([...this.byName.values()].map((s) => [s.store.name, s.store.size]))
  }

  /** The committed checkpoint of a store, or null. */
  checkpoint(store: string): Checkpoint | null {
    return this.env.checkpoint(store)
  }

  private checkOpen(): void {
    if (this.closed)
      throw new EddyError('INVALID_ARGUMENT', `the state of task ${this.opts.taskId} is closed`)
  }

  /**
   * Closes the stores; uncommitted writes are dropped, and so are committed writes not yet in
   * lmdb: its checkpoint is behind them, so the next open replays them from the changelog (a
   * run's final commit persists first, so a clean restart replays nothing).
   */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.env.close()
  }

  /** Closes and deletes the task's state directory. */
  async destroy(): Promise<void> {
    this.closed = true
    await this.env.destroy()
  }
}

function checkOptions(o: TaskStateOptions): void {
  if (!Number.isInteger(o.partition) || o.partition < 0) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `task ${o.taskId}: partition must be an integer >= 0, got ${o.partition}`,
    )
  }
  if (!Number.isInteger(o.changelogPartitions) || o.changelogPartitions <= o.partition) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `task ${o.taskId}: changelog partitions (${o.changelogPartitions}) must be an integer above the task's partition ${o.partition}`,
    )
  }
  const names = new Set<string>()
  const topics = new Set<string>()
  for (const spec of o.specs) {
    if (names.has(spec.name))
      throw new EddyError('INVALID_ARGUMENT', `task ${o.taskId}: two stores are named ${spec.name}`)
    names.add(spec.name)
    const topic = o.changelogTopic(spec.name)
    assert(!topics.has(topic), `stores of task ${o.taskId} share the changelog ${topic}`)
    topics.add(topic)
  }
}

function* chunks(records: ChangelogEntry[]): Generator<ChangelogEntry[]> {
  let start = 0
  let bytes = 0
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    const size = r.key.length + (r.value?.length ?? 0) + 32
    if (i > start && (bytes + size > CHANGELOG_BATCH_BYTES || i - start >= limits.batchRecordsMax)) {
      yield records.slice(start, i)
      start = i
      bytes = 0
    }
    bytes += size
  }
  if (start < records.length) yield records.slice(start)
}
