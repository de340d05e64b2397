// Crash tests: a child process runs transactions on a real log and is killed with SIGKILL; the
// reopened log must have every transaction whole (all partitions and offsets) or not at all.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { systemClock } from '../core/clock.js'
import type { EventLog } from './event-log.js'
import { PartitionLog } from './partition-log.js'
import { SyncScheduler } from './sync-scheduler.js'
import { openLog, readValues, removeTmpDirs, tmpDir } from './testdata/test-helpers.js'
import { TRANSACTION_STATE_TOPIC } from './transactions.js'
import type { TopicConfig } from './types.js'

after(removeTmpDirs)

const here = path.dirname(fileURLToPath(import.meta.url))
const projectRoot = path.resolve(here, '../..')
const CHILD = path.join(here, 'testdata', 'txn-child.ts')
const TOPICS = [
  ['a', 0],
  ['a', 1],
  ['b', 0],
] as const

interface ChildRun {
  readonly lines: string[]
  readonly producerIds: number[]
}

/** Runs the child until `killWhen` says so (given the lines so far), then SIGKILLs it. */
function runChild(
  dir: string,
  mode: string,
  killWhen: (lines: string[]) => number | null,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, mode], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const lines: string[] = []
    let buffered = ''
    let stderr = ''
    let killTimer: NodeJS.Timeout | null = null
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString()
      const parts = buffered.split('\n')
      buffered = parts.pop()!
      lines.push(...parts)
      if (killTimer !== null || child.exitCode !== null) return
      const delayMs = killWhen(lines)
      if (delayMs !== null) killTimer = setTimeout(() => child.kill('SIGKILL'), delayMs)
    })
    child.on('error', reject)
    child.on('close', (exitCode, signal) => {
      clearTimeout(guard)
      if (killTimer !== null) clearTimeout(killTimer)
      if (buffered !== '') lines.push(buffered)
      if (signal !== 'SIGKILL') {
        reject(new Error(`child exited (${exitCode}, ${signal}) instead of being killed:\n${stderr}`))
        return
      }
      const pidLine = lines.find((l) => l.startsWith('PID '))
      const producerIds = pidLine === undefined ? [] : pidLine.split(' ').slice(1).map(Number)
      resolve({ lines, producerIds })
    })
  })
}

/** Highest i for which the child reported `${step} ${i}`, or -1. */
function lastStep(lines: readonly string[], step: string): number {
  let last = -1
  for (const l of lines) if (l.startsWith(`${step} `)) last = Math.max(last, Number(l.slice(step.length + 1)))
  return last
}

/**
 * Checks the invariants of a reopened log and returns how many transactions are committed:
 * each is on every partition or none, committed ones form a prefix, the group offset matches the
 * last one, nothing is left open, and producer ids are never reused.
 */
async function verifyRecovered(log: EventLog, run: ChildRun): Promise<number> {
  let committed = -1
  for (const [topic, partition] of TOPICS) {
    const values = await readValues(log, topic, partition, 'read_committed')
    const k = values.length
    assert.deepEqual(
      values,
      Array.from({ length: k }, (_, i) => `t${i}`),
      `${topic}-${partition}: committed transactions are not a prefix`,
    )
    if (committed < 0) committed = k
    assert.equal(
      k,
      committed,
      `${topic}-${partition} has ${k} committed transactions, another partition ${committed}`,
    )
    const d = log.describeTopic(topic).partitions[partition]!
    assert.equal(d.lastStableOffset, d.latestOffset, `${topic}-${partition}: a transaction is still open`)
  }
  const offsets = log.groups.fetch('g', [{ topic: 'in', partition: 0 }])
  assert.equal(offsets[0]!.offset, committed === 0 ? -1 : committed, 'group offset disagrees with the data')
  assert.ok(!log.groups.hasPendingTransactionalOffsets('g'))
  const d = log.describeTopic('__consumer_offsets').partitions[0]!
  assert.equal(d.lastStableOffset, d.latestOffset)
  await log.transactions.whenReady()
  const state = log.transactions.describeTransaction('crash-app')
  if (state !== null)
    assert.ok(!['Ongoing', 'PrepareCommit', 'PrepareAbort'].includes(state.state), state.state)
  const fresh = await log.transactions.initProducerId()
  for (const id of run.producerIds) assert.ok(fresh.producerId > id, `producer id ${fresh.producerId} reused`)
  return committed
}

describe('transactions survive SIGKILL', { timeout: 60_000 }, () => {
  it('(a) killed mid-transaction: the open transaction is aborted', async () => {
    const dir = tmpDir('eddy-txn-crash-')
    const run = await runChild(dir, 'hang-mid', (lines) => (lines.includes('SENT 1') ? 0 : null))
    const log = openLog(dir, { fsync: { kind: 'always' } })
    assert.equal(await verifyRecovered(log, run), 1)
    // The aborted data is on the log (so there was something to abort), just not committed.
    assert.deepEqual(await readValues(log, 'a', 0, 'read_uncommitted'), ['t0', 't1'])
    await log.close()
  })

  it('(b) killed after PrepareCommit, between markers: recovery commits on every partition', async () => {
    const dir = tmpDir('eddy-txn-crash-')
    const run = await runChild(dir, 'stop-between-markers', (lines) =>
      lines.includes('PREPARED') ? 0 : null,
    )
    // Before recovery: some partitions got their commit marker, some did not.
    const open = TOPICS.map(([topic, partition]) => {
      const config = JSON.parse(
        fs.readFileSync(path.join(dir, 'topics', topic, 'topic.json'), 'utf8'),
      ) as TopicConfig
      const p = PartitionLog.open({
        dir: path.join(dir, 'topics', topic, String(partition)),
        topic,
        partition,
        config,
        clock: systemClock,
        fsync: { kind: 'never' },
        syncs: new SyncScheduler(),
      })
      const isOpen = p.lastStableOffset < p.highWatermark
      void p.close()
      return isOpen
    })
    assert.deepEqual(open, [false, false, true], 'the child should stop after two of the markers')

    const log = openLog(dir, { fsync: { kind: 'always' } })
    assert.equal(await verifyRecovered(log, run), 2)
    assert.equal(log.transactions.describeTransaction('crash-app')!.state, 'CompleteCommit')
    assert.equal(log.listTopics({ internal: true }).includes(TRANSACTION_STATE_TOPIC), true)
    await log.close()
  })

  it('(c) killed after the commit was acknowledged: it stays committed', async () => {
    const dir = tmpDir('eddy-txn-crash-')
    const run = await runChild(dir, 'committed', (lines) => (lines.includes('COMMITTED 1') ? 0 : null))
    const log = openLog(dir, { fsync: { kind: 'always' } })
    assert.equal(await verifyRecovered(log, run), 2)
    await log.close()
  })

  it('random kill points: every transaction is whole or absent, acknowledged ones are present', async (t) => {
    const rounds = 24
    const concurrency = 4
    let seed = 0x5eed
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed / 0x80000000
    }
    const delays = Array.from({ length: rounds }, () => Math.floor(random() * 150))
    const outcomes = { midTransaction: 0, committing: 0, afterCommit: 0, transactionsCommitted: 0 }
    const runRound = async (round: number) => {
      const dir = tmpDir('eddy-txn-crash-')
      // Half the rounds kill a log that already holds crashed-and-recovered history.
      if (round % 2 === 1) {
        await runChild(dir, 'loop', (lines) =>
          lines.includes('READY') ? delays[(round * 7) % rounds]! : null,
        )
      }
      const run = await runChild(dir, 'loop', (lines) => (lines.includes('READY') ? delays[round]! : null))
      const log = openLog(dir, { fsync: { kind: 'always' } })
      try {
        const committed = await verifyRecovered(log, run)
        const began = lastStep(run.lines, 'BEGIN')
        const committing = lastStep(run.lines, 'COMMITTING')
        const acked = lastStep(run.lines, 'COMMITTED')
        // Acknowledged transactions are visible; one whose commit was never asked for is not.
        assert.ok(committed >= acked + 1, `round ${round}: acknowledged transaction ${acked} lost`)
        // An earlier run in this directory may have committed some before this one started.
        const startedAt = Math.max(0, lastStep(run.lines, 'START'))
        assert.ok(
          committed <= Math.max(committing + 1, startedAt),
          `round ${round}: transaction ${committing + 1} committed without a commit`,
        )
        outcomes.transactionsCommitted += committed
        if (began > committing) outcomes.midTransaction++
        else if (committing > acked) outcomes.committing++
        else outcomes.afterCommit++
      } finally {
        await log.close()
      }
    }
    for (let i = 0; i < rounds; i += concurrency) {
      await Promise.all(Array.from({ length: Math.min(concurrency, rounds - i) }, (_, j) => runRound(i + j)))
    }
    t.diagnostic(`kill points: ${JSON.stringify(outcomes)}`)
  })
})
