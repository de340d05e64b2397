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
