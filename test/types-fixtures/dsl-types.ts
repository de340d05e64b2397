// Type tests of the DSL, checked by one `tsc` run (src/dsl/types.test.ts). Plain lines must
// compile; each line after `@ts-expect-error` must not (an unused one fails the build, so both
// directions are checked).
import { bytes, json, string } from '../../src/core/serde.js'
import type { StreamRecord } from '../../src/core/stream-record.js'
import { aggregate, avg, count, max, min, reduce, sum } from '../../src/dsl/aggregators.js'
import {
  type GroupedStream,
  type Stream,
  type Table,
  Topology,
  type WindowedStream,
  type WindowJoinedStream,
} from '../../src/dsl/stream.js'
import { hopping, session, sliding, tumbling, type WindowResult } from '../../src/dsl/windows.js'

/** True when A and B are the same type (not merely assignable). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
/** Compiles only when the value's type is exactly T. */
function expectType<T>() {
  return <U>(_value: U, ..._exact: Equal<T, U> extends true ? [] : [never]) => {}
}

interface Payment {
  card: string
  amount: number
}
interface Order {
  id: string
  qty: number
}
type Event = { type: 'click'; page: string } | { type: 'view'; ms: number }

const t = new Topology('types')
const payments = t.stream<Payment>('payments')
const orders = t.stream<Order>('orders')

// Sources: the value type is given, the key is a string (or null) unless a key serde says otherwise.
expectType<Stream<string | null, Payment>>()(payments)
expectType<Stream<string | null, string>>()(t.stream('lines', string()))
expectType<Stream<string | null, Buffer | null>>()(t.stream('raw', bytes()))
expectType<Stream<number, Payment>>()(t.stream<Payment, number>('p2', json(), { keySerde: json<number>() }))

// Stateless steps carry the types through.
const byCard = payments.map((p) => ({ key: p.card, value: p.amount }))
expectType<Stream<string, number>>()(byCard)
expectType<Stream<string | null, string>>()(payments.mapValues((p) => p.card))
expectType<Stream<number, Payment>>()(payments.selectKey((p) => p.amount))
expectType<Stream<string, string>>()(payments.flatMap((p) => [{ key: p.card, value: 'x' }]))
expectType<Stream<string | null, string>>()(payments.flatMapValues((p) => [p.card, p.card]))
expectType<Stream<string | null, Payment>>()(payments.peek((p) => p.amount).withTimestamp((p) => p.amount))
expectType<Stream<string | null, Payment>>()(payments.filter((p) => p.amount > 0))
payments.withHeaders((_p, r: StreamRecord<string | null, Payment>) => r.headers)

// A type guard narrows.
const clicks = t
  .stream<Event>('events')
  .filter((e): e is Extract<Event, { type: 'click' }> => e.type === 'click')
expectType<Stream<string | null, { type: 'click'; page: string }>>()(clicks)
clicks.mapValues((c) => c.page.toUpperCase())

// split: one stream per branch, and `rest`.
const branches = payments.split({ big: (p) => p.amount > 100, small: (p) => p.amount < 1 })
expectType<Stream<string | null, Payment>>()(branches.big)
expectType<Stream<string | null, Payment>>()(branches.rest)

// Grouping and aggregating.
const grouped = payments.groupBy((p) => p.card)
expectType<GroupedStream<string, Payment>>()(grouped)
expectType<GroupedStream<string | null, Payment>>()(payments.groupByKey())
expectType<Table<string, number>>()(grouped.count())
expectType<Table<string, number>>()(grouped.aggregate(sum((p) => p.amount)))
expectType<Table<string, number | null>>()(grouped.aggregate(avg((p) => p.amount)))
expectType<Table<string, number | null>>()(grouped.aggregate(min((p) => p.amount)))
expectType<Table<string, number | null>>()(grouped.aggregate(max((p) => p.amount)))
expectType<Table<string, Payment | null>>()(
  grouped.aggregate(reduce((a, b) => (a.amount > b.amount ? a : b))),
)
expectType<Table<string, string[]>>()(
  grouped.aggregate(aggregate({ init: () => [] as string[], add: (acc, p: Payment) => [...acc, p.card] })),
)
const several = grouped.aggregate({ n: count(), total: sum((p) => p.amount), top: max((p) => p.amount) })
expectType<Table<string, { readonly n: number; readonly total: number; readonly top: number | null }>>()(
  several,
)
expectType<Stream<string, number>>()(grouped.count().toStream())

// Windows: results carry the key, the bounds and the aggregate.
const windowed = grouped.window(tumbling({ size: '1m' }))
expectType<WindowedStream<string, Payment>>()(windowed)
const perMinute = windowed.aggregate({ n: count(), total: sum((p) => p.amount) })
expectType<Stream<string, WindowResult<string, { readonly n: number; readonly total: number }>>>()(
  perMinute.final(),
)
expectType<Stream<string, Payment>>()(perMinute.lateRecords())
perMinute.final().filter((w) => w.value.n >= 2 && w.end > w.start)
expectType<Stream<string, WindowResult<string, number>>>()(
  grouped
    .window(hopping({ size: '5m', every: '1m' }))
    .count()
    .current(),
)
grouped
  .window(sliding({ size: 1000 }))
  .aggregate(avg((p) => p.amount))
  .final()
grouped
  .window(session({ gap: '30m', grace: '1m' }))
  .count()
  .final()
  .to('sessions')

// The low-level processor API: the processor's output types become the stream's.
expectType<Stream<string, number>>()(
  payments.process<string, number>(
    () => ({ process: (r, ctx) => ctx.forward({ ...r, key: r.value.card, value: r.value.amount }) }),
    { name: 'p' },
  ),
)

// A stream–stream join's late records keep each side's own value type.
const shipped = payments.join(orders, (p, o) => ({ card: p.card, qty: o.qty }), { within: '1m' })
expectType<WindowJoinedStream<string | null, { card: string; qty: number }, Payment, Order>>()(shipped)
expectType<Stream<string | null, Payment>>()(shipped.lateLeft())
expectType<Stream<string | null, Order>>()(shipped.lateRight())

// What must not compile.

const counts = grouped
  .window(tumbling({ size: 1000 }))
  .count()
  .final()

// @ts-expect-error a late right-side record is an Order, not a Payment
shipped.lateRight().filter((o) => o.amount > 0)
// @ts-expect-error a field the value no longer has after a map
byCard.filter((v) => v.card === 'x')
// @ts-expect-error a window result is not a number
perMinute.final().mapValues((w): number => w)
// @ts-expect-error a window's count is a number, not an object
counts.filter((w) => w.value.n > 1)
// @ts-expect-error window() needs a grouped stream
payments.window(tumbling({ size: 1000 }))
// @ts-expect-error aggregate() needs a grouped stream
payments.aggregate(count())
// @ts-expect-error an emit mode comes after an aggregation
grouped.window(tumbling({ size: 1000 })).final()
// @ts-expect-error sum() needs a number
grouped.aggregate(sum((p) => p.card))
// @ts-expect-error an aggregation over another value type
grouped.aggregate(sum((o: Order) => o.qty))
// @ts-expect-error the sink's serde must fit the value
payments.to('out', { valueSerde: string() })
// @ts-expect-error merge needs streams of the same types
payments.merge(orders)
// @ts-expect-error split has only the branches it was given, and rest
branches.medium.to('x')
// @ts-expect-error a type guard's narrowing is kept: views are gone
clicks.mapValues((c) => c.ms)
// @ts-expect-error a window size is a duration, not a boolean
tumbling({ size: true })
// @ts-expect-error a processor must emit the declared output type
payments.process<string, number>(() => ({ process: (r, c) => c.forward({ ...r, key: '' }) }), { name: 'q' })
// @ts-expect-error expectType tells a result type from a near one (avg may be null)
expectType<Table<string, number>>()(grouped.aggregate(avg((p) => p.amount)))
