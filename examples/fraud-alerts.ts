// Fraud alerts: a card used 5 or more times within 10 minutes raises an alert.
// It writes its own input (a day of generated card payments) and then runs the pipeline:
//   eddy run examples/fraud-alerts.ts --until-idle 1000
import { app, count, EventLog, json, sliding } from '../src/index.js'

interface Payment {
  readonly card: string
  readonly amount: number
  readonly merchant: string
}

const dataDir = process.env.EDDY_DATA_DIR ?? '.eddy'

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

await seedPayments(Number(process.env.FRAUD_PAYMENTS ?? 40_000))

const fraud = app({ id: 'fraud-alerts', dataDir })
const alerts = fraud
  .stream<Payment>('payments', json())
  .filter((p) => p.amount > 0)
  .groupBy((p) => p.card, { name: 'by-card' })
  .window(sliding({ size: '10m', grace: '30s' }))
  .aggregate({ payments: count() }, { name: 'card-velocity' })
  .current()
  .filter((w) => w.value.payments >= 5)
  .mapValues((w) => ({
    card: w.key,
    payments: w.value.payments,
    from: new Date(w.start).toISOString(),
    to: new Date(w.end).toISOString(),
  }))

alerts.to('fraud-alerts')
// Show the alerts as they are found (a side effect: printed when processed, before the commit).
alerts.forEach((a) => {
  console.log(
    `ALERT ${a.card}: ${a.payments} payments between ${a.from.slice(11, 19)} and ${a.to.slice(11, 19)}`,
  )
})

await fraud.run()
