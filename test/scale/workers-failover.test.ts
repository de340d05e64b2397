// `eddy run APP --workers 2` on the embedded log, as users run it (bin/eddy over the built dist/),
// with a worker killed mid-run (test/scale/count-app.ts: stateful, exactly-once, 2 s sessions).
// By default the command starts the worker again and it takes part in the work once more; with
// --max-restarts 0 the other finishes its tasks and the command exits 1 naming the failure. Either
// way the committed output is what one run writes (for every page, the counts 1, 2, …, n in order).
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { partitionForKey } from '../../src/core/murmur2.js'
import type { RecordInput } from '../../src/core/record.js'
import { cleanup, readTopic, tmpDir, withLog } from '../runtime/harness.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const bin = path.join(root, 'bin', 'eddy')
const APP = path.join(import.meta.dirname, 'count-app.ts')
const PARTITIONS = 6
const PAGES = 40

interface Command {
  readonly child: ChildProcess
  /** stderr lines as they came: the command's own, and its workers' marked `[worker N] `. */
  readonly lines: string[]
  readonly exited: Promise<number | null>
}

/** A data dir whose `views` topic (6 partitions, by user) holds n page views; the counts each page must reach. */
async function viewsDir(n: number): Promise<{ dir: string; expected: Map<string, number> }> {
  const dir = tmpDir('eddy-workers-')
  const expected = new Map<string, number>()
  await withLog(dir, async (log) => {
    log.createTopic('views', { partitions: PARTITIONS })
    const byPartition: RecordInput[][] = Array.from({ length: PARTITIONS }, () => [])
    for (let id = 0; id < n; id++) {
      const user = `user-${id % 97}`
      const page = `/page-${id % PAGES}`
      expected.set(page, (expected.get(page) ?? 0) + 1)
      const key = Buffer.from(user)
      byPartition[partitionForKey(key, PARTITIONS)]!.push({
        key,
        value: Buffer.from(JSON.stringify({ user, page })),
        timestamp: 1_700_000_000_000 + id,
      })
    }
    for (const [p, records] of byPartition.entries())
      for (let i = 0; i < records.length; i += 1000) await log.append('views', p, records.slice(i, i + 1000))
  })
  return { dir, expected }
}

function runWorkers(dir: string, untilIdleMs: number, extra: readonly string[] = []): Command {
  const child = spawn(
    process.execPath,
    [bin, '--data-dir', dir, 'run', APP, '--workers', '2', '--until-idle', String(untilIdleMs), ...extra],
    {
      cwd: root,
      // Short transactions: a killed worker's open one is aborted soon, so its partitions' output shows.
      env: { ...process.env, EDDY_DATA_DIR: '', SCALE_TRANSACTION_TIMEOUT_MS: '2000' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  const lines: string[] = []
  let rest = ''
  child.stderr!.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n')
    rest = parts.pop()!
    lines.push(...parts)
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, lines, exited }
}

/** What a worker printed: its assignments and status lines (count-app.ts), parsed. */
function linesOf<T>(c: Command, worker: number, kind: 'assignment' | 'status'): T[] {
  const prefix = `[worker ${worker}] ${kind} `
  return c.lines.filter((l) => l.startsWith(prefix)).map((l) => JSON.parse(l.slice(prefix.length)) as T)
}

interface Assignment {
  readonly generation: number
  readonly active: string[]
  readonly pid: number
}

async function until(what: string, c: Command, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline || c.child.exitCode !== null)
      assert.fail(`gave up waiting for ${what}:\n${c.lines.slice(-40).join('\n')}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Every page's committed counts are 1…n, in order: nothing lost, nothing counted twice. */
async function assertCounts(dir: string, expected: Map<string, number>): Promise<void> {
  const seen = new Map<string, number[]>()
  for (const records of await readTopic(dir, 'page-counts')) {
    for (const r of records) {
      const page = r.key!.toString()
      seen.set(page, [...(seen.get(page) ?? []), JSON.parse(r.value!.toString()) as number])
    }
  }
  assert.deepEqual([...seen.keys()].sort(), [...expected.keys()].sort())
  for (const [page, n] of expected) {
    assert.deepEqual(
      seen.get(page),
      Array.from({ length: n }, (_, i) => i + 1),
      `page ${page}: its committed counts are not 1…${n}`,
    )
  }
}

describe('eddy run --workers 2 (embedded log), a worker killed', { timeout: 240_000 }, () => {
  const running: Command[] = []

  before(() => {
    assert.ok(
      existsSync(path.join(root, 'dist', 'cli', 'main.js')),
      'dist/cli/main.js is missing: run `npm run build` before the CLI tests',
    )
  })

  after(async () => {
    for (const c of running) if (c.child.exitCode === null) c.child.kill('SIGKILL')
    await Promise.all(running.map((c) => c.exited))
    cleanup()
  })

  /** Kills worker 2 once it has reported its progress (twice: the first report surely reached the command) with work left. */
  async function killWorker2(c: Command): Promise<Assignment> {
    await until('worker 2 to report progress with work left', c, () => {
      const a = linesOf<Assignment>(c, 2, 'assignment').at(-1)
      const s = linesOf<{ lag: number }>(c, 2, 'status')
      return a !== undefined && a.active.length > 0 && s.length >= 2 && s.at(-1)!.lag > 0
    })
    const victim = linesOf<Assignment>(c, 2, 'assignment').at(-1)!
    process.kill(victim.pid, 'SIGKILL')
    return victim
  }

  it('a worker killed mid-run is started again and works again; the output is exactly once', async () => {
    const { dir, expected } = await viewsDir(300_000)
    const c = runWorkers(dir, 5000)
    running.push(c)
    const victim = await killWorker2(c)
    assert.equal(await c.exited, 0, c.lines.join('\n'))
    assert.ok(
      c.lines.some((l) =>
        /^eddy run: worker 2 was killed \(SIGKILL\); restarting it in 1 s \(restart 1 of at most 5/.test(l),
      ),
      c.lines.slice(-20).join('\n'),
    )
    // The new worker 2 (another process) joined the group and was given tasks again.
    const back = linesOf<Assignment>(c, 2, 'assignment').find(
      (a) => a.pid !== victim.pid && a.generation > victim.generation && a.active.length > 0,
    )
    assert.ok(back !== undefined, c.lines.join('\n'))
    const summary = c.lines.find((l) => l.startsWith('eddy run: stopped;'))
    assert.match(summary ?? '', / · lag 0 · /, c.lines.slice(-10).join('\n'))
    await assertCounts(dir, expected)
  })

  it('with --max-restarts 0 the other worker finishes the tasks of one killed mid-run; the command names the failure', async () => {
    const { dir, expected } = await viewsDir(300_000)
    const c = runWorkers(dir, 5000, ['--max-restarts', '0'])
    running.push(c)
    const victim = await killWorker2(c)
    assert.equal(await c.exited, 1, c.lines.join('\n'))
    assert.ok(
      c.lines.some((l) =>
        /^eddy run: worker 2 was killed \(SIGKILL\); not restarted \(restarts are off/.test(l),
      ),
      c.lines.slice(-10).join('\n'),
    )
    assert.ok(
      c.lines.some((l) => /1 of 2 workers failed/.test(l)),
      c.lines.slice(-10).join('\n'),
    )
    // Worker 1 took the killed one's tasks over in a later generation.
    const took = linesOf<Assignment>(c, 1, 'assignment').find((a) => a.generation > victim.generation)
    assert.ok(took !== undefined, c.lines.join('\n'))
    for (const t of victim.active) assert.ok(took.active.includes(t), `worker 1 did not take ${t}`)
    // The summary counts no lag of the dead worker: everything was processed.
    const summary = c.lines.find((l) => l.startsWith('eddy run: stopped;'))
    assert.match(summary ?? '', / · lag 0 · /, c.lines.slice(-10).join('\n'))
    await assertCounts(dir, expected)
  })
})
