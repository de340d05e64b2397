// Tables and joins through the TestDriver: out-of-order and late records, tombstones, updates on
// both sides.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { count } from '../dsl/aggregators.js'
import { Topology } from '../dsl/stream.js'
import { TestDriver } from './test-driver.js'

interface Payment {
  readonly card: string
  readonly amount: number
}
interface Holder {
  readonly name: string
  readonly country: string
}

const kv = <V>(d: TestDriver, topic: string) =>
  d.output<V, string>(topic).map((r) => [r.key, r.value] as const)

describe('tables', () => {
  it('keeps the latest value per key; a tombstone deletes; changes() carries the deletes', () => {
    const t = new Topology('app')
    const holders = t.table<Holder>('holders')
    holders.changes().to('changes')
    holders.toStream().to('updates')
    const d = new TestDriver(t)
    d.pipe('holders', { name: 'Ann', country: 'FR' }, { key: 'c1', timestamp: 1 })
    d.pipe('holders', { name: 'Bob', country: 'DE' }, { key: 'c2', timestamp: 2 })
    d.pipe('holders', { name: 'Ann', country: 'NL' }, { key: 'c1', timestamp: 3 })
    d.pipe('holders', null, { key: 'c2', timestamp: 4 })
    // Deleting a missing key leaves the table as it is, but the delete is passed on (joins that
    // read the table as of event time need it when deletes arrive out of order).
    d.pipe('holders', null, { key: 'c9', timestamp: 5 })
    assert.deepEqual(kv(d, 'changes'), [
      ['c1', { name: 'Ann', country: 'FR' }],
      ['c2', { name: 'Bob', country: 'DE' }],
      ['c1', { name: 'Ann', country: 'NL' }],
      ['c2', null],
      ['c9', null],
    ])
    assert.deepEqual(
      kv(d, 'updates').map(([k]) => k),
      ['c1', 'c2', 'c1'],
    )
    assert.deepEqual(d.keyValueStore('table-holders-store'), [['c1', { name: 'Ann', country: 'NL' }]])
  })

  it('an aggregation is a table that can be written with .to()', () => {
    const t = new Topology('app')
    t.stream<string>('clicks')
      .groupBy((page) => page)
      .count({ name: 'n' })
      .to('counts')
    const d = new TestDriver(t)
    d.pipe('clicks', '/a').pipe('clicks', '/a').pipe('clicks', '/b')
    assert.deepEqual(kv(d, 'counts'), [
      ['/a', 1],
      ['/a', 2],
      ['/b', 1],
    ])
  })
})

describe('stream–table join', () => {
  function enrich(type: 'inner' | 'left', grace?: number) {
    const t = new Topology('app')
    const holders = t.table<Holder>('holders')
    const payments = t.stream<Payment>('payments')
    const opts = grace === undefined ? undefined : { grace }
    if (type === 'inner') payments.join(holders, (p, h) => `${p.amount}@${h.country}`, opts).to('out')
    else payments.leftJoin(holders, (p, h) => `${p.amount}@${h?.country ?? '?'}`, opts).to('out')
    const d = new TestDriver(t)
    const holder = (card: string, country: string | null, timestamp: number) =>
      d.pipe('holders', country === null ? null : { name: card, country }, { key: card, timestamp })
    const pay = (card: string, amount: number, timestamp: number) =>
      d.pipe('payments', { card, amount }, { key: card, timestamp })
    return { d, holder, pay, out: () => d.values<string>('out') }
  }

  it('inner: joins with the table, drops records without a match', () => {
    const { holder, pay, out } = enrich('inner')
    pay('c1', 5, 10) // no holder yet
    holder('c1', 'FR', 20)
    pay('c1', 7, 30)
    pay('c2', 9, 31)
    assert.deepEqual(out(), ['7@FR'])
  })

  it('left: keeps records without a match, with null', () => {
    const { holder, pay, out } = enrich('left')
    pay('c1', 5, 10)
    holder('c1', 'FR', 20)
    pay('c1', 7, 30)
    assert.deepEqual(out(), ['5@?', '7@FR'])
  })

  it('reads the table as of the record’s event time, not whatever is loaded now', () => {
    const { holder, pay, out } = enrich('inner')
    holder('c1', 'FR', 100)
    holder('c1', 'NL', 300) // newer version arrives before an older payment
    pay('c1', 1, 200) // out of order: at 200 the holder was in FR
    pay('c1', 2, 350)
    pay('c1', 3, 50) // before any version: no match
    assert.deepEqual(out(), ['1@FR', '2@NL'])
  })

  it('a tombstone deletes the key from its time on; updates on the table side apply', () => {
    const { holder, pay, out } = enrich('left')
    holder('c1', 'FR', 100)
    holder('c1', null, 200)
    pay('c1', 1, 150)
    pay('c1', 2, 250)
    holder('c1', 'DE', 300)
    pay('c1', 3, 310)
    assert.deepEqual(out(), ['1@FR', '2@?', '3@DE'])
  })

  it('with grace, a stream record waits so that a table update a little out of order is seen', () => {
    const { d, holder, pay, out } = enrich('inner', 50)
    pay('c1', 1, 100) // waits until event time reaches 150
    holder('c1', 'FR', 90) // arrives after the payment, older than it
    assert.deepEqual(out(), [])
    pay('c2', 0, 151)
    assert.deepEqual(out(), []) // event time is the least of both inputs': the table's is at 90
    holder('c3', 'DE', 151) // now both inputs are past 150
    assert.deepEqual(out(), ['1@FR'])
    assert.equal(d.output('out')[0]!.timestamp, 100)
  })

  it('with grace, a delete arriving before an older update still deletes from its time on', () => {
    // Out of order: the delete at 200 is processed while the table has no c1 (the update at 100
    // comes after it). The table ends with c1 (the update was processed last), but as of time 250
    // the holder is deleted.
    const { holder, pay, out } = enrich('left', 100)
    holder('c1', null, 200)
    holder('c1', 'FR', 100)
    pay('c1', 1, 150)
    pay('c1', 2, 250)
    holder('c9', 'DE', 400) // moves event time past both payments' grace
    pay('c9', 0, 401)
    assert.deepEqual(out(), ['1@FR', '2@?'])
  })
})

describe('joins after repartitions', () => {
  it('a table declared before the re-keyed stream that joins it, on 4 partitions', () => {
    // In plan order the join's sub-topology (it holds the table) comes before the one writing its
    // repartition topic, which reads a repartition topic itself.
    const t = new Topology('app')
    const holders = t.table<Holder>('holders')
    t.stream<Payment>('payments')
      .groupBy((p) => p.card, { name: 'by-card' })
      .count({ name: 'payments-per-card' })
      .toStream()
      .join(holders, (n, h) => `${h.name}:${n}`, { name: 'named' })
      .to('out')
    const d = new TestDriver(t, { partitions: { payments: 4, holders: 4 } })
    for (const card of ['c1', 'c2', 'c3', 'c4', 'c5'])
      d.pipe('holders', { name: card.toUpperCase(), country: 'FR' }, { key: card, timestamp: 1 })
    for (const [i, card] of ['c1', 'c2', 'c1', 'c5', 'c1'].entries())
      d.pipe('payments', { card, amount: i }, { key: `p${i}`, timestamp: 10 + i })
    assert.deepEqual(d.values('out').sort(), ['C1:1', 'C1:2', 'C1:3', 'C2:1', 'C5:1'])
  })

  it('a re-keyed stream joins one that was not: equal keys meet in one partition', () => {
    const t = new Topology('app')
    const shipments = t.stream<string, string>('shipments') // keyed by order id as produced
    t.stream<{ id: string }>('orders')
      .selectKey((o) => o.id)
      .join(shipments, (o, s) => `${o.id}=${s}`, { within: 1000 })
      .to('out')
    const d = new TestDriver(t, { partitions: { orders: 4, shipments: 4 } })
    const ids = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8']
    for (const [i, id] of ids.entries()) d.pipe('orders', { id }, { timestamp: 10 + i, partition: i % 4 })
    for (const [i, id] of ids.entries()) d.pipe('shipments', `s${i}`, { key: id, timestamp: 20 + i })
    assert.deepEqual(d.values('out').sort(), ids.map((id, i) => `${id}=s${i}`).sort())
  })
})

describe('as-of join', () => {
  it('joins with the latest right record at or before the left record’s time', () => {
    const t = new Topology('app')
    const quotes = t.stream<number>('quotes')
    t.stream<number>('trades')
      .asOfJoin(quotes, (qty, bid) => qty * bid, { maxLookback: 100 })
      .to('out')
    const d = new TestDriver(t)
    d.pipe('quotes', 10, { key: 'X', timestamp: 100 })
    d.pipe('quotes', 12, { key: 'X', timestamp: 200 })
    d.pipe('trades', 1, { key: 'X', timestamp: 150 }) // quote at 100
    d.pipe('trades', 2, { key: 'X', timestamp: 200 }) // quote at 200, inclusive
    d.pipe('trades', 3, { key: 'X', timestamp: 90 }) // before any quote
    d.pipe('trades', 4, { key: 'X', timestamp: 400 }) // the quote at 200 is too old (lookback 100)
    d.pipe('trades', 5, { key: 'Y', timestamp: 210 }) // no quote for Y
    assert.deepEqual(d.values('out'), [10, 24])
  })

  it('left as-of join keeps unmatched records', () => {
    const t = new Topology('app')
    const quotes = t.stream<number>('quotes')
    t.stream<number>('trades')
      .leftAsOfJoin(quotes, (qty, bid) => (bid === null ? -qty : qty * bid))
      .to('out')
    const d = new TestDriver(t)
    d.pipe('trades', 3, { key: 'X', timestamp: 90 })
    d.pipe('quotes', 10, { key: 'X', timestamp: 100 })
    d.pipe('trades', 2, { key: 'X', timestamp: 150 })
    assert.deepEqual(d.values('out'), [-3, 20])
  })
})

describe('stream–stream windowed join', () => {
  function orders(
    type: 'inner' | 'left' | 'outer',
    window: { within?: number; before?: number; after?: number; grace?: number },
  ) {
    const t = new Topology('app')
    const shipments = t.stream<string>('shipments')
    const o = t.stream<string>('orders')
    const joiner = (a: string | null, b: string | null) => `${a ?? '-'}+${b ?? '-'}`
    const joined =
      type === 'inner'
        ? o.join(shipments, joiner, window)
        : type === 'left'
          ? o.leftJoin(shipments, joiner, window)
          : o.outerJoin(shipments, joiner, window)
    joined.to('out')
    const d = new TestDriver(t)
    return {
      d,
      order: (k: string, v: string, ts: number) => d.pipe('orders', v, { key: k, timestamp: ts }),
      ship: (k: string, v: string, ts: number) => d.pipe('shipments', v, { key: k, timestamp: ts }),
      out: () => d.output<string, string>('out').map((r) => [r.value, r.timestamp] as const),
    }
  }

  it('inner: pairs records of a key within the window, either side first, out of order too', () => {
    const { order, ship, out } = orders('inner', { within: 100, grace: 1000 })
    order('k', 'o1', 1000)
    ship('k', 's1', 1050) // pairs with o1
    ship('k', 's0', 950) // out of order, still within 100 of o1
    ship('k', 's2', 1200) // too far from o1
    order('j', 'o9', 1000)
    assert.deepEqual(out(), [
      ['o1+s1', 1050],
      ['o1+s0', 1000],
    ])
  })

  it('asymmetric windows: before and after', () => {
    const { order, ship, out } = orders('inner', { before: 0, after: 500, grace: 1000 })
    order('k', 'o1', 1000)
    ship('k', 'early', 999) // before the order: outside [t - 0, t + 500]
    ship('k', 'late', 1500)
    assert.deepEqual(out(), [['o1+late', 1500]])
  })

  it('left: an order without a shipment is emitted with null once the window and grace have passed', () => {
    const { order, ship, out } = orders('left', { within: 100, grace: 50 })
    order('a', 'oa', 1000) // matched below
    order('b', 'ob', 1000) // never matched
    ship('a', 'sa', 1020)
    assert.deepEqual(out(), [['oa+sa', 1020]])
    // Event time is the least of both inputs'. ob's window closes at 1000 + 100 + 50 = 1150.
    ship('z', 'x', 1149)
    order('y', 'x', 1149)
    assert.deepEqual(out(), [['oa+sa', 1020]])
    ship('z', 'x', 1150)
    order('y', 'x', 1150)
    assert.deepEqual(out(), [
      ['oa+sa', 1020],
      ['ob+-', 1000],
    ])
  })

  it('outer: lonely records of both sides come out once closed', () => {
    const { order, ship, out } = orders('outer', { within: 10 })
    order('a', 'oa', 100)
    ship('b', 'sb', 105)
    ship('c', 'sc', 200)
    order('c', 'oc', 300) // event time (the least of both inputs) 200 closes oa and sb
    assert.deepEqual(out(), [
      ['oa+-', 100],
      ['-+sb', 105],
    ])
  })

  it('a record past its window and grace is late: never joined, to lateLeft() or lateRight() by its side', () => {
    const t = new Topology('app')
    const s = t.stream<string>('shipments')
    const joined = t.stream<string>('orders').join(s, (a, b) => `${a}+${b}`, { within: 10, grace: 5 })
    joined.to('out')
    joined
      .lateLeft()
      .mapValues((order) => `late order ${order}`)
      .to('late-orders')
    joined.lateRight().to('late-shipments')
    const d = new TestDriver(t)
    d.pipe('shipments', 's1', { key: 'k', timestamp: 100 })
    d.pipe('orders', 'o9', { key: 'x', timestamp: 200 })
    d.pipe('shipments', 's9', { key: 'y', timestamp: 200 }) // event time 200 on both inputs
    d.pipe('orders', 'o1', { key: 'k', timestamp: 105 }) // closes at 105 + 10 + 5 = 120 <= 200: late
    d.pipe('shipments', 's2', { key: 'k', timestamp: 184 }) // closes at 184 + 10 + 5 = 199: late
    d.pipe('shipments', 's3', { key: 'x', timestamp: 186 }) // 14 from o9: no pair; closes at 201: not late
    d.pipe('orders', 'o2', { key: 'x', timestamp: 190 }) // closes at 205: joins s3
    assert.deepEqual(d.values('out'), ['o2+s3'])
    const late = (topic: string) => d.output<string, string>(topic).map((r) => [r.key, r.value, r.timestamp])
    assert.deepEqual(late('late-orders'), [['k', 'late order o1', 105]])
    assert.deepEqual(late('late-shipments'), [['k', 's2', 184]])
    assert.equal(d.metrics().get('innerJoin-1')?.in, 7)
  })

  it('repartitions a stream whose key was changed before joining', () => {
    const t = new Topology('app')
    const shipments = t.stream<{ order: string }>('shipments').selectKey((s) => s.order)
    t.stream<{ id: string }>('orders')
      .selectKey((o) => o.id)
      .join(shipments, (o, s) => `${o.id}=${s.order}`, { within: 1000 })
      .to('out')
    assert.equal(t.plan().repartitionNodes().length, 2)
    const d = new TestDriver(t, { partitions: { orders: 2, shipments: 2 } })
    d.pipe('orders', { id: 'o1' }, { timestamp: 10, partition: 1 })
    d.pipe('shipments', { order: 'o1' }, { timestamp: 20, partition: 0 })
    assert.deepEqual(d.values('out'), ['o1=o1'])
  })
})

describe('table–table join', () => {
  function tables(type: 'inner' | 'left' | 'outer') {
    const t = new Topology('app')
    const left = t.table<string>('left')
    const right = t.table<string>('right')
    const joiner = (a: string | null, b: string | null) => `${a ?? '-'}+${b ?? '-'}`
    const joined =
      type === 'inner'
        ? left.join(right, joiner)
        : type === 'left'
          ? left.leftJoin(right, joiner)
          : left.outerJoin(right, joiner)
    joined.to('out')
    const d = new TestDriver(t)
    return {
      l: (k: string, v: string | null, ts: number) => d.pipe('left', v, { key: k, timestamp: ts }),
      r: (k: string, v: string | null, ts: number) => d.pipe('right', v, { key: k, timestamp: ts }),
      out: () => d.output<string | null, string>('out').map((x) => [x.key, x.value, x.timestamp] as const),
    }
  }

  it('inner: a result when both sides have the key; a tombstone when one side goes', () => {
    const { l, r, out } = tables('inner')
    l('k', 'a', 1)
    r('k', 'x', 2)
    l('k', 'b', 3)
    r('k', 'y', 4)
    r('k', null, 5)
    l('k', null, 6) // no result before: nothing to retract
    assert.deepEqual(out(), [
      ['k', 'a+x', 2],
      ['k', 'b+x', 3],
      ['k', 'b+y', 4],
      ['k', null, 5],
    ])
  })

  it('left: every left key, with null until the right side has it', () => {
    const { l, r, out } = tables('left')
    r('k', 'x', 1) // no left: nothing
    l('k', 'a', 2)
    r('k', null, 3)
    l('k', null, 4)
    assert.deepEqual(out(), [
      ['k', 'a+x', 2],
      ['k', 'a+-', 3],
      ['k', null, 4],
    ])
  })

  it('outer: every key of either side', () => {
    const { l, r, out } = tables('outer')
    r('k', 'x', 1)
    l('k', 'a', 2)
    r('k', null, 3)
    l('k', null, 4)
    assert.deepEqual(out(), [
      ['k', '-+x', 1],
      ['k', 'a+x', 2],
      ['k', 'a+-', 3],
      ['k', null, 4],
    ])
  })

  it('joins aggregations: clicks per page with views per page', () => {
    const t = new Topology('app')
    const clicks = t
      .stream<string>('clicks')
      .groupBy((p) => p, { name: 'byPage' })
      .aggregate(count(), { name: 'clicks' })
    const views = t
      .stream<string>('views')
      .groupBy((p) => p, { name: 'viewsByPage' })
      .aggregate(count(), { name: 'views' })
    clicks.join(views, (c, v) => c / v).to('ctr')
    const d = new TestDriver(t)
    d.pipe('views', '/a').pipe('views', '/a').pipe('clicks', '/a').pipe('views', '/a')
    assert.deepEqual(d.values('ctr'), [0.5, 1 / 3])
  })
})

describe('stream–global table join', () => {
  it('looks up by a key computed from the record, whatever the partitions; tombstones delete', () => {
    const t = new Topology('app')
    const countries = t.globalTable<{ name: string }>('countries')
    const payments = t.stream<{ amount: number; country: string }>('payments')
    payments
      .join(
        countries,
        (p) => p.country,
        (p, c) => `${p.amount} in ${c.name}`,
      )
      .to('inner')
    payments
      .leftJoin(
        countries,
        (p) => p.country,
        (p, c) => `${p.amount} in ${c?.name ?? '?'}`,
      )
      .to('left')
    const d = new TestDriver(t, { partitions: { payments: 3, countries: 2 } })
    d.pipe('countries', { name: 'France' }, { key: 'FR', partition: 1 })
    d.pipe('countries', { name: 'Germany' }, { key: 'DE', partition: 0 })
    for (let p = 0; p < 3; p++) d.pipe('payments', { amount: p, country: 'FR' }, { partition: p })
    d.pipe('payments', { amount: 9, country: 'XX' }, { partition: 0 })
    d.pipe('countries', null, { key: 'FR', partition: 1 })
    d.pipe('payments', { amount: 4, country: 'FR' }, { partition: 2 })
    d.pipe('payments', { amount: 5, country: 'DE' }, { partition: 1 })
    assert.deepEqual(d.values('inner'), ['0 in France', '1 in France', '2 in France', '5 in Germany'])
    assert.deepEqual(d.values('left'), [
      '0 in France',
      '1 in France',
      '2 in France',
      '9 in ?',
      '4 in ?',
      '5 in Germany',
    ])
  })
})

describe('foreign-key table–table join', () => {
  interface Order {
    readonly customer: string
    readonly amount: number
  }
  function shop(type: 'inner' | 'left') {
    const t = new Topology('app')
    const orders = t.table<Order>('orders')
    const customers = t.table<{ name: string }>('customers')
    const joined =
      type === 'inner'
        ? orders.foreignKeyJoin(
            customers,
            (o) => o.customer,
            (o, c) => `${o.amount} by ${c.name}`,
          )
        : orders.leftForeignKeyJoin(
            customers,
            (o) => o.customer,
            (o, c) => `${o.amount} by ${c?.name ?? '?'}`,
          )
    joined.to('out')
    // Not co-partitioned: 3 partitions of orders, 2 of customers.
    const d = new TestDriver(t, { partitions: { orders: 3, customers: 2 } })
    let time = 0
    return {
      order: (id: string, o: Order | null) => d.pipe('orders', o, { key: id, timestamp: ++time }),
      customer: (id: string, name: string | null) =>
        d.pipe('customers', name === null ? null : { name }, { key: id, timestamp: ++time }),
      /** The table the output topic holds: the last value per key, deletes removed. */
      table: () => {
        const m = new Map<string, string | null>()
        for (const r of d.output<string | null, string>('out')) m.set(r.key, r.value)
        return Object.fromEntries([...m].filter(([, v]) => v !== null))
      },
      out: () => d.output<string | null, string>('out').map((r) => [r.key, r.value] as const),
    }
  }

  it('inner: joins each order with its customer; customer updates reach every order', () => {
    const { order, customer, table, out } = shop('inner')
    order('o1', { customer: 'c1', amount: 10 }) // no customer yet
    customer('c1', 'Ann')
    order('o2', { customer: 'c1', amount: 20 })
    order('o3', { customer: 'c2', amount: 30 })
    assert.deepEqual(table(), { o1: '10 by Ann', o2: '20 by Ann' })
    customer('c1', 'Anna')
    assert.deepEqual(table(), { o1: '10 by Anna', o2: '20 by Anna' })
    customer('c2', 'Bob')
    assert.deepEqual(table(), { o1: '10 by Anna', o2: '20 by Anna', o3: '30 by Bob' })
    assert.ok(out().every(([, v]) => v === null || typeof v === 'string'))
  })

  it('an order moving to another customer follows it; the old customer’s updates stop reaching it', () => {
    const { order, customer, table } = shop('inner')
    customer('c1', 'Ann')
    customer('c2', 'Bob')
    order('o1', { customer: 'c1', amount: 10 })
    order('o1', { customer: 'c2', amount: 11 })
    assert.deepEqual(table(), { o1: '11 by Bob' })
    customer('c1', 'Anna') // o1 no longer subscribes to c1
    assert.deepEqual(table(), { o1: '11 by Bob' })
  })

  it('tombstones: a deleted order is deleted from the result; a deleted customer too (inner) or joins with null (left)', () => {
    const inner = shop('inner')
    inner.customer('c1', 'Ann')
    inner.order('o1', { customer: 'c1', amount: 10 })
    inner.order('o2', { customer: 'c1', amount: 20 })
    inner.order('o1', null)
    assert.deepEqual(inner.table(), { o2: '20 by Ann' })
    inner.customer('c1', null)
    assert.deepEqual(inner.table(), {})

    const left = shop('left')
    left.order('o1', { customer: 'c1', amount: 10 })
    assert.deepEqual(left.table(), { o1: '10 by ?' })
    left.customer('c1', 'Ann')
    assert.deepEqual(left.table(), { o1: '10 by Ann' })
    left.customer('c1', null)
    assert.deepEqual(left.table(), { o1: '10 by ?' })
  })
})
