import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { LogRecord } from '../core/record.js'
import { BATCH_HEADER_BYTES, decodeBatchRecords, readBatchHeader } from '../core/record-batch.js'
import { OutputBatches } from './output-batches.js'

const marker = [{ key: 'eddy.watermark', value: Buffer.from('5') }]

function decoded(batch: { build(): Buffer }): string[] {
  const bytes = batch.build()
  const out: LogRecord[] = []
  decodeBatchRecords(bytes, 0, readBatchHeader(bytes, 0), 't', 0, out)
  return out.map((r) => r.value?.toString() ?? 'null')
}

describe('OutputBatches', () => {
  it('keeps each partition in order, a new batch when one is full, and counts data apart from markers', () => {
    const out = new OutputBatches(BATCH_HEADER_BYTES + 200)
    const value = (i: number) => Buffer.from(`value-${String(i).padStart(3, '0')}-${'.'.repeat(20)}`)
    for (let i = 0; i < 20; i++) out.add('a', i % 2, null, value(i), i, [], false)
    out.add('b', 0, null, null, 99, marker, true)
    assert.equal(out.count, 21)
    assert.equal(out.dataCount, 20)
    const taken = out.take()
    assert.equal(out.count, 0)
    assert.equal(out.dataCount, 0)
    assert.deepEqual(
      taken.map((t) => [t.topic, t.partition]),
      [
        ['a', 0],
        ['a', 1],
        ['b', 0],
      ],
    )
    for (const p of [0, 1]) {
      const batches = taken[p]!.batches
      assert.ok(batches.length > 1, 'the partition went on in a second batch')
      for (const b of batches) assert.ok(b.sizeBytes <= BATCH_HEADER_BYTES + 200)
      const values = batches.flatMap(decoded)
      const expected = Array.from({ length: 10 }, (_, j) => value(2 * j + p).toString())
      assert.deepEqual(values, expected)
    }
    assert.deepEqual(decoded(taken[2]!.batches[0]!), ['null'])
  })

  it('adds nothing for a record past the limits, and clear drops what waits', () => {
    const out = new OutputBatches(16 * 1024 * 1024)
    out.add('a', 0, null, Buffer.from('kept'), 1, [], false)
    assert.throws(() => out.add('a', 0, Buffer.alloc(1024 * 1024), null, 2, [], false), {
      code: 'RECORD_TOO_LARGE',
    })
    assert.equal(out.count, 1)
    assert.deepEqual(decoded(out.take()[0]!.batches[0]!), ['kept'])
    out.add('a', 0, null, Buffer.from('dropped'), 3, [], false)
    out.clear()
    assert.deepEqual(out.take(), [])
  })
})
