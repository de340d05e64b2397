// CRC-32C (Castagnoli), the checksum of Kafka record batches v2.
// Slicing-by-8 over eight 256-entry tables: several times faster than a byte-at-a-time loop.

const POLY_REVERSED = 0x82f63b78

function buildTables(): Uint32Array[] {
  const tables: Uint32Array[] = []
  const first = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REVERSED : c >>> 1
    first[n] = c >>> 0
  }
  tables.push(first)
  for (let t = 1; t < 8; t++) {
    const prev = tables[t - 1]!
    const next = new Uint32Array(256)
    for (let n = 0; n < 256; n++) next[n] = (prev[n]! >>> 8) ^ first[prev[n]! & 0xff]!
    tables.push(next)
  }
  return tables
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = buildTables() as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
]

/** CRC-32C of `bytes[start, end)`, optionally continuing from a previous `crc`. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  if (end > bytes.length || start < 0)
    throw new RangeError(`crc32c range [${start}, ${end}) is outside ${bytes.length} bytes`)
  let c = ~crc >>> 0
  let i = start
  const fastEnd = end - 8
  while (i <= fastEnd) {
    const a = (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) ^ c
    c =
      T7[a & 0xff]! ^
      T6[(a >>> 8) & 0xff]! ^
      T5[(a >>> 16) & 0xff]! ^
      T4[a >>> 24]! ^
      T3[bytes[i + 4]!]! ^
      T2[bytes[i + 5]!]! ^
      T1[bytes[i + 6]!]! ^
      T0[bytes[i + 7]!]!
    i += 8
  }
  while (i < end) c = T0[(c ^ bytes[i++]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}
