// Event-time windows and the processors that aggregate over them.
//
// Semantics (documented in docs/ARCHITECTURE.md):
// - tumbling and hopping windows are [start, end); a record at t belongs to every window with
//   start <= t < end. A window closes when the task's watermark reaches end + grace.
// - a sliding window is evaluated at each record: the records of its key in [t - size, t]
//   (both ends inclusive, as Kafka Streams' sliding windows). It closes at t + grace. A record
//   whose own window has closed still counts in the later open windows that include it.
// - a session holds records of a key no more than `gap` apart; [first, last] timestamps. It
//   closes at last + gap + grace, when no record in time can extend it any more. A record is
//   judged late by the session it would join, not by its own timestamp alone.
// - a record whose every window is closed is late: it goes to the late side output, never lost
//   silently.
import { type Duration, toMs } from '../core/duration.js'
import { EddyError } from '../core/errors.js'
import { keyIdentity, type StoreView, type WindowStore } from '../core/store.js'
import type { StreamRecord } from '../core/stream-record.js'
import type { Processor, ProcessorContext } from '../plan/processor.js'
import type { Aggregator } from './aggregators.js'

export type WindowSpec =
  | { readonly type: 'tumbling'; readonly sizeMs: number; readonly graceMs: number }
  | {
      readonly type: 'hopping'
      readonly sizeMs: number
      readonly advanceMs: number
      readonly graceMs: number
    }
  | { readonly type: 'sliding'; readonly sizeMs: number; readonly graceMs: number }
  | { readonly type: 'session'; readonly gapMs: number; readonly graceMs: number }

/** A window's result: the key, the window's bounds and the aggregate. */
export interface WindowResult<K, R> {
  readonly key: K
  readonly start: number
  readonly end: number
  readonly value: R
}

/** Emit every update of a window, or only its final result once it closes. */
export type EmitMode = 'current' | 'final'

export const LATE_OUTPUT = 'late'

/**
 * Fixed, non-overlapping windows of `size`.
 * @example clicks.groupBy(c => c.page).window(tumbling({ size: '1m' })).aggregate(count()).final()
 */
export function tumbling(opts: { size: Duration; grace?: Duration }): WindowSpec {
  const sizeMs = toMs(opts.size, 'tumbling window size')
  if (sizeMs <= 0) throw new EddyError('INVALID_ARGUMENT', 'a tumbling window needs a size > 0')
  return { type: 'tumbling', sizeMs, graceMs: toMs(opts.grace ?? 0, 'grace') }
}

/**
 * Windows of `size` starting every `every`; a record is in size/every of them.
 * @example readings.groupBy(r => r.sensor).window(hopping({ size: '5m', every: '1m' })).aggregate(avg(r => r.value))
 */
export function hopping(opts: { size: Duration; every: Duration; grace?: Duration }): WindowSpec {
  const sizeMs = toMs(opts.size, 'hopping window size')
  const advanceMs = toMs(opts.every, 'hopping window step')
  if (sizeMs <= 0 || advanceMs <= 0 || advanceMs > sizeMs) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `a hopping window needs 0 < every <= size, got size ${sizeMs} ms, every ${advanceMs} ms`,
    )
  }
  return { type: 'hopping', sizeMs, advanceMs, graceMs: toMs(opts.grace ?? 0, 'grace') }
}

/**
 * At each record, the aggregate over the key's records in the `size` before it.
 * @example payments.groupBy(p => p.card).window(sliding({ size: '10m' })).aggregate(count()).current()
 */
export function sliding(opts: { size: Duration; grace?: Duration }): WindowSpec {
  const sizeMs = toMs(opts.size, 'sliding window size')
  if (sizeMs <= 0) throw new EddyError('INVALID_ARGUMENT', 'a sliding window needs a size > 0')
  return { type: 'sliding', sizeMs, graceMs: toMs(opts.grace ?? 0, 'grace') }
}

/**
 * Sessions of activity: records of a key no more than `gap` apart.
 * @example views.groupBy(v => v.user).window(session({ gap: '30m' })).aggregate(count()).final()
 */
export function session(opts: { gap: Duration; grace?: Duration }): WindowSpec {
  const gapMs = toMs(opts.gap, 'session gap')
  if (gapMs <= 0) throw new EddyError('INVALID_ARGUMENT', 'a session window needs a gap > 0')
  return { type: 'session', gapMs, graceMs: toMs(opts.grace ?? 0, 'grace') }
}

type Out<K, R> = ProcessorContext<K, WindowResult<K, R>>

/** Open windows by the time they close, so closing them is cheap at each watermark. */
export class CloseIndex<K> {
  // closeAt → window start → key's identity (as a string) → the key. Within a start, a Map
  // keeps insertion order, so windows come out as a (stable) sort by start would give them.
  private readonly byTime = new Map<number, Map<number, Map<string, K>>>()
  private times: number[] = []
  private sorted = true
  // The keys of the last (closeAt, start) added to: the windows opened in a row mostly share it.
  private lastCloseAt = Number.NaN
  private lastStart = Number.NaN
  private lastKeys: Map<string, K> | undefined = undefined

  add(closeAt: number, key: K, start: number): void {
    let keys = this.lastKeys
    if (keys === undefined || closeAt !== this.lastCloseAt || start !== this.lastStart) {
      let m = this.byTime.get(closeAt)
      if (m === undefined) {
        m = new Map()
        this.byTime.set(closeAt, m)
        const last = this.times[this.times.length - 1]
        if (last !== undefined && closeAt < last) this.sorted = false
        this.times.push(closeAt)
      }
      keys = m.get(start)
      if (keys === undefined) {
        keys = new Map()
        m.set(start, keys)
      }
      this.lastCloseAt = closeAt
      this.lastStart = start
      this.lastKeys = keys
    }
    keys.set(String(keyIdentity(key)), key)
  }

  remove(closeAt: number, key: K, start: number): void {
    this.byTime
      .get(closeAt)
      ?.get(start)
      ?.delete(String(keyIdentity(key)))
  }

  /** Removes and returns windows with closeAt <= watermark, earliest first. */
  takeDue(watermark: number): { key: K; start: number; closeAt: number }[] {
    if (this.times.length === 0) return []
    if (!this.sorted) {
      this.times.sort((a, b) => a - b)
      this.sorted = true
    }
    if (this.times[0]! > watermark) return []
    const due: { key: K; start: number; closeAt: number }[] = []
    let i = 0
    while (i < this.times.length && this.times[i]! <= watermark) {
      const t = this.times[i]!
      const m = this.byTime.get(t)
      if (m !== undefined) {
        const starts = m.size === 1 ? [...m.keys()] : [...m.keys()].sort((a, b) => a - b)
        for (const start of starts) {
          for (const key of m.get(start)!.values()) due.push({ key, start, closeAt: t })
        }
      }
      this.byTime.delete(t)
      if (t === this.lastCloseAt) this.lastKeys = undefined
      i++
    }
    this.times = this.times.slice(i)
    return due
  }
}

/** Tumbling and hopping windows: state per (key, window start). */
export class TimeWindowProcessor<K, V, R> implements Processor<K, V, K, WindowResult<K, R>> {
  /** Keeps keys and values, never the record object: the runtime may reuse it. */
  readonly borrowsRecords = true
  private readonly index = new CloseIndex<K>()
  private readonly advanceMs: number
  /** The step's store, looked up once (a processor serves one task, with one context). */
  private store: WindowStore<K, unknown> | undefined = undefined

  constructor(
    private readonly spec: Extract<WindowSpec, { type: 'tumbling' | 'hopping' }>,
    private readonly agg: Aggregator<V, unknown, R>,
    private readonly emit: EmitMode,
    private readonly storeName: string,
  ) {
    this.advanceMs = spec.type === 'hopping' ? spec.advanceMs : spec.sizeMs
  }

  init(ctx: Out<K, R>): void {
    for (const [key, start] of ctx.windowStore<K, unknown>(this.storeName).entries()) {
      this.index.add(start + this.spec.sizeMs + this.spec.graceMs, key, start)
    }
  }

  process(record: StreamRecord<K, V>, ctx: Out<K, R>): void {
    if (this.store === undefined) this.store = ctx.windowStore<K, unknown>(this.storeName)
    const store = this.store
    const t = record.timestamp
    const key = record.key
    const { sizeMs, graceMs } = this.spec
    const advanceMs = this.advanceMs
    const agg = this.agg
    const wm = ctx.watermark
    let updated = false
    // Window starts are multiples of the step with start <= t < start + size, oldest first.
    const lastStart = Math.floor(t / advanceMs) * advanceMs
    let firstStart = lastStart
    while (firstStart - advanceMs > t - sizeMs) firstStart -= advanceMs
    for (let start = firstStart; start <= lastStart; start += advanceMs) {
      const closeAt = start + sizeMs + graceMs
      if (closeAt <= wm) continue // this window already closed
      const prev = store.get(key, start)
      const acc = agg.add(prev === undefined ? agg.init() : prev, record.value)
      store.put(key, start, acc)
      if (prev === undefined) this.index.add(closeAt, key, start)
      if (this.emit === 'current') this.forward(ctx, record, start, acc)
      updated = true
    }
    if (!updated) ctx.forwardTo(LATE_OUTPUT, record)
  }

  onWatermark(watermark: number, ctx: Out<K, R>): void {
    const store = ctx.windowStore<K, unknown>(this.storeName)
    for (const w of this.index.takeDue(watermark)) {
      const acc = store.get(w.key, w.start)
      if (acc === undefined) continue
      if (this.emit === 'final') {
        ctx.forward({
          key: w.key,
          value: { key: w.key, start: w.start, end: w.start + this.spec.sizeMs, value: this.agg.result(acc) },
          timestamp: w.start + this.spec.sizeMs - 1,
          headers: [],
          topic: '',
          partition: -1,
          offset: -1,
        })
      }
      store.delete(w.key, w.start)
    }
  }

  private forward(ctx: Out<K, R>, record: StreamRecord<K, V>, start: number, acc: unknown): void {
    const end = start + this.spec.sizeMs
    ctx.forward({ ...record, value: { key: record.key, start, end, value: this.agg.result(acc) } })
  }
}

interface SessionState {
  readonly end: number
  readonly acc: unknown
}

/** Session windows: per key, sessions keyed by start, merged when a record bridges them. */
export class SessionWindowProcessor<K, V, R> implements Processor<K, V, K, WindowResult<K, R>> {
  /** Keeps keys and values, never the record object: the runtime may reuse it. */
  readonly borrowsRecords = true
  private readonly index = new CloseIndex<K>()

  constructor(
    private readonly spec: Extract<WindowSpec, { type: 'session' }>,
    private readonly agg: Aggregator<V, unknown, R>,
    private readonly emit: EmitMode,
    private readonly storeName: string,
  ) {
    if (agg.merge === undefined) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `session windows need an aggregation that can merge; ${agg.kind} cannot: give aggregate() a merge function`,
      )
    }
  }

  private closeAt(end: number): number {
    return end + this.spec.gapMs + this.spec.graceMs
  }

  init(ctx: Out<K, R>): void {
    for (const [key, start, s] of ctx.windowStore<K, SessionState>(this.storeName).entries()) {
      this.index.add(this.closeAt(s.end), key, start)
    }
  }

  process(record: StreamRecord<K, V>, ctx: Out<K, R>): void {
    const store = ctx.windowStore<K, SessionState>(this.storeName)
    const t = record.timestamp
    let start = t
    let end = t
    let acc = this.agg.add(this.agg.init(), record.value)
    const merged: number[] = []
    for (const [s, state] of store.windowsOf(record.key)) {
      // Overlaps when the record is within `gap` of the session.
      if (t >= s - this.spec.gapMs && t <= state.end + this.spec.gapMs) {
        merged.push(s)
        start = Math.min(start, s)
        end = Math.max(end, state.end)
        acc = this.agg.merge!(state.acc, acc)
      }
    }
    // Late only when the session it would join is closed too: a record inside an open session
    // counts even if on its own it would be late (as in Kafka Streams and Flink).
    if (this.closeAt(end) <= ctx.watermark) {
      ctx.forwardTo(LATE_OUTPUT, record)
      return
    }
    for (const s of merged) {
      const old = store.get(record.key, s)!
      this.index.remove(this.closeAt(old.end), record.key, s)
      store.delete(record.key, s)
    }
    store.put(record.key, start, { end, acc })
    this.index.add(this.closeAt(end), record.key, start)
    if (this.emit === 'current') {
      ctx.forward({ ...record, value: { key: record.key, start, end, value: this.agg.result(acc) } })
    }
  }

  onWatermark(watermark: number, ctx: Out<K, R>): void {
    const store = ctx.windowStore<K, SessionState>(this.storeName)
    for (const w of this.index.takeDue(watermark)) {
      const s = store.get(w.key, w.start)
      if (s === undefined || this.closeAt(s.end) !== w.closeAt) continue
      if (this.emit === 'final') {
        ctx.forward({
          key: w.key,
          value: { key: w.key, start: w.start, end: s.end, value: this.agg.result(s.acc) },
          timestamp: s.end,
          headers: [],
          topic: '',
          partition: -1,
          offset: -1,
        })
      }
      store.delete(w.key, w.start)
    }
  }
}

/** Sliding windows: per key, the recent records (timestamp, value), kept while any window needs them. */
export class SlidingWindowProcessor<K, V, R> implements Processor<K, V, K, WindowResult<K, R>> {
  /** Keeps keys and values, never the record object: the runtime may reuse it. */
  readonly borrowsRecords = true
  private readonly index = new CloseIndex<K>()

  constructor(
    private readonly spec: Extract<WindowSpec, { type: 'sliding' }>,
    private readonly agg: Aggregator<V, unknown, R>,
    private readonly emit: EmitMode,
    private readonly storeName: string,
  ) {}

  init(ctx: Out<K, R>): void {
    // Entries outlive their own window (later windows need them): index only windows still open.
    for (const [key, entries] of ctx.keyValueStore<K, [number, V][]>(this.storeName).entries()) {
      for (const [t] of entries)
        if (t + this.spec.graceMs > ctx.watermark) this.index.add(t + this.spec.graceMs, key, t)
    }
  }

  private aggregateAt(entries: readonly [number, V][], end: number): R {
    let acc = this.agg.init()
    for (const [t, v] of entries) if (t >= end - this.spec.sizeMs && t <= end) acc = this.agg.add(acc, v)
    return this.agg.result(acc)
  }

  process(record: StreamRecord<K, V>, ctx: Out<K, R>): void {
    const store = ctx.keyValueStore<K, [number, V][]>(this.storeName)
    const t = record.timestamp
    const { sizeMs, graceMs } = this.spec
    const entries = [...(store.get(record.key) ?? [])]
    // Late only when no open window includes it: neither its own nor a later one ending in
    // (t, t + size] (as in Kafka Streams); then it counts in those without opening its own.
    const ownOpen = t + graceMs > ctx.watermark
    if (!ownOpen && !entries.some(([et]) => et > t && et <= t + sizeMs && et + graceMs > ctx.watermark)) {
      ctx.forwardTo(LATE_OUTPUT, record)
      return
    }
    // Keep entries sorted by time; equal timestamps keep arrival order.
    let at = entries.length
    while (at > 0 && entries[at - 1]![0] > t) at--
    const isNewEnd = ownOpen && !entries.some(([et]) => et === t)
    entries.splice(at, 0, [t, record.value])
    // Drop what no open window can include any more.
    const keepFrom = ctx.watermark - graceMs - sizeMs
    let drop = 0
    while (drop < entries.length && entries[drop]![0] < keepFrom) drop++
    store.put(record.key, drop > 0 ? entries.slice(drop) : entries)
    if (isNewEnd) this.index.add(t + graceMs, record.key, t)
    if (this.emit === 'current') {
      // The record's own window, and every open later window that now includes it (out of order).
      let previous = Number.NaN
      for (const [et] of entries) {
        if (et === previous) continue
        previous = et
        if (et < t || et > t + sizeMs || et + graceMs <= ctx.watermark) continue
        ctx.forward({
          ...record,
          timestamp: et,
          value: { key: record.key, start: et - sizeMs, end: et, value: this.aggregateAt(entries, et) },
        })
      }
    }
  }

  onWatermark(watermark: number, ctx: Out<K, R>): void {
    const store = ctx.keyValueStore<K, [number, V][]>(this.storeName)
    const due = this.index.takeDue(watermark)
    for (const w of due) {
      const entries = store.get(w.key)
      if (entries === undefined) continue
      const end = w.start
      if (this.emit === 'final') {
        ctx.forward({
          key: w.key,
          value: { key: w.key, start: end - this.spec.sizeMs, end, value: this.aggregateAt(entries, end) },
          timestamp: end,
          headers: [],
          topic: '',
          partition: -1,
          offset: -1,
        })
      }
    }
    // Forget entries no open window includes.
    const keepFrom = watermark - this.spec.graceMs - this.spec.sizeMs
    for (const w of due) {
      const entries = store.get(w.key)
      if (entries === undefined) continue
      const kept = entries.filter(([t]) => t >= keepFrom)
      if (kept.length === 0) store.delete(w.key)
      else if (kept.length !== entries.length) store.put(w.key, kept)
    }
  }
}

/**
 * What queries of a windowed aggregation's store show: each open window's bounds and result.
 * (Windows leave the store when they close, so queries see the open ones.)
 */
export function windowStoreView(spec: WindowSpec, agg: Aggregator<never, unknown, unknown>): StoreView {
  switch (spec.type) {
    case 'tumbling':
    case 'hopping':
      return {
        kind: 'window',
        window: (start, acc) => ({ end: start + spec.sizeMs, value: agg.result(acc) }),
      }
    case 'session':
      return {
        kind: 'window',
        window: (_start, stored) => {
          const s = stored as SessionState
          return { end: s.end, value: agg.result(s.acc) }
        },
      }
    case 'sliding':
      return {
        kind: 'windows-in-kv',
        // A key's records; a window [t - size, t] ends at each record time t whose window is
        // still open. Its records are all still kept: only records no open window needs go.
        windows: (stored, watermark) => {
          const entries = stored as readonly [number, never][]
          const out: { start: number; end: number; value: unknown }[] = []
          let previous = Number.NaN
          for (const [end] of entries) {
            if (end === previous || end + spec.graceMs <= watermark) continue
            previous = end
            let acc = agg.init()
            for (const [t, v] of entries) if (t >= end - spec.sizeMs && t <= end) acc = agg.add(acc, v)
            out.push({ start: end - spec.sizeMs, end, value: agg.result(acc) })
          }
          return out
        },
      }
  }
}
