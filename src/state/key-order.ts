// The order of keys in range queries: by the bytes of the serialized key, as lmdb orders them
// (and as Kafka Streams orders its byte stores). Every store, memory or durable, uses this.
import type { Serde } from '../core/serde.js'

const EMPTY = Buffer.alloc(0)

/** The bytes a key sorts by (a key that serializes to null sorts first). */
export function keyBytes<K>(serde: Serde<K>, key: K): Buffer {
  return serde.serialize(key) ?? EMPTY
}

/** Bounds of a range as bytes; `empty` when from sorts after to, so nothing can match. */
export interface ByteBounds {
  readonly from: Buffer | undefined
  readonly to: Buffer | undefined
  readonly empty: boolean
}

export function byteBounds<K>(serde: Serde<K>, from: K | undefined, to: K | undefined): ByteBounds {
  const f = from === undefined ? undefined : keyBytes(serde, from)
  const t = to === undefined ? undefined : keyBytes(serde, to)
  return { from: f, to: t, empty: f !== undefined && t !== undefined && Buffer.compare(f, t) > 0 }
}

export function withinBounds(bytes: Buffer, b: ByteBounds): boolean {
  return (
    !b.empty &&
    (b.from === undefined || Buffer.compare(bytes, b.from) >= 0) &&
    (b.to === undefined || Buffer.compare(bytes, b.to) <= 0)
  )
}

/** The smallest byte string after `bytes`: an exclusive end that includes `bytes` itself. */
export function successor(bytes: Buffer): Buffer {
  return Buffer.concat([bytes, Buffer.from([0])])
}

/** Entries within the bounds, sorted by key bytes. */
export function sortedInRange<K, V>(
  entries: Iterable<[K, V]>,
  serde: Serde<K>,
  from: K | undefined,
  to: K | undefined,
): [K, V][] {
  const bounds = byteBounds(serde, from, to)
  if (bounds.empty) return []
  const keyed: { bytes: Buffer; entry: [K, V] }[] = []
  for (const e of entries) {
    const bytes = keyBytes(serde, e[0])
    if (withinBounds(bytes, bounds)) keyed.push({ bytes, entry: e })
  }
  keyed.sort((a, b) => Buffer.compare(a.bytes, b.bytes))
  return keyed.map((k) => k.entry)
}
