// Aggregations as values: each says how to start, add a record, merge two partial results
// (session windows need it) and present the result. Several at once: pass an object of them.

/** How to fold values of type V into a state A (JSON-serialisable) with result R. */
export interface Aggregator<V, A, R = A> {
  readonly kind: string
  init(): A
  add(acc: A, value: V): A
  /** Combines two partial states; needed by session windows when sessions merge. */
  merge?(a: A, b: A): A
  result(acc: A): R
}

type AnyAggregator<V> = Aggregator<V, unknown, unknown>

/** An object of aggregators computes all of them at once; the result has the same keys. */
export type AggregatorSpec<V> =
  | Aggregator<V, unknown, unknown>
  | { readonly [name: string]: AnyAggregator<V> }

export type ResultOf<S> =
  S extends Aggregator<never, unknown, infer R>
    ? R
    : { readonly [P in keyof S]: S[P] extends Aggregator<never, unknown, infer R> ? R : never }

/**
 * Counts records.
 * @example stream.groupBy(p => p.page).aggregate(count())
 */
export function count(): Aggregator<unknown, number> {
  return {
    kind: 'count',
    init: () => 0,
    add: (acc) => acc + 1,
    merge: (a, b) => a + b,
    result: (acc) => acc,
  }
}

/**
 * Sums a number taken from each value.
 * @example orders.groupBy(o => o.customer).aggregate(sum(o => o.total))
 */
export function sum<V>(of: (value: V) => number): Aggregator<V, number> {
  return {
    kind: 'sum',
    init: () => 0,
    add: (acc, v) => acc + of(v),
    merge: (a, b) => a + b,
    result: (acc) => acc,
  }
}

/**
 * The smallest number taken from each value (null before any).
 * @example readings.groupBy(r => r.sensor).aggregate(min(r => r.celsius))
 */
export function min<V>(of: (value: V) => number): Aggregator<V, number | null> {
  const pick = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b))
  return {
    kind: 'min',
    init: () => null,
    add: (acc, v) => pick(acc, of(v)),
    merge: pick,
    result: (acc) => acc,
  }
}

/**
 * The largest number taken from each value (null before any).
 * @example bids.groupBy(b => b.auction).aggregate(max(b => b.price))
 */
export function max<V>(of: (value: V) => number): Aggregator<V, number | null> {
  const pick = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b))
  return {
    kind: 'max',
    init: () => null,
    add: (acc, v) => pick(acc, of(v)),
    merge: pick,
    result: (acc) => acc,
  }
}

/**
 * The mean of a number taken from each value (null before any).
 * @example readings.groupBy(r => r.sensor).window(hopping({ size: '5m', every: '1m' })).aggregate(avg(r => r.celsius))
 */
export function avg<V>(
  of: (value: V) => number,
): Aggregator<V, { sum: number; count: number }, number | null> {
  return {
    kind: 'avg',
    init: () => ({ sum: 0, count: 0 }),
    add: (acc, v) => ({ sum: acc.sum + of(v), count: acc.count + 1 }),
    merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
    result: (acc) => (acc.count === 0 ? null : acc.sum / acc.count),
  }
}

/**
 * Combines values pairwise; the first value starts it (null before any).
 * @example bids.groupBy(b => b.auction).aggregate(reduce((a, b) => (b.price > a.price ? b : a)))
 */
export function reduce<V>(combine: (a: V, b: V) => V): Aggregator<V, V | null> {
  const both = (a: V | null, b: V | null) => (a === null ? b : b === null ? a : combine(a, b))
  return { kind: 'reduce', init: () => null, add: both, merge: both, result: (acc) => acc }
}

/**
 * Your own aggregation: a start value and how to add a value; `merge` is needed for sessions.
 * @example stream.groupByKey().aggregate(aggregate({ init: () => [] as string[], add: (acc, v) => [...acc, v.id] }))
 */
export function aggregate<V, A>(spec: {
  init: () => A
  add: (acc: A, value: V) => A
  merge?: (a: A, b: A) => A
}): Aggregator<V, A> {
  return { kind: 'aggregate', init: spec.init, add: spec.add, merge: spec.merge, result: (acc) => acc }
}

function isAggregator(spec: unknown): spec is AnyAggregator<unknown> {
  return typeof spec === 'object' && spec !== null && typeof (spec as { add?: unknown }).add === 'function'
}

/** One aggregator from a spec (an aggregator, or an object of them). */
export function combine<V>(spec: AggregatorSpec<V>): Aggregator<V, unknown, unknown> {
  if (isAggregator(spec)) return spec
  const entries = Object.entries(spec as Record<string, AnyAggregator<V>>)
  const mergeable = entries.every(([, a]) => a.merge !== undefined)
  return {
    kind: `{${entries.map(([k, a]) => `${k}: ${a.kind}`).join(', ')}}`,
    init: () => Object.fromEntries(entries.map(([k, a]) => [k, a.init()])),
    add: (acc, v) => {
      const s = acc as Record<string, unknown>
      const next: Record<string, unknown> = {}
      for (const [k, a] of entries) next[k] = a.add(s[k], v)
      return next
    },
    merge: mergeable
      ? (x, y) => {
          const a1 = x as Record<string, unknown>
          const b1 = y as Record<string, unknown>
          const next: Record<string, unknown> = {}
          for (const [k, a] of entries) next[k] = a.merge!(a1[k], b1[k])
          return next
        }
      : undefined,
    result: (acc) => {
      const s = acc as Record<string, unknown>
      const out: Record<string, unknown> = {}
      for (const [k, a] of entries) out[k] = a.result(s[k])
      return out
    },
  }
}
