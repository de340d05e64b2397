// Stateless operators and serdes, each through the TestDriver: a source, the operator, a sink.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bytes, json, type Serde, string } from '../core/serde.js'
import { Topology } from '../dsl/stream.js'
import { TestDriver } from './test-driver.js'

interface Payment {
  card: string
  amount: number
}

const h = (key: string, value: string) => ({ key, value: Buffer.from(value) })

describe('stateless operators', () => {
  it('filter keeps matching records', () => {
    const t = new Topology('app')
    t.stream<Payment>('in')
      .filter((p) => p.amount > 0)
      .to('out')
    const d = new TestDriver(t)
    d.pipe('in', { card: 'a', amount: 5 }, { timestamp: 1 })
    d.pipe('in', { card: 'b', amount: -1 }, { timestamp: 2 })
    assert.deepEqual(d.values('out'), [{ card: 'a', amount: 5 }])
  })

  it('filter with a type guard narrows the value type', () => {
    type Event = { type: 'click'; page: string } | { type: 'view'; ms: number }
    const t = new Topology('app')
    t.stream<Event>('in')
      .filter((e): e is Extract<Event, { type: 'click' }> => e.type === 'click')
      .mapValues((c) => c.page) // `page` exists only on clicks: this compiles because of the narrowing
      .to('out')
    const d = new TestDriver(t)
    d.pipe('in', { type: 'view', ms: 3 }, { timestamp: 1 })
    d.pipe('in', { type: 'click', page: '/home' }, { timestamp: 2 })
    assert.deepEqual(d.values('out'), ['/home'])
  })

  it('map sets a new key and value', () => {
    const t = new Topology('app')
    t.stream<Payment>('in')
      .map((p) => ({ key: p.card, value: p.amount * 2 }))
      .to('out')
    const d = new TestDriver(t)
    d.pipe('in', { card: 'a', amount: 5 }, { timestamp: 10 })
    assert.deepEqual(
      d.output('out').map((r) => [r.key, r.value, r.timestamp]),
      [['a', 10, 10]],
    )
  })

  it('mapValues keeps the key', () => {
    const t = new Topology('app')
    t.stream<Payment>('in')
      .mapValues((p) => p.amount / 100)
      .to('out')
    const d = new TestDriver(t)
    d.pipe('in', { card: 'a', amount: 250 }, { key: 'k1', timestamp: 1 })
    assert.deepEqual(
      d.output('out').map((r) => [r.key, r.value]),
      [['k1', 2.5]],
    )
  })

  it('flatMap emits zero or more records, each with its own key', () => {
    const t = new Topology('app')
    t.stream<{ order: string; skus: string[] }>('in')
      .flatMap((o) => o.skus.map((s) => ({ key: s, value: o.order })))
      .to('out')
    const d = new TestDriver(t)
    d.pipe('in', { order: 'o1', skus: ['x', 'y'] }, { timestamp: 1 })
    d.pipe('in', { order: 'o2', skus: [] }, { timestamp: 2 })
    assert.deepEqual(
      d.output('out').map((r) => [r.key, r.value]),
      [
        ['x', 'o1'],
        ['y', 'o1'],
      ],
    )
  })

  it('flatMapValues emits zero or more values under the same key', () => {
    const t = new Topology('app')
    t.stream('in', string())
      .flatMapValues((s) => s.split(' ').filter((w) => w.length > 0))
      .to('out', { valueSerde: string() })
    const d = new TestDriver(t)
    d.pipe('in', 'to be or', { key: 'doc', timestamp: 1 })
    d.pipe('in', '', { key: 'empty', timestamp: 2 })
    assert.deepEqual(
      d.output('out').map((r) => [r.key, r.value]),
      [
        ['doc', 'to'],
        ['doc', 'be'],
        ['doc', 'or'],
      ],
    )
  })

  it('peek sees each record and passes it on unchanged', () => {
    const seen: [string | null, number, number][] = []
    const t = new Topology('app')
    t.stream<number>('in')
      .peek((v, r) => seen.push([r.key, v, r.timestamp]))
      .to('out')
    const d = new TestDriver(t)
    d.pipe('in', 7, { key: 'k', timestamp: 42 })
    assert.deepEqual(seen, [['k', 7, 42]])
    assert.deepEqual(d.values('out'), [7])
  })

  it('selectKey sets a new key and keeps the value', () => {
    const t = new Topology('app')
    t.stream<Payment>('in')
      .selectKey((p) => p.card)
      .to('out')
    const d = new TestDriver(t)
    d.pipe('in', { card: 'c9', amount: 1 }, { key: 'old', timestamp: 1 })
    assert.deepEqual(
      d.output('out').map((r) => [r.key, r.value]),
      [['c9', { card: 'c9', amount: 1 }]],
    )
  })

  it('withTimestamp sets event time from the value', () => {
    const t = new Topology('app')
    t.stream<{ at: string }>('in')
      .withTimestamp((e) => Date.parse(e.at))
      .to('out')
    const d = new TestDriver(t)
    d.pipe('in', { at: '2024-01-01T00:00:00Z' }, { timestamp: 5 })
    assert.deepEqual(
      d.output('out').map((r) => r.timestamp),
      [Date.parse('2024-01-01T00:00:00Z')],
    )
  })

  it('a source timestamp extractor sets event time before any step', () => {
    const t = new Topology('app')
    t.stream<{ ms: number }>('in', json(), { timestamp: (v) => v.ms }).to('out')
    const d = new TestDriver(t)
    d.pipe('in', { ms: 777 }, { timestamp: 5 })
    assert.deepEqual(
      d.output('out').map((r) => r.timestamp),
      [777],
    )
  })

  it('withHeaders reads the incoming headers and timestamp and sets new headers', () => {
    const t = new Topology('app')
    t.stream<number>('in')
      .withHeaders((_v, r) => [
        ...r.headers.filter((x) => x.key !== 'drop'),
        h('seen-at', String(r.timestamp)),
        h('trace', `${r.headers.find((x) => x.key === 'trace')?.value?.toString()}-1`),
      ])
      .to('out')
    const d = new TestDriver(t)
    d.pipe('in', 1, { timestamp: 99, headers: [h('trace', 't0'), h('drop', 'x')] })
    const [r] = d.output('out')
    assert.deepEqual(
      r?.headers.map((x) => [x.key, x.value?.toString()]),
      [
        ['trace', 't0'],
        ['seen-at', '99'],
        ['trace', 't0-1'],
      ],
    )
    assert.equal(r?.timestamp, 99)
  })

  it('split sends a record to the first branch it matches, the rest to rest', () => {
    const t = new Topology('app')
    const { big, medium, rest } = t
      .stream<number>('in')
      .split({ big: (n) => n >= 100, medium: (n) => n >= 10 })
    big.to('big')
    medium.to('medium')
    rest.to('small')
    const d = new TestDriver(t)
    for (const [i, n] of [500, 50, 5, 100, 10].entries()) d.pipe('in', n, { timestamp: i })
    assert.deepEqual(d.values('big'), [500, 100])
    assert.deepEqual(d.values('medium'), [50, 10]) // 500 also matches medium: the first match wins
    assert.deepEqual(d.values('small'), [5])
  })

  it('merge joins two streams into one', () => {
    const t = new Topology('app')
    const web = t.stream<string>('web', string())
    const mobile = t.stream<string>('mobile', string()).mapValues((s) => s.toUpperCase())
    web.merge(mobile).to('all', { valueSerde: string() })
    const d = new TestDriver(t)
    d.pipe('web', 'a', { timestamp: 1 })
    d.pipe('mobile', 'b', { timestamp: 2 })
    d.pipe('web', 'c', { timestamp: 3 })
    assert.deepEqual(d.values('all'), ['a', 'B', 'c'])
  })

  it('a source may read several topics; each record keeps its topic', () => {
    const t = new Topology('app')
    t.stream<number>(['eu', 'us'])
      .map((v, r) => ({ key: r.topic, value: v }))
      .to('out')
    const d = new TestDriver(t)
    d.pipe('eu', 1, { timestamp: 1 })
    d.pipe('us', 2, { timestamp: 2 })
    assert.deepEqual(
      d.output('out').map((r) => [r.key, r.value]),
      [
        ['eu', 1],
        ['us', 2],
      ],
    )
  })

  it('two streams may write to one topic without naming their sinks', () => {
    const t = new Topology('app')
    t.stream<number>('a').to('out')
    t.stream<number>('b').to('out')
    const d = new TestDriver(t)
    d.pipe('a', 1, { timestamp: 1 })
    d.pipe('b', 2, { timestamp: 2 })
    assert.deepEqual(d.values('out'), [1, 2])
  })
})

describe('serdes', () => {
  it('json round-trips objects; null bytes are null', () => {
    const t = new Topology('app')
    t.stream<{ n: number } | null>('in', json())
      .mapValues((v) => (v === null ? 'tombstone' : v.n))
      .to('out')
    const d = new TestDriver(t)
    d.pipe('in', { n: 1 }, { timestamp: 1 })
    d.pipeRaw('in', { value: null, timestamp: 2 })
    assert.deepEqual(d.values('out'), [1, 'tombstone'])
    assert.equal(d.rawOutput('out')[0]?.value?.toString(), '1')
  })

  it('string reads and writes UTF-8 text', () => {
    const t = new Topology('app')
    t.stream('in', string())
      .mapValues((s) => `${s}!`)
      .to('out', { valueSerde: string() })
    const d = new TestDriver(t)
    d.pipeRaw('in', { value: Buffer.from('grüß'), timestamp: 1 })
    assert.equal(d.rawOutput('out')[0]?.value?.toString('utf8'), 'grüß!')
  })

  it('bytes passes raw bytes through unchanged', () => {
    const t = new Topology('app')
    t.stream('in', bytes())
      .mapValues((b): Buffer | null => (b === null ? null : Buffer.from(b).reverse()))
      .to('out', { valueSerde: bytes() })
    const d = new TestDriver(t)
    d.pipeRaw('in', { value: Buffer.from([1, 2, 255]), timestamp: 1 })
    assert.deepEqual([...(d.rawOutput('out')[0]?.value ?? [])], [255, 2, 1])
  })

  it('a custom serde reads at the source and writes at the sink', () => {
    const point: Serde<{ x: number; y: number }> = {
      name: 'point',
      serialize: (p) => Buffer.from(`${p.x},${p.y}`),
      deserialize: (b) => {
        const [x, y] = (b?.toString() ?? '').split(',').map(Number)
        return { x: x ?? 0, y: y ?? 0 }
      },
    }
    const t = new Topology('app')
    t.stream('in', point)
      .mapValues((p) => ({ x: p.y, y: p.x }))
      .to('out', { valueSerde: point })
    const d = new TestDriver(t)
    d.pipe('in', { x: 1, y: 2 }, { timestamp: 1 })
    assert.equal(d.rawOutput('out')[0]?.value?.toString(), '2,1')
    assert.deepEqual(d.values('out'), [{ x: 2, y: 1 }])
  })

  it('keys: strings are UTF-8 at the source and the sink by default', () => {
    const t = new Topology('app')
    t.stream<number>('in').to('out')
    const d = new TestDriver(t)
    d.pipeRaw('in', { key: Buffer.from('card-1'), value: Buffer.from('5'), timestamp: 1 })
    assert.equal(d.rawOutput('out')[0]?.key?.toString(), 'card-1')
    assert.deepEqual(d.output('out')[0]?.key, 'card-1')
  })

  it('a function that declares the record gets it; one that declares only the value gets the value', () => {
    const seen: string[] = []
    const t = new Topology('app')
    t.stream<Payment>('in')
      .peek((p, r) => seen.push(`${r.topic}-${r.partition}@${r.offset} t=${r.timestamp} ${p.card}`))
      .filter(function onlyValue(p) {
        // A function expression with one parameter: called with the value alone.
        // biome-ignore lint/complexity/noArguments: the test checks what the step passes
        seen.push(`args=${arguments.length}`)
        return p.amount > 0
      })
      .mapValues((p, r) => ({ ...p, offset: r.offset }))
      .filter((...args: unknown[]) => args.length === 2) // rest parameters: the record is passed
      .to('out')
    const d = new TestDriver(t)
    d.pipe('in', { card: 'a', amount: 5 }, { timestamp: 7 })
    d.pipe('in', { card: 'b', amount: -1 }, { timestamp: 8 })
    assert.deepEqual(seen, ['in-0@0 t=7 a', 'args=1', 'in-0@1 t=8 b', 'args=1'])
    assert.deepEqual(d.values('out'), [{ card: 'a', amount: 5, offset: 0 }])
  })

  it('counts records in and out of every step', () => {
    const t = new Topology('app')
    const s = t.stream<Payment>('in', json(), { name: 'src', onError: 'skip' })
    const big = s.filter((p) => p.amount > 10, { name: 'big' })
    big.mapValues((p) => p.amount, { name: 'amount' }).to('out', { name: 'sink' })
    big
      .flatMapValues((p) => [p, p], { name: 'twice' })
      .merge(s)
      .to('all', { name: 'all' })
    const d = new TestDriver(t)
    for (const amount of [5, 11, 12, 13]) d.pipe('in', { card: 'c', amount }, { timestamp: amount })
    d.pipeRaw('in', { key: null, value: Buffer.from('{not json'), timestamp: 20 })
    const counts = Object.fromEntries([...d.metrics()].map(([id, c]) => [id, [c.in, c.out, c.errors]]))
    assert.deepEqual(counts, {
      src: [5, 4, 1],
      big: [4, 3, 0],
      amount: [3, 3, 0],
      sink: [3, 3, 0],
      twice: [3, 6, 0],
      'merge-1': [10, 10, 0],
      all: [10, 10, 0],
    })
  })
})
