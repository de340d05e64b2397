// Interactive queries of a running app (App.store / keyValueStore / windowStore, and GET /stores
// on its HTTP server): a table read from a topic (with a tombstone), a count, an average, and
// tumbling, session and sliding windowed counts, on the embedded log with 2 partitions. The app
// runs until every record is processed, is queried while running, then runs again: the second
// run answers the same from its restored state.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { partitionForKey } from '../../src/core/murmur2.js'
import {
  app,
  avg,
  count,
  isEddyError,
  json,
  type RunnerStatus,
  session,
  sliding,
  tumbling,
  type WindowEntry,
} from '../../src/index.js'
import { cleanup, type Input, tmpDir, writeInputs } from './harness.js'

interface Holder {
  readonly name: string
}
interface Order {
  readonly customer: string
  readonly amount: number
}

const PARTITIONS = 2
const BASE = Date.UTC(2026, 0, 1)
const MINUTE = 60_000

const owner = (key: string) => partitionForKey(Buffer.from(key), PARTITIONS)
const holder = (key: string, h: Holder | null, partition = owner(key), t = BASE): Input => ({
  partition,
  key,
  value: h === null ? null : Buffer.from(JSON.stringify(h)),
  timestamp: t,
})

const HOLDERS: Input[] = [
  holder('h1', { name: 'Ann' }),
  holder('h2', { name: 'Bob' }),
  holder('h3', { name: 'Cy' }),
  holder('h2', null, owner('h2'), BASE + 1), // a tombstone: h2 is deleted
  // The same key in both partitions: a read asks the key's owner (murmur2) first.
  holder('dup', { name: 'owner' }),
  holder('dup', { name: 'other' }, 1 - owner('dup')),
  // Only in the partition that does not own it (a producer chose it): found by asking the others.
  holder('stray', { name: 'Stray' }, 1 - owner('stray')),
]

const ORDERS: [string, number, number][] = [
  // customer, amount, seconds after BASE
  ['c1', 10, 0],
  ['c2', 5, 10],
  ['c1', 20, 30],
  ['c1', 30, 90],
  ['c3', 1, 200],
  ['c3', 3, 205],
]

function orderInputs(): Input[] {
  return ORDERS.map(([customer, amount, s]) => ({
    partition: owner(customer),
    key: customer,
    value: Buffer.from(JSON.stringify({ customer, amount } satisfies Order)),
    timestamp: BASE + s * 1000,
  }))
}

const REGIONS: Input[] = [
  { partition: 0, key: 'south', value: Buffer.from('{"zone":"S"}'), timestamp: BASE },
  { partition: 1, key: 'north', value: Buffer.from('{"zone":"N"}'), timestamp: BASE },
  { partition: 1, key: 'west', value: Buffer.from('{"zone":"W"}'), timestamp: BASE },
  { partition: 1, key: 'west', value: null, timestamp: BASE + 1 },
]

function queriesApp(dataDir: string) {
  const shop = app({ id: 'queries', dataDir, commitIntervalMs: 20 })
  const holders = shop.table<Holder>('holders')
  const regions = shop.globalTable<{ zone: string }>('regions', json(), { name: 'regions' })
  const byCustomer = shop
    .stream<Order>('orders', json(), { name: 'orders' })
    .groupBy((o) => o.customer, { name: 'by-customer' })
  const counts = byCustomer.count({ name: 'order-count' })
  counts.toStream().to('order-counts')
  byCustomer
    .aggregate({ n: count(), avg: avg((o: Order) => o.amount) }, { name: 'stats' })
    .toStream()
    .to('order-stats')
  // A long grace keeps every window open, so the store still holds them all.
  const perMinute = byCustomer.window(tumbling({ size: '1m', grace: '1h' })).count({ name: 'per-minute' })
  perMinute.current().to('per-minute-out')
  const sessions = byCustomer.window(session({ gap: '5m', grace: '1h' })).count({ name: 'sessions' })
  sessions.current().to('sessions-out')
  const slidingCounts = byCustomer.window(sliding({ size: '2m', grace: '1h' })).count({ name: 'sliding' })
  slidingCounts.current().to('sliding-out')
  shop
    .stream<Order>('orders', json(), { name: 'orders-again' })
    .leftJoin(
      regions,
      (o) => (o.customer === 'c1' ? 'north' : 'south'),
      (o, r) => ({ ...o, zone: r?.zone ?? null }),
    )
    .to('orders-with-zone')
  return { shop, holders, regions, counts, perMinute, sessions, slidingCounts }
}

type Built = ReturnType<typeof queriesApp>

const STEPS_FED_BY_ORDERS = ['order-count', 'stats', 'per-minute', 'sessions', 'sliding']

function processedAll(st: RunnerStatus): boolean {
  return (
    st.lag === 0 &&
    st.steps.get('table-holders')?.in === HOLDERS.length &&
    STEPS_FED_BY_ORDERS.every((s) => st.steps.get(s)?.in === ORDERS.length)
  )
}

/** Runs the app and calls `check` once `ready(status)` holds; stops the app after it. */
async function runAndCheck(
  built: Built,
  ready: (st: RunnerStatus) => boolean,
  check: (baseUrl: string) => Promise<void>,
  onRestoreProgress?: () => void,
): Promise<void> {
  const { shop } = built
  let checked: Promise<void> | null = null
  const onStatus = (st: RunnerStatus) => {
    if (checked !== null || !ready(st)) return
    const url = shop.metricsUrl()!.replace(/\/metrics$/, '')
    checked = check(url).finally(() => shop.stop())
  }
  await shop.run({ metricsPort: 0, onStatus, onRestoreProgress, signal: AbortSignal.timeout(60_000) })
  assert.ok(checked !== null, 'the app stopped before it was ready to be queried')
  await checked
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url)
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const w = (key: string, startS: number, endS: number, value: number): WindowEntry<string, number> => ({
  key,
  start: BASE + startS * 1000,
  end: BASE + endS * 1000,
  value,
})

/** What every run must answer through the API. */
function checkApi(b: Built): void {
  const { shop } = b
  const holders = shop.keyValueStore(b.holders)
  assert.equal(holders.name, 'table-holders-store')
  assert.deepEqual(holders.get('h1'), { name: 'Ann' })
  assert.equal(holders.get('h2'), undefined, 'the tombstone deleted h2')
  assert.equal(holders.get('nobody'), undefined)
  assert.deepEqual(holders.get('dup'), { name: 'owner' }, 'the owner partition is asked first')
  assert.deepEqual(holders.get('stray'), { name: 'Stray' }, 'a key outside its partition is still found')
  assert.deepEqual(holders.range('h1', 'h3'), [
    ['h1', { name: 'Ann' }],
    ['h3', { name: 'Cy' }],
  ])
  // Ordered by serialized key bytes over both tasks; 'dup' is in both of them.
  assert.deepEqual(
    holders.all().map(([k]) => k),
    ['dup', 'dup', 'h1', 'h3', 'stray'],
  )
  assert.equal(holders.approximateCount(), 5)

  const regions = shop.keyValueStore(b.regions)
  assert.equal(regions.name, 'regions-store')
  assert.deepEqual(regions.get('north'), { zone: 'N' })
  assert.equal(regions.get('west'), undefined, 'the tombstone deleted west')
  assert.deepEqual(regions.all(), [
    ['north', { zone: 'N' }],
    ['south', { zone: 'S' }],
  ])
  assert.deepEqual(regions.range('n', 'o'), [['north', { zone: 'N' }]])
  assert.equal(regions.approximateCount(), 2)

  const counts = shop.keyValueStore(b.counts)
  assert.equal(counts.get('c1'), 3)
  assert.deepEqual(counts.all(), [
    ['c1', 3],
    ['c2', 1],
    ['c3', 2],
  ])
  assert.deepEqual(counts.range('c2'), [
    ['c2', 1],
    ['c3', 2],
  ])
  // An aggregation's store holds its running state; queries show its result.
  assert.deepEqual(shop.keyValueStore<string, unknown>('stats-store').get('c1'), { n: 3, avg: 20 })

  const perMinute = shop.windowStore(b.perMinute)
  assert.deepEqual(perMinute.fetch('c1'), [w('c1', 0, 60, 2), w('c1', 60, 120, 1)])
  assert.deepEqual(perMinute.fetch('c1', BASE + 1, BASE + 10 * MINUTE), [w('c1', 60, 120, 1)])
  assert.equal(perMinute.get('c1', BASE), 2)
  assert.equal(perMinute.get('c1', BASE + 1), undefined)
  assert.deepEqual(perMinute.fetch('nobody'), [])
  assert.deepEqual(perMinute.fetchAll(), [
    w('c1', 0, 60, 2),
    w('c1', 60, 120, 1),
    w('c2', 0, 60, 1),
    w('c3', 180, 240, 2),
  ])
  assert.deepEqual(perMinute.fetchAll(BASE + MINUTE, BASE + 3 * MINUTE), [
    w('c1', 60, 120, 1),
    w('c3', 180, 240, 2),
  ])
  assert.equal(perMinute.approximateCount(), 4)

  const sessions = shop.windowStore(b.sessions)
  assert.deepEqual(sessions.fetch('c1'), [w('c1', 0, 90, 3)])
  assert.deepEqual(sessions.all(), [w('c1', 0, 90, 3), w('c2', 10, 10, 1), w('c3', 200, 205, 2)])

  // Sliding windows [t - 2m, t] end at each record of the key.
  const slidingCounts = shop.windowStore(b.slidingCounts)
  assert.equal(shop.store('sliding-store').kind, 'window')
  assert.deepEqual(slidingCounts.fetch('c1'), [w('c1', -120, 0, 1), w('c1', -90, 30, 2), w('c1', -30, 90, 3)])
  assert.deepEqual(slidingCounts.fetch('c1', BASE - 100_000, BASE), [
    w('c1', -90, 30, 2),
    w('c1', -30, 90, 3),
  ])
  assert.equal(slidingCounts.approximateCount(), 6)
}

/** What every run must answer over HTTP. */
async function checkHttp(base: string): Promise<void> {
  const list = await getJson(`${base}/stores`)
  assert.equal(list.status, 200)
  assert.equal(list.body.ready, true)
  const stores = list.body.stores as { name: string; kind: string; step: string; approximateCount: number }[]
  const byName = new Map(stores.map((s) => [s.name, s]))
  assert.deepEqual(byName.get('table-holders-store'), {
    name: 'table-holders-store',
    kind: 'kv',
    step: 'table-holders',
    approximateCount: 5,
  })
  assert.deepEqual(byName.get('per-minute-store'), {
    name: 'per-minute-store',
    kind: 'window',
    step: 'per-minute',
    approximateCount: 4,
  })
  assert.equal(byName.get('sliding-store')?.kind, 'window')
  assert.deepEqual(byName.get('regions-store'), {
    name: 'regions-store',
    kind: 'kv',
    step: 'regions',
    approximateCount: 2,
  })
  const south = await getJson(`${base}/stores/regions-store/keys/south`)
  assert.deepEqual(south.body, { key: 'south', value: { zone: 'S' } })

  const h1 = await getJson(`${base}/stores/table-holders-store/keys/h1`)
  assert.deepEqual(h1, { status: 200, body: { key: 'h1', value: { name: 'Ann' } } })
  const h2 = await getJson(`${base}/stores/table-holders-store/keys/h2`)
  assert.equal(h2.status, 404)
  assert.match(String(h2.body.error), /no value for key h2/)
  const c1 = await getJson(`${base}/stores/order-count-store/keys/%22c1%22?keyFormat=json`)
  assert.deepEqual(c1.body, { key: 'c1', value: 3 })

  const range = await getJson(`${base}/stores/order-count-store?from=c1&to=c2`)
  assert.deepEqual(range.body, {
    entries: [
      { key: 'c1', value: 3 },
      { key: 'c2', value: 1 },
    ],
    truncated: false,
  })
  const limited = await getJson(`${base}/stores/order-count-store?limit=1`)
  assert.deepEqual(limited.body, { entries: [{ key: 'c1', value: 3 }], truncated: true })

  const to = new Date(BASE + MINUTE).toISOString()
  const windows = await getJson(`${base}/stores/per-minute-store/keys/c1/windows?from=${BASE}&to=${to}`)
  assert.deepEqual(windows.body, { windows: [w('c1', 0, 60, 2), w('c1', 60, 120, 1)], truncated: false })
  const all = await getJson(`${base}/stores/per-minute-store?from=${BASE + MINUTE}`)
  assert.deepEqual(all.body, { windows: [w('c1', 60, 120, 1), w('c3', 180, 240, 2)], truncated: false })

  const unknown = await getJson(`${base}/stores/nope/keys/x`)
  assert.equal(unknown.status, 404)
  assert.equal(unknown.body.code, 'UNKNOWN_STORE')
  assert.match(String(unknown.body.error), /order-count-store \(kv\).*per-minute-store \(window\)/)
  const wrongKind = await getJson(`${base}/stores/per-minute-store/keys/c1`)
  assert.equal(wrongKind.status, 400)
  assert.match(String(wrongKind.body.error), /\/windows/)
  const badTime = await getJson(`${base}/stores/per-minute-store?from=yesterday`)
  assert.equal(badTime.status, 400)
  const badJson = await getJson(`${base}/stores/order-count-store/keys/c1?keyFormat=json`)
  assert.equal(badJson.status, 400)
  const post = await fetch(`${base}/stores`, { method: 'POST' })
  assert.equal(post.status, 405)
  await post.text()
}

describe('interactive queries of a running app', () => {
  let dir: string
  before(async () => {
    dir = tmpDir('queries')
    await writeInputs(dir, 'holders', PARTITIONS, HOLDERS)
    await writeInputs(dir, 'orders', PARTITIONS, orderInputs())
    await writeInputs(dir, 'regions', PARTITIONS, REGIONS)
  })
  after(cleanup)

  it('reads tables, aggregations and windows through the API and over HTTP while it runs', async () => {
    const b = queriesApp(dir)
    const { shop } = b
    assert.deepEqual(
      shop
        .stores()
        .map((s) => `${s.name}:${s.kind}:${s.step}`)
        .sort(),
      [
        'order-count-store:kv:order-count',
        'per-minute-store:window:per-minute',
        'regions-store:kv:regions',
        'sessions-store:window:sessions',
        'sliding-store:window:sliding',
        'stats-store:kv:stats',
        'table-holders-store:kv:table-holders',
      ],
    )
    assert.throws(
      () => shop.keyValueStore('nope'),
      (err) =>
        isEddyError(err, 'UNKNOWN_STORE') && /queryable stores are: .*order-count-store/.test(err.message),
    )
    assert.throws(
      () => shop.keyValueStore(b.counts).get('c1'),
      (err) => isEddyError(err, 'STORE_NOT_READY') && /is not running/.test(err.message),
    )
    assert.throws(() => shop.windowStore('order-count-store'), /key-value store/)
    await runAndCheck(b, processedAll, async (base) => {
      checkApi(b)
      await checkHttp(base)
    })
    assert.throws(
      () => shop.keyValueStore(b.counts).get('c1'),
      (err) => isEddyError(err, 'STORE_NOT_READY'),
      'once the run is over, the stores are closed',
    )
  })

  it('answers the same after a restart, from restored state, and refuses reads while restoring', async () => {
    const b = queriesApp(dir)
    const { shop } = b
    const duringRestore: unknown[] = []
    const onRestoreProgress = () => {
      try {
        shop.keyValueStore(b.counts).get('c1')
      } catch (err) {
        duringRestore.push(err)
        return
      }
      duringRestore.push(null)
    }
    const queryable = () => {
      try {
        shop.store('order-count-store').approximateCount()
        return true
      } catch (err) {
        if (isEddyError(err, 'STORE_NOT_READY')) return false
        throw err
      }
    }
    await runAndCheck(
      b,
      (st) => st.lag === 0 && queryable(),
      async (base) => {
        checkApi(b)
        await checkHttp(base)
      },
      onRestoreProgress,
    )
    assert.ok(duringRestore.length > 0)
    for (const err of duringRestore) {
      assert.ok(isEddyError(err, 'STORE_NOT_READY'), String(err))
      assert.match(err.message, /restoring its state/)
    }
  })
})
