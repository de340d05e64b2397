// The async operator: an async function per record (a lookup, an enrichment) with at most
// `concurrency` calls in flight, results in input order (or as they complete), and a timeout.
// Records beyond the limit wait in a queue the runtime keeps bounded (it stops feeding the task).
import type { LogRecord } from '../core/record.js'
import type { AnyRecord, AsyncNode } from '../plan/nodes.js'

interface Call {
  readonly record: AnyRecord
  /** The source record it came from, for errors and dead letters. */
  readonly source: LogRecord | null
  done: boolean
  results: AnyRecord[] | null
  error: unknown
}

export interface AsyncStageHooks {
  /** Pushes a result downstream, with `source` as the record being processed. */
  emit(record: AnyRecord, source: LogRecord | null): void
  /** A call failed (or timed out): apply the step's error policy (may throw). */
  fail(err: unknown, source: LogRecord | null): void
  /** The stage has nothing in flight or waiting any more. */
  onIdle(): void
  /** A failure the policy turned into a stop: the task must fail. */
  onFatal(err: unknown): void
}

export class AsyncStage {
  private readonly waiting: Call[] = []
  /** Started calls not yet emitted, in input order. */
  private readonly started: Call[] = []
  private inFlight = 0

  constructor(
    private readonly node: AsyncNode,
    private readonly hooks: AsyncStageHooks,
  ) {}

  /** Records accepted but not yet emitted. */
  get pending(): number {
    return this.waiting.length + this.started.length
  }

  push(record: AnyRecord, source: LogRecord | null): void {
    this.waiting.push({ record, source, done: false, results: null, error: null })
    this.startWaiting()
  }

  private startWaiting(): void {
    while (this.inFlight < this.node.concurrency && this.waiting.length > 0) {
      const call = this.waiting.shift()!
      this.started.push(call)
      this.inFlight++
      void this.run(call)
    }
  }

  private async run(call: Call): Promise<void> {
    const controller = new AbortController()
    let timer: NodeJS.Timeout | undefined
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort()
          reject(new Error(`step ${this.node.id}: the async call timed out after ${this.node.timeoutMs} ms`))
        }, this.node.timeoutMs)
      })
      call.results = await Promise.race([this.node.fn(call.record, controller.signal), timeout])
    } catch (err) {
      call.error = err
    } finally {
      clearTimeout(timer)
      call.done = true
      this.inFlight--
    }
    this.emitReady(call)
    this.startWaiting()
    if (this.pending === 0) this.hooks.onIdle()
  }

  private emitReady(completed: Call): void {
    if (!this.node.ordered) {
      this.started.splice(this.started.indexOf(completed), 1)
      this.deliver(completed)
      return
    }
    while (this.started.length > 0 && this.started[0]!.done) this.deliver(this.started.shift()!)
  }

  private deliver(call: Call): void {
    try {
      if (call.error !== null) this.hooks.fail(call.error, call.source)
      else for (const r of call.results ?? []) this.hooks.emit(r, call.source)
    } catch (err) {
      this.hooks.onFatal(err)
    }
  }
}
