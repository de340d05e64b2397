// Co-partitioning on the real runtime: a join of topics with different partition counts is a
// clear error at start; a foreign-key join needs no co-partitioning and runs across counts.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { app, json } from '../../src/index.js'
import { cleanup, readTopic, tmpDir, writeInputs } from './harness.js'

const value = (v: unknown) => Buffer.from(JSON.stringify(v))

describe('co-partitioning', () => {
  after(cleanup)

  it('a stream–table join of topics with different partition counts fails at start, naming both', async () => {
    const dataDir = tmpDir('copartition')
    await writeInputs(dataDir, 'payments', 4, [{ partition: 0, key: 'c1', value: value({}), timestamp: 0 }])
    await writeInputs(dataDir, 'holders', 2, [{ partition: 0, key: 'c1', value: value({}), timestamp: 0 }])
    const a = app({ id: 'copart', dataDir })
    a.stream('payments')
      .join(a.table('holders'), (p, h) => ({ p, h }))
      .to('out')
    await assert.rejects(a.run({ untilIdleMs: 100 }), (err: Error) => {
      assert.match(err.message, /co-partitioning/)
      assert.match(err.message, /payments has 4/)
      assert.match(err.message, /holders has 2/)
      return true
    })
  })

  it('a repartitioned stream joins a table read from a topic: string keys land where a producer puts them', async () => {
    const dataDir = tmpDir('copartition-rekey')
    const holders = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map((card) => ({ card, country: `${card}-land` }))
    // Keyed by card the way a Kafka producer does it: murmur2 of the key's bytes.
    const { partitionForKey } = await import('../../src/core/murmur2.js')
    await writeInputs(
      dataDir,
      'holders',
      3,
      holders.map((h) => ({
        partition: partitionForKey(Buffer.from(h.card), 3),
        key: h.card,
        value: value(h),
        timestamp: 0,
      })),
    )
    await writeInputs(
      dataDir,
      'payments',
      3,
      holders.map((h, i) => ({
        partition: i % 3,
        key: null,
        value: value({ card: h.card, amount: i }),
        timestamp: 10 + i,
      })),
    )
    const a = app({ id: 'rekey', dataDir, commitIntervalMs: 20 })
    a.stream<{ card: string; amount: number }>('payments', json())
      .selectKey((p) => p.card)
      .join(a.table<{ country: string }>('holders'), (p, h) => `${p.card}:${h.country}`)
      .to('out')
    await a.run({ untilIdleMs: 200 })
    const out = (await readTopic(dataDir, 'out'))
      .flat()
      .map((r) => JSON.parse(r.value!.toString()) as string)
      .sort()
    assert.deepEqual(
      out,
      holders.map((h) => `${h.card}:${h.country}`),
    )
  })

  it('a foreign-key join runs across tables with different partition counts', async () => {
    const dataDir = tmpDir('fk-runtime')
    const { partitionForKey } = await import('../../src/core/murmur2.js')
    await writeInputs(dataDir, 'customers', 2, [
      {
        partition: partitionForKey(Buffer.from('c1'), 2),
        key: 'c1',
        value: value({ name: 'Ann' }),
        timestamp: 1,
      },
      {
        partition: partitionForKey(Buffer.from('c2'), 2),
        key: 'c2',
        value: value({ name: 'Bob' }),
        timestamp: 2,
      },
    ])
    // Keyed the way a Kafka producer keys them (the responses find their rows by that).
    const at = (key: string, n: number) => partitionForKey(Buffer.from(key), n)
    const orders = Array.from({ length: 40 }, (_, i) => ({
      partition: at(`o${i}`, 5),
      key: `o${i}`,
      value: value({ customer: i % 2 === 0 ? 'c1' : 'c2', amount: i }),
      timestamp: 10 + i,
    }))
    await writeInputs(dataDir, 'orders', 5, orders)
    const build = () => {
      const a = app({ id: 'fk', dataDir, commitIntervalMs: 20 })
      a.table<{ customer: string; amount: number }>('orders')
        .foreignKeyJoin(
          a.table<{ name: string }>('customers'),
          (o) => o.customer,
          (o, c) => `${o.amount} by ${c.name}`,
        )
        .to('out')
      return a
    }
    const finalTable = async () => {
      const m = new Map<string, string | null>()
      for (const r of (await readTopic(dataDir, 'out')).flat()) {
        m.set(r.key!.toString(), r.value === null ? null : (JSON.parse(r.value.toString()) as string))
      }
      return m
    }
    await build().run({ untilIdleMs: 300 })
    let t = await finalTable()
    assert.equal(t.size, 40)
    for (let i = 0; i < 40; i++) assert.equal(t.get(`o${i}`), `${i} by ${i % 2 === 0 ? 'Ann' : 'Bob'}`)

    // A customer renamed, an order deleted, an order moved to the other customer; after a restart.
    await writeInputs(dataDir, 'customers', 2, [
      { partition: at('c1', 2), key: 'c1', value: value({ name: 'Anna' }), timestamp: 100 },
    ])
    await writeInputs(dataDir, 'orders', 5, [
      { partition: at('o0', 5), key: 'o0', value: null, timestamp: 101 },
      { partition: at('o1', 5), key: 'o1', value: value({ customer: 'c1', amount: 1 }), timestamp: 102 },
    ])
    await build().run({ untilIdleMs: 300 })
    t = await finalTable()
    assert.equal(t.get('o0'), null)
    assert.equal(t.get('o1'), '1 by Anna')
    assert.equal(t.get('o2'), '2 by Anna')
    assert.equal(t.get('o3'), '3 by Bob')
  })
})
