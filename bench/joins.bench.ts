// Benchmark of joins, end to end through the embedded log on one core: a stream–table enrichment
// and a stream–stream windowed join, each run by Eddy (App.run: read, JSON decode, join with
// state in lmdb and its changelog, encode, write, exactly-once commits) and by a hand-written loop
// doing the same work with a Map (read, JSON decode, join, encode, write, exactly-once commits
// every 100 ms with the log's own transactions), side by side in the same process. Writes its
// table to docs/benchmarks.md under "## Joins (npm run bench:joins)".
//   npm run bench:joins              full run (~2 min)
//   npm run bench:joins -- --quick   smaller run
//   --only=enrich|window             one case, in this process, docs not written (for profiling:
//                                    node --cpu-prof --import tsx bench/joins.bench.ts --only=enrich)
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { LogRecord, RecordInput } from '../src/core/record.js'
import { app } from '../src/index.js'
import { EventLog } from '../src/log/event-log.js'
import { commitsSeen, probeCommits } from './support/commit-probe.js'
import { prng } from './support/payments.js'
import { median, publishSection, runLine } from './support/report.js'

const quick = process.argv.includes('--quick')
const child = process.argv.includes('--child')
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? null
const RUNS = 3

const CARDS = 10_000
const PAYMENTS = quick ? 200_000 : 1_000_000
/** Orders and shipments together. */
const WINDOW_RECORDS = quick ? 200_000 : 600_000
const WITHIN_MS = 60_000
const OUT_OF_ORDERNESS_MS = 100
// Recent: the log's retention (7 days by default) would delete older records while a run reads them.
const T0 = Date.now() - 3_600_000
const COMMIT_INTERVAL_MS = 100
const SEND_BATCH = 10_000
const FETCH_BYTES = 1024 * 1024
const APPEND_BATCH = 1000

const TARGET_ENRICH_PER_S = 300_000
const TARGET_RATIO = 3

const SECTION = '## Joins (npm run bench:joins)'
const log = (s: string) => process.stderr.write(`${s}\n`)
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US')

// ---- workload ----------------------------------------------------------------------------

interface Payment {
  readonly id: number
  readonly card: string
  readonly amount: number
}
interface Holder {
  readonly name: string
  readonly country: string
}
interface Order {
  readonly id: number
  readonly total: number
}
interface Shipment {
  readonly id: number
  readonly carrier: string
}

// The joiners: Eddy and the hand loops call the very same functions.
const enrich = (p: Payment, h: Holder) => ({
  id: p.id,
  card: p.card,
  amount: p.amount,
  name: h.name,
  country: h.country,
})
const pair = (o: Order, s: Shipment) => ({ order: o.id, shipment: s.id, total: o.total, carrier: s.carrier })

type Inputs = Map<string, RecordInput[]>

const cardOf = (i: number) => `card-${String(i).padStart(5, '0')}`

/** 10,000 card holders (all before the payments), then payments over the cards, 95% of which have a holder. */
function enrichInputs(): Inputs {
  const rand = prng(1)
  const holders: RecordInput[] = []
  for (let i = 0; i < CARDS * 0.95; i++) {
    const holder: Holder = { name: `holder ${i}`, country: ['FR', 'DE', 'NL', 'ES'][i % 4]! }
    holders.push({
      key: Buffer.from(cardOf(i)),
      value: Buffer.from(JSON.stringify(holder)),
      timestamp: T0 + i,
    })
  }
  const payments: RecordInput[] = []
  for (let i = 0; i < PAYMENTS; i++) {
    const card = cardOf(Math.floor(rand() * CARDS))
    const payment: Payment = { id: i, card, amount: Math.round(rand() * 10_000) / 100 }
    payments.push({
      key: Buffer.from(card),
      value: Buffer.from(JSON.stringify(payment)),
      timestamp: T0 + 100_000 + i,
    })
  }
  return new Map([
    ['card-holders', holders],
    ['payments', payments],
  ])
}

/**
 * Orders 1 ms apart; 90% get a shipment 0 to 50 s later (within the 1-minute window), 5% one
 * 70 to 100 s later (outside it), 5% none. Keyed by order id; shipments in time order.
 */
function windowInputs(): Inputs {
  const rand = prng(2)
  const orders: RecordInput[] = []
  const shipments: RecordInput[] = []
  for (let i = 0; orders.length + shipments.length < WINDOW_RECORDS; i++) {
    const key = Buffer.from(`order-${i}`)
    const t = T0 + i
    const order: Order = { id: i, total: Math.round(rand() * 30_000) / 100 }
    orders.push({ key, value: Buffer.from(JSON.stringify(order)), timestamp: t })
    const r = rand()
    if (r >= 0.95) continue
    const delay = r < 0.9 ? Math.floor(rand() * 50_000) : 70_000 + Math.floor(rand() * 30_000)
    const shipment: Shipment = { id: i, carrier: r < 0.45 ? 'parcel-co' : 'swift-post' }
    shipments.push({ key, value: Buffer.from(JSON.stringify(shipment)), timestamp: t + delay })
  }
  shipments.sort((a, b) => a.timestamp! - b.timestamp!)
  return new Map([
    ['orders', orders],
    ['shipments', shipments],
  ])
}

function count(inputs: Inputs): number {
  let n = 0
  for (const records of inputs.values()) n += records.length
  return n
}

function tmpDir(what: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `eddy-bench-joins-${what}-`))
}

/** A data dir holding the inputs (1 partition per topic), written without fsync. */
async function prefilled(inputs: Inputs): Promise<string> {
  const dir = tmpDir('template')
  const l = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
  for (const [topic, records] of inputs) {
    l.createTopic(topic, { partitions: 1 })
    for (let i = 0; i < records.length; i += APPEND_BATCH)
      await l.append(topic, 0, records.slice(i, i + APPEND_BATCH))
  }
  await l.close()
  return dir
}

/** The committed records of a topic's partition 0 (read_committed). */
async function committed(dir: string, topic: string): Promise<LogRecord[]> {
  const l = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
  try {
    const out: LogRecord[] = []
    const end = l.latestOffset(topic, 0, 'read_committed')
    for (let offset = 0; offset < end; ) {
      const r = await l.read(topic, 0, offset, { isolation: 'read_committed', maxBytes: FETCH_BYTES })
      out.push(...r.records)
      offset = r.nextOffset
    }
    return out
  } finally {
    await l.close()
  }
}

// ---- Eddy ----------------------------------------------------------------------------------

type Case = 'enrich' | 'window'

function eddyApp(c: Case, dataDir: string) {
  const a = app({ id: `bench-${c}`, dataDir, outOfOrdernessMs: OUT_OF_ORDERNESS_MS })
  if (c === 'enrich') {
    const holders = a.table<Holder>('card-holders', undefined, { name: 'holders' })
    a.stream<Payment, string>('payments').join(holders, enrich, { name: 'enrich' }).to('out')
  } else {
    const shipments = a.stream<Shipment, string>('shipments')
    a.stream<Order, string>('orders').join(shipments, pair, { name: 'ship', within: WITHIN_MS }).to('out')
  }
  return a
}

async function eddyRun(c: Case, dir: string, records: number): Promise<number> {
  commitsSeen.length = 0
  const start = performance.now()
  await eddyApp(c, dir).run({ untilIdleMs: 200 })
  const last = commitsSeen.find((x) => x.recordsIn >= records)
  if (last === undefined) throw new Error(`${c}: the app stopped before processing all ${records} records`)
  return (last.endMs - start) / 1000
}

// ---- the hand-written loops ----------------------------------------------------------------

interface Input {
  readonly topic: string
  offset: number
  readonly end: number
  buffer: LogRecord[]
  head: number
}

/**
 * Reads the inputs in timestamp order (as Eddy's runner does), hands each record to `process`,
 * and commits its outputs with the input offsets in one transaction every 100 ms.
 */
async function handLoop(
  dir: string,
  topics: readonly string[],
  process: (
    topic: string,
    r: LogRecord,
    emit: (key: Buffer | null, value: unknown, timestamp: number) => void,
  ) => void,
): Promise<number> {
  const start = performance.now()
  const l = EventLog.open({ dir })
  try {
    const producer = await l.producer({ transactionalId: 'hand-loop' })
    const inputs: Input[] = topics.map((topic) => ({
      topic,
      offset: 0,
      end: l.latestOffset(topic, 0, 'read_committed'),
      buffer: [],
      head: 0,
    }))
    if (!l.hasTopic('out')) l.createTopic('out', { partitions: 1 })
    let pending: RecordInput[] = []
    const sends: Promise<unknown>[] = []
    const emit = (key: Buffer | null, value: unknown, timestamp: number) => {
      pending.push({ key, value: Buffer.from(JSON.stringify(value)), timestamp, headers: [] })
      if (pending.length >= SEND_BATCH) {
        sends.push(producer.send('out', 0, pending))
        pending = []
      }
    }
    const commit = async () => {
      if (pending.length > 0) sends.push(producer.send('out', 0, pending))
      pending = []
      await Promise.all(sends.splice(0))
      await producer.sendOffsets(
        'hand-loop',
        inputs.map((i) => ({ topic: i.topic, partition: 0, offset: i.offset })),
      )
      await producer.commitTransaction()
    }
    producer.beginTransaction()
    let lastCommit = performance.now()
    for (;;) {
      for (const i of inputs) {
        if (i.head < i.buffer.length || i.offset >= i.end) continue
        const r = await l.read(i.topic, 0, i.offset, { isolation: 'read_committed', maxBytes: FETCH_BYTES })
        i.buffer = r.records
        i.head = 0
      }
      // Up to 10,000 records in timestamp order across the inputs; an input with more to read
      // is never overtaken (it is read again first).
      let n = 0
      for (; n < 10_000; n++) {
        let best: Input | null = null
        let waiting = false
        for (const i of inputs) {
          if (i.head >= i.buffer.length) {
            if (i.offset < i.end) waiting = true
            continue
          }
          if (best === null || i.buffer[i.head]!.timestamp < best.buffer[best.head]!.timestamp) best = i
        }
        if (best === null || waiting) break
        const r = best.buffer[best.head++]!
        best.offset = r.offset + 1
        process(best.topic, r, emit)
      }
      if (n === 0 && inputs.every((i) => i.offset >= i.end)) break
      if (performance.now() - lastCommit >= COMMIT_INTERVAL_MS) {
        await commit()
        producer.beginTransaction()
        lastCommit = performance.now()
      }
    }
    await commit()
    await producer.close()
    return (performance.now() - start) / 1000
  } finally {
    await l.close()
  }
}

/** The enrichment by hand: a Map of card → holder; each payment looked up in it. */
function handEnrich(dir: string): Promise<number> {
  const holders = new Map<string, Holder>()
  return handLoop(dir, ['card-holders', 'payments'], (topic, r, emit) => {
    const key = r.key!.toString()
    if (topic === 'card-holders') {
      if (r.value === null) holders.delete(key)
      else holders.set(key, JSON.parse(r.value.toString()) as Holder)
      return
    }
    const h = holders.get(key)
    if (h !== undefined) emit(r.key, enrich(JSON.parse(r.value!.toString()) as Payment, h), r.timestamp)
  })
}

/**
 * The windowed join by hand: per side a Map of key → records waiting (value, time); a record pairs
 * with the other side's waiting records of its key within the window; records leave once event
 * time (the least of both inputs' newest, less the out-of-orderness) has passed them by the window.
 */
function handWindow(dir: string): Promise<number> {
  type Waiting = { v: unknown; t: number }[]
  const sides = [new Map<string, Waiting>(), new Map<string, Waiting>()]
  // Per side: [close time, key, time], in arrival order (times arrive in order here).
  const queues: [number, string, number][][] = [[], []]
  const heads = [0, 0]
  const newest = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]
  let watermark = Number.NEGATIVE_INFINITY
  const expire = () => {
    for (let s = 0; s < 2; s++) {
      const q = queues[s]!
      let h = heads[s]!
      for (; h < q.length && q[h]![0] <= watermark; h++) {
        const [, key, t] = q[h]!
        const list = sides[s]!.get(key)
        if (list === undefined) continue
        const kept = list.filter((w) => w.t !== t)
        if (kept.length === 0) sides[s]!.delete(key)
        else sides[s]!.set(key, kept)
      }
      if (h > 100_000) {
        queues[s] = q.slice(h)
        h = 0
      }
      heads[s] = h
    }
  }
  return handLoop(dir, ['orders', 'shipments'], (topic, r, emit) => {
    const side = topic === 'orders' ? 0 : 1
    const key = r.key!.toString()
    const t = r.timestamp
    if (t + WITHIN_MS <= watermark) return // late: every partner has been let go
    const value = JSON.parse(r.value!.toString()) as Order | Shipment
    const others = sides[1 - side]!.get(key)
    if (others !== undefined) {
      for (const o of others) {
        if (Math.abs(o.t - t) > WITHIN_MS) continue
        const joined =
          side === 0 ? pair(value as Order, o.v as Shipment) : pair(o.v as Order, value as Shipment)
        emit(r.key, joined, Math.max(t, o.t))
      }
    }
    const mine = sides[side]!.get(key)
    if (mine === undefined) sides[side]!.set(key, [{ v: value, t }])
    else mine.push({ v: value, t })
    queues[side]!.push([t + WITHIN_MS, key, t])
    if (t > newest[side]!) {
      newest[side] = t
      const wm = Math.min(newest[0]!, newest[1]!) - OUT_OF_ORDERNESS_MS
      if (wm > watermark) {
        watermark = wm
        expire()
      }
    }
  })
}

// ---- runs ----------------------------------------------------------------------------------

interface Row {
  readonly name: Case
  readonly records: number
  readonly outputs: number
  readonly eddyS: number
  readonly loopS: number
  readonly ratio: number
}

async function runCase(c: Case, inputs: Inputs): Promise<Row> {
  const records = count(inputs)
  const template = await prefilled(inputs)
  try {
    const eddy: number[] = []
    const loop: number[] = []
    const ratios: number[] = []
    let outputs = -1
    for (let i = 0; i < RUNS; i++) {
      // Side by side, alternating which goes first.
      const order = i % 2 === 0 ? (['eddy', 'loop'] as const) : (['loop', 'eddy'] as const)
      const times: Record<string, number> = {}
      for (const who of order) {
        const dir = tmpDir(who)
        try {
          fs.cpSync(template, dir, { recursive: true })
          times[who] =
            who === 'eddy'
              ? await eddyRun(c, dir, records)
              : await (c === 'enrich' ? handEnrich : handWindow)(dir)
          if (i === 0) {
            // Both must produce the same results.
            const n = (await committed(dir, 'out')).length
            if (outputs >= 0 && n !== outputs)
              throw new Error(`${c}: Eddy and the loop disagree: ${outputs} vs ${n} outputs`)
            outputs = n
          }
        } finally {
          fs.rmSync(dir, { recursive: true, force: true })
        }
      }
      eddy.push(times.eddy!)
      loop.push(times.loop!)
      ratios.push(times.eddy! / times.loop!)
      log(
        `  ${c} run ${i + 1}: Eddy ${fmtInt(records / times.eddy!)} records/s (${times.eddy!.toFixed(2)} s), loop ${fmtInt(records / times.loop!)} records/s (${times.loop!.toFixed(2)} s)`,
      )
    }
    return { name: c, records, outputs, eddyS: median(eddy), loopS: median(loop), ratio: median(ratios) }
  } finally {
    fs.rmSync(template, { recursive: true, force: true })
  }
}

async function runAll(cases: readonly Case[]): Promise<Row[]> {
  probeCommits()
  const rows: Row[] = []
  for (const c of cases) rows.push(await runCase(c, c === 'enrich' ? enrichInputs() : windowInputs()))
  return rows
}

/** Runs the cases pinned to one CPU (taskset) in a child process, when taskset is there. */
function pinnedRun(): { rows: Row[]; pinned: boolean } {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', ...(quick ? ['--quick'] : [])]
  const pinned = spawnSync('taskset', ['-c', '0', 'true']).status === 0
  const r = pinned
    ? spawnSync('taskset', ['-c', '0', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  if (r.status !== 0) throw new Error(`the benchmark child failed (exit ${r.status})`)
  const lines = r.stdout.toString().trim().split('\n')
  return { rows: JSON.parse(lines[lines.length - 1]!) as Row[], pinned }
}

// ---- report --------------------------------------------------------------------------------

const LABEL: Record<Case, string> = {
  enrich: `stream–table: payments joined with a table of ${fmtInt(CARDS * 0.95)} card holders`,
  window: 'stream–stream: orders joined with shipments within 1 minute',
}

function table(rows: readonly Row[], pinned: boolean): string {
  const lines = [
    '| case | input records | outputs | Eddy records/s | loop records/s | Eddy time / loop time | targets | results |',
    '|---|---:|---:|---:|---:|---:|---|---|',
  ]
  for (const r of rows) {
    const perS = r.records / r.eddyS
    const targets = [`<= ${TARGET_RATIO}× loop`]
    const results = [r.ratio <= TARGET_RATIO ? 'pass' : 'MISS']
    if (r.name === 'enrich') {
      targets.unshift(`>= ${fmtInt(TARGET_ENRICH_PER_S)} records/s`)
      results.unshift(perS >= TARGET_ENRICH_PER_S ? 'pass' : 'MISS')
    }
    lines.push(
      `| ${LABEL[r.name]}${pinned ? ', 1 core' : ''} | ${fmtInt(r.records)} | ${fmtInt(r.outputs)} | ${fmtInt(perS)} | ${fmtInt(r.records / r.loopS)} | ${r.ratio.toFixed(2)} | ${targets.join('; ')} | ${results.join('; ')} |`,
    )
  }
  return lines.join('\n')
}

async function main(): Promise<void> {
  if (child) {
    process.stdout.write(`${JSON.stringify(await runAll(['enrich', 'window']))}\n`)
    return
  }
  if (only !== null) {
    if (only !== 'enrich' && only !== 'window') throw new Error('--only=enrich or --only=window')
    process.stdout.write(`${table(await runAll([only]), false)}\n\n(--only: docs not written)\n`)
    return
  }
  const started = performance.now()
  const loadAtStart = os.loadavg()[0]!
  log(`bench:joins${quick ? ' --quick' : ''}: ${RUNS} runs per case, Eddy and the loop alternating`)
  const { rows, pinned } = pinnedRun()
  const text = table(rows, pinned)
  const seconds = (performance.now() - started) / 1000
  const section = [
    SECTION,
    '',
    runLine({ quick, seconds, loadAtStart }),
    '',
    `Stream–table: a 1-partition topic \`card-holders\` (${fmtInt(CARDS * 0.95)} holders, all older than the payments) and a 1-partition topic \`payments\` ` +
      `(${fmtInt(PAYMENTS)} JSON payments over ${fmtInt(CARDS)} cards, 95% with a holder); \`payments.join(holders, …)\` writes the enriched payments. ` +
      `Stream–stream: ${fmtInt(WINDOW_RECORDS)} records, orders 1 ms apart and their shipments (90% 0–50 s later, 5% 70–100 s later, 5% none), keyed by order id; ` +
      `\`orders.join(shipments, …, { within: '1m' })\`. Input records/s count both topics' records. ` +
      'Eddy: `app.run({ untilIdleMs: 200 })` with the defaults (exactly-once, 100 ms commits, fsync always; join state in lmdb with its changelog), ' +
      'timed from `run()` to the end of the commit holding the last output (the idle wait left out). ' +
      'Loop: the same work written by hand on the same log: read both topics read_committed in timestamp order, `JSON.parse`, a `Map` per side ' +
      '(the windowed loop expires records as event time passes them), the same joiner, `JSON.stringify`, a transactional producer committing outputs and input offsets every 100 ms; no state written to disk. ' +
      `Both produce the same number of committed outputs (checked). Each row is the median of ${RUNS} runs, Eddy and the loop alternating in the same process` +
      `${pinned ? ', pinned to one CPU with taskset' : ''}; "Eddy time / loop time" is the median of per-run ratios. ` +
      'The machine is shared with other work (see the load average), which skews every row.',
    '',
    text,
    '',
  ].join('\n')
  publishSection(SECTION, section, text, seconds)
}

await main()
