// Runs a topology's tasks in this process without the log, the way published Nexmark results are
// measured (generator → query → discarding sink): one TaskExecutor per sub-topology (one
// partition each), memory stores, records handed between sub-topologies as objects. Driven
// synchronously over batches as the runtime drives it: process a batch, then tick and send
// watermarks downstream.
import type { LogRecord, RecordHeader } from '../../core/record.js'
import { type Encoded, encodedBytes, type Serde } from '../../core/serde.js'
import type { Topology } from '../../dsl/stream.js'
import { Plan } from '../../plan/plan.js'
import { TaskExecutor, type TaskOutput } from '../../runtime/task-executor.js'
import { MemoryKeyValueStore, MemoryWindowStore } from '../../state/memory-stores.js'

/** A serde for values that are never bytes here: records stay objects from end to end. */
export function passThrough<T>(): Serde<T> {
  return {
    name: 'in-process',
    serialize: (v) => v as unknown as Buffer,
    deserialize: (b) => b as unknown as T,
  }
}

/** The wall clock at the end of input: every input goes idle and event time moves to its end. */
const END_OF_TIME_MS = 8.64e15

interface InProcessTask {
  readonly executor: TaskExecutor
  /** Records written to this task's repartition input, waiting to be processed. */
  readonly inbox: LogRecord[]
}

export interface InProcessOptions {
  /** The source topic the caller feeds (its records go to the first sub-topology). */
  readonly sourceTopic: string
  readonly outOfOrdernessMs: number
}

export class InProcessPipeline {
  private readonly tasks: InProcessTask[] = []
  private readonly inboxes = new Map<string, LogRecord[]>()
  private readonly source: TaskExecutor
  private wallClockMs = 0
  private offset = 0
  /** Records sent to topics no task reads (a topic sink): counted, then dropped. */
  topicOutputs = 0

  constructor(topology: Topology, opts: InProcessOptions) {
    // Repartition records stay objects: no serdes between sub-topologies in one process.
    const original = topology.plan()
    const plan = new Plan(
      [...original.nodes.values()].map((n) =>
        n.kind === 'repartition' ? { ...n, keySerde: passThrough(), valueSerde: passThrough() } : n,
      ),
    )
    const internalTopic = (name: string) => `${topology.appId}-${name}`
    const output: TaskOutput = {
      send: (topic, key, value, timestamp, headers) => this.send(topic, key, value, timestamp, headers),
      stdout: () => {},
      partitionsOf: () => 1,
    }
    for (const sub of plan.subTopologies()) {
      const executor = new TaskExecutor(
        plan,
        sub,
        {
          keyValueStore: (spec) => new MemoryKeyValueStore<unknown, unknown>(spec.name),
          windowStore: (spec) => new MemoryWindowStore<unknown, unknown>(spec.name),
        },
        output,
        {
          outOfOrdernessMs: opts.outOfOrdernessMs,
          // At the end of input the wall clock jumps to the end of time; until then it stands
          // still, so no input goes idle while records flow.
          advanceWithWallClock: true,
          idleTimeoutMs: 1,
          internalTopic,
          wallClockMs: () => this.wallClockMs,
          taskIndex: 0,
          taskCount: 1,
        },
      )
      const inbox: LogRecord[] = []
      for (const rid of sub.repartitionInputs) {
        const node = plan.node(rid)
        if (node.kind === 'repartition') this.inboxes.set(internalTopic(node.topic), inbox)
      }
      this.tasks.push({ executor, inbox })
    }
    const first = this.tasks.find((t) => t.executor.inputTopics().includes(opts.sourceTopic))
    if (first === undefined) throw new Error(`the pipeline does not read ${opts.sourceTopic}`)
    this.source = first.executor
    this.source.markActive(opts.sourceTopic, 0)
    for (const t of this.tasks) t.executor.init()
  }

  private send(
    topic: string,
    key: Encoded,
    value: Encoded,
    timestamp: number,
    headers: readonly RecordHeader[],
  ): void {
    const inbox = this.inboxes.get(topic)
    if (inbox === undefined) {
      this.topicOutputs++
      return
    }
    inbox.push({
      topic,
      partition: 0,
      offset: this.offset++,
      timestamp,
      key: encodedBytes(key),
      value: encodedBytes(value),
      headers,
    })
  }

  /** Processes one record of the source topic (its key and value already objects). */
  process(record: LogRecord): void {
    this.source.process(record)
  }

  /** After a batch: time moves on, and repartitioned records are processed downstream. */
  endBatch(): void {
    for (;;) {
      for (const t of this.tasks) {
        const inbox = t.inbox
        if (inbox.length > 0) {
          // Records sent while this inbox is processed (none in a DAG) wait for the next pass.
          const records = inbox.splice(0)
          for (let i = 0; i < records.length; i++) t.executor.process(records[i]!)
        }
        t.executor.tick()
        t.executor.emitWatermarks()
      }
      if (this.tasks.every((t) => t.inbox.length === 0)) return
    }
  }

  /** The end of input: event time moves to the end, so every window closes and emits. */
  finish(): void {
    this.endBatch()
    this.wallClockMs = END_OF_TIME_MS
    this.endBatch()
  }
}
