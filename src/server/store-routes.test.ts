// The /stores routes on the app's HTTP server: paths, key formats, limits and how errors map to
// statuses, over a plan with one key-value store. Reads against real stores of a running app are
// in test/runtime/queries.test.ts.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { EddyError } from '../core/errors.js'
import { json } from '../core/serde.js'
import type { KeyValueStore, StoreSpec, WindowStore } from '../core/store.js'
import { EddyMetrics } from '../observe/metrics.js'
import { Plan } from '../plan/plan.js'
import { type QueryableTask, StoreQueries } from '../runtime/store-queries.js'
import { MetricsServer } from './metrics-server.js'

const spec: StoreSpec = { name: 'pages-store', kind: 'kv', keySerde: json(), valueSerde: json() }

const plan = new Plan([
  {
    kind: 'source',
    id: 'clicks',
    label: 'source',
    parents: [],
    errorPolicy: { kind: 'fail' },
    topics: ['clicks'],
    keySerde: json(),
    valueSerde: json(),
  },
  {
    kind: 'process',
    id: 'pages',
    label: 'count',
    parents: ['clicks'],
    errorPolicy: { kind: 'fail' },
    stores: [spec],
    create: () => ({ process: () => {} }),
    sideOutputs: [],
  },
  {
    kind: 'sink',
    id: 'out',
    label: 'print',
    parents: ['pages'],
    errorPolicy: { kind: 'fail' },
    target: { type: 'stdout', format: () => '' },
  },
])

/** A key-value store over a Map, ordered by JSON text as the real ones are for JSON keys. */
function mapStore(entries: [unknown, unknown][]): KeyValueStore<unknown, unknown> {
  const sorted = () =>
    [...entries].sort((a, b) =>
      Buffer.compare(Buffer.from(JSON.stringify(a[0])), Buffer.from(JSON.stringify(b[0]))),
    )
  const inRange = (k: unknown, from?: unknown, to?: unknown) => {
    const b = Buffer.from(JSON.stringify(k))
    return (
      (from === undefined || Buffer.compare(b, Buffer.from(JSON.stringify(from))) >= 0) &&
      (to === undefined || Buffer.compare(b, Buffer.from(JSON.stringify(to))) <= 0)
    )
  }
  return {
    name: spec.name,
    get: (k) => entries.find(([e]) => JSON.stringify(e) === JSON.stringify(k))?.[1],
    put: () => assert.fail('queries never write'),
    delete: () => assert.fail('queries never write'),
    entries: () => sorted()[Symbol.iterator](),
    range: (from, to) =>
      sorted()
        .filter(([k]) => inRange(k, from, to))
        [Symbol.iterator](),
    size: entries.length,
  }
}

describe('GET /stores', () => {
  let ready = false
  const store = mapStore([
    ['/home', 3],
    ['/a/b', 1],
    [42, 7],
    [{ page: 'x' }, 2],
  ])
  const task: QueryableTask = {
    id: '0_0',
    subTopology: 0,
    partition: 0,
    watermark: 0,
    stores: {
      keyValueStore: () => store,
      windowStore: (): WindowStore<unknown, unknown> => assert.fail('no window store'),
    },
  }
  const queries = new StoreQueries(plan, {
    tasks: () => {
      if (!ready) throw new EddyError('STORE_NOT_READY', 'app test is starting')
      return [task]
    },
    globalTable: () => assert.fail('the plan has no global table'),
  })
  const server = new MetricsServer(new EddyMetrics(), { stores: queries })
  let base = ''
  before(async () => {
    base = `http://127.0.0.1:${await server.start(0)}`
  })
  after(() => server.close())

  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`)
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> }
  }

  it('lists stores while starting, and answers 503 with Retry-After to reads until ready', async () => {
    ready = false
    const list = await get('/stores')
    assert.deepEqual(list.body, {
      ready: false,
      stores: [{ name: 'pages-store', kind: 'kv', step: 'pages', approximateCount: null }],
    })
    const read = await get('/stores/pages-store/keys/%2Fhome')
    assert.equal(read.status, 503)
    assert.equal(read.headers.get('retry-after'), '1')
    assert.deepEqual(read.body, { error: 'app test is starting', code: 'STORE_NOT_READY' })
    ready = true
    assert.deepEqual((await get('/stores/')).body, {
      ready: true,
      stores: [{ name: 'pages-store', kind: 'kv', step: 'pages', approximateCount: 4 }],
    })
  })

  it('decodes keys in paths, and takes JSON keys with keyFormat=json', async () => {
    ready = true
    assert.deepEqual((await get('/stores/pages-store/keys/%2Fa%2Fb')).body, { key: '/a/b', value: 1 })
    assert.deepEqual((await get('/stores/pages-store/keys/42?keyFormat=json')).body, { key: 42, value: 7 })
    assert.equal((await get('/stores/pages-store/keys/42')).status, 404, 'the string "42" is another key')
    const obj = encodeURIComponent(JSON.stringify({ page: 'x' }))
    assert.deepEqual((await get(`/stores/pages-store/keys/${obj}?keyFormat=json`)).body, {
      key: { page: 'x' },
      value: 2,
    })
    assert.deepEqual((await get('/stores/pages-store?from=%22%2F%22&to=%22%2Fz%22&keyFormat=json')).body, {
      entries: [
        { key: '/a/b', value: 1 },
        { key: '/home', value: 3 },
      ],
      truncated: false,
    })
    assert.equal((await get('/stores/pages-store/keys/x?keyFormat=yaml')).status, 400)
    assert.equal((await get('/stores/pages-store/keys/%E0%A4%A')).status, 400)
  })

  it('refuses bad limits, unknown paths and stores, and queries of the wrong kind', async () => {
    ready = true
    for (const limit of ['0', '-1', '1.5', 'x', '10001']) {
      const r = await get(`/stores/pages-store?limit=${limit}`)
      assert.equal(r.status, 400, limit)
      assert.match(String(r.body.error), /limit=/)
    }
    assert.equal((await get('/stores/pages-store?limit=10000')).status, 200)
    const unknownPath = await get('/stores/pages-store/values')
    assert.equal(unknownPath.status, 404)
    assert.match(String(unknownPath.body.error), /\/stores\/NAME\/keys\/KEY/)
    const unknown = await get('/stores/pages')
    assert.equal(unknown.status, 404)
    assert.match(String(unknown.body.error), /queryable stores are: pages-store \(kv\)/)
    const windows = await get('/stores/pages-store/keys/x/windows')
    assert.equal(windows.status, 400)
    assert.match(String(windows.body.error), /key-value store/)
    const metrics = await fetch(`${base}/metrics`)
    assert.equal(metrics.status, 200)
    await metrics.text()
    const other = await fetch(`${base}/storesx`)
    assert.equal(other.status, 404)
    assert.match(await other.text(), /state at \/stores/)
  })
})
