// The examples, run as users run them: `eddy --data-dir <tmp> run examples/X.ts --until-idle 500`
// in a child process (over the built dist/, as test/cli.test.ts), with small inputs. Each must
// exit 0, and its output topics must hold the results recomputed here from its input topic.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { LogRecord } from '../src/core/record.js'
import { cleanup, readTopic, tmpDir } from './runtime/harness.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = path.join(root, 'bin', 'eddy')
const MINUTE = 60_000

/** Runs an example to completion; returns its data dir. */
async function runExample(file: string, env: Record<string, string>, untilIdleMs = 500): Promise<string> {
  return (await runExampleWithOutput(file, env, untilIdleMs)).dataDir
}

/** Runs an example to completion; returns its data dir and its stdout. */
function runExampleWithOutput(
  file: string,
  env: Record<string, string>,
  untilIdleMs: number,
): Promise<{ dataDir: string; stdout: string }> {
  const dataDir = tmpDir('example')
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [bin, '--data-dir', dataDir, 'run', path.join('examples', file), '--until-idle', String(untilIdleMs)],
      { cwd: root, env: { ...process.env, ...env, EDDY_DATA_DIR: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let stdout = ''
    child.stdout.on('data', (d) => {
      out += d
      stdout += d
    })
    child.stderr.on('data', (d) => {
      out += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve({ dataDir, stdout })
      else reject(new Error(`eddy run ${file} exited with ${code ?? signal}:\n${out.slice(-3000)}`))
    })
  })
}

function valuesOf<T>(parts: readonly LogRecord[][]): T[] {
  return parts.flat().map((r) => JSON.parse(r.value!.toString()) as T)
}

interface Row<T> {
  readonly key: string
  readonly value: T
  readonly timestamp: number
  readonly partition: number
}

function rowsOf<T>(parts: readonly LogRecord[][]): Row<T>[] {
  return parts.flatMap((records, partition) =>
    records.map((r) => ({
      key: r.key!.toString(),
      value: JSON.parse(r.value!.toString()) as T,
      timestamp: r.timestamp,
      partition,
    })),
  )
}

function groupBy<T>(items: readonly T[], keyOf: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>()
  for (const i of items) {
    const k = keyOf(i)
    const list = m.get(k)
    if (list === undefined) m.set(k, [i])
    else list.push(i)
  }
  return m
}

describe('examples (eddy run, child process)', () => {
  before(() => {
    assert.ok(
      existsSync(path.join(root, 'dist', 'cli', 'main.js')),
      'dist/cli/main.js is missing: run `npm run build` before the example tests',
    )
  })
  after(cleanup)

  it('fraud-alerts: alerts exactly for cards with >= 5 payments in 10 minutes, each count right, with the card holder', async () => {
    const dataDir = await runExample('fraud-alerts.ts', { FRAUD_PAYMENTS: '4000' })
    const payments = rowsOf<{ card: string; amount: number }>(await readTopic(dataDir, 'payments'))
    assert.equal(payments.length, 4000)
    const alerts = valuesOf<{ card: string; payments: number; from: string; to: string; holder: string }>(
      await readTopic(dataDir, 'fraud-alerts'),
    )
    // Each alert carries its card's holder from the card-holders table.
    const holders = new Map(
      rowsOf<{ name: string; country: string }>(await readTopic(dataDir, 'card-holders')).map(
        (h) => [h.key, h.value] as const,
      ),
    )
    assert.ok(holders.size > 5000, `${holders.size} card holders`)
    for (const a of alerts) {
      const h = holders.get(a.card)
      assert.ok(h !== undefined, `${a.card} has a holder`)
      assert.equal(a.holder, `${h.name}, ${h.country}`, `${a.card}'s holder`)
    }
    // Per card: the timestamps of its payments that count (amount > 0), sorted.
    const times = new Map<string, number[]>()
    for (const [card, ps] of groupBy(payments, (p) => p.value.card)) {
      times.set(
        card,
        ps
          .filter((p) => p.value.amount > 0)
          .map((p) => p.timestamp)
          .sort((a, b) => a - b),
      )
    }
    /** Payments of `card` in the sliding window ending at `end`: [end - 10m, end]. */
    const inWindow = (card: string, end: number) =>
      (times.get(card) ?? []).filter((t) => t >= end - 10 * MINUTE && t <= end).length
    // The windows that matter end at a payment of the card; their largest count per card.
    const busiest = new Map<string, number>()
    for (const [card, ts] of times) busiest.set(card, Math.max(0, ...ts.map((t) => inWindow(card, t))))
    const suspicious = [...busiest].filter(([, n]) => n >= 5).map(([card]) => card)
    assert.ok(
      suspicious.length > 0 && suspicious.length < times.size,
      `${suspicious.length} suspicious cards`,
    )

    assert.ok(alerts.length > 0)
    for (const a of alerts) {
      const end = Date.parse(a.to)
      assert.equal(end - Date.parse(a.from), 10 * MINUTE, 'a 10-minute window')
      assert.ok(a.payments >= 5, `alert with ${a.payments} payments`)
      assert.ok(times.get(a.card)!.includes(end), 'the window ends at one of the card payments')
      // Counted so far when it was emitted: never more than the window holds.
      assert.ok(
        a.payments <= inWindow(a.card, end),
        `${a.card} at ${a.to}: ${a.payments} > ${inWindow(a.card, end)}`,
      )
    }
    const alerted = groupBy(alerts, (a) => a.card)
    assert.deepEqual([...alerted.keys()].sort(), suspicious.sort(), 'alerts for exactly the suspicious cards')
    for (const [card, list] of alerted) {
      assert.equal(
        Math.max(...list.map((a) => a.payments)),
        busiest.get(card),
        `${card}'s busiest 10 minutes`,
      )
    }
  })

  it('iot-sensors: 5-minute averages match the readings; alerts only for sensor-7 while it overheats', async () => {
    const dataDir = await runExample('iot-sensors.ts', { IOT_READINGS: '12000' })
    const readings = rowsOf<{ sensor: string; celsius: number }>(await readTopic(dataDir, 'sensor-readings'))
    assert.equal(readings.length, 12_000)
    const averages = valuesOf<{ sensor: string; from: string; mean: number; peak: number }>(
      await readTopic(dataDir, 'sensor-averages'),
    )
    const alerts = valuesOf<{ sensor: string; from: string; mean: number }>(
      await readTopic(dataDir, 'sensor-alerts'),
    )

    // Expected: every 5-minute window (starting each minute) with readings that closed, i.e.
    // ended by the last reading time of the sensor's partition (no out-of-orderness allowed).
    const start = Math.min(...readings.map((r) => r.timestamp))
    const endOfPartition = new Map<number, number>()
    for (const r of readings)
      endOfPartition.set(r.partition, Math.max(endOfPartition.get(r.partition) ?? 0, r.timestamp))
    const expected = new Map<string, { mean: number; peak: number }>()
    for (const [sensor, rs] of groupBy(readings, (r) => r.value.sensor)) {
      const closedBy = endOfPartition.get(rs[0]!.partition)!
      const starts = new Set(
        rs.flatMap((r) => [0, 1, 2, 3, 4].map((k) => Math.floor(r.timestamp / MINUTE) * MINUTE - k * MINUTE)),
      )
      for (const s of starts) {
        if (s + 5 * MINUTE > closedBy) continue
        const inside = rs
          .filter((r) => r.timestamp >= s && r.timestamp < s + 5 * MINUTE)
          .map((r) => r.value.celsius)
        if (inside.length === 0) continue
        expected.set(`${sensor}@${new Date(s).toISOString()}`, {
          mean: inside.reduce((a, b) => a + b, 0) / inside.length,
          peak: Math.max(...inside),
        })
      }
    }
    const got = new Map(averages.map((a) => [`${a.sensor}@${a.from}`, a]))
    assert.equal(got.size, averages.length, 'one result per sensor and window')
    assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), 'every closed window, once')
    for (const [id, e] of expected) {
      const a = got.get(id)!
      assert.ok(Math.abs(a.mean - e.mean) < 1e-9, `${id}: mean ${a.mean}, expected ${e.mean}`)
      assert.equal(a.peak, e.peak, `${id}: peak`)
    }

    // Alerts: the averages above 30 °C, all sensor-7 in windows that overlap its hot spell.
    const hotFrom = start + 60 * MINUTE
    const hotTo = start + 80 * MINUTE
    assert.ok(alerts.length > 0, 'sensor-7 raised alerts')
    assert.deepEqual(
      alerts.map((a) => `${a.sensor}@${a.from}`).sort(),
      averages
        .filter((a) => a.mean > 30)
        .map((a) => `${a.sensor}@${a.from}`)
        .sort(),
    )
    for (const a of alerts) {
      assert.equal(a.sensor, 'sensor-7')
      const from = Date.parse(a.from)
      assert.ok(from + 5 * MINUTE > hotFrom && from < hotTo, `alert window ${a.from} overlaps the hot spell`)
    }
    // And every window wholly inside the hot spell alerted.
    const wholly = [...expected.keys()].filter((id) => {
      const [sensor, from] = id.split('@') as [string, string]
      const s = Date.parse(from)
      return sensor === 'sensor-7' && s > hotFrom && s + 5 * MINUTE < hotTo
    })
    assert.ok(wholly.length >= 10)
    for (const id of wholly)
      assert.ok(
        alerts.some((a) => `${a.sensor}@${a.from}` === id),
        `no alert for ${id}`,
      )
  })

  it('web-analytics: per-minute counts and sessions match the views; counts sum to the views of closed minutes', async () => {
    const dataDir = await runExample('web-analytics.ts', { ANALYTICS_VIEWS: '3000' })
    const views = rowsOf<{ user: string; page: string }>(await readTopic(dataDir, 'page-views'))
    assert.equal(views.length, 3000)
    const perMinute = valuesOf<{ page: string; minute: string; views: number }>(
      await readTopic(dataDir, 'views-per-page-per-minute'),
    )
    const sessions = valuesOf<{ user: string; start: string; end: string; views: number }>(
      await readTopic(dataDir, 'user-sessions'),
    )
    // Both aggregations are behind a repartition: their event time is the least of the two input
    // partitions' — or the greatest, once both inputs are idle (after 5 s, on a slow machine).
    const ends = [0, 1].map((p) =>
      Math.max(...views.filter((v) => v.partition === p).map((v) => v.timestamp)),
    )
    const candidates = [Math.min(...ends), Math.max(...ends)]

    const expectedMinutes = (watermark: number) => {
      const m = new Map<string, number>()
      for (const v of views) {
        const minute = Math.floor(v.timestamp / MINUTE) * MINUTE
        if (minute + MINUTE > watermark) continue
        const id = `${v.value.page}@${new Date(minute).toISOString()}`
        m.set(id, (m.get(id) ?? 0) + 1)
      }
      return m
    }
    const gotMinutes = new Map(perMinute.map((r) => [`${r.page}@${r.minute}`, r.views]))
    assert.equal(gotMinutes.size, perMinute.length, 'one count per page and minute')
    const watermark = candidates.find((w) => {
      const e = expectedMinutes(w)
      return e.size === gotMinutes.size && [...e].every(([id, n]) => gotMinutes.get(id) === n)
    })
    assert.ok(
      watermark !== undefined,
      `per-minute counts match the views of the minutes closed by ${candidates.map((c) => new Date(c).toISOString()).join(' or ')}`,
    )
    const closedViews = views.filter(
      (v) => Math.floor(v.timestamp / MINUTE) * MINUTE + MINUTE <= watermark,
    ).length
    assert.equal(
      perMinute.reduce((s, r) => s + r.views, 0),
      closedViews,
    )
    assert.ok(closedViews > views.length * 0.9, 'most minutes closed')

    // Sessions: a user's views no more than 30 minutes apart; closed 30 minutes after the last.
    const expectedSessions = (wm: number) => {
      const out: string[] = []
      for (const [user, vs] of groupBy(views, (v) => v.value.user)) {
        const ts = vs.map((v) => v.timestamp).sort((a, b) => a - b)
        let first = ts[0]!
        let last = ts[0]!
        let n = 1
        const close = () => {
          if (last + 30 * MINUTE <= wm)
            out.push(JSON.stringify([user, new Date(first).toISOString(), new Date(last).toISOString(), n]))
        }
        for (const t of ts.slice(1)) {
          if (t - last <= 30 * MINUTE) {
            last = t
            n++
          } else {
            close()
            first = t
            last = t
            n = 1
          }
        }
        close()
      }
      return out.sort()
    }
    const gotSessions = sessions.map((s) => JSON.stringify([s.user, s.start, s.end, s.views])).sort()
    assert.ok(gotSessions.length > 50, `${gotSessions.length} sessions`)
    assert.deepEqual(gotSessions, expectedSessions(watermark))
  })

  it('query-state: prints what its stores hold once every order is processed', async () => {
    // Status comes once a second: idle for 3 s, the app is still running when it comes.
    const { stdout } = await runExampleWithOutput('query-state.ts', {}, 3000)
    const START = Date.UTC(2026, 10, 21, 9)
    assert.deepEqual(stdout.trim().split('\n'), [
      'customer c-1: {"name":"Ann","city":"Utrecht"}',
      'customer c-3: null',
      'spend: [["c-1",{"orders":3,"total":39.75}],["c-2",{"orders":2,"total":55}],["c-3",{"orders":1,"total":3}]]',
      `c-1 per minute: ${JSON.stringify([
        { key: 'c-1', start: START, end: START + MINUTE, value: 2 },
        { key: 'c-1', start: START + MINUTE, end: START + 2 * MINUTE, value: 1 },
      ])}`,
    ])
  })

  it('orders-shipments: an order shipped within 2 days is paired with its shipment; the others alert once 2 days (and 1 h) have passed', async () => {
    const dataDir = await runExample('orders-shipments.ts', { ORDERS: '600' })
    const orders = rowsOf<{ id: string; customer: string; total: number; placedAt: string }>(
      await readTopic(dataDir, 'orders'),
    )
    const shipments = rowsOf<{ order: string; carrier: string; shippedAt: string }>(
      await readTopic(dataDir, 'shipments'),
    )
    assert.equal(orders.length, 600)
    interface Checked {
      order: string
      customer: string
      total: number
      placedAt: string
      carrier: string | null
      shippedAt: string | null
      hours: number | null
    }
    const shipped = valuesOf<Checked>(await readTopic(dataDir, 'orders-shipped'))
    const alerts = valuesOf<Checked>(await readTopic(dataDir, 'unshipped-orders'))

    const DAY = 24 * 60 * MINUTE
    const shipmentOf = new Map(shipments.map((s) => [s.key, s] as const))
    const inTime = (o: Row<unknown>) => {
      const s = shipmentOf.get(o.key)
      return s !== undefined && s.timestamp >= o.timestamp && s.timestamp <= o.timestamp + 2 * DAY
    }
    // Shipped: every order with a shipment within 2 days, once, with that shipment.
    const expectedShipped = orders.filter(inTime)
    assert.deepEqual(shipped.map((s) => s.order).sort(), expectedShipped.map((o) => o.key).sort())
    for (const s of shipped) {
      const shipment = shipmentOf.get(s.order)!
      assert.equal(s.carrier, shipment.value.carrier)
      assert.equal(s.shippedAt, shipment.value.shippedAt)
      assert.equal(s.hours, Math.round((shipment.timestamp - Date.parse(s.placedAt)) / (60 * MINUTE)))
      assert.ok(s.hours! >= 0 && s.hours! <= 48)
    }

    // Alerts: the other orders whose 2 days and 1 h of grace have passed in event time. A task's
    // event time is the least of its two partitions' newest times, or the greatest once both
    // inputs are idle (5 s, on a slow machine).
    const lonely = orders.filter((o) => !inTime(o))
    const newest = (rows: readonly Row<unknown>[], p: number) =>
      Math.max(...rows.filter((r) => r.partition === p).map((r) => r.timestamp))
    const expectedAlerts = (idle: boolean) =>
      [0, 1, 2, 3]
        .flatMap((p) => {
          const ends = [newest(orders, p), newest(shipments, p)]
          const watermark = idle ? Math.max(...ends) : Math.min(...ends)
          return lonely.filter((o) => o.partition === p && o.timestamp + 2 * DAY + 60 * MINUTE <= watermark)
        })
        .map((o) => o.key)
        .sort()
    const got = alerts.map((a) => a.order).sort()
    assert.equal(new Set(got).size, got.length, 'one alert per order')
    const busy = expectedAlerts(false)
    assert.ok(
      JSON.stringify(got) === JSON.stringify(busy) ||
        JSON.stringify(got) === JSON.stringify(expectedAlerts(true)),
      `alerts: ${got.length}, expected ${busy.length} (or ${expectedAlerts(true).length} once idle)`,
    )
    for (const a of alerts) {
      const o = orders.find((x) => x.key === a.order)!
      assert.deepEqual(
        [a.customer, a.total, a.placedAt, a.shippedAt, a.hours],
        [o.value.customer, o.value.total, o.value.placedAt, null, null],
      )
    }
    // Both kinds of alert: orders never shipped, and shipped too late.
    assert.ok(
      alerts.some((a) => !shipmentOf.has(a.order)),
      'an order never shipped',
    )
    assert.ok(
      alerts.some((a) => shipmentOf.has(a.order)),
      'an order shipped too late',
    )
    assert.ok(
      alerts.length > 30 && shipped.length > 400,
      `${alerts.length} alerts, ${shipped.length} shipped`,
    )
  })
})
