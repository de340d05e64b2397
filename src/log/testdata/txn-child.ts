// Child process of the transaction crash tests: runs transactions on a real log until killed.
//   node --import tsx txn-child.ts <dataDir> <mode>
// modes: loop (transactions back to back), hang-mid (stop inside a transaction),
//        stop-between-markers (stop a commit after PrepareCommit, between markers),
//        committed (stop after a commit was acknowledged).
// Every step is reported on stdout *before* the next one starts (pipes are synchronous on Linux),
// so the parent knows the furthest step reached even when it kills us mid-way.
import { EventLog } from '../event-log.js'

const [dir, mode] = process.argv.slice(2)
if (dir === undefined || mode === undefined) throw new Error('usage: txn-child.ts <dataDir> <mode>')

const CRASH_TOPICS = [
  ['a', 0],
  ['a', 1],
  ['b', 0],
] as const

function report(line: string): void {
  process.stdout.write(`${line}\n`)
}

function hang(): Promise<never> {
  setInterval(() => {}, 1_000)
  return new Promise(() => {})
}

const log = EventLog.open({ dir, fsync: { kind: 'always' }, maintenanceIntervalMs: 0 })
if (!log.hasTopic('a')) log.createTopic('a', { partitions: 2 })
if (!log.hasTopic('b')) log.createTopic('b')
const producer = await log.producer({ transactionalId: 'crash-app' })
const plain = await log.producer()
report(`PID ${producer.producerId} ${plain.producerId}`)
// Number on from the transactions already committed (an earlier run in this directory).
let start = 0
const end = log.latestOffset('a', 0, 'read_committed')
for (let offset = log.earliestOffset('a', 0); offset < end; ) {
  const { records, nextOffset } = await log.read('a', 0, offset, { isolation: 'read_committed' })
  start += records.filter((r) => r.offset < end).length
  offset = nextOffset
}
report(`START ${start}`)
report('READY')

for (let i = start; ; i++) {
  const nth = i - start
  producer.beginTransaction()
  report(`BEGIN ${i}`)
  for (const [topic, partition] of CRASH_TOPICS) {
    await producer.send(topic, partition, [{ key: Buffer.from(`k${i}`), value: Buffer.from(`t${i}`) }])
    await new Promise((r) => setImmediate(r))
  }
  await producer.sendOffsets('g', [{ topic: 'in', partition: 0, offset: i + 1 }])
  report(`SENT ${i}`)
  if (mode === 'hang-mid' && nth === 1) await hang()
  if (mode === 'stop-between-markers' && nth === 1) {
    log.transactions.testHooks.beforeMarker = (index) => {
      if (index < 2) return
      report('PREPARED')
      return hang()
    }
  }
  report(`COMMITTING ${i}`)
  await producer.commitTransaction()
  report(`COMMITTED ${i}`)
  if (mode === 'committed' && nth === 1) await hang()
}
