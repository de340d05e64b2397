// Sliding windows through the TestDriver: at each record at t, the key's records in [t - size, t];
// that window closes when the watermark reaches t + grace.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sum } from '../dsl/aggregators.js'
import { Topology } from '../dsl/stream.js'
import { sliding } from '../dsl/windows.js'
import { TestDriver } from './test-driver.js'

type Row = [card: string, start: number, end: number, total: number]

function amountsPerCard(spec: { size: number; grace?: number }, emit: 'final' | 'current') {
  const t = new Topology('app')
  const agg = t
    .stream<number>('payments')
    .groupByKey()
    .window(sliding(spec))
    .aggregate(sum((amount) => amount))
  ;(emit === 'final' ? agg.final() : agg.current()).to('out')
  agg.lateRecords().to('late')
  const d = new TestDriver(t)
  const pay = (card: string, amount: number, timestamp: number) =>
    d.pipe('payments', amount, { key: card, timestamp })
  const rows = (): Row[] =>
    d
      .values<{ key: string; start: number; end: number; value: number }>('out')
      .map((w) => [w.key, w.start, w.end, w.value])
  return { d, pay, rows, late: () => d.values<number>('late') }
}

describe('sliding windows', () => {
  it('current: at each record, the sum over the size before it (both ends inclusive)', () => {
    const { pay, rows } = amountsPerCard({ size: 1000 }, 'current')
    pay('c', 1, 1000)
    pay('c', 2, 1500)
    pay('c', 4, 2000) // [1000, 2000] includes 1000
    pay('c', 8, 2600) // [1600, 2600]: 2000 and 2600 only
    assert.deepEqual(rows(), [
      ['c', 0, 1000, 1],
      ['c', 500, 1500, 3],
      ['c', 1000, 2000, 7],
      ['c', 1600, 2600, 12],
    ])
  })

  it('final: each window once, when the watermark passes its end + grace', () => {
    const { pay, rows } = amountsPerCard({ size: 1000, grace: 100 }, 'final')
    pay('c', 1, 1000)
    pay('c', 2, 1050)
    assert.deepEqual(rows(), [])
    pay('c', 4, 1100) // closes the window ending at 1000
    assert.deepEqual(rows(), [['c', 0, 1000, 1]])
    pay('d', 0, 5000)
    assert.deepEqual(rows(), [
      ['c', 0, 1000, 1],
      ['c', 50, 1050, 3],
      ['c', 100, 1100, 7],
    ])
  })

  it('without grace a window closes as soon as the watermark reaches its end (as in Kafka Streams)', () => {
    const { pay, rows } = amountsPerCard({ size: 1000 }, 'final')
    pay('c', 1, 1000)
    assert.deepEqual(rows(), [['c', 0, 1000, 1]])
  })

  it('an out-of-order record within grace updates its own and every later open window', () => {
    const { pay, rows, late } = amountsPerCard({ size: 1000, grace: 500 }, 'current')
    pay('c', 1, 1000)
    pay('c', 2, 1400)
    pay('c', 4, 1200) // its own window [200, 1200] and the one ending at 1400
    assert.deepEqual(rows(), [
      ['c', 0, 1000, 1],
      ['c', 400, 1400, 3],
      ['c', 200, 1200, 5],
      ['c', 400, 1400, 7],
    ])
    assert.deepEqual(late(), [])
  })

  it('a record whose own window closed still counts in a later open window', () => {
    const { pay, rows, late } = amountsPerCard({ size: 1000, grace: 500 }, 'final')
    pay('c', 1, 2000) // window [1000, 2000], open until 2500
    pay('c', 2, 2500) // window [1500, 2500], open until 3000
    pay('x', 0, 2900) // closes the first
    pay('c', 4, 1600) // its own window [600, 1600] closed at 2100, but [1500, 2500] is open
    pay('x', 0, 9000)
    assert.deepEqual(
      rows().filter(([k]) => k === 'c'),
      [
        ['c', 1000, 2000, 1],
        ['c', 1500, 2500, 7],
      ],
    )
    assert.deepEqual(late(), [])
  })

  it('a record no open window includes goes to lateRecords', () => {
    const { pay, rows, late } = amountsPerCard({ size: 1000, grace: 100 }, 'final')
    pay('c', 1, 1000)
    pay('x', 0, 3000) // closes c's window
    pay('c', 2, 1500)
    assert.deepEqual(rows(), [['c', 0, 1000, 1]])
    assert.deepEqual(late(), [2])
  })

  it('forgets records no open window can include', () => {
    const { d, pay } = amountsPerCard({ size: 1000 }, 'final')
    pay('c', 1, 1000)
    pay('c', 2, 1500)
    pay('c', 3, 4000)
    assert.deepEqual(d.keyValueStore('window-sliding-1-store'), [['c', [[4000, 3]]]])
  })
})
