// The write cache in front of a store's lmdb bytes. Writes land here (dirty); at a commit the
// dirty entries become changelog records, and their lmdb writes wait for the transaction
// (awaiting). Once it has committed they are committed writes; they reach lmdb when the task
// state persists (every few seconds, not every commit: an open window is written to lmdb once,
// not at each of the commits that changed it). lmdb therefore only ever holds committed state;
// what committed since lmdb's checkpoint is in the changelog too, so a crash loses nothing.
import type { StoreSpec } from '../core/store.js'
import type { BytesStore, BytesWrite } from './lmdb-env.js'
import { type ChangelogEntry, changelogEntry, checkValueSize, encodeStoredValue } from './store-encoding.js'

export interface CacheEntry<K, V> {
  readonly key: K
  /** The window start (0 in a key-value store). */
  readonly start: number
  /** The lmdb key, which is also the changelog key. */
  readonly bytesKey: Buffer
  /** `bytesKey` as a string: the cache's own key. */
  readonly id: string
  value: V | undefined
  deleted: boolean
  writtenMs: number
  /** Changed since the last `takeDirty`. */
  dirty: boolean
  /** lmdb holds this key (as of the last persist). */
  inBytes: boolean
  /** The write `takeDirty` last took of it (awaiting its commit): a delete, or these bytes at this time. */
  takenDeleted: boolean
  takenSerialized: Buffer | null
  takenMs: number
  /** Its last committed write lmdb lacks, if `committed` (kept as fields: no object per commit). */
  committed: boolean
  committedDeleted: boolean
  committedSerialized: Buffer | null
  committedMs: number
  /** Taken by `takeDirty` since lmdb was last written: the changelog has a record of it lmdb lacks. */
  unpersisted: boolean
  /**
   * The cache still holds this entry. A store's own index may outlive it (two key identities
   * with the same bytes share an entry); this flag says so without a second lookup by `id`.
   */
  live: boolean
}

/** What TaskState needs of every durable store to run the commit cycle. */
export interface DurableStore {
  readonly name: string
  readonly spec: StoreSpec
  /** The entries written since the last call, as changelog records; their writes await the commit. */
  takeDirty(): ChangelogEntry[]
  /** The transaction carrying the last `takeDirty` committed: its writes are committed writes. */
  commitTaken(): void
  /** Committed writes not yet in lmdb. */
  readonly unpersisted: number
  /** Written since the last `takeDirty`. */
  hasDirty(): boolean
  /** The committed writes lmdb lacks (to be written with the checkpoint). */
  pendingWrites(): BytesWrite[]
  /** The committed writes are in lmdb: forget them. */
  markPersisted(): void
  /**
   * The transaction aborted, and the committed writes are in lmdb: forget every write the cache
   * holds, reads go back to lmdb.
   */
  discardPending(): void
  /** Deletes the entries whose TTL has passed (the deletes go to the changelog); returns how many. */
  sweepExpired(nowMs: number): number
  readonly size: number
  /** Entries in the write cache (dirty or pending). */
  readonly cachedEntries: number
}

export function bytesId(bytesKey: Buffer): string {
  return bytesKey.toString('latin1')
}

export class WriteCache<K, V> {
  private readonly entries = new Map<string, CacheEntry<K, V>>()
  /** Entries with a committed write lmdb lacks. */
  private committedCount = 0
  /**
   * The entries made dirty since the last `takeDirty` (each once), those the last `takeDirty`
   * took (awaiting their commit), and those taken since lmdb was written (each once): the commit
   * cycle visits only these, not every entry the cache keeps for reads (a join's window holds a
   * minute of records; a commit every 100 ms touched them all).
   */
  private dirtyEntries: CacheEntry<K, V>[] = []
  private awaiting: CacheEntry<K, V>[] = []
  private taken: CacheEntry<K, V>[] = []
  /** Entries the cache adds to (or hides from) lmdb's count. */
  private sizeDelta = 0
  /** Entries of `taken` that left it in spirit (committed deletes lmdb never needed). */
  private deadTaken = 0

  constructor(
    private readonly spec: StoreSpec<K, V>,
    private readonly bytes: BytesStore,
    /** Committed entries kept for reads; past this, the oldest leave the cache. */
    private readonly cleanEntriesMax = 100_000,
  ) {}

  get(id: string): CacheEntry<K, V> | undefined {
    return this.entries.get(id)
  }

  values(): IterableIterator<CacheEntry<K, V>> {
    return this.entries.values()
  }

  get cachedEntries(): number {
    return this.entries.size
  }

  get size(): number {
    return this.bytes.count() + this.sizeDelta
  }

  /** True when a delete of this key would change anything (lmdb, the cache or a committed write has it). */
  mayHold(bytesKey: Buffer): boolean {
    const id = bytesId(bytesKey)
    // An entry with a committed write stays in the cache until lmdb has it.
    return this.entries.has(id) || this.bytes.has(bytesKey)
  }

  /** Records a put (or a delete) of the key; returns its entry, or null when the cache need not keep one. */
  write(
    key: K,
    start: number,
    bytesKey: Buffer,
    value: V | undefined,
    deleted: boolean,
    nowMs: number,
    /** Whether lmdb holds the key, when the caller just looked (saves a second lookup). */
    knownInBytes?: boolean,
  ): CacheEntry<K, V> | null {
    const id = bytesId(bytesKey)
    let e = this.entries.get(id)
    if (e === undefined) {
      const inBytes = knownInBytes ?? this.bytes.has(bytesKey)
      // Until the write below, the entry stands for what lmdb holds: it changes nothing yet.
      e = {
        key,
        start,
        bytesKey,
        id,
        value: undefined,
        deleted: !inBytes,
        writtenMs: nowMs,
        dirty: false,
        inBytes,
        takenDeleted: false,
        takenSerialized: null,
        takenMs: 0,
        committed: false,
        committedDeleted: false,
        committedSerialized: null,
        committedMs: 0,
        unpersisted: false,
        live: true,
      }
      this.entries.set(id, e)
    }
    return this.update(e, value, deleted, nowMs)
  }

  /**
   * `write` for an entry the cache holds (`live`), found by the store's own index: no key bytes
   * to turn into an id, no lookup (an aggregation's read-modify-write of an open window).
   */
  update(
    e: CacheEntry<K, V>,
    value: V | undefined,
    deleted: boolean,
    nowMs: number,
  ): CacheEntry<K, V> | null {
    this.sizeDelta -= contribution(e)
    e.value = value
    e.deleted = deleted
    e.writtenMs = nowMs
    if (!e.dirty) this.dirtyEntries.push(e)
    e.dirty = true
    this.sizeDelta += contribution(e)
    // A delete of a key that only ever lived in the cache needs no tombstone.
    if (deleted && !e.inBytes && !e.unpersisted) {
      this.entries.delete(e.id)
      e.live = false
      return null
    }
    return e
  }

  takeDirty(): ChangelogEntry[] {
    const out: ChangelogEntry[] = []
    const dirty = this.dirtyEntries
    this.dirtyEntries = []
    for (const e of dirty) {
      // Dropped since (a delete of a key only the cache had): nothing to write.
      if (!e.live || !e.dirty) continue
      const serialized = e.deleted ? null : this.spec.valueSerde.serialize(e.value as V)
      checkValueSize(this.spec, e.bytesKey, serialized)
      e.dirty = false
      e.takenDeleted = e.deleted
      e.takenSerialized = serialized
      e.takenMs = e.writtenMs
      this.awaiting.push(e)
      if (!e.unpersisted) {
        e.unpersisted = true
        this.taken.push(e)
      }
      out.push(changelogEntry(e.bytesKey, serialized, e.deleted, e.writtenMs))
    }
    return out
  }

  /**
   * The taken writes are committed. A committed delete of a key lmdb lacks (put and deleted since
   * lmdb was last written: a join's record that expired, a window that closed) leaves the cache
   * at once, unless written again since: lmdb needs nothing for it and the changelog ends with its
   * tombstone, so it counts for no persist and holds no memory until one. Returns the entries
   * that left, for the store's own index.
   */
  commitTaken(): CacheEntry<K, V>[] {
    const gone: CacheEntry<K, V>[] = []
    for (const e of this.awaiting) {
      if (e.takenDeleted && !e.inBytes) {
        if (e.committed) this.committedCount--
        e.committed = false
        e.takenSerialized = null
        e.committedSerialized = null
        if (!e.dirty && e.live) {
          // lmdb lacks nothing of it: a later put of the key deleted before it is taken needs no
          // tombstone (the changelog's last record of the key is this one).
          e.unpersisted = false
          this.deadTaken++
          this.entries.delete(e.id)
          e.live = false
          gone.push(e)
        }
        continue
      }
      if (!e.committed) this.committedCount++
      e.committed = true
      e.committedDeleted = e.takenDeleted
      e.committedSerialized = e.takenSerialized
      e.committedMs = e.takenMs
    }
    this.awaiting = []
    // The taken list keeps them until the next persist; past half of it, it sheds them.
    if (this.deadTaken > 1024 && this.deadTaken * 2 > this.taken.length) {
      this.taken = this.taken.filter((e) => e.unpersisted)
      this.deadTaken = 0
    }
    return gone
  }

  get unpersisted(): number {
    return this.committedCount
  }

  /** True when an entry changed since the last `takeDirty`. */
  hasDirty(): boolean {
    return this.dirtyEntries.some((e) => e.live && e.dirty)
  }

  pendingWrites(): BytesWrite[] {
    const out: BytesWrite[] = []
    for (const e of this.taken) {
      // (A committed delete of a key lmdb lacks is never here: commitTaken let it go.)
      if (!e.committed) continue
      out.push({
        key: e.bytesKey,
        value: e.committedDeleted ? null : encodeStoredValue(e.committedSerialized, e.committedMs),
      })
    }
    return out
  }

  /**
   * The committed writes are in lmdb (called between a commit and the next `takeDirty`). Entries
   * not written since stay as a read cache (lmdb now holds exactly their value, so reads skip lmdb
   * and the serde), up to `cleanEntriesMax`: the oldest beyond it, and deletes, leave the cache.
   * Returns the entries that left.
   */
  markPersisted(): CacheEntry<K, V>[] {
    this.committedCount = 0
    const evicted: CacheEntry<K, V>[] = []
    const taken = this.taken
    this.taken = []
    this.deadTaken = 0
    // Only the entries just written to lmdb change how they count; every other one stands.
    for (const e of taken) {
      e.unpersisted = false
      const committed = e.committed
      e.committed = false
      e.takenSerialized = null
      e.committedSerialized = null
      if (!e.live || !committed) continue
      this.sizeDelta -= contribution(e)
      e.inBytes = !e.committedDeleted
      if (!e.dirty && e.deleted) {
        this.entries.delete(e.id)
        e.live = false
        evicted.push(e)
        continue // lmdb no longer has it, nor does the cache
      }
      this.sizeDelta += contribution(e)
    }
    let excess = this.entries.size - this.cleanEntriesMax
    if (excess > 0) {
      // Map order is insertion order: the oldest entries go first.
      for (const e of this.entries.values()) {
        if (excess <= 0) break
        if (e.dirty) continue
        this.entries.delete(e.id)
        e.live = false
        evicted.push(e)
        excess--
      }
    }
    return evicted
  }

  discard(): void {
    for (const e of this.entries.values()) e.live = false
    this.entries.clear()
    this.dirtyEntries = []
    this.awaiting = []
    this.taken = []
    this.deadTaken = 0
    this.committedCount = 0
    this.sizeDelta = 0
  }
}

function contribution(e: CacheEntry<unknown, unknown>): number {
  return (e.deleted ? 0 : 1) - (e.inBytes ? 1 : 0)
}

/** True when an entry last written at `writtenMs` has outlived the store's TTL at `nowMs`. */
export function isExpired(ttlMs: number | undefined, writtenMs: number, nowMs: number): boolean {
  return ttlMs !== undefined && nowMs - writtenMs >= ttlMs
}
