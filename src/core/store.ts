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
  /**
   * Entries with `from <= key <= to` (a bound left out is open), in the order of their
   * serialized keys' bytes (the store's key serde): for JSON keys, strings sort by their UTF-8
   * bytes, but numbers by their text ("10" before "9").
   */
  range(from?: K, to?: K): IterableIterator<[K, V]>
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
  /** How interactive queries show the entries (absent: as stored). */
  readonly view?: StoreView
}

/** A window as queries show it: `[start, end)`, or `[start, end]` for sliding windows. */
export interface WindowEntry<K, V> {
  readonly key: K
  readonly start: number
  readonly end: number
  readonly value: V
}

/**
 * How interactive queries present what a step stores, when it is not the answer as such: an
 * aggregation stores its running state (an average's sum and count), queries show its result.
 */
export type StoreView =
  /** A key-value store, each stored value shown as `value(stored)`. */
  | { readonly kind: 'kv'; readonly value: (stored: unknown) => unknown }
  /** A window store, each stored window shown with its end and value. */
  | {
      readonly kind: 'window'
      readonly window: (start: number, stored: unknown) => { end: number; value: unknown }
    }
  /**
   * A key-value store whose entry per key holds several windows (sliding windows keep a key's
   * recent records); `watermark` is the task's event time, which says which windows are open.
   */
  | {
      readonly kind: 'windows-in-kv'
      readonly windows: (
        stored: unknown,
        watermark: number,
      ) => readonly { start: number; end: number; value: unknown }[]
    }

/**
 * Read-only access to a key-value store of a running app, across its tasks (Kafka Streams'
 * interactive queries, on one instance). Each call reads synchronously: it sees every record
 * processed so far, including those whose transaction is not yet committed.
 */
export interface ReadOnlyKeyValueStore<K, V> {
  readonly name: string
  readonly kind: 'kv'
  /** The key's value, or undefined when it has none. */
  get(key: K): V | undefined
  /** Entries with `from <= key <= to` (a bound left out is open), ordered by serialized key bytes. */
  range(from?: K, to?: K): [K, V][]
  /** Every entry, ordered by serialized key bytes. */
  all(): [K, V][]
  /** Entries over all tasks (entries past a TTL count until swept). */
  approximateCount(): number
}

/** Read-only access to a window store of a running app, across its tasks. */
export interface ReadOnlyWindowStore<K, V> {
  readonly name: string
  readonly kind: 'window'
  /** The value of the key's window that starts at `windowStart`, or undefined. */
  get(key: K, windowStart: number): V | undefined
  /** The key's windows whose start is in `[fromTime, toTime]` (open when left out), by start. */
  fetch(key: K, fromTime?: number, toTime?: number): WindowEntry<K, V>[]
  /** Every key's windows whose start is in `[fromTime, toTime]`, by serialized key bytes, then start. */
  fetchAll(fromTime?: number, toTime?: number): WindowEntry<K, V>[]
  /** Every window, ordered as `fetchAll`. */
  all(): WindowEntry<K, V>[]
  /** Windows over all tasks. */
  approximateCount(): number
}

export type ReadOnlyStore = ReadOnlyKeyValueStore<unknown, unknown> | ReadOnlyWindowStore<unknown, unknown>

/** Canonical identity of a key: primitives as themselves, objects by their JSON text. */
export function keyIdentity(key: unknown): unknown {
  return typeof key === 'object' && key !== null ? `\u0001${JSON.stringify(key)}` : key
}

/** The key of a canonical identity (the inverse of `keyIdentity`). */
export function keyFromIdentity(id: unknown): unknown {
  return typeof id === 'string' && id.startsWith('\u0001') ? JSON.parse(id.slice(1)) : id
}
