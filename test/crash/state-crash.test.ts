// Crash test of the state layer: a child runs commit cycles on a task's stores (changelog records
// in a transaction, then lmdb) and is killed with SIGKILL at a random moment, also during restore.
// The next child restores, and its stores must equal the state of the last committed transaction
// (or of the one whose commit was under way when it died). Some rounds also delete the state
// directory, so restores start from scratch. EDDY_CRASH_SEED / EDDY_CRASH_ROUNDS as in log-crash.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { EventLog } from '../../src/log/event-log.js'
import { TaskState } from '../../src/state/task-state.js'
import { EmbeddedTransport } from '../../src/transport/embedded.js'
import { fingerprint, stateCrashOptions } from './state-workload.js'
import { prng } from './workload.js'

const CHILD = fileURLToPath(new URL('./state-child.ts', import.meta.url))
const ROUNDS = Number(process.env.EDDY_CRASH_ROUNDS ?? 12)
const SEED = Number(process.env.EDDY_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))

const roots: string[] = []
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

interface ChildRun {
  /** Fingerprint of the state the child restored, or null when it was killed before. */
  readonly ready: string | null
  readonly lines: string[]
}

/** Runs the child and kills it `delayMs` after it is ready, or after it starts (`afterStart`: often mid-restore). */
function runChild(dir: string, round: number, delayMs: number, afterStart: boolean): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(SEED), String(round)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    let timer: NodeJS.Timeout | undefined
    const killLater = () => {
      timer = setTimeout(() => child.kill('SIGKILL'), delayMs)
    }
    if (afterStart) killLater()
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (d: string) => {
      out += d
      if (timer === undefined && out.includes('\n')) killLater()
    })
    child.stderr.on('data', (d: string) => {
      err += d
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (signal !== 'SIGKILL') {
        reject(
          new Error(`child ended by itself (code ${code}, signal ${signal}):\n${out.slice(-2000)}\n${err}`),
        )
        return
      }
      const lines = out
        .slice(0, out.lastIndexOf('\n') + 1)
        .split('\n')
        .filter(Boolean)
      const ready = lines[0]?.startsWith('ready ') ? lines[0].slice('ready '.length) : null
      resolve({ ready, lines: ready === null ? lines : lines.slice(1) })
    })
  })
}

/** States the stores may hold after a kill: the last commit's, or the one whose commit was under way. */
function candidatesAfter(committed: string, lines: readonly string[]): string[] {
  let last = committed
  let trying: string | null = null
  for (const line of lines) {
    const [tag, fp] = line.split(' ')
    assert.ok(fp !== undefined && ['try', 'ok', 'abort'].includes(tag!), `unexpected child output: ${line}`)
    if (tag === 'try') trying = fp
    else if (tag === 'ok') {
      assert.equal(fp, trying, 'ok follows its try')
      last = fp
      trying = null
    } else assert.equal(fp, last, 'an abort returns the stores to the last commit')
  }
  return trying === null ? [last] : [last, trying]
}

describe('state crash safety (SIGKILL)', () => {
  it(`restores the last committed state after ${ROUNDS} kills`, { timeout: 120_000 }, async (t) => {
    t.diagnostic(`seed ${SEED} (EDDY_CRASH_SEED=${SEED} repeats this run)`)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-state-crash-'))
    roots.push(dir)
    const rand = prng(SEED)
    let candidates: string[] | null = null // null: nothing known yet (first round)
    let commits = 0
    let killedInRestore = 0
    for (let round = 0; round < ROUNDS; round++) {
      if (round > 0 && rand() < 0.25) fs.rmSync(path.join(dir, 'state'), { recursive: true, force: true })
      // Most kills land in commit cycles, some at start-up or during the restore.
      const afterStart = rand() < 0.2
      const delayMs = afterStart ? 200 + Math.floor(rand() * 500) : Math.floor(rand() * 800)
      const run = await runChild(dir, round, delayMs, afterStart)
      if (run.ready === null) {
        killedInRestore++
        assert.deepEqual(run.lines, [], 'nothing is committed before ready')
        continue
      }
      if (candidates !== null) {
        assert.ok(
          candidates.includes(run.ready),
          `round ${round}: restored ${run.ready}, expected one of ${candidates.join(', ')} (seed ${SEED})`,
        )
      }
      commits += run.lines.filter((l) => l.startsWith('ok ')).length
      candidates = candidatesAfter(run.ready, run.lines)
    }
    // The parent restores too, once more from scratch.
    fs.rmSync(path.join(dir, 'state'), { recursive: true, force: true })
    const log = EventLog.open({
      dir: path.join(dir, 'log'),
      fsync: { kind: 'never' },
      maintenanceIntervalMs: 0,
    })
    const state = await TaskState.open(stateCrashOptions(dir, new EmbeddedTransport(log)))
    const restored = fingerprint(state)
    await state.close()
    await log.close()
    assert.ok(candidates !== null, 'some child got as far as ready')
    assert.ok(
      candidates.includes(restored),
      `final restore ${restored}, expected one of ${candidates.join(', ')}`,
    )
    t.diagnostic(`${commits} commits, ${killedInRestore} kills before ready`)
    assert.ok(commits > 0, 'the children committed something')
  })
})
