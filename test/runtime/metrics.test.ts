// Metrics of a running app, scraped over HTTP as Prometheus would: `App.run({ metricsPort })`
// in process, and `eddy run APP.ts --metrics-port P` as a child process.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { app, EventLog, type RunnerStatus } from '../../src/index.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

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

/** The sum of a metric's samples whose labels include `match`. */
function total(s: Map<string, number>, name: string, match = ''): number {
  let sum = 0
  for (const [series, value] of s) if (series.startsWith(`${name}{`) && series.includes(match)) sum += value
  return sum
}

async function scrape(url: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(url)
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }
}

interface Order {
  readonly customer: string
  readonly amount: number | string
}

const BASE_MS = Date.UTC(2026, 0, 1)
const ORDERS = 20

/** 20 orders on 2 partitions (i % 2): i % 10 === 3 has a bad amount, i % 5 === 0 an amount of 0. */
async function writeOrders(dir: string): Promise<void> {
  const log = EventLog.open({ dir })
  try {
    log.createTopic('orders', { partitions: 2 })
    const producer = await log.producer()
    for (let p = 0; p < 2; p++) {
      const records = []
      for (let i = p; i < ORDERS; i += 2) {
        const order: Order = { customer: `c${i % 4}`, amount: i % 10 === 3 ? 'x' : (i % 5) * 10 }
        records.push({
          key: Buffer.from(order.customer),
          value: Buffer.from(JSON.stringify(order)),
          timestamp: BASE_MS + i * 1000,
        })
      }
      await producer.send('orders', p, records)
    }
    await producer.close()
  } finally {
    await log.close()
  }
}

describe('metrics of App.run', () => {
  let dir: string
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'eddy-metrics-'))
    await writeOrders(dir)
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('serves /metrics while running, with per-step counts, lag, times and store sizes', async () => {
    const orders = app({ id: 'shop', dataDir: dir, commitIntervalMs: 20 })
    orders
      .stream<Order>('orders', undefined, { name: 'orders' })
      .mapValues(
        (o) => {
          if (typeof o.amount !== 'number') throw new Error(`bad amount ${o.amount}`)
          return { customer: o.customer, amount: o.amount }
        },
        { name: 'parse', onError: 'skip' },
      )
      .filter((o) => o.amount > 0, { name: 'positive' })
      .groupBy((o) => o.customer, { name: 'by-customer' })
      .count({ name: 'order-count' })
      .toStream()
      .to('order-counts', { name: 'counts-out' })

    // 2 bad amounts are skipped, 4 zero amounts filtered out: 14 orders are counted.
    const counted = ORDERS - 2 - 4
    let scraped: Promise<{ status: number; type: string | null; text: string }> | null = null
    let url: string | null = null
    const onStatus = (st: RunnerStatus) => {
      const done = st.steps.get('counts-out')?.out === counted && st.lag === 0 && st.commits > 0
      if (scraped !== null || !done) return
      url = orders.metricsUrl()
      assert.ok(url !== null)
      scraped = scrape(url).finally(() => orders.stop())
    }
    await orders.run({ metricsPort: 0, onStatus, signal: AbortSignal.timeout(30_000) })
    assert.ok(scraped !== null, 'the app stopped before it had processed every order')
    const r = await (scraped as Promise<{ status: number; type: string | null; text: string }>)
    assert.equal(r.status, 200)
    assert.match(r.type ?? '', /^text\/plain; version=0\.0\.4/)
    assert.match(url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    const s = samples(r.text)

    assert.equal(s.get('eddy_records_in_total{step="orders"}'), ORDERS)
    assert.equal(s.get('eddy_records_out_total{step="orders"}'), ORDERS)
    assert.equal(s.get('eddy_records_in_total{step="parse"}'), ORDERS)
    assert.equal(s.get('eddy_records_out_total{step="parse"}'), ORDERS - 2)
    assert.equal(s.get('eddy_errors_total{step="parse"}'), 2)
    assert.equal(s.get('eddy_records_skipped_total{step="parse"}'), 2)
    assert.equal(s.get('eddy_records_dead_lettered_total{step="parse"}'), 0)
    assert.equal(s.get('eddy_records_in_total{step="positive"}'), ORDERS - 2)
    assert.equal(s.get('eddy_records_out_total{step="positive"}'), counted)
    assert.equal(s.get('eddy_records_out_total{step="counts-out"}'), counted)
    assert.equal(s.get('eddy_errors_total{step="counts-out"}'), 0)

    // Every input partition is caught up: the source topic and the repartition topic.
    assert.equal(s.get('eddy_input_lag_records{topic="orders",partition="0"}'), 0)
    assert.equal(s.get('eddy_input_lag_records{topic="orders",partition="1"}'), 0)
    assert.equal(s.get('eddy_input_lag_records{topic="shop-by-customer-repartition",partition="0"}'), 0)

    // Task 0_p read orders partition p: even timestamps on 0, odd on 1.
    assert.equal(s.get('eddy_task_event_time_ms{task="0_0"}'), BASE_MS + 18_000)
    assert.equal(s.get('eddy_task_event_time_ms{task="0_1"}'), BASE_MS + 19_000)
    assert.equal(s.get('eddy_task_watermark_ms{task="0_0"}'), BASE_MS + 18_000)
    assert.equal(s.get('eddy_task_watermark_ms{task="0_1"}'), BASE_MS + 19_000)

    // Four customers, each counted in the task that owns its key.
    assert.equal(total(s, 'eddy_store_entries', 'store="order-count-store"'), 4)
    assert.equal(total(s, 'eddy_records_restored_total'), 0)

    assert.ok(s.get('eddy_commits_total')! >= 1)
    assert.ok(s.get('eddy_commit_duration_seconds_count')! >= 1)

    // The server is closed with the run.
    assert.equal(orders.metricsUrl(), null)
    await assert.rejects(fetch(url ?? ''))
  })
})

/** A port free a moment ago (the CLI takes a fixed port, as users give it). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('eddy run --metrics-port', () => {
  let dir: string
  before(() => {
    assert.ok(
      existsSync(path.join(root, 'dist', 'cli', 'main.js')),
      'dist/cli/main.js is missing: run `npm run build` before the CLI tests',
    )
    dir = mkdtempSync(path.join(tmpdir(), 'eddy-metrics-cli-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('serves metrics while the app runs and says where, once', async () => {
    const port = await freePort()
    const payments = 4_000
    const child = spawn(
      process.execPath,
      [
        path.join(root, 'bin', 'eddy'),
        '--data-dir',
        dir,
        'run',
        'examples/fraud-alerts.ts',
        '--until-idle',
        '2000',
        '--metrics-port',
        String(port),
      ],
      {
        cwd: root,
        env: { ...process.env, FRAUD_PAYMENTS: String(payments) },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    // A run that hangs fails the test rather than the suite.
    const watchdog = setTimeout(() => child.kill(), 120_000)
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    void exited.finally(() => clearTimeout(watchdog))
    let running = true
    void exited.then(() => {
      running = false
    })
    const url = `http://127.0.0.1:${port}/metrics`
    let caughtUp: Map<string, number> | null = null
    let stores = null as { stores: { name: string; kind: string; approximateCount: number }[] } | null
    const deadline = Date.now() + 60_000
    try {
      // Scrape until every payment has been read, regrouped by card (to join the card holders)
      // and counted, with a commit.
      while (running && caughtUp === null && Date.now() < deadline) {
        const r = await scrape(url).catch(() => null)
        if (r !== null && r.status === 200) {
          const s = samples(r.text)
          const regrouped = s.get('eddy_records_out_total{step="with-holder.left.repartition"}') ?? 0
          if (
            s.get('eddy_records_in_total{step="source-payments"}') === payments &&
            regrouped > 0 &&
            s.get('eddy_records_in_total{step="with-holder.left.repartition.read"}') === regrouped &&
            total(s, 'eddy_input_lag_records') === 0 &&
            (s.get('eddy_commits_total') ?? 0) > 0
          ) {
            caughtUp = s
            // The same server answers state queries (before --until-idle stops the app).
            const res = await fetch(`http://127.0.0.1:${port}/stores`)
            stores = (await res.json()) as typeof stores
          }
        }
        if (caughtUp === null) await new Promise((resolve) => setTimeout(resolve, 100))
      }
    } finally {
      if (caughtUp === null) child.kill()
    }
    assert.equal(await exited, 0, stderr)
    assert.ok(caughtUp !== null, `no scrape saw every payment read; stderr: ${stderr}`)
    const s = caughtUp as Map<string, number>
    for (let p = 0; p < 4; p++)
      assert.equal(s.get(`eddy_input_lag_records{topic="payments",partition="${p}"}`), 0)
    assert.ok(s.get('eddy_records_out_total{step="card-velocity"}')! > 0)
    assert.ok(total(s, 'eddy_store_entries', 'store="card-velocity-store"') > 0)
    for (let t = 0; t < 4; t++) assert.ok(s.get(`eddy_task_watermark_ms{task="1_${t}"}`)! > 0)
    assert.ok(s.get('eddy_commit_duration_seconds_count')! >= 1)
    const velocity = stores?.stores.find((x) => x.name === 'card-velocity-store')
    assert.equal(velocity?.kind, 'window', 'sliding windows are queried as windows')
    assert.equal(typeof velocity?.approximateCount, 'number')
    const served = stderr.split('\n').filter((l) => l.includes('metrics at'))
    assert.deepEqual(served, [`eddy run: metrics at ${url}, state at http://127.0.0.1:${port}/stores`])
  })
})
