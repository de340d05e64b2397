// Scale-out on Kafka, against Eddy's broker in this process: instances of one stateful
// exactly-once app (test/scale/count-app.ts, one child process each) share 6 input partitions
// through the app's consumer group. The committed output must be what one uninterrupted run
// writes: for every page, the counts 1, 2, …, n in order (a duplicate or a lost record would
// repeat or skip a count, and a count that restarted after a rebalance would start again at 1).
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { GroupCoordinator } from '../../src/broker/group-coordinator.js'
import { partitionForKey } from '../../src/core/murmur2.js'
import type { RecordInput } from '../../src/core/record.js'
import { startBroker, type TestBroker, tmpDir } from '../broker/harness.js'
import { readCommitted } from '../runtime/harness.js'

const PARTITIONS = 6
const PAGES = 40
const APP = path.join(import.meta.dirname, 'count-app.ts')
const GROUP = 'page-counter'

interface Assignment {
  readonly generation: number
  readonly active: string[]
  readonly standby: string[]
  readonly url: string | null
}

interface Instance {
  readonly name: string
  readonly child: ChildProcess
  readonly stderr: string[]
  readonly exited: Promise<number | null>
}

/** A broker in this process, the `views` topic, and app instances as child processes. */
class Cluster {
  readonly instances: Instance[] = []
  readonly expected = new Map<string, number>()
  private produced = 0

  private constructor(
    readonly broker: TestBroker,
    private readonly dir: string,
    private readonly env: Record<string, string>,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<Cluster> {
    const broker = await startBroker({
      transactionCheckIntervalMs: 100,
      // Sessions of 2 s (the app's), below Kafka's default floor of 6 s: a killed instance's tasks move sooner.
      groups: new GroupCoordinator({ initialRebalanceDelayMs: 0, sessionTimeoutMsMin: 1000 }),
    })
    broker.log.createTopic('views', { partitions: PARTITIONS })
    return new Cluster(broker, tmpDir('eddy-scale-'), env)
  }

  startInstance(name: string): Instance {
    const child = spawn(process.execPath, ['--import', 'tsx', APP], {
      env: {
        ...process.env,
        ...this.env,
        EDDY_RUN_BROKERS: `127.0.0.1:${this.broker.port}`,
        EDDY_RUN_INSTANCE_ID: name,
        EDDY_DATA_DIR: path.join(this.dir, name),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    const stderr: string[] = []
    child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const instance = { name, child, stderr, exited }
    this.instances.push(instance)
    return instance
  }

  async produceViews(n: number, pages = PAGES): Promise<void> {
    const producer = await this.broker.log.producer()
    const byPartition: RecordInput[][] = Array.from({ length: PARTITIONS }, () => [])
    for (let i = 0; i < n; i++) {
      const id = this.produced++
      const user = `user-${id % 97}`
      // Uneven pages, so that some tasks have more work than others.
      const page = `/page-${(id * 7919) % pages < pages / 2 ? id % 5 : id % pages}`
      this.expected.set(page, (this.expected.get(page) ?? 0) + 1)
      const key = Buffer.from(user)
      byPartition[partitionForKey(key, PARTITIONS)]!.push({
        key,
        value: Buffer.from(JSON.stringify({ user, page })),
        timestamp: 1_700_000_000_000 + id,
      })
    }
    for (const [p, records] of byPartition.entries()) {
      for (let i = 0; i < records.length; i += 500) await producer.send('views', p, records.slice(i, i + 500))
    }
    await producer.close()
  }

  get producedCount(): number {
    return this.produced
  }

  /** Every committed count per page, in the order written. */
  async committedCounts(): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>()
    for (const records of await readCommitted(this.broker.log, 'page-counts')) {
      for (const r of records) {
        const page = r.key!.toString()
        const list = out.get(page) ?? []
        list.push(JSON.parse(r.value!.toString()) as number)
        out.set(page, list)
      }
    }
    return out
  }

  async committedTotal(): Promise<number> {
    let n = 0
    for (const list of (await this.committedCounts()).values()) n += list.length
    return n
  }

  /** Every page's committed counts are 1…n, n its views: exactly one run's output. */
  async assertExactlyOnce(): Promise<void> {
    const counts = await this.committedCounts()
    assert.deepEqual([...counts.keys()].sort(), [...this.expected.keys()].sort())
    for (const [page, n] of this.expected) {
      const seen = counts.get(page) ?? []
      const at = seen.findIndex((v, i) => v !== i + 1)
      if (at >= 0 || seen.length !== n) {
        const near = at >= 0 ? seen.slice(Math.max(0, at - 3), at + 8).join(',') : ''
        assert.fail(
          `page ${page}: ${seen.length} committed counts for ${n} views; first wrong at #${at}: …${near}…`,
        )
      }
      assert.deepEqual(
        counts.get(page),
        Array.from({ length: n }, (_, i) => i + 1),
        `page ${page}: its committed counts are not 1…${n}`,
      )
    }
  }

  /** Polls a condition until it holds; fails with what was awaited (and the instances' errors). */
  async until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!(await cond())) {
      if (Date.now() > deadline) {
        const errors = this.instances
          .map((i) => `--- ${i.name}:\n${i.stderr.join('').slice(-2000)}`)
          .join('\n')
        assert.fail(`timed out waiting for ${what}\n${errors}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** Stops the live instances with SIGTERM (each must exit 0), then the broker. */
  async stop(): Promise<void> {
    const live = this.instances.filter((i) => i.child.exitCode === null && i.child.signalCode === null)
    for (const i of live) i.child.kill('SIGTERM')
    const codes = await Promise.all(live.map((i) => i.exited))
    await this.broker.stop()
    fs.rmSync(this.dir, { recursive: true, force: true })
    for (const [n, i] of live.entries()) {
      assert.equal(codes[n], 0, `${i.name} exits 0 on SIGTERM:\n${i.stderr.join('')}`)
    }
  }

  /** Kills whatever is left (after a failed test). */
  async kill(): Promise<void> {
    for (const i of this.instances) if (i.child.exitCode === null) i.child.kill('SIGKILL')
    await Promise.all(this.instances.map((i) => i.exited))
    await this.broker.stop().catch(() => {})
    fs.rmSync(this.dir, { recursive: true, force: true })
  }
}

/** The lines an instance printed with a prefix, parsed. */
function lines<T>(i: Instance, prefix: string): T[] {
  return i.stderr
    .join('')
    .split('\n')
    .filter((l) => l.startsWith(`${prefix} `))
    .map((l) => JSON.parse(l.slice(prefix.length + 1)) as T)
}

const assignments = (i: Instance) => lines<Assignment>(i, 'assignment')
const lastAssignment = (i: Instance) => assignments(i).at(-1)

async function withCluster(env: Record<string, string>, test: (c: Cluster) => Promise<void>): Promise<void> {
  const c = await Cluster.start(env)
  try {
    await test(c)
    await c.stop()
  } catch (err) {
    await c.kill()
    throw err
  }
}

describe('scale-out over Kafka', { timeout: 240_000 }, () => {
  it('three instances, one killed and one added mid-run, commit exactly what one run would', () =>
    withCluster({}, async (c) => {
      await c.produceViews(6000)
      const a = c.startInstance('a')
      const b = c.startInstance('b')
      const cc = c.startInstance('c')
      await c.until('the first committed counts', async () => (await c.committedTotal()) >= 1000)

      // The group has no initial delay: a may count the first views alone, before b has joined.
      await c.until('b to run tasks', async () => (lastAssignment(b)?.active.length ?? 0) > 0)
      b.child.kill('SIGKILL')
      await b.exited
      await c.produceViews(6000)
      // b's tasks move once its session expires; wait for that rebalance, so d's join is a rebalance of its own.
      await c.until('a and c to take over every task', () => {
        const [x, y] = [lastAssignment(a), lastAssignment(cc)]
        return (
          x !== undefined &&
          x.generation === y?.generation &&
          x.active.length + y.active.length === 2 * PARTITIONS
        )
      })
      await c.until('progress after the kill', async () => (await c.committedTotal()) >= 8000)

      const before = c.broker.groups.groupState(GROUP)!.generationId
      const d = c.startInstance('d')
      await c.until('d to take its tasks', () => {
        const g = c.broker.groups.groupState(GROUP)!
        return g.generationId > before && g.state === 'Stable' && (lastAssignment(d)?.active.length ?? 0) > 0
      })
      await c.produceViews(6000)
      await c.until('every view counted', async () => (await c.committedTotal()) >= c.producedCount, 120_000)
      await c.assertExactlyOnce()

      // The last generation: a, c and d share every task, each task once.
      const last = c.instances.filter((i) => i !== b).map((i) => lastAssignment(i)!)
      assert.equal(new Set(last.map((x) => x.generation)).size, 1, JSON.stringify(last))
      const tasks = last.flatMap((x) => x.active).sort()
      assert.equal(tasks.length, new Set(tasks).size)
      assert.equal(tasks.length, 2 * PARTITIONS, `tasks ${tasks}`)
      // The group went through the rebalances: join, kill, join.
      assert.ok(c.broker.groups.groupState(GROUP)!.generationId >= 3)
    }))

  it('a zombie (an instance paused past its session) is fenced: its late commit is refused, and it rejoins', () =>
    withCluster({}, async (c) => {
      await c.produceViews(6000)
      const a = c.startInstance('a')
      const b = c.startInstance('b')
      await c.until('two instances sharing the tasks', () => {
        const [x, y] = [lastAssignment(a), lastAssignment(b)]
        return x !== undefined && x.generation === y?.generation && x.active.length > 0 && y.active.length > 0
      })
      await c.until('the first committed counts', async () => (await c.committedTotal()) >= 1000)
      // Frozen mid-run, b misses its heartbeats: the group gives its tasks to a.
      b.child.kill('SIGSTOP')
      const frozenIn = lastAssignment(b)!.generation
      await c.until('a to run every task', () => (lastAssignment(a)?.active.length ?? 0) === 2 * PARTITIONS)
      await c.produceViews(3000)
      await c.until('a to count the new views', async () => (await c.committedTotal()) >= c.producedCount)
      // Thawed, b still thinks it owns its tasks: whatever it processed and commits in its old
      // generation must be refused, then it rejoins and gets a share again.
      b.child.kill('SIGCONT')
      await c.until('b to rejoin', () => (lastAssignment(b)?.generation ?? 0) > frozenIn)
      await c.until('a and b to share the tasks again', () => {
        const [x, y] = [lastAssignment(a)!, lastAssignment(b)!]
        return x.generation === y.generation && x.active.length > 0 && y.active.length > 0
      })
      await c.produceViews(3000)
      await c.until('every view counted', async () => (await c.committedTotal()) >= c.producedCount)
      await c.assertExactlyOnce()
    }))

  it('a standby replica takes over a killed instance’s tasks with little to restore', () =>
    withCluster({ SCALE_STANDBY_REPLICAS: '1' }, async (c) => {
      // Many pages: the count store's changelog is long, so a restore from it would show.
      await c.produceViews(10_000, 4000)
      const a = c.startInstance('a')
      const b = c.startInstance('b')
      await c.until('both instances with tasks and standbys', () =>
        [a, b].every(
          (i) => (lastAssignment(i)?.active.length ?? 0) > 0 && lastAssignment(i)!.standby.length > 0,
        ),
      )
      await c.until('every view counted', async () => (await c.committedTotal()) >= c.producedCount)
      // The count tasks (sub-topology 1) hold state: a keeps standbys of b's.
      const bTasks = lastAssignment(b)!.active.filter((t) => t.startsWith('1_'))
      assert.ok(bTasks.length > 0)
      assert.ok(
        bTasks.every((t) => lastAssignment(a)!.standby.includes(t)),
        JSON.stringify(lastAssignment(a)),
      )
      // Give the standbys time to read the changelogs' ends (they catch up every 500 ms).
      const restoredBefore = lines(a, 'restored').length
      await new Promise((r) => setTimeout(r, 1500))
      b.child.kill('SIGKILL')
      await c.until('a to run every task', () => (lastAssignment(a)?.active.length ?? 0) === 2 * PARTITIONS)
      const restoredSince = () =>
        lines<{ taskId: string; restored: number }>(a, 'restored').slice(restoredBefore)
      await c.until('a to restore the tasks it took', () =>
        bTasks.every((t) => restoredSince().some((r) => r.taskId === t)),
      )
      const restored = restoredSince()
      // Warm standbys: next to nothing left to read from the changelogs (without standbys, ~1,000).
      const total = restored.reduce((n, r) => n + r.restored, 0)
      assert.ok(total < 100, `restored ${total} records after the failover: ${JSON.stringify(restored)}`)
      await c.produceViews(2000, 4000)
      await c.until('every view counted', async () => (await c.committedTotal()) >= c.producedCount)
      await c.assertExactlyOnce()
    }))

  it('each instance answers queries for its keys and names the owner of the others', () =>
    withCluster({}, async (c) => {
      await c.produceViews(3000)
      const a = c.startInstance('a')
      const b = c.startInstance('b')
      await c.until('two instances sharing the tasks', () => {
        const [x, y] = [lastAssignment(a), lastAssignment(b)]
        return (
          x !== undefined &&
          y !== undefined &&
          x.generation === y.generation &&
          x.active.length > 0 &&
          y.active.length > 0
        )
      })
      await c.until('every view counted', async () => (await c.committedTotal()) >= c.producedCount)
      const urls = [a, b].map((i) => lastAssignment(i)!.url!.replace(/\/metrics$/, ''))
      for (const [page, n] of c.expected) {
        const path = `/stores/page-count-store/keys/${encodeURIComponent(page)}`
        const answers = await Promise.all(urls.map((u) => fetch(`${u}${path}`)))
        const owner = answers.findIndex((r) => r.status === 200)
        assert.ok(owner >= 0, `page ${page}: no instance answers`)
        assert.deepEqual(await answers[owner]!.json(), { key: page, value: n })
        const other = answers[1 - owner]!
        assert.equal(other.status, 421, `page ${page}: the other instance answers ${other.status}`)
        const body = (await other.json()) as { owner: string; url: string; code: string }
        assert.equal(body.code, 'NOT_OWNER')
        assert.equal(body.owner, urls[owner])
        assert.equal(body.url, `${urls[owner]}${path}`)
      }
    }))
})
