import assert from 'node:assert/strict'
import { test } from 'node:test'
import { json } from '../core/serde.js'
import { count, sum } from '../dsl/aggregators.js'
import { Topology } from '../dsl/stream.js'
import { tumbling } from '../dsl/windows.js'
import { TestDriver } from './test-driver.js'

interface Payment {
  card: string
  amount: number
}

test('smoke: filter, groupBy, tumbling count final, late records', () => {
  const t = new Topology('fraud')
  const agg = t
    .stream<Payment>('payments', json())
    .filter((p) => p.amount > 0)
    .groupBy((p) => p.card)
    .window(tumbling({ size: 1000 }))
    .aggregate({ n: count(), total: sum((p: Payment) => p.amount) })
  agg
    .final()
    .filter((w) => w.value.n >= 2)
    .to('alerts')
  agg.lateRecords().to('late')
  const d = new TestDriver(t)
  d.pipe('payments', { card: 'a', amount: 5 }, { timestamp: 100 })
  d.pipe('payments', { card: 'a', amount: 7 }, { timestamp: 200 })
  d.pipe('payments', { card: 'b', amount: 1 }, { timestamp: 300 })
  d.pipe('payments', { card: 'a', amount: -1 }, { timestamp: 400 })
  d.pipe('payments', { card: 'a', amount: 1 }, { timestamp: 1500 })
  d.pipe('payments', { card: 'a', amount: 3 }, { timestamp: 500 })
  console.log(JSON.stringify(d.output('alerts')), JSON.stringify(d.output('late')), d.metrics())
  assert.deepEqual(d.values('alerts'), [{ key: 'a', start: 0, end: 1000, value: { n: 2, total: 12 } }])
  assert.equal(d.values('late').length, 1)
})
