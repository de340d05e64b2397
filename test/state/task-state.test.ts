// TaskState over the embedded transport: the commit cycle, restore from the changelog (whole and
// from a checkpoint), aborts, and the store provider the runtime uses.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { ManualClock } from '../../src/core/clock.js'
import { isEddyError } from '../../src/core/errors.js'
import { json, string } from '../../src/core/serde.js'
import type { KeyValueStore, StoreSpec, WindowStore } from '../../src/core/store.js'
import { EventLog } from '../../src/log/event-log.js'
import type { TaskStateHandle } from '../../src/runtime/app-runner.js'
import type { StoreProvider as RuntimeStoreProvider } from '../../src/runtime/task-executor.js'
import { type RestoreProgress, TaskState, type TaskStateOptions } from '../../src/state/task-state.js'
import { EmbeddedTransport } from '../../src/transport/embedded.js'
import type { TransportProducer } from '../../src/transport/transport.js'

const roots: string[] = []
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

const SPECS: StoreSpec[] = [
  { name: 'counts', kind: 'kv', keySerde: string(), valueSerde: json() },
  { name: 'windows', kind: 'window', keySerde: json(), valueSerde: json() },
]

interface Setup {
  readonly root: string
  readonly log: EventLog
  readonly transport: EmbeddedTransport
  readonly producer: TransportProducer
  readonly options: (extra?: Partial<TaskStateOptions>) => TaskStateOptions
  readonly close: () => Promise<void>
}

async function setup(): Promise<Setup> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-task-state-test-'))
  roots.push(root)
  const log = EventLog.open({
    dir: path.join(root, 'log'),
    fsync: { kind: 'never' },
    maintenanceIntervalMs: 0,
  })
  const transport = new EmbeddedTransport(log)
  const producer = await transport.producer({ transactionalId: 'app-task-0_0' })
  const clock = new ManualClock(1_000_000)
  return {
    root,
    log,
    transport,
    producer,
    options: (extra = {}) => ({
      dir: path.join(root, 'state'),
      appId: 'app',
      taskId: '0_0',
      partition: 0,
      changelogPartitions: 1,
      specs: SPECS,
      transport,
      changelogTopic: (store) => `app-${store}-changelog`,
      clock,
      ...extra,
    }),
    close: async () => {
      await producer.close()
      await log.close()
    },
  }
}

/** One commit cycle as the runtime runs it; returns the changelog records sent. */
async function commitCycle(
  state: TaskState,
  producer: TransportProducer,
  opts: { afterCommit?: boolean } = {},
) {
  const batches = state.flushChangelog()
  producer.beginTransaction()
  for (const b of batches) await producer.send(b.topic, b.partition, b.records)
  await producer.commitTransaction()
  if (opts.afterCommit ?? true) await state.afterCommit()
  return batches.reduce((n, b) => n + b.records.length, 0)
}

function stores(state: TaskState) {
  return {
    kv: state.keyValueStore<string, unknown>('counts'),
    win: state.windowStore<{ page: string }, number>('windows'),
  }
}

function snapshot(kv: KeyValueStore<string, unknown>, win: WindowStore<{ page: string }, number>) {
  return {
    kv: [...kv.entries()].sort((a, b) => a[0].localeCompare(b[0])),
    win: [...win.entries()].sort((a, b) => a[0].page.localeCompare(b[0].page) || a[1] - b[1]),
  }
}

/** Three commits of puts, overwrites, deletes and a null value. */
async function writeHistory(state: TaskState, producer: TransportProducer): Promise<number> {
  const { kv, win } = stores(state)
  let sent = 0
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 50; i++) {
      kv.put(`user-${i}`, { round, i })
      win.put({ page: `/p${i % 7}` }, round * 60_000, i)
    }
    kv.delete(`user-${round}`)
    kv.put('nothing', null)
    win.delete({ page: '/p1' }, 0)
    sent += await commitCycle(state, producer)
  }
  return sent
}

describe('TaskState', () => {
  it('rebuilds a deleted state directory from the changelogs, reporting progress', async () => {
    const s = await setup()
    let state = await TaskState.open(s.options())
    const sent = await writeHistory(state, s.producer)
    const before = snapshot(stores(state).kv, stores(state).win)
    assert.equal(before.kv.length, 50)
    const dir = state.dir
    await state.close()
    fs.rmSync(dir, { recursive: true, force: true })

    const progress: RestoreProgress[] = []
    state = await TaskState.open(s.options({ onRestoreProgress: (p) => progress.push(p) }))
    assert.deepEqual(snapshot(stores(state).kv, stores(state).win), before)
    const done = progress.filter((p) => p.done)
    assert.deepEqual(
      done.map((p) => p.store),
      ['counts', 'windows'],
    )
    assert.ok(done.every((p) => p.fromScratch && p.position === p.total && p.total > 0))
    assert.equal(
      done.reduce((n, p) => n + p.restored, 0),
      sent,
      'every changelog record is applied once',
    )
    assert.deepEqual(
      state.metrics().map((m) => [m.store, m.entries, m.restoredRecords]),
      [
        ['counts', 50, done[0]!.restored],
        ['windows', before.win.length, done[1]!.restored],
      ],
    )
    await state.close()
    await s.close()
  })

  it('restores only the changelog tail past its checkpoint', async () => {
    const s = await setup()
    // Every commit persists: the checkpoint is that of the last afterCommit.
    let state = await TaskState.open(s.options({ persistIntervalMs: 0 }))
    await writeHistory(state, s.producer)
    const { kv, win } = stores(state)
    kv.put('late', 1)
    kv.delete('user-10')
    win.put({ page: '/late' }, 0, 1)
    // Committed on the log, but the process "dies" before the store is written.
    const tail = await commitCycle(state, s.producer, { afterCommit: false })
    assert.equal(tail, 3)
    const expected = snapshot(kv, win)
    await state.close()

    state = await TaskState.open(s.options())
    assert.deepEqual(
      state.metrics().map((m) => m.restoredRecords),
      [2, 1],
    )
    assert.deepEqual(snapshot(stores(state).kv, stores(state).win), expected)
    await state.close()

    state = await TaskState.open(s.options())
    assert.deepEqual(
      state.metrics().map((m) => m.restoredRecords),
      [0, 0],
      'a store whose checkpoint is current replays nothing',
    )
    await state.close()
    await s.close()
  })

  it('writes the stores only after the commit; an abort returns them to the last commit', async () => {
    const s = await setup()
    let state = await TaskState.open(s.options())
    const { kv, win } = stores(state)
    kv.put('a', 1)
    win.put({ page: '/' }, 0, 1)
    await commitCycle(state, s.producer)
    const committed = snapshot(kv, win)

    kv.put('a', 2)
    kv.put('b', 2)
    win.delete({ page: '/' }, 0)
    const batches = state.flushChangelog()
    s.producer.beginTransaction()
    for (const b of batches) await s.producer.send(b.topic, b.partition, b.records)
    assert.throws(
      () => state.flushChangelog(),
      (e) => isEddyError(e, 'INVALID_TXN_STATE'),
      'a second flush before the first is settled',
    )
    await s.producer.abortTransaction()
    state.afterAbort()
    assert.deepEqual(snapshot(kv, win), committed)
    assert.equal(kv.size, 1)
    await state.afterCommit() // nothing pending: a no-op
    const dir = state.dir
    await state.close()

    // The aborted changelog records are never restored.
    fs.rmSync(dir, { recursive: true, force: true })
    state = await TaskState.open(s.options())
    assert.deepEqual(snapshot(stores(state).kv, stores(state).win), committed)
    await state.close()
    await s.close()
  })

  it('persists committed writes every persistIntervalMs: an abort writes them under the old checkpoint, a restart replays them, persist() moves the checkpoint', async () => {
    const s = await setup()
    let state = await TaskState.open(s.options({ persistIntervalMs: 60_000 }))
    const opened = state.checkpoint('counts')
    let { kv, win } = stores(state)
    kv.put('a', 1)
    win.put({ page: '/' }, 0, 1)
    await commitCycle(state, s.producer)
    assert.deepEqual(state.checkpoint('counts'), opened, 'a commit inside the interval leaves lmdb as it was')
    assert.equal(kv.get('a'), 1)

    // An abort: the committed writes go to lmdb (old checkpoint), the aborted ones nowhere.
    kv.put('a', 2)
    win.put({ page: '/' }, 0, 2)
    const batches = state.flushChangelog()
    s.producer.beginTransaction()
    for (const b of batches) await s.producer.send(b.topic, b.partition, b.records)
    await s.producer.abortTransaction()
    state.afterAbort()
    assert.equal(kv.get('a'), 1)
    assert.equal(win.get({ page: '/' }, 0), 1)
    assert.deepEqual(state.checkpoint('counts'), opened)

    kv.put('b', 3)
    await commitCycle(state, s.producer)
    const expected = snapshot(kv, win)
    await state.close()

    // lmdb is still at the old checkpoint: the restart replays the committed writes.
    state = await TaskState.open(s.options({ persistIntervalMs: 60_000 }))
    assert.deepEqual(snapshot(stores(state).kv, stores(state).win), expected)
    assert.deepEqual(
      state.metrics().map((m) => m.restoredRecords),
      [2, 1],
    )
    ;({ kv, win } = stores(state))
    kv.put('c', 4)
    await commitCycle(state, s.producer)
    await state.persist()
    assert.deepEqual(state.checkpoint('counts'), {
      topic: 'app-counts-changelog',
      partition: 0,
      offset: await s.transport.latestOffset('app-counts-changelog', 0, 'read_committed'),
    })
    const persisted = snapshot(kv, win)
    await state.close()
    state = await TaskState.open(s.options())
    assert.deepEqual(
      state.metrics().map((m) => m.restoredRecords),
      [0, 0],
      'after persist() the checkpoint is current: nothing to replay',
    )
    assert.deepEqual(snapshot(stores(state).kv, stores(state).win), persisted)
    await state.close()
    await s.close()
  })

  it('a key put and deleted between persists leaves the cache when its delete commits, and stays deleted after a restart', async () => {
    const s = await setup()
    let state = await TaskState.open(s.options({ persistIntervalMs: 60_000 }))
    const { kv, win } = stores(state)
    const cached = () => state.metrics().map((m) => m.cachedEntries)
    for (let i = 0; i < 20; i++) {
      kv.put(`k${i}`, i)
      win.put({ page: `/${i}` }, 0, i)
    }
    await commitCycle(state, s.producer)
    assert.deepEqual(cached(), [20, 20])
    // Expired (a join's record, a closed window): deleted in a later commit, before any persist.
    for (let i = 0; i < 15; i++) {
      kv.delete(`k${i}`)
      win.delete({ page: `/${i}` }, 0)
    }
    // One is written again after its delete, before the commit: it must stay.
    await commitCycle(state, s.producer)
    kv.put('k0', 'again')
    assert.deepEqual(cached(), [6, 5], 'lmdb never held the deleted keys: the cache lets them go')
    assert.equal(kv.get('k3'), undefined)
    assert.equal(win.get({ page: '/3' }, 0), undefined)
    assert.equal(kv.get('k0'), 'again')
    assert.deepEqual(
      state.metrics().map((m) => m.entries),
      [6, 5],
    )
    await commitCycle(state, s.producer)
    const expected = snapshot(kv, win)
    await state.close()
    // Nothing was persisted: the restart replays the changelog, tombstones included.
    state = await TaskState.open(s.options())
    assert.deepEqual(snapshot(stores(state).kv, stores(state).win), expected)
    assert.deepEqual(expected.kv.map(([k]) => k).sort(), ['k0', 'k15', 'k16', 'k17', 'k18', 'k19'])
    await state.close()
    await s.close()
  })

  it('rebuilds a store whose checkpoint is past its changelog’s end', async () => {
    const s = await setup()
    let state = await TaskState.open(s.options({ persistIntervalMs: 0 }))
    stores(state).kv.put('a', 1)
    await commitCycle(state, s.producer)
    assert.ok((state.checkpoint('counts')?.offset ?? 0) > 0)
    await state.close()
    s.log.deleteTopic('app-counts-changelog')

    const progress: RestoreProgress[] = []
    state = await TaskState.open(s.options({ onRestoreProgress: (p) => progress.push(p) }))
    assert.equal(stores(state).kv.size, 0, 'the local data is not trusted')
    assert.ok(progress.some((p) => p.store === 'counts' && p.fromScratch))
    assert.deepEqual(state.checkpoint('counts'), { topic: 'app-counts-changelog', partition: 0, offset: 0 })
    await state.close()
    await s.close()
  })

  it('writes and restores its own partition of the changelogs', async () => {
    const s = await setup()
    const opts = s.options({ taskId: '0_1', partition: 1, changelogPartitions: 2 })
    let state = await TaskState.open(opts)
    stores(state).kv.put('p1', 1)
    await commitCycle(state, s.producer)
    assert.equal(await s.transport.latestOffset('app-counts-changelog', 0, 'read_committed'), 0)
    assert.equal(await s.transport.latestOffset('app-counts-changelog', 1, 'read_committed'), 2)
    const dir = state.dir
    await state.close()
    fs.rmSync(dir, { recursive: true, force: true })
    state = await TaskState.open(opts)
    assert.equal(stores(state).kv.get('p1'), 1)
    await state.close()
    // The changelog has 2 partitions; 3 tasks would need 3 (the transport checks the count).
    await assert.rejects(
      TaskState.open(s.options({ taskId: '0_2', partition: 2, changelogPartitions: 3 })),
      (e) =>
        isEddyError(e, 'INVALID_ARGUMENT') &&
        /app-counts-changelog exists with 2 partition.*expects 3/.test(e.message),
    )
    await s.close()
  })

  it('gives the runtime its stores by spec, and names what is missing', async () => {
    const s = await setup()
    const state = await TaskState.open(s.options())
    const provider: RuntimeStoreProvider = state.storeProvider()
    const handle: TaskStateHandle = state // the runtime drives a TaskState as is
    assert.equal(handle.stores, provider)
    assert.deepEqual(
      handle.storeSizes(),
      new Map([
        ['counts', 0],
        ['windows', 0],
      ]),
    )
    const kv = provider.keyValueStore(SPECS[0]!)
    kv.put('x', 1)
    assert.equal(state.keyValueStore('counts').get('x'), 1)
    assert.equal(provider.windowStore(SPECS[1]!).size, 0)
    assert.throws(
      () => provider.keyValueStore({ ...SPECS[0]!, name: 'nope' }),
      (e) => isEddyError(e, 'INVALID_ARGUMENT') && /no store nope/.test(e.message),
    )
    assert.throws(() => provider.windowStore(SPECS[0]!), /not a window store/)
    await state.close()
    assert.throws(() => state.flushChangelog(), /closed/)
    await assert.rejects(TaskState.open(s.options({ appId: '../x' })), (e) =>
      isEddyError(e, 'INVALID_ARGUMENT'),
    )
    await s.close()
  })

  it('sweeps expired entries into the changelog', async () => {
    const s = await setup()
    const clock = new ManualClock(0)
    const specs: StoreSpec[] = [
      { name: 'sessions', kind: 'kv', keySerde: string(), valueSerde: json(), ttlMs: 1000 },
    ]
    let state = await TaskState.open(s.options({ specs, clock }))
    const kv = state.keyValueStore<string, number>('sessions')
    kv.put('a', 1)
    clock.advance(500)
    kv.put('b', 2)
    await commitCycle(state, s.producer)
    clock.advance(600)
    assert.equal(kv.get('a'), undefined)
    assert.equal(state.sweepExpired(clock.nowMs()), 1)
    await commitCycle(state, s.producer)
    const dir = state.dir
    await state.close()
    fs.rmSync(dir, { recursive: true, force: true })
    state = await TaskState.open(s.options({ specs, clock }))
    assert.deepEqual([...state.keyValueStore('sessions').entries()], [['b', 2]])
    // Restored entries keep their write time: b expires 1000 ms after it was written.
    clock.advance(400)
    assert.equal(state.keyValueStore('sessions').get('b'), undefined)
    await state.close()
    await s.close()
  })
})
