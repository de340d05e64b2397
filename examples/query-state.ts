// Querying a running app's state: customers as a table, orders and spend per customer, orders per
// customer per minute. It writes its own input, runs, and once every order is processed prints
// what its stores hold; with --metrics-port the same state is served over HTTP at /stores:
//   eddy run examples/query-state.ts --metrics-port 9464
import { app, count, EventLog, json, sum, tumbling } from '../src/index.js'

interface Customer {
  readonly name: string
  readonly city: string
}

interface Order {
  readonly customer: string
  readonly amount: number
}

const dataDir = process.env.EDDY_DATA_DIR ?? '.eddy'
const START = Date.UTC(2026, 10, 21, 9)
const ORDERS: [string, number, number][] = [
  // customer, amount, seconds after START
  ['c-1', 12.5, 5],
  ['c-2', 40, 20],
  ['c-1', 7.25, 50],
  ['c-3', 3, 65],
  ['c-1', 20, 70],
  ['c-2', 15, 130],
]

async function seed(): Promise<void> {
  const log = EventLog.open({ dir: dataDir })
  try {
    if (log.hasTopic('orders')) return
    log.createTopic('customers', { partitions: 2 })
    log.createTopic('orders', { partitions: 2 })
    const producer = await log.producer()
    const record = (key: string, value: unknown, timestamp = START) => ({
      key: Buffer.from(key),
      value: value === null ? null : Buffer.from(JSON.stringify(value)),
      timestamp,
    })
    // One partition each keeps the example short; reads find a key in any partition.
    await producer.send('customers', 0, [
      record('c-1', { name: 'Ann', city: 'Utrecht' }),
      record('c-2', { name: 'Bob', city: 'Ghent' }),
      record('c-3', { name: 'Cy', city: 'Lyon' }),
      record('c-3', null), // a tombstone: c-3 leaves
    ])
    await producer.send(
      'orders',
      0,
      ORDERS.map(([customer, amount, s]) => record(customer, { customer, amount }, START + s * 1000)),
    )
    await producer.close()
  } finally {
    await log.close()
  }
}

await seed()

const shop = app({ id: 'shop', dataDir })
const customers = shop.table<Customer>('customers', json(), { name: 'customers' })
const byCustomer = shop.stream<Order>('orders', json()).groupBy((o) => o.customer, { name: 'by-customer' })
const spend = byCustomer.aggregate({ orders: count(), total: sum((o: Order) => o.amount) }, { name: 'spend' })
spend.toStream().to('spend-per-customer')
// A day of grace keeps the windows open (and in the store) for the example.
const perMinute = byCustomer
  .window(tumbling({ size: '1m', grace: '1d' }))
  .count({ name: 'orders-per-minute' })
perMinute.current().to('orders-per-minute')

let printed = false
await shop.run({
  onStatus: (status) => {
    if (printed || status.steps.get('spend')?.in !== ORDERS.length) return
    printed = true
    const show = (label: string, value: unknown) => console.log(`${label} ${JSON.stringify(value)}`)
    show('customer c-1:', shop.keyValueStore(customers).get('c-1'))
    show('customer c-3:', shop.keyValueStore(customers).get('c-3') ?? null)
    show('spend:', shop.keyValueStore(spend).all())
    show('c-1 per minute:', shop.windowStore(perMinute).fetch('c-1'))
  },
})
