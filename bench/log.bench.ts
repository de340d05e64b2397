// Benchmark of the embedded log: appends (fsync never / always, 1 and 8 partitions) against a
// plain-fs baseline writing the same bytes, and sequential reads. Writes its table to
// docs/benchmarks.md under "## Log (npm run bench:log)".
//   npm run bench:log             full run (~500 MB read topic)
//   npm run bench:log -- --quick  smaller run (~200 MB read topic)
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import * as os from 'node:os'
import * as path from 'node:path'
import type { RecordInput } from '../src/core/record.js'
import { encodeRecordBatch } from '../src/core/record-batch.js'
import { EventLog } from '../src/log/event-log.js'
import type { FsyncPolicy } from '../src/log/types.js'
import { median, publishSection, runLine } from './support/report.js'

const quick = process.argv.includes('--quick')
const RUNS = 3
/** fsync rows drift most (a shared disk): more pairs, so one slow phase moves the median less. */
const FSYNC_PAIRS = quick ? 5 : 7
const RECORDS_PER_BATCH = 1000
const VALUE_BYTES = 100
const KEY_BYTES = 8
const FETCH_BYTES = 1024 * 1024
const READ_TOPIC_BYTES = (quick ? 200 : 500) * 1024 * 1024
/** Batches per append run: enough for a second or more of work per run. */
const BATCHES_NO_FSYNC = quick ? 800 : 2000
const BATCHES_FSYNC = quick ? 250 : 600
const POOL_BATCHES = 16

const TARGET_APPENDS_PER_S = 1_000_000
const TARGET_FSYNC_RATIO = 0.7
const TARGET_READ_RECORDS_PER_S = 2_000_000

const SECTION = '## Log (npm run bench:log)'

// ---- workload ---------------------------------------------------------------------------

/**
 * A pool of batches of 1,000 records: 8-byte random key, 100-byte random value, no headers.
 * Keys and values are views into one random buffer per batch, as records decoded from a request
 * are; 2,000 separately allocated buffers per batch would make each copy a cache miss (~3× slower).
 */
function recordPool(): RecordInput[][] {
  return Array.from({ length: POOL_BATCHES }, () => {
    const bytes = crypto.randomBytes(RECORDS_PER_BATCH * (KEY_BYTES + VALUE_BYTES))
    return Array.from({ length: RECORDS_PER_BATCH }, (_, i) => {
      const at = i * (KEY_BYTES + VALUE_BYTES)
      return {
        key: bytes.subarray(at, at + KEY_BYTES),
        value: bytes.subarray(at + KEY_BYTES, at + KEY_BYTES + VALUE_BYTES),
      }
    })
  })
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-bench-log-'))
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

interface Measure {
  readonly recordsPerS: number
  readonly bytesPerS: number
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  /** fdatasync calls per appended batch (the fsync cadence), when counted. */
  readonly fsyncsPerBatch?: number
}

// Counts fdatasync calls made by the log, to show each row's real fsync cadence.
const fsCjs = createRequire(import.meta.url)('node:fs') as typeof fs
let fdatasyncCalls = 0
const realFdatasync = fsCjs.fdatasync
fsCjs.fdatasync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
  fdatasyncCalls++
  realFdatasync(fd, cb)
}) as typeof fs.fdatasync
const realFdatasyncSync = fsCjs.fdatasyncSync
fsCjs.fdatasyncSync = (fd: number) => {
  fdatasyncCalls++
  realFdatasyncSync(fd)
}
syncBuiltinESMExports()

function medianMeasure(runs: Measure[]): Measure {
  const orNull = (xs: (number | null)[]) => (xs[0] === null ? null : median(xs as number[]))
  return {
    recordsPerS: median(runs.map((r) => r.recordsPerS)),
    bytesPerS: median(runs.map((r) => r.bytesPerS)),
    p50Ms: orNull(runs.map((r) => r.p50Ms)),
    p99Ms: orNull(runs.map((r) => r.p99Ms)),
    fsyncsPerBatch:
      runs[0]?.fsyncsPerBatch === undefined ? undefined : median(runs.map((r) => r.fsyncsPerBatch ?? 0)),
  }
}

// ---- appends ----------------------------------------------------------------------------

/**
 * What one append sends: records for `log.append` (the log encodes them), or a producer's
 * encoded batch for `log.appendBatch` (the broker's path for a Produce request).
 */
type AppendSource = { readonly records: RecordInput[][] } | { readonly batches: Buffer[] }

function appendOne(log: EventLog, source: AppendSource, partition: number, i: number): Promise<unknown> {
  if ('records' in source) return log.append('bench', partition, source.records[i % source.records.length]!)
  return log.appendBatch('bench', partition, source.batches[i % source.batches.length]!)
}

/** Appends `batches` batches, `inFlight` at a time, round-robin over `partitions`; times each await. */
async function appendRun(
  source: AppendSource,
  partitions: number,
  fsync: FsyncPolicy,
  batches: number,
  inFlight = 1,
): Promise<Measure> {
  const dir = tmpDir()
  try {
    const log = EventLog.open({ dir, fsync, maintenanceIntervalMs: 0 })
    log.createTopic('bench', { partitions })
    const latencies = new Float64Array(batches)
    const fsyncsBefore = fdatasyncCalls
    const start = performance.now()
    let next = 0
    const producer = async () => {
      while (next < batches) {
        const i = next++
        const t0 = performance.now()
        await appendOne(log, source, i % partitions, i)
        latencies[i] = performance.now() - t0
      }
    }
    await Promise.all(Array.from({ length: inFlight }, producer))
    const seconds = (performance.now() - start) / 1000
    const fsyncsPerBatch = (fdatasyncCalls - fsyncsBefore) / batches
    let bytes = 0
    for (const p of log.describeTopic('bench').partitions) bytes += p.bytes
    await log.close()
    latencies.sort()
    return {
      recordsPerS: (batches * RECORDS_PER_BATCH) / seconds,
      bytesPerS: bytes / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      fsyncsPerBatch,
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The physical baseline: the same encoded batches written with fs.writeSync, fdatasync per batch
 * or none. With `files` > 1 the batches go round-robin over that many files, as the log's
 * partitions do (an fdatasync costs more when it alternates between files).
 */
function baselineRun(encoded: Buffer[], fsync: boolean, batches: number, files = 1): Measure {
  const dir = tmpDir()
  try {
    const fds = Array.from({ length: files }, (_, f) =>
      fs.openSync(path.join(dir, `baseline-${f}.log`), 'wx'),
    )
    const positions = new Array<number>(files).fill(0)
    const latencies = new Float64Array(batches)
    let bytes = 0
    const start = performance.now()
    for (let i = 0; i < batches; i++) {
      const t0 = performance.now()
      const buf = encoded[i % encoded.length]!
      const f = i % files
      const fd = fds[f]!
      const position = positions[f]!
      let written = 0
      while (written < buf.length)
        written += fs.writeSync(fd, buf, written, buf.length - written, position + written)
      positions[f] = position + buf.length
      if (fsync) fs.fdatasyncSync(fd)
      bytes += buf.length
      latencies[i] = performance.now() - t0
    }
    const seconds = (performance.now() - start) / 1000
    for (const fd of fds) fs.closeSync(fd)
    latencies.sort()
    return {
      recordsPerS: (batches * RECORDS_PER_BATCH) / seconds,
      bytesPerS: bytes / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

// ---- reads ------------------------------------------------------------------------------

async function fillReadTopic(dir: string, pool: RecordInput[][]): Promise<number> {
  const log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
  log.createTopic('read', { partitions: 1 })
  let bytes = 0
  for (let i = 0; bytes < READ_TOPIC_BYTES; i++) {
    await log.append('read', 0, pool[i % pool.length]!)
    bytes = log.describeTopic('read').partitions[0]!.bytes
  }
  const records = log.latestOffset('read', 0)
  await log.close()
  return records
}

/** Reads the whole topic from offset 0 with 1 MB fetches: decoded records, or raw batches. */
async function readRun(dir: string, decoded: boolean): Promise<Measure> {
  const log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
  const end = log.latestOffset('read', 0)
  let offset = 0
  let records = 0
  let bytes = 0
  const start = performance.now()
  if (decoded) {
    while (offset < end) {
      const r = await log.read('read', 0, offset, { maxBytes: FETCH_BYTES })
      records += r.records.length
      offset = r.nextOffset
    }
    bytes = log.describeTopic('read').partitions[0]!.bytes
  } else {
    while (offset < end) {
      const f = await log.fetch('read', 0, offset, { maxBytes: FETCH_BYTES })
      bytes += f.bytes.length
      // The last batch's offsets: base + lastOffsetDelta + 1 (parsed from the batch tail's header).
      let p = 0
      let next = offset
      while (p < f.bytes.length) {
        const size = f.bytes.readInt32BE(p + 8) + 12
        next =
          f.bytes.readInt32BE(p) * 4294967296 + f.bytes.readUInt32BE(p + 4) + f.bytes.readInt32BE(p + 23) + 1
        p += size
      }
      offset = next
    }
    records = end
  }
  const seconds = (performance.now() - start) / 1000
  await log.close()
  if (records !== end) throw new Error(`read ${records} records, expected ${end}`)
  return { recordsPerS: records / seconds, bytesPerS: bytes / seconds, p50Ms: null, p99Ms: null }
}

// ---- report -----------------------------------------------------------------------------

interface Row {
  readonly name: string
  readonly m: Measure
  readonly vsBaseline?: number
  readonly target?: string
  readonly pass?: boolean
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US')
const fmtMB = (n: number) => (n / (1024 * 1024)).toFixed(1)
const fmtMs = (n: number | null) => (n === null ? '' : n < 1 ? n.toFixed(3) : n.toFixed(2))

function table(rows: Row[]): string {
  const head =
    '| case | records/s | MB/s | p50 ms | p99 ms | fsyncs per batch | vs plain fs | target | result |\n|---|---:|---:|---:|---:|---:|---:|---|---|'
  const lines = rows.map(
    (r) =>
      `| ${r.name} | ${fmtInt(r.m.recordsPerS)} | ${fmtMB(r.m.bytesPerS)} | ${fmtMs(r.m.p50Ms)} | ${fmtMs(r.m.p99Ms)} | ${r.m.fsyncsPerBatch === undefined ? '' : r.m.fsyncsPerBatch.toFixed(2)} | ${
        r.vsBaseline === undefined ? '' : r.vsBaseline.toFixed(2)
      } | ${r.target ?? ''} | ${r.pass === undefined ? '' : r.pass ? 'pass' : 'MISS'} |`,
  )
  return [head, ...lines].join('\n')
}

/** Why one-in-flight fsync appends trail the baseline, in this run's own numbers. */
function fsyncNote(rows: Row[]): string {
  const find = (prefix: string) => rows.find((r) => r.name.startsWith(prefix))?.m.p50Ms ?? 0
  const cpu = find('append, 1 partition, fsync never')
  const withFsync = find('append, 1 partition, fsync always, 1 append')
  const plain = find('plain fs.writeSync + fdatasync')
  return (
    `Per batch (p50): Eddy's append work without fsync ${fmtMs(cpu)} ms (encoding, CRC-32C, write, index); ` +
    `plain write + fdatasync ${fmtMs(plain)} ms; Eddy with fsync ${fmtMs(withFsync)} ms. With one append in flight ` +
    'the CPU work and the fsync add up, so the ratio is bounded by fsync / (CPU + fsync). With the policy `always` ' +
    'the log syncs once per partition per event-loop turn (group commit), on the main thread when one partition has ' +
    'new bytes and in the thread pool when several do; so with two appends in flight to one partition one fdatasync ' +
    'may cover both. The fsyncs-per-batch column is the count of fdatasync calls the log made over the batches it ' +
    "appended: at 1.00 the cadence is the baseline's, one per batch; rows below 1.00 do not count for the target."
  )
}

async function main(): Promise<void> {
  const started = performance.now()
  const loadAtStart = os.loadavg()[0]!
  const pool = recordPool()
  const encoded = pool.map((records) => encodeRecordBatch({ records, defaultTimestamp: Date.now() }))
  const batchBytes = encoded[0]!.length
  const log = (s: string) => process.stderr.write(`${s}\n`)
  log(
    `bench:log${quick ? ' --quick' : ''}: ${RUNS} runs per row (${FSYNC_PAIRS} pairs per fsync row), batch ${batchBytes} bytes`,
  )

  const rows: Row[] = []
  const measure = async (name: string, run: () => Promise<Measure> | Measure): Promise<Measure> => {
    const runs: Measure[] = []
    for (let i = 0; i < RUNS; i++) runs.push(await run())
    const m = medianMeasure(runs)
    log(`  ${name}: ${fmtInt(m.recordsPerS)} records/s, ${fmtMB(m.bytesPerS)} MB/s`)
    return m
  }

  // fsync times drift on shared disks, so each fsync row runs paired with a baseline run, and its
  // ratio is the median of the per-pair ratios.
  // The baseline of a row writes as many files as the row has partitions.
  const plainSyncRuns = new Map<number, Measure[]>([
    [1, []],
    [8, []],
  ])
  const measurePaired = async (name: string, files: number, run: () => Promise<Measure>) => {
    const runs: Measure[] = []
    const ratios: number[] = []
    for (let i = 0; i < FSYNC_PAIRS; i++) {
      const base = baselineRun(encoded, true, BATCHES_FSYNC, files)
      const m = await run()
      plainSyncRuns.get(files)!.push(base)
      runs.push(m)
      ratios.push(m.bytesPerS / base.bytesPerS)
    }
    const m = medianMeasure(runs)
    const ratio = median(ratios)
    log(
      `  ${name}: ${fmtInt(m.recordsPerS)} records/s, ${fmtMB(m.bytesPerS)} MB/s, ${ratio.toFixed(2)} × plain fs`,
    )
    return { m, ratio }
  }

  const plainNoSync = await measure('plain fs, no fsync', () => baselineRun(encoded, false, BATCHES_NO_FSYNC))
  for (const partitions of [1, 8]) {
    const m = await measure(`append never ${partitions}p`, () =>
      appendRun({ records: pool }, partitions, { kind: 'never' }, BATCHES_NO_FSYNC),
    )
    rows.push({
      name: `append, ${partitions} partition${partitions > 1 ? 's' : ''}, fsync never`,
      m,
      vsBaseline: m.bytesPerS / plainNoSync.bytesPerS,
      target: '>= 1,000,000 records/s',
      pass: m.recordsPerS >= TARGET_APPENDS_PER_S,
    })
  }
  // fsync per batch: one append in flight (CPU and fsync add up), then two in flight, where the
  // log's group commit may cover both with one fdatasync. The target holds a row to the baseline's
  // cadence: a ratio reached with fewer fsyncs than batches is not counted as a pass.
  for (const inFlight of [1, 2]) {
    for (const partitions of [1, 8]) {
      const { m, ratio } = await measurePaired(
        `append always ${partitions}p, ${inFlight} in flight`,
        partitions,
        () => appendRun({ records: pool }, partitions, { kind: 'always' }, BATCHES_FSYNC, inFlight),
      )
      const flight = inFlight === 1 ? '1 append in flight' : `${inFlight} appends in flight`
      rows.push({
        name: `append, ${partitions} partition${partitions > 1 ? 's' : ''}, fsync always, ${flight}`,
        m,
        vsBaseline: ratio,
        target: '>= 0.7 × plain fs, 1 fsync per batch',
        pass: ratio >= TARGET_FSYNC_RATIO && (m.fsyncsPerBatch ?? 0) >= 0.99,
      })
    }
  }
  // The broker's path: a producer's encoded batch, stored as received once its CRC and records
  // check out; the bytes are exactly the baseline's, so this ratio is the log's own overhead.
  {
    const never = await measure('appendBatch never 1p', () =>
      appendRun({ batches: encoded }, 1, { kind: 'never' }, BATCHES_NO_FSYNC),
    )
    rows.push({
      name: 'append encoded batches (`appendBatch`, CRC and records checked), 1 partition, fsync never',
      m: never,
      vsBaseline: never.bytesPerS / plainNoSync.bytesPerS,
      target: '>= 1,000,000 records/s',
      pass: never.recordsPerS >= TARGET_APPENDS_PER_S,
    })
    for (const partitions of [1, 8]) {
      const { m, ratio } = await measurePaired(
        `appendBatch always ${partitions}p, 1 in flight`,
        partitions,
        () => appendRun({ batches: encoded }, partitions, { kind: 'always' }, BATCHES_FSYNC),
      )
      rows.push({
        name: `append encoded batches, ${partitions} partition${partitions > 1 ? 's' : ''}, fsync always, 1 append in flight`,
        m,
        vsBaseline: ratio,
        target: '>= 0.7 × plain fs, 1 fsync per batch',
        pass: ratio >= TARGET_FSYNC_RATIO && (m.fsyncsPerBatch ?? 0) >= 0.99,
      })
    }
  }
  rows.push({ name: 'plain fs.writeSync, no fsync (baseline)', m: plainNoSync })
  rows.push({
    name: 'plain fs.writeSync + fdatasync per batch, 1 file (baseline of the 1-partition rows)',
    m: medianMeasure(plainSyncRuns.get(1)!),
  })
  rows.push({
    name: 'plain fs.writeSync + fdatasync per batch, round-robin over 8 files (baseline of the 8-partition rows)',
    m: medianMeasure(plainSyncRuns.get(8)!),
  })

  const readDir = tmpDir()
  try {
    const records = await fillReadTopic(readDir, pool)
    log(`  read topic: ${fmtInt(records)} records`)
    const decoded = await measure('read decoded', () => readRun(readDir, true))
    rows.push({
      name: `read ${fmtMB(READ_TOPIC_BYTES)} MB from offset 0, log.read (decoded, CRC checked), 1 MB fetches`,
      m: decoded,
      target: '>= 2,000,000 records/s',
      pass: decoded.recordsPerS >= TARGET_READ_RECORDS_PER_S,
    })
    const raw = await measure('read raw', () => readRun(readDir, false))
    rows.push({ name: 'same, log.fetch raw batches (CRC checked, not decoded)', m: raw })
  } finally {
    fs.rmSync(readDir, { recursive: true, force: true })
  }

  const seconds = (performance.now() - started) / 1000
  const section = [
    SECTION,
    '',
    runLine({ quick, seconds, loadAtStart }),
    '',
    `Records: 8-byte random key, 100-byte random value, no headers; batches of ${RECORDS_PER_BATCH} records (${fmtInt(batchBytes)} bytes encoded). ` +
      'Appends go through `log.append` (encoding and CRC-32C included), one batch in flight unless the row says otherwise, ' +
      'except the "append encoded batches" rows: those go through `log.appendBatch` with the very bytes the baseline writes, ' +
      "as the broker stores a Produce request's batch (CRC-32C verified, every record's framing and limits checked, offsets assigned); " +
      'round-robin over the partitions; latency is the `await` of one append. MB/s counts encoded batch bytes. The baseline writes the same encoded batches ' +
      'with `fs.writeSync` (with `fdatasync` after each batch for the fsync rows) into one file, or round-robin into 8 files for the 8-partition fsync rows, as the log spreads them over 8 partitions; "vs plain fs" is bytes/s ' +
      `over the matching baseline (fsync rows: median of per-run ratios, each run paired with its own baseline run). Reads start from offset 0 of a single-partition topic (in the page cache). Each row is the median of ${RUNS} runs; each fsync row of ${FSYNC_PAIRS} pairs.`,
    '',
    table(rows),
    '',
    fsyncNote(rows),
    '',
  ].join('\n')
  publishSection(SECTION, section, table(rows), seconds)
}

await main()
