// Benchmark of the stream processor: framework overhead in process against hand-written loops,
// throughput end to end through the embedded log (exactly-once), and append → committed-output
// latency at a steady rate. Writes its table to docs/benchmarks.md under
// "## Stream processor (npm run bench:engine)".
//   npm run bench:engine             full run (~3 min)
//   npm run bench:engine -- --quick  smaller run (< 1 min)
//   --only=inproc|e2e|latency        one part (for profiling: node --cpu-prof --import tsx ...)
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { LogRecord, RecordInput } from '../src/core/record.js'
import type { Serde } from '../src/core/serde.js'
import { Topology } from '../src/dsl/stream.js'
import { tumbling, type WindowResult } from '../src/dsl/windows.js'
import { app } from '../src/index.js'
import { EventLog } from '../src/log/event-log.js'
import { AppRunner } from '../src/runtime/app-runner.js'
import { TaskExecutor, type TaskOutput } from '../src/runtime/task-executor.js'
import { MemoryKeyValueStore, MemoryWindowStore } from '../src/state/memory-stores.js'
import { MemoryTaskState } from '../src/state/memory-task-state.js'
import { EmbeddedTransport } from '../src/transport/embedded.js'
import { commitsSeen, probeCommits } from './support/commit-probe.js'
import {
  DISORDER_MS,
  type Generated,
  generate,
  KEYS,
  OUT_OF_ORDERNESS_MS,
  type Payment,
  RECORDS_PER_EVENT_MS,
  WINDOW_MS,
  windowedCountLoop,
} from './support/payments.js'
import { median, publishSection, runLine } from './support/report.js'

const quick = process.argv.includes('--quick')
const e2eChild = process.argv.includes('--e2e-child')
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? null
const RUNS = 3
/** In-process runs are short and the machine is noisy: more of them, for a steadier median. */
const INPROC_RUNS = 9

const INPROC_RECORDS = quick ? 1_000_000 : 5_000_000
const E2E_STATELESS_RECORDS = quick ? 200_000 : 1_000_000
const E2E_WINDOWED_RECORDS = quick ? 100_000 : 500_000
const LATENCY_SECONDS = quick ? 3 : 10
/** Latencies of the first records are JIT warm-up, not the steady state: left out. */
const LATENCY_WARMUP_SECONDS = quick ? 0.5 : 1
const LATENCY_RATE = 50_000
const LATENCY_TICK_MS = 10

/** Records the in-process runs hand the executor between ticks (the runner's default batch). */
const BATCH_RECORDS = 10_000
const APPEND_BATCH = 1000

const TARGET_OVERHEAD = 2
const TARGET_E2E_STATELESS = 500_000
const TARGET_E2E_WINDOWED = 250_000

const SECTION = '## Stream processor (npm run bench:engine)'
const log = (s: string) => process.stderr.write(`${s}\n`)

// ---- workload ---------------------------------------------------------------------------

interface Charge {
  readonly id: number
  readonly user: string
  readonly cents: number
  readonly at: number
}

// The stateless chain's functions: Eddy and the hand loop call the very same ones.
const isCharge = (p: Payment): boolean => p.amount >= 10
const toCharge = (p: Payment): Charge => ({
  id: p.id,
  user: p.user,
  cents: Math.round(p.amount * 100),
  at: p.at,
})

/** Already-decoded records: the key and value fields hold the JS values, not bytes. */
function decodedRecords(g: Generated): LogRecord[] {
  return g.payments.map((p, i) => ({
    topic: 'payments',
    partition: 0,
    offset: i,
    timestamp: g.timestamps[i]!,
    key: p.user as unknown as Buffer,
    value: p as unknown as Buffer,
    headers: [],
  }))
}

/** A serde that does nothing: the records handed to the executor are already decoded. */
function decoded<T>(): Serde<T> {
  return {
    name: 'decoded',
    serialize: (v) => v as unknown as Buffer,
    deserialize: (b) => b as unknown as T,
  }
}

function tmpDir(what: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `eddy-bench-engine-${what}-`))
}

// ---- 1. in process: Eddy's executor against hand-written loops ----------------------------

/** What the sink saw: how many records, and a checksum both sides must agree on. */
interface SinkTally {
  n: number
  sum: number
  /** The latest outputs: a sink holds on to what it is given (so no output is optimised away). */
  readonly kept: unknown[]
}

const newTally = (): SinkTally => ({ n: 0, sum: 0, kept: new Array(1024) })

function toSink(tally: SinkTally, value: unknown, amount: number): void {
  tally.kept[tally.n & 1023] = value
  tally.n++
  tally.sum += amount
}

interface InprocRun {
  readonly seconds: number
  readonly tally: SinkTally
}

/** A TaskExecutor as the TestDriver builds one: memory stores, one task, outputs to `sink`. */
/** The bench's wall clock, refreshed between batches as the runner refreshes its own. */
const clock = { nowMs: Date.now() }

function executorFor(topology: Topology, sink: (value: unknown) => void): TaskExecutor {
  const plan = topology.plan()
  const output: TaskOutput = {
    send: (_topic, _key, value) => sink(value),
    stdout: () => {},
    partitionsOf: () => 1,
  }
  const executor = new TaskExecutor(
    plan,
    plan.subTopologies()[0]!,
    {
      keyValueStore: (spec) => new MemoryKeyValueStore<unknown, unknown>(spec.name),
      windowStore: (spec) => new MemoryWindowStore<unknown, unknown>(spec.name),
    },
    output,
    {
      outOfOrdernessMs: OUT_OF_ORDERNESS_MS,
      advanceWithWallClock: false,
      idleTimeoutMs: 5_000,
      internalTopic: (name) => `bench-${name}`,
      // As the runner: the wall clock is read once per loop iteration (batch), not per record.
      wallClockMs: () => clock.nowMs,
      taskIndex: 0,
      taskCount: 1,
    },
  )
  executor.markActive('payments', 0)
  executor.init()
  return executor
}

function statelessTopology(): Topology {
  const t = new Topology('bench')
  t.stream<Payment, string>('payments', decoded<Payment>(), { keySerde: decoded<string>() })
    .filter(isCharge)
    .mapValues(toCharge)
    .to('charges', { keySerde: decoded<string>(), valueSerde: decoded<Charge>() })
  return t
}

function windowedTopology(): Topology {
  const t = new Topology('bench')
  t.stream<Payment, string>('payments', decoded<Payment>(), { keySerde: decoded<string>() })
    .groupByKey()
    .window(tumbling({ size: WINDOW_MS }))
    .count({ name: 'counts' })
    .final()
    .to('counts', { keySerde: decoded<string>(), valueSerde: decoded<WindowResult<string, number>>() })
  return t
}

/** Feeds every record to a fresh executor, ticking between batches as the runner does. */
function eddyRun(
  topology: Topology,
  records: readonly LogRecord[],
  tallyOf: (v: unknown) => number,
): InprocRun {
  const tally = newTally()
  const executor = executorFor(topology, (v) => toSink(tally, v, tallyOf(v)))
  const start = performance.now()
  clock.nowMs = Date.now()
  for (let i = 0; i < records.length; i++) {
    executor.process(records[i]!)
    if ((i + 1) % BATCH_RECORDS === 0) {
      clock.nowMs = Date.now()
      executor.tick()
      executor.emitWatermarks()
    }
  }
  executor.tick()
  return { seconds: (performance.now() - start) / 1000, tally }
}

const chargeCents = (v: unknown) => (v as Charge).cents
const windowCount = (v: unknown) => (v as WindowResult<string, number>).value

/** The stateless chain by hand: the same filter and map, the same sink. */
function statelessLoop(records: readonly LogRecord[]): InprocRun {
  const tally = newTally()
  const sink = (_key: unknown, value: unknown, _timestamp: number) => toSink(tally, value, chargeCents(value))
  const start = performance.now()
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    const p = r.value as unknown as Payment
    if (isCharge(p)) sink(r.key, toCharge(p), r.timestamp)
  }
  return { seconds: (performance.now() - start) / 1000, tally }
}

/** The windowed count by hand (bench/support/payments.ts), into the same sink. */
function windowedLoop(records: readonly LogRecord[]): InprocRun {
  const tally = newTally()
  const sink = (_key: unknown, value: unknown, _timestamp: number) => toSink(tally, value, windowCount(value))
  const start = performance.now()
  windowedCountLoop(records, (k, ws, count) =>
    sink(k, { key: k, start: ws, end: ws + WINDOW_MS, value: count }, ws + WINDOW_MS - 1),
  )
  return { seconds: (performance.now() - start) / 1000, tally }
}

interface InprocRow {
  readonly name: string
  readonly records: number
  readonly eddyPerS: number
  readonly loopPerS: number
  /** Median over runs of Eddy's time / the loop's time. */
  readonly ratio: number
  /** The least and the greatest of the runs' ratios: the noise. */
  readonly ratioRange: readonly [number, number]
  readonly outputs: number
}

function inprocCase(
  name: string,
  records: readonly LogRecord[],
  eddy: () => InprocRun,
  loop: () => InprocRun,
): InprocRow {
  // One untimed pass each first: both sides timed with warm JIT.
  eddy()
  loop()
  const e: number[] = []
  const l: number[] = []
  const ratios: number[] = []
  let outputs = 0
  for (let i = 0; i < INPROC_RUNS; i++) {
    const a = eddy()
    const b = loop()
    if (a.tally.n !== b.tally.n || a.tally.sum !== b.tally.sum) {
      throw new Error(
        `${name}: Eddy's output (${a.tally.n} records, checksum ${a.tally.sum}) differs from the loop's (${b.tally.n}, ${b.tally.sum})`,
      )
    }
    outputs = a.tally.n
    e.push(a.seconds)
    l.push(b.seconds)
    ratios.push(a.seconds / b.seconds)
  }
  const row = {
    name,
    records: records.length,
    eddyPerS: records.length / median(e),
    loopPerS: records.length / median(l),
    ratio: median(ratios),
    ratioRange: [Math.min(...ratios), Math.max(...ratios)] as const,
    outputs,
  }
  log(
    `  ${name}: Eddy ${fmtInt(row.eddyPerS)}/s, loop ${fmtInt(row.loopPerS)}/s, ${row.ratio.toFixed(2)}× (${fmtInt(outputs)} outputs)`,
  )
  return row
}

function inproc(): InprocRow[] {
  log(`in process: ${fmtInt(INPROC_RECORDS)} decoded records`)
  const records = decodedRecords(generate(INPROC_RECORDS))
  const stateless = statelessTopology()
  const windowed = windowedTopology()
  return [
    inprocCase(
      'stateless',
      records,
      () => eddyRun(stateless, records, chargeCents),
      () => statelessLoop(records),
    ),
    inprocCase(
      'windowed',
      records,
      () => eddyRun(windowed, records, windowCount),
      () => windowedLoop(records),
    ),
  ]
}

// ---- 2. end to end through the embedded log ----------------------------------------------

interface E2eRow {
  readonly name: string
  readonly records: number
  readonly perS: number
  readonly seconds: number
  /** The slowest and the fastest run's records/s. */
  readonly perSRange: readonly [number, number]
  readonly outputs: number
  readonly commits: number
}

function encodeInputs(g: Generated, at: (i: number) => number = () => 0): RecordInput[] {
  return g.payments.map((p, i) => ({
    key: Buffer.from(p.user),
    value: Buffer.from(JSON.stringify(at(i) === 0 ? p : { ...p, at: at(i) })),
    timestamp: g.timestamps[i]!,
  }))
}

/** A data dir whose topic `payments` (1 partition) holds the records, written without fsync. */
async function prefilled(inputs: readonly RecordInput[]): Promise<string> {
  const dir = tmpDir('template')
  const l = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
  l.createTopic('payments', { partitions: 1 })
  for (let i = 0; i < inputs.length; i += APPEND_BATCH)
    await l.append('payments', 0, inputs.slice(i, i + APPEND_BATCH))
  await l.close()
  return dir
}

/** Counts the output topic's committed records (read_committed). */
async function committedOutputs(dir: string, topic: string): Promise<number> {
  const l = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
  try {
    const end = l.latestOffset(topic, 0, 'read_committed')
    let offset = 0
    let n = 0
    while (offset < end) {
      const r = await l.read(topic, 0, offset, { isolation: 'read_committed', maxBytes: 1024 * 1024 })
      n += r.records.length
      offset = r.nextOffset
    }
    return n
  } finally {
    await l.close()
  }
}

async function e2eRun(
  template: string,
  records: number,
  expectedOutputs: number,
  build: (dataDir: string) => { app: ReturnType<typeof app>; output: string },
  verify: boolean,
): Promise<{ seconds: number; commits: number }> {
  const dir = tmpDir('run')
  try {
    fs.cpSync(template, dir, { recursive: true })
    const { app: a, output } = build(dir)
    commitsSeen.length = 0
    const start = performance.now()
    await a.run({ untilIdleMs: 200 })
    const last = commitsSeen.find((c) => c.recordsIn >= records)
    if (last === undefined) throw new Error(`the app stopped before processing all ${records} records`)
    if (verify) {
      const n = await committedOutputs(dir, output)
      if (n !== expectedOutputs)
        throw new Error(`${output}: ${n} committed outputs, expected ${expectedOutputs}`)
    }
    return { seconds: (last.endMs - start) / 1000, commits: commitsSeen.indexOf(last) + 1 }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

async function e2eCase(
  name: string,
  g: Generated,
  expectedOutputs: number,
  build: (dataDir: string) => { app: ReturnType<typeof app>; output: string },
): Promise<E2eRow> {
  const template = await prefilled(encodeInputs(g))
  try {
    const runs: { seconds: number; commits: number }[] = []
    for (let i = 0; i < RUNS; i++)
      runs.push(await e2eRun(template, g.payments.length, expectedOutputs, build, i === 0))
    const seconds = median(runs.map((r) => r.seconds))
    const row = {
      name,
      records: g.payments.length,
      perS: g.payments.length / seconds,
      perSRange: [
        g.payments.length / Math.max(...runs.map((r) => r.seconds)),
        g.payments.length / Math.min(...runs.map((r) => r.seconds)),
      ] as const,
      seconds,
      outputs: expectedOutputs,
      commits: median(runs.map((r) => r.commits)),
    }
    log(`  ${name}: ${fmtInt(row.perS)} records/s (${seconds.toFixed(2)} s, ${row.commits} commits)`)
    return row
  } finally {
    fs.rmSync(template, { recursive: true, force: true })
  }
}

async function e2e(): Promise<E2eRow[]> {
  probeCommits()
  log(`end to end: ${fmtInt(E2E_STATELESS_RECORDS)} / ${fmtInt(E2E_WINDOWED_RECORDS)} JSON records`)
  const gs = generate(E2E_STATELESS_RECORDS, 7)
  const gw = generate(E2E_WINDOWED_RECORDS, 8)
  // The hand loops give the expected outputs: the app's committed output is checked against them.
  const statelessOut = statelessLoop(decodedRecords(gs)).tally.n
  const windowedOut = windowedLoop(decodedRecords(gw)).tally.n
  const stateless = await e2eCase('stateless', gs, statelessOut, (dataDir) => {
    const a = app({ id: 'bench-stateless', dataDir })
    a.stream<Payment>('payments').filter(isCharge).mapValues(toCharge).to('charges')
    return { app: a, output: 'charges' }
  })
  const windowed = await e2eCase('windowed', gw, windowedOut, (dataDir) => {
    const a = app({ id: 'bench-windowed', dataDir, outOfOrdernessMs: OUT_OF_ORDERNESS_MS })
    a.stream<Payment>('payments')
      .groupByKey()
      .window(tumbling({ size: WINDOW_MS }))
      .count({ name: 'counts' })
      .final()
      .to('counts')
    return { app: a, output: 'counts' }
  })
  return [stateless, windowed]
}

/** Runs part 2 pinned to one CPU (taskset) in a child process, when taskset is there. */
function e2ePinned(): { rows: E2eRow[]; pinned: boolean } {
  const args = [
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--e2e-child',
    ...(quick ? ['--quick'] : []),
  ]
  const pinned = spawnSync('taskset', ['-c', '0', 'true']).status === 0
  const r = pinned
    ? spawnSync('taskset', ['-c', '0', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  if (r.status !== 0) throw new Error(`the end-to-end child failed (exit ${r.status})`)
  const lines = r.stdout.toString().trim().split('\n')
  return { rows: JSON.parse(lines[lines.length - 1]!) as E2eRow[], pinned }
}

// ---- 3. latency at a steady rate -------------------------------------------------------

interface LatencyRow {
  readonly rate: number
  readonly seconds: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly samples: number
}

const wallMs = () => performance.timeOrigin + performance.now()

/**
 * The stateless chain (exactly-once, 100 ms commits) runs on a log while a producer appends at a
 * steady rate, each value carrying its append time, and a read_committed consumer on the output
 * notes when each record becomes visible. Same process, the log as App.run opens it.
 */
async function latencyRun(): Promise<LatencyRow> {
  const dir = tmpDir('latency')
  const eventLog = EventLog.open({ dir, maintenanceIntervalMs: 0 })
  try {
    eventLog.createTopic('payments', { partitions: 1 })
    const topology = new Topology('bench-latency')
    topology.stream<Payment>('payments').filter(isCharge).mapValues(toCharge).to('charges')
    const runner = new AppRunner(topology.plan(), {
      appId: 'bench-latency',
      transport: new EmbeddedTransport(eventLog),
      taskState: async () => new MemoryTaskState(),
      guarantee: 'exactly_once',
      commitIntervalMs: 100,
    })
    const running = runner.run()
    while (!eventLog.hasTopic('charges')) await new Promise((r) => setTimeout(r, 5))

    const total = LATENCY_RATE * LATENCY_SECONDS
    const g = generate(total, 9)
    const producer = await eventLog.producer()
    let sent = 0
    let expected = 0
    let sending: Promise<void> = Promise.resolve()
    const start = wallMs()
    const warmupUntil = start + LATENCY_WARMUP_SECONDS * 1000
    const produced = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = wallMs()
        const due = Math.min(total, Math.floor(((now - start) / 1000) * LATENCY_RATE))
        if (due > sent) {
          const batch: RecordInput[] = []
          for (; sent < due; sent++) {
            const p = g.payments[sent]!
            if (isCharge(p)) expected++
            batch.push({
              key: Buffer.from(p.user),
              value: Buffer.from(JSON.stringify({ ...p, at: now })),
              timestamp: now,
            })
          }
          sending = sending.then(async () => {
            await producer.send('payments', 0, batch)
          })
        }
        if (sent >= total) {
          clearInterval(timer)
          resolve()
        }
      }, LATENCY_TICK_MS)
    })

    const latencies: number[] = []
    let seen = 0
    let offset = 0
    let done = false
    void produced.then(() => {
      done = true
    })
    const deadline = () => wallMs() > start + (LATENCY_SECONDS + 30) * 1000
    while (!(done && seen >= expected)) {
      if (deadline()) throw new Error(`latency run: ${seen} of ${expected} outputs after 30 s past the end`)
      const r = await eventLog.read('charges', 0, offset, {
        isolation: 'read_committed',
        maxWaitMs: 100,
        maxBytes: 1024 * 1024,
      })
      const visible = wallMs()
      for (const rec of r.records) {
        const at = (JSON.parse(rec.value!.toString()) as Charge).at
        if (at >= warmupUntil) latencies.push(visible - at)
        seen++
      }
      offset = r.nextOffset
    }
    await sending
    await producer.close()
    runner.stop()
    await running
    latencies.sort((a, b) => a - b)
    const pct = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!
    return {
      rate: LATENCY_RATE,
      seconds: LATENCY_SECONDS,
      p50Ms: pct(50),
      p99Ms: pct(99),
      maxMs: latencies[latencies.length - 1]!,
      samples: latencies.length,
    }
  } finally {
    await eventLog.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

async function latency(): Promise<LatencyRow> {
  log(`latency: ${fmtInt(LATENCY_RATE)} records/s for ${LATENCY_SECONDS} s`)
  const runs: LatencyRow[] = []
  for (let i = 0; i < RUNS; i++) {
    const r = await latencyRun()
    log(
      `  run ${i + 1}: p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, max ${r.maxMs.toFixed(1)} ms`,
    )
    runs.push(r)
  }
  return {
    rate: LATENCY_RATE,
    seconds: LATENCY_SECONDS,
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    maxMs: median(runs.map((r) => r.maxMs)),
    samples: median(runs.map((r) => r.samples)),
  }
}

// ---- report -----------------------------------------------------------------------------

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US')

function table(inprocRows: InprocRow[], e2eRows: E2eRow[], lat: LatencyRow | null, pinned: boolean): string {
  const lines = [
    '| case | records | records/s | records/s, runs (min–max) | Eddy time / loop time | ratio, runs (min–max) | p50 ms | p99 ms | target | result |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ]
  const label: Record<string, string> = {
    stateless: 'filter → mapValues',
    windowed: `count per key, 1 s tumbling windows (${fmtInt(KEYS)} keys)`,
  }
  for (const r of inprocRows) {
    const pass = r.ratio <= TARGET_OVERHEAD
    lines.push(
      `| in process, decoded: ${label[r.name]}, Eddy | ${fmtInt(r.records)} | ${fmtInt(r.eddyPerS)} |  | ${r.ratio.toFixed(2)} | ${r.ratioRange[0].toFixed(2)}–${r.ratioRange[1].toFixed(2)} |  |  | <= ${TARGET_OVERHEAD}× loop | ${pass ? 'pass' : 'MISS'} |`,
      `| same, hand-written loop | ${fmtInt(r.records)} | ${fmtInt(r.loopPerS)} |  | 1.00 |  |  |  |  |  |`,
    )
  }
  for (const r of e2eRows) {
    const target = r.name === 'stateless' ? TARGET_E2E_STATELESS : TARGET_E2E_WINDOWED
    lines.push(
      `| end to end${pinned ? ', 1 core' : ''}, JSON, exactly-once: ${label[r.name]} | ${fmtInt(r.records)} | ${fmtInt(r.perS)} | ${fmtInt(r.perSRange[0])}–${fmtInt(r.perSRange[1])} |  |  |  |  | >= ${fmtInt(target)} records/s | ${r.perS >= target ? 'pass' : 'MISS'} |`,
    )
  }
  if (lat !== null) {
    lines.push(
      `| latency append → committed output, ${fmtInt(lat.rate)} records/s, ${label.stateless}, exactly-once | ${fmtInt(lat.samples)} |  |  |  |  | ${lat.p50Ms.toFixed(1)} | ${lat.p99Ms.toFixed(1)} |  |  |`,
    )
  }
  return lines.join('\n')
}

async function main(): Promise<void> {
  if (e2eChild) {
    process.stdout.write(`${JSON.stringify(await e2e())}\n`)
    return
  }
  const started = performance.now()
  const loadAtStart = os.loadavg()[0]!
  log(`bench:engine${quick ? ' --quick' : ''}: ${INPROC_RUNS} runs per in-process row, ${RUNS} per other row`)
  const inprocRows = only === null || only === 'inproc' ? inproc() : []
  let e2eRows: E2eRow[] = []
  let pinned = false
  if (only === 'e2e') e2eRows = await e2e()
  else if (only === null) ({ rows: e2eRows, pinned } = e2ePinned())
  const lat = only === null || only === 'latency' ? await latency() : null
  const text = table(inprocRows, e2eRows, lat, pinned)
  const seconds = (performance.now() - started) / 1000
  if (only !== null) {
    process.stdout.write(`${text}\n\n(${seconds.toFixed(0)} s; --only: docs not written)\n`)
    return
  }
  const section = [
    SECTION,
    '',
    runLine({ quick, seconds, loadAtStart }),
    '',
    `Records: payments \`{ id, user, amount, at }\` over ${fmtInt(KEYS)} user keys; event time advances 1 ms per ${RECORDS_PER_EVENT_MS} records, ` +
      `each timestamp up to ${DISORDER_MS} ms out of order, allowed out-of-orderness ${OUT_OF_ORDERNESS_MS} ms (no record is late). ` +
      'The stateless chain is `filter(amount >= 10)` → `mapValues` to a new object (90% pass); the windowed count is ' +
      '`groupByKey().window(tumbling(1 s)).count().final()`. ' +
      'In process: records already decoded, fed to a `TaskExecutor` (memory stores, pass-through serdes) as the runner does ' +
      `(a tick every ${fmtInt(BATCH_RECORDS)} records), against a hand-written loop over the same records calling the same functions ` +
      '(for windows: a Map of key → Map of window start → count, closing windows as the watermark passes their end); ' +
      'both sides must produce the same outputs. ' +
      `End to end: a 1-partition input topic pre-filled with JSON records, then \`app.run({ untilIdleMs: 200 })\` with the defaults ` +
      '(exactly-once, 100 ms commits, fsync always; windowed state in lmdb with its changelog): read, decode, process, encode, write, commit; ' +
      'timed from `run()` to the end of the commit holding the last output (the idle wait is left out), the committed output checked' +
      `${pinned ? '; the process pinned to one CPU with taskset' : ''}. ` +
      `Latency: a producer in the same process appends ${fmtInt(LATENCY_RATE)} records/s (a batch every ${LATENCY_TICK_MS} ms) for ${LATENCY_SECONDS} s ` +
      'while the stateless chain runs (exactly-once, 100 ms commits); a read_committed consumer on the output takes ' +
      `visible time − append time (carried in the value); the first ${LATENCY_WARMUP_SECONDS} s is warm-up, left out. ` +
      `Each in-process row is the median of ${INPROC_RUNS} runs, each other row of ${RUNS}; "Eddy time / loop time" is the median of per-run ratios, and the ranges show how far single runs strayed (the machine is shared and noisy).`,
    '',
    text,
    '',
  ].join('\n')
  publishSection(SECTION, section, text, seconds)
}

await main()
