// The few primitive node kinds of a pipeline. The DSL's verbs all compose these; the runtime and
// the test driver know only these.
import type { RecordHeader } from '../core/record.js'
import type { Serde } from '../core/serde.js'
import type { StoreSpec } from '../core/store.js'
import type { StreamRecord } from '../core/stream-record.js'
import type { Processor } from './processor.js'

// Records are typed at the DSL; inside the plan they are erased to unknown.
export type AnyRecord = StreamRecord<unknown, unknown>

/** Where a record was read: a LogRecord and a StreamRecord both say it. */
export interface Origin {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

/**
 * A step of a task's chain. A record is handed from step to step as arguments, not as an object:
 * a chain of stateless steps then makes no object per record per step. A StreamRecord is built
 * only where one is asked for (a user function that takes the record, a processor, a sink
 * function). `origin` is where the record was read.
 */
export interface Step {
  push(
    key: unknown,
    value: unknown,
    timestamp: number,
    headers: readonly RecordHeader[],
    origin: Origin,
  ): void
}

/** The StreamRecord of a record handed as arguments. */
export function recordOf(
  key: unknown,
  value: unknown,
  timestamp: number,
  headers: readonly RecordHeader[],
  origin: Origin,
): AnyRecord {
  return {
    key,
    value,
    timestamp,
    headers,
    topic: origin.topic,
    partition: origin.partition,
    offset: origin.offset,
  }
}

/**
 * True when a user function may read its second argument (the record). One that declares a
 * single parameter cannot (arrow functions have no `arguments`), so it is called with the value
 * alone and no record is built for it.
 */
export function takesRecord(fn: (...args: never[]) => unknown): boolean {
  return fn.length !== 1
}

/** What a step does with a record whose function throws (or that does not deserialize). */
export type ErrorPolicy =
  | { readonly kind: 'fail' }
  | { readonly kind: 'skip' }
  | { readonly kind: 'deadLetter'; readonly topic: string }

export interface NodeBase {
  /** Unique, stable id: names the step's state, metrics and node in the picture. */
  readonly id: string
  /** The DSL verb that made it (filter, map, count…), for the picture and errors. */
  readonly label: string
  readonly parents: readonly string[]
  readonly errorPolicy: ErrorPolicy
}

export interface SourceNode extends NodeBase {
  readonly kind: 'source'
  readonly topics: readonly string[]
  readonly keySerde: Serde<unknown>
  readonly valueSerde: Serde<unknown>
  /** Event time of a record; defaults to the log timestamp. */
  readonly timestampOf?: (record: AnyRecord) => number
}

/** What a step guarding itself counts, and where its function's errors go (see MapNode). */
export interface StepGuard {
  readonly counters: { in: number }
  /** The step's error policy: returns to drop the record (skip, dead letter), or throws. */
  readonly fail: (err: unknown) => void
}

/** A stateless step: zero or more records out per record in (map, filter, flatMap, peek…). */
export interface MapNode extends NodeBase {
  readonly kind: 'map'
  /** The step, given where its records go; the runtime wraps it in its error policy. */
  readonly step: (next: Step) => Step
  /**
   * The same step guarding itself: it counts each record in and hands its function's errors to
   * `guard.fail`, so the runtime needs no wrapper (a call less per record and step). Records it
   * passes on are outside its guard: each later step guards its own.
   */
  readonly guardedStep?: (next: Step, guard: StepGuard) => Step
  /**
   * The step neither reads nor changes keys (a filter or mapValues whose function does not take
   * the record): each record leaves with the key it came with, so that key may travel as its
   * serialized bytes (plan/key-bytes.ts).
   */
  readonly keyPassesThrough?: boolean
}

/** Records of several parents, as one stream. */
export interface MergeNode extends NodeBase {
  readonly kind: 'merge'
}

/** Moves records to the partition of their (new) key through an internal topic. */
export interface RepartitionNode extends NodeBase {
  readonly kind: 'repartition'
  /** Internal topic name, without the app id prefix. */
  readonly topic: string
  readonly keySerde: Serde<unknown>
  readonly valueSerde: Serde<unknown>
  readonly partitions?: number
  /**
   * False for a topic that feeds results back to an earlier part of the plan (a foreign-key
   * join's responses): its records do not move event time, and no watermark markers go through
   * it, so time cannot wait on itself around the loop.
   */
  readonly timed?: boolean
}

/** A stateful step: the low-level processor API, with declared stores and timers. */
export interface ProcessNode extends NodeBase {
  readonly kind: 'process'
  readonly stores: readonly StoreSpec[]
  readonly create: () => Processor<unknown, unknown, unknown, unknown>
  /** Names of side outputs (late records…) that `side` nodes may read. */
  readonly sideOutputs: readonly string[]
  /** Stores of other steps this one reads (a foreign-key join reads its left side's): same task. */
  readonly sharedStores?: readonly string[]
}

/** The records a process step sent to one of its side outputs. */
export interface SideNode extends NodeBase {
  readonly kind: 'side'
  readonly output: string
}

/** An async lookup per record, with bounded concurrency. */
export interface AsyncNode extends NodeBase {
  readonly kind: 'async'
  readonly fn: (record: AnyRecord, signal: AbortSignal) => Promise<AnyRecord[]>
  readonly concurrency: number
  readonly ordered: boolean
  readonly timeoutMs: number
}

export type SinkTarget =
  | {
      readonly type: 'topic'
      readonly topic: string
      readonly keySerde: Serde<unknown>
      readonly valueSerde: Serde<unknown>
    }
  | { readonly type: 'fn'; readonly fn: (record: AnyRecord) => void }
  | { readonly type: 'stdout'; readonly format: (record: AnyRecord) => string }

export interface SinkNode extends NodeBase {
  readonly kind: 'sink'
  readonly target: SinkTarget
}

/**
 * A table read whole by every task (no co-partitioning needed): the latest value per key of a
 * topic, all its partitions. Joins look it up by a key they compute.
 */
export interface GlobalTableSpec {
  readonly name: string
  readonly topic: string
  readonly keySerde: Serde<unknown>
  readonly valueSerde: Serde<unknown>
}

export type PlanNode =
  | SourceNode
  | MapNode
  | MergeNode
  | RepartitionNode
  | ProcessNode
  | SideNode
  | AsyncNode
  | SinkNode
export type NodeKind = PlanNode['kind']
