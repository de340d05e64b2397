import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidArgumentError } from 'commander'
import { parseStartPosition } from './start-position.js'

describe('parseStartPosition', () => {
  it('reads earliest, latest, offsets and ISO-8601 times', () => {
    assert.deepEqual(parseStartPosition('earliest'), { kind: 'earliest' })
    assert.deepEqual(parseStartPosition('latest'), { kind: 'latest' })
    assert.deepEqual(parseStartPosition('0'), { kind: 'offset', offset: 0 })
    assert.deepEqual(parseStartPosition('1234'), { kind: 'offset', offset: 1234 })
    assert.deepEqual(parseStartPosition('2024-05-01'), {
      kind: 'timestamp',
      timestampMs: Date.UTC(2024, 4, 1),
    })
    assert.deepEqual(parseStartPosition('2024-05-01T12:30:00.250Z'), {
      kind: 'timestamp',
      timestampMs: Date.UTC(2024, 4, 1, 12, 30, 0, 250),
    })
    assert.deepEqual(parseStartPosition('2024-05-01T12:30:00+02:00'), {
      kind: 'timestamp',
      timestampMs: Date.UTC(2024, 4, 1, 10, 30),
    })
  })

  it('refuses anything else, as a usage error', () => {
    for (const bad of [
      '',
      'EARLIEST',
      '-1',
      '1.5',
      '1e3',
      '99999999999999999999',
      'yesterday',
      '2024-13-45',
      '05/01/2024',
    ]) {
      assert.throws(() => parseStartPosition(bad), InvalidArgumentError, bad)
    }
  })
})
