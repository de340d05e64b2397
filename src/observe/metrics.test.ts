// The metrics façade: names and labels, counters fed from cumulative totals by their deltas,
// gauges rebuilt from each snapshot, and the exposition text.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EddyMetrics, type MetricsSnapshot, type StepTotals } from './metrics.js'

/** Samples of a Prometheus text exposition: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const i = line.lastIndexOf(' ')
    out.set(line.slice(0, i), Number(line.slice(i + 1)))
  }
  return out
}

const totals = (t: Partial<StepTotals>): StepTotals => ({
  in: 0,
  out: 0,
  errors: 0,
  skipped: 0,
  deadLettered: 0,
  ...t,
})

function snapshot(over: Partial<MetricsSnapshot> = {}): MetricsSnapshot {
  return {
    commits: 0,
    steps: new Map(),
    partitions: [],
    tasks: [],
    ...over,
  }
}

describe('EddyMetrics', () => {
  it('defines the eddy_ metrics with their types, in its own registry', async () => {
    const m = new EddyMetrics()
    const text = await m.metrics()
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((x) => [x[1]!, x[2]!] as const))
    assert.deepEqual(
      [...types].sort(([a], [b]) => a.localeCompare(b)),
      [
        ['eddy_commit_duration_seconds', 'histogram'],
        ['eddy_commits_total', 'counter'],
        ['eddy_errors_total', 'counter'],
        ['eddy_group_generation', 'gauge'],
        ['eddy_input_lag_records', 'gauge'],
        ['eddy_records_dead_lettered_total', 'counter'],
        ['eddy_records_in_total', 'counter'],
        ['eddy_records_out_total', 'counter'],
        ['eddy_records_restored_total', 'counter'],
        ['eddy_records_skipped_total', 'counter'],
        ['eddy_store_entries', 'gauge'],
        ['eddy_task_event_time_ms', 'gauge'],
        ['eddy_task_watermark_ms', 'gauge'],
        ['eddy_tasks', 'gauge'],
      ],
    )
    assert.match(m.contentType, /^text\/plain; version=0\.0\.4/)
    // Two runs in one process do not share series (no global default registry).
    const other = new EddyMetrics()
    m.update(snapshot({ commits: 3 }))
    assert.equal(samples(await other.metrics()).get('eddy_commits_total'), 0)
    assert.equal(samples(await m.metrics()).get('eddy_commits_total'), 3)
    m.update(snapshot({ commits: 3, generation: 4, standbyTasks: ['1_0', '1_1'] }))
    const after = await m.metrics()
    assert.match(after, /^eddy_group_generation 4$/m)
    assert.match(after, /^eddy_tasks\{kind="standby"\} 2$/m)
  })

  it('sets counters from cumulative totals, by their deltas', async () => {
    const m = new EddyMetrics()
    m.update(
      snapshot({
        commits: 2,
        steps: new Map([['parse', totals({ in: 10, out: 8, errors: 2, skipped: 2 })]]),
      }),
    )
    m.update(
      snapshot({
        commits: 5,
        steps: new Map([['parse', totals({ in: 25, out: 20, errors: 3, skipped: 2, deadLettered: 1 })]]),
      }),
    )
    // The same totals again change nothing.
    m.update(
      snapshot({
        commits: 5,
        steps: new Map([['parse', totals({ in: 25, out: 20, errors: 3, skipped: 2, deadLettered: 1 })]]),
      }),
    )
    const s = samples(await m.metrics())
    assert.equal(s.get('eddy_records_in_total{step="parse"}'), 25)
    assert.equal(s.get('eddy_records_out_total{step="parse"}'), 20)
    assert.equal(s.get('eddy_errors_total{step="parse"}'), 3)
    assert.equal(s.get('eddy_records_skipped_total{step="parse"}'), 2)
    assert.equal(s.get('eddy_records_dead_lettered_total{step="parse"}'), 1)
    assert.equal(s.get('eddy_commits_total'), 5)
  })

  it('takes a total that dropped as the new base: counters never go down', async () => {
    const m = new EddyMetrics()
    const step = (n: number) => snapshot({ steps: new Map([['s', totals({ in: n })]]) })
    m.update(step(100))
    m.update(step(40)) // a task went away with its counts
    assert.equal(samples(await m.metrics()).get('eddy_records_in_total{step="s"}'), 100)
    m.update(step(50))
    assert.equal(samples(await m.metrics()).get('eddy_records_in_total{step="s"}'), 110)
  })

  it('exposes a step at 0 from its first update', async () => {
    const m = new EddyMetrics()
    m.update(snapshot({ steps: new Map([['quiet', totals({})]]) }))
    const s = samples(await m.metrics())
    assert.equal(s.get('eddy_records_in_total{step="quiet"}'), 0)
    assert.equal(s.get('eddy_records_dead_lettered_total{step="quiet"}'), 0)
  })

  it('rebuilds gauges from each snapshot: lag per partition, times and store entries per task', async () => {
    const m = new EddyMetrics()
    m.update(
      snapshot({
        partitions: [
          { topic: 'payments', partition: 0, lag: 7 },
          { topic: 'payments', partition: 1, lag: 0 },
        ],
        tasks: [
          {
            id: '0_0',
            watermark: 1_700_000_000_000,
            eventTime: 1_700_000_005_000,
            stores: [{ store: 'counts', entries: 12, restoredRecords: 30 }],
          },
          // No record yet: no time series rather than -Inf.
          { id: '0_1', watermark: Number.NEGATIVE_INFINITY, eventTime: Number.NEGATIVE_INFINITY, stores: [] },
        ],
      }),
    )
    let s = samples(await m.metrics())
    assert.equal(s.get('eddy_input_lag_records{topic="payments",partition="0"}'), 7)
    assert.equal(s.get('eddy_input_lag_records{topic="payments",partition="1"}'), 0)
    assert.equal(s.get('eddy_task_watermark_ms{task="0_0"}'), 1_700_000_000_000)
    assert.equal(s.get('eddy_task_event_time_ms{task="0_0"}'), 1_700_000_005_000)
    assert.equal(s.get('eddy_task_watermark_ms{task="0_1"}'), undefined)
    assert.equal(s.get('eddy_store_entries{store="counts",task="0_0"}'), 12)
    assert.equal(s.get('eddy_records_restored_total{store="counts",task="0_0"}'), 30)

    m.update(
      snapshot({
        partitions: [{ topic: 'payments', partition: 0, lag: 2 }],
        tasks: [
          {
            id: '0_0',
            watermark: 1_700_000_001_000,
            eventTime: 1_700_000_006_000,
            stores: [{ store: 'counts', entries: 9, restoredRecords: 30 }],
          },
        ],
      }),
    )
    s = samples(await m.metrics())
    assert.equal(s.get('eddy_input_lag_records{topic="payments",partition="0"}'), 2)
    assert.equal(s.has('eddy_input_lag_records{topic="payments",partition="1"}'), false)
    assert.equal(s.get('eddy_task_watermark_ms{task="0_0"}'), 1_700_000_001_000)
    assert.equal(s.get('eddy_store_entries{store="counts",task="0_0"}'), 9)
    assert.equal(s.get('eddy_records_restored_total{store="counts",task="0_0"}'), 30)
  })

  it('reports a partition read by two tasks at its slowest reader', async () => {
    const m = new EddyMetrics()
    m.update(
      snapshot({
        partitions: [
          { topic: 't', partition: 0, lag: 3 },
          { topic: 't', partition: 0, lag: 9 },
          { topic: 't', partition: 0, lag: 1 },
        ],
      }),
    )
    assert.equal(samples(await m.metrics()).get('eddy_input_lag_records{topic="t",partition="0"}'), 9)
  })

  it('observes commit durations in seconds', async () => {
    const m = new EddyMetrics()
    m.observeCommit(0.8)
    m.observeCommit(3)
    m.observeCommit(2_000)
    const s = samples(await m.metrics())
    assert.equal(s.get('eddy_commit_duration_seconds_count'), 3)
    assert.ok(Math.abs(s.get('eddy_commit_duration_seconds_sum')! - 2.0038) < 1e-9)
    assert.equal(s.get('eddy_commit_duration_seconds_bucket{le="0.001"}'), 1)
    assert.equal(s.get('eddy_commit_duration_seconds_bucket{le="0.005"}'), 2)
    assert.equal(s.get('eddy_commit_duration_seconds_bucket{le="1"}'), 2)
    assert.equal(s.get('eddy_commit_duration_seconds_bucket{le="2.5"}'), 3)
    assert.equal(s.get('eddy_commit_duration_seconds_bucket{le="+Inf"}'), 3)
  })

  it('escapes label values in the exposition text', async () => {
    const m = new EddyMetrics()
    m.update(snapshot({ steps: new Map([['say "hi"\\now', totals({ in: 1 })]]) }))
    const text = await m.metrics()
    assert.ok(text.includes('eddy_records_in_total{step="say \\"hi\\"\\\\now"} 1'), text)
  })
})
