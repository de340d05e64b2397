// State restore (DESIGN.md §5): a stateful app runs to completion, more input is appended, and it
// runs again. With <dataDir>/state deleted in between, every store is rebuilt from its changelog;
// with it kept, the local checkpoint means nothing needs replaying. Either way the outputs equal
// those of one uninterrupted run over all the input.
// The appended input goes to two of the three partitions only: the third must keep holding event
// time back after the restart, as it did in the uninterrupted run (it is not idle until the idle
// timeout), or windows would close that the uninterrupted run leaves open.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { partitionForKey } from '../../src/core/murmur2.js'
import type { LogRecord } from '../../src/core/record.js'
import { type App, app, count, json, type RestoreProgress, sum, tumbling } from '../../src/index.js'
import { cleanup, type Input, multiset, prng, readTopic, tmpDir, writeInputs } from './harness.js'

interface Event {
  readonly user: string
  readonly group: string
  readonly n: number
}

const PARTITIONS = 3
const OUT_OF_ORDER_MS = 2_000
const WINDOWED = ['user-minutes', 'group-minutes']
const TABLE = 'group-totals'

/** Records `from`..`to`-1 of one deterministic stream; `partitions` keeps only keys of those partitions. */
function generate(from: number, to: number, partitions: readonly number[]): Input[] {
  const out: Input[] = []
  for (let i = from; i < to; i++) {
    const rand = prng(i * 7919 + 1)
    const user = `user-${Math.floor(rand() * 30)}`
    const partition = partitionForKey(Buffer.from(user), PARTITIONS)
    if (!partitions.includes(partition)) continue
    const event: Event = { user, group: `g${Math.floor(rand() * 6)}`, n: Math.floor(rand() * 100) }
    out.push({
      partition,
      key: user,
      value: Buffer.from(JSON.stringify(event)),
      timestamp: 1_000_000 + i * 1_000 - Math.floor(rand() * OUT_OF_ORDER_MS),
    })
  }
  return out
}

const FIRST = generate(0, 3_000, [0, 1, 2])
const MORE = generate(3_000, 5_000, [0, 1])

function restoreApp(dataDir: string): App {
  const a = app({
    id: 'restore',
    dataDir,
    outOfOrdernessMs: OUT_OF_ORDER_MS,
    // Inputs do not go idle while the app runs (a restart must not change that).
    idleTimeoutMs: 3_600_000,
    commitIntervalMs: 50,
  })
  const events = a.stream<Event, string>('events', json<Event>())
  // A store in the source tasks…
  events
    .groupByKey()
    .window(tumbling({ size: '1m' }))
    .count({ name: 'user-minutes' })
    .final()
    .to('user-minutes')
  // …and two behind a repartition.
  const byGroup = events.groupBy((e) => e.group, { name: 'by-group' })
  byGroup
    .window(tumbling({ size: '1m' }))
    .count({ name: 'group-minutes' })
    .final()
    .to('group-minutes')
  byGroup
    .aggregate({ events: count(), total: sum((e: Event) => e.n) }, { name: 'group-totals' })
    .toStream()
    .to(TABLE)
  return a
}

type Outputs = Map<string, LogRecord[][]>

async function outputs(dataDir: string): Promise<Outputs> {
  const out: Outputs = new Map()
  for (const topic of [...WINDOWED, TABLE]) out.set(topic, await readTopic(dataDir, topic))
  return out
}

async function run(dataDir: string): Promise<(RestoreProgress & { taskId: string })[]> {
  const progress: (RestoreProgress & { taskId: string })[] = []
  await restoreApp(dataDir).run({ untilIdleMs: 200, onRestoreProgress: (p) => progress.push(p) })
  return progress
}

/** The last report of each store of each task. */
function finalReports(
  progress: readonly (RestoreProgress & { taskId: string })[],
): Map<string, RestoreProgress> {
  const m = new Map<string, RestoreProgress>()
  for (const p of progress) if (p.done) m.set(`${p.taskId}/${p.store}`, p)
  return m
}

/** The table's updates per key in offset order. */
function tableUpdates(parts: readonly LogRecord[][]): Map<string, { events: number; total: number }[]> {
  const m = new Map<string, { events: number; total: number }[]>()
  for (const part of parts) {
    for (const r of part) {
      const k = r.key!.toString()
      m.set(k, [...(m.get(k) ?? []), JSON.parse(r.value!.toString()) as { events: number; total: number }])
    }
  }
  return m
}

function assertSameResults(got: Outputs, want: Outputs): void {
  for (const topic of WINDOWED) {
    const w = multiset(want.get(topic)!.flat())
    assert.ok(w.length > 100, `${topic}: the reference has results`)
    assert.deepEqual(multiset(got.get(topic)!.flat()), w, topic)
  }
  const table = tableUpdates(got.get(TABLE)!)
  const expected = tableUpdates(want.get(TABLE)!)
  assert.deepEqual([...table.keys()].sort(), [...expected.keys()].sort())
  for (const [k, updates] of expected) {
    const mine = table.get(k)!
    assert.deepEqual(mine.at(-1), updates.at(-1), `final value of ${k}`)
    // A store restored short (or twice) would count on from the wrong number.
    assert.deepEqual(
      mine.map((u) => u.events),
      updates.map((_, i) => i + 1),
      `running count of ${k}`,
    )
  }
}

describe('state restore', () => {
  let reference: Outputs
  before(async () => {
    const dataDir = tmpDir('restore-reference')
    await writeInputs(dataDir, 'events', PARTITIONS, [...FIRST, ...MORE])
    await run(dataDir)
    reference = await outputs(dataDir)
  })
  after(cleanup)

  it('rebuilds deleted stores from their changelogs: the results equal an uninterrupted run', async () => {
    const dataDir = tmpDir('restore-deleted')
    await writeInputs(dataDir, 'events', PARTITIONS, FIRST)
    const first = await run(dataDir)
    // A first run on an empty data dir has nothing to restore.
    assert.ok([...finalReports(first).values()].every((p) => p.restored === 0))
    const stateDir = path.join(dataDir, 'state')
    assert.ok(fs.existsSync(stateDir), 'the stores live under <dataDir>/state')
    fs.rmSync(stateDir, { recursive: true })
    await writeInputs(dataDir, 'events', PARTITIONS, MORE)
    const reports = finalReports(await run(dataDir))
    // 3 tasks with the user-minutes store, 3 with group-minutes, 3 with group-totals.
    assert.equal(reports.size, 9, [...reports.keys()].join(', '))
    for (const [where, p] of reports) {
      assert.ok(p.fromScratch, `${where} restored from scratch`)
      assert.equal(p.position, p.total, `${where} read its whole changelog`)
    }
    const restored = (store: string) =>
      [...reports.values()].filter((p) => p.store === store).reduce((s, p) => s + p.restored, 0)
    // Every group's running total was restored (one live entry per group, at least).
    assert.ok(restored('group-totals-store') >= 6, `restored ${restored('group-totals-store')} totals`)
    assert.ok(restored('user-minutes-store') > 0)
    assertSameResults(await outputs(dataDir), reference)
  })

  it('with the local state kept, its checkpoint means no changelog record is replayed', async () => {
    const dataDir = tmpDir('restore-kept')
    await writeInputs(dataDir, 'events', PARTITIONS, FIRST)
    await run(dataDir)
    await writeInputs(dataDir, 'events', PARTITIONS, MORE)
    const reports = finalReports(await run(dataDir))
    assert.equal(reports.size, 9)
    for (const [where, p] of reports) {
      assert.ok(!p.fromScratch, `${where} used its checkpoint`)
      assert.equal(p.restored, 0, `${where} replayed nothing`)
      assert.equal(p.total, 0, `${where}: its checkpoint is the changelog's end`)
    }
    assertSameResults(await outputs(dataDir), reference)
  })
})
