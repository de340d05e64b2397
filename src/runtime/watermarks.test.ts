import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { WatermarkTracker } from './watermarks.js'

describe('WatermarkTracker', () => {
  /** A tracker of two source partitions, a and b, with records at `aTs` and `bTs`. */
  function twoPartitions(aTs: number, bTs: number) {
    const w = new WatermarkTracker({ outOfOrdernessMs: 0, advanceWithWallClock: false })
    const a = w.sourceHandle('a', 0)
    const b = w.sourceHandle('b', 0)
    w.observeSource(a, aTs)
    w.observeSource(b, bTs)
    return { w, a, b }
  }

  it('a partition idles from the stamp after its last record, not from an earlier one', () => {
    const { w, b } = twoPartitions(1_000, 2_000)
    w.stampActivity(100)
    assert.equal(w.watermark, 1_000) // a holds time back
    // b keeps getting records; a has none after the stamp at 100.
    w.observeSource(b, 3_000)
    assert.equal(w.tick(5_099, 5_000), false) // a quiet for 4,999 ms: still holds time
    w.observeSource(b, 4_000)
    assert.equal(w.tick(5_100, 5_000), true) // a quiet for 5,000 ms: idle, time moves to b's
    assert.equal(w.watermark, 4_000)
  })

  it('records since the last stamp count as activity at the next tick', () => {
    const { w, b } = twoPartitions(1_000, 2_000)
    // No stamp since the records: the tick at 9,000 takes them as activity then (the runtime
    // stamps with the time it processed the batch at, so this is at most one batch late).
    assert.equal(w.tick(9_000, 5_000), false)
    assert.equal(w.watermark, 1_000)
    w.observeSource(b, 3_000)
    assert.equal(w.tick(14_000, 5_000), true)
    assert.equal(w.watermark, 3_000)
  })

  it('a record on an idle partition makes it hold time back again', () => {
    const { w, a, b } = twoPartitions(1_000, 1_000)
    w.stampActivity(0)
    w.observeSource(b, 10_000)
    w.tick(5_000, 5_000)
    assert.equal(w.watermark, 10_000)
    w.observeSource(a, 12_000)
    w.observeSource(b, 20_000)
    w.tick(6_000, 5_000)
    assert.equal(w.watermark, 12_000) // a is active again, and behind b
  })
})
