// Crash test of deleteRecordsBefore: a child appends and deletes records with fsync 'always' and
// is killed with SIGKILL at a random moment; the reopened log must keep every log start offset a
// delete returned, keep every acknowledged record at or past it, and refuse reads below it.
// Repeat a run with EDDY_CRASH_SEED=<seed> (printed as a test diagnostic); EDDY_CRASH_ROUNDS sets the rounds.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { isEddyError } from '../../src/core/errors.js'
import { EventLog } from '../../src/log/event-log.js'
import { DELETE_PARTITIONS, DELETE_TOPIC } from './delete-records-child.js'
import { prng } from './workload.js'

const CHILD = fileURLToPath(new URL('./delete-records-child.ts', import.meta.url))
const ROUNDS = Number(process.env.EDDY_CRASH_ROUNDS ?? 10)
const SEED = Number(process.env.EDDY_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))

const roots: string[] = []
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

interface ChildRun {
  /** Per partition: the last acknowledged offset and the largest log start a delete returned (-1: none). */
  readonly acked: number[]
  readonly deleted: number[]
  readonly deletes: number
}

function runChild(dir: string, seed: number, delayMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (d: string) => {
      const first = out === ''
      out += d
      if (first) setTimeout(() => child.kill('SIGKILL'), delayMs)
    })
    child.stderr.on('data', (d: string) => {
      err += d
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') {
        reject(
          new Error(`child ended by itself (code ${code}, signal ${signal}):\n${out.slice(-2000)}\n${err}`),
        )
        return
      }
      const acked = new Array<number>(DELETE_PARTITIONS).fill(-1)
      const deleted = new Array<number>(DELETE_PARTITIONS).fill(-1)
      let deletes = 0
      // Only whole lines: the kill may cut the last one.
      for (const line of out.slice(0, out.lastIndexOf('\n') + 1).split('\n')) {
        const [tag, p, offset] = line.split(' ')
        if (tag === 'ack') acked[Number(p)] = Math.max(acked[Number(p)]!, Number(offset))
        if (tag === 'deleted') {
          deleted[Number(p)] = Math.max(deleted[Number(p)]!, Number(offset))
          deletes++
        }
        if (tag === 'error') reject(new Error(`child failed: ${line}`))
      }
      resolve({ acked, deleted, deletes })
    })
  })
}

describe('deleteRecordsBefore crash safety (SIGKILL during appends and deletes, fsync always)', () => {
  it(`keeps every returned log start and every acknowledged record past it, over ${ROUNDS} crashes`, async (t) => {
    t.diagnostic(`seed ${SEED} (repeat with EDDY_CRASH_SEED=${SEED})`)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-delete-crash-'))
    roots.push(dir)
    const rand = prng(SEED)
    const starts = new Array<number>(DELETE_PARTITIONS).fill(0)
    let totalDeletes = 0
    for (let round = 0; round < ROUNDS; round++) {
      const child = await runChild(dir, SEED + round, 50 + Math.floor(rand() * 300))
      totalDeletes += child.deletes
      const log = EventLog.open({ dir, fsync: { kind: 'always' }, maintenanceIntervalMs: 0 })
      for (let p = 0; p < DELETE_PARTITIONS; p++) {
        const where = `round ${round} p${p}`
        const earliest = log.earliestOffset(DELETE_TOPIC, p)
        const latest = log.latestOffset(DELETE_TOPIC, p)
        assert.ok(
          earliest >= child.deleted[p]!,
          `${where}: earliest ${earliest}, a delete returned ${child.deleted[p]}`,
        )
        assert.ok(earliest >= starts[p]!, `${where}: earliest ${earliest} went back from ${starts[p]}`)
        assert.ok(latest > child.acked[p]!, `${where}: log ends at ${latest}, acknowledged ${child.acked[p]}`)
        assert.ok(earliest <= latest, `${where}: earliest ${earliest} past the end ${latest}`)
        if (earliest > 0) {
          await assert.rejects(log.fetch(DELETE_TOPIC, p, earliest - 1), (e: unknown) =>
            isEddyError(e, 'OFFSET_OUT_OF_RANGE'),
          )
        }
        // No segment wholly below the log start is left on disk.
        const segments = log.partition(DELETE_TOPIC, p).segments
        assert.ok(segments.length === 1 || segments[1]!.baseOffset > earliest, `${where}: stale segments`)
        // Every offset from the start to the end is there, each record its own.
        let offset = earliest
        while (offset < latest) {
          const { records, nextOffset } = await log.read(DELETE_TOPIC, p, offset, { maxBytes: 1 << 16 })
          for (const r of records) {
            assert.equal(r.offset, offset, `${where}: offsets have a gap`)
            assert.ok(
              r.value!.toString().startsWith(`${offset}:`),
              `${where}: record ${offset} is not its own`,
            )
            offset++
          }
          assert.ok(nextOffset > earliest)
        }
        starts[p] = earliest
      }
      await log.close()
    }
    t.diagnostic(`deletes that returned before a kill: ${totalDeletes}`)
    assert.ok(totalDeletes > 0, 'the child deleted records before it was killed')
  })
})
