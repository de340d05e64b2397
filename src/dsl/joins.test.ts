// The join processors' queue of what waits for event time (the joins themselves are tested
// through the TestDriver in src/testing/joins.test.ts).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { DueQueue } from './joins.js'

describe('DueQueue', () => {
  it('gives back what is due, earliest first and in the order added among equals', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 10 }),
        (ats, watermarks) => {
          const q = new DueQueue<number>()
          for (const [i, at] of ats.entries()) q.add(at, i, at)
          const taken: number[] = []
          let wm = Number.NEGATIVE_INFINITY
          for (const w of [...watermarks].sort((a, b) => a - b)) {
            wm = w
            for (const d of q.takeDue(w)) taken.push(d.key)
          }
          // A stable sort by time of the entries due by the last watermark.
          const due = ats
            .map((at, i) => [at, i] as const)
            .filter(([at]) => at <= wm)
            .sort((a, b) => a[0] - b[0] || a[1] - b[1])
            .map(([, i]) => i)
          assert.deepEqual(taken, due)
          assert.equal(q.size, ats.length - due.length)
        },
      ),
    )
  })
})
