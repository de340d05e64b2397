import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { murmur2, partitionForKey, toPositive } from './murmur2.js'

const bytes = (s: string) => Buffer.from(s, 'utf8')

describe('murmur2', () => {
  it("matches Kafka's Utils.murmur2 on the vectors of Kafka's UtilsTest", () => {
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ]
    for (const [input, expected] of cases) assert.equal(murmur2(bytes(input)), expected, input)
  })

  it('covers every tail length (0 to 3 bytes past a multiple of 4)', () => {
    // Values from Kafka's murmur2, as used to check other ports of it.
    const cases: [string, number][] = [
      ['1', -1993445489],
      ['12', 126087238],
      ['123', -267702483],
      ['1234', -1614185708],
      ['12345', -1188365604],
    ]
    for (const [input, expected] of cases) assert.equal(murmur2(bytes(input)), expected, input)
  })

  it("matches librdkafka's murmur2 vectors (checked there against Java), the empty key included", () => {
    const cases: [string, number][] = [
      ['kafka', 0xd067cf64],
      ['giberish123456789', 0x8f552b0c],
      ['1234', 0x9fc97b14],
      ['234', 0xe7c009ca],
      ['34', 0x873930da],
      ['4', 0x5a4b5ca1],
      ['PreAmbleWillBeRemoved,ThePrePartThatIs', 0x78424f1c],
      ['', 0x106e08d9],
    ]
    for (const [input, expected] of cases) assert.equal(murmur2(bytes(input)), expected | 0, input)
  })

  it('partitions as toPositive(hash) % partitions', () => {
    assert.equal(toPositive(-1), 0x7fffffff)
    assert.equal(toPositive(-(2 ** 31)), 0)
    assert.equal(partitionForKey(bytes('foobar'), 3), toPositive(-790332482) % 3)
    for (const key of ['a', 'b', 'user-42']) {
      const p = partitionForKey(bytes(key), 7)
      assert.ok(p >= 0 && p < 7)
      assert.equal(partitionForKey(bytes(key), 7), p)
    }
  })
})
