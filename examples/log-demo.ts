// The main demo until the stream processor lands: page views counted per page, exactly once,
// on Eddy's embedded log. Run it with `npm run demo`.
//
//   1. an idempotent producer appends generated page views to `page-views` (4 partitions);
//   2. a read-process-write loop reads them read_committed, counts views per page, and writes the
//      counts to the compacted topic `page-counts` together with its group offsets, in one
//      transaction per round; one round is aborted on purpose and then redone;
//   3. the log is closed and reopened, and the counts are read back and checked.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { EventLog, type LogRecord } from '../src/index.js'

const DATA_DIR = path.resolve(process.env.EDDY_DEMO_DIR ?? '.eddy-demo')
const VIEWS = Number(process.env.EDDY_DEMO_VIEWS ?? 400_000)
const PARTITIONS = 4
const PAGES = ['/', '/pricing', '/docs', '/docs/quickstart', '/blog', '/blog/eddy-1-0', '/about', '/careers']
const BATCH = 1_000
const GROUP = 'page-counter'

const tty = process.stdout.isTTY === true
function status(line: string): void {
  if (tty) process.stdout.write(`\r\x1b[2K${line}`)
}
function say(line: string): void {
  if (tty) process.stdout.write('\r\x1b[2K')
  console.log(line)
}
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

// A small deterministic PRNG, so every run produces the same views and the same counts.
function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function produceViews(log: EventLog): Promise<Map<string, number>> {
  const expected = new Map<string, number>()
  const producer = await log.producer({ idempotent: true })
  const random = prng(42)
  const started = performance.now()
  const t0 = Date.UTC(2026, 10, 21, 9, 0, 0)
  for (let sent = 0; sent < VIEWS; ) {
    const perPartition: { key: Buffer; value: Buffer; timestamp: number }[][] = Array.from(
      { length: PARTITIONS },
      () => [],
    )
    for (let i = 0; i < BATCH * PARTITIONS && sent < VIEWS; i++, sent++) {
      // Skewed: the first pages get most of the traffic.
      const page = PAGES[Math.floor(random() ** 2 * PAGES.length)]!
      const user = `user-${Math.floor(random() * 5_000)}`
      const partition = sent % PARTITIONS
      perPartition[partition]!.push({
        key: Buffer.from(user),
        value: Buffer.from(JSON.stringify({ page, user, ms: Math.floor(random() * 9_000) })),
        timestamp: t0 + sent,
      })
      expected.set(page, (expected.get(page) ?? 0) + 1)
    }
    await Promise.all(
      perPartition.map((records, p) => (records.length ? producer.send('page-views', p, records) : null)),
    )
    status(`  producing: ${fmt(sent)} / ${fmt(VIEWS)} page views`)
  }
  await producer.close()
  const seconds = (performance.now() - started) / 1000
  say(
    `  produced ${fmt(VIEWS)} page views in ${seconds.toFixed(2)} s (${fmt(VIEWS / seconds)} records/s, fsync per batch)`,
  )
  return expected
}

async function countExactlyOnce(log: EventLog): Promise<void> {
  const producer = await log.producer({ transactionalId: `${GROUP}-0` })
  const committed = log.groups.fetch(GROUP, ['page-views'])
  const positions = committed.map((c) => Math.max(c.offset, log.earliestOffset('page-views', c.partition)))
  const counts = new Map<string, number>()
  for (const r of (await readAll(log, 'page-counts')).values()) {
    counts.set(r.key!.toString(), Number(r.value!.toString()))
  }
  let processed = 0
  let round = 0
  let abortedOnce = false
  const started = performance.now()
  for (;;) {
    const roundCounts = new Map(counts)
    const next = [...positions]
    let read = 0
    for (let p = 0; p < PARTITIONS; p++) {
      const { records, nextOffset } = await log.read('page-views', p, next[p]!, {
        isolation: 'read_committed',
        maxBytes: 256 * 1024,
      })
      for (const r of records) {
        const page = (JSON.parse(r.value!.toString()) as { page: string }).page
        roundCounts.set(page, (roundCounts.get(page) ?? 0) + 1)
      }
      read += records.length
      next[p] = nextOffset
    }
    if (read === 0) break
    round++
    producer.beginTransaction()
    const changed = [...roundCounts].map(([page, n]) => ({
      key: Buffer.from(page),
      value: Buffer.from(String(n)),
    }))
    await producer.send('page-counts', 0, changed)
    await producer.sendOffsets(
      GROUP,
      next.map((offset, partition) => ({ topic: 'page-views', partition, offset })),
    )
    if (round === 1 && !abortedOnce) {
      // Abort one round on purpose: its counts and offsets vanish, and the round is redone.
      await producer.abortTransaction()
      abortedOnce = true
      round--
      say(`  one transaction aborted on purpose; its ${fmt(read)} records will be counted again`)
      continue
    }
    await producer.commitTransaction()
    for (const [k, v] of roundCounts) counts.set(k, v)
    positions.splice(0, PARTITIONS, ...next)
    processed += read
    status(`  counting: ${fmt(processed)} views in ${round} transactions`)
  }
  await producer.close()
  const seconds = (performance.now() - started) / 1000
  say(
    `  counted ${fmt(processed)} views in ${round} transactions, ${seconds.toFixed(2)} s (${fmt(processed / seconds)} records/s)`,
  )
}

/** The latest record per key of a single-partition topic, read_committed. */
async function readAll(log: EventLog, topic: string): Promise<Map<string, LogRecord>> {
  const latest = new Map<string, LogRecord>()
  let offset = log.earliestOffset(topic, 0)
  const end = log.latestOffset(topic, 0, 'read_committed')
  while (offset < end) {
    const { records, nextOffset } = await log.read(topic, 0, offset, { isolation: 'read_committed' })
    for (const r of records) latest.set(r.key!.toString(), r)
    if (nextOffset === offset) break
    offset = nextOffset
  }
  return latest
}

async function main(): Promise<void> {
  fs.rmSync(DATA_DIR, { recursive: true, force: true })
  say(
    `Eddy log demo: page views counted per page, exactly once (data in ${path.relative(process.cwd(), DATA_DIR) || '.'})`,
  )
  let log = EventLog.open({ dir: DATA_DIR, fsync: { kind: 'always' } })
  log.createTopic('page-views', { partitions: PARTITIONS })
  log.createTopic('page-counts', { partitions: 1, compact: true })
  say(`  created topics page-views (${PARTITIONS} partitions) and page-counts (compacted)`)
  const expected = await produceViews(log)
  await countExactlyOnce(log)
  await log.close()

  say('  closed the log; reopening it and reading page-counts back (read_committed, latest per page):')
  log = EventLog.open({ dir: DATA_DIR })
  const counts = await readAll(log, 'page-counts')
  const rows = [...counts.values()].map((r) => [r.key!.toString(), Number(r.value!.toString())] as const)
  rows.sort((a, b) => b[1] - a[1])
  const width = Math.max(...rows.map(([page]) => page.length))
  for (const [page, n] of rows) {
    const ok = expected.get(page) === n ? 'ok' : `WRONG (expected ${expected.get(page)})`
    say(`    ${page.padEnd(width)}  ${String(fmt(n)).padStart(9)}  ${ok}`)
  }
  const total = rows.reduce((s, [, n]) => s + n, 0)
  const allRight = total === VIEWS && rows.every(([page, n]) => expected.get(page) === n)
  for (const topic of ['page-views', 'page-counts']) {
    const d = log.describeTopic(topic)
    const parts = d.partitions.map((p) => `p${p.partition} ${fmt(p.earliestOffset)}..${fmt(p.latestOffset)}`)
    const bytes = d.partitions.reduce((s, p) => s + p.bytes, 0)
    say(`  ${topic}: ${parts.join(', ')}; ${(bytes / 1e6).toFixed(1)} MB on disk`)
  }
  await log.close()
  say(allRight ? `  every count is exact: ${fmt(total)} views, none lost, none twice` : '  COUNTS ARE WRONG')
  say(
    `  try: ./bin/eddy --data-dir ${path.relative(process.cwd(), DATA_DIR)} consume page-counts --isolation read_committed`,
  )
  if (!allRight) process.exitCode = 1
}

await main()
