// Zig-zag variable-length integers, as in protobuf and Kafka's record format.
// Values are JS numbers; varlongs are exact up to 2^53.

/** Bytes `value` takes as a zig-zag varint (32-bit signed range). */
export function varintSize(value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0
  let size = 1
  while (v >= 0x80) {
    v >>>= 7
    size++
  }
  return size
}

/** Writes a zig-zag varint; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80
    v >>>= 7
  }
  buf[pos++] = v
  return pos
}

// Beyond 32 bits, zig-zag is done as (m, sign) with m = v or -v-1, so 2m+1 never needs to be
// formed as a float (it would lose its low bit past 2^53).
export function varlongSize(value: number): number {
  if (value >= -0x40000000 && value < 0x40000000) return varintSize(value)
  let rest = Math.floor((value < 0 ? -value - 1 : value) / 64)
  let size = 1
  while (rest > 0) {
    rest = Math.floor(rest / 128)
    size++
  }
  return size
}

export function writeVarlong(buf: Uint8Array, pos: number, value: number): number {
  if (value >= -0x40000000 && value < 0x40000000) return writeVarint(buf, pos, value)
  const sign = value < 0 ? 1 : 0
  const m = sign ? -value - 1 : value
  let rest = Math.floor(m / 64)
  buf[pos++] = (m % 64) * 2 + sign + (rest > 0 ? 0x80 : 0)
  while (rest > 0) {
    const b = rest % 128
    rest = Math.floor(rest / 128)
    buf[pos++] = b | (rest > 0 ? 0x80 : 0)
  }
  return pos
}

/** A cursor for reading varints; `pos` advances. Reused to avoid allocation per value. */
export class VarintReader {
  constructor(
    public buf: Uint8Array,
    public pos: number,
  ) {}

  /** Reads a zig-zag varint; throws RangeError when malformed or past the end. */
  varint(): number {
    const buf = this.buf
    let pos = this.pos
    let result = 0
    let shift = 0
    for (;;) {
      if (pos >= buf.length) throw new RangeError('varint runs past the end of the buffer')
      const b = buf[pos++]!
      result |= (b & 0x7f) << shift
      if (b < 0x80) break
      shift += 7
      if (shift > 28) throw new RangeError('varint is longer than 5 bytes')
    }
    this.pos = pos
    return (result >>> 1) ^ -(result & 1)
  }

  varlong(): number {
    const buf = this.buf
    let pos = this.pos
    if (pos >= buf.length) throw new RangeError('varlong runs past the end of the buffer')
    const first = buf[pos++]!
    const sign = first & 1
    let m = (first & 0x7f) >>> 1
    if (first >= 0x80) {
      let factor = 64
      for (;;) {
        if (pos >= buf.length) throw new RangeError('varlong runs past the end of the buffer')
        const b = buf[pos++]!
        m += (b & 0x7f) * factor
        if (b < 0x80) break
        factor *= 128
        if (factor > 2 ** 62) throw new RangeError('varlong is longer than 10 bytes')
      }
    }
    this.pos = pos
    return sign ? -m - 1 : m
  }
}
