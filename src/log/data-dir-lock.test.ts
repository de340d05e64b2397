import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { isEddyError } from '../core/errors.js'
import { DataDirLock } from './data-dir-lock.js'

const roots: string[] = []
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-lock-test-'))
  roots.push(dir)
  return dir
}

const lockModule = fileURLToPath(new URL('./data-dir-lock.ts', import.meta.url))

/** A pid that no process has any more (a child that already exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' })
  return Number.parseInt(r.stdout, 10)
}

interface Racer {
  readonly child: ChildProcess
  readonly ready: Promise<void>
  /** 'locked', or 'error <code>'. */
  readonly outcome: Promise<string>
}

/** A child that prints 'ready', spins until `goFile` exists, then tries to lock `dir` and holds it. */
function spawnRacer(dir: string, goFile: string): Racer {
  const code = `
    const fs = await import('node:fs')
    const { DataDirLock } = await import(${JSON.stringify(lockModule)})
    console.log('ready')
    while (!fs.existsSync(${JSON.stringify(goFile)})) {}
    try {
      DataDirLock.acquire(${JSON.stringify(dir)})
      console.log('locked')
      setInterval(() => {}, 1000)
    } catch (err) {
      console.log('error ' + (err.code ?? err.message))
      process.exit(0)
    }
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines: string[] = []
  const waiters: ((line: string) => void)[] = []
  let buffered = ''
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString()
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      const w = waiters.shift()
      if (w) w(line)
      else lines.push(line)
    }
  })
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const line = lines.shift()
      if (line !== undefined) return resolve(line)
      waiters.push(resolve)
      child.once('exit', (c) => reject(new Error(`racer exited (${c}) early`)))
    })
  const ready = next().then((l) => assert.equal(l, 'ready'))
  return { child, ready, outcome: ready.then(next) }
}

async function race(dir: string, racers: number): Promise<{ winners: Racer[]; outcomes: string[] }> {
  const goFile = path.join(path.dirname(dir), `go-${path.basename(dir)}`)
  const all = Array.from({ length: racers }, () => spawnRacer(dir, goFile))
  await Promise.all(all.map((r) => r.ready))
  fs.writeFileSync(goFile, '')
  const outcomes = await Promise.all(all.map((r) => r.outcome))
  const winners = all.filter((_, i) => outcomes[i] === 'locked')
  return { winners, outcomes }
}

async function killAll(racers: readonly Racer[]): Promise<void> {
  await Promise.all(
    racers.map(
      (r) =>
        new Promise<void>((resolve) => {
          if (r.child.exitCode !== null || r.child.signalCode !== null) return resolve()
          r.child.once('exit', () => resolve())
          r.child.kill('SIGKILL')
        }),
    ),
  )
}

describe('DataDirLock', () => {
  for (const stale of [false, true]) {
    it(`lets exactly one of several racing processes win${stale ? ', over a stale lock' : ''}`, async () => {
      for (let round = 0; round < 3; round++) {
        const dir = tmpDir()
        if (stale) fs.writeFileSync(path.join(dir, '.lock'), String(deadPid()))
        const { winners, outcomes } = await race(dir, 6)
        try {
          assert.equal(winners.length, 1, `outcomes: ${outcomes.join(', ')}`)
          for (const o of outcomes) assert.ok(o === 'locked' || o === 'error DATA_DIR_LOCKED', o)
          const owner = Number.parseInt(fs.readFileSync(path.join(dir, '.lock'), 'utf8'), 10)
          assert.equal(owner, winners[0]!.child.pid)
          // Nothing but the lock is left behind by the losers.
          assert.deepEqual(fs.readdirSync(dir), ['.lock'])
        } finally {
          await killAll(winners)
        }
      }
    })
  }

  it('takes over a lock whose content is not a pid (a torn write of an older version)', () => {
    const dir = tmpDir()
    fs.writeFileSync(path.join(dir, '.lock'), '')
    const lock = DataDirLock.acquire(dir)
    assert.equal(Number.parseInt(fs.readFileSync(path.join(dir, '.lock'), 'utf8'), 10), process.pid)
    lock.release()
    assert.deepEqual(fs.readdirSync(dir), [])
  })

  it('refuses a live owner and leaves its lock alone', () => {
    const dir = tmpDir()
    const file = path.join(dir, '.lock')
    fs.writeFileSync(file, String(process.ppid))
    assert.throws(
      () => DataDirLock.acquire(dir),
      (e) => isEddyError(e, 'DATA_DIR_LOCKED') && e.message.includes(String(process.ppid)),
    )
    assert.equal(fs.readFileSync(file, 'utf8'), String(process.ppid))
    assert.deepEqual(fs.readdirSync(dir), ['.lock'])
  })

  it('reaps the marker of a reaper that died, then the stale lock', () => {
    const dir = tmpDir()
    const file = path.join(dir, '.lock')
    const stale = `${deadPid()} abc`
    const marker = `${file}.reap-${createHash('sha256').update(stale).digest('hex').slice(0, 16)}`
    fs.writeFileSync(file, stale)
    fs.writeFileSync(marker, `${deadPid()} def`)
    const lock = DataDirLock.acquire(dir)
    assert.equal(Number.parseInt(fs.readFileSync(file, 'utf8'), 10), process.pid)
    lock.release()
    assert.deepEqual(fs.readdirSync(dir), [])
  })
})
