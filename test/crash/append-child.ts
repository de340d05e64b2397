// Crash-test child: appends the deterministic workload with fsync 'always' until it is killed,
// printing one line per acknowledged append:
//   ack <partition> <batchIndex> <baseOffset> <lastOffset> <hash>
// Usage: node --import tsx test/crash/append-child.ts <dir> <seed> <round>
import * as fs from 'node:fs'
import { EventLog } from '../../src/log/event-log.js'
import { batchHash, CRASH_PARTITIONS, CRASH_SEGMENT_BYTES, CRASH_TOPIC, generateBatch } from './workload.js'

const IN_FLIGHT_PER_PARTITION = 3

const [dir, seedArg, roundArg] = process.argv.slice(2)
if (dir === undefined || seedArg === undefined || roundArg === undefined) {
  throw new Error('usage: append-child.ts <dir> <seed> <round>')
}
const seed = Number(seedArg)
const round = Number(roundArg)

// Pipes are synchronous on Linux, but write straight to fd 1 so a line is out before the next step.
const say = (line: string) => fs.writeSync(1, `${line}\n`)

const log = EventLog.open({ dir, fsync: { kind: 'always' }, maintenanceIntervalMs: 0 })
if (!log.hasTopic(CRASH_TOPIC)) {
  log.createTopic(CRASH_TOPIC, { partitions: CRASH_PARTITIONS, segmentBytes: CRASH_SEGMENT_BYTES })
}
const starts = Array.from({ length: CRASH_PARTITIONS }, (_, p) => log.latestOffset(CRASH_TOPIC, p))
say(`ready ${starts.join(' ')}`)

function run(partition: number): void {
  let index = 0
  let next = starts[partition]!
  const appendOne = (): void => {
    const i = index++
    const base = next
    const records = generateBatch(seed, round, partition, i, base)
    next += records.length
    const hash = batchHash(records)
    log.append(CRASH_TOPIC, partition, records).then(
      (r) => {
        if (r.baseOffset !== base) throw new Error(`batch ${i} got offset ${r.baseOffset}, expected ${base}`)
        say(`ack ${partition} ${i} ${r.baseOffset} ${r.lastOffset} ${hash}`)
        appendOne()
      },
      (err: unknown) => {
        say(`error ${String(err)}`)
        process.exit(1)
      },
    )
  }
  for (let k = 0; k < IN_FLIGHT_PER_PARTITION; k++) appendOne()
}

for (let p = 0; p < CRASH_PARTITIONS; p++) run(p)
