// One Nexmark run: a query over N generated events, in memory (generator → query → discarding
// sink, in this process) or through the embedded log (events read from a topic, results written
// back, exactly-once), with the figures `eddy bench nexmark` prints.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { EddyError } from '../../core/errors.js'
import type { RecordHeader, RecordInput } from '../../core/record.js'
import { Topology } from '../../dsl/stream.js'
import { app } from '../../index.js'
import { EventLog } from '../../log/event-log.js'
import { DEFAULT_GENERATORS, DEFAULT_RATE, NexmarkGenerator } from './generator.js'
import { InProcessPipeline, passThrough } from './in-process.js'
import type { NexmarkEvent } from './model.js'
import { type NexmarkQuery, OUT_OF_ORDERNESS_MS, PENDING_QUERIES, QUERIES } from './queries.js'

export type NexmarkMode = 'memory' | 'log'

export interface NexmarkRunOptions {
  readonly query: string
  readonly events: number
  /** Generators sharing the timeline (event-time density); in log mode also the input partitions. */
  readonly generators?: number
  /** Events per second of event time (default 10,000,000). */
  readonly rate?: number
  readonly mode?: NexmarkMode
  /** Log mode: the data directory (default: a new temporary one, removed after). */
  readonly dataDir?: string
}

export interface NexmarkResult {
  readonly query: string
  readonly mode: NexmarkMode
  readonly events: number
  readonly generators: number
  readonly rate: number
  readonly eventsPerSecond: number
  readonly wallMs: number
  /** User + system CPU time of this process during the run. */
  readonly cpuMs: number
  /** The process's peak resident set size so far. */
  readonly peakRssBytes: number
  /** Results emitted (for updating queries, every update). */
  readonly outputs: number
  /** Rows of the answer: the results, or for updating queries the final result per key. */
  readonly rows: number
  /** The sum of the query's tally over the rows (compares runs of different systems). */
  readonly checksum: number
}

export const EVENTS_TOPIC = 'nexmark-events'
/** Events processed between ticks in memory mode (the runtime's default batch). */
export const BATCH_EVENTS = 10_000
const NO_HEADERS: readonly RecordHeader[] = []
/** Log mode: an input quiet this long is idle, and event time follows the wall clock. */
const LOG_IDLE_TIMEOUT_MS = 500
/** Past the end of input by more than the longest window or gap and the out-of-orderness. */
const END_MARGIN_MS = 60_000
/** The source step's name (its counters say how many events were read). */
const SOURCE_STEP = 'events'
const LOG_APPEND_BATCH = 1_000

/** The query named `name`, or a usage-level error saying which exist. */
export function nexmarkQuery(name: string): NexmarkQuery<unknown> {
  const q = QUERIES[name]
  if (q !== undefined) return q
  const pending = PENDING_QUERIES[name]
  if (pending !== undefined) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `Nexmark ${name} needs ${pending}, which Eddy's DSL does not have yet: run one of ${Object.keys(QUERIES).join(', ')}`,
    )
  }
  throw new EddyError(
    'INVALID_ARGUMENT',
    `no Nexmark query ${JSON.stringify(name)}: run one of ${Object.keys(QUERIES).join(', ')}`,
  )
}

/**
 * A sink that keeps nothing but a count, a checksum and the latest outputs (so none is optimised
 * away); for an updating query, the last result per key (the answer is that final state).
 */
export class Tally {
  n = 0
  private appendSum = 0
  private readonly kept: unknown[] = new Array(1024)
  private readonly last: Map<number, unknown> | null

  constructor(
    private readonly query: NexmarkQuery<unknown>,
    private readonly onResult?: (value: unknown) => void,
  ) {
    this.last = query.keyOf === undefined ? null : new Map()
  }

  add(value: unknown): void {
    this.kept[this.n & 1023] = value
    this.n++
    if (this.last !== null) this.last.set(this.query.keyOf!(value), value)
    else this.appendSum += this.query.tally(value)
    this.onResult?.(value)
  }

  /** Rows of the answer: every result, or for an updating query the final one per key. */
  get rows(): number {
    return this.last === null ? this.n : this.last.size
  }

  get sum(): number {
    if (this.last === null) return this.appendSum
    let sum = 0
    for (const v of this.last.values()) sum += this.query.tally(v)
    return sum
  }
}

function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start)
  return (d.user + d.system) / 1000
}

export async function runNexmark(opts: NexmarkRunOptions): Promise<NexmarkResult> {
  const query = nexmarkQuery(opts.query)
  if (!Number.isSafeInteger(opts.events) || opts.events < 1)
    throw new EddyError('INVALID_ARGUMENT', `--events must be an integer >= 1, got ${opts.events}`)
  const generator = new NexmarkGenerator({
    rate: opts.rate ?? DEFAULT_RATE,
    generators: opts.generators ?? DEFAULT_GENERATORS,
  })
  if ((opts.mode ?? 'memory') === 'memory') return runInMemory(query, generator, opts.events)
  // On the log, records older than a topic's time retention (7 days by default, repartition
  // topics included) are deleted: the events start at the beginning of yesterday (UTC) instead,
  // so they are recent, and in the past of the wall clock that event time follows at the end.
  const recent = new NexmarkGenerator({
    rate: generator.rate,
    generators: generator.generators,
    baseTimeMs: Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS,
  })
  return runOnLog(query, recent, opts.events, opts.dataDir)
}

const DAY_MS = 86_400_000

function result(
  query: NexmarkQuery<unknown>,
  mode: NexmarkMode,
  generator: NexmarkGenerator,
  events: number,
  wallMs: number,
  cpuMs: number,
  tally: Tally,
): NexmarkResult {
  return {
    query: query.name,
    mode,
    events,
    generators: generator.generators,
    rate: generator.rate,
    eventsPerSecond: events / (wallMs / 1000),
    wallMs,
    cpuMs,
    peakRssBytes: peakRssBytes(),
    outputs: tally.n,
    rows: tally.rows,
    checksum: tally.sum,
  }
}

/**
 * Generator → query → discarding sink, in this process, synchronously over batches.
 * `onResult` sees every result (tests keep them; the benchmark does not).
 */
export function runInMemory(
  query: NexmarkQuery<unknown>,
  generator: NexmarkGenerator,
  events: number,
  onResult?: (value: unknown) => void,
): NexmarkResult {
  const topology = new Topology(`nexmark-${query.name}`)
  const tally = new Tally(query, onResult)
  const source = topology.stream<NexmarkEvent, null>(EVENTS_TOPIC, passThrough(), {
    keySerde: passThrough(),
  })
  query.build(source).forEach(
    (v) => {
      tally.add(v)
    },
    { name: 'discard' },
  )
  const pipeline = new InProcessPipeline(topology, {
    sourceTopic: EVENTS_TOPIC,
    outOfOrdernessMs: OUT_OF_ORDERNESS_MS,
  })
  const cpu = process.cpuUsage()
  const start = performance.now()
  for (let from = 0; from < events; from += BATCH_EVENTS) {
    const to = Math.min(events, from + BATCH_EVENTS)
    for (let id = from; id < to; id++) {
      const e = generator.event(id)
      pipeline.process({
        topic: EVENTS_TOPIC,
        partition: 0,
        offset: id,
        timestamp: e.dateTime,
        key: null,
        value: e as unknown as Buffer,
        headers: NO_HEADERS,
      })
    }
    pipeline.endBatch()
  }
  pipeline.finish()
  const wallMs = performance.now() - start
  return result(query, 'memory', generator, events, wallMs, cpuMsSince(cpu), tally)
}

/** Writes the events to `EVENTS_TOPIC`: generator g writes the ids ≡ g (mod generators) to partition g. */
async function loadEvents(dir: string, generator: NexmarkGenerator, events: number): Promise<void> {
  const log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
  try {
    const partitions = generator.generators
    if (!log.hasTopic(EVENTS_TOPIC)) log.createTopic(EVENTS_TOPIC, { partitions })
    const batches: RecordInput[][] = Array.from({ length: partitions }, () => [])
    const flush = async (p: number) => {
      const batch = batches[p]!
      if (batch.length === 0) return
      batches[p] = []
      await log.append(EVENTS_TOPIC, p, batch)
    }
    for (let id = 0; id < events; id++) {
      const e = generator.event(id)
      const p = id % partitions
      batches[p]!.push({ key: null, value: Buffer.from(JSON.stringify(e)), timestamp: e.dateTime })
      if (batches[p]!.length >= LOG_APPEND_BATCH) await flush(p)
    }
    for (let p = 0; p < partitions; p++) await flush(p)
  } finally {
    await log.close()
  }
}

/** Reads a topic's committed records and tallies their values. */
async function tallyTopic(
  dir: string,
  topic: string,
  query: NexmarkQuery<unknown>,
  onResult?: (value: unknown) => void,
): Promise<Tally> {
  const tally = new Tally(query, onResult)
  const log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
  try {
    if (!log.hasTopic(topic)) return tally
    for (let p = 0; p < log.partitionCount(topic); p++) {
      const end = log.latestOffset(topic, p, 'read_committed')
      let offset = log.earliestOffset(topic, p)
      while (offset < end) {
        const r = await log.read(topic, p, offset, { isolation: 'read_committed', maxBytes: 1 << 20 })
        for (const rec of r.records) if (rec.value !== null) tally.add(JSON.parse(rec.value.toString('utf8')))
        if (r.nextOffset <= offset) break
        offset = r.nextOffset
      }
    }
    return tally
  } finally {
    await log.close()
  }
}

/**
 * Events read from the embedded log, results written back, exactly-once (the app as `app()`
 * makes it: lmdb stores with changelogs). Windows still open at the end of input close once the
 * inputs have been quiet for LOG_IDLE_TIMEOUT_MS (event time then follows the wall clock). The
 * run is timed from `run()` to the first commit after the last event was read and the last
 * result written, so that wait is in the time of windowed queries.
 */
export async function runOnLog(
  query: NexmarkQuery<unknown>,
  generator: NexmarkGenerator,
  events: number,
  dataDir?: string,
  onResult?: (value: unknown) => void,
): Promise<NexmarkResult> {
  const dir = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-nexmark-'))
  try {
    await loadEvents(dir, generator, events)
    const output = `nexmark-${query.name}-results`
    const a = app({
      id: `nexmark-${query.name}`,
      dataDir: dir,
      outOfOrdernessMs: OUT_OF_ORDERNESS_MS,
      advanceWithWallClock: true,
      idleTimeoutMs: LOG_IDLE_TIMEOUT_MS,
    })
    query.build(a.stream<NexmarkEvent, null>(EVENTS_TOPIC, undefined, { name: SOURCE_STEP })).to(output)

    // Every result is out once event time is past the last event by more than any window; the
    // app is stopped then. (`untilIdleMs` would not stop it: once event time follows the wall
    // clock, watermark markers keep flowing through the repartition topics.)
    const endOfInput = generator.timestampOf(events - 1) + END_MARGIN_MS
    let seenIn = -1
    let seenOut = -1
    let commitsAtChange = 0
    let changed = false
    let doneAt = 0
    let commitsAtEnd = -1
    const watch = () => {
      const st = a.status()
      if (st === null) return
      const read = st.steps.get(SOURCE_STEP)?.in ?? 0
      if (read !== seenIn || st.recordsOut !== seenOut) {
        seenIn = read
        seenOut = st.recordsOut
        commitsAtChange = st.commits
        changed = true
      } else if (changed && st.commits > commitsAtChange) {
        doneAt = performance.now()
        changed = false
      }
      if (commitsAtEnd < 0 && read >= events && st.eventTime >= endOfInput) commitsAtEnd = st.commits
      else if (commitsAtEnd >= 0 && !changed && st.commits > commitsAtEnd) a.stop()
    }
    const cpu = process.cpuUsage()
    const start = performance.now()
    const timer = setInterval(watch, 2)
    try {
      await a.run()
    } finally {
      clearInterval(timer)
    }
    const cpuMs = cpuMsSince(cpu)
    if (doneAt === 0) doneAt = performance.now()
    const tally = await tallyTopic(dir, output, query, onResult)
    return result(query, 'log', generator, events, doneAt - start, cpuMs, tally)
  } finally {
    if (dataDir === undefined) fs.rmSync(dir, { recursive: true, force: true })
  }
}
