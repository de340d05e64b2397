// Error policies per step through the TestDriver: fail (default), skip, deadLetter.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isEddyError } from '../core/errors.js'
import { json } from '../core/serde.js'
import { Topology } from '../dsl/stream.js'
import { ProcessingError } from '../runtime/task-executor.js'
import { TestDriver } from './test-driver.js'

interface Order {
  id: string
  qty: number
}

function explode(o: Order): number {
  if (o.qty < 0) throw new Error(`negative quantity ${o.qty}`)
  return o.qty
}

const header = (headers: readonly { key: string; value: Buffer | null }[], key: string) =>
  headers.find((h) => h.key === key)?.value?.toString()

describe('error policies', () => {
  it('fail (the default): pipe throws a ProcessingError naming step, topic, partition and offset', () => {
    const t = new Topology('app')
    t.stream<Order>('orders').mapValues(explode, { name: 'qty' }).to('out')
    const d = new TestDriver(t, { partitions: { orders: 2 } })
    d.pipe('orders', { id: 'a', qty: 1 }, { partition: 1, timestamp: 1 })
    assert.throws(
      () => d.pipe('orders', { id: 'b', qty: -1 }, { partition: 1, timestamp: 2 }),
      (err: unknown) => {
        assert.ok(err instanceof ProcessingError)
        assert.ok(isEddyError(err, 'INVALID_RECORD'))
        assert.equal(err.step, 'qty')
        const { topic, partition, offset } = err.source
        assert.deepEqual({ topic, partition, offset }, { topic: 'orders', partition: 1, offset: 1 })
        assert.match(err.message, /step qty failed on the record at orders-1 offset 1: negative quantity -1/)
        assert.match(err.message, /onError: 'skip' or \{ deadLetter/)
        assert.equal((err.cause as Error).message, 'negative quantity -1')
        return true
      },
    )
    assert.deepEqual(d.values('out'), [1])
  })

  it('fail names the failing step even several steps downstream of the source', () => {
    const t = new Topology('app')
    t.stream<Order>('orders')
      .filter((o) => o.id !== '')
      .mapValues((o) => o, { onError: 'skip' })
      .peek(() => {
        throw new Error('boom')
      })
      .to('out')
    const d = new TestDriver(t)
    assert.throws(
      () => d.pipe('orders', { id: 'a', qty: 1 }, { timestamp: 1 }),
      /step peek-1 failed .* orders-0 offset 0: boom/,
    )
  })

  it('skip drops the record, counts it in metrics, and goes on', () => {
    const t = new Topology('app')
    t.stream<Order>('orders').mapValues(explode, { name: 'qty', onError: 'skip' }).to('out')
    const d = new TestDriver(t)
    d.pipe('orders', { id: 'a', qty: 1 }, { timestamp: 1 })
    d.pipe('orders', { id: 'b', qty: -1 }, { timestamp: 2 })
    d.pipe('orders', { id: 'c', qty: 3 }, { timestamp: 3 })
    assert.deepEqual(d.values('out'), [1, 3])
    assert.deepEqual(d.metrics().get('qty'), { in: 3, out: 2, errors: 1, skipped: 1, deadLettered: 0 })
  })

  it('deadLetter writes the original bytes and headers, with the error and the source position', () => {
    const t = new Topology('app')
    t.stream<Order>('orders')
      .mapValues(explode, { name: 'qty', onError: { deadLetter: 'dlq' } })
      .to('out')
    const d = new TestDriver(t)
    d.pipe('orders', { id: 'a', qty: 1 }, { timestamp: 1 })
    d.pipeRaw('orders', {
      key: Buffer.from('order-b'),
      value: Buffer.from('{"id":"b","qty":-7}'),
      timestamp: 2,
      headers: [{ key: 'trace', value: Buffer.from('t-1') }],
    })
    d.pipe('orders', { id: 'c', qty: 3 }, { timestamp: 3 })
    assert.deepEqual(d.values('out'), [1, 3])
    const [dead, ...more] = d.rawOutput('dlq')
    assert.equal(more.length, 0)
    assert.equal(dead?.key?.toString(), 'order-b')
    assert.equal(dead?.value?.toString(), '{"id":"b","qty":-7}')
    assert.equal(dead?.timestamp, 2)
    const headers = dead?.headers ?? []
    assert.equal(header(headers, 'trace'), 't-1')
    assert.equal(header(headers, 'eddy.error'), 'negative quantity -7')
    assert.equal(header(headers, 'eddy.step'), 'qty')
    assert.equal(header(headers, 'eddy.source.topic'), 'orders')
    assert.equal(header(headers, 'eddy.source.partition'), '0')
    assert.equal(header(headers, 'eddy.source.offset'), '1')
    assert.deepEqual(d.metrics().get('qty'), { in: 3, out: 2, errors: 1, skipped: 0, deadLettered: 1 })
  })

  it('malformed JSON at the source is dead-lettered with its position, and the pipeline goes on', () => {
    const t = new Topology('app')
    t.stream<Order>('orders', json(), { name: 'orders', onError: { deadLetter: 'bad-orders' } })
      .mapValues((o) => o.qty)
      .to('out')
    const d = new TestDriver(t)
    d.pipe('orders', { id: 'a', qty: 1 }, { timestamp: 1 })
    d.pipeRaw('orders', { value: Buffer.from('{"id": "b", qty'), timestamp: 2 })
    d.pipe('orders', { id: 'c', qty: 3 }, { timestamp: 3 })
    assert.deepEqual(d.values('out'), [1, 3])
    const [dead] = d.rawOutput('bad-orders')
    assert.equal(dead?.value?.toString(), '{"id": "b", qty')
    assert.match(header(dead?.headers ?? [], 'eddy.error') ?? '', /not valid JSON/)
    assert.equal(header(dead?.headers ?? [], 'eddy.step'), 'orders')
    assert.equal(header(dead?.headers ?? [], 'eddy.source.offset'), '1')
    assert.equal(d.metrics().get('orders')?.deadLettered, 1)
  })

  it('malformed JSON at a source with the default policy fails, naming the record', () => {
    const t = new Topology('app')
    t.stream<Order>('orders').to('out')
    const d = new TestDriver(t)
    assert.throws(
      () => d.pipeRaw('orders', { value: Buffer.from('nope'), timestamp: 1 }),
      /step source-orders failed on the record at orders-0 offset 0: not valid JSON/,
    )
  })

  it('a stateful step’s policy applies to its function too', () => {
    const t = new Topology('app')
    t.stream<Order>('orders')
      .groupBy((o) => o.id)
      .aggregate(
        {
          kind: 'strict-sum',
          init: () => 0,
          add: (acc: number, o: Order) => acc + explode(o),
          result: (acc: number) => acc,
        },
        { name: 'total', onError: 'skip' },
      )
      .toStream()
      .to('out')
    const d = new TestDriver(t)
    d.pipe('orders', { id: 'a', qty: 2 }, { timestamp: 1 })
    d.pipe('orders', { id: 'a', qty: -1 }, { timestamp: 2 })
    d.pipe('orders', { id: 'a', qty: 5 }, { timestamp: 3 })
    assert.deepEqual(d.values('out'), [2, 7])
    assert.equal(d.metrics().get('total')?.skipped, 1)
  })
})
