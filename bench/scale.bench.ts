// Benchmark of scale-out: the windowed count of bench/engine.bench.ts run by `eddy run --workers
// 1|2` (worker processes sharing the embedded log through Eddy's broker) and, as a reference, by
// `eddy run` in one process; then failover: two instances of a stateful app on a broker, one
// killed with SIGKILL, timed until the survivor has resumed the killed one's tasks, without and
// with a standby replica. Writes its table to docs/benchmarks.md under
// "## Scale-out (npm run bench:scale)".
//   npm run bench:scale                full run (~6 min on a quiet machine)
//   npm run bench:scale -- --quick     smaller run (~2 min)
//   --only=throughput|failover         one part (docs not written)
//   --runs=N, --records=N              runs per row (default 3), records of the throughput runs
// Needs the build (`npm run build`): `eddy run` is bin/eddy, which runs dist/.
import { type ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Broker } from '../src/broker/broker.js'
import { GroupCoordinator } from '../src/broker/group-coordinator.js'
import type { BrokerLogger } from '../src/broker/handlers/context.js'
import { partitionForKey } from '../src/core/murmur2.js'
import type { RecordInput } from '../src/core/record.js'
import {
  batchSizeAt,
  CONTROL_COMMIT,
  controlTypeOf,
  isControl,
  readBatchHeader,
} from '../src/core/record-batch.js'
import { EventLog } from '../src/log/event-log.js'
import { generate, KEYS, RECORDS_PER_EVENT_MS, windowedOutputs } from './support/payments.js'
import { median, publishSection, runLine } from './support/report.js'

const quick = process.argv.includes('--quick')
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? null
const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice('--runs='.length) ?? 3)
const PARTITIONS = 6

const THROUGHPUT_RECORDS = Number(
  process.argv.find((a) => a.startsWith('--records='))?.slice('--records='.length) ??
    (quick ? 300_000 : 1_500_000),
)
/** Workers stop once idle this long; the wait is after the last commit, so it is not timed. */
const UNTIL_IDLE_MS = 3000
const TARGET_SPEEDUP = 1.7
/** A run starts once other processes use at most this many cores (see awaitQuiet). */
const QUIET_CORES = 0.3
const QUIET_WAIT_MAX_MS = quick ? 10_000 : 60_000

const FAILOVER_KEYS = quick ? 60_000 : 500_000
/** Records/s the producer writes while an instance is killed and its tasks move. */
const FAILOVER_RATE = 5_000
const SESSION_TIMEOUT_MS = 2000
const TRANSACTION_TIMEOUT_MS = 2000
/** How often the broker aborts transactions past their timeout (the broker's default is 10 s). */
const TRANSACTION_CHECK_MS = 100

const root = fileURLToPath(new URL('..', import.meta.url))
const EDDY = path.join(root, 'bin', 'eddy')
const WINDOWED_APP = path.join(root, 'bench', 'scale', 'windowed-app.ts')
/** The app id of windowed-app.ts, and the changelog of its window store. */
const WINDOWED_APP_ID = 'bench-scale-windowed'
const WINDOWED_CHANGELOG = `${WINDOWED_APP_ID}-counts-store-changelog`
const COUNT_APP = path.join(root, 'bench', 'scale', 'count-app.ts')
const SECTION = '## Scale-out (npm run bench:scale)'
const CLK_TCK = 100
const log = (s: string) => process.stderr.write(`${s}\n`)
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US')
const fmtS = (ms: number) => (ms / 1000).toFixed(2)

function tmpDir(what: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `eddy-bench-scale-${what}-`))
}

// ---- reading what a run committed ------------------------------------------------------------

interface Commit {
  /** Wall-clock ms of the commit marker: when the transaction's records became visible here. */
  readonly atMs: number
  readonly producerId: number
}

interface PartitionHistory {
  /** Committed data records, in offset order. */
  readonly records: { offset: number; value: Buffer | null }[]
  /** Commit markers by offset. */
  readonly commits: { offset: number; commit: Commit }[]
}

/** The transaction markers of a partition below `end`, from its raw batches. */
async function controlMarkers(
  l: EventLog,
  topic: string,
  partition: number,
  end: number,
): Promise<{ offset: number; commit: boolean; producerId: number; atMs: number }[]> {
  const out: { offset: number; commit: boolean; producerId: number; atMs: number }[] = []
  let offset = l.earliestOffset(topic, partition)
  while (offset < end) {
    const f = await l.fetch(topic, partition, offset, { isolation: 'read_uncommitted', maxBytes: 4 << 20 })
    let pos = 0
    let next = offset
    while (pos + 61 <= f.bytes.length) {
      const size = batchSizeAt(f.bytes, pos)
      if (pos + size > f.bytes.length) break
      const h = readBatchHeader(f.bytes, pos)
      if (isControl(h)) {
        const commit = controlTypeOf(f.bytes, pos, h) === CONTROL_COMMIT
        out.push({ offset: h.baseOffset, commit, producerId: h.producerId, atMs: h.maxTimestamp })
      }
      next = h.baseOffset + h.lastOffsetDelta + 1
      pos += size
    }
    if (next <= offset) break
    offset = next
  }
  return out
}

/**
 * Every committed record of a partition and every commit marker, from the raw batches: the
 * marker's timestamp is the log's clock when the transaction committed there, which is when a
 * read_committed reader could first see its records.
 */
async function partitionHistory(l: EventLog, topic: string, partition: number): Promise<PartitionHistory> {
  const records: PartitionHistory['records'] = []
  const end = l.latestOffset(topic, partition, 'read_committed')
  const commits = (await controlMarkers(l, topic, partition, end))
    .filter((m) => m.commit)
    .map((m) => ({ offset: m.offset, commit: { atMs: m.atMs, producerId: m.producerId } }))
  // The data itself, read_committed (aborted transactions left out).
  let offset = l.earliestOffset(topic, partition)
  while (offset < end) {
    const r = await l.read(topic, partition, offset, { isolation: 'read_committed', maxBytes: 4 << 20 })
    for (const rec of r.records) records.push({ offset: rec.offset, value: rec.value })
    if (r.nextOffset <= offset) break
    offset = r.nextOffset
  }
  return { records, commits }
}

/**
 * The commit that made the committed record at `offset` visible: the first commit marker after
 * it (an output partition is written by one task, so by one producer at a time).
 */
function commitAfter(offset: number, commits: PartitionHistory['commits']): Commit | undefined {
  let lo = 0
  let hi = commits.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (commits[mid]!.offset > offset) hi = mid
    else lo = mid + 1
  }
  return commits[lo]?.commit
}

// ---- CPU of a process tree, from /proc -------------------------------------------------------

/** utime + stime of a process in ms, or null once it is gone. */
function cpuMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK
  } catch {
    return null
  }
}

function childrenOf(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number)
  } catch {
    return []
  }
}

/** Busy CPU ms of the whole machine (every core, every process), from /proc/stat. */
function machineBusyMs(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal …: busy is all but idle and iowait.
  const busy = f.slice(0, 8).reduce((a, b) => a + b, 0) - f[3]! - f[4]!
  return (busy * 1000) / CLK_TCK
}

/** The whole machine's busy CPU, sampled with the processes under this pseudo pid. */
const MACHINE = -1

/** Samples the CPU time of a process and its children (and of the machine) every 100 ms. */
class CpuSampler {
  /** pid → [wall ms, cpu ms] samples. */
  readonly samples = new Map<number, [number, number][]>()
  private readonly timer: NodeJS.Timeout

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 100)
    this.sample()
  }

  private sample(): void {
    const now = Date.now()
    for (const pid of [MACHINE, this.pid, ...childrenOf(this.pid)]) {
      const c = pid === MACHINE ? machineBusyMs() : cpuMs(pid)
      if (c === null) continue
      let s = this.samples.get(pid)
      if (s === undefined) {
        s = []
        this.samples.set(pid, s)
      }
      s.push([now, c])
    }
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** CPU ms the process used between two wall times (linear between samples). */
  between(pid: number, fromMs: number, toMs: number): number {
    const s = this.samples.get(pid)
    if (s === undefined || s.length === 0) return 0
    const at = (t: number): number => {
      if (t <= s[0]![0]) return s[0]![1]
      for (let i = 1; i < s.length; i++) {
        const [t1, c1] = s[i]!
        if (t1 >= t) {
          const [t0, c0] = s[i - 1]!
          return t1 === t0 ? c1 : c0 + ((c1 - c0) * (t - t0)) / (t1 - t0)
        }
      }
      return s[s.length - 1]![1]
    }
    return at(toMs) - at(fromMs)
  }
}

/**
 * Waits for a quiet moment: other work on this shared machine (other agents' tests) takes cores
 * the runs would use. Waits until the machine's busy CPU over a second is below `quietCores`, at
 * most `QUIET_WAIT_MAX_MS`; returns the cores busy when the run starts.
 */
async function awaitQuiet(): Promise<number> {
  const deadline = Date.now() + QUIET_WAIT_MAX_MS
  for (;;) {
    const before = machineBusyMs()
    await new Promise((r) => setTimeout(r, 1000))
    const cores = (machineBusyMs() - before) / 1000
    if (cores <= QUIET_CORES || Date.now() > deadline) {
      if (cores > QUIET_CORES)
        log(`  (the machine is busy: ${cores.toFixed(2)} cores in use; running anyway)`)
      return cores
    }
  }
}

// ---- 1. throughput: eddy run, eddy run --workers 1, --workers 2 ----------------------------------

interface Template {
  readonly dir: string
  readonly outputs: number
  readonly sum: number
}

/**
 * A data dir whose topic `payments` (6 partitions, each record in its key's partition) holds the
 * engine bench's windowed records, written without fsync; with the outputs the windowed count
 * must commit (per partition: each task's event time is its partition's).
 */
async function throughputTemplate(n: number): Promise<Template> {
  const g = generate(n, 8)
  const dir = tmpDir('template')
  const l = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
  l.createTopic('payments', { partitions: PARTITIONS })
  const byPartition: RecordInput[][] = Array.from({ length: PARTITIONS }, () => [])
  const keys: string[][] = Array.from({ length: PARTITIONS }, () => [])
  const times: number[][] = Array.from({ length: PARTITIONS }, () => [])
  for (let i = 0; i < n; i++) {
    const p = g.payments[i]!
    const key = Buffer.from(p.user)
    const partition = partitionForKey(key, PARTITIONS)
    byPartition[partition]!.push({ key, value: Buffer.from(JSON.stringify(p)), timestamp: g.timestamps[i]! })
    keys[partition]!.push(p.user)
    times[partition]!.push(g.timestamps[i]!)
  }
  for (const [partition, records] of byPartition.entries())
    for (let i = 0; i < records.length; i += 1000)
      await l.append('payments', partition, records.slice(i, i + 1000))
  await l.close()
  let outputs = 0
  let sum = 0
  for (let p = 0; p < PARTITIONS; p++) {
    const o = windowedOutputs(keys[p]!, times[p]!)
    outputs += o.outputs
    sum += o.sum
  }
  return { dir, outputs, sum }
}

type Mode = 'inprocess' | 'workers-1' | 'workers-2'
const MODES: readonly Mode[] = ['inprocess', 'workers-1', 'workers-2']

interface ThroughputRun {
  /** Start of `eddy run` → the last output committed. */
  readonly totalMs: number
  /** Start → every instance has its tasks (its first assignment). */
  readonly startupMs: number
  /** Every instance has its tasks → the last output committed. */
  readonly processingMs: number
  /** Group generations the run went through (1: no rebalance after the first assignment). */
  readonly generations: number
  /** CPU ms while processing: the command's own process (the broker, for workers) and each worker. */
  readonly commandCpuMs: number
  readonly workerCpuMs: number[]
  /** CPU ms every other process on the machine used meanwhile (other work competing for the cores). */
  readonly otherCpuMs: number
  /** CPU ms of the command and its workers from start to end (start-up included). */
  readonly runCpuMs: number
}

function eddyArgs(mode: Mode, dir: string): string[] {
  const args = [EDDY, '--data-dir', dir, 'run', WINDOWED_APP, '--until-idle', String(UNTIL_IDLE_MS)]
  if (mode === 'workers-1') args.push('--workers', '1')
  if (mode === 'workers-2') args.push('--workers', '2')
  return args
}

async function throughputRun(t: Template, mode: Mode): Promise<ThroughputRun> {
  const dir = tmpDir('run')
  try {
    fs.cpSync(t.dir, dir, { recursive: true })
    await awaitQuiet()
    const start = Date.now()
    const child = spawn(process.execPath, eddyArgs(mode, dir), {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SCALE_BENCH_ASSIGNMENTS: '1' },
    })
    const sampler = new CpuSampler(child.pid!)
    const stderr: string[] = []
    child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    sampler.stop()
    const text = stderr.join('')
    if (code !== 0) throw new Error(`eddy run (${mode}) exited with ${code}:\n${text.slice(-3000)}`)
    // The app prints `assigned <ms> <generation>` at each assignment (windowed-app.ts).
    const assignments = [...text.matchAll(/assigned (\d+) (-?\d+)/g)].map((m) => ({
      atMs: Number(m[1]),
      generation: Number(m[2]),
    }))
    const instances = mode === 'workers-2' ? 2 : 1
    const firsts = new Map<string, number>()
    for (const m of text.matchAll(/^(\[worker \d+\] )?assigned (\d+)/gm))
      if (!firsts.has(m[1] ?? '')) firsts.set(m[1] ?? '', Number(m[2]))
    if (firsts.size !== instances) throw new Error(`${mode}: ${firsts.size} instances reported an assignment`)
    const assignedMs = Math.max(...firsts.values())

    // The end: every input record processed and committed. Each record changes its task's window
    // store, so the commit holding a task's last input is the last one that wrote to its changelog
    // (or its output): the latest of those commits over the tasks, once the group's committed
    // offsets are at the inputs' ends.
    const l = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
    let lastCommitMs = 0
    let outputs = 0
    let sum = 0
    try {
      const committed = l.groups.fetch(
        WINDOWED_APP_ID,
        [...Array(PARTITIONS).keys()].map((p) => ({ topic: 'payments', partition: p })),
      )
      for (const c of committed) {
        if (c.offset !== l.latestOffset('payments', c.partition))
          throw new Error(
            `${mode}: the app committed offset ${c.offset} of payments-${c.partition}, not its end`,
          )
      }
      for (const topic of ['counts', WINDOWED_CHANGELOG]) {
        for (let p = 0; p < l.partitionCount(topic); p++) {
          const h = await partitionHistory(l, topic, p)
          if (topic === 'counts') {
            for (const r of h.records) sum += (JSON.parse(r.value!.toString()) as { value: number }).value
            outputs += h.records.length
          }
          const last = h.records.at(-1)
          if (last === undefined) continue
          const c = commitAfter(last.offset, h.commits)
          if (c === undefined)
            throw new Error(`${mode}: ${topic}-${p} has no commit after offset ${last.offset}`)
          lastCommitMs = Math.max(lastCommitMs, c.atMs)
        }
      }
    } finally {
      await l.close()
    }
    if (outputs !== t.outputs || sum !== t.sum) {
      throw new Error(
        `${mode}: committed ${outputs} window counts (sum ${sum}), expected ${t.outputs} (sum ${t.sum})`,
      )
    }
    const workers = [...sampler.samples.keys()].filter((pid) => pid !== child.pid && pid !== MACHINE)
    const commandCpuMs = sampler.between(child.pid!, assignedMs, lastCommitMs)
    const workerCpuMs = workers.map((pid) => sampler.between(pid, assignedMs, lastCommitMs))
    return {
      totalMs: lastCommitMs - start,
      startupMs: assignedMs - start,
      processingMs: lastCommitMs - assignedMs,
      generations: new Set(assignments.map((a) => a.generation)).size,
      commandCpuMs,
      workerCpuMs,
      runCpuMs: [child.pid!, ...workers].reduce((a, pid) => a + sampler.between(pid, start, lastCommitMs), 0),
      otherCpuMs: Math.max(
        0,
        sampler.between(MACHINE, assignedMs, lastCommitMs) -
          commandCpuMs -
          workerCpuMs.reduce((a, b) => a + b, 0),
      ),
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

interface ThroughputRow {
  readonly mode: Mode
  readonly records: number
  readonly totalMs: number
  readonly startupMs: number
  readonly processingMs: number
  /** Medians over the runs of the CPU while processing, and of the cores it kept busy. */
  readonly commandCpuMs: number
  readonly workerCpuMs: number
  readonly cores: number
  readonly otherCores: number
  readonly totals: number[]
  /** Runs that went through a rebalance after the first assignment (a worker joined late). */
  readonly rebalanced: number
}

interface ThroughputResult {
  readonly rows: ThroughputRow[]
  /** Per interleaved run pair: 1-worker time / 2-worker time, from start, and while processing. */
  readonly speedups: number[]
  readonly processingSpeedups: number[]
}

async function throughput(): Promise<ThroughputResult> {
  log(`throughput: ${fmtInt(THROUGHPUT_RECORDS)} records in ${PARTITIONS} partitions, ${RUNS} runs per mode`)
  const t = await throughputTemplate(THROUGHPUT_RECORDS)
  const runs = new Map<Mode, ThroughputRun[]>(MODES.map((m) => [m, []]))
  try {
    for (let i = 0; i < RUNS; i++) {
      for (const mode of MODES) {
        const r = await throughputRun(t, mode)
        runs.get(mode)!.push(r)
        log(
          `  run ${i + 1} ${mode}: ${fmtS(r.totalMs)} s (start-up ${fmtS(r.startupMs)} s, processing ${fmtS(r.processingMs)} s; ` +
            `CPU while processing: command ${fmtS(r.commandCpuMs)} s, workers ${r.workerCpuMs.map(fmtS).join(' + ') || '-'} s, other processes ${fmtS(r.otherCpuMs)} s; whole run ${fmtS(r.runCpuMs)} s; ` +
            `generations ${r.generations}) · load ${os.loadavg()[0]!.toFixed(1)}`,
        )
      }
    }
  } finally {
    fs.rmSync(t.dir, { recursive: true, force: true })
  }
  const ownCpu = (r: ThroughputRun) => r.commandCpuMs + r.workerCpuMs.reduce((a, b) => a + b, 0)
  const rows = MODES.map((mode): ThroughputRow => {
    const rs = runs.get(mode)!
    return {
      mode,
      records: THROUGHPUT_RECORDS,
      totalMs: median(rs.map((r) => r.totalMs)),
      startupMs: median(rs.map((r) => r.startupMs)),
      processingMs: median(rs.map((r) => r.processingMs)),
      commandCpuMs: median(rs.map((r) => r.commandCpuMs)),
      workerCpuMs: median(rs.map((r) => r.workerCpuMs.reduce((a, b) => a + b, 0))),
      cores: median(rs.map((r) => ownCpu(r) / r.processingMs)),
      otherCores: median(rs.map((r) => r.otherCpuMs / r.processingMs)),
      totals: rs.map((r) => r.totalMs),
      rebalanced: rs.filter((r) => r.generations > 1).length,
    }
  })
  const w1 = runs.get('workers-1')!
  const w2 = runs.get('workers-2')!
  return {
    rows,
    speedups: w1.map((r, i) => r.totalMs / w2[i]!.totalMs),
    processingSpeedups: w1.map((r, i) => r.processingMs / w2[i]!.processingMs),
  }
}

// ---- 2. failover -------------------------------------------------------------------------------

const quietLogger: BrokerLogger = { info: () => {}, warn: () => {}, error: (m) => log(`broker: ${m}`) }

interface Instance {
  readonly name: string
  readonly child: ChildProcess
  readonly lines: string[]
  readonly exited: Promise<number | null>
}

interface Assignment {
  readonly atMs: number
  readonly generation: number
  readonly active: string[]
  readonly standby: string[]
}

interface RestoreLine {
  readonly atMs: number
  readonly partition: number
  readonly restored: number
  readonly total: number
  readonly done: boolean
}

function assignmentsOf(i: Instance): Assignment[] {
  return i.lines
    .filter((l) => l.startsWith('assignment '))
    .map((l) => {
      const [, at, json] = /^assignment (\d+) (.*)$/.exec(l)!
      return { atMs: Number(at), ...(JSON.parse(json!) as Omit<Assignment, 'atMs'>) }
    })
}

function restoresOf(i: Instance): RestoreLine[] {
  return i.lines
    .filter((l) => l.startsWith('restore '))
    .map((l) => {
      const [, at, json] = /^restore (\d+) (.*)$/.exec(l)!
      return { atMs: Number(at), ...(JSON.parse(json!) as Omit<RestoreLine, 'atMs'>) }
    })
}

async function until(
  what: string,
  cond: () => boolean,
  timeoutMs: number,
  instances: Instance[],
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) {
      const tails = instances.map((i) => `--- ${i.name}:\n${i.lines.slice(-20).join('\n')}`).join('\n')
      throw new Error(`failover: timed out waiting for ${what}\n${tails}`)
    }
    await new Promise((r) => setTimeout(r, 5))
  }
}

interface FailoverRun {
  /** Kill → the group begins a rebalance (the dead instance's session expired). */
  readonly detectMs: number
  /** Rebalance begun → the new generation is formed (every live member synced). */
  readonly rebalanceMs: number
  /** The survivor restoring the moved tasks' stores (first restore line → last done). */
  readonly restoreMs: number
  readonly restoredRecords: number
  /** Restore done → the survivor runs the tasks (their offsets readable: the dead one's open transaction aborted). */
  readonly waitMs: number
  /** Kill → the dead instance's open transaction aborted by the broker (its abort marker). */
  readonly abortMs: number | null
  /** Kill → every moved task has committed output again (the survivor's first commit on each of its partitions). */
  readonly resumedMs: number
}

async function failoverRun(standbyReplicas: number): Promise<FailoverRun> {
  await awaitQuiet()
  const dir = tmpDir('failover')
  const eventLog = EventLog.open({ dir: path.join(dir, 'broker'), fsync: { kind: 'never' } })
  const groups = new GroupCoordinator({ initialRebalanceDelayMs: 0, sessionTimeoutMsMin: 1000 })
  const broker = await Broker.start({
    log: eventLog,
    host: '127.0.0.1',
    port: 0,
    groups,
    logger: quietLogger,
    transactionCheckIntervalMs: TRANSACTION_CHECK_MS,
  })
  const instances: Instance[] = []
  const start = (name: string): Instance => {
    const child = spawn(process.execPath, ['--import', 'tsx', COUNT_APP], {
      env: {
        ...process.env,
        EDDY_RUN_BROKERS: `127.0.0.1:${broker.port}`,
        EDDY_RUN_INSTANCE_ID: name,
        EDDY_DATA_DIR: path.join(dir, name),
        SCALE_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
        SCALE_TRANSACTION_TIMEOUT_MS: String(TRANSACTION_TIMEOUT_MS),
        SCALE_STANDBY_REPLICAS: String(standbyReplicas),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    const lines: string[] = []
    let rest = ''
    child.stderr!.on('data', (d: Buffer) => {
      const parts = (rest + d.toString()).split('\n')
      rest = parts.pop()!
      lines.push(...parts)
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
    const i = { name, child, lines, exited }
    instances.push(i)
    return i
  }
  const group = 'bench-scale-failover'
  let producing = true
  let producer: Promise<void> = Promise.resolve()
  try {
    eventLog.createTopic('events', { partitions: PARTITIONS })
    // The state: one record per key, so each task's count store (and changelog) holds 1/6 of the keys.
    const keyBufs = Array.from({ length: FAILOVER_KEYS }, (_, k) => Buffer.from(`key-${k}`))
    const byPartition: RecordInput[][] = Array.from({ length: PARTITIONS }, () => [])
    for (const key of keyBufs)
      byPartition[partitionForKey(key, PARTITIONS)]!.push({
        key,
        value: Buffer.from('1'),
        timestamp: Date.now(),
      })
    const p0 = await eventLog.producer()
    for (const [p, records] of byPartition.entries())
      for (let i = 0; i < records.length; i += 1000) await p0.send('events', p, records.slice(i, i + 1000))
    const committedOut = (p: number) =>
      eventLog.hasTopic('event-counts') ? eventLog.latestOffset('event-counts', p, 'read_committed') : 0
    // b first, a once b runs: a then holds no state of the tasks b keeps (it never ran them), so
    // without a standby it restores them whole when b dies.
    const b = start('b')
    await until('b to run', () => assignmentsOf(b).length > 0, 120_000, instances)
    const a = start('a')
    // Both running, every key counted once (offsets count commit markers too, so ≥).
    await until(
      'both instances to share the tasks and count every key',
      () => {
        const la = assignmentsOf(a).at(-1)
        const lb = assignmentsOf(b).at(-1)
        if (la === undefined || lb === undefined || la.generation !== lb.generation) return false
        if (la.active.length + lb.active.length !== PARTITIONS) return false
        let n = 0
        for (let p = 0; p < PARTITIONS; p++) n += committedOut(p)
        return n >= FAILOVER_KEYS
      },
      300_000,
      instances,
    )
    // A steady stream of updates to existing keys, on every partition, while b dies.
    let sent = 0
    const started = Date.now()
    producer = (async () => {
      while (producing) {
        const due = Math.floor(((Date.now() - started) / 1000) * FAILOVER_RATE)
        const batch: RecordInput[][] = Array.from({ length: PARTITIONS }, () => [])
        for (; sent < due; sent++) {
          const key = keyBufs[(sent * 7919) % FAILOVER_KEYS]!
          batch[partitionForKey(key, PARTITIONS)]!.push({
            key,
            value: Buffer.from('1'),
            timestamp: Date.now(),
          })
        }
        await Promise.all(batch.map((r, p) => (r.length > 0 ? p0.send('events', p, r) : Promise.resolve())))
        await new Promise((r) => setTimeout(r, 10))
      }
    })()
    // A second of steady state: both instances commit the stream.
    await new Promise((r) => setTimeout(r, 1000))
    const bAssignment = assignmentsOf(b).at(-1)!
    const moved = bAssignment.active.map((id) => Number(id.split('_')[1]))
    const beforeGen = groups.groupState(group)!.generationId
    const killedAt = Date.now()
    b.child.kill('SIGKILL')
    let rebalanceAt = 0
    let stableAt = 0
    await until(
      'the group to notice the dead instance',
      () => {
        const g = groups.groupState(group)!
        if (rebalanceAt === 0 && (g.state !== 'Stable' || g.generationId > beforeGen))
          rebalanceAt = Date.now()
        if (g.state === 'Stable' && g.generationId > beforeGen) stableAt = Date.now()
        return stableAt > 0
      },
      60_000,
      instances,
    )
    const aAfter = () => assignmentsOf(a).find((x) => x.generation > beforeGen)
    await until('the survivor to take the tasks', () => aAfter() !== undefined, 120_000, instances)
    const taken = aAfter()!
    if (!moved.every((p) => taken.active.includes(`0_${p}`)))
      throw new Error(`failover: a runs ${taken.active} after the kill, not b's tasks ${bAssignment.active}`)
    // Output again on every partition b had: offsets past where they were at the assignment.
    const at = moved.map((p) => committedOut(p))
    await until(
      "the survivor's output on the moved partitions",
      () => moved.every((p, i) => committedOut(p) > at[i]!),
      60_000,
      instances,
    )
    producing = false
    await producer
    await p0.close()
    // Every record counted before a stops: the group's committed offsets at the inputs' ends.
    await until(
      'the survivor to catch up',
      () =>
        eventLog.groups
          .fetch(
            group,
            [...Array(PARTITIONS).keys()].map((partition) => ({ topic: 'events', partition })),
          )
          .every((c) => c.offset === eventLog.latestOffset('events', c.partition)),
      120_000,
      instances,
    )
    a.child.kill('SIGTERM')
    const code = await a.exited
    if (code !== 0)
      throw new Error(`failover: instance a exited with ${code}\n${a.lines.slice(-20).join('\n')}`)

    await checkCounts(eventLog, keyBufs.length, sent, (i) => (i * 7919) % FAILOVER_KEYS)
    // From the log: b's producer (the last writer of its partitions before the kill), the abort of
    // its open transaction, and the survivor's first commit on each partition.
    let resumedAt = 0
    let abortAt: number | null = null
    for (const p of moved) {
      const h = await partitionHistory(eventLog, 'event-counts', p)
      const bCommits = h.commits.filter((c) => c.commit.atMs <= killedAt)
      const bProducer = bCommits.at(-1)?.commit.producerId
      const first = h.commits.find((c) => c.commit.atMs > killedAt && c.commit.producerId !== bProducer)
      if (first === undefined) throw new Error(`failover: no commit on event-counts-${p} after the kill`)
      resumedAt = Math.max(resumedAt, first.commit.atMs)
      const aborts = await abortMarkers(eventLog, 'event-counts', p, bProducer ?? -1)
      const abort = aborts.find((t) => t > killedAt)
      if (abort !== undefined) abortAt = Math.max(abortAt ?? 0, abort)
    }
    const restores = restoresOf(a).filter(
      (r) => r.atMs >= killedAt && r.atMs <= taken.atMs && moved.includes(r.partition),
    )
    const restoreStart = Math.min(...restores.map((r) => r.atMs))
    const restoreEnd = Math.max(...restores.filter((r) => r.done).map((r) => r.atMs))
    return {
      detectMs: rebalanceAt - killedAt,
      rebalanceMs: stableAt - rebalanceAt,
      restoreMs: restores.length === 0 ? 0 : restoreEnd - restoreStart,
      restoredRecords: restores.filter((r) => r.done).reduce((s, r) => s + r.restored, 0),
      waitMs: taken.atMs - (restores.length === 0 ? stableAt : restoreEnd),
      abortMs: abortAt === null ? null : abortAt - killedAt,
      resumedMs: resumedAt - killedAt,
    }
  } finally {
    producing = false
    await producer.catch(() => {})
    for (const i of instances)
      if (i.child.exitCode === null && i.child.signalCode === null) i.child.kill('SIGKILL')
    await Promise.all(instances.map((i) => i.exited))
    await broker.close()
    groups.close()
    await eventLog.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The committed counts must be those of one uninterrupted run: for each key, 1, 2, … up to its
 * number of records, each once (the state built, then `updates` records to key `keyOf(i)`).
 */
async function checkCounts(
  l: EventLog,
  keys: number,
  updates: number,
  keyOf: (i: number) => number,
): Promise<void> {
  const expected = new Uint32Array(keys).fill(1)
  for (let i = 0; i < updates; i++) expected[keyOf(i)]!++
  const seen = new Uint32Array(keys)
  for (let p = 0; p < PARTITIONS; p++) {
    const end = l.latestOffset('event-counts', p, 'read_committed')
    let offset = l.earliestOffset('event-counts', p)
    while (offset < end) {
      const r = await l.read('event-counts', p, offset, { isolation: 'read_committed', maxBytes: 4 << 20 })
      for (const rec of r.records) {
        const k = Number(rec.key!.toString().slice('key-'.length))
        const n = Number(rec.value!.toString())
        if (n !== seen[k]! + 1) throw new Error(`failover: key-${k} counted ${n} after ${seen[k]}`)
        seen[k] = n
      }
      if (r.nextOffset <= offset) break
      offset = r.nextOffset
    }
  }
  for (let k = 0; k < keys; k++) {
    if (seen[k] !== expected[k])
      throw new Error(`failover: key-${k} counted to ${seen[k]}, expected ${expected[k]}`)
  }
}

/** Timestamps of the abort markers a producer has on a partition. */
async function abortMarkers(
  l: EventLog,
  topic: string,
  partition: number,
  producerId: number,
): Promise<number[]> {
  const markers = await controlMarkers(l, topic, partition, l.latestOffset(topic, partition))
  return markers.filter((m) => !m.commit && m.producerId === producerId).map((m) => m.atMs)
}

interface FailoverRow {
  readonly standbyReplicas: number
  readonly runs: FailoverRun[]
  readonly med: { [K in keyof FailoverRun]: number }
}

async function failover(): Promise<FailoverRow[]> {
  log(
    `failover: ${fmtInt(FAILOVER_KEYS)} keys, session timeout ${SESSION_TIMEOUT_MS} ms, transaction timeout ${TRANSACTION_TIMEOUT_MS} ms, ${RUNS} runs each`,
  )
  const runs = new Map<number, FailoverRun[]>([
    [0, []],
    [1, []],
  ])
  for (let i = 0; i < RUNS; i++) {
    for (const standby of [0, 1]) {
      const r = await failoverRun(standby)
      runs.get(standby)!.push(r)
      log(
        `  run ${i + 1}, standby ${standby}: resumed ${fmtS(r.resumedMs)} s after the kill (detect ${fmtS(r.detectMs)}, rebalance ${fmtS(r.rebalanceMs)}, ` +
          `restore ${fmtS(r.restoreMs)} s / ${fmtInt(r.restoredRecords)} records, then ${fmtS(r.waitMs)} s; dead transaction aborted at ${r.abortMs === null ? '-' : fmtS(r.abortMs)} s) · load ${os.loadavg()[0]!.toFixed(1)}`,
      )
    }
  }
  return [...runs].map(([standbyReplicas, rs]) => ({
    standbyReplicas,
    runs: rs,
    med: {
      detectMs: median(rs.map((r) => r.detectMs)),
      rebalanceMs: median(rs.map((r) => r.rebalanceMs)),
      restoreMs: median(rs.map((r) => r.restoreMs)),
      restoredRecords: median(rs.map((r) => r.restoredRecords)),
      waitMs: median(rs.map((r) => r.waitMs)),
      abortMs: median(rs.map((r) => r.abortMs ?? Number.NaN)),
      resumedMs: median(rs.map((r) => r.resumedMs)),
    },
  }))
}

// ---- report ------------------------------------------------------------------------------------

const MODE_LABEL: Record<Mode, string> = {
  inprocess: '`eddy run`: one process on the embedded log (reference)',
  'workers-1': '`eddy run --workers 1`: one worker over the broker',
  'workers-2': '`eddy run --workers 2`: two workers over the broker',
}

const fmtX = (x: number) => `${x.toFixed(2)}×`

function throughputTable(t: ThroughputResult): string {
  const lines = [
    '| case | records | s, start → all committed | records/s | start-up s | processing s | records/s while processing | cores busy while processing: Eddy (broker / workers) · other processes | CPU µs per record while processing | runs: s, start → all committed |',
    '|---|---:|---:|---:|---:|---:|---:|---|---:|---|',
  ]
  for (const r of t.rows) {
    const ours = r.commandCpuMs + r.workerCpuMs
    const split =
      r.mode === 'inprocess'
        ? ''
        : ` (${(r.commandCpuMs / r.processingMs).toFixed(2)} / ${(r.workerCpuMs / r.processingMs).toFixed(2)})`
    lines.push(
      `| ${MODE_LABEL[r.mode]} | ${fmtInt(r.records)} | ${fmtS(r.totalMs)} | ${fmtInt(r.records / (r.totalMs / 1000))} | ${fmtS(r.startupMs)} | ${fmtS(r.processingMs)} | ${fmtInt(r.records / (r.processingMs / 1000))} | ${r.cores.toFixed(2)}${split} · ${r.otherCores.toFixed(2)} | ${((ours * 1000) / r.records).toFixed(1)} | ${r.totals.map(fmtS).join(', ')} |`,
    )
  }
  const speedup = median(t.speedups)
  const rebalanced = t.rows.reduce((n, r) => n + r.rebalanced, 0)
  lines.push(
    '',
    `- **2 workers / 1 worker, start → all committed: ${fmtX(speedup)}** (median of the per-run ratios ${t.speedups.map(fmtX).join(', ')}; target >= ${TARGET_SPEEDUP}×: ${speedup >= TARGET_SPEEDUP ? 'pass' : 'MISS'})`,
    `- 2 workers / 1 worker, while processing: ${fmtX(median(t.processingSpeedups))} (per run ${t.processingSpeedups.map(fmtX).join(', ')})`,
  )
  // Where the time goes: with the cores full, 2 workers can do at most (2 cores / their CPU per
  // record); the 1-worker run already keeps more than one core busy.
  const ref = t.rows.find((r) => r.mode === 'inprocess')!
  const w1 = t.rows.find((r) => r.mode === 'workers-1')!
  const w2 = t.rows.find((r) => r.mode === 'workers-2')!
  const usPerRecord = (r: ThroughputRow) => ((r.commandCpuMs + r.workerCpuMs) * 1000) / r.records
  const cores = os.cpus().length
  const ceiling = ((cores / usPerRecord(w2)) * 1e6) / (w1.records / (w1.processingMs / 1000))
  const split = (r: ThroughputRow) =>
    `workers ${(r.workerCpuMs / r.processingMs).toFixed(2)}, broker ${(r.commandCpuMs / r.processingMs).toFixed(2)}`
  lines.push(
    `- Where the time goes, while processing: 1 worker kept ${w1.cores.toFixed(2)} cores busy (${split(w1)}): the worker's main thread is the limit, its GC and lmdb threads and the broker add the rest; ` +
      `2 workers kept ${w2.cores.toFixed(2)} of the ${cores} cores busy (${split(w2)}), at ${usPerRecord(w2).toFixed(1)} µs of CPU per record against ${usPerRecord(w1).toFixed(1)} µs with one worker (${usPerRecord(ref).toFixed(1)} µs in one process, without the broker). ` +
      `With every core busy, 2 workers could do at most ${cores} cores / ${usPerRecord(w2).toFixed(1)} µs per record, ${ceiling.toFixed(2)}× the 1-worker rate` +
      (w2.cores >= 0.9 * cores
        ? ': the cores were nearly full, so the machine, not waiting, bounds the ratio.'
        : `; the cores were not full (${w2.cores.toFixed(2)} of ${cores}): the workers also waited (on the broker, on their commits).`),
    `- Start-up: ${fmtS(w2.startupMs)} s with two workers, ${fmtS(w1.startupMs)} s with one, ${fmtS(ref.startupMs)} s in one process. A worker is a second \`eddy run\`: it loads the CLI, then the app through tsx, then the Kafka client (whose option schemas ajv compiles), connects, and joins the group, which waits 300 ms for the other workers before its first assignment; two workers start at once on the same cores.`,
  )
  if (rebalanced > 0)
    lines.push(
      `- ${rebalanced} run(s) rebalanced after the first assignment (a worker joined late): their processing time starts when the last worker had its tasks`,
    )
  return lines.join('\n')
}

function failoverTable(rows: FailoverRow[]): string {
  const lines = [
    '| standby replicas | kill → resumed s | detection s | rebalance s | restore s | records restored | restore → running s | runs: kill → resumed s |',
    '|---:|---:|---:|---:|---:|---:|---:|---|',
  ]
  for (const r of rows) {
    const m = r.med
    lines.push(
      `| ${r.standbyReplicas} | ${fmtS(m.resumedMs)} | ${fmtS(m.detectMs)} | ${fmtS(m.rebalanceMs)} | ${fmtS(m.restoreMs)} | ${fmtInt(m.restoredRecords)} | ${fmtS(m.waitMs)} | ${r.runs.map((x) => fmtS(x.resumedMs)).join(', ')} |`,
    )
  }
  const r0 = rows.find((r) => r.standbyReplicas === 0)
  const r1 = rows.find((r) => r.standbyReplicas === 1)
  if (r0 !== undefined && r1 !== undefined) {
    lines.push(
      '',
      `The session timeout dominates: detection is ${SESSION_TIMEOUT_MS / 1000} s less the time since b's last heartbeat or offset commit (a commit counts as one, as in Kafka, and b commits every 100 ms); ` +
        "the rebalance waits for a's next heartbeat (every third of the session), which tells it a rebalance is on. " +
        `Without a standby, a restored ${fmtInt(r0.med.restoredRecords)} changelog records in ${fmtS(r0.med.restoreMs)} s; with one, its standbys were caught up (${fmtInt(r1.med.restoredRecords)} records to restore, ${fmtS(r1.med.restoreMs)} s). ` +
        `The medians of kill → resumed differ by ${fmtS(r0.med.resumedMs - r1.med.resumedMs)} s: the restore, and the rebalance, which varies with where a's heartbeat falls.`,
    )
  }
  const aborted = rows.flatMap((r) => r.runs).filter((x) => x.abortMs !== null)
  const total = rows.reduce((n, r) => n + r.runs.length, 0)
  lines.push(
    '',
    aborted.length === 0
      ? `In none of the ${total} runs did b die with a transaction open on its output (a transaction is open only while a commit sends its records).`
      : `In ${aborted.length} of ${total} runs b died with a transaction open on its output; the broker aborted it ${aborted.map((x) => fmtS(x.abortMs!)).join(', ')} s after the kill.`,
  )
  return lines.join('\n')
}

function throughputText(): string {
  return (
    `**Throughput.** The windowed count of the engine bench's end-to-end row (payments \`{ id, user, amount, at }\` as JSON over ${fmtInt(KEYS)} user keys, event time advancing 1 ms per ${RECORDS_PER_EVENT_MS} records, ` +
    `\`groupByKey().window(tumbling(1 s)).count().final()\` → \`counts\`, exactly-once, 100 ms commits, the log's default fsync, window state in lmdb with its changelog), ` +
    `as a file \`eddy run\` runs (bench/scale/windowed-app.ts), over ${fmtInt(THROUGHPUT_RECORDS)} records pre-written to a ${PARTITIONS}-partition topic of a fresh data dir, each record in its key's partition (so ${PARTITIONS} tasks). ` +
    `Each run is \`eddy --data-dir D run windowed-app.ts [--workers W] --until-idle ${UNTIL_IDLE_MS}\` as a child process; with workers, the command serves D through its broker on 127.0.0.1 and the workers connect to it. ` +
    'The end is the commit that holds the last input record of every task: after the command has exited, the bench reads D and takes, for every task, the commit marker that made its last output and its last changelog record visible ' +
    "(each record changes its task's window store; a marker's timestamp is the log's clock when the transaction committed, i.e. when read_committed readers could first see it), the latest over the tasks; " +
    "it also checks that the group's committed offsets are at the inputs' ends and that the committed window counts (number and sum) are those a hand loop computes per partition. " +
    "Nothing polls while the run goes (the command holds the data dir's lock, and a poller would take CPU from the run; a poller of the read_committed end offsets over Kafka, tried when this bench was written, saw the same moments within 10 ms), and the idle wait before the workers stop comes after the end, so it is not timed. " +
    'Start-up: from spawning the command until every instance has had its first assignment (the app prints it, with the wall clock); processing: from there to the end. ' +
    'CPU: /proc of the command and each worker, sampled every 100 ms, between those two times; "other processes" is the rest of the machine\'s busy CPU meanwhile (other agents\' work). ' +
    `Each run waits first until the machine is quiet (at most ${QUIET_CORES} cores busy over 1 s, waiting up to ${QUIET_WAIT_MAX_MS / 1000} s). ` +
    `The three cases are interleaved, ${RUNS} runs each; each cell is the median; not pinned to a CPU (the engine bench's row is pinned to one).`
  )
}

function failoverText(): string {
  return (
    `**Failover.** Two instances (a and b) of a stateful exactly-once app (bench/scale/count-app.ts: events keyed by id, \`groupByKey().count()\` → every update to \`event-counts\`; 100 ms commits), ` +
    `each a child process connected to Eddy's broker, which runs in the bench process (its log without fsync) with a group coordinator that allows short sessions and checks transaction timeouts every ${TRANSACTION_CHECK_MS} ms. ` +
    `Session timeout ${SESSION_TIMEOUT_MS / 1000} s, transaction timeout ${TRANSACTION_TIMEOUT_MS / 1000} s. The input (${PARTITIONS} partitions) first holds one record for each of ${fmtInt(FAILOVER_KEYS)} keys, so each task's count store and changelog hold about ${fmtInt(FAILOVER_KEYS / PARTITIONS)} keys; ` +
    `b starts first, a once b runs (so a never ran b's tasks: without a standby it restores them whole); once both run and every key is counted, a producer in the bench writes ${fmtInt(FAILOVER_RATE)} updates/s over every partition; a second later b is killed with SIGKILL. ` +
    "Detection: kill → the coordinator starts a rebalance (b's session expired). Rebalance: → the new generation is formed (a learns of the rebalance at its next heartbeat, commits, rejoins). " +
    "Restore: a restoring the moved tasks' stores from their changelogs (its first restore line → its last, each timed by a with the wall clock). Restore → running: a reads the tasks' committed offsets (waiting for a transaction of b that still held some) and opens them. " +
    "Kill → resumed: until a has committed output on every partition b owned (the first commit marker there after the kill not from b's producer). " +
    "After each run, every key's committed counts must be 1, 2, … up to its records, each once. " +
    `The two settings are interleaved, ${RUNS} runs each; each cell is the median.`
  )
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'main.js')))
    throw new Error('eddy is not built: run `npm run build` first (bin/eddy runs dist/)')
  const startedMs = performance.now()
  const loadAtStart = os.loadavg()[0]!
  log(`bench:scale${quick ? ' --quick' : ''}: ${RUNS} runs per row, ${os.cpus().length} CPUs`)
  const tp = only === null || only === 'throughput' ? await throughput() : null
  const fo = only === null || only === 'failover' ? await failover() : null
  const parts: string[] = []
  if (tp !== null) parts.push(throughputTable(tp))
  if (fo !== null) parts.push(failoverTable(fo))
  const text = parts.join('\n\n')
  const seconds = (performance.now() - startedMs) / 1000
  if (only !== null) {
    process.stdout.write(`${text}\n\n(${seconds.toFixed(0)} s; --only: docs not written)\n`)
    return
  }
  const section = [
    SECTION,
    '',
    runLine({
      quick,
      seconds,
      loadAtStart,
      cpuNote: " (shared with other agents' work: the load average says how much)",
    }),
    '',
    tp === null ? '' : throughputText(),
    '',
    tp === null ? '' : throughputTable(tp),
    '',
    fo === null ? '' : failoverText(),
    '',
    fo === null ? '' : failoverTable(fo),
    '',
  ].join('\n')
  publishSection(SECTION, section, text, seconds)
}

await main()
