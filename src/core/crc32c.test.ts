import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { crc32c, crc32cPortable } from './crc32c.js'

/** Bit-at-a-time CRC-32C: slow and obviously right, the reference for the table-driven one. */
function crc32cReference(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0
  for (const byte of bytes) {
    c ^= byte
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  }
  return ~c >>> 0
}

describe('crc32c', () => {
  it('matches the known check vectors', () => {
    assert.equal(crc32c(Buffer.from('123456789', 'ascii')), 0xe3069283)
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa)
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43)
    assert.equal(crc32c(new Uint8Array(0)), 0)
  })

  it('the reference implementation matches the same vectors', () => {
    assert.equal(crc32cReference(Buffer.from('123456789', 'ascii')), 0xe3069283)
    assert.equal(crc32cReference(new Uint8Array(32)), 0x8a9136aa)
    assert.equal(crc32cReference(new Uint8Array(32).fill(0xff)), 0x62a8ab43)
  })

  it('covers only bytes[start, end)', () => {
    const bytes = Buffer.from('xx123456789yyy', 'ascii')
    assert.equal(crc32c(bytes, 2, 11), 0xe3069283)
  })

  it('chains: crc of the second half continued from the first equals the crc of the whole', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (bytes, cut) => {
        const mid = bytes.length === 0 ? 0 : cut % (bytes.length + 1)
        const whole = crc32c(bytes)
        const first = crc32c(bytes, 0, mid)
        assert.equal(crc32c(bytes, mid, bytes.length, first), whole)
        assert.equal(crc32c(bytes.subarray(mid), 0, bytes.length - mid, first), whole)
      }),
    )
  })

  it('equals the bitwise reference on any bytes and any sub-range', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffffffff }),
        (bytes, a, b, seed) => {
          const start = a % (bytes.length + 1)
          const end = start + (b % (bytes.length - start + 1))
          assert.equal(crc32c(bytes, start, end, seed), crc32cReference(bytes.subarray(start, end), seed))
        },
      ),
    )
  })
})

describe('crc32c native and portable implementations', () => {
  it('agree on random inputs, ranges and chaining', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const buf = Buffer.from(bytes)
        const start = bytes.length === 0 ? 0 : a % bytes.length
        const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1))
        assert.equal(crc32c(buf, start, end), crc32cPortable(buf, start, end))
        const mid = (start + end) >>> 1
        assert.equal(crc32c(buf, mid, end, crc32c(buf, start, mid)), crc32cPortable(buf, start, end))
      }),
    )
  })
})
