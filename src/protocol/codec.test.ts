import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { Reader, STRING_BYTES_MAX, Writer } from './codec.js'
import { ProtocolError } from './protocol-error.js'

function bytesOf(write: (w: Writer) => void): number[] {
  const w = new Writer(16)
  write(w)
  return [...w.finish()]
}

function reader(bytes: number[]): Reader {
  return new Reader(Buffer.from(bytes))
}

function assertProtocolError(fn: () => unknown, pattern: RegExp): ProtocolError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof ProtocolError, `expected a ProtocolError, got ${String(caught)}`)
  assert.match(caught.message, pattern)
  return caught
}

describe('Writer and Reader', () => {
  it('round-trip every primitive', () => {
    fc.assert(
      fc.property(
        fc.record({
          i8: fc.integer({ min: -128, max: 127 }),
          i16: fc.integer({ min: -32768, max: 32767 }),
          u16: fc.integer({ min: 0, max: 0xffff }),
          i32: fc.integer(),
          u32: fc.integer({ min: 0, max: 0xffffffff }),
          i64: fc.maxSafeInteger(),
          f64: fc.double(),
          b: fc.boolean(),
          uv: fc.integer({ min: 0, max: 0xffffffff }),
          v: fc.integer(),
          vl: fc.maxSafeInteger(),
          uuid: fc.uuid({ version: 4 }),
          s: fc.string({ unit: 'binary', maxLength: 40 }),
          ns: fc.option(fc.string({ maxLength: 10 }), { nil: null }),
          bytes: fc.uint8Array({ maxLength: 40 }),
          nb: fc.option(fc.uint8Array({ maxLength: 10 }), { nil: null }),
        }),
        (x) => {
          const w = new Writer(8)
          w.int8(x.i8)
            .int16(x.i16)
            .uint16(x.u16)
            .int32(x.i32)
            .uint32(x.u32)
            .int64(x.i64)
            .float64(x.f64)
            .bool(x.b)
          w.uvarint(x.uv).varint(x.v).varlong(x.vl).uuid(x.uuid)
          w.string(x.s).nullableString(x.ns).compactString(x.s).compactNullableString(x.ns)
          w.bytes(x.bytes).nullableBytes(x.nb).compactBytes(x.bytes).compactNullableBytes(x.nb)
          const r = new Reader(Buffer.from(w.finish()))
          assert.equal(r.int8(), x.i8)
          assert.equal(r.int16(), x.i16)
          assert.equal(r.uint16(), x.u16)
          assert.equal(r.int32(), x.i32)
          assert.equal(r.uint32(), x.u32)
          assert.equal(r.int64(), x.i64)
          assert.equal(r.float64(), x.f64)
          assert.equal(r.bool(), x.b)
          assert.equal(r.uvarint(), x.uv)
          assert.equal(r.varint(), x.v)
          assert.equal(r.varlong(), x.vl)
          assert.equal(r.uuid(), x.uuid)
          assert.equal(r.string(), x.s)
          assert.equal(r.nullableString(), x.ns)
          assert.equal(r.compactString(), x.s)
          assert.equal(r.compactNullableString(), x.ns)
          assert.deepEqual(new Uint8Array(r.bytes()), x.bytes)
          const nb = r.nullableBytes()
          assert.deepEqual(nb === null ? null : new Uint8Array(nb), x.nb)
          assert.deepEqual(new Uint8Array(r.compactBytes()), x.bytes)
          const cnb = r.compactNullableBytes()
          assert.deepEqual(cnb === null ? null : new Uint8Array(cnb), x.nb)
          r.expectEnd('test')
        },
      ),
      { numRuns: 300 },
    )
  })

  it('writes unsigned varints, compact lengths and nulls as the spec shows', () => {
    assert.deepEqual(
      bytesOf((w) => w.uvarint(0)),
      [0x00],
    )
    assert.deepEqual(
      bytesOf((w) => w.uvarint(127)),
      [0x7f],
    )
    assert.deepEqual(
      bytesOf((w) => w.uvarint(128)),
      [0x80, 0x01],
    )
    assert.deepEqual(
      bytesOf((w) => w.uvarint(300)),
      [0xac, 0x02],
    )
    assert.deepEqual(
      bytesOf((w) => w.uvarint(0xffffffff)),
      [0xff, 0xff, 0xff, 0xff, 0x0f],
    )
    assert.deepEqual(
      bytesOf((w) => w.compactString('ab')),
      [0x03, 0x61, 0x62],
    )
    assert.deepEqual(
      bytesOf((w) => w.compactNullableString(null)),
      [0x00],
    )
    assert.deepEqual(
      bytesOf((w) => w.nullableString(null)),
      [0xff, 0xff],
    )
    assert.deepEqual(
      bytesOf((w) => w.nullableBytes(null)),
      [0xff, 0xff, 0xff, 0xff],
    )
    assert.deepEqual(
      bytesOf((w) => w.compactArrayLength(null).compactArrayLength(0).compactArrayLength(2)),
      [0x00, 0x01, 0x03],
    )
    assert.deepEqual(
      bytesOf((w) => w.arrayLength(null)),
      [0xff, 0xff, 0xff, 0xff],
    )
    assert.deepEqual(
      bytesOf((w) => w.uuid('0102030405060708090a0b0c0d0e0f10')),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
    )
    assert.equal(
      reader([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]).uuid(),
      '01020304-0506-0708-090a-0b0c0d0e0f10',
    )
  })

  it('writes tagged fields in tag order and reads them back, skipping the unknown', () => {
    const w = new Writer()
    w.taggedFields([
      { tag: 0, data: Buffer.from([0xaa]) },
      { tag: 5, data: Buffer.from([0xbb, 0xcc]) },
    ])
    assert.deepEqual([...w.finish()], [0x02, 0x00, 0x01, 0xaa, 0x05, 0x02, 0xbb, 0xcc])
    const seen: [number, number[]][] = []
    const r = new Reader(Buffer.from(w.finish()))
    r.taggedFields((tag, tr) => {
      if (tag !== 5) return false
      seen.push([tag, [...tr.take(tr.remaining)]])
      return true
    })
    assert.deepEqual(seen, [[5, [0xbb, 0xcc]]])
    r.expectEnd('tags')
    assertProtocolError(
      () =>
        new Writer().taggedFields([
          { tag: 3, data: Buffer.alloc(0) },
          { tag: 3, data: Buffer.alloc(0) },
        ]),
      /out of order or repeated/,
    )
  })

  it('grows past its initial size and patches reserved sizes', () => {
    const w = new Writer(16)
    const at = w.reserveInt32()
    for (let i = 0; i < 1000; i++) w.int32(i)
    w.patchInt32(at, w.length - 4)
    const r = new Reader(Buffer.from(w.finish()))
    assert.equal(r.int32(), 4000)
    for (let i = 0; i < 1000; i++) assert.equal(r.int32(), i)
  })

  it('refuses values that do not fit, with a ProtocolError', () => {
    assertProtocolError(() => new Writer().int16(40000), /40000 is not an int16/)
    assertProtocolError(() => new Writer().int32(1.5), /is not an int32/)
    assertProtocolError(() => new Writer().int64(2 ** 64), /is not an int64/)
    assertProtocolError(() => new Writer().uvarint(-1), /unsigned varint/)
    assertProtocolError(() => new Writer().uuid('not-a-uuid'), /is not a UUID/)
    assertProtocolError(() => new Writer().string('x'.repeat(STRING_BYTES_MAX + 1)), /longer than 32767/)
    assert.doesNotThrow(() => new Writer().compactString('é'.repeat(STRING_BYTES_MAX / 2)))
  })

  it('fails on truncated input with the offset, never a RangeError', () => {
    const e = assertProtocolError(() => {
      const r = reader([0, 0, 0, 1, 0, 0])
      r.int32()
      r.int32()
    }, /int32 needs 4 bytes, 2 left/)
    assert.equal(e.offset, 4)
    assertProtocolError(() => reader([0x80, 0x80]).uvarint(), /runs past the end/)
    assertProtocolError(() => reader([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).uvarint(), /longer than 5 bytes/)
    assertProtocolError(() => reader([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).varint(), /malformed varint/)
    assertProtocolError(() => reader([0x80]).varlong(), /malformed varlong/)
    assertProtocolError(() => reader([0x00, 0x05, 0x61]).string(), /string of 5 bytes runs past the end/)
    assertProtocolError(() => reader([0xff, 0xfe]).nullableString(), /length -2 is negative/)
    assertProtocolError(() => reader([0xff, 0xff]).string(), /null where a string is required/)
    assertProtocolError(() => reader([0x00]).compactString(), /null where a string is required/)
    assertProtocolError(() => reader([0x7f, 0xff, 0xff, 0xff]).bytes(), /2147483647 bytes run past the end/)
    assertProtocolError(() => reader([0x10]).compactBytes(), /15 bytes run past the end/)
    assertProtocolError(() => reader([0x02, 0x00]).taggedFields(() => false), /cannot fit/)
    assertProtocolError(
      () => reader([0x01, 0x00, 0x05, 0x00]).taggedFields(() => false),
      /tagged field 0 needs 5 bytes/,
    )
    assertProtocolError(() => reader([0x00, 0x01]).expectEnd('body'), /2 unexpected bytes after the body/)
  })

  it('bounds array counts by the bytes left before allocating anything', () => {
    assertProtocolError(
      () => reader([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]).arrayLength(4),
      /array of 2147483647 elements needs at least 8589934588 bytes, 4 left/,
    )
    assertProtocolError(() => reader([0xff, 0xff, 0xff, 0xff, 0x0f]).compactArrayLength(1), /is over int32/)
    assertProtocolError(() => reader([0x00, 0x00, 0x00, 0x03, 0, 0]).arrayLength(0), /3 elements/)
    assertProtocolError(() => reader([0xff, 0xff, 0xff, 0xfe]).arrayLength(1), /count -2 is negative/)
    assert.equal(reader([0xff, 0xff, 0xff, 0xff]).arrayLength(4), -1)
    assert.equal(reader([0x00]).compactArrayLength(4), -1)
    assert.equal(reader([0x03, 0, 0]).compactArrayLength(1), 2)
  })

  it('reads only inside its range', () => {
    const buf = Buffer.from([0, 0, 0, 7, 0, 0, 0, 9])
    const r = new Reader(buf, 0, 4)
    assert.equal(r.int32(), 7)
    assertProtocolError(() => r.int32(), /int32 needs 4 bytes, 0 left/)
    assertProtocolError(() => new Reader(buf, 2, 9), /outside a buffer of 8 bytes/)
    const sub = new Reader(buf).sub(4)
    assert.equal(sub.end, 4)
  })
})
