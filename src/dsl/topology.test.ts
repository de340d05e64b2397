// Building a plan with the DSL: step ids, names, and what each verb adds to the plan.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { count } from './aggregators.js'
import { Topology } from './stream.js'
import { tumbling } from './windows.js'

describe('Topology', () => {
  it('an app id and step names are letters, digits, ".", "_" or "-"', () => {
    assert.throws(() => new Topology('my app'), /app id "my app" must be letters/)
    const t = new Topology('app')
    assert.throws(
      () => t.stream('in').filter(() => true, { name: 'a/b' }),
      /step name "a\/b" must be letters/,
    )
  })

  it('step names are unique', () => {
    const t = new Topology('app')
    const s = t.stream<number>('in').mapValues((n) => n, { name: 'double' })
    assert.throws(() => s.mapValues((n) => n, { name: 'double' }), /two steps are named double/)
  })

  it('unnamed steps get ids from their verb; named stateful steps keep their name, store and topic', () => {
    const t = new Topology('app')
    t.stream<{ page: string }>('clicks')
      .filter(() => true)
      .groupBy((c) => c.page, { name: 'by-page' })
      .window(tumbling({ size: 1000 }))
      .count({ name: 'per-minute' })
      .final()
      .to('counts')
    const plan = t.plan()
    assert.deepEqual(plan.order, [
      'source-clicks',
      'filter-1',
      'by-page.key',
      'by-page.repartition',
      'per-minute',
      'to-counts',
    ])
    assert.deepEqual(
      plan.stores().map((s) => s.name),
      ['per-minute-store'],
    )
    assert.deepEqual(
      plan.repartitionNodes().map((n) => n.topic),
      ['by-page-repartition'],
    )
  })

  it('a source of several topics, and two sinks to one topic, need no names', () => {
    const t = new Topology('app')
    const s = t.stream<number>(['eu', 'us'])
    s.to('all')
    s.mapValues((n) => n + 1).to('all')
    assert.deepEqual(t.plan().order, ['source-eu_us', 'to-all', 'mapValues-1', 'to-all-1'])
  })

  it('a table is aggregated once per key: groupByKey().count()', () => {
    const t = new Topology('app')
    t.stream<number>('in').groupByKey().aggregate(count(), { name: 'n' }).toStream().to('out')
    const n = t.plan().node('n')
    assert.equal(n.kind, 'process')
    assert.equal(n.label, 'aggregate(count)')
  })
})
