import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { ManualClock } from '../core/clock.js'
import { isEddyError } from '../core/errors.js'
import { openLog, readValues, recs, removeTmpDirs, tmpDir } from './testdata/test-helpers.js'
import { TRANSACTION_STATE_TOPIC } from './transactions.js'

after(removeTmpDirs)

const code = (c: Parameters<typeof isEddyError>[1]) => (err: unknown) => {
  assert.ok(isEddyError(err, c), `expected ${c}, got ${String(err)}`)
  return true
}

describe('transactions: visibility', () => {
  it('committed data is visible read_committed; aborted data only read_uncommitted', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t')
    const producer = await log.producer({ transactionalId: 'tx' })
    producer.beginTransaction()
    await producer.send('t', 0, recs('c1', 'c2'))
    await producer.commitTransaction()
    producer.beginTransaction()
    await producer.send('t', 0, recs('a1'))
    await producer.send('t', 0, recs('a2'))
    await producer.abortTransaction()
    producer.beginTransaction()
    await producer.send('t', 0, recs('c3'))
    await producer.commitTransaction()

    assert.deepEqual(await readValues(log, 't', 0, 'read_committed'), ['c1', 'c2', 'c3'])
    assert.deepEqual(await readValues(log, 't', 0, 'read_uncommitted'), ['c1', 'c2', 'a1', 'a2', 'c3'])
    const d = log.describeTopic('t').partitions[0]!
    assert.equal(d.lastStableOffset, d.latestOffset)
    assert.equal(log.transactions.describeTransaction('tx')!.state, 'CompleteCommit')
    await log.close()
  })

  it('the last stable offset holds read_committed readers back while a transaction is open', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t')
    const plain = await log.producer()
    const producer = await log.producer({ transactionalId: 'tx' })
    await plain.send('t', 0, recs('before'))
    producer.beginTransaction()
    const { baseOffset } = await producer.send('t', 0, recs('in-txn'))
    await plain.send('t', 0, recs('after'))
    assert.equal(baseOffset, 1)
    assert.equal(log.latestOffset('t', 0, 'read_committed'), 1)
    assert.equal(log.latestOffset('t', 0, 'read_uncommitted'), 3)
    assert.deepEqual(await readValues(log, 't', 0, 'read_committed'), ['before'])
    // A long-polling read_committed reader is woken only when the transaction ends.
    const waiting = log.fetch('t', 0, 1, { isolation: 'read_committed', maxWaitMs: 5_000 })
    await producer.commitTransaction()
    const f = await waiting
    assert.equal(f.lastStableOffset, 4)
    assert.deepEqual(await readValues(log, 't', 0, 'read_committed'), ['before', 'in-txn', 'after'])
    await log.close()
  })

  it('commits a transaction over 3 partitions of 2 topics and group offsets atomically', async () => {
    const dir = tmpDir()
    let log = openLog(dir)
    log.createTopic('a', { partitions: 2 })
    log.createTopic('b')
    const producer = await log.producer({ transactionalId: 'multi' })
    producer.beginTransaction()
    await Promise.all([
      producer.send('a', 0, recs('a0')),
      producer.send('a', 1, recs('a1')),
      producer.send('b', 0, recs('b0')),
      producer.sendOffsets('g', [
        { topic: 'in', partition: 0, offset: 100 },
        { topic: 'in', partition: 1, offset: 200 },
      ]),
    ])
    const tps = [
      ['a', 0],
      ['a', 1],
      ['b', 0],
    ] as const
    const visible = async () => {
      const out: string[] = []
      for (const [t, p] of tps) out.push(...(await readValues(log, t, p, 'read_committed')))
      return out
    }
    assert.deepEqual(await visible(), [])
    assert.deepEqual(log.groups.fetch('g'), [])
    assert.ok(log.groups.hasPendingTransactionalOffsets('g'))
    const described = log.transactions.describeTransaction('multi')!
    assert.equal(described.state, 'Ongoing')
    assert.equal(described.partitions.length, 3)
    assert.deepEqual(described.groups, ['g'])

    await producer.commitTransaction()
    assert.deepEqual(await visible(), ['a0', 'a1', 'b0'])
    assert.deepEqual(
      log.groups.fetch('g').map((o) => o.offset),
      [100, 200],
    )
    await log.close()
    log = openLog(dir)
    assert.deepEqual(await visible(), ['a0', 'a1', 'b0'])
    assert.deepEqual(
      log.groups.fetch('g').map((o) => o.offset),
      [100, 200],
    )
    await log.close()
  })

  it('aborted offsets never become visible, also after a reopen', async () => {
    const dir = tmpDir()
    let log = openLog(dir)
    log.createTopic('out')
    await log.groups.commit('g', [{ topic: 'in', partition: 0, offset: 5 }])
    const producer = await log.producer({ transactionalId: 'tx' })
    producer.beginTransaction()
    await producer.send('out', 0, recs('x'))
    await producer.sendOffsets('g', [{ topic: 'in', partition: 0, offset: 50 }])
    await producer.abortTransaction()
    assert.equal(log.groups.fetch('g')[0]!.offset, 5)
    assert.ok(!log.groups.hasPendingTransactionalOffsets('g'))
    producer.beginTransaction()
    await producer.sendOffsets('g', [{ topic: 'in', partition: 0, offset: 7 }])
    await producer.commitTransaction()
    assert.equal(log.groups.fetch('g')[0]!.offset, 7)
    await log.close()

    log = openLog(dir)
    assert.equal(log.groups.fetch('g')[0]!.offset, 7)
    assert.deepEqual(await readValues(log, 'out', 0, 'read_committed'), [])
    await log.close()
  })

  it('a plain commit made after a transactional one, before its marker, wins (newest log position)', async () => {
    const log = openLog(tmpDir())
    const producer = await log.producer({ transactionalId: 'tx' })
    producer.beginTransaction()
    await producer.sendOffsets('g', [{ topic: 'in', partition: 0, offset: 10 }])
    await log.groups.commit('g', [{ topic: 'in', partition: 0, offset: 20 }])
    await producer.commitTransaction()
    assert.equal(log.groups.fetch('g')[0]!.offset, 20)
    await log.close()
  })
})

describe('transactions: durability under fsync always', () => {
  it("a transaction's appends are acknowledged unsynced; the commit makes them durable before its decision", async () => {
    const log = openLog(tmpDir(), { fsync: { kind: 'always' } })
    log.createTopic('t', { partitions: 2 })
    const producer = await log.producer({ transactionalId: 'tx' })
    producer.beginTransaction()
    await producer.send('t', 0, recs('a', 'b'))
    await producer.send('t', 1, recs('c'))
    await producer.sendOffsets('g', [{ topic: 'in', partition: 0, offset: 5 }])
    // Acknowledged, yet not synced: the high watermark (what fsync has covered) has not moved.
    const hw = () => log.describeTopic('t').partitions.map((p) => p.latestOffset)
    assert.deepEqual(hw(), [0, 0])
    const offsetsHw = () => log.describeTopic('__consumer_offsets').partitions[0]!.latestOffset
    const offsetsHwBefore = offsetsHw()
    // When the first marker is written, the decision (PrepareCommit) is durable: by then every
    // partition of the transaction, its offsets' included, must be too.
    let atDecision: number[] | null = null
    let offsetsAtDecision = -1
    log.transactions.testHooks.beforeMarker = (index) => {
      if (index !== 0) return
      atDecision = hw()
      offsetsAtDecision = offsetsHw()
      assert.equal(log.transactions.describeTransaction('tx')!.state, 'PrepareCommit')
    }
    await producer.commitTransaction()
    assert.deepEqual(atDecision, [2, 1])
    assert.ok(offsetsAtDecision > offsetsHwBefore, 'the offsets batch was not durable at the decision')
    assert.deepEqual(await readValues(log, 't', 0, 'read_committed'), ['a', 'b'])
    assert.equal(log.groups.fetch('g')[0]!.offset, 5)
    await log.close()
  })

  it('an abort does not wait for its data to be synced', async () => {
    const log = openLog(tmpDir(), { fsync: { kind: 'always' } })
    log.createTopic('t')
    const producer = await log.producer({ transactionalId: 'tx' })
    producer.beginTransaction()
    await producer.send('t', 0, recs('x'))
    let atDecision: number | null = null
    log.transactions.testHooks.beforeMarker = () => {
      atDecision = log.describeTopic('t').partitions[0]!.latestOffset
    }
    await producer.abortTransaction()
    assert.equal(atDecision, 0)
    assert.deepEqual(await readValues(log, 't', 0, 'read_committed'), [])
    await log.close()
  })
})

describe('transactions: fencing and state errors', () => {
  it('a second instance with the same transactional id fences the first and aborts its transaction', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t', { partitions: 2 })
    const first = await log.producer({ transactionalId: 'app' })
    first.beginTransaction()
    await first.send('t', 0, recs('old'))
    await first.sendOffsets('g', [{ topic: 'in', partition: 0, offset: 1 }])

    const second = await log.producer({ transactionalId: 'app' })
    assert.equal(second.producerId, first.producerId)
    assert.ok(second.producerEpoch > first.producerEpoch)
    // The first's open transaction was aborted: nothing is left open, nothing visible.
    assert.equal(log.latestOffset('t', 0, 'read_committed'), log.latestOffset('t', 0))
    assert.deepEqual(await readValues(log, 't', 0, 'read_committed'), [])
    assert.deepEqual(log.groups.fetch('g'), [])

    // To a partition already in its transaction, and to a new one: both fenced.
    await assert.rejects(first.send('t', 0, recs('late')), code('PRODUCER_FENCED'))
    await assert.rejects(first.commitTransaction(), code('PRODUCER_FENCED'))
    assert.throws(() => first.beginTransaction(), code('PRODUCER_FENCED'))

    const other = await log.producer({ transactionalId: 'app-other' })
    await assert.rejects(
      log.transactions.addPartitionsToTxn('app', first.producerId, first.producerEpoch, [
        { topic: 't', partition: 1 },
      ]),
      code('PRODUCER_FENCED'),
    )
    // A raw append with the old epoch is refused by the partition itself (the abort marker bumped it).
    await assert.rejects(
      log.append('t', 0, recs('raw'), {
        producerId: first.producerId,
        producerEpoch: first.producerEpoch,
        baseSequence: 1,
        transactional: true,
      }),
      code('PRODUCER_FENCED'),
    )

    second.beginTransaction()
    await second.send('t', 0, recs('new'))
    await second.send('t', 1, recs('new1'))
    await second.commitTransaction()
    assert.deepEqual(await readValues(log, 't', 0, 'read_committed'), ['new'])
    assert.deepEqual(await readValues(log, 't', 0, 'read_uncommitted'), ['old', 'new'])
    await other.close()
    await log.close()
  })

  it('refuses a transactional append to a partition not added to the transaction', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t', { partitions: 2 })
    const c = log.transactions
    const { producerId, producerEpoch } = await c.initProducerId('tx')
    const who = { transactionalId: 'tx', producerId, producerEpoch, baseSequence: 0 }
    // No transaction open yet.
    await assert.rejects(c.appendTransactional(who, 't', 0, recs('x')), code('INVALID_TXN_STATE'))
    await c.addPartitionsToTxn('tx', producerId, producerEpoch, [{ topic: 't', partition: 0 }])
    await c.appendTransactional(who, 't', 0, recs('ok'))
    await assert.rejects(
      c.appendTransactional({ ...who, baseSequence: 0 }, 't', 1, recs('nope')),
      code('INVALID_TXN_STATE'),
    )
    assert.equal(log.latestOffset('t', 1), 0)
    await c.endTxn('tx', producerId, producerEpoch, true)
    await assert.rejects(
      c.appendTransactional({ ...who, baseSequence: 1 }, 't', 0, recs('after-commit')),
      code('INVALID_TXN_STATE'),
    )
    assert.deepEqual(await readValues(log, 't', 0, 'read_committed'), ['ok'])
    await log.close()
  })

  it('gives typed errors for wrong state, epoch, producer id and transactional id', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t')
    const c = log.transactions
    const { producerId, producerEpoch } = await c.initProducerId('tx')
    await assert.rejects(c.endTxn('tx', producerId, producerEpoch, true), code('INVALID_TXN_STATE'))
    await assert.rejects(
      c.endTxn('nope', producerId, producerEpoch, true),
      code('INVALID_PRODUCER_ID_MAPPING'),
    )
    await assert.rejects(
      c.endTxn('tx', producerId + 1, producerEpoch, true),
      code('INVALID_PRODUCER_ID_MAPPING'),
    )
    await assert.rejects(c.endTxn('tx', producerId, producerEpoch + 1, true), code('INVALID_PRODUCER_EPOCH'))
    await assert.rejects(
      c.txnOffsetCommit('tx', 'g', producerId, producerEpoch, [{ topic: 'in', partition: 0, offset: 1 }]),
      code('INVALID_TXN_STATE'),
    )
    await assert.rejects(c.initProducerId('tx', 0), code('INVALID_TRANSACTION_TIMEOUT'))
    await assert.rejects(
      c.addPartitionsToTxn('tx', producerId, producerEpoch, [{ topic: 'missing', partition: 0 }]),
      code('UNKNOWN_TOPIC'),
    )
    await assert.rejects(
      c.addPartitionsToTxn('tx', producerId, producerEpoch, [
        { topic: TRANSACTION_STATE_TOPIC, partition: 0 },
      ]),
      code('INVALID_ARGUMENT'),
    )
    // Ending twice the same way is a harmless retry; the other way is not.
    await c.addPartitionsToTxn('tx', producerId, producerEpoch, [{ topic: 't', partition: 0 }])
    await c.endTxn('tx', producerId, producerEpoch, false)
    await c.endTxn('tx', producerId, producerEpoch, false)
    await assert.rejects(c.endTxn('tx', producerId, producerEpoch, true), code('INVALID_TXN_STATE'))

    const p = await log.producer({ transactionalId: 'p' })
    await assert.rejects(p.send('t', 0, recs('x')), code('INVALID_TXN_STATE'))
    await assert.rejects(p.commitTransaction(), code('INVALID_TXN_STATE'))
    p.beginTransaction()
    assert.throws(() => p.beginTransaction(), code('INVALID_TXN_STATE'))
    await p.commitTransaction() // nothing sent: nothing to do
    // A failed send dooms the transaction: commit is refused, abort works, the producer goes on.
    p.beginTransaction()
    await assert.rejects(p.send('missing', 0, recs('x')), code('UNKNOWN_TOPIC'))
    await assert.rejects(p.commitTransaction(), code('INVALID_TXN_STATE'))
    await p.abortTransaction()
    p.beginTransaction()
    await p.send('t', 0, recs('y'))
    await p.commitTransaction()
    assert.deepEqual(await readValues(log, 't', 0, 'read_committed'), ['y'])
    const plain = await log.producer()
    assert.throws(() => plain.beginTransaction(), code('INVALID_TXN_STATE'))
    await log.close()
  })

  it('keeps transaction state across a reopen', async () => {
    const dir = tmpDir()
    let log = openLog(dir)
    log.createTopic('t')
    const p = await log.producer({ transactionalId: 'tx', transactionTimeoutMs: 30_000 })
    p.beginTransaction()
    await p.send('t', 0, recs('x'))
    await p.commitTransaction()
    await log.close()
    log = openLog(dir)
    const d = log.transactions.describeTransaction('tx')!
    assert.equal(d.state, 'CompleteCommit')
    assert.equal(d.producerId, p.producerId)
    assert.equal(d.producerEpoch, p.producerEpoch)
    assert.equal(d.timeoutMs, 30_000)
    const again = await log.producer({ transactionalId: 'tx' })
    assert.equal(again.producerId, p.producerId)
    assert.equal(again.producerEpoch, p.producerEpoch + 1)
    await log.close()
  })
})

describe('transactions: timeout', () => {
  it('aborts a transaction older than its timeout and fences its producer', async () => {
    const clock = new ManualClock(1_000_000)
    const log = openLog(tmpDir(), { clock })
    log.createTopic('t')
    const producer = await log.producer({ transactionalId: 'slow', transactionTimeoutMs: 10_000 })
    const quick = await log.producer({ transactionalId: 'quick', transactionTimeoutMs: 60_000 })
    producer.beginTransaction()
    quick.beginTransaction()
    await producer.send('t', 0, recs('late'))
    await producer.sendOffsets('g', [{ topic: 'in', partition: 0, offset: 9 }])
    await quick.send('t', 0, recs('quick'))

    clock.advance(10_000)
    assert.deepEqual(await log.transactions.abortExpiredTransactions(), [])
    clock.advance(1)
    log.maintain() // the registered maintenance task starts the abort in the background
    assert.deepEqual(await log.transactions.abortExpiredTransactions(), [])
    const d = log.transactions.describeTransaction('slow')!
    assert.equal(d.state, 'CompleteAbort')
    assert.equal(d.producerEpoch, producer.producerEpoch + 1)
    assert.equal(log.transactions.describeTransaction('quick')!.state, 'Ongoing')

    await assert.rejects(producer.send('t', 0, recs('more')), code('PRODUCER_FENCED'))
    await assert.rejects(producer.commitTransaction(), code('PRODUCER_FENCED'))
    await quick.commitTransaction()
    assert.deepEqual(await readValues(log, 't', 0, 'read_committed'), ['quick'])
    assert.deepEqual(log.groups.fetch('g'), [])
    assert.equal(log.latestOffset('t', 0, 'read_committed'), log.latestOffset('t', 0))

    // The transactional id is usable again by a new instance.
    const fresh = await log.producer({ transactionalId: 'slow' })
    fresh.beginTransaction()
    await fresh.send('t', 0, recs('fresh'))
    await fresh.commitTransaction()
    assert.deepEqual(await readValues(log, 't', 0, 'read_committed'), ['quick', 'fresh'])
    await log.close()
  })
})
