// Session windows through the TestDriver: records of a key no more than `gap` apart form a
// session [first, last]; it closes when the watermark reaches last + gap + grace.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { aggregate, count, sum } from '../dsl/aggregators.js'
import { Topology } from '../dsl/stream.js'
import { session } from '../dsl/windows.js'
import { TestDriver, type TestDriverOptions } from './test-driver.js'

type Row = [user: string, start: number, end: number, views: number]

function viewsPerSession(
  spec: { gap: number; grace?: number },
  emit: 'final' | 'current',
  opts?: TestDriverOptions,
) {
  const t = new Topology('app')
  const agg = t
    .stream<string>('views')
    .groupBy((user) => user)
    .window(session(spec))
    .count()
  ;(emit === 'final' ? agg.final() : agg.current()).to('out')
  agg.lateRecords().to('late')
  const d = new TestDriver(t, opts)
  const view = (user: string, timestamp: number) => d.pipe('views', user, { timestamp })
  const rows = (): Row[] =>
    d
      .values<{ key: string; start: number; end: number; value: number }>('out')
      .map((w) => [w.key, w.start, w.end, w.value])
  return { d, view, rows, late: () => d.values<string>('late') }
}

describe('session windows', () => {
  it('records within the gap form one session; a longer pause starts another', () => {
    const { view, rows } = viewsPerSession({ gap: 100 }, 'final')
    view('u', 1000)
    view('u', 1050)
    view('u', 1150)
    view('u', 1300) // 150 after 1150: closes [1000, 1150] at 1250
    assert.deepEqual(rows(), [['u', 1000, 1150, 3]])
    view('v', 2000)
    assert.deepEqual(rows(), [
      ['u', 1000, 1150, 3],
      ['u', 1300, 1300, 1],
    ])
  })

  it('a record that bridges the gap merges two sessions', () => {
    const { view, rows } = viewsPerSession({ gap: 100, grace: 1000 }, 'current')
    view('u', 1000)
    view('u', 1150) // a second session
    view('u', 1080) // within gap of both
    assert.deepEqual(rows(), [
      ['u', 1000, 1000, 1],
      ['u', 1150, 1150, 1],
      ['u', 1000, 1150, 3],
    ])
  })

  it('merged sessions are emitted once, as one, when final', () => {
    const { view, rows, d } = viewsPerSession({ gap: 100, grace: 1000 }, 'final')
    view('u', 1000)
    view('u', 1150)
    view('u', 1080)
    view('x', 5000)
    assert.deepEqual(rows(), [['u', 1000, 1150, 3]])
    assert.deepEqual(d.windowStore('window-session-1-store'), [['x', 5000, { end: 5000, acc: 1 }]])
  })

  it('an out-of-order record before the session start extends it backwards', () => {
    const { view, rows } = viewsPerSession({ gap: 100, grace: 500 }, 'current')
    view('u', 1000)
    view('u', 950)
    assert.deepEqual(rows(), [
      ['u', 1000, 1000, 1],
      ['u', 950, 1000, 2],
    ])
  })

  it('an out-of-order record inside a session that is still open counts, even if alone it would be late', () => {
    const { view, rows, late } = viewsPerSession({ gap: 300 }, 'final')
    view('u', 1000)
    view('u', 1200) // session [1000, 1200], open until 1500
    view('v', 1350) // watermark 1350
    view('u', 1040) // by itself it would close at 1340, but it falls inside the open session
    view('w', 9999)
    assert.deepEqual(late(), [])
    assert.deepEqual(
      rows().filter(([k]) => k === 'u'),
      [['u', 1000, 1200, 3]],
    )
  })

  it('grace keeps a session open after its gap has passed', () => {
    const { view, rows, late } = viewsPerSession({ gap: 100, grace: 200 }, 'final')
    view('u', 1000)
    view('x', 1250) // watermark 1250: [1000, 1000] would close at 1100 without grace, at 1300 with
    view('u', 1090)
    view('x', 1400)
    assert.deepEqual(
      rows().filter(([k]) => k === 'u'),
      [['u', 1000, 1090, 2]],
    )
    assert.deepEqual(late(), [])
  })

  it('a record whose session would already be closed goes to lateRecords', () => {
    const { view, rows, late } = viewsPerSession({ gap: 100 }, 'final')
    view('u', 1000)
    view('x', 2000) // closes u's session
    view('u', 1050)
    assert.deepEqual(rows(), [['u', 1000, 1000, 1]])
    assert.deepEqual(late(), ['u'])
  })

  it('sessions need an aggregation that can merge', () => {
    const t = new Topology('app')
    t.stream<number>('in')
      .groupByKey()
      .window(session({ gap: 10 }))
      .aggregate(aggregate({ init: () => 0, add: (a, v: number) => a + v }))
      .final()
      .to('out')
    assert.throws(() => new TestDriver(t), /session windows need an aggregation that can merge/)
  })

  it('several aggregations at once merge too', () => {
    const t = new Topology('app')
    t.stream<number>('in')
      .groupByKey()
      .window(session({ gap: 100, grace: 500 }))
      .aggregate({ n: count(), total: sum((v) => v) })
      .final()
      .to('out')
    const d = new TestDriver(t)
    d.pipe('in', 1, { key: 'k', timestamp: 1000 })
    d.pipe('in', 2, { key: 'k', timestamp: 1150 })
    d.pipe('in', 4, { key: 'k', timestamp: 1075 })
    d.pipe('in', 0, { key: 'z', timestamp: 2000 })
    assert.deepEqual(d.values('out'), [{ key: 'k', start: 1000, end: 1150, value: { n: 3, total: 7 } }])
  })
})
