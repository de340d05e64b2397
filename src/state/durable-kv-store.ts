// A key-value store in lmdb behind a write cache: serde → cache → changelog → bytes, as in Kafka
// Streams. Reads are synchronous (the cache, then lmdb); writes reach lmdb only after the
// transaction that carries their changelog records has committed.
import type { Clock } from '../core/clock.js'
import { type KeyValueStore, keyIdentity, type StoreSpec } from '../core/store.js'
import { byteBounds, successor, withinBounds } from './key-order.js'
import type { BytesStore, BytesWrite } from './lmdb-env.js'
import { type ChangelogEntry, decodeStoredValue, serializeKey } from './store-encoding.js'
import { bytesId, type CacheEntry, type DurableStore, isExpired, WriteCache } from './write-cache.js'

export class DurableKeyValueStore<K, V> implements KeyValueStore<K, V>, DurableStore {
  private readonly cache: WriteCache<K, V>
  /** The cache's entries by key identity, so a read needs no serialization. */
  private readonly index = new Map<unknown, CacheEntry<K, V>>()

  constructor(
    readonly spec: StoreSpec<K, V>,
    private readonly bytes: BytesStore,
    private readonly clock: Clock,
    /** Committed entries kept in memory for reads (see WriteCache). */
    cleanEntriesMax?: number,
  ) {
    this.cache = new WriteCache(spec, bytes, cleanEntriesMax)
  }

  get name(): string {
    return this.spec.name
  }

  private cached(id: unknown): CacheEntry<K, V> | undefined {
    const e = this.index.get(id)
    // An entry the cache no longer holds (two identities with the same bytes) is stale.
    return e?.live ? e : undefined
  }

  get(key: K): V | undefined {
    const e = this.cached(keyIdentity(key))
    const ttl = this.spec.ttlMs
    // The clock is read only for a store with a TTL: most have none, and reads are per record.
    if (e !== undefined)
      return e.deleted || (ttl !== undefined && isExpired(ttl, e.writtenMs, this.clock.nowMs()))
        ? undefined
        : e.value
    const now = this.clock.nowMs()
    const stored = this.bytes.get(serializeKey(this.spec, key))
    if (stored === undefined) return undefined
    const { serialized, writtenMs } = decodeStoredValue(stored, this.spec.name)
    if (isExpired(this.spec.ttlMs, writtenMs, now)) return undefined
    return this.spec.valueSerde.deserialize(serialized)
  }

  put(key: K, value: V): void {
    this.write(key, value, false)
  }

  delete(key: K): void {
    this.write(key, undefined, true)
  }

  private write(key: K, value: V | undefined, deleted: boolean): void {
    const id = keyIdentity(key)
    const e = this.cached(id)
    if (e !== undefined) {
      // A key the cache holds: update its entry in place.
      if (this.cache.update(e, value, deleted, this.clock.nowMs()) === null) this.index.delete(id)
      return
    }
    this.writeAt(id, key, serializeKey(this.spec, key), value, deleted)
  }

  private writeAt(id: unknown, key: K, bytesKey: Buffer, value: V | undefined, deleted: boolean): void {
    if (deleted && !this.cache.mayHold(bytesKey)) return
    const written = this.cache.write(key, 0, bytesKey, value, deleted, this.clock.nowMs())
    if (written === null) this.index.delete(id)
    else this.index.set(id, written)
  }

  /**
   * lmdb's entries (a snapshot, in key order; a key the cache holds is read from the cache when
   * reached), then the cache's entries lmdb does not hold. Writes during iteration behave as on a Map.
   */
  *entries(): IterableIterator<[K, V]> {
    const now = this.clock.nowMs()
    const ttl = this.spec.ttlMs
    for (const [bytesKey, stored] of this.bytes.range()) {
      const e = this.cache.get(bytesId(bytesKey))
      if (e !== undefined) {
        if (!e.deleted && !isExpired(ttl, e.writtenMs, now)) yield [e.key, e.value as V]
        continue
      }
      const { serialized, writtenMs } = decodeStoredValue(stored, this.spec.name)
      if (isExpired(ttl, writtenMs, now)) continue
      yield [this.spec.keySerde.deserialize(bytesKey), this.spec.valueSerde.deserialize(serialized)]
    }
    for (const e of this.cache.values()) {
      // Keys lmdb holds were visited above.
      if (e.inBytes || e.deleted || isExpired(ttl, e.writtenMs, now)) continue
      yield [e.key, e.value as V]
    }
  }

  /**
   * Entries with keys in [from, to] by key bytes: lmdb's range (a snapshot; the cache's version of
   * a key it holds), merged in order with the cache's entries lmdb does not hold.
   */
  *range(from?: K, to?: K): IterableIterator<[K, V]> {
    const bounds = byteBounds(this.spec.keySerde, from, to)
    if (bounds.empty) return
    const now = this.clock.nowMs()
    const ttl = this.spec.ttlMs
    // New keys live only in the cache: taken out and sorted first (the cache is bounded).
    const added: CacheEntry<K, V>[] = []
    for (const e of this.cache.values()) {
      if (e.inBytes || e.deleted || isExpired(ttl, e.writtenMs, now)) continue
      if (withinBounds(e.bytesKey, bounds)) added.push(e)
    }
    added.sort((a, b) => Buffer.compare(a.bytesKey, b.bytesKey))
    let next = 0
    const end = bounds.to === undefined ? undefined : successor(bounds.to)
    for (const [bytesKey, stored] of this.bytes.range(bounds.from, end)) {
      while (next < added.length && Buffer.compare(added[next]!.bytesKey, bytesKey) < 0) {
        const a = added[next++]!
        // Deleted since the scan began (by the caller, while iterating): not visited.
        if (!a.deleted) yield [a.key, a.value as V]
      }
      const e = this.cache.get(bytesId(bytesKey))
      if (e !== undefined) {
        if (!e.deleted && !isExpired(ttl, e.writtenMs, now)) yield [e.key, e.value as V]
        continue
      }
      const { serialized, writtenMs } = decodeStoredValue(stored, this.spec.name)
      if (isExpired(ttl, writtenMs, now)) continue
      yield [this.spec.keySerde.deserialize(bytesKey), this.spec.valueSerde.deserialize(serialized)]
    }
    for (const a of added.slice(next)) if (!a.deleted) yield [a.key, a.value as V]
  }

  /** Entries, counting expired ones not yet swept. */
  get size(): number {
    return this.cache.size
  }

  get cachedEntries(): number {
    return this.cache.cachedEntries
  }

  sweepExpired(nowMs: number): number {
    const ttl = this.spec.ttlMs
    if (ttl === undefined) return 0
    const expired: { key: K; bytesKey: Buffer }[] = []
    for (const [bytesKey, stored] of this.bytes.range()) {
      if (this.cache.get(bytesId(bytesKey)) !== undefined) continue
      if (isExpired(ttl, decodeStoredValue(stored, this.spec.name).writtenMs, nowMs)) {
        expired.push({ key: this.spec.keySerde.deserialize(bytesKey), bytesKey })
      }
    }
    for (const e of this.cache.values()) {
      if (!e.deleted && isExpired(ttl, e.writtenMs, nowMs)) expired.push(e)
    }
    for (const { key, bytesKey } of expired) this.writeAt(keyIdentity(key), key, bytesKey, undefined, true)
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
    this.forgetEntries(this.cache.markPersisted())
  }

  /** Entries that left the cache leave this store's index too. */
  private forgetEntries(gone: readonly CacheEntry<K, V>[]): void {
    for (const e of gone) {
      const id = keyIdentity(e.key)
      if (this.index.get(id) === e) this.index.delete(id)
    }
  }

  discardPending(): void {
    this.cache.discard()
    this.index.clear()
  }
}
