import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { isEddyError } from '../core/errors.js'
import { readBatchHeader } from '../core/record-batch.js'
import { openLog, readValues, recs, removeTmpDirs, tmpDir } from './testdata/test-helpers.js'

after(removeTmpDirs)

describe('idempotent producer', () => {
  it('numbers batches per partition and the log keeps their sequences', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t', { partitions: 2 })
    const producer = await log.producer()
    assert.ok(producer.producerId >= 0)
    assert.equal(producer.producerEpoch, 0)
    await producer.send('t', 0, recs('a', 'b'))
    await producer.send('t', 0, recs('c', 'd', 'e'))
    await producer.send('t', 1, recs('x'))
    await producer.send('t', 0, recs('f'))
    const f = await log.fetch('t', 0, 0)
    const sequences: number[] = []
    for (let at = 0; at < f.bytes.length; ) {
      const h = readBatchHeader(f.bytes, at)
      assert.equal(h.producerId, producer.producerId)
      sequences.push(h.baseSequence)
      at += h.sizeBytes
    }
    assert.deepEqual(sequences, [0, 2, 5])
    assert.equal(readBatchHeader((await log.fetch('t', 1, 0)).bytes, 0).baseSequence, 0)
    await log.close()
  })

  it('drops a retried batch (same producer, epoch, sequence) and returns the original offsets', async () => {
    const dir = tmpDir()
    let log = openLog(dir)
    log.createTopic('t')
    const { producerId } = await log.transactions.initProducerId()
    const fields = (baseSequence: number) => ({
      producerId,
      producerEpoch: 0,
      baseSequence,
      transactional: false,
    })
    await log.append('t', 0, recs('noise'))
    const first = await log.append('t', 0, recs('a', 'b'), fields(0))
    const second = await log.append('t', 0, recs('c'), fields(2))
    assert.deepEqual(first, { baseOffset: 1, lastOffset: 2, duplicate: false })

    const retry = await log.append('t', 0, recs('a', 'b'), fields(0))
    assert.deepEqual(retry, { baseOffset: 1, lastOffset: 2, duplicate: true })
    const retry2 = await log.append('t', 0, recs('c'), fields(2))
    assert.deepEqual(retry2, { ...second, duplicate: true })
    assert.deepEqual(await readValues(log, 't', 0, 'read_uncommitted'), ['noise', 'a', 'b', 'c'])

    // The producer state is rebuilt from the log on reopen: a retry is still recognised.
    await log.close()
    log = openLog(dir)
    const again = await log.append('t', 0, recs('a', 'b'), fields(0))
    assert.deepEqual(again, { baseOffset: 1, lastOffset: 2, duplicate: true })
    assert.equal(log.latestOffset('t', 0), 4)
    await log.close()
  })

  it('refuses a sequence gap with OUT_OF_ORDER_SEQUENCE and stores nothing', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t')
    const producer = await log.producer({ idempotent: true })
    await producer.send('t', 0, recs('a'))
    const gap = { producerId: producer.producerId, producerEpoch: 0, baseSequence: 5, transactional: false }
    await assert.rejects(log.append('t', 0, recs('z'), gap), (err) =>
      isEddyError(err, 'OUT_OF_ORDER_SEQUENCE'),
    )
    assert.equal(log.latestOffset('t', 0), 1)
    // The producer's own numbering is untouched: its next batch is sequence 1 and is accepted.
    await producer.send('t', 0, recs('b'))
    assert.deepEqual(await readValues(log, 't', 0, 'read_uncommitted'), ['a', 'b'])
    await log.close()
  })

  it('does not advance its sequence when a send is refused before it is written', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t')
    const producer = await log.producer()
    await assert.rejects(producer.send('t', 0, [{ value: Buffer.alloc(2 * 1024 * 1024) }]), (err) =>
      isEddyError(err, 'RECORD_TOO_LARGE'),
    )
    await producer.send('t', 0, recs('ok')) // would be OUT_OF_ORDER_SEQUENCE had the sequence moved
    assert.deepEqual(await readValues(log, 't', 0, 'read_uncommitted'), ['ok'])
    await log.close()
  })

  it('a non-idempotent producer writes without a producer id', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t')
    const producer = await log.producer({ idempotent: false })
    assert.equal(producer.producerId, -1)
    await producer.send('t', 0, recs('a'))
    assert.equal(readBatchHeader((await log.fetch('t', 0, 0)).bytes, 0).producerId, -1)
    await log.close()
  })

  it('never reuses a producer id across reopens', async () => {
    const dir = tmpDir()
    const seen = new Set<number>()
    let max = -1
    for (let round = 0; round < 3; round++) {
      const log = openLog(dir)
      // Enough ids to cross a reserved block in the first round.
      const count = round === 0 ? 1_050 : 5
      for (let i = 0; i < count; i++) {
        const { producerId, producerEpoch } = await log.transactions.initProducerId()
        assert.equal(producerEpoch, 0)
        assert.ok(!seen.has(producerId), `producer id ${producerId} handed out twice`)
        if (i === 0) assert.ok(producerId > max, `id ${producerId} after reopen is not above ${max}`)
        seen.add(producerId)
        max = Math.max(max, producerId)
      }
      const p = await log.producer({ transactionalId: `app-${round}` })
      assert.ok(!seen.has(p.producerId))
      seen.add(p.producerId)
      max = Math.max(max, p.producerId)
      await log.close()
    }
    assert.equal(seen.size, 1_050 + 5 + 5 + 3)
  })
})
