// CRC-32C (Castagnoli), the checksum of Kafka record batches v2.
// Large inputs use @node-rs/crc32 (SSE4.2/ARMv8 CRC instructions, ~4.5x our best JS here; its
// binary ships inside an npm package, no download). Small inputs, and any platform where that
// package does not load, use the portable slicing-by-8 table code below.
import { createRequire } from 'node:module'

type NativeCrc32c = (input: Buffer, initialState?: number) => number

function loadNative(): NativeCrc32c | null {
  if (process.env.EDDY_CRC32C === 'portable') return null
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: NativeCrc32c }
    return typeof mod.crc32c === 'function' ? mod.crc32c : null
  } catch {
    return null
  }
}

const native = loadNative()
/** Below this, the call into native code costs more than the table loop. */
const NATIVE_MIN_BYTES = 256

/** Which implementation `crc32c` uses for large inputs. */
export const crc32cImplementation: 'native' | 'portable' = native === null ? 'portable' : 'native'

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

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1
/** Below this, a Uint32Array view costs more than it saves. */
const WORDS_MIN_BYTES = 64

/** CRC-32C of `bytes[start, end)`, optionally continuing from a previous `crc`. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  if (end > bytes.length || start < 0)
    throw new RangeError(`crc32c range [${start}, ${end}) is outside ${bytes.length} bytes`)
  if (native !== null && end - start >= NATIVE_MIN_BYTES) {
    const view = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start)
    return native(view, crc) >>> 0
  }
  return crc32cPortable(bytes, start, end, crc)
}

/** The portable table-driven CRC-32C (exported so tests can check both implementations agree). */
export function crc32cPortable(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  let c = ~crc >>> 0
  let i = start
  if (LITTLE_ENDIAN && end - start >= WORDS_MIN_BYTES) {
    // Bytes up to a 4-byte boundary of the memory, then 8 bytes as two aligned word loads
    // (~1.7× faster than 8 byte loads); the tail is done byte by byte below.
    while ((bytes.byteOffset + i) & 3) c = T0[(c ^ bytes[i++]!) & 0xff]! ^ (c >>> 8)
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, ((end - i) >>> 3) << 1)
    for (let w = 0; w < words.length; w += 2) {
      const a = words[w]! ^ c
      const b = words[w + 1]!
      c =
        T7[a & 0xff]! ^
        T6[(a >>> 8) & 0xff]! ^
        T5[(a >>> 16) & 0xff]! ^
        T4[a >>> 24]! ^
        T3[b & 0xff]! ^
        T2[(b >>> 8) & 0xff]! ^
        T1[(b >>> 16) & 0xff]! ^
        T0[b >>> 24]!
    }
    i += words.length << 2
  }
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
