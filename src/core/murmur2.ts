// Kafka's murmur2 (org.apache.kafka.common.utils.Utils#murmur2) and its default partitioner,
// so keyed records land in the partition a Kafka client would choose for the same key.

const SEED = 0x9747b28c
const M = 0x5bd1e995
const R = 24

/** The 32-bit murmur2 hash of `data` as Kafka computes it, as a signed int32. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = SEED ^ length
  const whole = length & ~3
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    k = Math.imul(k, M)
    k ^= k >>> R
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  // The tail: Java's switch falls through from 3 to 2 to 1.
  const tail = length & 3
  if (tail === 3) h ^= data[whole + 2]! << 16
  if (tail >= 2) h ^= data[whole + 1]! << 8
  if (tail >= 1) {
    h ^= data[whole]!
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** Kafka's Utils#toPositive: clears the sign bit (not Math.abs, which overflows on int32 min). */
export function toPositive(n: number): number {
  return n & 0x7fffffff
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  return toPositive(murmur2(key)) % partitionCount
}
