// Runs one task of a sub-topology: records in, through the plan's nodes, records out. Fully
// synchronous: a record is pushed depth-first through the fused chain of closures, with no
// promise per record. The runtime and the TestDriver both drive this class, so they share one
// semantics (time, windows, errors).
import { EddyError } from '../core/errors.js'
import type { LogRecord, RecordHeader } from '../core/record.js'
import { bytes, type Encoded, type Serde } from '../core/serde.js'
import type { KeyValueStore, StoreSpec, WindowStore } from '../core/store.js'
import type { StreamRecord } from '../core/stream-record.js'
import { keysKeptAsBytes } from '../plan/key-bytes.js'
import {
  type AnyRecord,
  type ErrorPolicy,
  type Origin,
  type PlanNode,
  type ProcessNode,
  recordOf,
  type Step,
} from '../plan/nodes.js'
import type { Plan, SubTopology } from '../plan/plan.js'
import type { GlobalTableView, Processor, ProcessorContext, Timer } from '../plan/processor.js'
import { AsyncStage } from './async-stage.js'
import { TimerService } from './timers.js'
import { type ChannelWatermark, type SourceHandle, WatermarkTracker } from './watermarks.js'

export interface StoreProvider {
  keyValueStore(spec: StoreSpec): KeyValueStore<unknown, unknown>
  windowStore(spec: StoreSpec): WindowStore<unknown, unknown>
}

/** Where a task's results go. Topic records are already serialized. */
export interface TaskOutput {
  /** Without `partition`, the output picks it from the key. */
  send(
    topic: string,
    key: Encoded,
    value: Encoded,
    timestamp: number,
    headers: readonly RecordHeader[],
    partition?: number,
  ): void
  stdout(line: string): void
  partitionsOf(topic: string): number
  /**
   * `send` copies the key and value bytes before it returns (into an output batch), so a sink
   * may hand it bytes that its serde reuses (Serde.serializeTransient).
   */
  readonly copiesAtOnce?: boolean
}

/** The header of a watermark marker in a repartition topic. */
export const WATERMARK_HEADER = 'eddy.watermark'

/** A watermark marker (a null value with the marker header): it carries event time, not data. */
export function isWatermarkMarker(r: {
  readonly value: Buffer | null
  readonly headers?: readonly RecordHeader[]
}): boolean {
  return r.value === null && r.headers !== undefined && r.headers.some((h) => h.key === WATERMARK_HEADER)
}

export interface ExecutorOptions {
  readonly outOfOrdernessMs: number
  readonly advanceWithWallClock: boolean
  readonly idleTimeoutMs: number
  /** The full name of an internal topic (app id prefix). */
  readonly internalTopic: (name: string) => string
  readonly wallClockMs: () => number
  /** This task's index in its sub-topology (its partition) and the sub-topology's task count. */
  readonly taskIndex: number
  readonly taskCount: number
  /** The worker's global tables, by name. */
  readonly globalTable?: (name: string) => GlobalTableView<unknown, unknown> | undefined
}

export interface StepCounters {
  in: number
  out: number
  errors: number
  skipped: number
  deadLettered: number
}

/** Adds a step's counters into a sum per step (over tasks). */
export function addStepCounters(into: Map<string, StepCounters>, step: string, c: StepCounters): void {
  const sum = into.get(step) ?? { in: 0, out: 0, errors: 0, skipped: 0, deadLettered: 0 }
  sum.in += c.in
  sum.out += c.out
  sum.errors += c.errors
  sum.skipped += c.skipped
  sum.deadLettered += c.deadLettered
  into.set(step, sum)
}

/** A user function failed and the step's policy is `fail`. */
export class ProcessingError extends EddyError {
  constructor(
    readonly step: string,
    readonly source: { topic: string; partition: number; offset: number },
    cause: unknown,
  ) {
    super(
      'INVALID_RECORD',
      `step ${step} failed on the record at ${source.topic}-${source.partition} offset ${source.offset}: ${
        cause instanceof Error ? cause.message : String(cause)
      }. Fix the step, or give it onError: 'skip' or { deadLetter: 'topic' }`,
      { cause },
    )
    this.name = 'ProcessingError'
  }
}

/** A step's entry: a record as arguments (see Step in plan/nodes.ts). */
type Push = Step

/** Where a step reports a failure of a user function: the task applies the step's policy. */
type Fail = (err: unknown) => void

const NOOP: Push = { push() {} }

/** A StreamRecord whose fields the executor may set (a processor's reused input). */
type MutableRecord = { -readonly [F in keyof AnyRecord]: AnyRecord[F] }
const NO_ORIGIN: Origin = { topic: '', partition: -1, offset: -1 }

/** Hands a StreamRecord (a processor's output) to a push, the record itself as its origin. */
function pushRecord(push: Push, r: AnyRecord): void {
  push.push(r.key, r.value, r.timestamp, r.headers, r)
}

export class TaskExecutor {
  private readonly stepCounters = new Map<string, StepCounters>()
  /**
   * Stateless steps whose records-out count is their child's records-in count: the step → that
   * child's counters. Counting once per record, not twice, is measurable on a chain of cheap steps.
   */
  private readonly outFromChild = new Map<string, StepCounters>()
  /** Steps that pass on every record but those that fail (sources, topic sinks): out = in - errors. */
  private readonly outIsInLessErrors = new Set<string>()
  private readonly watermarks: WatermarkTracker
  /** Entry points: an input topic → the pushes of the nodes that read it (deserializing first). */
  private readonly entries = new Map<string, SourceEntry[]>()
  /** The topic of the last record processed and its entries (entries never change after construction). */
  private lastTopic: string | null = null
  private lastEntries: SourceEntry[] | undefined = undefined
  private readonly processors: {
    node: ProcessNode
    processor: Processor<unknown, unknown, unknown, unknown>
    ctx: Ctx
  }[] = []
  /** The source record being processed: errors and dead letters name it. */
  private current: LogRecord | null = null
  private readonly asyncStages: AsyncStage[] = []
  private asyncFailure: unknown = null
  private deferredAdvance = false
  private readonly settleWaiters: { resolve: () => void; reject: (err: unknown) => void }[] = []
  private readonly storeInstances = new Map<
    string,
    KeyValueStore<unknown, unknown> | WindowStore<unknown, unknown>
  >()
  /** The last watermark marker sent downstream, to send only changes. */
  private lastMarker: { watermark: number; idle: boolean } | null = null
  /** Sources, steps and sinks whose keys travel undecoded (plan/key-bytes.ts). */
  private readonly keyBytes: ReadonlySet<string>

  constructor(
    private readonly plan: Plan,
    readonly sub: SubTopology,
    private readonly stores: StoreProvider,
    private readonly output: TaskOutput,
    private readonly opts: ExecutorOptions,
  ) {
    this.watermarks = new WatermarkTracker(opts)
    this.keyBytes = keysKeptAsBytes(plan, sub)
    const members = new Set(sub.nodes)
    const pushes = new Map<string, Push>()
    // Children before parents, so each node's push can call its children's.
    for (let i = sub.nodes.length - 1; i >= 0; i--) {
      const id = sub.nodes[i]!
      const node = plan.node(id)
      if (node.kind === 'process' && node.parents.length > 1) {
        // A step with several inputs (a join): one entry per input, so it knows where a record came from.
        const entry = this.processPush(node, members, pushes, this.childPushes(id, members, pushes))
        for (let input = 0; input < node.parents.length; input++)
          pushes.set(inputKey(id, input), entry(input))
      } else {
        pushes.set(id, this.buildPush(node, members, pushes))
      }
    }
    for (const id of sub.nodes) {
      const node = plan.node(id)
      if (node.kind === 'source') {
        for (const topic of node.topics) this.addEntry(topic, this.sourceEntry(node, pushes.get(id)!))
      }
    }
    for (const rid of sub.repartitionInputs) {
      const node = plan.node(rid)
      if (node.kind !== 'repartition') continue
      const children = this.childPushes(rid, members, pushes)
      const topic = opts.internalTopic(node.topic)
      if (node.timed !== false) this.watermarks.declareMarkerPartition(`${topic}-${opts.taskIndex}`)
      this.addEntry(topic, this.sourceEntry(node, fanOut(children)))
    }
  }

  /**
   * Tells downstream tasks this task's event time: a marker to every partition of each
   * repartition topic it writes, when its watermark or idleness changed.
   */
  emitWatermarks(): void {
    if (this.sub.repartitionOutputs.length === 0) return
    // Records still inside async steps will be written with older timestamps: wait for them.
    if (this.pendingAsync() > 0) return
    const watermark = this.watermarks.watermark
    const idle = this.watermarks.isIdle()
    if (this.lastMarker !== null && this.lastMarker.watermark === watermark && this.lastMarker.idle === idle)
      return
    this.lastMarker = { watermark, idle }
    const marker = Buffer.from(
      JSON.stringify({
        task: this.opts.taskIndex,
        of: this.opts.taskCount,
        watermark: Number.isFinite(watermark) ? watermark : null,
        idle,
      }),
    )
    const headers = [{ key: WATERMARK_HEADER, value: marker }]
    const timestamp = Number.isFinite(watermark) ? watermark : 0
    for (const rid of this.sub.repartitionOutputs) {
      const node = this.plan.node(rid)
      if (node.kind !== 'repartition' || node.timed === false) continue
      const topic = this.opts.internalTopic(node.topic)
      for (let p = 0; p < this.output.partitionsOf(topic); p++)
        this.output.send(topic, null, null, timestamp, headers, p)
    }
  }

  /** Creates the processors and lets them read their (restored) stores. */
  init(): void {
    for (const p of this.processors) p.processor.init?.(p.ctx)
  }

  get watermark(): number {
    return this.watermarks.watermark
  }

  /** Topics this task reads (sources and repartition topics). */
  inputTopics(): string[] {
    return [...this.entries.keys()]
  }

  private addEntry(topic: string, entry: SourceEntry): void {
    const list = this.entries.get(topic) ?? []
    list.push(entry)
    this.entries.set(topic, list)
  }

  /** Records in and out of each step so far (a snapshot). */
  get counters(): ReadonlyMap<string, StepCounters> {
    const all = new Map<string, StepCounters>()
    for (const [id, c] of this.stepCounters) {
      const child = this.outFromChild.get(id)
      if (child !== undefined) all.set(id, { ...c, out: child.in })
      else if (this.outIsInLessErrors.has(id)) all.set(id, { ...c, out: c.in - c.errors })
      else all.set(id, { ...c })
    }
    return all
  }

  private countersOf(id: string): StepCounters {
    let c = this.stepCounters.get(id)
    if (c === undefined) {
      c = { in: 0, out: 0, errors: 0, skipped: 0, deadLettered: 0 }
      this.stepCounters.set(id, c)
    }
    return c
  }

  /** A child in this task that reads only this step, so its records in are this step's records out. */
  private soleReader(id: string, members: ReadonlySet<string>): string | null {
    for (const c of this.plan.children(id)) {
      const child = this.plan.node(c)
      if (members.has(c) && child.kind !== 'side' && child.parents.length === 1) return c
    }
    return null
  }

  /** Event time of an input partition, to store with its committed offset. */
  partitionTimeMetadata(topic: string, partition: number): string {
    const time = this.watermarks.checkpoint(`${topic}-${partition}`)
    return JSON.stringify({
      eddy: 1,
      time,
      watermark: Number.isFinite(this.watermark) ? this.watermark : null,
    })
  }

  /** Restores an input partition's event time from committed offset metadata (ignores others'). */
  restorePartitionTime(topic: string, partition: number, metadata: string): void {
    let parsed: { eddy?: number; time?: unknown; watermark?: number | null }
    try {
      parsed = JSON.parse(metadata) as typeof parsed
    } catch {
      return
    }
    if (parsed.eddy !== 1) return
    this.watermarks.restore(
      `${topic}-${partition}`,
      parsed.time ?? null,
      parsed.watermark ?? Number.NEGATIVE_INFINITY,
    )
    // A source partition that had records holds time back after a restart as it did before, until
    // it has been quiet for the idle timeout; without this, one already read to its end would be
    // idle at once, and windows would close that an uninterrupted run leaves open.
    const time = parsed.time as { maxTs?: unknown } | null
    if (typeof time?.maxTs === 'number') this.markActive(topic, partition)
  }

  markActive(topic: string, partition: number): void {
    this.watermarks.markActive(`${topic}-${partition}`, this.opts.wallClockMs())
  }

  /** Processes one record from the log; event-time effects (closing windows, timers) follow it. */
  process(raw: LogRecord): void {
    // Records come in runs of one topic: look its entries up once per run.
    let entries = this.lastEntries
    if (raw.topic !== this.lastTopic || entries === undefined) {
      entries = this.entries.get(raw.topic)
      if (entries === undefined)
        throw new EddyError('INVALID_ARGUMENT', `this task does not read topic ${raw.topic}`)
      this.lastTopic = raw.topic
      this.lastEntries = entries
    }
    this.current = raw
    try {
      if (entries.length === 1) entries[0]!.process(raw)
      else for (let i = 0; i < entries.length; i++) entries[i]!.process(raw)
    } catch (err) {
      throw err instanceof StepFailure ? err.error : err
    } finally {
      this.current = null
    }
  }

  /** Lets wall-clock time pass: processing-time timers fire, idle inputs stop holding time back. */
  tick(): void {
    const now = this.opts.wallClockMs()
    try {
      if (this.watermarks.tick(now, this.opts.idleTimeoutMs)) this.advanceEventTime()
      for (const p of this.processors) {
        p.ctx.timers.fireProcessing(now, (t) => this.guard(p.node, () => p.processor.onTimer?.(t, p.ctx)))
      }
    } catch (err) {
      throw err instanceof StepFailure ? err.error : err
    }
  }

  /** Records inside async steps, not yet emitted. */
  pendingAsync(): number {
    let n = 0
    for (const s of this.asyncStages) n += s.pending
    return n
  }

  /** Resolves once every async step has emitted everything; rejects if one failed the task. */
  settle(): Promise<void> {
    if (this.asyncFailure !== null) return Promise.reject(this.asyncFailure)
    if (this.pendingAsync() === 0) return Promise.resolve()
    return new Promise((resolve, reject) => this.settleWaiters.push({ resolve, reject }))
  }

  private onAsyncIdle(): void {
    if (this.pendingAsync() > 0 && this.asyncFailure === null) return
    // Event time held back while async results were outstanding moves on now.
    if (this.deferredAdvance && this.asyncFailure === null) {
      this.deferredAdvance = false
      try {
        this.advanceEventTime()
      } catch (err) {
        this.asyncFailure = err instanceof StepFailure ? err.error : err
      }
    }
    const waiters = this.settleWaiters.splice(0)
    for (const w of waiters) {
      if (this.asyncFailure !== null) w.reject(this.asyncFailure)
      else w.resolve()
    }
  }

  private withSource(source: LogRecord | null, fn: () => void): void {
    const prev = this.current
    this.current = source
    try {
      fn()
    } finally {
      this.current = prev
    }
  }

  private advanceEventTime(): void {
    // Windows must not close while results of earlier records are still inside an async step.
    if (this.pendingAsync() > 0) {
      this.deferredAdvance = true
      return
    }
    const wm = this.watermarks.watermark
    for (const p of this.processors) {
      p.ctx.timers.fireEvent(wm, (t) => this.guard(p.node, () => p.processor.onTimer?.(t, p.ctx)))
      if (p.processor.onWatermark) this.guard(p.node, () => p.processor.onWatermark!(wm, p.ctx))
    }
  }

  private sourceEntry(node: Extract<PlanNode, { kind: 'source' | 'repartition' }>, push: Push): SourceEntry {
    // A repartition topic's reading side counts apart from its writing side (another task).
    const id = node.kind === 'source' ? node.id : `${node.id}.read`
    const counters = this.countersOf(id)
    this.outIsInLessErrors.add(id)
    return new SourceEntry(node, push, counters, this, this.keyBytes.has(node.id), (err) =>
      this.onError(node.id, node.errorPolicy, counters, err),
    )
  }

  /** The source record being processed (for AsyncInput). */
  get currentSource(): LogRecord | null {
    return this.current
  }

  /** A source record's event time: observed, and time moved on if it advanced (for SourceEntry). */
  observeSourceTime(partition: SourceHandle, timestamp: number): void {
    if (this.watermarks.observeSource(partition, timestamp)) this.advanceEventTime()
  }

  /**
   * Source partitions that had records since the last tick were active now (tick does this too).
   * The test driver calls it after each record, so idle timeouts count from that record.
   */
  stampSourceActivity(): void {
    this.watermarks.stampActivity(this.opts.wallClockMs())
  }

  /** A source partition's time in the tracker (for SourceEntry). */
  sourceTime(partition: string): SourceHandle {
    return this.watermarks.sourceHandle(partition, this.opts.wallClockMs())
  }

  /** An upstream task's watermark marker (for SourceEntry). */
  observeMarker(partition: string, marker: ChannelWatermark): void {
    if (this.watermarks.observeMarker(partition, marker)) this.advanceEventTime()
  }

  /** The pushes of a node's children in this task (side outputs apart), one per input they read it as. */
  private childPushes(id: string, members: ReadonlySet<string>, pushes: ReadonlyMap<string, Push>): Push[] {
    const out: Push[] = []
    for (const c of new Set(this.plan.children(id))) {
      if (!members.has(c)) continue
      const child = this.plan.node(c)
      if (child.kind === 'side') continue
      if (child.kind === 'process' && child.parents.length > 1) {
        child.parents.forEach((p, input) => {
          if (p === id) out.push(pushes.get(inputKey(c, input))!)
        })
      } else {
        out.push(pushes.get(c)!)
      }
    }
    return out
  }

  private buildPush(node: PlanNode, members: ReadonlySet<string>, pushes: ReadonlyMap<string, Push>): Push {
    const next = fanOut(this.childPushes(node.id, members, pushes))
    const counters = this.countersOf(node.id)
    const fail: Fail = (err) => this.onError(node.id, node.errorPolicy, counters, err)
    switch (node.kind) {
      case 'source':
        return next
      case 'merge':
        return new PassStep(counters, next)
      case 'map': {
        const reader = this.soleReader(node.id, members)
        if (reader !== null) this.outFromChild.set(node.id, this.countersOf(reader))
        const out = reader === null ? new CountOut(counters, next) : next
        if (node.guardedStep !== undefined) return node.guardedStep(out, { counters, fail })
        return new UserStep(counters, node.step(out), fail)
      }
      case 'process':
        return this.processPush(node, members, pushes, [next])(0)
      case 'side':
        return next
      case 'repartition':
        this.outIsInLessErrors.add(node.id)
        return new TopicSink(
          counters,
          this.output,
          this.opts.internalTopic(node.topic),
          node.keySerde,
          node.valueSerde,
          fail,
        )
      case 'sink': {
        const target = node.target
        if (target.type === 'topic') {
          this.outIsInLessErrors.add(node.id)
          const keySerde = this.keyBytes.has(node.id) ? KEY_AS_READ : target.keySerde
          return new TopicSink(counters, this.output, target.topic, keySerde, target.valueSerde, fail)
        }
        if (target.type === 'fn') return new FnSink(counters, target.fn, fail)
        return new StdoutSink(counters, this.output, target.format, fail)
      }
      case 'async': {
        const stage = new AsyncStage(node, {
          emit: (r, source) => {
            counters.out++
            this.withSource(source, () => pushRecord(next, r))
          },
          fail: (err, source) => this.withSource(source, () => fail(err)),
          onIdle: () => this.onAsyncIdle(),
          onFatal: (err) => {
            this.asyncFailure ??= err instanceof StepFailure ? err.error : err
            this.onAsyncIdle()
          },
        })
        this.asyncStages.push(stage)
        return new AsyncInput(counters, stage, this)
      }
    }
  }

  /** A process step's entry for each of its inputs. */
  private processPush(
    node: ProcessNode,
    members: ReadonlySet<string>,
    pushes: ReadonlyMap<string, Push>,
    children: readonly Push[],
  ): (input: number) => Push {
    const next = fanOut(children)
    const counters = this.countersOf(node.id)
    const sideOutputs = new Map<string, Push>()
    for (const c of this.plan.children(node.id)) {
      const child = this.plan.node(c)
      if (child.kind === 'side' && members.has(c)) {
        const prev = sideOutputs.get(child.output)
        const push = pushes.get(c)!
        sideOutputs.set(child.output, prev === undefined ? push : fanOut([prev, push]))
      }
    }
    const declared = [...node.stores, ...(node.sharedStores ?? []).map((name) => this.storeSpec(name))]
    const specs = new Map(declared.map((s) => [s.name, s]))
    const kvStores = new Map<string, KeyValueStore<unknown, unknown>>()
    const windowStores = new Map<string, WindowStore<unknown, unknown>>()
    for (const spec of declared) {
      const store = this.storeInstance(spec)
      if (spec.kind === 'kv') kvStores.set(spec.name, store as KeyValueStore<unknown, unknown>)
      else windowStores.set(spec.name, store as WindowStore<unknown, unknown>)
    }
    const timerStore = kvStores.get(`${node.id}-timers`) ?? null
    const executor = this
    const ctx: Ctx = {
      step: node.id,
      timers: new TimerService(timerStore),
      get watermark() {
        return executor.watermarks.watermark
      },
      get wallClockMs() {
        return executor.opts.wallClockMs()
      },
      forward(r) {
        counters.out++
        pushRecord(next, r as AnyRecord)
      },
      forwardTo(output, r) {
        const push = sideOutputs.get(output)
        if (push === undefined && !node.sideOutputs.includes(output)) {
          throw new EddyError('INVALID_ARGUMENT', `step ${node.id} has no side output ${output}`)
        }
        if (push !== undefined) pushRecord(push, r)
      },
      keyValueStore<K, V>(name: string) {
        const s = kvStores.get(name)
        if (s === undefined) throw missingStore(node.id, name, specs)
        return s as KeyValueStore<K, V>
      },
      globalTable<K, V>(name: string) {
        const g = executor.opts.globalTable?.(name)
        if (g === undefined) {
          throw new EddyError(
            'INVALID_ARGUMENT',
            `step ${node.id} reads global table ${name}, which the app does not have`,
          )
        }
        return g as GlobalTableView<K, V>
      },
      windowStore<K, V>(name: string) {
        const s = windowStores.get(name)
        if (s === undefined) throw missingStore(node.id, name, specs)
        return s as WindowStore<K, V>
      },
      registerEventTimer(key, time, tag = '') {
        this.timers.register({ key, time, domain: 'event', tag })
      },
      registerProcessingTimer(key, time, tag = '') {
        this.timers.register({ key, time, domain: 'processing', tag })
      },
      deleteTimer(key, time, domain, tag = '') {
        this.timers.delete({ key, time, domain, tag })
      },
    }
    const processor = node.create()
    this.processors.push({ node, processor, ctx })
    const fail: Fail = (err) => this.onError(node.id, node.errorPolicy, counters, err)
    // A step with several parents tells its processor which input a record came from (-1: none).
    const several = processor.processFrom !== undefined && node.parents.length > 1
    return (input) => new ProcessInput(counters, processor, ctx, several ? input : -1, fail)
  }

  /** The spec of a store some step of the plan declares. */
  private storeSpec(name: string): StoreSpec {
    for (const s of this.sub.stores) if (s.name === name) return s
    throw new EddyError('INVALID_ARGUMENT', `no step of this part of the plan declares store ${name}`)
  }

  /** One instance per store and task, however many steps use it. */
  private storeInstance(spec: StoreSpec): KeyValueStore<unknown, unknown> | WindowStore<unknown, unknown> {
    let s = this.storeInstances.get(spec.name)
    if (s === undefined) {
      s = spec.kind === 'kv' ? this.stores.keyValueStore(spec) : this.stores.windowStore(spec)
      this.storeInstances.set(spec.name, s)
    }
    return s
  }

  /** Runs a processor callback (timer, watermark) under the step's error policy. */
  private guard(node: ProcessNode, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.onError(node.id, node.errorPolicy, this.countersOf(node.id), err)
    }
  }

  private onError(step: string, policy: ErrorPolicy, counters: StepCounters, err: unknown): void {
    // A later step's failure passes up through this step's catch unchanged.
    if (err instanceof StepFailure) throw err
    counters.errors++
    const source = this.current ?? {
      topic: '(timer)',
      partition: -1,
      offset: -1,
      key: null,
      value: null,
      timestamp: 0,
      headers: [],
    }
    if (policy.kind === 'skip') {
      counters.skipped++
      return
    }
    if (policy.kind === 'deadLetter') {
      counters.deadLettered++
      const message = err instanceof Error ? err.message : String(err)
      const headers: RecordHeader[] = [
        ...source.headers,
        { key: 'eddy.error', value: Buffer.from(message) },
        { key: 'eddy.step', value: Buffer.from(step) },
        { key: 'eddy.source.topic', value: Buffer.from(source.topic) },
        { key: 'eddy.source.partition', value: Buffer.from(String(source.partition)) },
        { key: 'eddy.source.offset', value: Buffer.from(String(source.offset)) },
      ]
      this.output.send(policy.topic, source.key, source.value, source.timestamp, headers)
      return
    }
    throw new StepFailure(
      new ProcessingError(
        step,
        { topic: source.topic, partition: source.partition, offset: source.offset },
        err,
      ),
    )
  }
}

/** Carries a ProcessingError up through the parents' catch blocks unchanged. */
export class StepFailure extends Error {
  constructor(readonly error: ProcessingError) {
    super(error.message, { cause: error })
    this.name = 'StepFailure'
  }
}

interface Ctx extends ProcessorContext<unknown, unknown> {
  readonly timers: TimerService
}

function missingStore(step: string, name: string, specs: ReadonlyMap<string, StoreSpec>): EddyError {
  return new EddyError(
    'INVALID_ARGUMENT',
    `step ${step} uses store ${name} but declares only [${[...specs.keys()].join(', ')}]: declare it in the step's stores`,
  )
}

function markerOf(raw: LogRecord): ChannelWatermark | null {
  if (raw.value !== null || raw.headers.length === 0) return null
  const h = raw.headers.find((x) => x.key === WATERMARK_HEADER)
  if (h?.value == null) return null
  const m = JSON.parse(h.value.toString()) as {
    task: number
    of: number
    watermark: number | null
    idle: boolean
  }
  return { task: m.task, of: m.of, watermark: m.watermark ?? Number.NEGATIVE_INFINITY, idle: m.idle }
}

/** The push of one input of a step with several inputs. */
function inputKey(id: string, input: number): string {
  return `${id}\u0000${input}`
}

function fanOut(children: readonly Push[]): Push {
  if (children.length === 0) return NOOP
  if (children.length === 1) return children[0]!
  return new FanOut(children)
}

// ---- the steps a task chains together ------------------------------------------------------
// Classes, not closures: several tasks in one process each build a chain, and V8 keys a class's
// call sites on its hidden class (shared by all tasks), a closure's on the closure (one per task).

class FanOut implements Step {
  constructor(private readonly children: readonly Push[]) {}
  push(k: unknown, v: unknown, ts: number, h: readonly RecordHeader[], o: Origin): void {
    const c = this.children
    for (let i = 0; i < c.length; i++) c[i]!.push(k, v, ts, h, o)
  }
}

/** A merge: counts, and passes records on. */
class PassStep implements Step {
  constructor(
    private readonly counters: StepCounters,
    private readonly next: Push,
  ) {}
  push(k: unknown, v: unknown, ts: number, h: readonly RecordHeader[], o: Origin): void {
    this.counters.in++
    this.counters.out++
    this.next.push(k, v, ts, h, o)
  }
}

/** Counts what a stateless step emits. */
class CountOut implements Step {
  constructor(
    private readonly counters: StepCounters,
    private readonly next: Push,
  ) {}
  push(k: unknown, v: unknown, ts: number, h: readonly RecordHeader[], o: Origin): void {
    this.counters.out++
    this.next.push(k, v, ts, h, o)
  }
}

/** A stateless step (the DSL's, in `step`) under its error policy. */
class UserStep implements Step {
  constructor(
    private readonly counters: StepCounters,
    private readonly step: Step,
    private readonly fail: Fail,
  ) {}
  push(k: unknown, v: unknown, ts: number, h: readonly RecordHeader[], o: Origin): void {
    this.counters.in++
    try {
      this.step.push(k, v, ts, h, o)
    } catch (err) {
      this.fail(err)
    }
  }
}

/**
 * The key serde of a source and a sink between which keys travel as the bytes they were read as
 * (plan/key-bytes.ts): it hands the bytes on both ways.
 */
const KEY_AS_READ = bytes() as Serde<unknown>

/** Writes records to a topic (a sink, or a repartition topic's writing side). */
class TopicSink implements Step {
  /** Text serdes hand over their text: the output writes it into its batch as UTF-8. */
  private readonly keyText: boolean
  private readonly valueText: boolean
  /** The value serde may write into bytes of its own, which the output copies at once. */
  private readonly valueTransient: boolean
  constructor(
    private readonly counters: StepCounters,
    private readonly output: TaskOutput,
    private readonly topic: string,
    private readonly keySerde: Serde<unknown>,
    private readonly valueSerde: Serde<unknown>,
    private readonly fail: Fail,
  ) {
    this.keyText = keySerde.serializeText !== undefined
    this.valueText = valueSerde.serializeText !== undefined
    this.valueTransient = valueSerde.serializeTransient !== undefined && output.copiesAtOnce === true
  }
  push(k: unknown, v: unknown, ts: number, h: readonly RecordHeader[]): void {
    this.counters.in++
    try {
      const key = this.keyText ? this.keySerde.serializeText!(k) : this.keySerde.serialize(k)
      const value = this.valueTransient
        ? this.valueSerde.serializeTransient!(v)
        : this.valueText
          ? this.valueSerde.serializeText!(v)
          : this.valueSerde.serialize(v)
      // The output refuses a record past the limits here, so the policy sees it with its source.
      this.output.send(this.topic, key, value, ts, h)
    } catch (err) {
      this.fail(err)
    }
  }
}

class FnSink implements Step {
  constructor(
    private readonly counters: StepCounters,
    private readonly fn: (record: AnyRecord) => void,
    private readonly fail: Fail,
  ) {}
  push(k: unknown, v: unknown, ts: number, h: readonly RecordHeader[], o: Origin): void {
    this.counters.in++
    try {
      const f = this.fn
      f(recordOf(k, v, ts, h, o))
      this.counters.out++
    } catch (err) {
      this.fail(err)
    }
  }
}

class StdoutSink implements Step {
  constructor(
    private readonly counters: StepCounters,
    private readonly output: TaskOutput,
    private readonly format: (record: AnyRecord) => string,
    private readonly fail: Fail,
  ) {}
  push(k: unknown, v: unknown, ts: number, h: readonly RecordHeader[], o: Origin): void {
    this.counters.in++
    try {
      const f = this.format
      this.output.stdout(f(recordOf(k, v, ts, h, o)))
      this.counters.out++
    } catch (err) {
      this.fail(err)
    }
  }
}

/** One input of a process step. */
class ProcessInput implements Step {
  /** The record object refilled for each record, for a processor that only borrows it. */
  private readonly reused: MutableRecord | null
  constructor(
    private readonly counters: StepCounters,
    private readonly processor: Processor<unknown, unknown, unknown, unknown>,
    private readonly ctx: Ctx,
    /** The input's index for processFrom, or -1 to call process. */
    private readonly input: number,
    private readonly fail: Fail,
  ) {
    this.reused = processor.borrowsRecords === true ? recordOf(null, null, 0, [], NO_ORIGIN) : null
  }
  push(k: unknown, v: unknown, ts: number, h: readonly RecordHeader[], o: Origin): void {
    this.counters.in++
    try {
      const r = this.reused
      let record: AnyRecord
      if (r === null) record = recordOf(k, v, ts, h, o)
      else {
        r.key = k
        r.value = v
        r.timestamp = ts
        r.headers = h
        r.topic = o.topic
        r.partition = o.partition
        r.offset = o.offset
        record = r
      }
      if (this.input < 0) this.processor.process(record, this.ctx)
      else this.processor.processFrom!(this.input, record, this.ctx)
    } catch (err) {
      this.fail(err)
    }
  }
}

class AsyncInput implements Step {
  constructor(
    private readonly counters: StepCounters,
    private readonly stage: AsyncStage,
    private readonly task: { readonly currentSource: LogRecord | null },
  ) {}
  push(k: unknown, v: unknown, ts: number, h: readonly RecordHeader[], o: Origin): void {
    this.counters.in++
    this.stage.push(recordOf(k, v, ts, h, o), this.task.currentSource)
  }
}

/** Where a topic's records enter a task: deserialized, pushed on, and their time observed. */
class SourceEntry {
  private readonly keySerde: Serde<unknown>
  private readonly valueSerde: Serde<unknown>
  private readonly timestampOf: ((record: AnyRecord) => number) | undefined
  /** A repartition topic timed by its upstream tasks' markers. */
  private readonly timedByMarkers: boolean
  /** Records fed back around a loop (an untimed repartition topic) move no time at all. */
  private readonly untimed: boolean
  /** Each partition's time in the tracker, looked up once. */
  private readonly sources: SourceHandle[] = []

  constructor(
    node: Extract<PlanNode, { kind: 'source' | 'repartition' }>,
    private readonly next: Push,
    private readonly counters: StepCounters,
    private readonly task: TaskExecutor,
    /** Keys go on undecoded, as their bytes (plan/key-bytes.ts). */
    keyAsBytes: boolean,
    private readonly fail: Fail,
  ) {
    this.keySerde = keyAsBytes ? KEY_AS_READ : node.keySerde
    this.valueSerde = node.valueSerde
    this.timestampOf = node.kind === 'source' ? node.timestampOf : undefined
    this.timedByMarkers = node.kind === 'repartition' && node.timed !== false
    this.untimed = node.kind === 'repartition' && node.timed === false
  }

  process(raw: LogRecord): void {
    if (this.timedByMarkers) {
      const marker = markerOf(raw)
      if (marker !== null) {
        this.task.observeMarker(`${raw.topic}-${raw.partition}`, marker)
        return
      }
    }
    this.counters.in++
    let key: unknown
    let value: unknown
    let timestamp = raw.timestamp
    try {
      key = this.keySerde.deserialize(raw.key)
      value = this.valueSerde.deserialize(raw.value)
      const timestampOf = this.timestampOf
      if (timestampOf !== undefined)
        timestamp = timestampOf(recordOf(key, value, timestamp, raw.headers, raw))
    } catch (err) {
      this.fail(err)
      return
    }
    this.next.push(key, value, timestamp, raw.headers, raw)
    if (this.timedByMarkers || this.untimed) return
    let source = this.sources[raw.partition]
    if (source === undefined) {
      source = this.task.sourceTime(`${raw.topic}-${raw.partition}`)
      this.sources[raw.partition] = source
    }
    this.task.observeSourceTime(source, timestamp)
  }
}

export type { StreamRecord, Timer }
