// Benchmark of the two transports side by side, in the patterns the runtime uses: the embedded
// transport over a log in a temporary directory, and the Kafka transport against Eddy's broker
// (over its own log, in a worker thread, so broker and client have a core each), over loopback.
// Both logs run with fsync never: this measures the transports, not the disk.
// Writes its table to docs/benchmarks.md under "## Transport (npm run bench:transport)".
//   npm run bench:transport             400,000 records of 100 bytes
//   npm run bench:transport -- --quick  100,000 records
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { isMainThread, parentPort, Worker } from 'node:worker_threads'
import type { RecordInput } from '../src/core/record.js'
import { EventLog } from '../src/log/event-log.js'
import { EmbeddedTransport } from '../src/transport/embedded.js'
import { KafkaTransport } from '../src/transport/kafka.js'
import type { Transport } from '../src/transport/transport.js'
import { median, publishSection } from './support/report.js'

const quick = process.argv.includes('--quick')
const RECORDS = quick ? 100_000 : 400_000
const VALUE_BYTES = 100
const PARTITIONS = 8
const SEND_RECORDS = 500
const FETCH_BYTES = 1024 * 1024
const ROUND_PARTITIONS = 64
const ROUNDS = quick ? 200 : 500
const RUNS = 3

const SECTION = '## Transport (npm run bench:transport)'

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-bench-transport-'))
}

// ---- the broker, in a worker thread ------------------------------------------------------------

if (!isMainThread) {
  const { Broker } = await import('../src/broker/broker.js')
  const dir = tmpDir()
  const log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
  const broker = await Broker.start({
    log,
    port: 0,
    logger: { info: () => {}, warn: () => {}, error: (m) => process.stderr.write(`broker: ${m}\n`) },
    transactionCheckIntervalMs: 0,
  })
  parentPort!.postMessage({ port: broker.port })
  parentPort!.once('message', async () => {
    await broker.close()
    await log.close()
    fs.rmSync(dir, { recursive: true, force: true })
    parentPort!.postMessage('closed')
  })
}

interface Env {
  readonly transport: Transport
  close(): Promise<void>
}

async function embedded(): Promise<Env> {
  const dir = tmpDir()
  const log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
  const transport = new EmbeddedTransport(log, true)
  return {
    transport,
    async close() {
      await transport.close()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function kafka(): Promise<Env> {
  const worker = new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}) })`,
    { eval: true },
  )
  const port = await new Promise<number>((resolve) =>
    worker.once('message', (m: { port: number }) => resolve(m.port)),
  )
  const transport = await KafkaTransport.connect({ brokers: [`127.0.0.1:${port}`] })
  return {
    transport,
    async close() {
      await transport.close()
      const closed = new Promise((resolve) => worker.once('message', resolve))
      worker.postMessage('close')
      await closed
      await worker.terminate()
    },
  }
}

// ---- cases -------------------------------------------------------------------------------------

function values(): RecordInput[] {
  const bytes = crypto.randomBytes(1024 * VALUE_BYTES)
  return Array.from({ length: 1024 }, (_, i) => ({
    key: Buffer.from(`key-${i}`),
    value: bytes.subarray(i * VALUE_BYTES, (i + 1) * VALUE_BYTES),
  }))
}

/** Sends of SEND_RECORDS records, one in flight per partition, all partitions at once. */
async function produce(t: Transport, topic: string, transactional: boolean): Promise<number> {
  const pool = values()
  const p = await t.producer(transactional ? { transactionalId: `${topic}-txn` } : {})
  const perPartition = RECORDS / PARTITIONS
  const started = performance.now()
  for (let sent = 0; sent < perPartition; sent += SEND_RECORDS) {
    if (transactional) p.beginTransaction()
    await Promise.all(
      Array.from({ length: PARTITIONS }, (_, part) => {
        const records = Array.from({ length: SEND_RECORDS }, (_, i) => pool[(sent + i + part) % pool.length]!)
        return p.send(topic, part, records)
      }),
    )
    if (transactional) {
      await p.sendOffsets(`${topic}-group`, [{ topic, partition: 0, offset: sent, metadata: 'bench' }])
      await p.commitTransaction()
    }
  }
  const seconds = (performance.now() - started) / 1000
  await p.close()
  return RECORDS / seconds
}

/** The runtime's read: every partition fetched at once, round after round, to the end. */
async function readAll(t: Transport, topic: string): Promise<number> {
  const positions = new Array<number>(PARTITIONS).fill(0)
  const ends = await Promise.all(
    Array.from({ length: PARTITIONS }, (_, part) => t.latestOffset(topic, part, 'read_committed')),
  )
  let records = 0
  const started = performance.now()
  while (positions.some((pos, part) => pos < ends[part]!)) {
    const results = await Promise.all(
      positions.map((pos, part) =>
        pos < ends[part]!
          ? t.fetch(topic, part, pos, { maxBytes: FETCH_BYTES, isolation: 'read_committed' })
          : null,
      ),
    )
    results.forEach((r, part) => {
      if (r === null) return
      records += r.records.length
      positions[part] = r.nextOffset
    })
  }
  const seconds = (performance.now() - started) / 1000
  if (records !== RECORDS) throw new Error(`read ${records} records, expected ${RECORDS}`)
  return records / seconds
}

/** A caught-up runtime's poll: every partition fetched at once, nothing new; ms per round. */
async function pollRound(t: Transport, topic: string, together: boolean): Promise<number> {
  const fetchOne = (part: number) =>
    t.fetch(topic, part, 0, { maxBytes: FETCH_BYTES, isolation: 'read_committed' })
  const started = performance.now()
  for (let round = 0; round < ROUNDS; round++) {
    if (together) await Promise.all(Array.from({ length: ROUND_PARTITIONS }, (_, part) => fetchOne(part)))
    else for (let part = 0; part < ROUND_PARTITIONS; part++) await fetchOne(part)
  }
  return (performance.now() - started) / ROUNDS
}

interface Result {
  produceIdempotent: number
  produceTxn: number
  read: number
  pollTogether: number
  pollOneByOne: number
}

async function runOnce(open: () => Promise<Env>, run: number): Promise<Result> {
  const env = await open()
  try {
    const t = env.transport
    const a = `bench-idem-${run}`
    const b = `bench-txn-${run}`
    const c = `bench-poll-${run}`
    await t.ensureTopic(a, { partitions: PARTITIONS })
    await t.ensureTopic(b, { partitions: PARTITIONS })
    await t.ensureTopic(c, { partitions: ROUND_PARTITIONS })
    const produceIdempotent = await produce(t, a, false)
    const produceTxn = await produce(t, b, true)
    const read = await readAll(t, a)
    const pollTogether = await pollRound(t, c, true)
    const pollOneByOne = await pollRound(t, c, false)
    return { produceIdempotent, produceTxn, read, pollTogether, pollOneByOne }
  } finally {
    await env.close()
  }
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US')

async function main(): Promise<void> {
  const started = performance.now()
  const loadAtStart = os.loadavg()[0]!
  const emb: Result[] = []
  const kaf: Result[] = []
  // Alternate the transports, run by run, so drift in the machine's load hits both alike.
  for (let run = 0; run < RUNS; run++) {
    emb.push(await runOnce(embedded, run))
    kaf.push(await runOnce(kafka, run))
    process.stderr.write(`run ${run + 1}/${RUNS} done\n`)
  }
  const m = (rs: Result[], k: keyof Result) => median(rs.map((r) => r[k]))
  const ratio = (k: keyof Result) => median(kaf.map((r, i) => r[k] / emb[i]![k]))
  const rows = [
    '| case | embedded | kafka (Eddy broker) | kafka / embedded |',
    '|---|---:|---:|---:|',
    `| produce, idempotent: ${PARTITIONS} partitions, sends of ${SEND_RECORDS} records, one in flight per partition (records/s) | ${fmtInt(m(emb, 'produceIdempotent'))} | ${fmtInt(m(kaf, 'produceIdempotent'))} | ${ratio('produceIdempotent').toFixed(2)} |`,
    `| produce, transactional: a transaction per round of ${PARTITIONS} sends + offsets (records/s) | ${fmtInt(m(emb, 'produceTxn'))} | ${fmtInt(m(kaf, 'produceTxn'))} | ${ratio('produceTxn').toFixed(2)} |`,
    `| read ${fmtInt(RECORDS)} records, ${PARTITIONS} partitions fetched at once, 1 MiB each (records/s) | ${fmtInt(m(emb, 'read'))} | ${fmtInt(m(kaf, 'read'))} | ${ratio('read').toFixed(2)} |`,
    `| poll round, ${ROUND_PARTITIONS} caught-up partitions fetched at once (ms per round) | ${m(emb, 'pollTogether').toFixed(3)} | ${m(kaf, 'pollTogether').toFixed(3)} | ${ratio('pollTogether').toFixed(2)} |`,
    `| same, one partition at a time (ms per round) | ${m(emb, 'pollOneByOne').toFixed(3)} | ${m(kaf, 'pollOneByOne').toFixed(3)} | ${ratio('pollOneByOne').toFixed(2)} |`,
  ].join('\n')
  const seconds = (performance.now() - started) / 1000
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  const section = [
    SECTION,
    '',
    `Run ${new Date().toISOString().slice(0, 10)}${quick ? ' (--quick)' : ''} · Node ${process.version} · ${cpu} × ${os.cpus().length} · ${os.platform()} ${os.release()} · ${seconds.toFixed(0)} s · load average ${loadAtStart.toFixed(1)} at start, ${os.loadavg()[0]!.toFixed(1)} at end`,
    '',
    `Records: ${VALUE_BYTES}-byte random values with short keys. The embedded transport runs over a log in ${os.tmpdir()}; the Kafka transport ` +
      "against Eddy's broker over loopback, the broker (with its own log) in a worker thread. Both logs never fsync. " +
      'Produce: each round sends to every partition at once and waits for all (transactional: then adds offsets and commits). ' +
      'Read: from offset 0 to the end, every partition fetched at once each round, as the runtime does. ' +
      'Poll round: what a caught-up runtime does every loop, an immediate fetch of every input partition; the Kafka transport ' +
      'gathers the calls of one moment into one Fetch request, so "one partition at a time" shows what a request per call costs. ' +
      `Each cell is the median of ${RUNS} runs; the ratio is the median of per-run ratios (runs alternate between the transports).`,
    '',
    rows,
    '',
  ].join('\n')
  publishSection(SECTION, section, rows, seconds)
}

if (isMainThread) await main()
