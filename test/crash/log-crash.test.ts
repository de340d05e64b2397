// Crash test: a child appends with fsync 'always' and is killed with SIGKILL at a random moment;
// the parent reopens the log and checks that every acknowledged record survived, byte for byte.
// Repeat a run with EDDY_CRASH_SEED=<seed> (printed as a test diagnostic); EDDY_CRASH_ROUNDS sets the rounds.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { encodeRecordBatch, readBatchHeader } from '../../src/core/record-batch.js'
import { EventLog } from '../../src/log/event-log.js'
import { batchHash, CRASH_PARTITIONS, CRASH_TOPIC, generateBatch, prng } from './workload.js'

const CHILD = fileURLToPath(new URL('./append-child.ts', import.meta.url))
const ROUNDS = Number(process.env.EDDY_CRASH_ROUNDS ?? 20)
const SEED = Number(process.env.EDDY_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))
/** Parent-appended batches use rounds from here, so their content differs from any child's. */
const PARENT_ROUND_BASE = 1_000_000

const roots: string[] = []
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

/** Offsets [start, end) hold the stream of `round` on a partition, from its batch 0 at `start`. */
interface Run {
  readonly round: number
  readonly partition: number
  readonly start: number
  readonly end: number
}

interface Ack {
  readonly partition: number
  readonly index: number
  readonly baseOffset: number
  readonly lastOffset: number
  readonly hash: number
}

interface ChildRun {
  readonly starts: number[]
  readonly acks: Ack[]
  readonly killedAfterMs: number
}

/** Runs the child until `delayMs` after it is ready to append, then kills it with SIGKILL. */
function runChild(dir: string, seed: number, round: number, delayMs: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(seed), String(round)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    let readyAt = 0
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (d: string) => {
      out += d
      if (readyAt === 0 && out.includes('\n')) {
        readyAt = Date.now()
        setTimeout(() => child.kill('SIGKILL'), delayMs)
      }
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
      // Only whole lines: the kill may cut the last one.
      const lines = out
        .slice(0, out.lastIndexOf('\n') + 1)
        .split('\n')
        .filter(Boolean)
      const [ready, ...rest] = lines
      if (ready === undefined || !ready.startsWith('ready ')) {
        reject(new Error(`child never became ready:\n${out}\n${err}`))
        return
      }
      const acks = rest.map((line) => {
        const [tag, p, i, base, last, hash] = line.split(' ')
        assert.equal(tag, 'ack', `unexpected child output: ${line}`)
        return {
          partition: Number(p),
          index: Number(i),
          baseOffset: Number(base),
          lastOffset: Number(last),
          hash: Number(hash),
        }
      })
      resolve({ starts: ready.split(' ').slice(1).map(Number), acks, killedAfterMs: Date.now() - readyAt })
    })
  })
}

/** The batches a run holds, as (index, baseOffset, encoded bytes), until `end`. */
function* runBatches(
  seed: number,
  run: Run,
): Generator<{ index: number; baseOffset: number; bytes: Buffer }> {
  let base = run.start
  for (let index = 0; base < run.end; index++) {
    const batch = generateBatch(seed, run.round, run.partition, index, base)
    // Every record has a timestamp, so the encoding is deterministic.
    const bytes = encodeRecordBatch({ records: batch, baseOffset: base })
    yield { index, baseOffset: base, bytes }
    base += batch.length
  }
}

/** Checks that offsets [from, to) of a partition are exactly the runs' batches, byte for byte. */
async function verifyRange(log: EventLog, partition: number, runs: readonly Run[], from: number, to: number) {
  const expected: Buffer[] = []
  for (const run of runs) {
    if (run.end <= from || run.start >= to) continue
    for (const b of runBatches(SEED, run)) {
      if (b.baseOffset >= from && b.baseOffset < to) expected.push(b.bytes)
    }
  }
  let offset = from
  let i = 0
  while (offset < to) {
    const f = await log.fetch(CRASH_TOPIC, partition, offset, { maxBytes: 1 << 20 })
    assert.ok(f.bytes.length > 0, `partition ${partition}: nothing at offset ${offset}`)
    for (let p = 0; p < f.bytes.length; ) {
      const h = readBatchHeader(f.bytes, p)
      const want = expected[i++]
      assert.ok(want !== undefined, `partition ${partition}: unexpected batch at ${h.baseOffset}`)
      // Byte for byte, except the leader epoch (bytes 12-15), which the log does not promise.
      const got = f.bytes.subarray(p, p + h.sizeBytes)
      assert.equal(
        h.baseOffset,
        offset,
        `partition ${partition}: batch at ${h.baseOffset}, expected ${offset}`,
      )
      assert.ok(
        got.length === want.length &&
          got.subarray(16).equals(want.subarray(16)) &&
          got.subarray(0, 12).equals(want.subarray(0, 12)),
        `partition ${partition}: batch at offset ${h.baseOffset} differs from what was appended`,
      )
      offset = h.baseOffset + h.lastOffsetDelta + 1
      p += h.sizeBytes
    }
  }
  assert.equal(offset, to)
  assert.equal(i, expected.length)
}

describe('log crash safety (SIGKILL during appends, fsync always)', () => {
  it(`keeps every acknowledged append, in order, over ${ROUNDS} crashes`, async (t) => {
    t.diagnostic(`seed ${SEED} (repeat with EDDY_CRASH_SEED=${SEED})`)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-crash-'))
    roots.push(dir)
    const rand = prng(SEED)
    const runs: Run[][] = Array.from({ length: CRASH_PARTITIONS }, () => [])
    const ends = Array.from({ length: CRASH_PARTITIONS }, () => 0)
    let totalAcked = 0
    let unackedKept = 0
    let roundsWithCut = 0

    for (let round = 0; round < ROUNDS; round++) {
      const delayMs = 50 + Math.floor(rand() * 351)
      const child = await runChild(dir, SEED, round, delayMs)
      assert.deepEqual(child.starts, ends, `round ${round}: the child resumed at the log end`)

      const log = EventLog.open({ dir, fsync: { kind: 'always' }, maintenanceIntervalMs: 0 })
      for (let p = 0; p < CRASH_PARTITIONS; p++) {
        const part = log.partition(CRASH_TOPIC, p)
        const start = ends[p]!
        // The acknowledgements name this round's batches 0, 1, 2… at the offsets the stream gives them.
        const acks = child.acks.filter((a) => a.partition === p)
        let base = start
        for (let i = 0; i < acks.length; i++) {
          const a = acks[i]!
          assert.equal(a.index, i, `round ${round} p${p}: acknowledgements in order`)
          const records = generateBatch(SEED, round, p, i, base)
          assert.equal(a.baseOffset, base)
          assert.equal(a.lastOffset, base + records.length - 1)
          assert.equal(a.hash, batchHash(records), `round ${round} p${p}: batch ${i} content`)
          base += records.length
        }
        const ackedEnd = base
        const latest = part.highWatermark
        totalAcked += ackedEnd - start
        // Nothing acknowledged is lost; recovery cut only what was never acknowledged.
        assert.ok(
          latest >= ackedEnd,
          `round ${round} p${p}: log ends at ${latest}, acknowledged up to ${ackedEnd}`,
        )
        assert.equal(part.nextOffset, latest)
        if (part.recoveredTruncatedBytes > 0) roundsWithCut++
        // The log ends at a batch boundary of the stream (whole batches only).
        const run: Run = { round, partition: p, start, end: latest }
        let boundary = start
        for (let i = 0; boundary < latest; i++) boundary += generateBatch(SEED, round, p, i, boundary).length
        assert.equal(boundary, latest, `round ${round} p${p}: log end ${latest} is inside a batch`)
        unackedKept += latest - ackedEnd
        runs[p]!.push(run)
        await verifyRange(log, p, runs[p]!, start, latest)

        // Appends continue where recovery left the log.
        const extraRound = PARENT_ROUND_BASE + round
        const r = await log.append(CRASH_TOPIC, p, generateBatch(SEED, extraRound, p, 0, latest))
        assert.equal(r.baseOffset, latest)
        const done: Run = { round: extraRound, partition: p, start: latest, end: r.lastOffset + 1 }
        runs[p]!.push(done)
        await verifyRange(log, p, runs[p]!, latest, done.end)
        ends[p] = done.end
      }
      await log.close()
    }

    // Everything, from offset 0, once more; and the decoded view.
    const log = EventLog.open({ dir, fsync: { kind: 'always' }, maintenanceIntervalMs: 0 })
    for (let p = 0; p < CRASH_PARTITIONS; p++) {
      assert.equal(log.earliestOffset(CRASH_TOPIC, p), 0)
      assert.equal(log.latestOffset(CRASH_TOPIC, p), ends[p])
      await verifyRange(log, p, runs[p]!, 0, ends[p]!)
      const { records } = await log.read(CRASH_TOPIC, p, 0, { maxBytes: 1 << 16 })
      const first = generateBatch(SEED, runs[p]![0]!.round, p, 0, 0)
      assert.deepEqual(records[0]!.value, first[0]!.value)
    }
    await log.close()
    t.diagnostic(
      `acknowledged records ${totalAcked}; unacknowledged but kept ${unackedKept}; recoveries that cut a torn tail ${roundsWithCut}`,
    )
    assert.ok(totalAcked > ROUNDS, 'the child acknowledged appends before it was killed')
  })
})
