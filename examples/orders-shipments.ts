// Orders and shipments: every order should ship within 2 days. A windowed left join pairs each
// order with its shipment; shipped orders go to `orders-shipped` (with how long shipping took),
// and an order still without a shipment 2 days on becomes an alert in `unshipped-orders`.
// It writes its own input (three weeks of orders and their shipments) and then runs:
//   eddy run examples/orders-shipments.ts --until-idle 1000
import { app, EventLog, json, partitionForKey } from '../src/index.js'

interface Order {
  readonly id: string
  readonly customer: string
  readonly total: number
  readonly placedAt: string
}

interface Shipment {
  readonly order: string
  readonly carrier: string
  readonly shippedAt: string
}

const dataDir = process.env.EDDY_DATA_DIR ?? '.eddy'
const PARTITIONS = 4
const HOUR = 3_600_000

/**
 * Orders over three weeks; most ship within 2 days, some later, some never. Both topics are
 * keyed by order id and partitioned by it (as a Kafka producer does), so an order and its
 * shipment meet in the same task.
 */
async function seedOrders(orders: number): Promise<void> {
  const log = EventLog.open({ dir: dataDir })
  try {
    if (log.hasTopic('orders')) return
    log.createTopic('orders', { partitions: PARTITIONS })
    log.createTopic('shipments', { partitions: PARTITIONS })
    let seed = 11
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    const start = Date.UTC(2026, 10, 1)
    type Keyed = { key: Buffer; value: Buffer; timestamp: number }
    const orderRecords: Keyed[][] = Array.from({ length: PARTITIONS }, () => [])
    const shipments: { partition: number; record: Keyed }[] = []
    for (let i = 0; i < orders; i++) {
      const id = `order-${String(i).padStart(5, '0')}`
      const key = Buffer.from(id)
      const partition = partitionForKey(key, PARTITIONS)
      const placed = start + Math.floor((i * 21 * 24 * HOUR) / orders)
      const order: Order = {
        id,
        customer: `customer-${Math.floor(random() * 200)}`,
        total: Math.round(random() * 30_000) / 100,
        placedAt: new Date(placed).toISOString(),
      }
      orderRecords[partition]!.push({ key, value: Buffer.from(JSON.stringify(order)), timestamp: placed })
      const r = random()
      // 85% ship within 2 days, 8% later (2 to 5 days), 7% never.
      const delay =
        r < 0.85 ? 2 * HOUR + random() * 44 * HOUR : r < 0.93 ? 50 * HOUR + random() * 70 * HOUR : null
      if (delay === null) continue
      const shipped = placed + Math.floor(delay)
      const shipment: Shipment = {
        order: id,
        carrier: random() < 0.5 ? 'parcel-co' : 'swift-post',
        shippedAt: new Date(shipped).toISOString(),
      }
      shipments.push({
        partition,
        record: { key, value: Buffer.from(JSON.stringify(shipment)), timestamp: shipped },
      })
    }
    // Shipments are written in the order they happen.
    shipments.sort((a, b) => a.record.timestamp - b.record.timestamp)
    const shipmentRecords: Keyed[][] = Array.from({ length: PARTITIONS }, () => [])
    for (const s of shipments) shipmentRecords[s.partition]!.push(s.record)
    const producer = await log.producer()
    for (const [topic, byPartition] of [
      ['orders', orderRecords],
      ['shipments', shipmentRecords],
    ] as const) {
      for (const [partition, records] of byPartition.entries()) {
        for (let i = 0; i < records.length; i += 1000)
          await producer.send(topic, partition, records.slice(i, i + 1000))
      }
    }
    await producer.close()
  } finally {
    await log.close()
  }
}

await seedOrders(Number(process.env.ORDERS ?? 1_000))

const shipping = app({ id: 'orders-shipments', dataDir })
const shipments = shipping.stream<Shipment>('shipments', json())
const { unshipped, rest: shipped } = shipping
  .stream<Order>('orders', json())
  // A shipment from the order's time to 2 days after it; an order without one is emitted, with
  // null, once event time is 2 days (and an hour of grace for stragglers) past the order.
  .leftJoin(
    shipments,
    (order, shipment) => ({
      order: order.id,
      customer: order.customer,
      total: order.total,
      placedAt: order.placedAt,
      carrier: shipment?.carrier ?? null,
      shippedAt: shipment?.shippedAt ?? null,
      hours:
        shipment === null
          ? null
          : Math.round((Date.parse(shipment.shippedAt) - Date.parse(order.placedAt)) / HOUR),
    }),
    { name: 'order-shipment', before: 0, after: '2d', grace: '1h' },
  )
  .split({ unshipped: (o) => o.shippedAt === null }, { name: 'shipped-or-not' })

shipped.to('orders-shipped')
unshipped.to('unshipped-orders')
unshipped.forEach((o) => {
  console.log(
    `ALERT ${o.order} (${o.customer}, ${o.total.toFixed(2)}) placed ${o.placedAt.slice(0, 16).replace('T', ' ')} has not shipped within 2 days`,
  )
})

await shipping.run()
