// Grouping (repartitioning) and keyed aggregations into tables, through the TestDriver.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { partitionForKey } from '../core/murmur2.js'
import { aggregate, avg, count, max, min, reduce, sum } from '../dsl/aggregators.js'
import { Topology } from '../dsl/stream.js'
import { TestDriver } from './test-driver.js'

interface Payment {
  card: string
  amount: number
}

const pay = (card: string, amount: number) => ({ card, amount })

/** Pipes payments with timestamps 1, 2, 3… */
function pipeAll(d: TestDriver, payments: Payment[]): void {
  for (const [i, p] of payments.entries()) d.pipe('payments', p, { timestamp: i + 1 })
}

describe('grouping', () => {
  it('groupBy moves each record to the partition of its new key', () => {
    const t = new Topology('app')
    t.stream<Payment>('payments')
      .groupBy((p) => p.card, { name: 'by-card' })
      .count({ name: 'n' })
      .toStream()
      .to('counts')
    const d = new TestDriver(t, { partitions: { payments: 4 } })
    const cards = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
    for (const [i, c] of cards.entries()) d.pipe('payments', pay(c, 1), { partition: i % 4, timestamp: i })
    // Records only: upstream tasks may also write event-time markers (no value) to every partition.
    const moved = d.rawOutput('test-by-card-repartition').filter((r) => r.value !== null)
    assert.equal(moved.length, cards.length)
    for (const r of moved) {
      // The repartition topic has the source's 4 partitions; the key decides which.
      assert.equal(r.partition, partitionForKey(r.key!, 4))
    }
    assert.ok(new Set(moved.map((r) => r.partition)).size > 1, 'all keys landed in one partition')
    // Each downstream task counted only its own keys: one count per card, none merged.
    assert.deepEqual(d.keyValueStore<string, number>('n-store').sort(), cards.map((c) => [c, 1]).sort())
  })

  it('groupByKey without a key change does not repartition', () => {
    const t = new Topology('app')
    t.stream<number>('in').groupByKey().count().toStream().to('out')
    const plan = t.plan()
    assert.equal(plan.repartitionNodes().length, 0)
    assert.equal(plan.subTopologies().length, 1)
    const d = new TestDriver(t)
    d.pipe('in', 1, { key: 'k', timestamp: 1 })
    d.pipe('in', 1, { key: 'k', timestamp: 2 })
    assert.deepEqual(d.values('out'), [1, 2])
  })

  it('groupByKey after a key change repartitions', () => {
    const t = new Topology('app')
    t.stream<Payment>('payments')
      .selectKey((p) => p.card)
      .groupByKey({ name: 'g' })
      .count()
      .toStream()
      .to('out')
    assert.deepEqual(
      t
        .plan()
        .repartitionNodes()
        .map((n) => n.topic),
      ['g-repartition'],
    )
    const d = new TestDriver(t)
    pipeAll(d, [pay('a', 1), pay('b', 1), pay('a', 1)])
    assert.deepEqual(
      d.output('out').map((r) => [r.key, r.value]),
      [
        ['a', 1],
        ['b', 1],
        ['a', 2],
      ],
    )
  })
})

describe('aggregations', () => {
  const payments = [pay('a', 5), pay('b', 1), pay('a', -2), pay('a', 9)]

  function run<R>(build: (t: Topology) => void): [string, R][] {
    const t = new Topology('app')
    build(t)
    const d = new TestDriver(t)
    pipeAll(d, payments)
    return d.output<R, string>('out').map((r) => [r.key, r.value])
  }

  it('count, and toStream emits every update of the table', () => {
    const out = run<number>((t) =>
      t
        .stream<Payment>('payments')
        .groupBy((p) => p.card)
        .count()
        .toStream()
        .to('out'),
    )
    assert.deepEqual(out, [
      ['a', 1],
      ['b', 1],
      ['a', 2],
      ['a', 3],
    ])
  })

  it('sum', () => {
    const out = run<number>((t) =>
      t
        .stream<Payment>('payments')
        .groupBy((p) => p.card)
        .aggregate(sum((p) => p.amount))
        .toStream()
        .to('out'),
    )
    assert.deepEqual(out, [
      ['a', 5],
      ['b', 1],
      ['a', 3],
      ['a', 12],
    ])
  })

  it('min and max', () => {
    const out = run<{ lo: number; hi: number }>((t) =>
      t
        .stream<Payment>('payments')
        .groupBy((p) => p.card)
        .aggregate({ lo: min((p) => p.amount), hi: max((p) => p.amount) })
        .toStream()
        .to('out'),
    )
    assert.deepEqual(out.at(-1), ['a', { lo: -2, hi: 9 }])
    assert.deepEqual(out[1], ['b', { lo: 1, hi: 1 }])
  })

  it('avg', () => {
    const out = run<number>((t) =>
      t
        .stream<Payment>('payments')
        .groupBy((p) => p.card)
        .aggregate(avg((p) => p.amount))
        .toStream()
        .to('out'),
    )
    assert.deepEqual(out, [
      ['a', 5],
      ['b', 1],
      ['a', 1.5],
      ['a', 4],
    ])
  })

  it('reduce combines values pairwise', () => {
    const out = run<Payment>((t) =>
      t
        .stream<Payment>('payments')
        .groupBy((p) => p.card)
        .aggregate(reduce((x, y) => (y.amount > x.amount ? y : x)))
        .toStream()
        .to('out'),
    )
    assert.deepEqual(out.at(-1), ['a', pay('a', 9)])
  })

  it('a custom aggregate', () => {
    const out = run<number[]>((t) =>
      t
        .stream<Payment>('payments')
        .groupBy((p) => p.card)
        .aggregate(aggregate({ init: () => [] as number[], add: (acc, p: Payment) => [...acc, p.amount] }))
        .toStream()
        .to('out'),
    )
    assert.deepEqual(out.at(-1), ['a', [5, -2, 9]])
  })

  it('several at once', () => {
    const out = run<{ n: number; total: number }>((t) =>
      t
        .stream<Payment>('payments')
        .groupBy((p) => p.card)
        .aggregate({ n: count(), total: sum((p) => p.amount) })
        .toStream()
        .to('out'),
    )
    assert.deepEqual(out, [
      ['a', { n: 1, total: 5 }],
      ['b', { n: 1, total: 1 }],
      ['a', { n: 2, total: 3 }],
      ['a', { n: 3, total: 12 }],
    ])
  })

  it('the aggregate lives in the step’s store', () => {
    const t = new Topology('app')
    t.stream<Payment>('payments')
      .groupBy((p) => p.card)
      .count({ name: 'per-card' })
      .toStream()
      .to('out')
    const d = new TestDriver(t)
    pipeAll(d, payments)
    assert.deepEqual(d.keyValueStore('per-card-store').sort(), [
      ['a', 3],
      ['b', 1],
    ])
  })
})

describe('state TTL', () => {
  it('a key not updated for longer than its ttl starts again from scratch', () => {
    const t = new Topology('ttl')
    t.stream<{ user: string }>('clicks')
      .groupBy((c) => c.user)
      .aggregate(count(), { name: 'clicks-per-user', ttl: '1m' })
      .toStream()
      .to('counts')
    const d = new TestDriver(t)
    d.pipe('clicks', { user: 'a' }, { timestamp: 1 })
    d.advanceWallClock(30_000)
    d.pipe('clicks', { user: 'a' }, { timestamp: 2 })
    // 30 s after the last update: still alive; then 61 s of silence expires it.
    d.advanceWallClock(30_000)
    d.pipe('clicks', { user: 'a' }, { timestamp: 3 })
    d.advanceWallClock(61_000)
    assert.deepEqual(d.keyValueStore('clicks-per-user-store'), [])
    d.pipe('clicks', { user: 'a' }, { timestamp: 4 })
    assert.deepEqual(d.values('counts'), [1, 2, 3, 1])
  })
})
