// Tumbling and hopping windows, grace, emit modes and late records, through the TestDriver.
// Windows are [start, end); a window closes when the watermark reaches end + grace.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { count, sum } from '../dsl/aggregators.js'
import { Topology } from '../dsl/stream.js'
import { hopping, tumbling, type WindowSpec } from '../dsl/windows.js'
import { TestDriver, type TestDriverOptions } from './test-driver.js'

type Row = [key: string, start: number, end: number, n: number]

/** clicks keyed by page → windowed count → 'out' (and late records → 'late'). */
function clicksPerPage(spec: WindowSpec, emit: 'final' | 'current', opts?: TestDriverOptions) {
  const t = new Topology('app')
  const agg = t
    .stream<string>('clicks')
    .groupBy((page) => page)
    .window(spec)
    .count()
  ;(emit === 'final' ? agg.final() : agg.current()).to('out')
  agg.lateRecords().to('late')
  const d = new TestDriver(t, opts)
  const click = (page: string, timestamp: number) => d.pipe('clicks', page, { timestamp })
  const rows = (): Row[] =>
    d
      .values<{ key: string; start: number; end: number; value: number }>('out')
      .map((w) => [w.key, w.start, w.end, w.value])
  return { d, click, rows, late: () => d.values<string>('late') }
}

describe('tumbling windows', () => {
  it('final emits each window once, when the watermark passes its end', () => {
    const { click, rows } = clicksPerPage(tumbling({ size: 1000 }), 'final')
    click('/a', 100)
    click('/a', 999)
    click('/b', 500)
    assert.deepEqual(rows(), [])
    click('/a', 1000) // in [1000, 2000): watermark 1000 closes [0, 1000)
    assert.deepEqual(rows(), [
      ['/a', 0, 1000, 2],
      ['/b', 0, 1000, 1],
    ])
  })

  it('the final result is stamped with the window’s last instant', () => {
    const { d, click } = clicksPerPage(tumbling({ size: 1000 }), 'final')
    click('/a', 10)
    click('/a', 2500)
    assert.deepEqual(
      d.output('out').map((r) => r.timestamp),
      [999],
    )
  })

  it('current emits the window after every update', () => {
    const { click, rows } = clicksPerPage(tumbling({ size: '1s' }), 'current')
    click('/a', 100)
    click('/a', 200)
    click('/a', 1100)
    assert.deepEqual(rows(), [
      ['/a', 0, 1000, 1],
      ['/a', 0, 1000, 2],
      ['/a', 1000, 2000, 1],
    ])
  })

  it('out-of-order records count in their window while it is open', () => {
    const { click, rows } = clicksPerPage(tumbling({ size: 1000 }), 'final')
    click('/a', 1500)
    click('/a', 1200)
    click('/a', 1800)
    click('/a', 2000)
    assert.deepEqual(rows(), [['/a', 1000, 2000, 3]])
  })

  it('a record behind the watermark but within grace still counts', () => {
    const { click, rows, late } = clicksPerPage(tumbling({ size: 1000, grace: 500 }), 'final')
    click('/a', 100)
    click('/a', 1200) // watermark 1200: [0, 1000) ended but is open until 1500
    click('/a', 900)
    assert.deepEqual(rows(), [])
    click('/a', 1500) // closes [0, 1000)
    assert.deepEqual(rows(), [['/a', 0, 1000, 2]])
    assert.deepEqual(late(), [])
  })

  it('a record past grace goes to lateRecords, not into the window', () => {
    const { click, rows, late } = clicksPerPage(tumbling({ size: 1000, grace: 500 }), 'final')
    click('/a', 100)
    click('/a', 1600) // closes [0, 1000) at 1500
    click('/a', 999) // its only window closed
    click('/a', 3000)
    assert.deepEqual(rows(), [
      ['/a', 0, 1000, 1],
      ['/a', 1000, 2000, 1],
    ])
    assert.deepEqual(late(), ['/a'])
  })

  it('current also stops updating a closed window and sends the record to lateRecords', () => {
    const { click, rows, late } = clicksPerPage(tumbling({ size: 1000 }), 'current')
    click('/a', 100)
    click('/a', 1000)
    click('/a', 200)
    assert.deepEqual(rows(), [
      ['/a', 0, 1000, 1],
      ['/a', 1000, 2000, 1],
    ])
    assert.deepEqual(late(), ['/a'])
  })

  it('outOfOrdernessMs holds the watermark back, so a late-ish record is on time', () => {
    const { d, click, rows, late } = clicksPerPage(tumbling({ size: 1000 }), 'final', {
      outOfOrdernessMs: 300,
    })
    click('/a', 900)
    click('/a', 1200) // watermark 900
    assert.equal(d.watermark(), 900)
    click('/a', 950) // would be late at watermark 1200
    click('/a', 1300) // watermark 1000: closes [0, 1000)
    assert.deepEqual(rows(), [['/a', 0, 1000, 2]])
    assert.deepEqual(late(), [])
  })

  it('aggregates several values per window', () => {
    const t = new Topology('app')
    t.stream<{ card: string; amount: number }>('payments')
      .groupBy((p) => p.card)
      .window(tumbling({ size: 1000 }))
      .aggregate({ n: count(), total: sum((p) => p.amount) })
      .final()
      .filter((w) => w.value.n >= 2)
      .to('alerts')
    const d = new TestDriver(t)
    d.pipe('payments', { card: 'a', amount: 5 }, { timestamp: 100 })
    d.pipe('payments', { card: 'a', amount: 7 }, { timestamp: 200 })
    d.pipe('payments', { card: 'b', amount: 1 }, { timestamp: 300 })
    d.pipe('payments', { card: 'a', amount: 1 }, { timestamp: 1500 })
    assert.deepEqual(d.values('alerts'), [{ key: 'a', start: 0, end: 1000, value: { n: 2, total: 12 } }])
  })

  it('one emit mode per aggregation', () => {
    const t = new Topology('app')
    const agg = t
      .stream<string>('clicks')
      .groupBy((p) => p)
      .window(tumbling({ size: 1000 }))
      .count()
    agg.final().to('out')
    assert.throws(() => agg.current(), /one emit mode/)
    assert.throws(
      () =>
        t
          .stream<string>('x')
          .groupBy((p) => p)
          .window(tumbling({ size: 1000 }))
          .count()
          .lateRecords(),
      /before \.lateRecords/,
    )
  })
})

describe('hopping windows', () => {
  it('a record is in size/every windows', () => {
    const { click, rows } = clicksPerPage(hopping({ size: 1000, every: 250 }), 'current')
    click('/a', 1100)
    assert.deepEqual(
      rows()
        .map(([, start, end]) => [start, end])
        .sort((x, y) => x[0]! - y[0]!),
      [
        [250, 1250],
        [500, 1500],
        [750, 1750],
        [1000, 2000],
      ],
    )
  })

  it('final emits each overlapping window when it closes', () => {
    const { click, rows } = clicksPerPage(hopping({ size: 1000, every: 500 }), 'final')
    click('/a', 1100) // in [500, 1500) and [1000, 2000)
    click('/a', 1600) // in [1000, 2000) and [1500, 2500); closes [500, 1500)
    assert.deepEqual(rows(), [['/a', 500, 1500, 1]])
    click('/a', 3000)
    assert.deepEqual(rows(), [
      ['/a', 500, 1500, 1],
      ['/a', 1000, 2000, 2],
      ['/a', 1500, 2500, 1],
    ])
  })

  it('a record late for one window but not the next counts only in the open one', () => {
    const { click, rows, late } = clicksPerPage(hopping({ size: 1000, every: 500 }), 'final')
    click('/a', 1600) // watermark 1600: [500, 1500) is closed, [1000, 2000) is open
    click('/a', 1200) // would be in both
    click('/a', 5000)
    assert.deepEqual(rows(), [
      ['/a', 1000, 2000, 2],
      ['/a', 1500, 2500, 1],
    ])
    assert.deepEqual(late(), [])
  })
})

describe('event time', () => {
  /** A task that reads two topics (partition 0 of each): event time is the minimum of both. */
  function twoTopics(opts: TestDriverOptions) {
    const t = new Topology('app')
    t.stream<string>(['eu', 'us'])
      .groupByKey()
      .window(tumbling({ size: 1000 }))
      .count()
      .final()
      .to('out')
    const d = new TestDriver(t, opts)
    return { d, values: () => d.values<{ start: number; value: number }>('out') }
  }

  it('a quiet input holds time back until it has been idle for idleTimeoutMs', () => {
    const { d, values } = twoTopics({ idleTimeoutMs: 1000 })
    d.pipe('us', 'x', { key: 'k', timestamp: 100 })
    d.pipe('eu', 'x', { key: 'k', timestamp: 500 })
    d.advanceWallClock(600)
    d.pipe('eu', 'x', { key: 'k', timestamp: 5000 })
    assert.equal(d.watermark(), 100, 'us, the slower input, holds event time back')
    assert.deepEqual(values(), [])
    d.advanceWallClock(400) // us quiet for 1000 ms: idle; eu active 400 ms ago
    assert.equal(d.watermark(), 5000)
    assert.deepEqual(values(), [{ key: 'k', start: 0, end: 1000, value: 2 }])
  })

  it('without an idle timeout, a quiet input holds time back forever', () => {
    const { d, values } = twoTopics({})
    d.pipe('us', 'x', { key: 'k', timestamp: 100 })
    d.pipe('eu', 'x', { key: 'k', timestamp: 5000 })
    d.advanceWallClock(3_600_000)
    assert.equal(d.watermark(), 100)
    assert.deepEqual(values(), [])
  })

  it('an idle input that speaks again holds time back again (time never goes back)', () => {
    const { d } = twoTopics({ idleTimeoutMs: 1000 })
    d.pipe('us', 'x', { key: 'k', timestamp: 100 })
    d.advanceWallClock(600)
    d.pipe('eu', 'x', { key: 'k', timestamp: 3000 })
    d.advanceWallClock(400)
    assert.equal(d.watermark(), 3000)
    d.pipe('us', 'x', { key: 'k', timestamp: 3100 })
    d.pipe('eu', 'x', { key: 'k', timestamp: 9000 })
    assert.equal(d.watermark(), 3100)
  })

  it('after a groupBy, a quiet partition of the source holds time back until it is idle', () => {
    const { d, rows } = clicksPerPage(tumbling({ size: 1000 }), 'final', {
      partitions: { clicks: 2 },
      idleTimeoutMs: 1000,
    })
    const clickOn = (partition: number, timestamp: number) => d.pipe('clicks', '/a', { partition, timestamp })
    clickOn(0, 100)
    clickOn(1, 200)
    d.advanceWallClock(600)
    clickOn(0, 5000) // partition 1 is quiet at 200: the window [0, 1000) stays open downstream
    assert.deepEqual(rows(), [])
    assert.equal(d.watermark(), 200)
    d.advanceWallClock(400) // partition 1 quiet for 1000 ms: idle; partition 0 was active 400 ms ago
    assert.deepEqual(rows(), [['/a', 0, 1000, 2]])
  })

  it('advanceWithWallClock closes windows on a quiet stream', () => {
    const { d, click, rows } = clicksPerPage(tumbling({ size: 1000 }), 'final', {
      advanceWithWallClock: true,
      idleTimeoutMs: 5000,
    })
    click('/a', 100)
    click('/a', 400)
    d.advanceWallClock(4000)
    assert.deepEqual(rows(), [], 'not idle yet')
    d.advanceWallClock(1000) // idle: event time follows the wall clock (5000)
    assert.deepEqual(rows(), [['/a', 0, 1000, 2]])
  })

  it('without advanceWithWallClock a quiet stream keeps its windows open', () => {
    const { d, click, rows } = clicksPerPage(tumbling({ size: 1000 }), 'final', { idleTimeoutMs: 5000 })
    click('/a', 100)
    d.advanceWallClock(60_000)
    assert.deepEqual(rows(), [])
  })
})
