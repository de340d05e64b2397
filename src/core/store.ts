// The contracts of state stores, as processors see them. Implementations live in state/ (lmdb,
// with a write cache and a changelog) and in the test driver (memory).
import type { Serde } from './serde.js'

/** Keyed state of one task. Keys compare by value (objects by their JSON form). */
export interface KeyValueStore<K, V> {
  readonly name: string
  get(key: K): V | undefined
  put(key: K, value: V): void
  delete(key: K): void
  /** Every entry; order is not specified. */
  entries(): IterableIterator<[K, V]>
  readonly size: number
}

/** State per key and window start. */
export interface WindowStore<K, V> {
  readonly name: string
  get(key: K, windowStart: number): V | undefined
  put(key: K, windowStart: number, value: V): void
  delete(key: K, windowStart: number): void
  /** Every window of one key. */
  windowsOf(key: K): IterableIterator<[number, V]>
  entries(): IterableIterator<[K, number, V]>
  readonly size: number
}

export type StoreKind = 'kv' | 'window'

/** A store a step declares up front: the runtime creates it, its changelog and its restore. */
export interface StoreSpec<K = unknown, V = unknown> {
  readonly name: string
  readonly kind: StoreKind
  readonly keySerde: Serde<K>
  readonly valueSerde: Serde<V>
  /** Entries not written for this long (event time of the task) are removed. */
  readonly ttlMs?: number
}

/** Canonical identity of a key: primitives as themselves, objects by their JSON text. */
export function keyIdentity(key: unknown): unknown {
  return typeof key === 'object' && key !== null ? `\u0001${JSON.stringify(key)}` : key
}
