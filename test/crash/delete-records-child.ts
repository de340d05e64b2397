// Crash-test child: appends one-record batches (each record's value starts with its offset) with
// fsync 'always', and every few appends deletes the records before a recent offset, until it is
// killed. Prints a line once each step has returned:
//   ack <partition> <offset>         the append is acknowledged (durable)
//   deleted <partition> <offset>     deleteRecordsBefore(offset) returned
// Usage: node --import tsx test/crash/delete-records-child.ts <dir> <seed>
import * as fs from 'node:fs'
import { EventLog } from '../../src/log/event-log.js'
import { prng } from './workload.js'

export const DELETE_TOPIC = 'purged'
export const DELETE_PARTITIONS = 2
/** Small segments: deletes land on segment boundaries, inside segments, and while one rolls. */
export const DELETE_SEGMENT_BYTES = 4096

const [dir, seedArg] = process.argv.slice(2)
if (dir !== undefined && seedArg !== undefined) run(dir, Number(seedArg))

function run(dir: string, seed: number): void {
  const say = (line: string) => fs.writeSync(1, `${line}\n`)
  const rand = prng(seed)
  const log = EventLog.open({ dir, fsync: { kind: 'always' }, maintenanceIntervalMs: 0 })
  if (!log.hasTopic(DELETE_TOPIC)) {
    log.createTopic(DELETE_TOPIC, { partitions: DELETE_PARTITIONS, segmentBytes: DELETE_SEGMENT_BYTES })
  }
  say('ready')
  for (let p = 0; p < DELETE_PARTITIONS; p++) {
    const step = (): void => {
      const offset = log.latestOffset(DELETE_TOPIC, p)
      const value = Buffer.alloc(100 + Math.floor(rand() * 400), 'x')
      value.write(`${offset}:`, 0)
      log.append(DELETE_TOPIC, p, [{ value }]).then(
        (r) => {
          say(`ack ${p} ${r.baseOffset}`)
          if (rand() < 0.3) {
            // Somewhere in the last ~40 offsets, at most the high watermark.
            const hw = log.latestOffset(DELETE_TOPIC, p)
            const before = Math.max(0, hw - Math.floor(rand() * 40))
            const start = log.deleteRecordsBefore(DELETE_TOPIC, p, before)
            say(`deleted ${p} ${Math.max(before, start)}`)
          }
          step()
        },
        (err: unknown) => {
          say(`error ${String(err)}`)
          process.exit(1)
        },
      )
    }
    step()
  }
}
