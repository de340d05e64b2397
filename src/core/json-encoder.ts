// JSON.stringify into UTF-8 bytes, with a fast path for the flat objects a stream emits record
// after record (the decoder's counterpart, core/json-decoder.ts).
//
// A sink's JSON.stringify then buf.write costs ~400–600 ns for a 60-byte object here: the text is
// built as a string, then converted to UTF-8 through a native call. For a shape it has seen, the
// fast path writes the bytes itself: each key's `,"key":` prefix copied, integers as digits, other
// numbers through String(x), ASCII strings char by char (measured: 626 → 335 ns a record, in a
// slow phase of this machine).
//
// It must give exactly JSON.stringify's bytes, or give up: objects with other keys or another key
// order, a toJSON method, nested values, strings needing escapes or not ASCII, undefined,
// functions, symbols, bigints: all go to JSON.stringify. Tests compare the two on generated input.

import { flatShapeKeys, ShapeCache } from './json-shapes.js'

const QUOTE = 0x22
const MINUS = 0x2d
const DOT = 0x2e
const ZERO = 0x30
const CLOSE = 0x7d
const NULL = Buffer.from('null')
const TRUE = Buffer.from('true')
const FALSE = Buffer.from('false')

/** Writes one object of its shape; false when the object is not of it (nothing usable written). */
type ShapeWriter = (value: object, encoder: JsonEncoder) => boolean

interface Shape {
  readonly id: string
  readonly write: ShapeWriter
}

export class JsonEncoder {
  private buf = Buffer.allocUnsafe(4096)
  /**
   * Views of `buf` by length, made once each: the view `encode` returns is good only until the
   * next call anyway, and a new one per record was an allocation per record.
   */
  private views: Buffer[] = []
  private pos = 0
  private readonly cache = new ShapeCache<Shape>((id, keys) => ({ id, write: compileWriter(keys) }))
  /** Values the fast path encoded (tests check it is taken). */
  fastEncodes = 0

  /**
   * The JSON bytes of `value` when it is a number, or a flat object of a shape seen before: a
   * view of this encoder's buffer, valid until its next call. null means "use JSON.stringify" (the value is
   * then looked at as a shape to learn).
   */
  encode(value: unknown): Buffer | null {
    // A number alone (an aggregate store's count or sum) needs no shape: always the fast path.
    if (typeof value === 'number') {
      this.pos = 0
      this.number(value)
      return this.written()
    }
    if (this.cache.resting()) return null
    if (typeof value === 'object' && value !== null) {
      for (const shape of this.cache.shapes) {
        this.pos = 0
        if (shape.write(value, this)) {
          this.cache.hit()
          this.fastEncodes++
          return this.written()
        }
      }
    }
    this.cache.missed(flatShapeKeys(value, true))
    return null
  }

  /** The bytes written since `pos` was 0, as a view of `buf`. */
  private written(): Buffer {
    const length = this.pos
    let view = this.views[length]
    if (view === undefined) {
      view = this.buf.subarray(0, length)
      this.views[length] = view
    }
    return view
  }

  // ---- for the compiled shape writers --------------------------------------------------------

  /** Copies `bytes` (a key prefix, a literal). */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length)
    const buf = this.buf
    const pos = this.pos
    for (let i = 0; i < bytes.length; i++) buf[pos + i] = bytes[i]!
    this.pos = pos + bytes.length
  }

  /** Writes a flat value as JSON.stringify would; false for anything else. */
  value(x: unknown): boolean {
    if (typeof x === 'number') return this.number(x)
    if (typeof x === 'string') return this.string(x)
    if (x === null) this.raw(NULL)
    else if (x === true) this.raw(TRUE)
    else if (x === false) this.raw(FALSE)
    else return false
    return true
  }

  end(): void {
    this.ensure(1)
    this.buf[this.pos++] = CLOSE
  }

  private number(x: number): boolean {
    if (x >= -2147483648 && x <= 2147483647 && (x | 0) === x) {
      // An int32 (−0 included, which JSON.stringify writes as 0): its digits.
      this.ensure(11)
      const buf = this.buf
      let pos = this.pos
      let n = x
      if (n < 0) {
        buf[pos++] = MINUS
        n = -n
      }
      let digits = 1
      for (let t = n; t >= 10; t = (t / 10) | 0) digits++
      for (let i = pos + digits - 1; i >= pos; i--) {
        const q = (n / 10) | 0
        buf[i] = ZERO + (n - q * 10)
        n = q
      }
      this.pos = pos + digits
      return true
    }
    // Amounts with cents: when m / 100 is exactly x (m an integer), no decimal with fewer digits
    // is x (doubles this small are far closer than 0.01 apart), so String(x) is m's digits with
    // a point before the last two and trailing zeros dropped; writing them skips the ~80 ns
    // shortest-digits search.
    const m = Math.round(x * 100)
    if (m >= -2147483647 && m <= 2147483647 && m / 100 === x) {
      this.cents(m)
      return true
    }
    if (!Number.isFinite(x)) {
      this.raw(NULL)
      return true
    }
    // JSON.stringify writes a finite number as String(x) does (ASCII digits, '.', 'e', '+', '-').
    const s = String(x)
    this.ensure(s.length)
    const buf = this.buf
    const pos = this.pos
    for (let i = 0; i < s.length; i++) buf[pos + i] = s.charCodeAt(i)
    this.pos = pos + s.length
    return true
  }

  /** Writes m / 100 for an integer m that is not a multiple of 100. */
  private cents(m: number): void {
    this.ensure(14)
    const buf = this.buf
    let pos = this.pos
    if (m < 0) {
      buf[pos++] = MINUS
      m = -m
    }
    const whole = (m / 100) | 0
    const fraction = m - whole * 100
    let digits = 1
    for (let t = whole; t >= 10; t = (t / 10) | 0) digits++
    let n = whole
    for (let i = pos + digits - 1; i >= pos; i--) {
      const q = (n / 10) | 0
      buf[i] = ZERO + (n - q * 10)
      n = q
    }
    pos += digits
    buf[pos++] = DOT
    const tenths = (fraction / 10) | 0
    const hundredths = fraction - tenths * 10
    buf[pos++] = ZERO + tenths
    if (hundredths !== 0) buf[pos++] = ZERO + hundredths
    this.pos = pos
  }

  private string(s: string): boolean {
    const n = s.length
    this.ensure(n + 2)
    const buf = this.buf
    let pos = this.pos
    buf[pos++] = QUOTE
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i)
      // Escapes and non-ASCII text (UTF-8, lone surrogates): JSON.stringify's.
      if (c < 0x20 || c === QUOTE || c === 0x5c || c >= 0x80) return false
      buf[pos + i] = c
    }
    pos += n
    buf[pos++] = QUOTE
    this.pos = pos
    return true
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.pos + bytes, this.buf.length * 2))
    this.buf.copy(grown, 0, 0, this.pos)
    this.buf = grown
    this.views = []
  }
}

/**
 * A writer for objects with exactly `keys`, in that order: for…in lists the keys (own and
 * inherited enumerable ones, as JSON.stringify's would be if the object had no toJSON), and each
 * value is read by name, so V8 sees one hidden class at every read.
 */
function compileWriter(keys: readonly string[]): ShapeWriter {
  const prefixes = keys.map((k, i) => Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(k)}:`))
  const reads = keys
    .map((k, i) => `e.raw(P[${i}]); if (!e.value(v[${JSON.stringify(k)}])) return false;`)
    .join('\n')
  const body = `return function (v, e) {
    let n = 0
    for (const k in v) if (k !== K[n++]) return false
    if (n !== ${keys.length} || v.toJSON !== undefined) return false
    ${reads}
    e.end()
    return true
  }`
  return new Function('K', 'P', body)(keys, prefixes) as ShapeWriter
}
