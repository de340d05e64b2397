// One lmdb environment per task directory: a named database per store, and a meta database that
// holds, per store, the changelog offset its local data reflects (the checkpoint). Data and
// checkpoints change together in one lmdb transaction, so a crash leaves both old or both new.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { type Database, open, type RootDatabase } from 'lmdb'
import { assert } from '../core/assert.js'
import { EddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'

/** Where a store's local data stands on its changelog: every committed record before `offset` is applied. */
export interface Checkpoint {
  readonly topic: string
  readonly partition: number
  /** The next changelog offset to apply. */
  readonly offset: number
}

/** One write to the bytes of a store: a value, or null to delete. */
export interface BytesWrite {
  readonly key: Buffer
  readonly value: Buffer | null
}

/** Changes to one store, and optionally its new checkpoint, for `LmdbEnv.write`. */
export interface StoreWrite {
  readonly store: string
  readonly writes: readonly BytesWrite[]
  readonly checkpoint?: Checkpoint
}

/** Synchronous, read-only access to one store's bytes, ordered by key. */
export interface BytesStore {
  get(key: Buffer): Buffer | undefined
  has(key: Buffer): boolean
  /** Entries with start <= key < end, in key order, over a snapshot taken when iteration starts. */
  range(start?: Buffer, end?: Buffer): Iterable<[Buffer, Buffer]>
  /** Number of entries. */
  count(): number
}

const META_DB = 'eddy:meta'
const FORMAT_KEY = Buffer.from('eddy:format')
const FORMAT_VERSION = 1
const STORE_DB_PREFIX = 'store:'
/** Task directory names reach the file system: keep them to a safe alphabet. */
const SAFE_NAME = /^[A-Za-z0-9._-]{1,200}$/

/** `<stateDir>/<appId>/<taskId>`, with both names checked. */
export function taskStateDir(stateDir: string, appId: string, taskId: string): string {
  for (const [what, name] of [
    ['app id', appId],
    ['task id', taskId],
  ] as const) {
    if (!SAFE_NAME.test(name) || name === '.' || name === '..') {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `${what} ${JSON.stringify(name)} cannot name a state directory: use 1-200 of [A-Za-z0-9._-]`,
      )
    }
  }
  return path.join(stateDir, appId, taskId)
}

/**
 * The tasks of an app that have a state directory under `stateDir` (left by this process or an
 * earlier run): where restoring them would start from a local checkpoint, not from scratch.
 */
export function localTaskIds(stateDir: string, appId: string): string[] {
  try {
    return fs
      .readdirSync(path.join(stateDir, appId), { withFileTypes: true })
      .filter((e) => e.isDirectory() && /^\d+_\d+$/.test(e.name))
      .map((e) => e.name)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
}

export class LmdbEnv {
  private readonly dbs = new Map<string, Database<Buffer, Buffer>>()
  /** Entry counts, cached until the next write (lmdb's stat is cheap, not free). */
  private readonly counts = new Map<string, number>()
  private closed = false

  private constructor(
    readonly dir: string,
    private readonly root: RootDatabase<Buffer, Buffer>,
    private readonly meta: Database<Buffer, Buffer>,
  ) {}

  /** Opens (creating if needed) the environment in `dir`, with a database per store name. */
  static open(dir: string, storeNames: readonly string[]): LmdbEnv {
    assert(new Set(storeNames).size === storeNames.length, 'store names must be unique')
    let root: RootDatabase<Buffer, Buffer>
    try {
      fs.mkdirSync(dir, { recursive: true })
      root = open<Buffer, Buffer>({
        path: dir,
        maxDbs: storeNames.length + 2,
        encoding: 'binary',
        keyEncoding: 'binary',
      })
    } catch (err) {
      throw new EddyError(
        'IO',
        `cannot open the state store in ${dir}: ${(err as Error).message}. Check the directory's permissions and free space, or delete it to rebuild the state from the changelogs`,
        { cause: err },
      )
    }
    const meta = root.openDB({ name: META_DB, encoding: 'binary', keyEncoding: 'binary' })
    const env = new LmdbEnv(dir, root, meta)
    env.checkFormat()
    for (const name of storeNames) {
      env.dbs.set(
        name,
        root.openDB({ name: STORE_DB_PREFIX + name, encoding: 'binary', keyEncoding: 'binary' }),
      )
    }
    return env
  }

  private checkFormat(): void {
    const stored = this.meta.get(FORMAT_KEY)
    if (stored === undefined) {
      this.root.transactionSync(() => this.meta.putSync(FORMAT_KEY, Buffer.from(String(FORMAT_VERSION))))
      return
    }
    if (stored.toString() !== String(FORMAT_VERSION)) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `the state store in ${this.dir} has format ${stored.toString()}, this Eddy reads format ${FORMAT_VERSION}: delete the directory to rebuild the state from the changelogs`,
      )
    }
  }

  private db(store: string): Database<Buffer, Buffer> {
    this.checkOpen()
    const db = this.dbs.get(store)
    assert(db !== undefined, `store ${store} is not in the environment of ${this.dir}`)
    return db
  }

  /** Read access to one store's bytes. */
  bytes(store: string): BytesStore {
    const db = this.db(store)
    return {
      get: (key) => db.get(key),
      has: (key) => db.doesExist(key),
      range: (start, end) => rangeOf(db, start, end),
      count: () => {
        let n = this.counts.get(store)
        if (n === undefined) {
          n = (db.getStats() as { entryCount: number }).entryCount
          this.counts.set(store, n)
        }
        return n
      },
    }
  }

  /** The checkpoint of a store, or null when it has none (or an unreadable one: then rebuild). */
  checkpoint(store: string): Checkpoint | null {
    this.db(store)
    const stored = this.meta.get(checkpointKey(store))
    if (stored === undefined) return null
    try {
      const c = JSON.parse(stored.toString('utf8')) as Checkpoint
      if (
        typeof c.topic === 'string' &&
        Number.isSafeInteger(c.partition) &&
        Number.isSafeInteger(c.offset)
      ) {
        if (c.partition >= 0 && c.offset >= 0)
          return { topic: c.topic, partition: c.partition, offset: c.offset }
      }
    } catch {
      // Unreadable: treated as absent, so the store is rebuilt from its changelog.
    }
    return null
  }

  /** Applies every store's writes and checkpoints in one lmdb transaction: all of them or none. */
  write(changes: readonly StoreWrite[]): void {
    const targets = changes.map((c) => {
      const db = this.db(c.store)
      for (const w of c.writes) {
        assert(w.key.length > 0 && w.key.length <= 1978, `store ${c.store}: key of ${w.key.length} bytes`)
      }
      if (c.checkpoint) checkCheckpoint(c.checkpoint)
      return { db, change: c }
    })
    this.root.transactionSync(() => {
      for (const { db, change } of targets) {
        for (const w of change.writes) {
          if (w.value === null) db.removeSync(w.key)
          else db.putSync(w.key, w.value)
        }
        if (change.checkpoint) {
          this.meta.putSync(checkpointKey(change.store), Buffer.from(JSON.stringify(change.checkpoint)))
        }
      }
    })
    for (const c of changes) this.counts.delete(c.store)
  }

  /** Deletes a store's entries and checkpoint, in one transaction. */
  clear(store: string): void {
    const db = this.db(store)
    this.root.transactionSync(() => {
      db.clearSync()
      this.meta.removeSync(checkpointKey(store))
    })
    this.counts.delete(store)
  }

  private checkOpen(): void {
    if (this.closed) throw new EddyError('INVALID_ARGUMENT', `the state store in ${this.dir} is closed`)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.root.close()
  }

  /** Closes the environment and deletes its directory: the state is rebuilt from the changelogs on the next open. */
  async destroy(): Promise<void> {
    await this.close()
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}

function checkpointKey(store: string): Buffer {
  return Buffer.from(`checkpoint:${store}`, 'utf8')
}

function checkCheckpoint(c: Checkpoint): void {
  assert(c.topic.length > 0 && c.topic.length <= limits.topicNameLengthMax, `checkpoint topic ${c.topic}`)
  assert(Number.isSafeInteger(c.partition) && c.partition >= 0, `checkpoint partition ${c.partition}`)
  assert(Number.isSafeInteger(c.offset) && c.offset >= 0, `checkpoint offset ${c.offset}`)
}

function* rangeOf(db: Database<Buffer, Buffer>, start?: Buffer, end?: Buffer): Generator<[Buffer, Buffer]> {
  const opts: { start?: Buffer; end?: Buffer } = {}
  if (start !== undefined) opts.start = start
  if (end !== undefined) opts.end = end
  for (const { key, value } of db.getRange(opts)) yield [key, value]
}
