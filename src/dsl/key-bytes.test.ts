// Which keys travel undecoded (plan/key-bytes.ts), on plans the DSL builds.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { json, string } from '../core/serde.js'
import { keysKeptAsBytes } from '../plan/key-bytes.js'
import { Topology } from './stream.js'
import { tumbling } from './windows.js'

interface Pay {
  readonly user: string
  readonly amount: number
}

/** The kept node ids of the plan's first sub-topology, sorted. */
function kept(t: Topology): string[] {
  const plan = t.plan()
  return [...keysKeptAsBytes(plan, plan.subTopologies()[0]!)].sort()
}

describe('keys kept as bytes', () => {
  it('a chain that never reads the key: source, steps and sink all carry bytes', () => {
    const t = new Topology('k')
    t.stream<Pay>('pay', json(), { name: 'src' })
      .filter((p) => p.amount > 0, { name: 'f' })
      .mapValues((p) => p.amount, { name: 'm' })
      .peek((p) => void p, { name: 'p' })
      .to('out', { name: 'sink' })
    assert.deepEqual(kept(t), ['f', 'm', 'p', 'sink', 'src'])
  })

  it('string() at one end and the default key serde at the other are the same format', () => {
    const t = new Topology('k')
    t.stream<Pay, string>('pay', json(), { name: 'src', keySerde: string() }).to('out', { name: 'sink' })
    assert.deepEqual(kept(t), ['sink', 'src'])
  })

  it('a function that takes the record may read the key: nothing is kept', () => {
    const t = new Topology('k')
    t.stream<Pay>('pay', json(), { name: 'src' })
      .filter((p, r) => r.key !== null && p.amount > 0, { name: 'f' })
      .to('out', { name: 'sink' })
    assert.deepEqual(kept(t), [])
  })

  it('a split whose predicates take only values keeps keys; one that takes the record does not', () => {
    const a = new Topology('k')
    const s = a
      .stream<Pay>('pay', json(), { name: 'src' })
      .split({ big: (p) => p.amount > 100 }, { name: 'sp' })
    s.big.to('big', { name: 'big-out' })
    s.rest.to('rest', { name: 'rest-out' })
    assert.deepEqual(kept(a), ['big-out', 'rest-out', 'sp.big', 'sp.rest', 'src'])
    const b = new Topology('k')
    const s2 = b
      .stream<Pay>('pay', json(), { name: 'src' })
      .split({ big: (_p, r) => r.key === 'x' }, { name: 'sp' })
    s2.big.to('big')
    s2.rest.to('rest')
    assert.deepEqual(kept(b), [])
  })

  it('a sink with another key serde, a key-changing step, or a timestamp function: nothing is kept', () => {
    const a = new Topology('k')
    a.stream<Pay>('pay', json()).to('out', { keySerde: json<string | null>() })
    assert.deepEqual(kept(a), [])
    const b = new Topology('k')
    b.stream<Pay>('pay', json())
      .selectKey((p) => p.user)
      .to('out')
    assert.deepEqual(kept(b), [])
    const c = new Topology('k')
    c.stream<Pay>('pay', json(), { timestamp: (p) => p.amount }).to('out')
    assert.deepEqual(kept(c), [])
  })

  it('one branch that needs the decoded key makes the whole connected part decode', () => {
    const t = new Topology('k')
    const src = t.stream<Pay>('pay', json(), { name: 'src' })
    src.filter((p) => p.amount > 0).to('plain')
    // The windowed count reads keys (its store is keyed by them): the source must decode.
    src
      .groupByKey()
      .window(tumbling({ size: 1000 }))
      .count()
      .final()
      .to('counts')
    assert.deepEqual(kept(t), [])
  })

  it('a merge keeps bytes only when every input does', () => {
    const a = new Topology('k')
    const x = a.stream<Pay>('x', json(), { name: 'x' })
    const y = a.stream<Pay>('y', json(), { name: 'y' })
    x.merge(y)
      .filter((p) => p.amount > 0, { name: 'f' })
      .to('out', { name: 'sink' })
    const mergeId = [...a.plan().nodes.values()].find((n) => n.kind === 'merge')!.id
    assert.deepEqual(kept(a), ['f', mergeId, 'sink', 'x', 'y'].sort())
    const b = new Topology('k')
    const u = b.stream<Pay>('x', json())
    const v = b.stream<Pay>('y', json()).selectKey((p) => p.user)
    u.merge(v).to('out')
    assert.deepEqual(kept(b), [])
  })
})
