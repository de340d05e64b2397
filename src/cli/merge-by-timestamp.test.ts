import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { LogRecord } from '../core/record.js'
import { mergeByTimestamp } from './merge-by-timestamp.js'

const record = (
  partition: number,
  offset: number,
  timestamp: number,
  fields: Partial<LogRecord> = {},
): LogRecord => ({
  topic: 't',
  partition,
  offset,
  timestamp,
  key: null,
  value: null,
  headers: [],
  ...fields,
})

describe('mergeByTimestamp', () => {
  it('interleaves by timestamp and keeps each partition in its own order, even when its clock went back', () => {
    const p0 = [record(0, 0, 10), record(0, 1, 30), record(0, 2, 5)]
    const p1 = [record(1, 0, 10), record(1, 1, 20)]
    const merged = mergeByTimestamp([p0, p1, []]).map((r) => `${r.partition}:${r.offset}`)
    assert.deepEqual(merged, ['0:0', '1:0', '1:1', '0:1', '0:2'])
    assert.deepEqual(mergeByTimestamp([]), [])
  })
})
