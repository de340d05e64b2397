// Property test of PartitionLog.applyRetention against a model of its segments.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import fc from 'fast-check'
import { ManualClock } from '../core/clock.js'
import { isEddyError } from '../core/errors.js'
import { encodeRecordBatch } from '../core/record-batch.js'
import { defaultTopicConfig } from './event-log.js'
import { PartitionLog } from './partition-log.js'
import { SyncScheduler } from './sync-scheduler.js'
import type { TopicConfig } from './types.js'

const roots: string[] = []
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-retention-test-'))
  roots.push(dir)
  return dir
}

/** What the model knows of a segment: where it starts, its bytes, its newest timestamp, its records. */
interface ModelSegment {
  readonly base: number
  size: number
  maxTs: number
  readonly records: [offset: number, value: string][]
}

/** The log as the retention rules of types.ts / applyRetention describe it. */
class Model {
  segments: ModelSegment[] = [{ base: 0, size: 0, maxTs: Number.NEGATIVE_INFINITY, records: [] }]
  nextOffset = 0

  constructor(public config: TopicConfig) {}

  private get active(): ModelSegment {
    return this.segments[this.segments.length - 1]!
  }

  roll(): void {
    this.segments.push({ base: this.nextOffset, size: 0, maxTs: Number.NEGATIVE_INFINITY, records: [] })
  }

  append(bytes: number, records: { value: string; ts: number }[]): void {
    if (this.active.size > 0 && this.active.size + bytes > this.config.segmentBytes) this.roll()
    const seg = this.active
    seg.size += bytes
    for (const r of records) {
      seg.maxTs = Math.max(seg.maxTs, r.ts)
      seg.records.push([this.nextOffset++, r.value])
    }
  }

  /** Returns how many segments go. */
  applyRetention(nowMs: number): number {
    const { retentionMs, retentionBytes } = this.config
    let deleted = 0
    if (retentionMs !== null) {
      // An expired active segment is rolled first, so it can go too.
      if (this.active.size > 0 && this.active.maxTs < nowMs - retentionMs) this.roll()
      while (this.segments.length > 1 && this.segments[0]!.maxTs < nowMs - retentionMs) {
        this.segments.shift()
        deleted++
      }
    }
    if (retentionBytes !== null) {
      let size = this.segments.reduce((n, s) => n + s.size, 0)
      while (this.segments.length > 1 && size - this.segments[0]!.size >= retentionBytes) {
        size -= this.segments.shift()!.size
        deleted++
      }
    }
    return deleted
  }
}

type Op =
  | { kind: 'append'; records: { size: number; ts: number }[] }
  | { kind: 'roll' }
  | {
      kind: 'retain'
      /** A time, or one right at a segment's expiry (its max timestamp + retentionMs + delta). */
      now: number | { seg: number; delta: number }
      /** Sets retentionBytes to what the segments after the first `keep` hold, + delta. */
      bytes: { keep: number; delta: number } | null
    }
  | { kind: 'reopen' }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      records: fc.array(fc.record({ size: fc.nat({ max: 300 }), ts: fc.integer({ min: 0, max: 10_000 }) }), {
        minLength: 1,
        maxLength: 5,
      }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'roll' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('retain' as const),
      now: fc.oneof(
        fc.integer({ min: 0, max: 20_000 }),
        fc.record({ seg: fc.nat({ max: 10 }), delta: fc.integer({ min: -1, max: 1 }) }),
      ),
      bytes: fc.option(fc.record({ keep: fc.nat({ max: 10 }), delta: fc.integer({ min: -1, max: 1 }) }), {
        nil: null,
      }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
)

function readAll(p: PartitionLog): [number, string][] {
  const out: [number, string][] = []
  let offset = p.logStartOffset
  while (offset < p.highWatermark) {
    const { records, nextOffset } = p.readRecords(offset, 1 << 20, 'read_uncommitted')
    assert.ok(nextOffset > offset, `a read at ${offset} moves on`)
    for (const r of records) out.push([r.offset, r.value!.toString()])
    offset = nextOffset
  }
  return out
}

function check(p: PartitionLog, model: Model): void {
  assert.deepEqual(
    p.segments.map((s) => [s.baseOffset, s.sizeBytes]),
    model.segments.map((s) => [s.base, s.size]),
  )
  assert.equal(p.logStartOffset, model.segments[0]!.base)
  assert.equal(p.nextOffset, model.nextOffset)
  assert.deepEqual(
    readAll(p),
    model.segments.flatMap((s) => s.records),
  )
  if (p.logStartOffset > 0) {
    for (const below of [0, p.logStartOffset - 1]) {
      assert.throws(
        () => p.fetch(below, 1 << 20, 'read_uncommitted'),
        (err) => isEddyError(err, 'OFFSET_OUT_OF_RANGE'),
      )
    }
  }
}

describe('PartitionLog retention property', () => {
  it('deletes exactly the whole sealed segments the model says, by age and by bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1024, max: 4096 }),
        fc.option(fc.integer({ min: 0, max: 10_000 }), { freq: 4, nil: null }),
        fc.option(fc.integer({ min: 0, max: 12_000 }), { freq: 4, nil: null }),
        fc.array(opArb, { minLength: 5, maxLength: 40, size: 'max' }),
        async (segmentBytes, retentionMs, retentionBytes, ops) => {
          const clock = new ManualClock(0)
          const config: TopicConfig = {
            ...defaultTopicConfig,
            segmentBytes,
            segmentMs: 1e12,
            retentionMs,
            retentionBytes,
          }
          const dir = tmpDir()
          const opts = {
            dir,
            topic: 't',
            partition: 0,
            config,
            clock,
            fsync: { kind: 'never' as const },
            syncs: new SyncScheduler(),
          }
          let p = PartitionLog.create(opts)
          const model = new Model(config)
          let n = 0
          try {
            for (const op of ops) {
              if (op.kind === 'append') {
                const records = op.records.map((r) => ({ value: `${n++}:${'v'.repeat(r.size)}`, ts: r.ts }))
                const batch = encodeRecordBatch({
                  records: records.map((r) => ({ value: Buffer.from(r.value), timestamp: r.ts })),
                })
                model.append(batch.length, records)
                await p.appendBatch(batch)
              } else if (op.kind === 'roll') {
                if (p.segments[p.segments.length - 1]!.sizeBytes === 0) continue
                p.roll()
                model.roll()
              } else if (op.kind === 'reopen') {
                await p.close()
                p = PartitionLog.open({ ...opts, config: model.config })
              } else {
                const segs = model.segments
                if (op.bytes !== null) {
                  const after = segs.slice(Math.min(op.bytes.keep, segs.length - 1) + 1)
                  const retentionBytes = Math.max(0, after.reduce((b, s) => b + s.size, 0) + op.bytes.delta)
                  model.config = { ...model.config, retentionBytes }
                  p.config = model.config
                }
                let nowMs: number
                if (typeof op.now === 'number') nowMs = op.now
                else {
                  const maxTs = segs[op.now.seg % segs.length]!.maxTs
                  nowMs = (Number.isFinite(maxTs) ? maxTs : 0) + (retentionMs ?? 0) + op.now.delta
                }
                const expected = model.applyRetention(nowMs)
                assert.equal(p.applyRetention(nowMs), expected)
              }
              check(p, model)
            }
          } finally {
            await p.close()
          }
        },
      ),
      { numRuns: 100 },
    )
  })
})
