// Runs a plan on a transport: one task per partition of each sub-topology, a fetch → process →
// commit loop, and exactly-once commits through the log's transactions (one transactional
// producer for the instance, as Kafka Streams' exactly_once_v2), or at-least-once.
//
// Scale-out. The instances of an app form a consumer group (the app id); its leader assigns the
// tasks (task-assignor.ts) and every instance runs those it is given. A rebalance (an instance
// joins, leaves or dies) is eager: each instance commits what it processed, rejoins, closes the
// tasks it lost and opens those it gained, restoring their state from the changelogs. Offsets
// are committed in the member's generation, so an instance the group has moved on from (a
// zombie) has its transaction refused (REBALANCED): it drops its uncommitted work and rejoins.
import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { EddyError, isEddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import { murmur2, partitionForKey, toPositive } from '../core/murmur2.js'
import type { LogRecord, RecordHeader, RecordInput } from '../core/record.js'
import { type Encoded, encodedBytes } from '../core/serde.js'
import type { StoreSpec } from '../core/store.js'
import { type Plan, type SubTopology, sizeTopics } from '../plan/plan.js'
import type {
  GroupAssignment,
  GroupAssignmentOut,
  GroupMemberInfo,
  GroupMembership,
  TopicPartitionOffset,
  Transport,
  TransportProducer,
} from '../transport/transport.js'
import { type GlobalTable, GlobalTables } from './global-tables.js'
import { OutputBatches } from './output-batches.js'
import { RepartitionPurge } from './purge.js'
import type { QueryableTask } from './store-queries.js'
import { assignTasks, type InstanceInfo, type TaskInfo } from './task-assignor.js'
import {
  addStepCounters,
  isWatermarkMarker,
  type StepCounters,
  type StoreProvider,
  TaskExecutor,
} from './task-executor.js'

export type ProcessingGuarantee = 'exactly_once' | 'at_least_once'

/** The state of one task's stores: what the runtime needs from the state layer. */
export interface TaskStateHandle {
  readonly stores: StoreProvider
  /** Changelog records of what changed since the last commit, to send in the transaction. */
  flushChangelog(): { topic: string; partition: number; records: RecordInput[] }[]
  afterCommit(): Promise<void> | void
  afterAbort(): void
  /** Writes what the last commits committed to local storage (the state layer may defer it). */
  persist?(): Promise<void> | void
  /** True when stores changed since the last commit (absent: assume they did). */
  hasChanges?(): boolean
  /** Deletes entries past their TTL (the deletes go to the changelog). */
  sweepExpired?(nowMs: number): number
  storeSizes(): Map<string, number>
  /** Entries and records restored at start, per store, when the state layer counts them. */
  metrics?(): readonly { store: string; entries: number; restoredRecords: number }[]
  /** A standby replica's catch-up: applies what the changelogs gained since. */
  catchUp?(): Promise<number>
  close(): Promise<void> | void
}

export type TaskStateFactory = (task: {
  taskId: string
  partition: number
  /** Tasks of the sub-topology: the partition count of its changelog topics. */
  taskCount: number
  stores: readonly StoreSpec[]
  changelogTopic: (store: string) => string
}) => Promise<TaskStateHandle>

export interface RunnerOptions {
  readonly appId: string
  readonly transport: Transport
  readonly taskState: TaskStateFactory
  readonly guarantee?: ProcessingGuarantee
  /** How often results and offsets are committed (default 100 ms exactly-once, 1 s at-least-once). */
  readonly commitIntervalMs?: number
  readonly outOfOrdernessMs?: number
  readonly idleTimeoutMs?: number
  readonly advanceWithWallClock?: boolean
  /** Stop once every input has been caught up, with nothing processed, for this long. */
  readonly untilIdleMs?: number
  /** Most records a task processes before the loop moves on (and the bound on buffered input). */
  readonly maxBatchRecords?: number
  readonly stdout?: (line: string) => void
  readonly signal?: AbortSignal
  /** Called after each successful commit with how long it took. */
  readonly onCommit?: (durationMs: number) => void
  /**
   * Names this instance among the app's instances (its transactional id is `<appId>-<instanceId>`).
   * Default: `worker-0` on the embedded log (one instance); a random id on Kafka.
   */
  readonly instanceId?: string
  /** Where this instance serves queries (`http://host:port`): told to the others, who point there. */
  readonly endpoint?: () => string | null
  /** Warm copies of each stateful task's state kept on other instances (default 0). */
  readonly standbyReplicas?: number
  /** Tasks whose state is on this instance's disk from earlier runs (told to the leader, who prefers to give them back here). */
  readonly localStateTasks?: () => readonly string[]
  /** Group timing on Kafka: an instance silent this long is presumed dead (default 10 s). */
  readonly sessionTimeoutMs?: number
  readonly heartbeatIntervalMs?: number
  /** How long a rebalance waits for every instance to rejoin (default 60 s). */
  readonly rebalanceTimeoutMs?: number
  /** Called after each rebalance with this instance's tasks. */
  readonly onAssignment?: (a: { generation: number; active: string[]; standby: string[] }) => void
  /** How often repartition records that were read and committed are deleted (default 30 s). */
  readonly purgeIntervalMs?: number
}

/** What an instance tells the group's leader when it joins. */
interface Subscription {
  readonly v: 1
  readonly endpoint: string | null
  readonly active: string[]
  readonly localState: string[]
}

/** What the leader tells each instance: its tasks, and where every task runs (for queries). */
interface AssignmentInfo {
  readonly v: 1
  readonly active: string[]
  readonly standby: string[]
  /** Endpoint → the active tasks it runs (instances that serve queries only). */
  readonly owners: Record<string, string[]>
}

interface Input {
  readonly topic: string
  readonly partition: number
  position: number
  highWatermark: number
  buffer: LogRecord[]
  head: number
  /** The largest record timestamp processed from this input. */
  maxTimestamp: number
}

interface RunningTask {
  readonly id: string
  readonly sub: SubTopology
  readonly partition: number
  readonly executor: TaskExecutor
  readonly state: TaskStateHandle
  readonly inputs: Input[]
  /** Set when the task is closed: results of its async steps that still arrive are dropped. */
  readonly closed: { value: boolean }
}

export interface RunnerStatus {
  /** The group generation of the current assignment (-1 on the embedded log). */
  readonly generation: number
  /** Tasks kept warm here as standby replicas. */
  readonly standbyTasks: readonly string[]
  readonly recordsIn: number
  readonly recordsOut: number
  readonly commits: number
  readonly lastCommitMs: number
  readonly lag: number
  /** The smallest task watermark (event time). */
  readonly eventTime: number
  readonly tasks: {
    id: string
    watermark: number
    /** The largest record timestamp the task has processed (its stream time). */
    eventTime: number
    lag: number
    stores: { store: string; entries: number; restoredRecords: number }[]
  }[]
  /** Each input partition of each task: records between its position and its end. */
  readonly partitions: { task: string; topic: string; partition: number; lag: number }[]
  readonly steps: Map<string, StepCounters>
}

/**
 * Bytes asked of each input partition per fetch. A fetch's records are decoded at once and live
 * until processed: at 1 MiB (some 15,000 small records) many outlived V8's young generation and
 * were copied and promoted; at 256 KiB they die young. Measured on the stateless end-to-end bench:
 * about 20% more records/s than 1 MiB.
 */
const FETCH_BYTES = 256 * 1024
/** Output flushes that may be in flight between commits (each waits for its fsync). */
const SENDS_IN_FLIGHT_MAX = 2
/** Records a task may have inside its async steps before the loop stops feeding it. */
const ASYNC_BACKLOG_MAX = 1024
/** How often standby replicas read what their changelogs gained. */
const STANDBY_CATCH_UP_MS = 500

export class AppRunner {
  private readonly guarantee: ProcessingGuarantee
  private readonly commitIntervalMs: number
  private readonly maxBatch: number
  private tasks: RunningTask[] = []
  private producer: TransportProducer | null = null
  private readonly partitionCounts = new Map<string, number>()
  /** Output records to send (at the latest with the next commit), batched as they come. */
  private readonly pending = new OutputBatches(limits.kafkaBatchBytesMax)
  private inTransaction = false
  private stopping = false
  private commits = 0
  private lastCommitMs = 0
  private recordsIn = 0
  /** Watermark markers processed: they carry time, not data, so they do not make a run busy. */
  private markersIn = 0
  /** Output flushes sent but not yet acknowledged; a commit waits for them. */
  private sending: Promise<void>[] = []
  /** Wall-clock time, refreshed once per loop iteration. */
  private nowMs = Date.now()
  /** The offsets of the last commit, to skip commits that would change nothing. */
  private lastCommitted = ''
  private finalStatus: RunnerStatus | null = null
  private readonly globals: GlobalTables
  /** Where each partition of each global table's topic has been read to. */
  private readonly globalInputs: { topic: string; partition: number; position: number }[] = []
  /** Every task has restored its state and its stores are open: interactive queries may read them. */
  private queryable = false
  private membership: GroupMembership | null = null
  private generation = -1
  /** Every task of the app (on every instance), and each sub-topology's task count. */
  private taskInfos: TaskInfo[] = []
  private readonly subs = new Map<number, { sub: SubTopology; taskCount: number }>()
  /** Standby replicas kept here: task id → its state, caught up from the changelogs. */
  private standbys = new Map<string, TaskStateHandle>()
  private lastCatchUp = 0
  /** Tasks whose state this process has on disk (it ran them, or kept their standby). */
  private readonly localState = new Set<string>()
  /** Task id → the endpoint of the instance running it, from the last assignment. */
  private owners = new Map<string, string>()
  /** Counters of tasks closed here, so the totals never go down when tasks move. */
  private readonly retired = new Map<string, StepCounters>()
  private readonly purge: RepartitionPurge

  constructor(
    private readonly plan: Plan,
    private readonly opts: RunnerOptions,
  ) {
    this.guarantee = opts.guarantee ?? 'exactly_once'
    this.commitIntervalMs = opts.commitIntervalMs ?? (this.guarantee === 'exactly_once' ? 100 : 1000)
    this.maxBatch = opts.maxBatchRecords ?? 10_000
    this.globals = new GlobalTables(plan.globalTables)
    this.purge = new RepartitionPurge(plan, (n) => this.internal(n), opts.transport, opts.purgeIntervalMs)
  }

  private internal(name: string): string {
    return `${this.opts.appId}-${name}`
  }

  /** Asks the loop to stop after a final commit. */
  stop(): void {
    this.stopping = true
  }

  status(): RunnerStatus {
    if (this.finalStatus !== null) return this.finalStatus
    let recordsOut = 0
    const steps = new Map<string, StepCounters>()
    for (const [id, c] of this.retired) addStepCounters(steps, id, c)
    for (const t of this.tasks) for (const [id, c] of t.executor.counters) addStepCounters(steps, id, c)
    for (const id of this.plan.order) {
      const n = this.plan.node(id)
      if (n.kind === 'sink') recordsOut += steps.get(id)?.out ?? 0
    }
    const partitions = this.tasks.flatMap((t) =>
      t.inputs.map((i) => ({
        task: t.id,
        topic: i.topic,
        partition: i.partition,
        lag: Math.max(0, i.highWatermark - i.position),
      })),
    )
    const tasks = this.tasks.map((t) => ({
      id: t.id,
      watermark: t.executor.watermark,
      eventTime: Math.max(...t.inputs.map((i) => i.maxTimestamp)),
      lag: partitions.reduce((s, p) => s + (p.task === t.id ? p.lag : 0), 0),
      stores:
        t.state
          .metrics?.()
          .map((m) => ({ store: m.store, entries: m.entries, restoredRecords: m.restoredRecords })) ??
        [...t.state.storeSizes()].map(([store, entries]) => ({ store, entries, restoredRecords: 0 })),
    }))
    return {
      generation: this.generation,
      standbyTasks: [...this.standbys.keys()],
      recordsIn: this.recordsIn,
      recordsOut,
      commits: this.commits,
      lastCommitMs: this.lastCommitMs,
      lag: tasks.reduce((s, t) => s + t.lag, 0),
      eventTime: tasks.length === 0 ? Number.NEGATIVE_INFINITY : Math.min(...tasks.map((t) => t.watermark)),
      tasks,
      partitions,
      steps,
    }
  }

  /**
   * The tasks and their stores, for interactive queries (store-queries.ts): null until every task
   * has restored its state, and again once the run ends (the stores close).
   */
  queryableTasks(): readonly QueryableTask[] | null {
    if (!this.queryable) return null
    return this.tasks.map((t) => ({
      id: t.id,
      subTopology: t.sub.index,
      partition: t.partition,
      get watermark() {
        return t.executor.watermark
      },
      stores: t.state.stores,
    }))
  }

  /** How many tasks a sub-topology has (on all instances together); 0 before the run starts. */
  taskCount(subTopology: number): number {
    return this.subs.get(subTopology)?.taskCount ?? 0
  }

  /** The endpoint of the instance that runs a task, when the instances serve queries. */
  ownerOf(taskId: string): string | null {
    return this.owners.get(taskId) ?? null
  }

  /** A global table, for interactive queries; null when not queryable (as `queryableTasks`). */
  queryableGlobalTable(name: string): GlobalTable | null {
    return this.queryable ? (this.globals.table(name) ?? null) : null
  }

  /** Creates topics and tasks, restores state, then runs until stopped; resolves after the final commit. */
  async run(): Promise<void> {
    const onAbort = () => this.stop()
    this.opts.signal?.addEventListener('abort', onAbort)
    try {
      await this.setUp()
      await this.rebalance()
      await this.loop()
    } finally {
      this.queryable = false
      this.opts.signal?.removeEventListener('abort', onAbort)
      await this.tearDown()
    }
  }

  /** Reads every global table's topic to its end, so that tasks start with the tables loaded. */
  private async loadGlobalTables(): Promise<void> {
    const { transport } = this.opts
    for (const topic of this.globals.topics) {
      const n = await transport.partitionCount(topic)
      if (n === null) {
        throw new EddyError(
          'UNKNOWN_TOPIC',
          `the global table reads topic ${topic}, which does not exist: create it first (eddy topics create ${topic})`,
        )
      }
      for (let partition = 0; partition < n; partition++) {
        const input = { topic, partition, position: await transport.earliestOffset(topic, partition) }
        this.globalInputs.push(input)
        const end = await transport.latestOffset(topic, partition, 'read_committed')
        while (input.position < end) {
          if (this.stopping) return
          await this.pollGlobal(input)
        }
      }
    }
  }

  /** Applies what a global table's partition has past its position; resolves at once when nothing. */
  private async pollGlobal(input: { topic: string; partition: number; position: number }): Promise<number> {
    const r = await this.opts.transport.fetch(input.topic, input.partition, input.position, {
      maxBytes: FETCH_BYTES,
      maxWaitMs: 0,
      isolation: 'read_committed',
    })
    for (const rec of r.records) this.globals.apply(rec)
    input.position = Math.max(input.position, r.nextOffset)
    return r.records.length
  }

  private async setUp(): Promise<void> {
    const { transport } = this.opts
    const subs = this.plan.subTopologies()
    await this.loadGlobalTables()
    // Source topics must exist; their partition counts decide everything downstream.
    for (const sub of subs) {
      for (const t of sub.sourceTopics) {
        const n = await transport.partitionCount(t)
        if (n === null) {
          throw new EddyError(
            'UNKNOWN_TOPIC',
            `the pipeline reads topic ${t}, which does not exist: create it first (eddy topics create ${t})`,
          )
        }
        this.partitionCounts.set(t, n)
      }
    }
    const sizing = sizeTopics(
      this.plan,
      subs,
      (t) => this.partitionCounts.get(t)!,
      (r) => this.internal(r.topic),
    )
    const taskCount = sizing.tasks
    for (const sub of subs) {
      const n = taskCount.get(sub.index)!
      this.subs.set(sub.index, { sub, taskCount: n })
      for (let p = 0; p < n; p++)
        this.taskInfos.push({
          id: `${sub.index}_${p}`,
          subTopology: sub.index,
          stateful: sub.stores.length > 0,
        })
    }
    for (const sub of subs) {
      const partitions = taskCount.get(sub.index)!
      for (const rid of sub.repartitionOutputs) {
        const node = this.plan.node(rid)
        if (node.kind !== 'repartition') continue
        const topic = this.internal(node.topic)
        // ensureTopic refuses an existing topic with another partition count, naming both.
        const partitions = sizing.repartitions.get(rid)!
        // No time retention: records are deleted once read and committed (purge.ts).
        this.partitionCounts.set(topic, await transport.ensureTopic(topic, { partitions, retentionMs: null }))
      }
      // Sinks and dead-letter topics are created when missing, with the task count.
      for (const id of sub.nodes) {
        const n = this.plan.node(id)
        const topics: string[] = []
        if (n.kind === 'sink' && n.target.type === 'topic') topics.push(n.target.topic)
        if (n.errorPolicy.kind === 'deadLetter') topics.push(n.errorPolicy.topic)
        for (const t of topics) {
          if (this.partitionCounts.has(t)) continue
          this.partitionCounts.set(
            t,
            (await transport.partitionCount(t)) ?? (await transport.ensureTopic(t, { partitions })),
          )
        }
      }
    }
    if (this.guarantee === 'exactly_once') {
      // One process on the embedded log: a fixed id, so a restart fences (and aborts) what a crashed
      // run left open at once. On Kafka each instance needs its own id.
      const instance = this.opts.instanceId ?? (transport.kind === 'embedded' ? 'worker-0' : randomUUID())
      this.producer = await transport.producer({ transactionalId: `${this.opts.appId}-${instance}` })
    } else {
      this.producer = await transport.producer({})
    }
    this.membership = transport.joinGroup({
      group: this.opts.appId,
      topics: [...new Set(subs.flatMap((s) => s.sourceTopics))],
      userData: () => Buffer.from(JSON.stringify(this.subscription())),
      assign: (members) => this.assign(members),
      ...(this.opts.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: this.opts.sessionTimeoutMs }),
      ...(this.opts.heartbeatIntervalMs === undefined
        ? {}
        : { heartbeatIntervalMs: this.opts.heartbeatIntervalMs }),
      ...(this.opts.rebalanceTimeoutMs === undefined
        ? {}
        : { rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs }),
    })
  }

  private subscription(): Subscription {
    return {
      v: 1,
      endpoint: this.opts.endpoint?.() ?? null,
      active: this.tasks.map((t) => t.id),
      localState: [...new Set([...this.localState, ...(this.opts.localStateTasks?.() ?? [])])],
    }
  }

  /** The leader's part: every instance's tasks, from what each said when it joined. */
  private assign(members: readonly GroupMemberInfo[]): Map<string, GroupAssignmentOut> {
    const subscriptions = new Map<string, Subscription>()
    const instances: InstanceInfo[] = members.map((m) => {
      const sub = parseSubscription(m)
      subscriptions.set(m.memberId, sub)
      return { memberId: m.memberId, previousActive: sub.active, localState: sub.localState }
    })
    const assigned = assignTasks(this.taskInfos, instances, this.opts.standbyReplicas ?? 0)
    const owners: Record<string, string[]> = {}
    for (const [memberId, a] of assigned) {
      const endpoint = subscriptions.get(memberId)!.endpoint
      if (endpoint !== null) owners[endpoint] = [...(owners[endpoint] ?? []), ...a.active]
    }
    const out = new Map<string, GroupAssignmentOut>()
    for (const [memberId, a] of assigned) {
      const info: AssignmentInfo = { v: 1, active: a.active, standby: a.standby, owners }
      const partitions = a.active.flatMap((id) => {
        const [sub, partition] = parseTaskId(id)
        return (this.subs.get(sub)?.sub.sourceTopics ?? []).map((topic) => ({ topic, partition }))
      })
      out.set(memberId, { partitions, userData: Buffer.from(JSON.stringify(info)) })
    }
    return out
  }

  /**
   * Commits what this instance processed, rejoins the group and takes up the tasks it is given:
   * closes those it lost, opens (and restores) those it gained, and keeps its standbys warm.
   */
  private async rebalance(): Promise<void> {
    this.queryable = false
    const membership = this.membership!
    if (this.tasks.length > 0) await this.tryCommit()
    // Dropped by the group (not merely rebalancing): others may have run these tasks since, so
    // their positions and state here are stale. Nothing uncommitted is lost: a commit after the
    // drop is refused, and the one above either went through or had nothing to send.
    if (membership.generationLost) {
      await this.closeAllTasks()
    }
    let assignment: GroupAssignment
    for (;;) {
      assignment = await membership.join()
      if (!membership.rebalancing) break
    }
    // A generation formed without this instance in between (it rejoined too late, or its join
    // was overtaken by another rebalance): its tasks may have run elsewhere meanwhile.
    if (this.generation >= 0 && assignment.generationId !== this.generation + 1) {
      await this.closeAllTasks()
    }
    this.generation = assignment.generationId
    const info = parseAssignment(assignment)
    const active = new Set(info.active)
    const standby = new Set(info.standby)
    const kept: RunningTask[] = []
    for (const t of this.tasks) {
      if (active.has(t.id)) kept.push(t)
      else await this.closeTask(t)
    }
    this.tasks = kept
    for (const [id, state] of this.standbys) {
      if (standby.has(id)) continue
      this.standbys.delete(id)
      await state.close()
    }
    for (const id of info.active) {
      if (this.tasks.some((t) => t.id === id)) continue
      const { sub: s, partition } = this.taskOf(id)
      this.tasks.push(await this.createTask(s.sub, partition, s.taskCount))
      if (s.sub.stores.length > 0) this.localState.add(id)
    }
    for (const id of info.standby) {
      if (this.standbys.has(id)) continue
      const { sub: s, partition } = this.taskOf(id)
      this.standbys.set(id, await this.openState(s.sub, partition, s.taskCount))
      this.localState.add(id)
    }
    this.owners = new Map()
    for (const [endpoint, ids] of Object.entries(info.owners))
      for (const id of ids) this.owners.set(id, endpoint)
    this.lastCommitted = ''
    this.queryable = true
    this.opts.onAssignment?.({ generation: this.generation, active: info.active, standby: info.standby })
  }

  /**
   * Commits; false when the group has moved on from this instance's generation. Its uncommitted
   * work is then dropped (the transaction aborted, every task closed) and it must rejoin.
   */
  private async tryCommit(): Promise<boolean> {
    try {
      await this.commit()
      return true
    } catch (err) {
      if (!isEddyError(err, 'REBALANCED')) throw err
      await this.closeAllTasks()
      this.pending.clear()
      return false
    }
  }

  /** The sub-topology (with its task count) and partition of a task the leader assigned. */
  private taskOf(id: string): { sub: { sub: SubTopology; taskCount: number }; partition: number } {
    const [sub, partition] = parseTaskId(id)
    const s = this.subs.get(sub)
    if (s === undefined) throw unknownTask(id)
    return { sub: s, partition }
  }

  /** Closes every active task (see closeTask). */
  private async closeAllTasks(): Promise<void> {
    for (const t of this.tasks) await this.closeTask(t)
    this.tasks = []
  }

  /** Closes a task; what it did since the last commit (if anything) is dropped. */
  private async closeTask(t: RunningTask): Promise<void> {
    t.closed.value = true
    for (const [id, c] of t.executor.counters) addStepCounters(this.retired, id, c)
    await t.state.close()
  }

  /** Keeps the standby replicas close to their changelogs' ends. */
  private async catchUpStandbys(): Promise<void> {
    for (const state of this.standbys.values()) await state.catchUp?.()
  }

  private openState(sub: SubTopology, partition: number, taskCount: number): Promise<TaskStateHandle> {
    return this.opts.taskState({
      taskId: `${sub.index}_${partition}`,
      partition,
      taskCount,
      stores: sub.stores,
      changelogTopic: (store) => this.internal(`${store}-changelog`),
    })
  }

  private async createTask(sub: SubTopology, partition: number, taskCount: number): Promise<RunningTask> {
    const id = `${sub.index}_${partition}`
    const state = await this.openState(sub, partition, taskCount)
    for (const s of sub.stores) this.partitionCounts.set(this.internal(`${s.name}-changelog`), 0)
    const closed = { value: false }
    const executor = new TaskExecutor(
      this.plan,
      sub,
      state.stores,
      {
        send: (topic, key, value, timestamp, headers, p) => {
          if (!closed.value) this.buffer(topic, key, value, timestamp, headers, p)
        },
        partitionsOf: (topic) => this.partitionCounts.get(topic) ?? 1,
        // buffer() hashes the key and value and copies them into a batch before it returns.
        copiesAtOnce: true,
        stdout: (line) => (this.opts.stdout ?? ((l: string) => process.stdout.write(`${l}\n`)))(line),
      },
      {
        outOfOrdernessMs: this.opts.outOfOrdernessMs ?? 0,
        advanceWithWallClock: this.opts.advanceWithWallClock ?? false,
        idleTimeoutMs: this.opts.idleTimeoutMs ?? 5_000,
        internalTopic: (name) => this.internal(name),
        // Read once per loop iteration: a clock read per record costs more than the record.
        wallClockMs: () => this.nowMs,
        taskIndex: partition,
        taskCount,
        globalTable: (name) => this.globals.table(name),
      },
    )
    const topics = executor.inputTopics()
    const committed = await this.opts.transport.committedOffsets(
      this.opts.appId,
      topics.map((topic) => ({ topic, partition })),
    )
    const inputs: Input[] = []
    for (const topic of topics) {
      const c = committed.find((x) => x.topic === topic && x.partition === partition)
      const earliest = await this.opts.transport.earliestOffset(topic, partition)
      const position = c === undefined || c.offset < 0 ? earliest : Math.max(c.offset, earliest)
      const hw = await this.opts.transport.latestOffset(topic, partition, 'read_committed')
      inputs.push({
        topic,
        partition,
        position,
        highWatermark: hw,
        buffer: [],
        head: 0,
        maxTimestamp: Number.NEGATIVE_INFINITY,
      })
      if (hw > position) executor.markActive(topic, partition)
      if (c?.metadata) executor.restorePartitionTime(topic, partition, c.metadata)
    }
    executor.init()
    return { id, sub, partition, executor, state, inputs, closed }
  }

  private buffer(
    topic: string,
    key: Encoded,
    value: Encoded,
    timestamp: number,
    headers: readonly RecordHeader[],
    explicitPartition?: number,
  ): void {
    const partitions = this.partitionCounts.get(topic) ?? 1
    let partition = explicitPartition ?? 0
    if (explicitPartition === undefined && partitions > 1) {
      // The hash is of the bytes: text is encoded once, here, and the bytes go on to the batch.
      if (key !== null) {
        const bytes = encodedBytes(key)!
        key = bytes
        partition = partitionForKey(bytes, partitions)
      } else if (value !== null) {
        // Null keys spread by value, so a replay puts each record where the first run did.
        const bytes = encodedBytes(value)!
        value = bytes
        partition = toPositive(murmur2(bytes)) % partitions
      }
    }
    const marker = value === null && headers.length > 0 && isWatermarkMarker({ value, headers })
    this.pending.add(topic, partition, key, value, timestamp, headers, marker)
  }

  private async loop(): Promise<void> {
    let lastCommit = Date.now()
    let idleSince = Date.now()
    while (!this.stopping) {
      if (this.membership!.rebalancing) {
        await this.rebalance()
        lastCommit = Date.now()
        continue
      }
      await this.fetchAll()
      this.nowMs = Date.now()
      let processed = 0
      const markersBefore = this.markersIn
      for (const t of this.tasks) processed += this.processTask(t)
      for (const t of this.tasks) {
        t.executor.tick()
        t.executor.emitWatermarks()
      }
      this.recordsIn += processed
      const now = Date.now()
      if (now - lastCommit >= this.commitIntervalMs) {
        if (!(await this.tryCommit())) {
          await this.rebalance()
          lastCommit = Date.now()
          continue
        }
        lastCommit = Date.now()
        if (this.standbys.size > 0 && lastCommit - this.lastCatchUp >= STANDBY_CATCH_UP_MS) {
          await this.catchUpStandbys()
          this.lastCatchUp = Date.now()
        }
      } else if (this.pending.count >= this.maxBatch) {
        // Bounded output buffer: send what is pending inside the open transaction, commit later.
        // The sends run while the next batch is processed; a few at most are in flight.
        const send = this.sendPending()
        send.catch(() => {}) // awaited (and its error handled) by the commit or the next wait
        this.sending.push(send)
        if (this.sending.length > SENDS_IN_FLIGHT_MAX) await this.guarded(() => this.sending.shift()!)
      }
      const caughtUp = this.tasks.every((t) =>
        t.inputs.every((i) => i.position >= i.highWatermark && i.head >= i.buffer.length),
      )
      // Watermark markers are no work, nor is the lag of the commit markers after them (a run
      // with records still to read is not caught up, so it does not stop).
      if (processed > this.markersIn - markersBefore) idleSince = now
      if (
        this.opts.untilIdleMs !== undefined &&
        caughtUp &&
        !this.inTransaction &&
        now - idleSince >= this.opts.untilIdleMs &&
        this.pending.dataCount === 0
      ) {
        break
      }
      if (caughtUp && processed === 0)
        await this.waitForData(Math.max(1, Math.min(this.commitIntervalMs, 200)))
    }
    // The final commit, then the state it leaves on disk with fresh checkpoints: a restart
    // replays nothing.
    if (await this.tryCommit()) for (const t of this.tasks) await t.state.persist?.()
  }

  /** Fills empty input buffers; returns how many records arrived. */
  private async fetchAll(): Promise<number> {
    let total = 0
    const work: Promise<void>[] = []
    // Global tables first take what their topics have now (what tasks look up next).
    for (const g of this.globalInputs) work.push(this.pollGlobal(g).then(() => {}))
    for (const t of this.tasks) {
      for (const input of t.inputs) {
        if (input.head < input.buffer.length) continue
        work.push(
          this.opts.transport
            .fetch(input.topic, input.partition, input.position, {
              maxBytes: FETCH_BYTES,
              isolation: 'read_committed',
            })
            .then((r) => {
              input.buffer = r.records
              input.head = 0
              input.highWatermark = r.highWatermark
              // Skipped offsets (control batches, aborted data) move the position on.
              if (r.records.length === 0) input.position = Math.max(input.position, r.nextOffset)
              total += r.records.length
              if (r.records.length > 0) t.executor.markActive(input.topic, input.partition)
            }),
        )
      }
    }
    await Promise.all(work)
    return total
  }

  private async waitForData(maxWaitMs: number): Promise<void> {
    const controller = new AbortController()
    // One abort listener per input: past 10, Node would warn of a leak that is not one.
    setMaxListeners(0, controller.signal)
    const waits = this.tasks.flatMap((t) =>
      t.inputs.map((i) =>
        this.opts.transport.fetch(i.topic, i.partition, i.position, {
          maxBytes: 1,
          maxWaitMs,
          isolation: 'read_committed',
          signal: controller.signal,
        }),
      ),
    )
    if (waits.length === 0) {
      // No input here (no task assigned): the loop only watches for a rebalance.
      await new Promise((resolve) => setTimeout(resolve, maxWaitMs))
      return
    }
    try {
      await Promise.race(waits)
    } finally {
      controller.abort()
      await Promise.allSettled(waits)
    }
  }

  /** Processes buffered records of one task in timestamp order across its inputs. */
  private processTask(t: RunningTask): number {
    let n = 0
    while (n < this.maxBatch) {
      let best: Input | null = null
      for (const i of t.inputs) {
        if (i.head >= i.buffer.length) {
          // An input with data still to fetch must not be overtaken (timestamp order).
          if (i.position < i.highWatermark) return n
          continue
        }
        if (best === null || i.buffer[i.head]!.timestamp < best.buffer[best.head]!.timestamp) best = i
      }
      if (best === null) return n
      // Async steps hold records; past this backlog the task waits for their results.
      if (t.executor.pendingAsync() >= ASYNC_BACKLOG_MAX) return n
      const record = best.buffer[best.head++]!
      if (record.value === null && isWatermarkMarker(record)) this.markersIn++
      best.position = record.offset + 1
      if (record.timestamp > best.maxTimestamp) best.maxTimestamp = record.timestamp
      t.executor.process(record)
      n++
    }
    return n
  }

  private async commit(): Promise<void> {
    const producer = this.producer
    if (producer === null) return
    const started = performance.now()
    const eos = this.guarantee === 'exactly_once'
    await this.guarded(async () => {
      // Results still inside async steps belong to this commit's offsets: wait for them.
      await Promise.all(this.tasks.map((t) => t.executor.settle()))
      const offsets = this.offsetsToCommit()
      const key = JSON.stringify(offsets)
      // Nothing read, nothing sent since the last commit: no transaction to make.
      if (
        key === this.lastCommitted &&
        this.pending.count === 0 &&
        !this.inTransaction &&
        !this.statesDirty()
      )
        return
      this.beginIfNeeded(producer)
      this.sending.push(this.sendPending())
      const sending = this.sending
      this.sending = []
      await Promise.all(sending)
      const sends: Promise<void>[] = []
      const now = Date.now()
      for (const t of this.tasks) {
        t.state.sweepExpired?.(now)
        for (const c of t.state.flushChangelog()) {
          if (c.records.length > 0) sends.push(producer.send(c.topic, c.partition, c.records))
        }
      }
      await Promise.all(sends)
      const member = this.membership?.generation ?? undefined
      if (eos) {
        await producer.sendOffsets(this.opts.appId, offsets, member)
        await producer.commitTransaction()
        this.inTransaction = false
      } else {
        await this.opts.transport.commitOffsets(this.opts.appId, offsets, member)
      }
      for (const t of this.tasks) await t.state.afterCommit()
      this.lastCommitted = key
      this.commits++
      this.lastCommitMs = performance.now() - started
      this.opts.onCommit?.(this.lastCommitMs)
      await this.purge.afterCommit(offsets)
    })
  }

  private statesDirty(): boolean {
    return this.tasks.some((t) => t.state.hasChanges?.() ?? true)
  }

  /** Sends the buffered output records (inside the open transaction under exactly-once). */
  private async sendPending(): Promise<void> {
    const producer = this.producer
    if (producer === null || this.pending.count === 0) return
    this.beginIfNeeded(producer)
    const sends: Promise<void>[] = []
    for (const { topic, partition, batches } of this.pending.take()) {
      for (const batch of batches) sends.push(producer.send(topic, partition, batch))
    }
    await Promise.all(sends)
  }

  private beginIfNeeded(producer: TransportProducer): void {
    if (this.guarantee === 'exactly_once' && !this.inTransaction) {
      producer.beginTransaction()
      this.inTransaction = true
    }
  }

  /** Runs a step of the commit cycle; on failure aborts the open transaction and rethrows. */
  private async guarded(step: () => Promise<void>): Promise<void> {
    try {
      await step()
    } catch (err) {
      // Sends still in flight belong to the transaction being aborted.
      await Promise.allSettled(this.sending.splice(0))
      if (this.producer !== null && this.inTransaction) {
        this.inTransaction = false
        await this.producer.abortTransaction().catch(() => {})
        for (const t of this.tasks) t.state.afterAbort()
      }
      throw err
    }
  }

  private offsetsToCommit(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = []
    for (const t of this.tasks) {
      for (const i of t.inputs) {
        out.push({
          topic: i.topic,
          partition: i.partition,
          offset: i.position,
          metadata: t.executor.partitionTimeMetadata(i.topic, i.partition),
        })
      }
    }
    return out
  }

  private async tearDown(): Promise<void> {
    // Stores are closed below: keep the last status for whoever asks after the run.
    this.finalStatus = this.status()
    for (const t of this.tasks) await t.state.close()
    for (const s of this.standbys.values()) await s.close()
    // Leaving hands the tasks to the other instances at once (no session timeout to wait out).
    await this.membership?.leave().catch(() => {})
    if (this.producer !== null) {
      if (this.inTransaction) await this.producer.abortTransaction().catch(() => {})
      await this.producer.close().catch((err) => {
        if (!isEddyError(err)) throw err
      })
    }
  }
}

function parseTaskId(id: string): [subTopology: number, partition: number] {
  const [sub, partition] = id.split('_').map(Number)
  if (!Number.isInteger(sub) || !Number.isInteger(partition)) throw unknownTask(id)
  return [sub!, partition!]
}

function unknownTask(id: string): EddyError {
  return new EddyError(
    'INVALID_ARGUMENT',
    `the group's leader assigned task ${id}, which this instance's pipeline does not have: every instance of an app must run the same pipeline code`,
  )
}

function parseSubscription(m: GroupMemberInfo): Subscription {
  try {
    const s = JSON.parse(m.userData.toString('utf8')) as Subscription
    if (s.v === 1 && Array.isArray(s.active) && Array.isArray(s.localState)) return s
  } catch {
    // reported below
  }
  throw new EddyError(
    'INVALID_ARGUMENT',
    `group member ${m.memberId} joined with data this version of Eddy cannot read: every instance of an app must run the same Eddy version`,
  )
}

function parseAssignment(a: GroupAssignment): AssignmentInfo {
  try {
    const info = JSON.parse(a.userData.toString('utf8')) as AssignmentInfo
    if (info.v === 1 && Array.isArray(info.active) && Array.isArray(info.standby)) return info
  } catch {
    // reported below
  }
  throw new EddyError(
    'INVALID_ARGUMENT',
    `the group's leader sent an assignment (generation ${a.generationId}) this version of Eddy cannot read: every instance of an app must run the same Eddy version`,
  )
}
