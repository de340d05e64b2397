// Tables and the join processors. Every join is a Processor with one input per side (its parents,
// in order: left, right) and its own stores, so its state has a changelog and survives restarts
// like any other.
//
// Semantics (docs/ARCHITECTURE.md has the long form):
// - A table holds the latest value per key; a null value (a tombstone) deletes the key. Its
//   changes flow downstream as records whose value is the new value, or null for a delete.
// - stream–table and as-of joins look the right side up as of the left record's event time: the
//   right side is kept as a short history of versions per key. With a grace period, left records
//   wait until event time has passed them by the grace, so right-side updates that arrive a little
//   out of order are still seen.
// - stream–stream joins pair records of the same key whose times are close enough; a left or
//   outer join emits a record without a partner once no partner can arrive any more.
// - table–table joins keep both sides and emit the joined value (or a tombstone) on every change.
import { keyIdentity } from '../core/store.js'
import type { StreamRecord } from '../core/stream-record.js'
import type { Processor, ProcessorContext } from '../plan/processor.js'

/** Side outputs of the stream–stream join: records of each side that came after every partner they could have had was let go. */
export const LATE_LEFT_OUTPUT = 'late-left'
export const LATE_RIGHT_OUTPUT = 'late-right'

export type JoinType = 'inner' | 'left' | 'outer'

type Ctx = ProcessorContext<unknown, unknown>
type AnyRecord = StreamRecord<unknown, unknown>

/** A record with a new value (and optionally time): one object shape for V8. */
function withValue(r: AnyRecord, value: unknown, timestamp = r.timestamp): AnyRecord {
  return {
    key: r.key,
    value,
    timestamp,
    headers: r.headers,
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
  }
}

/** An entry of a DueQueue: `key` (at `start`) is due once event time reaches `at`. */
interface Due<K> {
  readonly at: number
  readonly seq: number
  readonly key: K
  readonly start: number
}

const NONE_DUE: readonly Due<never>[] = []

const dueBefore = <K>(a: Due<K>, b: Due<K>) => a.at < b.at || (a.at === b.at && a.seq < b.seq)

/**
 * What waits for event time, earliest first and in the order added among equals: a binary heap.
 * A join holds one entry per waiting record (tens of thousands): a heap of plain objects costs
 * far less per entry than windows' CloseIndex, whose nested Maps suit fewer, shared close times.
 */
export class DueQueue<K> {
  private readonly heap: Due<K>[] = []
  private seq = 0

  get size(): number {
    return this.heap.length
  }

  add(at: number, key: K, start: number): void {
    const h = this.heap
    const e: Due<K> = { at, seq: this.seq++, key, start }
    let i = h.length
    h.push(e)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!dueBefore(e, h[parent]!)) break
      h[i] = h[parent]!
      i = parent
    }
    h[i] = e
  }

  /** Removes and returns the entries due at `watermark`, earliest first. */
  takeDue(watermark: number): readonly Due<K>[] {
    const h = this.heap
    if (h.length === 0 || h[0]!.at > watermark) return NONE_DUE
    const out: Due<K>[] = []
    while (h.length > 0 && h[0]!.at <= watermark) {
      out.push(h[0]!)
      const last = h.pop()!
      if (h.length === 0) break
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= h.length) break
        const c = l + 1 < h.length && dueBefore(h[l + 1]!, h[l]!) ? l + 1 : l
        if (!dueBefore(h[c]!, last)) break
        h[i] = h[c]!
        i = c
      }
      h[i] = last
    }
    return out
  }
}

/** Materializes a stream of upserts and tombstones as a table; forwards every upsert and delete. */
export class TableProcessor implements Processor<unknown, unknown, unknown, unknown> {
  constructor(private readonly storeName: string) {}

  process(record: AnyRecord, ctx: Ctx): void {
    if (record.key === null || record.key === undefined) return // a table row needs a key
    const store = ctx.keyValueStore<unknown, unknown>(this.storeName)
    if (record.value === null || record.value === undefined) {
      if (store.get(record.key) !== undefined) store.delete(record.key)
      // Passed on even when the key is not in the table: out of order, it may have been deleted
      // by an older tombstone processed later, and lookups as of event time need this delete.
      ctx.forward(withValue(record, null))
      return
    }
    store.put(record.key, record.value)
    ctx.forward(record)
  }
}

/** [time, value] pairs of one key, oldest first; a null value means deleted from then on. */
type Versions = [number, unknown][]

/** The version in force at time `t` (the newest at or before it); undefined when there is none. */
export function versionAsOf(versions: Versions | undefined, t: number): [number, unknown] | undefined {
  if (versions === undefined) return undefined
  let lo = 0
  let hi = versions.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (versions[mid]![0] <= t) {
      found = mid
      lo = mid + 1
    } else {
      hi = mid - 1
    }
  }
  return found < 0 ? undefined : versions[found]
}

/**
 * Adds a version and drops those no lookup can need: versions older than `cutoff`, except the
 * newest of them (it is still the value as of the cutoff). Returns null when nothing is left.
 */
export function addVersion(
  versions: Versions | undefined,
  t: number,
  value: unknown,
  cutoff: number,
): Versions | null {
  const out: Versions = versions === undefined ? [] : versions.slice()
  let i = out.length
  while (i > 0 && out[i - 1]![0] > t) i--
  if (i > 0 && out[i - 1]![0] === t) out[i - 1] = [t, value]
  else out.splice(i, 0, [t, value])
  let keepFrom = 0
  while (keepFrom + 1 < out.length && out[keepFrom + 1]![0] <= cutoff) keepFrom++
  const kept = keepFrom > 0 ? out.slice(keepFrom) : out
  if (kept.length === 1 && kept[0]![1] === null && kept[0]![0] <= cutoff) return null
  return kept
}

export interface LookupJoinOptions {
  readonly type: 'inner' | 'left'
  /** Left records wait this long in event time before they are joined (0: at once). */
  readonly graceMs: number
  /** How far back right-side versions are kept, before the newest event time seen. */
  readonly historyMs: number
  /** As-of joins: a right value older than this before the left record does not match. */
  readonly maxLookbackMs?: number
  /** Stream–table joins take tombstones from the right; as-of joins (stream on the right) do not. */
  readonly rightIsTable: boolean
  readonly joiner: (left: unknown, right: unknown, record: AnyRecord) => unknown
  readonly versionsStore: string
  readonly bufferStore: string
}

/**
 * The stream–table and as-of joins: input 0 is the stream, input 1 the table's changes (or the
 * right stream). The right side is a short history of versions per key; a left record reads the
 * version at or before its own time.
 */
export class LookupJoinProcessor implements Processor<unknown, unknown, unknown, unknown> {
  /** Keeps keys and values, never the record object: the runtime may reuse it. */
  readonly borrowsRecords = true
  /** Left records waiting for the grace period, by the time they are due. */
  private readonly due = new DueQueue<string>()
  private seq = 0
  private newest = Number.NEGATIVE_INFINITY

  constructor(private readonly opts: LookupJoinOptions) {}

  init(ctx: Ctx): void {
    if (this.opts.graceMs <= 0) return
    for (const [id, r] of ctx.keyValueStore<string, Buffered>(this.opts.bufferStore).entries()) {
      this.due.add(r.timestamp + this.opts.graceMs, id, r.timestamp)
      const n = Number(id.slice(id.lastIndexOf(':') + 1))
      if (n >= this.seq) this.seq = n + 1
    }
  }

  process(record: AnyRecord, ctx: Ctx): void {
    this.processFrom(0, record, ctx)
  }

  processFrom(input: number, record: AnyRecord, ctx: Ctx): void {
    if (input === 1) {
      this.update(record, ctx)
      return
    }
    const { graceMs } = this.opts
    if (graceMs > 0 && record.timestamp + graceMs > ctx.watermark) {
      // Wait until every right-side update up to this record's time has had its chance to arrive.
      const id = `${record.timestamp}:${this.seq++}`
      ctx.keyValueStore<string, Buffered>(this.opts.bufferStore).put(id, toBuffered(record))
      this.due.add(record.timestamp + graceMs, id, record.timestamp)
      return
    }
    this.join(record, ctx)
  }

  onWatermark(watermark: number, ctx: Ctx): void {
    if (this.opts.graceMs <= 0) return
    const buffer = ctx.keyValueStore<string, Buffered>(this.opts.bufferStore)
    for (const w of this.due.takeDue(watermark)) {
      const r = buffer.get(w.key)
      if (r === undefined) continue
      buffer.delete(w.key)
      this.join(fromBuffered(r), ctx)
    }
  }

  private update(record: AnyRecord, ctx: Ctx): void {
    if (record.key === null || record.key === undefined) return
    const isDelete = record.value === null || record.value === undefined
    if (isDelete && !this.opts.rightIsTable) return
    const store = ctx.keyValueStore<unknown, Versions>(this.opts.versionsStore)
    if (record.timestamp > this.newest) this.newest = record.timestamp
    const cutoff = Math.min(this.newest, ctx.watermark) - this.opts.historyMs
    const next = addVersion(store.get(record.key), record.timestamp, isDelete ? null : record.value, cutoff)
    if (next === null) store.delete(record.key)
    else store.put(record.key, next)
  }

  private join(record: AnyRecord, ctx: Ctx): void {
    const { type, joiner, maxLookbackMs } = this.opts
    let right: unknown
    if (record.key !== null && record.key !== undefined) {
      const versions = ctx.keyValueStore<unknown, Versions>(this.opts.versionsStore).get(record.key)
      const version = versionAsOf(versions, record.timestamp)
      // A null value is a delete; a version older than the lookback does not match.
      const tooOld =
        maxLookbackMs !== undefined && version !== undefined && record.timestamp - version[0] > maxLookbackMs
      right = version === undefined || version[1] === null || tooOld ? undefined : version[1]
    }
    if (right === undefined) {
      if (type === 'inner') return
      ctx.forward(withValue(record, joiner(record.value, null, record)))
      return
    }
    ctx.forward(withValue(record, joiner(record.value, right, record)))
  }
}

/** A left record waiting in the buffer store, in JSON: header values (bytes) as base64. */
interface Buffered {
  readonly key: unknown
  readonly value: unknown
  readonly timestamp: number
  readonly headers: readonly { key: string; value: string | null }[]
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

function toBuffered(r: AnyRecord): Buffered {
  return {
    ...r,
    headers: r.headers.map((h) => ({
      key: h.key,
      value: h.value === null ? null : h.value.toString('base64'),
    })),
  }
}

function fromBuffered(b: Buffered): AnyRecord {
  return {
    ...b,
    headers: b.headers.map((h) => ({
      key: h.key,
      value: h.value === null ? null : Buffer.from(h.value, 'base64'),
    })),
  }
}

/** One side's records of a key at one time; `m` says whether it has found a partner. */
interface Waiting {
  readonly v: unknown
  readonly m: boolean
}

export interface WindowJoinOptions {
  readonly type: JoinType
  /** A left record at t joins right records in [t - beforeMs, t + afterMs]. */
  readonly beforeMs: number
  readonly afterMs: number
  readonly graceMs: number
  readonly joiner: (left: unknown, right: unknown, key: unknown) => unknown
  readonly leftStore: string
  readonly rightStore: string
}

/**
 * The stream–stream windowed (interval) join. Each side's records wait in a window store (by key
 * and time) as long as a partner may still come; the output's time is the later of the two.
 */
export class WindowJoinProcessor implements Processor<unknown, unknown, unknown, unknown> {
  /** Keeps keys and values, never the record object: the runtime may reuse it. */
  readonly borrowsRecords = true
  private readonly leftClose = new DueQueue<unknown>()
  private readonly rightClose = new DueQueue<unknown>()
  /**
   * Per side, key → the times it has records waiting at, ascending: what the window stores hold,
   * so a record reads only the partners in its window (point reads), not a range of the store.
   */
  private readonly times: [Map<unknown, number[]>, Map<unknown, number[]>] = [new Map(), new Map()]

  constructor(private readonly opts: WindowJoinOptions) {}

  /** When no more partners can arrive for a left (or right) record at `t`. */
  private closeAt(side: 0 | 1, t: number): number {
    return t + (side === 0 ? this.opts.afterMs : this.opts.beforeMs) + this.opts.graceMs
  }

  init(ctx: Ctx): void {
    for (const [key, t] of ctx.windowStore<unknown, Waiting[]>(this.opts.leftStore).entries()) {
      this.leftClose.add(this.closeAt(0, t), key, t)
      this.addTime(0, keyIdentity(key), t)
    }
    for (const [key, t] of ctx.windowStore<unknown, Waiting[]>(this.opts.rightStore).entries()) {
      this.rightClose.add(this.closeAt(1, t), key, t)
      this.addTime(1, keyIdentity(key), t)
    }
  }

  private addTime(side: 0 | 1, id: unknown, t: number): void {
    const list = this.times[side].get(id)
    if (list === undefined) {
      this.times[side].set(id, [t])
      return
    }
    // Times mostly arrive in order: insert from the end.
    let i = list.length
    while (i > 0 && list[i - 1]! > t) i--
    if (list[i - 1] !== t) list.splice(i, 0, t)
  }

  private removeTime(side: 0 | 1, id: unknown, t: number): void {
    const list = this.times[side].get(id)
    if (list === undefined) return
    const i = firstAtOrAfter(list, t)
    if (list[i] !== t) return
    if (list.length === 1) this.times[side].delete(id)
    else list.splice(i, 1)
  }

  process(record: AnyRecord, ctx: Ctx): void {
    this.processFrom(0, record, ctx)
  }

  processFrom(input: number, record: AnyRecord, ctx: Ctx): void {
    const side = input === 0 ? 0 : 1
    const key = record.key
    const t = record.timestamp
    const closeAt = this.closeAt(side, t)
    if (key === null || key === undefined) {
      // No key, no partner: only a left or outer join keeps it.
      if (this.emitsUnmatched(side))
        ctx.forward(withValue(record, this.joined(side, record.value, null, key)))
      return
    }
    if (closeAt <= ctx.watermark) {
      // Every partner it could have had has been let go already: it is late.
      ctx.forwardTo(side === 0 ? LATE_LEFT_OUTPUT : LATE_RIGHT_OUTPUT, record)
      return
    }
    const { beforeMs, afterMs } = this.opts
    const mine = ctx.windowStore<unknown, Waiting[]>(side === 0 ? this.opts.leftStore : this.opts.rightStore)
    const other = ctx.windowStore<unknown, Waiting[]>(side === 0 ? this.opts.rightStore : this.opts.leftStore)
    const id = keyIdentity(key)
    // Partners' times: a left record at t pairs with rights in [t - before, t + after]; a right
    // record at t with lefts in [t - after, t + before].
    const from = side === 0 ? t - beforeMs : t - afterMs
    const to = side === 0 ? t + afterMs : t + beforeMs
    let matched = false
    // Whether a partner has been found matters only to joins that emit the lonely ones.
    const markOthers = this.emitsUnmatched(side === 0 ? 1 : 0)
    const otherTimes = this.times[side === 0 ? 1 : 0].get(id)
    if (otherTimes !== undefined) {
      const updates: [number, Waiting[]][] = []
      for (let i = firstAtOrAfter(otherTimes, from); i < otherTimes.length && otherTimes[i]! <= to; i++) {
        const ot = otherTimes[i]!
        const waiting = other.get(key, ot)
        if (waiting === undefined) continue
        matched = true
        for (const w of waiting) {
          ctx.forward(withValue(record, this.joined(side, record.value, w.v, key), Math.max(t, ot)))
        }
        if (markOthers && waiting.some((w) => !w.m))
          updates.push([ot, waiting.map((w) => (w.m ? w : { v: w.v, m: true }))])
      }
      for (const [ot, waiting] of updates) other.put(key, ot, waiting)
    }
    const myTimes = this.times[side].get(id)
    const prev =
      myTimes !== undefined && myTimes[firstAtOrAfter(myTimes, t)] === t ? mine.get(key, t) : undefined
    mine.put(
      key,
      t,
      prev === undefined ? [{ v: record.value, m: matched }] : [...prev, { v: record.value, m: matched }],
    )
    if (prev === undefined) {
      const close = side === 0 ? this.leftClose : this.rightClose
      close.add(closeAt, key, t)
      this.addTime(side, id, t)
    }
  }

  onWatermark(watermark: number, ctx: Ctx): void {
    this.expire(0, watermark, ctx)
    this.expire(1, watermark, ctx)
  }

  private emitsUnmatched(side: 0 | 1): boolean {
    return this.opts.type === 'outer' || (this.opts.type === 'left' && side === 0)
  }

  private joined(side: 0 | 1, mine: unknown, other: unknown, key: unknown): unknown {
    return side === 0 ? this.opts.joiner(mine, other, key) : this.opts.joiner(other, mine, key)
  }

  /** Lets go of records no partner can reach any more; a left/outer join emits the lonely ones. */
  private expire(side: 0 | 1, watermark: number, ctx: Ctx): void {
    const store = ctx.windowStore<unknown, Waiting[]>(side === 0 ? this.opts.leftStore : this.opts.rightStore)
    const emit = this.emitsUnmatched(side)
    for (const w of (side === 0 ? this.leftClose : this.rightClose).takeDue(watermark)) {
      this.removeTime(side, keyIdentity(w.key), w.start)
      if (!emit) {
        store.delete(w.key, w.start)
        continue
      }
      const waiting = store.get(w.key, w.start)
      if (waiting === undefined) continue
      store.delete(w.key, w.start)
      for (const x of waiting) {
        if (x.m) continue
        ctx.forward({
          key: w.key,
          value: this.joined(side, x.v, null, w.key),
          timestamp: w.start,
          headers: [],
          topic: '',
          partition: -1,
          offset: -1,
        })
      }
    }
  }
}

/** The index of the first time in ascending `times` at or after `t` (times.length if none). */
function firstAtOrAfter(times: readonly number[], t: number): number {
  let lo = 0
  let hi = times.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (times[mid]! < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** One side of a table–table join: the value and its time. */
interface Row {
  readonly v: unknown
  readonly t: number
}

export interface TableJoinOptions {
  readonly type: JoinType
  readonly joiner: (left: unknown, right: unknown, key: unknown) => unknown
  readonly leftStore: string
  readonly rightStore: string
}

/** The table–table join: both sides' latest values; each change emits the new joined value or a tombstone. */
export class TableJoinProcessor implements Processor<unknown, unknown, unknown, unknown> {
  constructor(private readonly opts: TableJoinOptions) {}

  process(record: AnyRecord, ctx: Ctx): void {
    this.processFrom(0, record, ctx)
  }

  processFrom(input: number, record: AnyRecord, ctx: Ctx): void {
    const key = record.key
    if (key === null || key === undefined) return
    const side = input === 0 ? 0 : 1
    const mine = ctx.keyValueStore<unknown, Row>(side === 0 ? this.opts.leftStore : this.opts.rightStore)
    const other = ctx.keyValueStore<unknown, Row>(side === 0 ? this.opts.rightStore : this.opts.leftStore)
    const before = mine.get(key)
    const deleted = record.value === null || record.value === undefined
    if (deleted) {
      if (before === undefined) return
      mine.delete(key)
    } else {
      mine.put(key, { v: record.value, t: record.timestamp })
    }
    const partner = other.get(key)
    const left = side === 0 ? (deleted ? undefined : record.value) : partner?.v
    const right = side === 0 ? partner?.v : deleted ? undefined : record.value
    const oldLeft = side === 0 ? before?.v : partner?.v
    const oldRight = side === 0 ? partner?.v : before?.v
    const timestamp = Math.max(record.timestamp, partner?.t ?? Number.NEGATIVE_INFINITY)
    if (this.hasResult(left, right)) {
      ctx.forward(withValue(record, this.opts.joiner(left ?? null, right ?? null, key), timestamp))
    } else if (this.hasResult(oldLeft, oldRight)) {
      ctx.forward(withValue(record, null, timestamp))
    }
  }

  private hasResult(left: unknown, right: unknown): boolean {
    if (this.opts.type === 'inner') return left !== undefined && right !== undefined
    if (this.opts.type === 'left') return left !== undefined
    return left !== undefined || right !== undefined
  }
}

export interface GlobalJoinOptions {
  readonly type: 'inner' | 'left'
  readonly table: string
  readonly keyOf: (value: unknown, record: AnyRecord) => unknown
  readonly joiner: (left: unknown, right: unknown, record: AnyRecord) => unknown
}

/** The stream–global table join: a lookup by a key computed from the record, in what is loaded now. */
export class GlobalJoinProcessor implements Processor<unknown, unknown, unknown, unknown> {
  constructor(private readonly opts: GlobalJoinOptions) {}

  process(record: AnyRecord, ctx: Ctx): void {
    const key = this.opts.keyOf(record.value, record)
    const right = key === null || key === undefined ? undefined : ctx.globalTable(this.opts.table).get(key)
    if (right === undefined) {
      if (this.opts.type === 'left')
        ctx.forward(withValue(record, this.opts.joiner(record.value, null, record)))
      return
    }
    ctx.forward(withValue(record, this.opts.joiner(record.value, right, record)))
  }
}

// The foreign-key table–table join, in three steps (as Kafka Streams does it):
// 1. left side (with the left table's task): keeps the left rows, and sends a subscription to
//    the partition of the row's foreign key: subscribe (with a hash of the row), unsubscribe
//    (the foreign key changed), or delete (the row was deleted);
// 2. right side (with the right table's task): keeps the right rows and who subscribes to each
//    foreign key; answers each subscription, and every subscriber when a right row changes;
// 3. resolve (back with the left table's task, reading step 1's store): joins a response with the
//    current left row, and drops responses meant for a row that has changed since (hash differs).

/** A subscription, keyed by the foreign key. */
interface Subscription {
  readonly op: 'sub' | 'unsub' | 'delete'
  /** The left row's key. */
  readonly k: unknown
  /** Hash of the left row's value (sub only). */
  readonly h?: number
}

/** A response, keyed by the left row's key. */
interface Response {
  readonly op: 'row' | 'delete'
  readonly h?: number
  /** The right row's value, or null when there is none. */
  readonly rv?: unknown
}

/** The left row as step 1 keeps it. */
interface LeftRow {
  readonly v: unknown
  readonly fk: unknown
}

/** A 32-bit FNV-1a hash of a value's JSON: enough to tell a changed row from the one a response was for. */
export function rowHash(value: unknown): number {
  const s = JSON.stringify(value) ?? ''
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

function sameKey(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && a !== null && JSON.stringify(a) === JSON.stringify(b))
}

/** Step 1: keeps the left rows; forwards subscriptions keyed by foreign key. */
export class ForeignKeyLeftProcessor implements Processor<unknown, unknown, unknown, unknown> {
  constructor(
    private readonly storeName: string,
    private readonly foreignKeyOf: (value: unknown) => unknown,
  ) {}

  process(record: AnyRecord, ctx: Ctx): void {
    const k = record.key
    if (k === null || k === undefined) return
    const store = ctx.keyValueStore<unknown, LeftRow>(this.storeName)
    const old = store.get(k)
    const send = (fk: unknown, s: Subscription) => ctx.forward({ ...record, key: fk ?? null, value: s })
    if (record.value === null || record.value === undefined) {
      if (old === undefined) return
      store.delete(k)
      send(old.fk, { op: 'delete', k })
      return
    }
    const fk = this.foreignKeyOf(record.value) ?? null
    store.put(k, { v: record.value, fk })
    if (old !== undefined && !sameKey(old.fk, fk)) send(old.fk, { op: 'unsub', k })
    send(fk, { op: 'sub', k, h: rowHash(record.value) })
  }
}

/** Step 2: input 0 the subscriptions, input 1 the right table's changes; forwards responses keyed by the left key. */
export class ForeignKeyRightProcessor implements Processor<unknown, unknown, unknown, unknown> {
  constructor(
    private readonly subscribersStore: string,
    private readonly rightStore: string,
  ) {}

  process(record: AnyRecord, ctx: Ctx): void {
    this.processFrom(0, record, ctx)
  }

  processFrom(input: number, record: AnyRecord, ctx: Ctx): void {
    const fk = record.key
    const right = ctx.keyValueStore<unknown, Row>(this.rightStore)
    const subscribers = ctx.keyValueStore<unknown, Record<string, [unknown, number]>>(this.subscribersStore)
    const respond = (k: unknown, r: Response, timestamp: number) =>
      ctx.forward({ ...record, key: k, value: r, timestamp })
    if (input === 0) {
      const s = record.value as Subscription
      const hasFk = fk !== null && fk !== undefined
      const id = JSON.stringify(s.k)
      if (hasFk) {
        const subs = subscribers.get(fk)
        if (s.op === 'sub') {
          subscribers.put(fk, { ...subs, [id]: [s.k, s.h!] })
        } else if (subs !== undefined && id in subs) {
          const { [id]: _, ...rest } = subs
          if (Object.keys(rest).length === 0) subscribers.delete(fk)
          else subscribers.put(fk, rest)
        }
      }
      if (s.op === 'delete') respond(s.k, { op: 'delete' }, record.timestamp)
      if (s.op === 'sub') {
        const row = hasFk ? right.get(fk) : undefined
        respond(
          s.k,
          { op: 'row', h: s.h!, rv: row === undefined ? null : row.v },
          Math.max(record.timestamp, row?.t ?? Number.NEGATIVE_INFINITY),
        )
      }
      return
    }
    if (fk === null || fk === undefined) return
    const deleted = record.value === null || record.value === undefined
    if (deleted) {
      if (right.get(fk) === undefined) return
      right.delete(fk)
    } else {
      right.put(fk, { v: record.value, t: record.timestamp })
    }
    const subs = subscribers.get(fk)
    if (subs === undefined) return
    for (const [k, h] of Object.values(subs)) {
      respond(k, { op: 'row', h, rv: deleted ? null : record.value }, record.timestamp)
    }
  }
}

/** Step 3: joins responses with the current left row, reading step 1's store. */
export class ForeignKeyResolveProcessor implements Processor<unknown, unknown, unknown, unknown> {
  constructor(
    private readonly leftStore: string,
    private readonly type: 'inner' | 'left',
    private readonly joiner: (left: unknown, right: unknown, key: unknown) => unknown,
  ) {}

  process(record: AnyRecord, ctx: Ctx): void {
    const r = record.value as Response
    const k = record.key
    const row = ctx.keyValueStore<unknown, LeftRow>(this.leftStore).get(k)
    if (r.op === 'delete') {
      if (row === undefined) ctx.forward(withValue(record, null))
      return
    }
    // The row changed (or went) since this response was asked for: a newer response is coming.
    if (row === undefined || rowHash(row.v) !== r.h) return
    if (r.rv === null || r.rv === undefined) {
      ctx.forward(withValue(record, this.type === 'left' ? this.joiner(row.v, null, k) : null))
      return
    }
    ctx.forward(withValue(record, this.joiner(row.v, r.rv, k)))
  }
}
