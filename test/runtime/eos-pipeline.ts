// The pipeline and input of the exactly-once crash test, shared by the test and its child.
import { partitionForKey } from '../../src/core/murmur2.js'
import { type App, app, count, json, type ProcessingGuarantee, sum, tumbling } from '../../src/index.js'
import { type Input, prng } from './harness.js'

export interface Payment {
  readonly card: string
  readonly merchant: string
  readonly amount: number
}

export const EOS_TOPIC = 'payments'
export const EOS_PARTITIONS = 3
export const EOS_OUTPUTS = ['per-minute', 'merchant-totals', 'even'] as const
const OUT_OF_ORDER_MS = 2_000

/**
 * `n` payments: keyed by card (and partitioned by it), timestamps 100 ms apart less up to the
 * allowed out-of-orderness. The last tenth all come from one card, so one partition runs on in
 * event time after the others have ended: a restart must not let the ended ones stop holding
 * time back (they are not idle until the idle timeout), or windows would close that an
 * uninterrupted run leaves open.
 */
export function eosInput(n: number, seed = 42): Input[] {
  const rand = prng(seed)
  const out: Input[] = []
  for (let i = 0; i < n; i++) {
    const card = i >= n * 0.9 ? 'card-hot' : `card-${Math.floor(rand() * 300)}`
    const payment: Payment = {
      card,
      merchant: `m-${Math.floor(rand() * 40)}`,
      amount: 1 + Math.floor(rand() * 500),
    }
    out.push({
      partition: partitionForKey(Buffer.from(card), EOS_PARTITIONS),
      key: card,
      value: Buffer.from(JSON.stringify(payment)),
      timestamp: 1_700_000_000_000 + i * 100 - Math.floor(rand() * OUT_OF_ORDER_MS),
    })
  }
  return out
}

/**
 * groupBy merchant (a repartition) → per-minute counts (final) and a running total table; and a
 * stateless branch.
 */
export function eosApp(dataDir: string, guarantee: ProcessingGuarantee, commitIntervalMs: number): App {
  const a = app({
    id: 'eos',
    dataDir,
    guarantee,
    commitIntervalMs,
    outOfOrdernessMs: OUT_OF_ORDER_MS,
    // Inputs never go idle during a run (a restart must not change when windows close).
    idleTimeoutMs: 3_600_000,
    // Small batches: many commits per run, so kills land between and inside them.
    maxBatchRecords: 1000,
  })
  const payments = a.stream<Payment, string>(EOS_TOPIC, json<Payment>())
  const byMerchant = payments.groupBy((p) => p.merchant, { name: 'by-merchant' })
  byMerchant
    .window(tumbling({ size: '1m' }))
    .count({ name: 'per-minute' })
    .final()
    .to('per-minute')
  byMerchant
    .aggregate({ payments: count(), total: sum((p: Payment) => p.amount) }, { name: 'merchant-totals' })
    .toStream()
    .to('merchant-totals')
  payments
    .filter((p) => p.amount % 2 === 0, { name: 'even-amounts' })
    .mapValues((p) => ({ card: p.card, cents: p.amount * 100 }), { name: 'to-cents' })
    .to('even')
  return a
}

// ---- the join pipeline ---------------------------------------------------------------------

export interface Holder {
  readonly name: string
  readonly country: string
}

export interface Refund {
  readonly id: number
  readonly payment: number
}

export const JOIN_TOPICS = ['payments', 'card-holders', 'refunds'] as const
export const JOIN_OUTPUTS = ['enriched', 'refunds-joined'] as const
const JOIN_GRACE_MS = 3_000

/**
 * `n` records over payments (keyed by card), the card-holders table (updates, and tombstones
 * that delete a holder) and refunds of recent payments (some within 30 s of the payment, some
 * later). Timestamps 20 ms apart less up to the allowed out-of-orderness, unique per partition;
 * every partition of every topic has a record in the first second.
 */
export function joinInput(n: number, seed = 7): Map<(typeof JOIN_TOPICS)[number], Input[]> {
  const rand = prng(seed)
  const used = new Set<number>()
  const out = new Map<(typeof JOIN_TOPICS)[number], Input[]>(JOIN_TOPICS.map((t) => [t, []]))
  const partitionOf = (key: string) => partitionForKey(Buffer.from(key), EOS_PARTITIONS)
  const add = (topic: (typeof JOIN_TOPICS)[number], key: string, value: unknown, timestamp: number) => {
    let t = timestamp
    while (used.has(t * EOS_PARTITIONS + partitionOf(key))) t++
    used.add(t * EOS_PARTITIONS + partitionOf(key))
    out.get(topic)!.push({
      partition: partitionOf(key),
      key,
      value: value === null ? null : Buffer.from(JSON.stringify(value)),
      timestamp: t,
    })
    return t
  }
  const cards = Array.from({ length: 600 }, (_, i) => `card-${i}`)
  const holder = (card: string): Holder => ({
    name: `holder ${card.slice(5)}`,
    country: ['FR', 'DE', 'NL'][Math.floor(rand() * 3)]!,
  })
  const t0 = 1_700_000_000_000
  let payments = 0
  let refunds = 0
  const recent: { id: number; card: string; t: number }[] = []
  for (let p = 0; p < EOS_PARTITIONS; p++) {
    const card = cards.find((c) => partitionOf(c) === p)!
    add('card-holders', card, holder(card), t0 + p)
    add('payments', card, { card, merchant: 'm-0', amount: 1, id: payments++ }, t0 + 10 + p)
    add('refunds', card, { id: refunds++, payment: -1 } satisfies Refund, t0 + 20 + p)
  }
  for (let i = 0; i < n; i++) {
    const base = t0 + 1_000 + i * 20
    const t = base - Math.floor(rand() * OUT_OF_ORDER_MS)
    const r = rand()
    if (r < 0.6) {
      const card = cards[Math.floor(rand() * cards.length)]!
      const id = payments++
      const ts = add(
        'payments',
        card,
        { card, merchant: `m-${Math.floor(rand() * 40)}`, amount: 1 + Math.floor(rand() * 500), id },
        t,
      )
      recent.push({ id, card, t: ts })
    } else if (r < 0.72) {
      const card = cards[Math.floor(rand() * cards.length)]!
      add('card-holders', card, rand() < 0.2 ? null : holder(card), t)
    } else {
      // A refund of a payment of the last 45 s: within the 30 s window or not.
      while (recent.length > 0 && recent[0]!.t < base - 45_000) recent.shift()
      const p = recent[Math.floor(rand() * recent.length)]
      if (p !== undefined) add('refunds', p.card, { id: refunds++, payment: p.id } satisfies Refund, t)
    }
  }
  return out
}

/**
 * Stream–table enrichment (payments with their holder as of the payment's time, 3 s grace) and
 * a windowed left join (each payment with its refunds within 30 s; unrefunded ones once the
 * window has passed).
 */
export function joinApp(dataDir: string, guarantee: ProcessingGuarantee, commitIntervalMs: number): App {
  const a = app({
    id: 'eos-joins',
    dataDir,
    guarantee,
    commitIntervalMs,
    outOfOrdernessMs: OUT_OF_ORDER_MS,
    idleTimeoutMs: 3_600_000,
    maxBatchRecords: 500,
  })
  const holders = a.table<Holder>('card-holders', json<Holder>(), { name: 'holders' })
  const payments = a.stream<Payment & { id: number }, string>('payments', json())
  const refunds = a.stream<Refund, string>('refunds', json<Refund>())
  payments
    .leftJoin(
      holders,
      (p, h) => ({ id: p.id, amount: p.amount, holder: h?.name ?? null, country: h?.country ?? null }),
      {
        name: 'enrich',
        grace: JOIN_GRACE_MS,
      },
    )
    .to('enriched')
  payments
    .leftJoin(refunds, (p, r) => ({ payment: p.id, refund: r?.id ?? null }), {
      name: 'refunds-window',
      within: '30s',
      grace: JOIN_GRACE_MS,
    })
    .to('refunds-joined')
  return a
}
