// Interactive queries of a running app's state, on one instance (Kafka Streams' `store()`): a
// read-only view per store that reads every task's copy of it. A key is looked up in the task
// that owns its partition (murmur2 of the key serialized as the store's input serializes it, as
// the runtime partitions records); when that task does not hold it (records a producer put in
// another partition, or a store keyed by something other than the record key), the other tasks
// are asked in turn, as Kafka Streams' local composite store does. Ranges and scans read every
// task and merge in the order of serialized key bytes (the store's key serde).
//
// Everything runs on the one JavaScript thread, between steps of the run loop: each call is
// synchronous, so it sees one consistent state: every record processed so far, including those
// whose transaction has not committed yet (Kafka Streams' default). An aborted transaction takes
// such writes back.
import { EddyError } from '../core/errors.js'
import { partitionForKey } from '../core/murmur2.js'
import type { Serde } from '../core/serde.js'
import type {
  KeyValueStore,
  ReadOnlyKeyValueStore,
  ReadOnlyStore,
  ReadOnlyWindowStore,
  StoreSpec,
  WindowEntry,
  WindowStore,
} from '../core/store.js'
import type { Plan } from '../plan/plan.js'
import { keyBytes, sortedInRange } from '../state/key-order.js'
import type { StoreProvider } from './task-executor.js'

/** A task as queries see it: which part of the plan it runs, its stores and its event time. */
export interface QueryableTask {
  readonly id: string
  /** The index of its sub-topology. */
  readonly subTopology: number
  readonly partition: number
  /** Its event time (for the windows still open). */
  readonly watermark: number
  /** Returns the task's store of a spec (the same store its processors use). */
  readonly stores: StoreProvider
}

/** A global table as queries see it: every row of its topic, in this process. */
export interface QueryableGlobalTable {
  get(key: unknown): unknown
  entries(): Iterable<[unknown, unknown]>
  readonly size: number
}

/** Where queries find the running app's state; each method throws STORE_NOT_READY when it cannot. */
export interface QuerySource {
  /** The tasks running in this instance. */
  tasks(): readonly QueryableTask[]
  globalTable(name: string): QueryableGlobalTable
  /** How many tasks a sub-topology has on all instances together (absent: the local ones are all). */
  taskCount?(subTopology: number): number
  /** Where the instance running a task serves queries, when it is another instance (else null). */
  ownerOf?(taskId: string): string | null
}

/** A key another instance owns: the error names that instance's endpoint. */
export class NotOwnerError extends EddyError {
  constructor(
    readonly store: string,
    readonly owner: string,
  ) {
    super(
      'NOT_OWNER',
      `store ${store}: this key belongs to a task that runs on another instance of the app: ask ${owner}`,
    )
  }
}

/** A store as listed by `stores()`. */
export interface StoreDescription {
  readonly name: string
  /** What queries return: key-value entries or windows (sliding windows are kept in a kv store). */
  readonly kind: 'kv' | 'window'
  /** The step that owns it. */
  readonly step: string
}

interface TaskStoreInfo extends StoreDescription {
  readonly source: 'tasks'
  readonly spec: StoreSpec
  readonly subTopology: number
  /** The serde that partitioned the store's input: a key's owner is murmur2 of these bytes. */
  readonly routeSerde: Serde<unknown> | null
}

interface GlobalStoreInfo extends StoreDescription {
  readonly source: 'global'
  readonly kind: 'kv'
  readonly keySerde: Serde<unknown>
}

type StoreInfo = TaskStoreInfo | GlobalStoreInfo

const OPEN = { from: Number.NEGATIVE_INFINITY, to: Number.POSITIVE_INFINITY }

export class StoreQueries {
  private readonly infos = new Map<string, StoreInfo>()

  constructor(
    plan: Plan,
    private readonly source: QuerySource,
  ) {
    for (const sub of plan.subTopologies()) {
      const members = new Set(sub.nodes)
      for (const id of sub.nodes) {
        const node = plan.node(id)
        if (node.kind !== 'process') continue
        for (const spec of node.stores) {
          const kind = spec.view?.kind === 'windows-in-kv' ? 'window' : (spec.view?.kind ?? spec.kind)
          this.infos.set(spec.name, {
            source: 'tasks',
            name: spec.name,
            kind,
            step: id,
            spec,
            subTopology: sub.index,
            routeSerde: inputKeySerde(plan, members, id),
          })
        }
      }
    }
    // A global table is queried as `<name>-store`, as every other table is.
    for (const g of plan.globalTables) {
      const name = `${g.name}-store`
      if (this.infos.has(name)) continue // a step claimed the name first
      this.infos.set(name, { source: 'global', name, kind: 'kv', step: g.name, keySerde: g.keySerde })
    }
  }

  /** The queryable stores, in plan order (global tables last). */
  stores(): StoreDescription[] {
    return [...this.infos.values()].map(({ name, kind, step }) => ({ name, kind, step }))
  }

  /** A store by name, as a key-value or window view (see `kind`). */
  store(name: string): ReadOnlyStore {
    const info = this.info(name)
    if (info.source === 'global') return this.globalView(info)
    return info.kind === 'kv' ? this.kvView(info) : this.windowView(info)
  }

  keyValueStore<K, V>(name: string): ReadOnlyKeyValueStore<K, V> {
    const info = this.info(name)
    if (info.kind !== 'kv') {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `store ${name} (step ${info.step}) holds windows: query it as a window store (windowStore(${JSON.stringify(name)}))`,
      )
    }
    const view = info.source === 'global' ? this.globalView(info) : this.kvView(info)
    return view as ReadOnlyKeyValueStore<K, V>
  }

  windowStore<K, V>(name: string): ReadOnlyWindowStore<K, V> {
    const info = this.info(name)
    if (info.kind !== 'window') {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `store ${name} (step ${info.step}) is a key-value store: query it as one (keyValueStore(${JSON.stringify(name)}))`,
      )
    }
    return this.windowView(info as TaskStoreInfo) as ReadOnlyWindowStore<K, V>
  }

  private info(name: string): StoreInfo {
    const info = this.infos.get(name)
    if (info === undefined) {
      const known = [...this.infos.values()].map((i) => `${i.name} (${i.kind})`).join(', ')
      throw new EddyError(
        'UNKNOWN_STORE',
        `the app has no store ${JSON.stringify(name)}; its queryable stores are: ${known || 'none'}. A table read from a topic is stored as <table name>-store, an aggregation or window as <step name>-store: name the step to fix the name`,
      )
    }
    return info
  }

  /** The tasks holding the store, indexed by partition. */
  private tasksOf(info: TaskStoreInfo): QueryableTask[] {
    return this.source
      .tasks()
      .filter((t) => t.subTopology === info.subTopology)
      .sort((a, b) => a.partition - b.partition)
  }

  /**
   * The tasks to ask for one key: its partition's owner first, then the other local ones. A key
   * whose task runs on another instance is a NotOwnerError naming that instance.
   */
  private tasksForKey(info: TaskStoreInfo, key: unknown): QueryableTask[] {
    const tasks = this.tasksOf(info)
    const count = this.source.taskCount?.(info.subTopology) ?? tasks.length
    if (count <= 1 || info.routeSerde === null) return tasks
    let owner: number
    try {
      const bytes = info.routeSerde.serialize(key)
      if (bytes === null) return tasks
      owner = partitionForKey(bytes, count)
    } catch {
      return tasks // a key the input's serde cannot write: ask every task
    }
    const local = tasks.find((t) => t.partition === owner)
    if (local === undefined) {
      const elsewhere = this.source.ownerOf?.(`${info.subTopology}_${owner}`) ?? null
      if (elsewhere !== null) throw new NotOwnerError(info.name, elsewhere)
      return tasks
    }
    return [local, ...tasks.filter((t) => t !== local)]
  }

  private kvStore(task: QueryableTask, info: TaskStoreInfo): KeyValueStore<unknown, unknown> {
    return task.stores.keyValueStore(info.spec)
  }

  private windowStoreOf(task: QueryableTask, info: TaskStoreInfo): WindowStore<unknown, unknown> {
    return task.stores.windowStore(info.spec)
  }

  private kvView(info: TaskStoreInfo): ReadOnlyKeyValueStore<unknown, unknown> {
    const view = info.spec.view
    const present = view?.kind === 'kv' ? view.value : (v: unknown) => v
    const range = (from?: unknown, to?: unknown): [unknown, unknown][] => {
      const tasks = this.tasksOf(info)
      const out: [unknown, unknown][] = []
      for (const t of tasks)
        for (const [k, v] of this.kvStore(t, info).range(from, to)) out.push([k, present(v)])
      // Each task's entries are in order already; merged, they need one more sort.
      if (tasks.length > 1) sortByKeyBytes(out, info.spec.keySerde)
      return out
    }
    return {
      name: info.name,
      kind: 'kv',
      get: (key) => {
        for (const t of this.tasksForKey(info, key)) {
          const v = this.kvStore(t, info).get(key)
          if (v !== undefined) return present(v)
        }
        return undefined
      },
      range,
      all: () => range(),
      approximateCount: () => this.tasksOf(info).reduce((n, t) => n + this.kvStore(t, info).size, 0),
    }
  }

  private globalView(info: GlobalStoreInfo): ReadOnlyKeyValueStore<unknown, unknown> {
    const table = () => this.source.globalTable(info.step)
    const range = (from?: unknown, to?: unknown) => sortedInRange(table().entries(), info.keySerde, from, to)
    return {
      name: info.name,
      kind: 'kv',
      get: (key) => table().get(key),
      range,
      all: () => range(),
      approximateCount: () => table().size,
    }
  }

  private windowView(info: TaskStoreInfo): ReadOnlyWindowStore<unknown, unknown> {
    const view = info.spec.view
    // One key's windows in one task, by start, with their ends and shown values.
    let windowsOf: (t: QueryableTask, key: unknown) => WindowEntry<unknown, unknown>[]
    let everyWindow: (t: QueryableTask) => WindowEntry<unknown, unknown>[]
    let count: (t: QueryableTask) => number
    if (view?.kind === 'windows-in-kv') {
      const expand = (t: QueryableTask, key: unknown, stored: unknown) =>
        view.windows(stored, t.watermark).map((w) => ({ key, ...w }))
      windowsOf = (t, key) => {
        const stored = this.kvStore(t, info).get(key)
        return stored === undefined ? [] : expand(t, key, stored)
      }
      everyWindow = (t) => [...this.kvStore(t, info).entries()].flatMap(([k, s]) => expand(t, k, s))
      count = (t) => everyWindow(t).length
    } else {
      const present =
        view?.kind === 'window'
          ? view.window
          : // A store declared with windowStore() knows no window size: its windows end where they start.
            (start: number, value: unknown) => ({ end: start, value })
      const entry = (key: unknown, start: number, stored: unknown) => ({
        key,
        start,
        ...present(start, stored),
      })
      windowsOf = (t, key) =>
        [...this.windowStoreOf(t, info).windowsOf(key)].map(([start, v]) => entry(key, start, v))
      everyWindow = (t) =>
        [...this.windowStoreOf(t, info).entries()].map(([k, start, v]) => entry(k, start, v))
      count = (t) => this.windowStoreOf(t, info).size
    }
    const fetch = (key: unknown, fromTime = OPEN.from, toTime = OPEN.to) => {
      for (const t of this.tasksForKey(info, key)) {
        const all = windowsOf(t, key)
        // The first task that holds the key has all its windows.
        if (all.length > 0) return all.filter((w) => w.start >= fromTime && w.start <= toTime)
      }
      return []
    }
    const fetchAll = (fromTime = OPEN.from, toTime = OPEN.to) => {
      const out = this.tasksOf(info)
        .flatMap(everyWindow)
        .filter((w) => w.start >= fromTime && w.start <= toTime)
      return sortWindows(out, info.spec.keySerde)
    }
    return {
      name: info.name,
      kind: 'window',
      get: (key, windowStart) => fetch(key, windowStart, windowStart)[0]?.value,
      fetch,
      fetchAll,
      all: () => fetchAll(),
      approximateCount: () => this.tasksOf(info).reduce((n, t) => n + count(t), 0),
    }
  }
}

/** The key serde of the input (source or repartition topic) that feeds a step of a sub-topology. */
function inputKeySerde(plan: Plan, members: ReadonlySet<string>, stepId: string): Serde<unknown> | null {
  const seen = new Set<string>()
  const queue = [stepId]
  while (queue.length > 0) {
    const id = queue.shift()!
    if (seen.has(id)) continue
    seen.add(id)
    const node = plan.node(id)
    if (node.kind === 'source') return node.keySerde
    for (const p of node.parents) {
      const parent = plan.node(p)
      if (!members.has(p) && parent.kind === 'repartition') return parent.keySerde
      queue.push(p)
    }
  }
  return null
}

function sortByKeyBytes(entries: [unknown, unknown][], serde: Serde<unknown>): void {
  const bytes = new Map(entries.map((e) => [e, keyBytes(serde, e[0])]))
  entries.sort((a, b) => Buffer.compare(bytes.get(a)!, bytes.get(b)!))
}

function sortWindows(
  windows: WindowEntry<unknown, unknown>[],
  serde: Serde<unknown>,
): WindowEntry<unknown, unknown>[] {
  const keyed = windows.map((w) => ({ w, bytes: keyBytes(serde, w.key) }))
  keyed.sort((a, b) => Buffer.compare(a.bytes, b.bytes) || a.w.start - b.w.start)
  return keyed.map((k) => k.w)
}
