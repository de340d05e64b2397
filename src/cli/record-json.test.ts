import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { LogRecord } from '../core/record.js'
import { decodeJsonBytes, recordJson } from './record-json.js'

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

describe('recordJson', () => {
  it('prints UTF-8 as text, other bytes as base64 with an encoding flag, and null as null', () => {
    const r = record(1, 7, 1000, {
      key: Buffer.from('k'),
      value: Buffer.from([0xff, 0xfe]),
      headers: [
        { key: 'h', value: Buffer.from('v') },
        { key: 'h', value: Buffer.from([0x80]) },
        { key: 'n', value: null },
      ],
    })
    const json = recordJson(r)
    assert.deepEqual(json, {
      topic: 't',
      partition: 1,
      offset: 7,
      timestamp: 1000,
      key: 'k',
      value: '//4=',
      valueEncoding: 'base64',
      headers: [
        { key: 'h', value: 'v' },
        { key: 'h', value: 'gA==', valueEncoding: 'base64' },
        { key: 'n', value: null },
      ],
    })
    assert.equal(
      JSON.stringify(recordJson(record(0, 0, 0))),
      '{"topic":"t","partition":0,"offset":0,"timestamp":0,"key":null,"value":null,"headers":[]}',
    )
    assert.deepEqual(decodeJsonBytes(json.value, json.valueEncoding), Buffer.from([0xff, 0xfe]))
    assert.deepEqual(decodeJsonBytes(json.key, json.keyEncoding), Buffer.from('k'))
    assert.equal(decodeJsonBytes(null, undefined), null)
  })
})
