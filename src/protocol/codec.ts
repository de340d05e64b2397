// The Kafka wire primitives: a growable Writer and a bounds-checked Reader.
//
// The Reader never trusts a length: every count and size is checked against the bytes that remain
// BEFORE anything is allocated, and every failure is a ProtocolError with the byte offset, never a
// RangeError. Kafka's types: https://kafka.apache.org/protocol#protocol_types

import { readInt64, writeInt64 } from '../core/int64.js'
import { VarintReader, varintSize, varlongSize, writeVarint, writeVarlong } from '../core/varint.js'
import { ProtocolError } from './protocol-error.js'

/** Longest string Kafka accepts, classic or compact (its generated code checks 0x7fff too). */
export const STRING_BYTES_MAX = 0x7fff
export const UUID_ZERO = '00000000-0000-0000-0000-000000000000'

const INT64_LIMIT = 2 ** 63
const UINT32_MAX = 0xffffffff
const UUID_DASHED = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/
const UUID_PLAIN = /^[0-9a-fA-F]{32}$/

/** One entry of a tagged-fields section, already encoded. */
export interface RawTaggedField {
  readonly tag: number
  readonly data: Uint8Array
}

export class Writer {
  private buf: Buffer
  private pos = 0

  constructor(initialBytes = 512) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialBytes))
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos
  }

  /** The bytes written, as a view (valid until the next write). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos)
  }

  private ensure(n: number): void {
    const needed = this.pos + n
    if (needed <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < needed) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  private fail(reason: string): never {
    throw new ProtocolError(`cannot encode: ${reason}`, this.pos)
  }

  private checkInt(v: number, min: number, max: number, type: string): void {
    if (!Number.isInteger(v) || v < min || v > max) this.fail(`${v} is not an ${type}`)
  }

  int8(v: number): this {
    this.checkInt(v, -0x80, 0x7f, 'int8')
    this.ensure(1)
    this.buf.writeInt8(v, this.pos)
    this.pos += 1
    return this
  }

  int16(v: number): this {
    this.checkInt(v, -0x8000, 0x7fff, 'int16')
    this.ensure(2)
    this.buf.writeInt16BE(v, this.pos)
    this.pos += 2
    return this
  }

  uint16(v: number): this {
    this.checkInt(v, 0, 0xffff, 'uint16')
    this.ensure(2)
    this.buf.writeUInt16BE(v, this.pos)
    this.pos += 2
    return this
  }

  int32(v: number): this {
    this.checkInt(v, -0x80000000, 0x7fffffff, 'int32')
    this.ensure(4)
    this.buf.writeInt32BE(v, this.pos)
    this.pos += 4
    return this
  }

  uint32(v: number): this {
    this.checkInt(v, 0, UINT32_MAX, 'uint32')
    this.ensure(4)
    this.buf.writeUInt32BE(v, this.pos)
    this.pos += 4
    return this
  }

  /** int64 as a JS number: exact up to 2^53 (see core/int64.ts). */
  int64(v: number): this {
    if (!Number.isInteger(v) || v < -INT64_LIMIT || v >= INT64_LIMIT) this.fail(`${v} is not an int64`)
    this.ensure(8)
    writeInt64(this.buf, this.pos, v)
    this.pos += 8
    return this
  }

  float64(v: number): this {
    if (typeof v !== 'number') this.fail(`${String(v)} is not a float64`)
    this.ensure(8)
    this.buf.writeDoubleBE(v, this.pos)
    this.pos += 8
    return this
  }

  bool(v: boolean): this {
    if (typeof v !== 'boolean') this.fail(`${String(v)} is not a boolean`)
    this.ensure(1)
    this.buf[this.pos++] = v ? 1 : 0
    return this
  }

  /** Unsigned varint (Kafka's compact lengths and tags): 0 ≤ v ≤ 2^32 − 1. */
  uvarint(v: number): this {
    this.checkInt(v, 0, UINT32_MAX, 'unsigned varint')
    this.ensure(5)
    let rest = v
    while (rest >= 0x80) {
      this.buf[this.pos++] = (rest % 0x80) | 0x80
      rest = Math.floor(rest / 0x80)
    }
    this.buf[this.pos++] = rest
    return this
  }

  /** Signed zig-zag varint (int32 range). */
  varint(v: number): this {
    this.checkInt(v, -0x80000000, 0x7fffffff, 'int32 varint')
    this.ensure(varintSize(v))
    this.pos = writeVarint(this.buf, this.pos, v)
    return this
  }

  /** Signed zig-zag varlong (exact up to 2^53). */
  varlong(v: number): this {
    if (!Number.isSafeInteger(v)) this.fail(`${v} is not a safe integer varlong`)
    this.ensure(varlongSize(v))
    this.pos = writeVarlong(this.buf, this.pos, v)
    return this
  }

  /** A UUID from 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx', 32 hex digits, or 16 bytes. */
  uuid(v: string | Uint8Array): this {
    this.ensure(16)
    if (typeof v === 'string') {
      const hex = UUID_DASHED.test(v) ? v.replaceAll('-', '') : UUID_PLAIN.test(v) ? v : null
      if (hex === null) this.fail(`'${v}' is not a UUID`)
      this.buf.write(hex, this.pos, 16, 'hex')
    } else {
      if (v.length !== 16) this.fail(`a UUID needs 16 bytes, got ${v.length}`)
      this.buf.set(v, this.pos)
    }
    this.pos += 16
    return this
  }

  private utf8Length(v: string): number {
    if (typeof v !== 'string') this.fail(`${String(v)} is not a string`)
    const n = Buffer.byteLength(v, 'utf8')
    if (n > STRING_BYTES_MAX) this.fail(`a string of ${n} bytes is longer than ${STRING_BYTES_MAX}`)
    return n
  }

  private utf8(v: string, n: number): void {
    this.ensure(n)
    this.pos += this.buf.write(v, this.pos, n, 'utf8')
  }

  /** STRING: int16 length + UTF-8. */
  string(v: string): this {
    const n = this.utf8Length(v)
    this.int16(n)
    this.utf8(v, n)
    return this
  }

  /** NULLABLE_STRING: int16 length (−1 for null) + UTF-8. */
  nullableString(v: string | null): this {
    return v === null ? this.int16(-1) : this.string(v)
  }

  /** COMPACT_STRING: unsigned varint length + 1, then UTF-8. */
  compactString(v: string): this {
    const n = this.utf8Length(v)
    this.uvarint(n + 1)
    this.utf8(v, n)
    return this
  }

  /** COMPACT_NULLABLE_STRING: 0 for null. */
  compactNullableString(v: string | null): this {
    return v === null ? this.uvarint(0) : this.compactString(v)
  }

  private checkBytes(v: Uint8Array): void {
    if (!(v instanceof Uint8Array)) this.fail(`${String(v)} is not a Buffer`)
  }

  /** BYTES: int32 length + bytes. */
  bytes(v: Uint8Array): this {
    this.checkBytes(v)
    this.int32(v.length)
    return this.raw(v)
  }

  nullableBytes(v: Uint8Array | null): this {
    return v === null ? this.int32(-1) : this.bytes(v)
  }

  /** COMPACT_BYTES: unsigned varint length + 1, then bytes. */
  compactBytes(v: Uint8Array): this {
    this.checkBytes(v)
    this.uvarint(v.length + 1)
    return this.raw(v)
  }

  compactNullableBytes(v: Uint8Array | null): this {
    return v === null ? this.uvarint(0) : this.compactBytes(v)
  }

  /** ARRAY length: int32 count, −1 for null. */
  arrayLength(count: number | null): this {
    return this.int32(count === null ? -1 : count)
  }

  /** COMPACT_ARRAY length: unsigned varint count + 1, 0 for null. */
  compactArrayLength(count: number | null): this {
    return this.uvarint(count === null ? 0 : count + 1)
  }

  /** Bytes as they are, no length. */
  raw(v: Uint8Array): this {
    this.ensure(v.length)
    this.buf.set(v, this.pos)
    this.pos += v.length
    return this
  }

  /** A tagged-fields section; tags must be strictly increasing. */
  taggedFields(fields: readonly RawTaggedField[]): this {
    this.uvarint(fields.length)
    let last = -1
    for (const f of fields) {
      if (f.tag <= last) this.fail(`tagged field ${f.tag} is out of order or repeated`)
      last = f.tag
      this.uvarint(f.tag)
      this.uvarint(f.data.length)
      this.raw(f.data)
    }
    return this
  }

  /** An empty tagged-fields section (one zero byte). */
  emptyTaggedFields(): this {
    return this.uvarint(0)
  }

  /** Reserves an int32 to fill in later (a frame's size); returns its position. */
  reserveInt32(): number {
    this.ensure(4)
    const at = this.pos
    this.pos += 4
    return at
  }

  patchInt32(at: number, v: number): void {
    if (at < 0 || at + 4 > this.pos) this.fail(`no reserved int32 at ${at}`)
    this.checkInt(v, -0x80000000, 0x7fffffff, 'int32')
    this.buf.writeInt32BE(v, at)
  }
}

export class Reader {
  readonly buf: Buffer
  pos: number
  readonly end: number

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    if (pos < 0 || end > buf.length || pos > end) {
      throw new ProtocolError(`reader range ${pos}..${end} is outside a buffer of ${buf.length} bytes`, pos)
    }
    this.buf = buf
    this.pos = pos
    this.end = end
  }

  get remaining(): number {
    return this.end - this.pos
  }

  fail(reason: string, at = this.pos): never {
    throw new ProtocolError(reason, at)
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) this.fail(`${what} needs ${n} bytes, ${this.end - this.pos} left`)
  }

  int8(): number {
    this.need(1, 'int8')
    return this.buf.readInt8(this.pos++)
  }

  int16(): number {
    this.need(2, 'int16')
    const v = this.buf.readInt16BE(this.pos)
    this.pos += 2
    return v
  }

  uint16(): number {
    this.need(2, 'uint16')
    const v = this.buf.readUInt16BE(this.pos)
    this.pos += 2
    return v
  }

  int32(): number {
    this.need(4, 'int32')
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }

  uint32(): number {
    this.need(4, 'uint32')
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }

  int64(): number {
    this.need(8, 'int64')
    const v = readInt64(this.buf, this.pos)
    this.pos += 8
    return v
  }

  float64(): number {
    this.need(8, 'float64')
    const v = this.buf.readDoubleBE(this.pos)
    this.pos += 8
    return v
  }

  /** Any non-zero byte is true, as in Kafka. */
  bool(): boolean {
    this.need(1, 'boolean')
    return this.buf[this.pos++] !== 0
  }

  /** A UUID as lowercase 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx' (the form crypto.randomUUID() makes). */
  uuid(): string {
    this.need(16, 'uuid')
    const h = this.buf.toString('hex', this.pos, this.pos + 16)
    this.pos += 16
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  }

  /** Unsigned varint of at most 5 bytes (Kafka's limit), so at most 2^35 − 1. */
  uvarint(): number {
    const start = this.pos
    let value = 0
    let factor = 1
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) this.fail('unsigned varint runs past the end', start)
      const b = this.buf[this.pos++]!
      value += (b & 0x7f) * factor
      if (b < 0x80) return value
      factor *= 0x80
    }
    return this.fail('unsigned varint is longer than 5 bytes', start)
  }

  /** Signed zig-zag varint (int32). */
  varint(): number {
    return this.zigzag((r) => r.varint(), 'varint')
  }

  /** Signed zig-zag varlong (exact up to 2^53). */
  varlong(): number {
    return this.zigzag((r) => r.varlong(), 'varlong')
  }

  private zigzag(read: (r: VarintReader) => number, what: string): number {
    const r = new VarintReader(this.buf.subarray(0, this.end), this.pos)
    try {
      const v = read(r)
      this.pos = r.pos
      return v
    } catch (err) {
      if (err instanceof RangeError) this.fail(`malformed ${what}: ${err.message}`)
      throw err
    }
  }

  /** n bytes as a view into the buffer (no copy). */
  take(n: number, what = 'bytes'): Buffer {
    this.need(n, what)
    const v = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return v
  }

  skip(n: number, what = 'bytes'): void {
    this.need(n, what)
    this.pos += n
  }

  /** A reader over the next n bytes, which this reader skips. */
  sub(n: number, what = 'field'): Reader {
    this.need(n, what)
    const r = new Reader(this.buf, this.pos, this.pos + n)
    this.pos += n
    return r
  }

  private utf8(n: number, start: number): string {
    if (n > STRING_BYTES_MAX) this.fail(`string length ${n} is over ${STRING_BYTES_MAX}`, start)
    if (n > this.end - this.pos)
      this.fail(`string of ${n} bytes runs past the end (${this.end - this.pos} left)`, start)
    const v = this.buf.toString('utf8', this.pos, this.pos + n)
    this.pos += n
    return v
  }

  nullableString(): string | null {
    const start = this.pos
    const n = this.int16()
    if (n === -1) return null
    if (n < -1) this.fail(`string length ${n} is negative`, start)
    return this.utf8(n, start)
  }

  string(): string {
    const start = this.pos
    const v = this.nullableString()
    if (v === null) this.fail('null where a string is required', start)
    return v
  }

  compactNullableString(): string | null {
    const start = this.pos
    const n = this.uvarint()
    if (n === 0) return null
    return this.utf8(n - 1, start)
  }

  compactString(): string {
    const start = this.pos
    const v = this.compactNullableString()
    if (v === null) this.fail('null where a string is required', start)
    return v
  }

  private byteRun(n: number, start: number): Buffer {
    if (n > this.end - this.pos) this.fail(`${n} bytes run past the end (${this.end - this.pos} left)`, start)
    return this.take(n)
  }

  /** NULLABLE_BYTES as a view into the buffer; copy it to keep it past the frame's life. */
  nullableBytes(): Buffer | null {
    const start = this.pos
    const n = this.int32()
    if (n === -1) return null
    if (n < -1) this.fail(`bytes length ${n} is negative`, start)
    return this.byteRun(n, start)
  }

  bytes(): Buffer {
    const start = this.pos
    const v = this.nullableBytes()
    if (v === null) this.fail('null where bytes are required', start)
    return v
  }

  compactNullableBytes(): Buffer | null {
    const start = this.pos
    const n = this.uvarint()
    if (n === 0) return null
    return this.byteRun(n - 1, start)
  }

  compactBytes(): Buffer {
    const start = this.pos
    const v = this.compactNullableBytes()
    if (v === null) this.fail('null where bytes are required', start)
    return v
  }

  private checkCount(count: number, minElementBytes: number, start: number): number {
    if (count > 0x7fffffff) this.fail(`array count ${count} is over int32`, start)
    // A count can never promise more elements than the remaining bytes could hold, so a hostile
    // length cannot make us allocate. Elements of zero bytes are still bounded by the bytes left.
    const left = this.end - this.pos
    if (count * Math.max(1, minElementBytes) > left) {
      this.fail(
        `array of ${count} elements needs at least ${count * minElementBytes} bytes, ${left} left`,
        start,
      )
    }
    return count
  }

  /** ARRAY count (int32), −1 for null. `minElementBytes` bounds the count by the bytes left. */
  arrayLength(minElementBytes: number): number {
    const start = this.pos
    const n = this.int32()
    if (n === -1) return -1
    if (n < -1) this.fail(`array count ${n} is negative`, start)
    return this.checkCount(n, minElementBytes, start)
  }

  /** COMPACT_ARRAY count (unsigned varint − 1), −1 for null. */
  compactArrayLength(minElementBytes: number): number {
    const start = this.pos
    const n = this.uvarint()
    if (n === 0) return -1
    return this.checkCount(n - 1, minElementBytes, start)
  }

  /**
   * Reads a tagged-fields section. `onField` gets each known tag with a reader over exactly its
   * bytes and must consume them all; unknown tags (onField returns false) are skipped.
   */
  taggedFields(onField: (tag: number, r: Reader) => boolean): void {
    const start = this.pos
    const count = this.uvarint()
    if (count * 2 > this.end - this.pos)
      this.fail(`${count} tagged fields cannot fit in ${this.end - this.pos} bytes`, start)
    for (let i = 0; i < count; i++) {
      const tagAt = this.pos
      const tag = this.uvarint()
      const size = this.uvarint()
      const r = this.sub(size, `tagged field ${tag}`)
      if (onField(tag, r) && r.pos !== r.end) {
        r.fail(`tagged field ${tag} has ${r.end - r.pos} unread bytes of ${size}`, tagAt)
      }
    }
  }

  /** Skips a tagged-fields section. */
  skipTaggedFields(): void {
    this.taggedFields(() => false)
  }

  expectEnd(what: string): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} unexpected bytes after the ${what}`)
  }
}
