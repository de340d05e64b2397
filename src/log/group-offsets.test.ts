import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { isEddyError } from '../core/errors.js'
import type { LogRecord } from '../core/record.js'
import { CONSUMER_OFFSETS_TOPIC, decodeOffsetKey, encodeOffsetKey } from './group-offsets.js'
import { openLog, recs, removeTmpDirs, tmpDir } from './testdata/test-helpers.js'
import { TRANSACTION_STATE_TOPIC } from './transactions.js'

after(removeTmpDirs)

describe('GroupOffsetStore', () => {
  it('creates __consumer_offsets as an internal compacted single-partition topic', async () => {
    const log = openLog(tmpDir())
    const d = log.describeTopic(CONSUMER_OFFSETS_TOPIC)
    assert.equal(d.partitions.length, 1)
    assert.equal(d.config.compact, true)
    assert.equal(d.config.internal, true)
    assert.equal(d.config.retentionMs, null)
    assert.ok(!log.listTopics().includes(CONSUMER_OFFSETS_TOPIC))
    assert.ok(log.listTopics({ internal: true }).includes(CONSUMER_OFFSETS_TOPIC))
    await log.close()
  })

  it('commits and fetches offsets, with -1 where nothing is committed', async () => {
    const log = openLog(tmpDir())
    log.createTopic('orders', { partitions: 3 })
    await log.groups.commit('billing', [
      { topic: 'orders', partition: 0, offset: 10, metadata: 'm0' },
      { topic: 'orders', partition: 2, offset: 7 },
      { topic: 'gone', partition: 0, offset: 3 },
    ])
    await log.groups.commit('billing', [{ topic: 'orders', partition: 0, offset: 12 }])
    const all = log.groups.fetch('billing')
    assert.deepEqual(
      all.map((o) => [o.topic, o.partition, o.offset, o.metadata]),
      [
        ['gone', 0, 3, ''],
        ['orders', 0, 12, ''],
        ['orders', 2, 7, ''],
      ],
    )
    // By topic: every partition of an existing topic, -1 where nothing is committed.
    assert.deepEqual(
      log.groups.fetch('billing', ['orders']).map((o) => [o.partition, o.offset]),
      [
        [0, 12],
        [1, -1],
        [2, 7],
      ],
    )
    assert.deepEqual(
      log.groups.fetch('billing', [{ topic: 'orders', partition: 1 }]).map((o) => o.offset),
      [-1],
    )
    assert.deepEqual(
      log.groups.fetch('other', ['orders']).map((o) => o.offset),
      [-1, -1, -1],
    )
    assert.ok(all.every((o) => o.commitTimestamp > 0))
    assert.deepEqual(log.groups.listGroups(), ['billing'])
    await log.close()
  })

  it('keeps offsets and deletions across a reopen', async () => {
    const dir = tmpDir()
    let log = openLog(dir, { fsync: { kind: 'always' } })
    await log.groups.commit('a', [{ topic: 't', partition: 0, offset: 5, metadata: 'meta' }])
    await log.groups.commit('b', [{ topic: 't', partition: 1, offset: 9 }])
    await log.groups.commit('a', [{ topic: 't', partition: 0, offset: 6, metadata: 'meta2' }])
    await log.groups.commit('c', [{ topic: 't', partition: 0, offset: 1 }])
    assert.equal(await log.groups.deleteGroup('c'), 1)
    assert.equal(await log.groups.deleteGroup('nobody'), 0)
    await log.close()

    log = openLog(dir)
    assert.deepEqual(log.groups.listGroups(), ['a', 'b'])
    const [a] = log.groups.fetch('a')
    assert.equal(a!.offset, 6)
    assert.equal(a!.metadata, 'meta2')
    assert.equal(log.groups.fetch('b', [{ topic: 't', partition: 1 }])[0]!.offset, 9)
    assert.deepEqual(log.groups.fetch('c'), [])
    await log.close()
  })

  it('uses one stable key per (group, topic, partition), so compaction keeps only the latest commit', async () => {
    const key = { group: 'g', topic: 'orders', partition: 3 }
    const k1 = encodeOffsetKey(key)
    assert.deepEqual(encodeOffsetKey({ ...key }), k1)
    assert.deepEqual(decodeOffsetKey(k1), key)
    assert.notDeepEqual(encodeOffsetKey({ ...key, partition: 4 }), k1)
    assert.notDeepEqual(encodeOffsetKey({ ...key, group: 'g2' }), k1)
    // No ambiguity between the fields: ("ab","c") and ("a","bc") differ.
    assert.notDeepEqual(
      encodeOffsetKey({ group: 'ab', topic: 'c', partition: 0 }),
      encodeOffsetKey({ group: 'a', topic: 'bc', partition: 0 }),
    )

    const log = openLog(tmpDir())
    for (let i = 0; i < 5; i++) await log.groups.commit('g', [{ topic: 'orders', partition: 3, offset: i }])
    const { records } = await log.read(CONSUMER_OFFSETS_TOPIC, 0, 0)
    assert.equal(records.length, 5)
    const keys = new Set(records.map((r: LogRecord) => r.key!.toString('hex')))
    assert.deepEqual([...keys], [k1.toString('hex')])
    assert.deepEqual(JSON.parse(records[4]!.value!.toString()), {
      offset: 4,
      metadata: '',
      commitTimestamp: records[4]!.timestamp,
    })
    await log.close()
  })

  it('refuses bad commits with a typed error', async () => {
    const log = openLog(tmpDir())
    const bad = async (group: string, offset: number, topic = 't', metadata?: string) =>
      assert.rejects(log.groups.commit(group, [{ topic, partition: 0, offset, metadata }]), (err) =>
        isEddyError(err),
      )
    await bad('', 1)
    await bad('g', -1)
    await bad('g', 1.5)
    await bad('g', 1, 'bad/topic')
    await bad('g', 1, 't', 'x'.repeat(5000))
    assert.deepEqual(log.groups.listGroups(), [])
    await log.close()
  })
})

describe('internal topics under compaction', () => {
  it('offsets, transaction state and producer ids survive compaction and a reopen', async () => {
    const dir = tmpDir()
    const opts = { topicDefaults: { segmentBytes: 1024 } }
    let log = openLog(dir, opts)
    log.createTopic('out')
    for (let i = 0; i < 60; i++) {
      await log.groups.commit('g', [
        { topic: 'in', partition: i % 3, offset: i, metadata: `m${i}` },
        { topic: 'in2', partition: 0, offset: 1000 + i },
      ])
    }
    await log.groups.commit('dropped', [{ topic: 'in', partition: 0, offset: 1 }])
    await log.groups.deleteGroup('dropped')
    const producer = await log.producer({ transactionalId: 'tx' })
    for (let i = 0; i < 20; i++) {
      producer.beginTransaction()
      await producer.send('out', 0, recs(`v${i}`))
      await producer.sendOffsets('txg', [{ topic: 'in', partition: 0, offset: i }])
      if (i % 2 === 0) await producer.commitTransaction()
      else await producer.abortTransaction()
    }
    const expectG = log.groups.fetch('g')
    const expectTxg = log.groups.fetch('txg')
    assert.equal(expectTxg[0]!.offset, 18)
    const lastPid = producer.producerId

    const [offsetsResult] = await log.compact(CONSUMER_OFFSETS_TOPIC)
    const [stateResult] = await log.compact(TRANSACTION_STATE_TOPIC)
    assert.ok(offsetsResult!.recordsRemoved > 0, 'compaction should remove superseded offset commits')
    assert.ok(stateResult!.recordsRemoved > 0, 'compaction should remove superseded transaction states')
    await log.close()

    log = openLog(dir, opts)
    assert.deepEqual(log.groups.fetch('g'), expectG)
    assert.deepEqual(log.groups.fetch('txg'), expectTxg)
    assert.deepEqual(log.groups.listGroups(), ['g', 'txg'])
    assert.equal(log.transactions.describeTransaction('tx')!.state, 'CompleteAbort')
    const again = await log.producer({ transactionalId: 'tx' })
    assert.equal(again.producerId, lastPid)
    const fresh = await log.transactions.initProducerId()
    assert.ok(fresh.producerId > lastPid)
    await log.close()
  })
})
