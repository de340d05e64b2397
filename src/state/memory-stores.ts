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

/**
 * One key's windows. Most keys have one open window: it lives in the entry itself (`s0`, `v0`),
 * so a lookup touches one object; with two or more, `starts` (ascending, a packed array of
 * doubles, so no boxing) and `values` hold them all.
 */
interface KeyWindows<K, V> {
  readonly key: K
  /** How many windows the key has. */
  n: number
  /** The window when n is 1 (NaN otherwise: the field stays a double). */
  s0: number
  v0: V | undefined
  /** All windows when n >= 2, else null. */
  starts: number[] | null
  values: V[] | null
}

/**
 * Where `start` is, or would go, in ascending `starts`: the first index whose start is >= it.
 * Short lists (the usual case) are scanned from the end, as windows mostly come in order.
 */
function startIndex(starts: readonly number[], start: number): number {
  let hi = starts.length
  if (hi <= 8) {
    while (hi > 0 && starts[hi - 1]! >= start) hi--
    return hi
  }
  let lo = 0
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (starts[mid]! < start) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** A key's windows, in order of start (a copy). */
function windowsOfEntry<V>(entry: KeyWindows<unknown, V>): [number, V][] {
  if (entry.n === 1) return [[entry.s0, entry.v0 as V]]
  const { starts, values } = entry
  if (starts === null || values === null) return []
  return starts.map((s, i) => [s, values[i]!])
}

/** Keys without windows kept before they are dropped in one pass (see `delete`). */
const EMPTY_KEYS_KEPT_MIN = 1024

export class MemoryWindowStore<K, V> implements WindowStore<K, V> {
  private byKey = new Map<unknown, KeyWindows<K, V>>()
  private count = 0
  /** Entries of byKey that hold no window (see `delete`). */
  private emptyKeys = 0
  // The last key looked up and its entry: a get then put of the same key (an aggregation's
  // read-modify-write) looks the key up once.
  private lastId: unknown = undefined
  private lastEntry: KeyWindows<K, V> | undefined = undefined

  constructor(readonly name: string) {}

  private entryOf(id: unknown): KeyWindows<K, V> | undefined {
    if (this.lastEntry !== undefined && id === this.lastId) return this.lastEntry
    const entry = this.byKey.get(id)
    if (entry !== undefined) {
      this.lastId = id
      this.lastEntry = entry
    }
    return entry
  }

  get(key: K, windowStart: number): V | undefined {
    const entry = this.entryOf(keyIdentity(key))
    if (entry === undefined) return undefined
    if (entry.n === 1) return entry.s0 === windowStart ? entry.v0 : undefined
    const starts = entry.starts
    if (starts === null) return undefined
    const i = startIndex(starts, windowStart)
    return starts[i] === windowStart ? entry.values![i] : undefined
  }

  put(key: K, windowStart: number, value: V): void {
    const id = keyIdentity(key)
    const entry = this.entryOf(id)
    if (entry === undefined) {
      const created: KeyWindows<K, V> = { key, n: 1, s0: windowStart, v0: value, starts: null, values: null }
      this.byKey.set(id, created)
      this.lastId = id
      this.lastEntry = created
      this.count++
      return
    }
    if (entry.n === 0) {
      this.emptyKeys--
      entry.n = 1
      entry.s0 = windowStart
      entry.v0 = value
      this.count++
      return
    }
    if (entry.n === 1) {
      if (entry.s0 === windowStart) {
        entry.v0 = value
        return
      }
      // A second window: both move to the arrays, in order.
      const first = entry.s0 < windowStart
      entry.starts = first ? [entry.s0, windowStart] : [windowStart, entry.s0]
      entry.values = first ? [entry.v0 as V, value] : [value, entry.v0 as V]
      entry.n = 2
      entry.s0 = Number.NaN
      entry.v0 = undefined
      this.count++
      return
    }
    const starts = entry.starts!
    const values = entry.values!
    const i = startIndex(starts, windowStart)
    if (starts[i] === windowStart) {
      values[i] = value
      return
    }
    if (i === starts.length) {
      starts.push(windowStart)
      values.push(value)
    } else {
      starts.splice(i, 0, windowStart)
      values.splice(i, 0, value)
    }
    entry.n++
    this.count++
  }

  delete(key: K, windowStart: number): void {
    const entry = this.entryOf(keyIdentity(key))
    if (entry === undefined || entry.n === 0) return
    if (entry.n === 1) {
      if (entry.s0 !== windowStart) return
      entry.n = 0
      entry.s0 = Number.NaN
      entry.v0 = undefined
    } else {
      const starts = entry.starts!
      const values = entry.values!
      const i = startIndex(starts, windowStart)
      if (starts[i] !== windowStart) return
      starts.splice(i, 1)
      values.splice(i, 1)
      entry.n--
      if (entry.n === 1) {
        entry.s0 = starts[0]!
        entry.v0 = values[0]
        entry.starts = null
        entry.values = null
      }
    }
    this.count--
    if (entry.n > 0) return
    // A key whose last window goes keeps its entry: a V8 Map that deletes and re-adds the same
    // keys slows down badly (a key's next window usually comes soon). Once empty entries are
    // the majority, one pass builds a fresh Map without them, so memory stays bounded.
    this.emptyKeys++
    if (this.emptyKeys >= EMPTY_KEYS_KEPT_MIN && this.emptyKeys * 2 > this.byKey.size) this.dropEmptyKeys()
  }

  private dropEmptyKeys(): void {
    const kept = new Map<unknown, KeyWindows<K, V>>()
    for (const [id, entry] of this.byKey) if (entry.n > 0) kept.set(id, entry)
    this.byKey = kept
    this.emptyKeys = 0
    this.lastId = undefined
    this.lastEntry = undefined
  }

  *windowsOf(key: K): IterableIterator<[number, V]> {
    const entry = this.byKey.get(keyIdentity(key))
    if (entry === undefined) return
    // A copy: writes during the iteration behave as they do on the durable store.
    yield* windowsOfEntry(entry)
  }

  *entries(): IterableIterator<[K, number, V]> {
    for (const entry of this.byKey.values()) {
      const key = entry.key
      for (const [start, value] of windowsOfEntry(entry)) yield [key, start, value]
    }
  }

  get size(): number {
    return this.count
  }
}
