// Eddy's metrics: one prom-client registry per app run, fed from the runtime's cumulative
// numbers. The executor only does plain integer increments per record; `update` turns those
// totals into Prometheus counters (by their deltas) and gauges, about once a second and before
// each scrape, so no prom-client call happens per record.
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** Cumulative counts of one step, summed over its tasks. */
export interface StepTotals {
  readonly in: number
  readonly out: number
  readonly errors: number
  readonly skipped: number
  readonly deadLettered: number
}

/** What the metrics read from a running app (a subset of the runtime's status). */
export interface MetricsSnapshot {
  readonly commits: number
  /** The consumer-group generation of the instance's tasks (-1 on the embedded log). */
  readonly generation?: number
  /** Tasks kept here as standby replicas. */
  readonly standbyTasks?: readonly string[]
  readonly steps: ReadonlyMap<string, StepTotals>
  readonly partitions: readonly { readonly topic: string; readonly partition: number; readonly lag: number }[]
  readonly tasks: readonly {
    readonly id: string
    readonly watermark: number
    readonly eventTime: number
    readonly stores: readonly {
      readonly store: string
      readonly entries: number
      readonly restoredRecords: number
    }[]
  }[]
}

/** Commit durations in seconds: embedded commits take about a millisecond, remote ones more. */
export const COMMIT_DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]

const STEP_COUNTERS = [
  ['in', 'eddy_records_in_total', 'Records a step received.'],
  ['out', 'eddy_records_out_total', 'Records a step emitted (for a sink: records written).'],
  ['errors', 'eddy_errors_total', 'Records whose user function failed in a step.'],
  ['skipped', 'eddy_records_skipped_total', 'Failed records a step skipped (onError: skip).'],
  [
    'deadLettered',
    'eddy_records_dead_lettered_total',
    'Failed records a step sent to its dead-letter topic.',
  ],
] as const satisfies readonly (readonly [keyof StepTotals, string, string])[]

export class EddyMetrics {
  readonly registry = new Registry()
  private readonly steps: Map<keyof StepTotals, Counter<'step'>>
  private readonly commits: Counter
  private readonly commitDuration: Histogram
  private readonly inputLag: Gauge<'topic' | 'partition'>
  private readonly eventTime: Gauge<'task'>
  private readonly watermark: Gauge<'task'>
  private readonly storeEntries: Gauge<'store' | 'task'>
  private readonly restored: Counter<'store' | 'task'>
  private readonly generation: Gauge
  private readonly taskCount: Gauge<'kind'>
  /** The last cumulative total fed to each counter series, to increment by the difference. */
  private readonly last = new Map<Counter<string>, Map<string, number>>()

  constructor() {
    const registers = [this.registry]
    this.steps = new Map(
      STEP_COUNTERS.map(([field, name, help]) => [
        field,
        new Counter({ name, help, labelNames: ['step'], registers }),
      ]),
    )
    this.commits = new Counter({
      name: 'eddy_commits_total',
      help: 'Commits of results and input offsets.',
      registers,
    })
    this.commitDuration = new Histogram({
      name: 'eddy_commit_duration_seconds',
      help: 'How long a commit took.',
      buckets: [...COMMIT_DURATION_BUCKETS_SECONDS],
      registers,
    })
    this.inputLag = new Gauge({
      name: 'eddy_input_lag_records',
      help: 'Records of an input partition not yet processed.',
      labelNames: ['topic', 'partition'],
      registers,
    })
    this.eventTime = new Gauge({
      name: 'eddy_task_event_time_ms',
      help: 'The largest record timestamp a task has processed (Unix ms).',
      labelNames: ['task'],
      registers,
    })
    this.watermark = new Gauge({
      name: 'eddy_task_watermark_ms',
      help: "A task's watermark: the event time up to which it considers input complete (Unix ms).",
      labelNames: ['task'],
      registers,
    })
    this.storeEntries = new Gauge({
      name: 'eddy_store_entries',
      help: 'Entries in a state store of a task (windows for a window store).',
      labelNames: ['store', 'task'],
      registers,
    })
    this.generation = new Gauge({
      name: 'eddy_group_generation',
      help: "The app's consumer-group generation this instance's tasks belong to (-1: the embedded log); it rises at each rebalance.",
      registers,
    })
    this.taskCount = new Gauge({
      name: 'eddy_tasks',
      help: 'Tasks this instance runs (active) or keeps warm (standby).',
      labelNames: ['kind'],
      registers,
    })
    this.restored = new Counter({
      name: 'eddy_records_restored_total',
      help: 'Changelog records applied to rebuild a state store.',
      labelNames: ['store', 'task'],
      registers,
    })
  }

  /** The content type of `metrics()`. */
  get contentType(): string {
    return this.registry.contentType
  }

  /** The Prometheus text exposition of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics()
  }

  /** Records one commit's duration. */
  observeCommit(durationMs: number): void {
    this.commitDuration.observe(durationMs / 1000)
  }

  /** Sets counters from cumulative totals and gauges from current values. */
  update(s: MetricsSnapshot): void {
    for (const [step, totals] of s.steps) {
      for (const [field, counter] of this.steps) this.feed(counter, { step }, totals[field])
    }
    this.feed(this.commits, {}, s.commits)
    // Gauges are rebuilt, so partitions and tasks that went away leave no stale series.
    this.inputLag.reset()
    const lags = new Map<string, { topic: string; partition: number; lag: number }>()
    for (const p of s.partitions) {
      const k = `${p.topic}\u0000${p.partition}`
      // A partition read by two tasks reports its slowest reader.
      if ((lags.get(k)?.lag ?? -1) < p.lag) lags.set(k, p)
    }
    for (const p of lags.values())
      this.inputLag.set({ topic: p.topic, partition: String(p.partition) }, p.lag)
    if (s.generation !== undefined) this.generation.set(s.generation)
    this.taskCount.set({ kind: 'active' }, s.tasks.length)
    this.taskCount.set({ kind: 'standby' }, s.standbyTasks?.length ?? 0)
    this.eventTime.reset()
    this.watermark.reset()
    this.storeEntries.reset()
    for (const t of s.tasks) {
      // Before its first record a task has no time: no series rather than -Inf.
      if (Number.isFinite(t.eventTime)) this.eventTime.set({ task: t.id }, t.eventTime)
      if (Number.isFinite(t.watermark)) this.watermark.set({ task: t.id }, t.watermark)
      for (const st of t.stores) {
        const labels = { store: st.store, task: t.id }
        this.storeEntries.set(labels, st.entries)
        this.feed(this.restored, labels, st.restoredRecords)
      }
    }
  }

  /**
   * Moves a counter series to a cumulative total. A total that dropped (a task went away) is
   * taken as the new base, so later growth still counts.
   */
  private feed<L extends string>(
    counter: Counter<L>,
    labels: Partial<Record<L, string>>,
    total: number,
  ): void {
    let last = this.last.get(counter)
    if (last === undefined) {
      last = new Map()
      this.last.set(counter, last)
    }
    const key = JSON.stringify(labels)
    const prev = last.get(key)
    last.set(key, total)
    // The first update creates the series, at 0 if need be, so rates start from a known point.
    if (prev === undefined) counter.inc(labels, Math.max(0, total))
    else if (total > prev) counter.inc(labels, total - prev)
  }
}
