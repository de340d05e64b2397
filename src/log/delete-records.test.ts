// deleteRecordsBefore: Kafka's DeleteRecords on the embedded log. The log start offset moves,
// durably; whole segments below it go; reads below it are OFFSET_OUT_OF_RANGE.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { ManualClock } from '../core/clock.js'
import { isEddyError } from '../core/errors.js'
import type { EventLog } from './event-log.js'
import { tmpDir as makeTmpDir, openLog, readValues, removeTmpDirs } from './testdata/test-helpers.js'

after(removeTmpDirs)

const tmpDir = () => makeTmpDir('eddy-delete-records-test-')

const outOfRange = (err: unknown) => isEddyError(err, 'OFFSET_OUT_OF_RANGE')

function segmentBases(log: EventLog, topic: string): number[] {
  return log.partition(topic, 0).segments.map((s) => s.baseOffset)
}

function logFiles(dir: string, topic: string): string[] {
  return fs
    .readdirSync(path.join(dir, 'topics', topic, '0'))
    .filter((f) => f.endsWith('.log'))
    .sort()
}

/** 40 records of 300 bytes, one batch each, in segments of 2 KiB (about 6 records each). */
async function filled(dir: string, clock = new ManualClock(1_000_000)): Promise<EventLog> {
  const log = openLog(dir, { clock })
  log.createTopic('t', { segmentBytes: 2048 })
  for (let i = 0; i < 40; i++) {
    await log.append('t', 0, [{ value: Buffer.from(String(i).padEnd(300, '.')), timestamp: 1000 + i }])
  }
  return log
}

describe('EventLog.deleteRecordsBefore', () => {
  it('moves the earliest offset; earlier reads fail; whole segments below it are deleted', async () => {
    const dir = tmpDir()
    const log = await filled(dir)
    const bases = segmentBases(log, 't')
    assert.ok(bases.length > 4, `segments ${bases}`)
    const cut = bases[2]! + 1 // inside the third segment
    assert.equal(log.deleteRecordsBefore('t', 0, cut), cut)
    assert.equal(log.earliestOffset('t', 0), cut)
    assert.equal(log.describeTopic('t').partitions[0]!.earliestOffset, cut)
    // The two segments wholly below the cut are gone, from memory and from disk; the third stays.
    assert.deepEqual(segmentBases(log, 't'), bases.slice(2))
    assert.equal(logFiles(dir, 't').length, bases.length - 2)
    await assert.rejects(log.fetch('t', 0, cut - 1), outOfRange)
    await assert.rejects(log.fetch('t', 0, 0), outOfRange)
    const { records } = await log.read('t', 0, cut, { maxBytes: 1 << 20 })
    assert.equal(records[0]!.offset, cut)
    assert.equal(records.length, 40 - cut)
    // A timestamp lookup never answers an offset below the log start.
    assert.equal(log.offsetForTimestamp('t', 0, 0), cut)
    // Appends go on at the end.
    const r = await log.append('t', 0, [{ value: Buffer.from('more') }])
    assert.equal(r.baseOffset, 40)
    await log.close()
  })

  it('is durable: a reopened log keeps the earliest offset, also inside a segment', async () => {
    const dir = tmpDir()
    const log = await filled(dir)
    const cut = segmentBases(log, 't')[1]! + 2
    log.deleteRecordsBefore('t', 0, cut)
    await log.close()
    const again = openLog(dir)
    assert.equal(again.earliestOffset('t', 0), cut)
    assert.equal(again.latestOffset('t', 0), 40)
    await assert.rejects(again.fetch('t', 0, cut - 1), outOfRange)
    const values = await readValues(again, 't', 0, 'read_uncommitted')
    assert.equal(values.length, 40 - cut)
    assert.ok(values[0]!.startsWith(`${cut}.`))
    await again.close()
  })

  it('an offset at or below the earliest changes nothing; past the high watermark is OFFSET_OUT_OF_RANGE', async () => {
    const dir = tmpDir()
    const log = await filled(dir)
    assert.equal(log.deleteRecordsBefore('t', 0, 10), 10)
    assert.equal(log.deleteRecordsBefore('t', 0, 5), 10)
    assert.equal(log.deleteRecordsBefore('t', 0, 10), 10)
    assert.throws(() => log.deleteRecordsBefore('t', 0, 41), outOfRange)
    assert.throws(() => log.deleteRecordsBefore('t', 0, -1), outOfRange)
    assert.equal(log.earliestOffset('t', 0), 10)
    // Up to the end: nothing is left to read, and the next record is readable.
    assert.equal(log.deleteRecordsBefore('t', 0, 40), 40)
    const empty = await log.read('t', 0, 40)
    assert.equal(empty.records.length, 0)
    await log.append('t', 0, [{ value: Buffer.from('next') }])
    assert.deepEqual(await readValues(log, 't', 0, 'read_uncommitted'), ['next'])
    await log.close()
    const again = openLog(dir)
    assert.equal(again.earliestOffset('t', 0), 40)
    assert.deepEqual(await readValues(again, 't', 0, 'read_uncommitted'), ['next'])
    await again.close()
  })

  it('refuses a compacted topic and an unknown partition', async () => {
    const log = openLog(tmpDir())
    log.createTopic('changelog', { compact: true, retentionMs: null })
    await log.append('changelog', 0, [{ key: Buffer.from('k'), value: Buffer.from('v') }])
    assert.throws(
      () => log.deleteRecordsBefore('changelog', 0, 1),
      (err: unknown) => isEddyError(err, 'INVALID_ARGUMENT') && err.message.includes('changelog-0'),
    )
    assert.equal(log.earliestOffset('changelog', 0), 0)
    assert.throws(
      () => log.deleteRecordsBefore('changelog', 1, 0),
      (err: unknown) => isEddyError(err, 'UNKNOWN_PARTITION'),
    )
    await log.close()
  })

  it('keeps the segments an open transaction needs, while reads below the start still fail', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t', { segmentBytes: 2048 })
    const txn = await log.producer({ transactionalId: 'tx' })
    txn.beginTransaction()
    await txn.send('t', 0, [{ value: Buffer.alloc(300) }])
    const other = await log.producer()
    for (let i = 0; i < 20; i++) await other.send('t', 0, [{ value: Buffer.alloc(300) }])
    const bases = segmentBases(log, 't')
    assert.ok(bases.length > 2)
    log.deleteRecordsBefore('t', 0, 15)
    assert.equal(log.earliestOffset('t', 0), 15)
    // The transaction opened at offset 0: its segment must stay until it ends.
    assert.deepEqual(segmentBases(log, 't'), bases)
    await assert.rejects(log.fetch('t', 0, 3), outOfRange)
    await txn.commitTransaction()
    log.maintain()
    assert.ok(segmentBases(log, 't')[0]! > 0, `segments ${segmentBases(log, 't')}`)
    assert.equal(log.earliestOffset('t', 0), 15)
    await txn.close()
    await other.close()
    await log.close()
  })

  it('a log start past a tail lost with unflushed writes (fsync never) starts the log there', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    log.createTopic('t')
    for (let i = 0; i < 10; i++) await log.append('t', 0, [{ value: Buffer.from(`r${i}`) }])
    log.deleteRecordsBefore('t', 0, 10)
    await log.close()
    // What a crash with fsync never can leave: the log start file, but not the records.
    const segment = path.join(dir, 'topics', 't', '0', logFiles(dir, 't')[0]!)
    fs.truncateSync(segment, 0)
    const again = openLog(dir)
    assert.equal(again.earliestOffset('t', 0), 10)
    assert.equal(again.latestOffset('t', 0), 10)
    const r = await again.append('t', 0, [{ value: Buffer.from('after') }])
    assert.equal(r.baseOffset, 10)
    assert.deepEqual(await readValues(again, 't', 0, 'read_uncommitted'), ['after'])
    await again.close()
  })
})
