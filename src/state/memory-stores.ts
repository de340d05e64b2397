// In-memory stores: the test driver's, and the write cache the durable stores build on.
import { json, type Serde } from '../core/serde.js'
import { type KeyValueStore, keyIdentity, type WindowStore } from '../core/store.js'
import { sortedInRange } from './key-order.js'

export class MemoryKeyValueStore<K, V> implements KeyValueStore<K, V> {
  // [key, value, last write ms]
  private readonly map = new Map<unknown, [K, V, number]>()

  /**
   * With `ttlMs`, entries not written for that long (by `nowMs`) are hidden, then swept.
   * `keySerde` orders `range` (by serialized key bytes, as the durable store does).
   */
  constructor(
    readonly name: string,
    private readonly ttlMs?: number,
    private readonly nowMs: () => number = () => 0,
    private readonly keySerde: Serde<K> = json<K>(),
  ) {}

  private live(e: [K, V, number] | undefined): e is [K, V, number] {
    return e !== undefined && (this.ttlMs === undefined || this.nowMs() - e[2] < this.ttlMs)
  }

  get(key: K): V | undefined {
    const e = this.map.get(keyIdentity(key))
    return this.live(e) ? e[1] : undefined
  }

  put(key: K, value: V): void {
    this.map.set(keyIdentity(key), [key, value, this.ttlMs === undefined ? 0 : this.nowMs()])
  }

  delete(key: K): void {
    this.map.delete(keyIdentity(key))
  }

  *entries(): IterableIterator<[K, V]> {
    for (const e of this.map.values()) if (this.live(e)) yield [e[0], e[1]]
  }

  *range(from?: K, to?: K): IterableIterator<[K, V]> {
    // A copy: writes during the iteration behave as they do on the durable store.
    yield* sortedInRange(this.entries(), this.keySerde, from, to)
  }

  get size(): number {
    return this.map.size
  }

  /** Deletes expired entries; returns how many. */
  sweepExpired(): number {
    if (this.ttlMs === undefined) return 0
    let n = 0
    for (const [id, e] of this.map) {
      if (!this.live(e)) {
        this.map.delete(id)
        n++
      }
    }
    return n
  }
}

export class MemoryWindowStore<K, V> implements WindowStore<K, V> {
  private readonly byKey = new Map<unknown, { key: K; windows: Map<number, V> }>()
  private count = 0
  // The last key looked up and its entry: a get then put of the same key (an aggregation's
  // read-modify-write) looks the key up once. Dropped when the entry leaves byKey.
  private lastId: unknown = undefined
  private lastEntry: { key: K; windows: Map<number, V> } | undefined = undefined

  constructor(readonly name: string) {}

  private entryOf(id: unknown): { key: K; windows: Map<number, V> } | undefined {
    if (this.lastEntry !== undefined && id === this.lastId) return this.lastEntry
    const entry = this.byKey.get(id)
    if (entry !== undefined) {
      this.lastId = id
      this.lastEntry = entry
    }
    return entry
  }

  get(key: K, windowStart: number): V | undefined {
    return this.entryOf(keyIdentity(key))?.windows.get(windowStart)
  }

  put(key: K, windowStart: number, value: V): void {
    const id = keyIdentity(key)
    let entry = this.entryOf(id)
    if (entry === undefined) {
      entry = { key, windows: new Map() }
      this.byKey.set(id, entry)
      this.lastId = id
      this.lastEntry = entry
    }
    const windows = entry.windows
    const size = windows.size
    windows.set(windowStart, value)
    if (windows.size !== size) this.count++
  }

  delete(key: K, windowStart: number): void {
    const id = keyIdentity(key)
    const entry = this.entryOf(id)
    if (entry?.windows.delete(windowStart)) {
      this.count--
      if (entry.windows.size === 0) {
        this.byKey.delete(id)
        this.lastId = undefined
        this.lastEntry = undefined
      }
    }
  }

  *windowsOf(key: K): IterableIterator<[number, V]> {
    const entry = this.byKey.get(keyIdentity(key))
    if (entry === undefined) return
    yield* [...entry.windows.entries()].sort((a, b) => a[0] - b[0])
  }

  *entries(): IterableIterator<[K, number, V]> {
    for (const { key, windows } of this.byKey.values()) {
      for (const [start, v] of windows) yield [key, start, v]
    }
  }

  get size(): number {
    return this.count
  }
}
