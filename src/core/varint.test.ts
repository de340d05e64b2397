import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { VarintReader, varintSize, varlongSize, writeVarint, writeVarlong } from './varint.js'

const INT32_MIN = -(2 ** 31)
const INT32_MAX = 2 ** 31 - 1
const LONG_BOUNDARIES = [
  0,
  1,
  -1,
  63,
  -64,
  64,
  -65,
  2 ** 30 - 1,
  -(2 ** 30),
  2 ** 30,
  -(2 ** 30) - 1,
  INT32_MAX,
  INT32_MIN,
  2 ** 31,
  INT32_MIN - 1,
  2 ** 32,
  -(2 ** 32),
  2 ** 52,
  -(2 ** 52),
  Number.MAX_SAFE_INTEGER - 1,
  Number.MAX_SAFE_INTEGER,
]

function encodeVarint(value: number): Uint8Array {
  const buf = new Uint8Array(10)
  return buf.subarray(0, writeVarint(buf, 0, value))
}

function encodeVarlong(value: number): Uint8Array {
  const buf = new Uint8Array(10)
  return buf.subarray(0, writeVarlong(buf, 0, value))
}

function assertVarlongRoundTrip(value: number): void {
  const buf = new Uint8Array(13).fill(0xaa)
  const end = writeVarlong(buf, 3, value)
  assert.equal(end - 3, varlongSize(value), `size of ${value}`)
  const reader = new VarintReader(buf, 3)
  assert.equal(reader.varlong(), value, `round trip of ${value}`)
  assert.equal(reader.pos, end)
}

describe('varint (zig-zag, 32-bit)', () => {
  it('encodes known values as in the protobuf / Kafka spec', () => {
    assert.deepEqual([...encodeVarint(0)], [0x00])
    assert.deepEqual([...encodeVarint(-1)], [0x01])
    assert.deepEqual([...encodeVarint(1)], [0x02])
    assert.deepEqual([...encodeVarint(63)], [0x7e])
    assert.deepEqual([...encodeVarint(-64)], [0x7f])
    assert.deepEqual([...encodeVarint(64)], [0x80, 0x01])
    assert.deepEqual([...encodeVarint(150)], [0xac, 0x02])
    assert.deepEqual([...encodeVarint(INT32_MAX)], [0xfe, 0xff, 0xff, 0xff, 0x0f])
    assert.deepEqual([...encodeVarint(INT32_MIN)], [0xff, 0xff, 0xff, 0xff, 0x0f])
  })

  it('round-trips every int32, and its size is the bytes written', () => {
    fc.assert(
      fc.property(fc.integer({ min: INT32_MIN, max: INT32_MAX }), fc.nat(8), (value, at) => {
        const buf = new Uint8Array(at + 5)
        const end = writeVarint(buf, at, value)
        assert.equal(end - at, varintSize(value))
        const reader = new VarintReader(buf, at)
        assert.equal(reader.varint(), value)
        assert.equal(reader.pos, end)
      }),
    )
  })

  it('reads a sequence of values back in order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: INT32_MIN, max: INT32_MAX }), { maxLength: 50 }), (values) => {
        const buf = new Uint8Array(values.length * 5)
        let pos = 0
        for (const v of values) pos = writeVarint(buf, pos, v)
        const reader = new VarintReader(buf.subarray(0, pos), 0)
        assert.deepEqual(
          values.map(() => reader.varint()),
          values,
        )
        assert.equal(reader.pos, pos)
      }),
    )
  })

  it('throws RangeError on an empty or truncated varint, without moving pos', () => {
    fc.assert(
      fc.property(fc.integer({ min: INT32_MIN, max: INT32_MAX }), fc.nat(), (value, cut) => {
        const bytes = encodeVarint(value)
        const truncated = bytes.subarray(0, cut % bytes.length)
        const reader = new VarintReader(truncated, 0)
        assert.throws(() => reader.varint(), RangeError)
        assert.equal(reader.pos, 0)
      }),
    )
  })

  it('throws RangeError on a varint longer than 5 bytes', () => {
    const reader = new VarintReader(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x00), 0)
    assert.throws(() => reader.varint(), RangeError)
    assert.equal(reader.pos, 0)
    assert.throws(() => new VarintReader(new Uint8Array(16).fill(0xff), 0).varint(), RangeError)
  })
})

describe('varlong (zig-zag, 64-bit as a JS number)', () => {
  it('encodes like a varint in the int32 range', () => {
    fc.assert(
      fc.property(fc.integer({ min: INT32_MIN, max: INT32_MAX }), (value) => {
        assert.deepEqual(encodeVarlong(value), encodeVarint(value))
        assert.equal(varlongSize(value), varintSize(value))
      }),
    )
  })

  it('encodes known 64-bit values', () => {
    assert.deepEqual([...encodeVarlong(2 ** 31)], [0x80, 0x80, 0x80, 0x80, 0x10])
    assert.deepEqual([...encodeVarlong(INT32_MIN - 1)], [0x81, 0x80, 0x80, 0x80, 0x10])
    // zig-zag(2^53 - 1) = 2^54 - 2: eight 7-bit groups.
    assert.deepEqual(
      [...encodeVarlong(Number.MAX_SAFE_INTEGER)],
      [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f],
    )
  })

  it('round-trips the boundary values, size equal to bytes written', () => {
    for (const v of LONG_BOUNDARIES) assertVarlongRoundTrip(v)
  })

  it('round-trips integers in [-(2^52), 2^53 - 1]', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 52), max: Number.MAX_SAFE_INTEGER }), assertVarlongRoundTrip),
    )
  })
  it('round-trips every safe integer in [-(2^53 - 1), 2^53 - 1]', () => {
    for (const v of [-(2 ** 52) - 1, Number.MIN_SAFE_INTEGER + 1, Number.MIN_SAFE_INTEGER]) {
      assertVarlongRoundTrip(v)
    }
    fc.assert(fc.property(fc.maxSafeInteger(), assertVarlongRoundTrip))
  })

  it('reads back what writeVarint wrote', () => {
    fc.assert(
      fc.property(fc.integer({ min: INT32_MIN, max: INT32_MAX }), (value) => {
        assert.equal(new VarintReader(encodeVarint(value), 0).varlong(), value)
      }),
    )
  })

  it('throws RangeError on an empty or truncated varlong, without moving pos', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 52), max: Number.MAX_SAFE_INTEGER }), fc.nat(), (value, cut) => {
        const bytes = encodeVarlong(value)
        const reader = new VarintReader(bytes.subarray(0, cut % bytes.length), 0)
        assert.throws(() => reader.varlong(), RangeError)
        assert.equal(reader.pos, 0)
      }),
    )
  })

  it('throws RangeError on a varlong longer than 10 bytes', () => {
    const bytes = new Uint8Array(11).fill(0x80)
    bytes[10] = 0x00
    const reader = new VarintReader(bytes, 0)
    assert.throws(() => reader.varlong(), RangeError)
    assert.equal(reader.pos, 0)
  })
})
