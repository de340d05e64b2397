// Fraud alerts: a card used 5 or more times within 10 minutes raises an alert, with the card
// holder's name and country from the card-holders table.
// It writes its own input (the card holders and a day of generated card payments) and then runs
// the pipeline:
//   eddy run examples/fraud-alerts.ts --until-idle 1000
import { aggregate, app, count, EventLog, json, partitionForKey, sliding } from '../src/index.js'

interface Payment {
  readonly card: string
  readonly amount: number
  readonly merchant: string
}

interface CardHolder {
  readonly name: string
  readonly country: string
}

const dataDir = process.env.EDDY_DATA_DIR ?? '.eddy'

/** The latest value seen of `of` (the holder of the card, as of its latest payment). */
const latest = <V>(of: (value: V) => string) =>
  aggregate<V, string>({ init: () => '', add: (_, v) => of(v), merge: (a, b) => b || a })

/** A deterministic day of payments: most cards pay now and then, a few in bursts. */
async function seedPayments(count: number): Promise<void> {
  const log = EventLog.open({ dir: dataDir })
  try {
    if (log.hasTopic('payments')) return
    log.createTopic('payments', { partitions: 4 })
    const producer = await log.producer()
    let seed = 7
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    const start = Date.UTC(2026, 10, 21)
    const payments: { card: string; t: number }[] = []
    // Ordinary cards pay now and then; once in a while a stolen card is used in a burst:
    // six payments within a few minutes.
    for (let t = start; payments.length < count; ) {
      t += Math.floor(random() * 2_000)
      if (random() < 0.0007) {
        const card = `card-${Math.floor(random() * 10)}`
        for (let k = 0, bt = t; k < 6; k++, bt += 10_000 + Math.floor(random() * 30_000))
          payments.push({ card, t: bt })
      } else payments.push({ card: `card-${100 + Math.floor(random() * 5_000)}`, t })
    }
    payments.sort((a, b) => a.t - b.t)
    const batches: Map<number, { key: Buffer; value: Buffer; timestamp: number }[]> = new Map()
    for (const [i, { card, t }] of payments.slice(0, count).entries()) {
      const payment: Payment = {
        card,
        amount: Math.round(random() * 20_000) / 100,
        merchant: `m-${Math.floor(random() * 300)}`,
      }
      const partition = i % 4
      const list = batches.get(partition) ?? []
      list.push({ key: Buffer.from(card), value: Buffer.from(JSON.stringify(payment)), timestamp: t })
      batches.set(partition, list)
    }
    for (const [partition, records] of batches) {
      for (let i = 0; i < records.length; i += 1000)
        await producer.send('payments', partition, records.slice(i, i + 1000))
    }
    await producer.close()
  } finally {
    await log.close()
  }
}

const FIRST_NAMES = ['Ana', 'Ben', 'Chloé', 'Dmitri', 'Emma', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas']
const LAST_NAMES = [
  'Souza',
  'Okafor',
  'Martin',
  'Ivanov',
  'Rossi',
  'Haddad',
  'Kim',
  'Tanaka',
  'Lopez',
  'Berg',
]
const COUNTRIES = ['BR', 'NG', 'FR', 'DE', 'IT', 'MA', 'KR', 'JP', 'ES', 'SE']

/**
 * The card-holders table: a compacted topic keyed by card, one holder per card, written an hour
 * before the payments so every payment's holder is known as of its time. Keyed records go to the
 * partition of their key (as a Kafka producer puts them), so a join finds a card's holder in the
 * partition where the card's alerts are.
 */
async function seedCardHolders(): Promise<void> {
  const log = EventLog.open({ dir: dataDir })
  try {
    if (log.hasTopic('card-holders')) return
    log.createTopic('card-holders', { partitions: 4, compact: true })
    const producer = await log.producer()
    const timestamp = Date.UTC(2026, 10, 21) - 3_600_000
    const byPartition: { key: Buffer; value: Buffer; timestamp: number }[][] = [[], [], [], []]
    const cards = [
      ...Array.from({ length: 10 }, (_, i) => i),
      ...Array.from({ length: 5_000 }, (_, i) => 100 + i),
    ]
    for (const n of cards) {
      const key = Buffer.from(`card-${n}`)
      const holder: CardHolder = {
        name: `${FIRST_NAMES[n % 10]} ${LAST_NAMES[Math.floor(n / 10) % 10]}`,
        country: COUNTRIES[(n * 7) % 10]!,
      }
      byPartition[partitionForKey(key, 4)]!.push({
        key,
        value: Buffer.from(JSON.stringify(holder)),
        timestamp,
      })
    }
    for (const [partition, records] of byPartition.entries()) {
      for (let i = 0; i < records.length; i += 1000)
        await producer.send('card-holders', partition, records.slice(i, i + 1000))
    }
    await producer.close()
  } finally {
    await log.close()
  }
}

await seedCardHolders()
await seedPayments(Number(process.env.FRAUD_PAYMENTS ?? 40_000))

const fraud = app({ id: 'fraud-alerts', dataDir })
const holders = fraud.table<CardHolder>('card-holders', json(), { name: 'card-holders' })
const alerts = fraud
  .stream<Payment>('payments', json())
  .filter((p) => p.amount > 0)
  .selectKey((p) => p.card, { name: 'by-card' })
  // Each payment with its card's holder as of the payment's time; an unknown card still counts.
  .leftJoin(
    holders,
    (p, h) => ({ ...p, holder: h === null ? 'unknown holder' : `${h.name}, ${h.country}` }),
    {
      name: 'with-holder',
    },
  )
  .groupByKey()
  .window(sliding({ size: '10m', grace: '30s' }))
  .aggregate({ payments: count(), holder: latest((p) => p.holder) }, { name: 'card-velocity' })
  .current()
  .filter((w) => w.value.payments >= 5)
  .mapValues((w) => ({
    card: w.key,
    holder: w.value.holder,
    payments: w.value.payments,
    from: new Date(w.start).toISOString(),
    to: new Date(w.end).toISOString(),
  }))

alerts.to('fraud-alerts')
// Show the alerts as they are found (a side effect: printed when processed, before the commit).
alerts.forEach((a) => {
  console.log(
    `ALERT ${a.card} (${a.holder}): ${a.payments} payments between ${a.from.slice(11, 19)} and ${a.to.slice(11, 19)}`,
  )
})

await fraud.run()
