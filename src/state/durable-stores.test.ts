import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { ManualClock, systemClock } from '../core/clock.js'
import { isEddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import { json, type Serde, string } from '../core/serde.js'
import type { StoreSpec } from '../core/store.js'
import { DurableKeyValueStore } from './durable-kv-store.js'
import { DurableWindowStore } from './durable-window-store.js'
import { LmdbEnv, localTaskIds, taskStateDir } from './lmdb-env.js'
import { storeConformance } from './store-conformance.js'
import { NULL_VALUE_HEADER, splitWindowKey, windowKey, windowKeyRange } from './store-encoding.js'
import type { DurableStore } from './write-cache.js'

const roots: string[] = []
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-state-test-'))
  roots.push(dir)
  return dir
}

/** The taken writes committed, then written to lmdb, as TaskState.afterCommit and persist do. */
function persist(env: LmdbEnv, store: DurableStore, offset = 0): void {
  store.commitTaken()
  env.write([
    { store: store.name, writes: store.pendingWrites(), checkpoint: { topic: 'cl', partition: 0, offset } },
  ])
  store.markPersisted()
}

function commit(env: LmdbEnv, store: DurableStore, offset = 0): void {
  store.takeDirty()
  persist(env, store, offset)
}

function spec<K, V>(
  name: string,
  kind: 'kv' | 'window',
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
  ttlMs?: number,
) {
  const s: StoreSpec<K, V> = { name, kind, keySerde, valueSerde, ...(ttlMs === undefined ? {} : { ttlMs }) }
  return s
}

storeConformance('durable (lmdb + write cache)', () => {
  const root = tmpDir()
  const opened: { env: LmdbEnv; store: DurableStore }[] = []
  const openEnv = (name: string) => LmdbEnv.open(path.join(root, `${name}-${opened.length}`), [name])
  return {
    keyValueStore(name, keySerde, valueSerde) {
      const env = openEnv(name)
      const store = new DurableKeyValueStore(
        spec(name, 'kv', keySerde, valueSerde),
        env.bytes(name),
        systemClock,
      )
      opened.push({ env, store })
      return store
    },
    windowStore(name, keySerde, valueSerde) {
      const env = openEnv(name)
      const store = new DurableWindowStore(
        spec(name, 'window', keySerde, valueSerde),
        env.bytes(name),
        systemClock,
      )
      opened.push({ env, store })
      return store
    },
    commit() {
      for (const { env, store } of opened) commit(env, store)
    },
    async cleanup() {
      for (const { env } of opened) await env.close()
    },
  }
})

describe('durable stores', () => {
  it('write to lmdb only when persisted, and a reopened environment sees what was', async () => {
    const dir = tmpDir()
    let env = LmdbEnv.open(dir, ['counts'])
    const s = spec('counts', 'kv', string(), json<number>())
    let store = new DurableKeyValueStore(s, env.bytes('counts'), systemClock)
    store.put('a', 1)
    store.put('b', 2)
    assert.equal(env.bytes('counts').count(), 0)
    assert.equal(store.size, 2)
    const records = store.takeDirty()
    assert.equal(records.length, 2)
    assert.equal(env.bytes('counts').count(), 0, 'taking the dirty entries writes nothing')
    assert.equal(store.get('a'), 1, 'pending entries stay readable')
    store.put('c', 3)
    persist(env, store, 7)
    assert.equal(env.bytes('counts').count(), 2)
    assert.equal(store.cachedEntries, 3, 'persisted entries stay as a read cache, with the later write')
    assert.equal(store.size, 3)
    assert.equal(store.get('a'), 1)
    assert.deepEqual(env.checkpoint('counts'), { topic: 'cl', partition: 0, offset: 7 })
    await env.close()

    env = LmdbEnv.open(dir, ['counts'])
    store = new DurableKeyValueStore(s, env.bytes('counts'), systemClock)
    assert.deepEqual(
      new Map(store.entries()),
      new Map([
        ['a', 1],
        ['b', 2],
      ]),
      'c was never persisted',
    )
    assert.deepEqual(env.checkpoint('counts'), { topic: 'cl', partition: 0, offset: 7 })
    await env.close()
  })

  it('after an abort, reads see the last committed state', async () => {
    const dir = tmpDir()
    const env = LmdbEnv.open(dir, ['kv', 'win'])
    const kv = new DurableKeyValueStore(
      spec('kv', 'kv', string(), json<number>()),
      env.bytes('kv'),
      systemClock,
    )
    const win = new DurableWindowStore(
      spec('win', 'window', string(), json<number>()),
      env.bytes('win'),
      systemClock,
    )
    kv.put('a', 1)
    win.put('a', 0, 1)
    commit(env, kv)
    commit(env, win)
    kv.put('a', 2)
    kv.put('b', 2)
    kv.delete('a')
    win.put('a', 0, 2)
    win.put('a', 10, 2)
    kv.takeDirty()
    win.takeDirty()
    kv.put('c', 3)
    kv.discardPending()
    win.discardPending()
    assert.equal(kv.get('a'), 1)
    assert.equal(kv.get('b'), undefined)
    assert.equal(kv.get('c'), undefined)
    assert.equal(kv.size, 1)
    assert.deepEqual([...win.windowsOf('a')], [[0, 1]])
    assert.equal(win.size, 1)
    assert.equal(kv.unpersisted, 0)
    assert.deepEqual(kv.takeDirty(), [])
    await env.close()
  })

  it('turns writes into changelog records: latest value per key, tombstones, null values', async () => {
    const env = LmdbEnv.open(tmpDir(), ['kv'])
    const clock = new ManualClock(1000)
    const kv = new DurableKeyValueStore(
      spec('kv', 'kv', string(), json<number | null>()),
      env.bytes('kv'),
      clock,
    )
    kv.put('a', 1)
    kv.put('a', 2)
    kv.put('n', null)
    kv.put('gone', 1)
    kv.delete('gone')
    kv.delete('never')
    const first = kv.takeDirty()
    assert.deepEqual(
      first.map((r) => [
        r.key.toString(),
        r.value?.toString() ?? null,
        r.timestamp,
        r.headers.map((h) => h.key),
      ]),
      [
        ['a', '2', 1000, []],
        ['n', '', 1000, [NULL_VALUE_HEADER]],
      ],
      'a key written and deleted within one commit needs no record',
    )
    persist(env, kv)
    clock.advance(5)
    kv.delete('a')
    assert.deepEqual(
      kv.takeDirty().map((r) => [r.key.toString(), r.value, r.timestamp]),
      [['a', null, 1005]],
    )
    await env.close()
  })

  it('expires entries after their TTL, by the injected clock, and sweeps them to the changelog', async () => {
    const env = LmdbEnv.open(tmpDir(), ['kv', 'win'])
    const clock = new ManualClock(10_000)
    const kv = new DurableKeyValueStore(
      spec('kv', 'kv', string(), json<number>(), 1000),
      env.bytes('kv'),
      clock,
    )
    const win = new DurableWindowStore(
      spec('win', 'window', string(), json<number>(), 1000),
      env.bytes('win'),
      clock,
    )
    kv.put('old', 1)
    win.put('old', 0, 1)
    commit(env, kv)
    commit(env, win)
    kv.put('cached-old', 3)
    clock.advance(600)
    kv.put('young', 2)
    win.put('young', 0, 2)
    clock.advance(399)
    assert.equal(kv.get('old'), 1, 'alive just before its TTL')
    assert.equal(kv.get('cached-old'), 3)
    clock.advance(1)
    assert.equal(kv.get('old'), undefined, 'expired at its TTL')
    assert.equal(kv.get('cached-old'), undefined, 'expired in the cache too')
    assert.equal(win.get('old', 0), undefined)
    assert.equal(kv.get('young'), 2)
    assert.deepEqual([...kv.entries()], [['young', 2]])
    assert.deepEqual([...kv.range()], [['young', 2]], 'range hides expired entries, in lmdb and cached')
    assert.deepEqual([...win.entries()], [['young', 0, 2]])
    assert.deepEqual([...win.windowsOf('old')], [])
    assert.equal(kv.size, 3, 'size counts entries until they are swept')

    assert.equal(kv.sweepExpired(clock.nowMs()), 2)
    assert.equal(win.sweepExpired(clock.nowMs()), 1)
    assert.equal(kv.size, 1)
    assert.equal(win.size, 1)
    // 'cached-old' never reached lmdb, so it needs no tombstone.
    assert.deepEqual(
      kv
        .takeDirty()
        .map((r) => [r.key.toString(), r.value?.toString() ?? null])
        .sort(),
      [
        ['old', null],
        ['young', '2'],
      ],
    )
    assert.deepEqual(
      win
        .takeDirty()
        .map((r) => r.value?.toString() ?? null)
        .sort(),
      ['2', null],
    )
    persist(env, kv)
    persist(env, win)
    assert.equal(kv.size, 1)
    assert.equal(win.size, 1)
    assert.equal(kv.sweepExpired(clock.nowMs()), 0)
    clock.advance(600)
    assert.equal(kv.sweepExpired(clock.nowMs()), 1)
    assert.equal(win.sweepExpired(clock.nowMs()), 1)
    assert.equal(kv.size, 0)
    assert.equal(win.size, 0)
    await env.close()
  })

  it('orders window keys by key, then by start (negative starts too)', () => {
    const s = spec('w', 'window', string(), json())
    const k = Buffer.from('key')
    const starts = [-5_000_000_000_000, -1, 0, 1, 59_999, 1_700_000_000_000]
    const encoded = starts.map((st) => windowKey(k, st, s))
    const sorted = [...encoded].sort(Buffer.compare)
    assert.deepEqual(sorted, encoded)
    for (const [i, e] of encoded.entries()) {
      const { keyBytes, start } = splitWindowKey(e, 'w')
      assert.equal(start, starts[i])
      assert.deepEqual(keyBytes, k)
      const range = windowKeyRange(k)
      assert.ok(Buffer.compare(range.start, e) <= 0 && Buffer.compare(e, range.end) < 0)
    }
    // A key that extends another is outside the shorter key's range.
    const longer = windowKey(Buffer.from('key2'), 0, s)
    const { start, end } = windowKeyRange(k)
    assert.ok(!(Buffer.compare(start, longer) <= 0 && Buffer.compare(longer, end) < 0))
    assert.throws(
      () => windowKey(k, 1.5, s),
      (e) => isEddyError(e, 'INVALID_ARGUMENT'),
    )
  })

  it('rejects keys that lmdb cannot hold, naming the store', async () => {
    const env = LmdbEnv.open(tmpDir(), ['kv'])
    const kv = new DurableKeyValueStore(spec('kv', 'kv', string(), json()), env.bytes('kv'), systemClock)
    const long = 'x'.repeat(limits.storeKeyBytesMax + 1)
    assert.throws(
      () => kv.put(long, 1),
      (e) => isEddyError(e, 'RECORD_TOO_LARGE') && /store kv/.test(e.message),
    )
    assert.throws(
      () => kv.put('', 1),
      (e) => isEddyError(e, 'INVALID_ARGUMENT'),
    )
    kv.put('x'.repeat(limits.storeKeyBytesMax), 1)
    commit(env, kv)
    assert.equal(kv.size, 1)
    await env.close()
  })

  it('keeps data and checkpoints of several stores in one transaction', async () => {
    const dir = tmpDir()
    const env = LmdbEnv.open(dir, ['a', 'b'])
    env.write([
      {
        store: 'a',
        writes: [{ key: Buffer.from('k'), value: Buffer.from('v') }],
        checkpoint: { topic: 'ta', partition: 1, offset: 5 },
      },
      {
        store: 'b',
        writes: [{ key: Buffer.from('k'), value: Buffer.from('w') }],
        checkpoint: { topic: 'tb', partition: 1, offset: 9 },
      },
    ])
    // An invalid write anywhere in the batch leaves every store unchanged.
    assert.throws(() =>
      env.write([
        {
          store: 'a',
          writes: [{ key: Buffer.from('k2'), value: Buffer.from('v') }],
          checkpoint: { topic: 'ta', partition: 1, offset: 6 },
        },
        { store: 'b', writes: [{ key: Buffer.alloc(0), value: Buffer.from('w') }] },
      ]),
    )
    assert.equal(env.bytes('a').get(Buffer.from('k2')), undefined)
    assert.deepEqual(env.checkpoint('a'), { topic: 'ta', partition: 1, offset: 5 })
    env.clear('a')
    assert.equal(env.checkpoint('a'), null)
    assert.equal(env.bytes('a').count(), 0)
    assert.equal(env.checkpoint('b')?.offset, 9)
    await env.destroy()
    assert.equal(fs.existsSync(dir), false)
  })
})

describe('the read cache of committed entries', () => {
  it('keeps at most cleanEntriesMax committed entries; evicted ones read back from lmdb', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-readcache-'))
    const env = LmdbEnv.open(dir, ['counts'])
    try {
      const spec: StoreSpec<string, number> = {
        name: 'counts',
        kind: 'kv',
        keySerde: json(),
        valueSerde: json(),
      }
      const store = new DurableKeyValueStore(spec, env.bytes('counts'), systemClock, 2)
      for (const k of ['a', 'b', 'c', 'd']) store.put(k, k.charCodeAt(0))
      store.takeDirty()
      persist(env, store, 1)
      assert.equal(store.cachedEntries, 2, 'the two oldest committed entries left the cache')
      assert.deepEqual(
        ['a', 'b', 'c', 'd'].map((k) => store.get(k)),
        [97, 98, 99, 100],
      )
      assert.equal(store.size, 4)
    } finally {
      await env.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('localTaskIds', () => {
  it("lists the tasks with a state directory under the app's, and nothing for an app without one", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-local-tasks-'))
    try {
      assert.deepEqual(localTaskIds(dir, 'shop'), [])
      for (const task of ['0_1', '2_0']) {
        const env = LmdbEnv.open(taskStateDir(dir, 'shop', task), ['counts'])
        await env.close()
      }
      fs.mkdirSync(path.join(dir, 'shop', 'not-a-task'))
      assert.deepEqual(localTaskIds(dir, 'shop').sort(), ['0_1', '2_0'])
      assert.deepEqual(localTaskIds(dir, 'other'), [])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
