// A window store in lmdb behind a write cache. lmdb keys are [key length][key][window start], so
// one key's windows are contiguous and ordered by start: `windowsOf` is a range scan.
import type { Clock } from '../core/clock.js'
import { keyIdentity, type StoreSpec, type WindowStore } from '../core/store.js'
import type { BytesStore, BytesWrite } from './lmdb-env.js'
import {
  type ChangelogEntry,
  decodeStoredValue,
  serializeKey,
  splitWindowKey,
  windowKey,
  windowKeyRange,
} from './store-encoding.js'
import { bytesId, type CacheEntry, type DurableStore, isExpired, WriteCache } from './write-cache.js'

/**
 * The cached windows of one key: their starts (a packed array of doubles: a Map keyed by starts
 * boxes each one) and entries alongside. A key has a few open windows, so a scan finds one.
 */
interface KeyWindows<K, V> {
  readonly key: K
  readonly keyBytes: Buffer
  readonly starts: number[]
  readonly entries: CacheEntry<K, V>[]
}

/** Where `start` is in the key's windows, or -1; scanned from the newest, where writes mostly go. */
function windowIndex(starts: readonly number[], start: number): number {
  let i = starts.length - 1
  while (i >= 0 && starts[i] !== start) i--
  return i
}

function removeWindow(kw: KeyWindows<unknown, unknown>, i: number): void {
  kw.starts.splice(i, 1)
  kw.entries.splice(i, 1)
}

export class DurableWindowStore<K, V> implements WindowStore<K, V>, DurableStore {
  private readonly cache: WriteCache<K, V>
  /** The cache's entries by key identity, then window start. */
  private readonly index = new Map<unknown, KeyWindows<K, V>>()
  /**
   * The last key identity looked up and its windows: an aggregation's put (or a close's delete)
   * follows a get of the same key. Cleared whenever a key leaves the index.
   */
  private lastId: unknown = undefined
  private lastKw: KeyWindows<K, V> | undefined = undefined
  /**
   * The last window `get` looked up in lmdb, and whether lmdb had it: an aggregation's put of a
   * new window follows its get, and needs neither the lmdb key built again nor a second lookup.
   * Valid until lmdb changes (persist, abort).
   */
  private missKey: K | undefined = undefined
  private missStart = Number.NaN
  private missBytesKey: Buffer | undefined = undefined
  private missInBytes = false

  constructor(
    readonly spec: StoreSpec<K, V>,
    private readonly bytes: BytesStore,
    private readonly clock: Clock,
  ) {
    this.cache = new WriteCache(spec, bytes)
  }

  get name(): string {
    return this.spec.name
  }

  private cached(kw: KeyWindows<K, V> | undefined, start: number): CacheEntry<K, V> | undefined {
    if (kw === undefined) return undefined
    const i = windowIndex(kw.starts, start)
    if (i < 0) return undefined
    const e = kw.entries[i]!
    return e.live ? e : undefined
  }

  private windowsOfId(id: unknown): KeyWindows<K, V> | undefined {
    if (this.lastKw !== undefined && id === this.lastId) return this.lastKw
    const kw = this.index.get(id)
    if (kw !== undefined) {
      this.lastId = id
      this.lastKw = kw
    }
    return kw
  }

  private dropKey(id: unknown): void {
    this.index.delete(id)
    if (id === this.lastId) {
      this.lastId = undefined
      this.lastKw = undefined
    }
  }

  private keyBytesOf(key: K, kw: KeyWindows<K, V> | undefined): Buffer {
    return kw?.keyBytes ?? serializeKey(this.spec, key)
  }

  get(key: K, windowStart: number): V | undefined {
    const kw = this.windowsOfId(keyIdentity(key))
    const e = this.cached(kw, windowStart)
    const ttl = this.spec.ttlMs
    // The clock is read only for a store with a TTL: most have none, and reads are per record.
    if (e !== undefined)
      return e.deleted || (ttl !== undefined && isExpired(ttl, e.writtenMs, this.clock.nowMs()))
        ? undefined
        : e.value
    const now = this.clock.nowMs()
    const bytesKey = windowKey(this.keyBytesOf(key, kw), windowStart, this.spec)
    const stored = this.bytes.get(bytesKey)
    this.missKey = key
    this.missStart = windowStart
    this.missBytesKey = bytesKey
    this.missInBytes = stored !== undefined
    return stored === undefined ? undefined : this.decodeLive(stored, now)
  }

  private forgetMiss(): void {
    this.missKey = undefined
    this.missBytesKey = undefined
  }

  private decodeLive(stored: Buffer, now: number): V | undefined {
    const { serialized, writtenMs } = decodeStoredValue(stored, this.spec.name)
    return isExpired(this.spec.ttlMs, writtenMs, now)
      ? undefined
      : this.spec.valueSerde.deserialize(serialized)
  }

  put(key: K, windowStart: number, value: V): void {
    this.write(key, windowStart, value, false)
  }

  delete(key: K, windowStart: number): void {
    this.write(key, windowStart, undefined, true)
  }

  private write(key: K, start: number, value: V | undefined, deleted: boolean): void {
    const id = keyIdentity(key)
    const kw = this.windowsOfId(id)
    const e = this.cached(kw, start)
    if (kw !== undefined && e !== undefined) {
      // A window the cache holds: update it in place.
      if (this.cache.update(e, value, deleted, this.clock.nowMs()) === null) this.forget(id, kw, start)
      return
    }
    const keyBytes = this.keyBytesOf(key, kw)
    const missed = this.missBytesKey !== undefined && key === this.missKey && start === this.missStart
    const bytesKey = missed ? this.missBytesKey! : windowKey(keyBytes, start, this.spec)
    this.writeAt(
      id,
      kw?.key ?? key,
      keyBytes,
      bytesKey,
      start,
      value,
      deleted,
      missed ? this.missInBytes : undefined,
    )
    this.forgetMiss()
  }

  private forget(id: unknown, kw: KeyWindows<K, V>, start: number): void {
    const i = windowIndex(kw.starts, start)
    if (i >= 0) removeWindow(kw, i)
    if (kw.starts.length === 0) this.dropKey(id)
  }

  private writeAt(
    id: unknown,
    key: K,
    keyBytes: Buffer,
    bytesKey: Buffer,
    start: number,
    value: V | undefined,
    deleted: boolean,
    knownInBytes?: boolean,
  ): void {
    if (deleted && !this.cache.mayHold(bytesKey)) return
    const written = this.cache.write(key, start, bytesKey, value, deleted, this.clock.nowMs(), knownInBytes)
    let kw = this.index.get(id)
    if (written === null) {
      if (kw !== undefined) this.forget(id, kw, start)
      return
    }
    if (kw === undefined) {
      kw = { key, keyBytes, starts: [], entries: [] }
      this.index.set(id, kw)
    }
    const i = windowIndex(kw.starts, start)
    if (i >= 0) kw.entries[i] = written
    else {
      kw.starts.push(start)
      kw.entries.push(written)
    }
  }

  /** One key's windows in order of start: lmdb's range, with the cache's writes applied. */
  *windowsOf(key: K): IterableIterator<[number, V]> {
    const now = this.clock.nowMs()
    const kw = this.index.get(keyIdentity(key))
    const keyBytes = this.keyBytesOf(key, kw)
    const { start, end } = windowKeyRange(keyBytes)
    const merged = new Map<number, V>()
    for (const [bytesKey, stored] of this.bytes.range(start, end)) {
      if (this.cache.get(bytesId(bytesKey)) !== undefined) continue
      const { serialized, writtenMs } = decodeStoredValue(stored, this.spec.name)
      if (isExpired(this.spec.ttlMs, writtenMs, now)) continue
      merged.set(splitWindowKey(bytesKey, this.spec.name).start, this.spec.valueSerde.deserialize(serialized))
    }
    for (const e of kw?.entries ?? []) {
      if (!e.live || e.deleted || isExpired(this.spec.ttlMs, e.writtenMs, now)) continue
      merged.set(e.start, e.value as V)
    }
    yield* [...merged.entries()].sort((a, b) => a[0] - b[0])
  }

  /** lmdb's windows (a snapshot in key order, the cache's version when it has one), then the cache's new ones. */
  *entries(): IterableIterator<[K, number, V]> {
    const now = this.clock.nowMs()
    const ttl = this.spec.ttlMs
    let lastKeyBytes: Buffer | null = null
    let lastKey: K | undefined
    for (const [bytesKey, stored] of this.bytes.range()) {
      const e = this.cache.get(bytesId(bytesKey))
      if (e !== undefined) {
        if (!e.deleted && !isExpired(ttl, e.writtenMs, now)) yield [e.key, e.start, e.value as V]
        continue
      }
      const { serialized, writtenMs } = decodeStoredValue(stored, this.spec.name)
      if (isExpired(ttl, writtenMs, now)) continue
      const { keyBytes, start } = splitWindowKey(bytesKey, this.spec.name)
      // Consecutive windows of one key share its deserialized key.
      if (lastKeyBytes === null || !keyBytes.equals(lastKeyBytes)) {
        lastKeyBytes = keyBytes
        lastKey = this.spec.keySerde.deserialize(keyBytes)
      }
      yield [lastKey as K, start, this.spec.valueSerde.deserialize(serialized)]
    }
    for (const e of this.cache.values()) {
      if (e.inBytes || e.deleted || isExpired(ttl, e.writtenMs, now)) continue
      yield [e.key, e.start, e.value as V]
    }
  }

  /** Windows, counting expired ones not yet swept. */
  get size(): number {
    return this.cache.size
  }

  get cachedEntries(): number {
    return this.cache.cachedEntries
  }

  sweepExpired(nowMs: number): number {
    const ttl = this.spec.ttlMs
    if (ttl === undefined) return 0
    const expired: { key: K; keyBytes: Buffer; bytesKey: Buffer; start: number }[] = []
    for (const [bytesKey, stored] of this.bytes.range()) {
      if (this.cache.get(bytesId(bytesKey)) !== undefined) continue
      if (!isExpired(ttl, decodeStoredValue(stored, this.spec.name).writtenMs, nowMs)) continue
      const { keyBytes, start } = splitWindowKey(bytesKey, this.spec.name)
      expired.push({ key: this.spec.keySerde.deserialize(keyBytes), keyBytes, bytesKey, start })
    }
    for (const e of this.cache.values()) {
      if (e.deleted || !isExpired(ttl, e.writtenMs, nowMs)) continue
      const kw = this.index.get(keyIdentity(e.key))
      expired.push({
        key: e.key,
        keyBytes: kw?.keyBytes ?? serializeKey(this.spec, e.key),
        bytesKey: e.bytesKey,
        start: e.start,
      })
    }
    for (const x of expired)
      this.writeAt(keyIdentity(x.key), x.key, x.keyBytes, x.bytesKey, x.start, undefined, true)
    return expired.length
  }

  takeDirty(): ChangelogEntry[] {
    return this.cache.takeDirty()
  }

  commitTaken(): void {
    const gone = this.cache.commitTaken()
    if (gone.length > 0) this.forgetEntries(gone)
  }

  get unpersisted(): number {
    return this.cache.unpersisted
  }

  hasDirty(): boolean {
    return this.cache.hasDirty()
  }

  pendingWrites(): BytesWrite[] {
    return this.cache.pendingWrites()
  }

  markPersisted(): void {
    this.forgetMiss()
    this.forgetEntries(this.cache.markPersisted())
  }

  /** Entries that left the cache leave this store's index too. */
  private forgetEntries(gone: readonly CacheEntry<K, V>[]): void {
    for (const e of gone) {
      const id = keyIdentity(e.key)
      const kw = this.index.get(id)
      if (kw === undefined) continue
      const i = windowIndex(kw.starts, e.start)
      if (i < 0 || kw.entries[i] !== e) continue
      removeWindow(kw, i)
      if (kw.starts.length === 0) this.dropKey(id)
    }
  }

  discardPending(): void {
    this.forgetMiss()
    this.cache.discard()
    this.index.clear()
    this.lastId = undefined
    this.lastKw = undefined
  }
}
