// Scale-out on Kafka, against Eddy's broker in this process: instances of one stateful
// exactly-once app (test/scale/count-app.ts, one child process each) share 6 input partitions
// through the app's consumer group. One is killed with SIGKILL mid-run and another starts later;
// the committed output must be what one uninterrupted run writes: for every page, the counts
// 1, 2, …, n in order (a duplicate or a lost record would repeat or skip a count, and a count that
// restarted after a rebalance would start again at 1).
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { GroupCoordinator } from '../../src/broker/group-coordinator.js'
import { partitionForKey } from '../../src/core/murmur2.js'
import type { RecordInput } from '../../src/core/record.js'
import { startBroker, type TestBroker, tmpDir } from '../broker/harness.js'
import { readCommitted } from '../runtime/harness.js'

const PARTITIONS = 6
const PAGES = 40
const APP = path.join(import.meta.dirname, 'count-app.ts')

interface Instance {
  readonly name: string
  readonly child: ChildProcess
  readonly stderr: string[]
  readonly exited: Promise<number | null>
}

let broker: TestBroker
let dir: string
const instances: Instance[] = []
const expected = new Map<string, number>()
let produced = 0

/** The assignments an instance reported (the app file prints one line per rebalance). */
function assignments(i: Instance): { generation: number; active: string[]; standby: string[] }[] {
  return i.stderr
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('assignment '))
    .map((l) => JSON.parse(l.slice('assignment '.length)))
}

function startInstance(name: string): Instance {
  const child = spawn(process.execPath, ['--import', 'tsx', APP], {
    env: {
      ...process.env,
      EDDY_RUN_BROKERS: `127.0.0.1:${broker.port}`,
      EDDY_RUN_INSTANCE_ID: name,
      EDDY_DATA_DIR: path.join(dir, name),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const stderr: string[] = []
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const instance = { name, child, stderr, exited }
  instances.push(instance)
  return instance
}

async function produceViews(n: number): Promise<void> {
  const producer = await broker.log.producer()
  const byPartition: RecordInput[][] = Array.from({ length: PARTITIONS }, () => [])
  for (let i = 0; i < n; i++) {
    const id = produced++
    const user = `user-${id % 97}`
    // Uneven pages, so that some tasks have more work than others.
    const page = `/page-${(id * 7919) % PAGES < PAGES / 2 ? id % 5 : id % PAGES}`
    expected.set(page, (expected.get(page) ?? 0) + 1)
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

/** Every committed count per page, in the order written. */
async function committedCounts(): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>()
  for (const records of await readCommitted(broker.log, 'page-counts')) {
    for (const r of records) {
      const page = r.key!.toString()
      const list = out.get(page) ?? []
      list.push(JSON.parse(r.value!.toString()) as number)
      out.set(page, list)
    }
  }
  return out
}

async function committedTotal(): Promise<number> {
  let n = 0
  for (const list of (await committedCounts()).values()) n += list.length
  return n
}

/** Polls a condition until it holds; fails with what was awaited (and the instances' errors). */
async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) {
      const errors = instances.map((i) => `--- ${i.name}:\n${i.stderr.join('').slice(-2000)}`).join('\n')
      assert.fail(`timed out waiting for ${what}\n${errors}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('scale-out over Kafka', { timeout: 240_000 }, () => {
  before(async () => {
    dir = tmpDir('eddy-scale-')
    broker = await startBroker({
      transactionCheckIntervalMs: 100,
      // Sessions of 2 s (the app's), below Kafka's default floor of 6 s: a killed instance's tasks move sooner.
      groups: new GroupCoordinator({ initialRebalanceDelayMs: 0, sessionTimeoutMsMin: 1000 }),
    })
    broker.log.createTopic('views', { partitions: PARTITIONS })
  })

  after(async () => {
    for (const i of instances) if (i.child.exitCode === null) i.child.kill('SIGKILL')
    await Promise.all(instances.map((i) => i.exited))
    await broker.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('three instances, one killed and one added mid-run, commit exactly what one run would', async () => {
    await produceViews(6000)
    startInstance('a')
    const b = startInstance('b')
    startInstance('c')
    await until('the first committed counts', async () => (await committedTotal()) >= 1000)

    assert.ok((assignments(b).at(-1)?.active.length ?? 0) > 0, 'b runs tasks when it is killed')
    b.child.kill('SIGKILL')
    await b.exited
    await produceViews(6000)
    await until('progress after the kill', async () => (await committedTotal()) >= 8000)

    const before = broker.groups.groupState('page-counter')!.generationId
    startInstance('d')
    await until('the group to take in d', async () => {
      const g = broker.groups.groupState('page-counter')!
      return g.generationId > before && g.state === 'Stable'
    })
    const d = instances.at(-1)!
    await until('d to take its tasks', async () => (assignments(d).at(-1)?.active.length ?? 0) > 0)
    await produceViews(6000)
    await until('every view counted', async () => (await committedTotal()) >= produced, 120_000)

    const counts = await committedCounts()
    assert.deepEqual([...counts.keys()].sort(), [...expected.keys()].sort())
    for (const [page, n] of expected) {
      const seen = counts.get(page)!
      assert.deepEqual(
        seen,
        Array.from({ length: n }, (_, i) => i + 1),
        `page ${page}: its committed counts are not 1…${n}`,
      )
    }
    // The last generation: a, c and d share every task, each task once.
    const last = instances.filter((i) => i !== b).map((i) => assignments(i).at(-1)!)
    assert.equal(new Set(last.map((x) => x.generation)).size, 1, JSON.stringify(last))
    const tasks = last.flatMap((x) => x.active).sort()
    assert.equal(tasks.length, new Set(tasks).size)
    assert.equal(tasks.length, 2 * PARTITIONS, `tasks ${tasks}`)
    // The group went through the rebalances: join, kill, join.
    const group = broker.groups.groupState('page-counter')
    assert.ok(group !== undefined && group.generationId >= 3, `generation ${group?.generationId}`)

    for (const i of instances) if (i.child.exitCode === null && i !== b) i.child.kill('SIGTERM')
    for (const i of instances.filter((x) => x !== b)) assert.equal(await i.exited, 0, i.stderr.join(''))
  })
})
