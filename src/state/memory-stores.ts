// In-memory stores: the test driver's, and the write cache the durable stores build on.
import { type KeyValueStore, keyIdentity, type WindowStore } from '../core/store.js'

export class MemoryKeyValueStore<K, V> implements KeyValueStore<K, V> {
  private readonly map = new Map<unknown, [K, V]>()

  constructor(readonly name: string) {}

  get(key: K): V | undefined {
    return this.map.get(keyIdentity(key))?.[1]
  }

  put(key: K, value: V): void {
    this.map.set(keyIdentity(key), [key, value])
  }

  delete(key: K): void {
    this.map.delete(keyIdentity(key))
  }

  *entries(): IterableIterator<[K, V]> {
    for (const [k, v] of this.map.values()) yield [k, v]
  }

  get size(): number {
    return this.map.size
  }
}

export class MemoryWindowStore<K, V> implements WindowStore<K, V> {
  private readonly byKey = new Map<unknown, { key: K; windows: Map<number, V> }>()
  private count = 0

  constructor(readonly name: string) {}

  get(key: K, windowStart: number): V | undefined {
    return this.byKey.get(keyIdentity(key))?.windows.get(windowStart)
  }

  put(key: K, windowStart: number, value: V): void {
    const id = keyIdentity(key)
    let entry = this.byKey.get(id)
    if (entry === undefined) {
      entry = { key, windows: new Map() }
      this.byKey.set(id, entry)
    }
    if (!entry.windows.has(windowStart)) this.count++
    entry.windows.set(windowStart, value)
  }

  delete(key: K, windowStart: number): void {
    const id = keyIdentity(key)
    const entry = this.byKey.get(id)
    if (entry?.windows.delete(windowStart)) {
      this.count--
      if (entry.windows.size === 0) this.byKey.delete(id)
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
