// The plan: validation, topological order, the split into sub-topologies, and its pictures.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { json } from '../core/serde.js'
import type { StoreSpec } from '../core/store.js'
import type { PlanNode } from './nodes.js'
import { Plan } from './plan.js'
import { describePlan, planToMermaid } from './render.js'

const fail = { kind: 'fail' } as const
const serdes = { keySerde: json(), valueSerde: json() }
const kv = (name: string): StoreSpec => ({ name, kind: 'kv', ...serdes })

const source = (id: string, topics: string[]): PlanNode => ({
  kind: 'source',
  id,
  label: 'source',
  parents: [],
  errorPolicy: fail,
  topics,
  ...serdes,
})
const map = (id: string, parents: string[]): PlanNode => ({
  kind: 'map',
  id,
  label: 'map',
  parents,
  errorPolicy: fail,
  step: (next) => next,
})
const merge = (id: string, parents: string[]): PlanNode => ({
  kind: 'merge',
  id,
  label: 'merge',
  parents,
  errorPolicy: fail,
})
const repartition = (id: string, parent: string, topic: string): PlanNode => ({
  kind: 'repartition',
  id,
  label: 'repartition',
  parents: [parent],
  errorPolicy: fail,
  topic,
  ...serdes,
})
const process = (id: string, parent: string, stores: StoreSpec[], sideOutputs: string[] = []): PlanNode => ({
  kind: 'process',
  id,
  label: 'count',
  parents: [parent],
  errorPolicy: fail,
  stores,
  create: () => ({ process: () => {} }),
  sideOutputs,
})
const side = (id: string, parent: string, output: string): PlanNode => ({
  kind: 'side',
  id,
  label: 'late records',
  parents: [parent],
  errorPolicy: fail,
  output,
})
const sink = (id: string, parent: string, topic: string): PlanNode => ({
  kind: 'sink',
  id,
  label: 'to',
  parents: [parent],
  errorPolicy: fail,
  target: { type: 'topic', topic, ...serdes },
})

/** clicks → key → [repartition] → count → counts, and count's late records → late */
function clicksPlan(): Plan {
  return new Plan([
    source('src', ['clicks']),
    map('key', ['src']),
    repartition('by-page', 'key', 'by-page-repartition'),
    process('count', 'by-page', [kv('count-store')], ['late']),
    sink('to-counts', 'count', 'counts'),
    side('late', 'count', 'late'),
    sink('to-late', 'late', 'late-clicks'),
  ])
}

describe('plan validation', () => {
  it('a pipeline needs a sink', () => {
    assert.throws(
      () => new Plan([source('src', ['in']), map('m', ['src'])]),
      /the pipeline has no sink: end at least one stream with \.to\(\), \.forEach\(\) or \.print\(\)/,
    )
  })

  it('step ids are unique', () => {
    assert.throws(
      () => new Plan([source('a', ['in']), map('a', ['a']), sink('out', 'a', 'out')]),
      /two steps are named "a": give each a unique name/,
    )
  })

  it('store names are unique', () => {
    assert.throws(
      () =>
        new Plan([
          source('src', ['in']),
          process('p1', 'src', [kv('s')]),
          process('p2', 'p1', [kv('s')]),
          sink('out', 'p2', 'out'),
        ]),
      /two stores are named s/,
    )
  })

  it('the graph has no cycles', () => {
    assert.throws(
      () =>
        new Plan([source('src', ['in']), merge('m', ['src', 'n']), map('n', ['m']), sink('out', 'n', 'out')]),
      /the pipeline has a cycle: .*m → n → m|the pipeline has a cycle: .*n → m → n/,
    )
  })

  it('every step reads from a known step; only sources read from nothing', () => {
    assert.throws(
      () => new Plan([source('src', ['in']), map('m', ['ghost']), sink('out', 'm', 'out')]),
      /step m reads from unknown step ghost/,
    )
    assert.throws(
      () => new Plan([map('m', []), sink('out', 'm', 'out')]),
      /step m \(map\) reads from nothing/,
    )
  })

  it('sources name valid topics; sinks write valid topics', () => {
    assert.throws(() => new Plan([source('src', []), sink('out', 'src', 'out')]), /source src names no topic/)
    assert.throws(() => new Plan([source('src', ['bad topic']), sink('out', 'src', 'out')]), /bad topic/)
    assert.throws(() => new Plan([source('src', ['in']), sink('out', 'src', 'a/b')]), /a\/b/)
  })

  it('a side output must be one its parent declares', () => {
    assert.throws(
      () =>
        new Plan([
          source('src', ['in']),
          process('p', 'src', [], ['late']),
          side('s', 'p', 'other'),
          sink('out', 's', 'out'),
        ]),
      /step s reads side output other that its parent lacks/,
    )
  })

  it('orders steps parents before children, whatever order they were given in', () => {
    const nodes = [
      sink('to-late', 'late', 'late-clicks'),
      side('late', 'count', 'late'),
      sink('to-counts', 'count', 'counts'),
      process('count', 'by-page', [kv('count-store')], ['late']),
      repartition('by-page', 'key', 'by-page-repartition'),
      map('key', ['src']),
      source('src', ['clicks']),
    ]
    const plan = new Plan(nodes)
    for (const id of plan.order) {
      for (const p of plan.node(id).parents)
        assert.ok(plan.order.indexOf(p) < plan.order.indexOf(id), `${p} before ${id}`)
    }
    assert.deepEqual([...plan.children('count')].sort(), ['late', 'to-counts'])
    assert.deepEqual(
      plan.stores().map((s) => s.name),
      ['count-store'],
    )
  })
})

describe('sub-topologies', () => {
  it('a repartition splits the plan in two: the writer and the reader of its topic', () => {
    const [writer, reader, ...more] = clicksPlan().subTopologies()
    assert.equal(more.length, 0)
    assert.deepEqual(writer, {
      index: 0,
      nodes: ['src', 'key', 'by-page'],
      sourceTopics: ['clicks'],
      repartitionInputs: [],
      repartitionOutputs: ['by-page'],
      stores: [],
    })
    assert.deepEqual(reader?.nodes, ['count', 'to-counts', 'late', 'to-late'])
    assert.deepEqual(reader?.sourceTopics, [])
    assert.deepEqual(reader?.repartitionInputs, ['by-page'])
    assert.deepEqual(reader?.repartitionOutputs, [])
    assert.deepEqual(
      reader?.stores.map((s) => s.name),
      ['count-store'],
    )
  })

  it('unconnected pipelines are separate sub-topologies; a merge joins them', () => {
    const apart = new Plan([
      source('a', ['ta']),
      sink('oa', 'a', 'x'),
      source('b', ['tb']),
      sink('ob', 'b', 'y'),
    ])
    assert.equal(apart.subTopologies().length, 2)
    const merged = new Plan([
      source('a', ['ta']),
      source('b', ['tb']),
      merge('m', ['a', 'b']),
      sink('o', 'm', 'x'),
    ])
    const subs = merged.subTopologies()
    assert.equal(subs.length, 1)
    assert.deepEqual(subs[0]?.sourceTopics, ['ta', 'tb'])
  })

  it('two repartitions in a row make three sub-topologies', () => {
    const plan = new Plan([
      source('src', ['in']),
      repartition('r1', 'src', 'r1-topic'),
      process('p1', 'r1', [kv('p1-store')]),
      repartition('r2', 'p1', 'r2-topic'),
      process('p2', 'r2', [kv('p2-store')]),
      sink('out', 'p2', 'out'),
    ])
    const subs = plan.subTopologies()
    assert.deepEqual(
      subs.map((s) => [s.nodes, s.repartitionInputs, s.repartitionOutputs]),
      [
        [['src', 'r1'], [], ['r1']],
        [['p1', 'r2'], ['r1'], ['r2']],
        [['p2', 'out'], ['r2'], []],
      ],
    )
    assert.deepEqual(
      plan.repartitionNodes().map((n) => n.topic),
      ['r1-topic', 'r2-topic'],
    )
  })
})

describe('rendering', () => {
  it('JSON lists each node with its kind, parents, topics and stores', () => {
    const d = describePlan(clicksPlan())
    assert.equal(d.subTopologies, 2)
    assert.deepEqual(d.nodes, [
      { id: 'src', kind: 'source', label: 'source', parents: [], topics: ['clicks'] },
      { id: 'key', kind: 'map', label: 'map', parents: ['src'] },
      {
        id: 'by-page',
        kind: 'repartition',
        label: 'repartition',
        parents: ['key'],
        topics: ['by-page-repartition'],
      },
      { id: 'count', kind: 'process', label: 'count', parents: ['by-page'], stores: ['count-store'] },
      { id: 'to-counts', kind: 'sink', label: 'to', parents: ['count'], topics: ['counts'] },
      { id: 'late', kind: 'side', label: 'late records', parents: ['count'] },
      { id: 'to-late', kind: 'sink', label: 'to', parents: ['late'], topics: ['late-clicks'] },
    ])
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(d)))
  })

  it('Mermaid draws a flowchart with shapes per kind and safe ids', () => {
    assert.equal(
      planToMermaid(clicksPlan()),
      [
        'flowchart LR',
        '  src[/"source: clicks"/]',
        '  key["map"]',
        '  src --> key',
        '  by_page[("repartition: by-page-repartition")]',
        '  key --> by_page',
        '  count["count [count-store]"]',
        '  by_page --> count',
        '  to_counts[/"to: counts"/]',
        '  count --> to_counts',
        '  late["late records"]',
        '  count --> late',
        '  to_late[/"to: late-clicks"/]',
        '  late --> to_late',
      ].join('\n'),
    )
  })
})
