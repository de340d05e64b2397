// The stateless verbs (filter, map, mapValues, flatMap, peek, selectKey…) as step objects. A
// record goes from step to step as arguments (see Step in plan/nodes.ts), and a verb builds the
// StreamRecord only when the user's function declares the record parameter.
//
// Why classes and not closures: a task builds its own chain of steps, and a process runs several
// tasks. Closures made from one function literal share V8's call feedback, so with several tasks
// every call site in a chain sees several targets and stops being inlined (measured: 53 ns against
// 29 ns a record for filter → mapValues → sink over four tasks). A class's call sites key on its
// hidden class, which all tasks share.
import type { RecordHeader } from '../core/record.js'
import {
  type AnyRecord,
  type Origin,
  recordOf,
  type Step,
  type StepGuard,
  takesRecord,
} from '../plan/nodes.js'

/** A user function of a value and, if it declares it, the record; erased for the plan. */
export type ValueFn<R> = (value: unknown, record?: AnyRecord) => R

type Headers = readonly RecordHeader[]

interface KeyValueOut {
  readonly key: unknown
  readonly value: unknown
}

/**
 * A step around one user function. Each subclass has its own `push`, so each verb's call of the
 * user function is a call site of its own.
 */
abstract class UserFnStep<R> implements Step {
  /** Whether `fn` takes the record (see takesRecord). */
  protected readonly record: boolean
  constructor(
    protected readonly fn: ValueFn<R>,
    protected readonly next: Step,
  ) {
    this.record = takesRecord(fn)
  }
  abstract push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void
}

export class FilterStep extends UserFnStep<boolean> {
  push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void {
    const f = this.fn
    if (this.record ? f(v, recordOf(k, v, ts, h, o)) : f(v)) this.next.push(k, v, ts, h, o)
  }
}

export class MapValuesStep extends UserFnStep<unknown> {
  push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void {
    const f = this.fn
    this.next.push(k, this.record ? f(v, recordOf(k, v, ts, h, o)) : f(v), ts, h, o)
  }
}

export class MapStep extends UserFnStep<KeyValueOut> {
  push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void {
    const f = this.fn
    const kv = this.record ? f(v, recordOf(k, v, ts, h, o)) : f(v)
    this.next.push(kv.key, kv.value, ts, h, o)
  }
}

/**
 * The commonest verbs guarding themselves under the runtime's error policy (MapNode.guardedStep):
 * the work of the runtime's wrapper around the steps above, one call fewer per record. Only the
 * user function is inside the guard; the records passed on are the next steps' to guard.
 */
abstract class GuardedFnStep<R> implements Step {
  /** Whether `fn` takes the record (see takesRecord). */
  protected readonly record: boolean
  protected readonly counters: { in: number }
  protected readonly fail: (err: unknown) => void
  constructor(
    protected readonly fn: ValueFn<R>,
    protected readonly next: Step,
    guard: StepGuard,
  ) {
    this.record = takesRecord(fn)
    this.counters = guard.counters
    this.fail = guard.fail
  }
  abstract push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void
}

export class GuardedFilterStep extends GuardedFnStep<boolean> {
  push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void {
    this.counters.in++
    const f = this.fn
    let pass: boolean
    try {
      pass = this.record ? f(v, recordOf(k, v, ts, h, o)) : f(v)
    } catch (err) {
      this.fail(err)
      return
    }
    if (pass) this.next.push(k, v, ts, h, o)
  }
}

export class GuardedMapValuesStep extends GuardedFnStep<unknown> {
  push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void {
    this.counters.in++
    const f = this.fn
    let out: unknown
    try {
      out = this.record ? f(v, recordOf(k, v, ts, h, o)) : f(v)
    } catch (err) {
      this.fail(err)
      return
    }
    this.next.push(k, out, ts, h, o)
  }
}

export class GuardedMapStep extends GuardedFnStep<KeyValueOut> {
  push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void {
    this.counters.in++
    const f = this.fn
    let kv: KeyValueOut
    try {
      kv = this.record ? f(v, recordOf(k, v, ts, h, o)) : f(v)
    } catch (err) {
      this.fail(err)
      return
    }
    this.next.push(kv.key, kv.value, ts, h, o)
  }
}

export class FlatMapStep extends UserFnStep<Iterable<KeyValueOut>> {
  push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void {
    const f = this.fn
    for (const kv of this.record ? f(v, recordOf(k, v, ts, h, o)) : f(v))
      this.next.push(kv.key, kv.value, ts, h, o)
  }
}

export class FlatMapValuesStep extends UserFnStep<Iterable<unknown>> {
  push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void {
    const f = this.fn
    for (const v2 of this.record ? f(v, recordOf(k, v, ts, h, o)) : f(v)) this.next.push(k, v2, ts, h, o)
  }
}

export class PeekStep extends UserFnStep<void> {
  push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void {
    const f = this.fn
    if (this.record) f(v, recordOf(k, v, ts, h, o))
    else f(v)
    this.next.push(k, v, ts, h, o)
  }
}

/** selectKey and groupBy: a new key from the value (and record). */
export class SelectKeyStep extends UserFnStep<unknown> {
  push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void {
    const f = this.fn
    this.next.push(this.record ? f(v, recordOf(k, v, ts, h, o)) : f(v), v, ts, h, o)
  }
}

export class WithTimestampStep extends UserFnStep<number> {
  push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void {
    const f = this.fn
    this.next.push(k, v, this.record ? f(v, recordOf(k, v, ts, h, o)) : f(v), h, o)
  }
}

export class WithHeadersStep extends UserFnStep<Headers> {
  push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void {
    const f = this.fn
    this.next.push(k, v, ts, this.record ? f(v, recordOf(k, v, ts, h, o)) : f(v), o)
  }
}

/** One branch of a split: records whose first matching predicate is this branch's (`index`), or
 * for the rest branch (`index` = the number of predicates), records no predicate matches. */
export class BranchStep implements Step {
  private readonly record: boolean
  constructor(
    private readonly predicates: readonly ValueFn<boolean>[],
    private readonly index: number,
    private readonly next: Step,
  ) {
    this.record = predicates.some(takesRecord)
  }
  push(k: unknown, v: unknown, ts: number, h: Headers, o: Origin): void {
    const preds = this.predicates
    const r = this.record ? recordOf(k, v, ts, h, o) : undefined
    for (let j = 0; j < this.index; j++) if (preds[j]!(v, r)) return
    if (this.index === preds.length || preds[this.index]!(v, r)) this.next.push(k, v, ts, h, o)
  }
}
