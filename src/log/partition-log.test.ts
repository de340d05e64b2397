import assert from 'node:assert/strict'
import fsDefault, * as fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { ManualClock } from '../core/clock.js'
import { isEddyError } from '../core/errors.js'
import type { RecordInput } from '../core/record.js'
import { readBatchHeader } from '../core/record-batch.js'
import type { EventLog } from './event-log.js'
import { intIn, tmpDir as makeTmpDir, openLog, prng, removeTmpDirs } from './testdata/test-helpers.js'
import type { FsyncPolicy } from './types.js'

after(removeTmpDirs)

const tmpDir = () => makeTmpDir('eddy-partition-log-test-')

function partitionDir(dir: string, topic: string, partition = 0): string {
  return path.join(dir, 'topics', topic, String(partition))
}

function segmentFiles(dir: string, topic: string, suffix: string): string[] {
  return fs
    .readdirSync(partitionDir(dir, topic))
    .filter((f) => f.endsWith(suffix))
    .sort()
}

/** Base offsets of the batches in a buffer of whole batches. */
function batchBases(buf: Buffer): number[] {
  const out: number[] = []
  for (let p = 0; p < buf.length; ) {
    const h = readBatchHeader(buf, p)
    out.push(h.baseOffset)
    p += h.sizeBytes
  }
  return out
}

describe('PartitionLog segments', () => {
  it('rolls by size: no segment grows past segmentBytes unless one batch alone is larger', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    const segmentBytes = 4096
    log.createTopic('t', { segmentBytes })
    const rand = prng(1)
    for (let b = 0; b < 80; b++) {
      const big = b % 17 === 16 // now and then a batch larger than a segment
      const n = intIn(rand, 1, 8)
      await log.append(
        't',
        0,
        Array.from({ length: n }, () => ({ value: Buffer.alloc(big ? 1200 : intIn(rand, 10, 200)) })),
      )
    }
    const p = log.partition('t', 0)
    assert.ok(p.segments.length > 10, `${p.segments.length} segments`)
    const files = segmentFiles(dir, 't', '.log')
    assert.equal(files.length, p.segments.length)
    let expectedBase = 0
    for (const seg of p.segments) {
      assert.equal(path.basename(seg.logPath), `${String(seg.baseOffset).padStart(20, '0')}.log`)
      assert.equal(seg.baseOffset, expectedBase, 'segments are contiguous')
      const bytes = fs.statSync(seg.logPath).size
      assert.equal(bytes, seg.sizeBytes)
      const bases = batchBases(fs.readFileSync(seg.logPath))
      assert.equal(bases[0], seg.baseOffset)
      if (bases.length > 1) assert.ok(bytes <= segmentBytes, `segment ${seg.baseOffset} has ${bytes} bytes`)
      expectedBase = seg.nextOffset
    }
    assert.equal(expectedBase, log.latestOffset('t', 0))
    const desc = log.describeTopic('t').partitions[0]!
    assert.equal(desc.segments, p.segments.length)
    assert.equal(
      desc.bytes,
      p.segments.reduce((s, x) => s + x.sizeBytes, 0),
    )
    await log.close()

    const again = openLog(dir)
    assert.equal(again.describeTopic('t').partitions[0]!.segments, files.length)
    const { records } = await again.read('t', 0, 0, { maxBytes: 1 << 30 })
    assert.equal(records.length, expectedBase)
    await again.close()
  })

  it('rolls by age (segmentMs), also after a reopen', async () => {
    const dir = tmpDir()
    const clock = new ManualClock(1_000_000)
    const log = openLog(dir, { clock })
    log.createTopic('t', { segmentMs: 1_000 })
    const one = () => log.append('t', 0, [{ value: Buffer.from('x') }])
    const segments = () => log.partition('t', 0).segments.map((s) => s.baseOffset)
    await one() // 0: first segment, created at 1_000_000
    clock.advance(999)
    await one() // 1: same segment
    assert.deepEqual(segments(), [0])
    clock.advance(1)
    await one() // 2: the segment is 1000 ms old: roll
    assert.deepEqual(segments(), [0, 2])
    clock.advance(500)
    await one() // 3
    assert.deepEqual(segments(), [0, 2])
    await log.close()

    // Reopened 300 ms later: the active segment's age counts from its first record, not the reopen.
    clock.advance(300)
    const again = openLog(dir, { clock })
    const one2 = () => again.append('t', 0, [{ value: Buffer.from('y') }])
    const segments2 = () => again.partition('t', 0).segments.map((s) => s.baseOffset)
    await one2() // 4: 800 ms since segment 2's first record
    assert.deepEqual(segments2(), [0, 2])
    clock.advance(200)
    await one2() // 5: 1000 ms: roll
    assert.deepEqual(segments2(), [0, 2, 5])
    // An idle segment does not roll until something is appended.
    clock.advance(10_000)
    assert.deepEqual(segments2(), [0, 2, 5])
    await again.close()
  })

  it('moves the earliest offset when retention deletes old segments', async () => {
    const dir = tmpDir()
    const clock = new ManualClock(1_000_000)
    const log = openLog(dir, { clock })
    log.createTopic('t', { segmentBytes: 2048, retentionMs: 60_000 })
    for (let i = 0; i < 40; i++) {
      await log.append('t', 0, [{ value: Buffer.alloc(300), timestamp: clock.nowMs() }])
      clock.advance(1_000)
    }
    const before = log.describeTopic('t').partitions[0]!
    assert.equal(before.earliestOffset, 0)
    assert.equal(before.latestOffset, 40)
    clock.advance(30_000) // records 0..9 are now older than 60 s
    log.maintain()
    const earliest = log.earliestOffset('t', 0)
    assert.ok(earliest > 0 && earliest <= 10, `earliest ${earliest}`)
    assert.equal(log.latestOffset('t', 0), 40)
    await assert.rejects(
      log.fetch('t', 0, earliest - 1),
      (e: { code?: string }) => e.code === 'OFFSET_OUT_OF_RANGE',
    )
    const { records } = await log.read('t', 0, earliest, { maxBytes: 1 << 20 })
    assert.equal(records[0]!.offset, earliest)
    assert.equal(records.length, 40 - earliest)
    await log.close()
    const again = openLog(dir, { clock })
    assert.equal(again.earliestOffset('t', 0), earliest)
    await again.close()
  })
})

/** Compares observations one by one, so a failure names the first lookup that differs. */
function assertSameObservations(got: unknown[], want: unknown[], phase: string): void {
  assert.equal(got.length, want.length)
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as unknown[]
    const w = want[i] as unknown[]
    const show = (x: unknown[]) =>
      x.map((v) => (typeof v === 'string' && v.length > 40 ? `<${v.length} chars>` : v))
    assert.deepEqual(show(g), show(w), `${phase}: lookup ${i}`)
    assert.deepEqual(g, w, `${phase}: lookup ${i}`)
  }
}

describe('PartitionLog indexes', () => {
  /** Everything observable about offset and time lookups. */
  async function observe(log: EventLog, rand: () => number, latest: number) {
    const out: unknown[] = []
    for (let i = 0; i < 300; i++) {
      const offset = intIn(rand, 0, latest)
      const maxBytes = intIn(rand, 0, 30_000)
      out.push([
        'fetch',
        offset,
        maxBytes,
        (await log.fetch('t', 0, offset, { maxBytes })).bytes.toString('base64'),
      ])
    }
    for (let ts = 0; ts <= 10_100; ts += 37) out.push(['ts', ts, log.offsetForTimestamp('t', 0, ts)])
    return out
  }

  it('answers the same after .index and .timeindex files are deleted or damaged', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    log.createTopic('t', { segmentBytes: 64 * 1024 })
    const rand = prng(99)
    for (let b = 0; b < 120; b++) {
      const records: RecordInput[] = Array.from({ length: intIn(rand, 1, 12) }, () => ({
        key: Buffer.from(`k${intIn(rand, 0, 50)}`),
        value: Buffer.alloc(intIn(rand, 0, 900), b),
        // Rising on the whole, out of order locally.
        timestamp: b * 80 + intIn(rand, -300, 300),
      }))
      await log.append('t', 0, records)
    }
    const latest = log.latestOffset('t', 0)
    assert.ok(log.partition('t', 0).segments.length >= 4)
    const expected = await observe(log, prng(5), latest)
    await log.close()
    const indexFiles = [...segmentFiles(dir, 't', '.index'), ...segmentFiles(dir, 't', '.timeindex')]
    // The sealed segments' indexes are not empty, so the test exercises them.
    assert.ok(
      segmentFiles(dir, 't', '.index').some(
        (f) => fs.statSync(path.join(partitionDir(dir, 't'), f)).size > 0,
      ),
    )

    // 1. Reopen with the indexes intact.
    let again = openLog(dir)
    assertSameObservations(await observe(again, prng(5), latest), expected, 'intact')
    await again.close()

    // 2. Deleted: rebuilt from the segments.
    for (const f of indexFiles) fs.rmSync(path.join(partitionDir(dir, 't'), f))
    again = openLog(dir)
    assertSameObservations(await observe(again, prng(5), latest), expected, 'deleted')
    await again.close()
    for (const f of indexFiles) assert.ok(fs.existsSync(path.join(partitionDir(dir, 't'), f)), `${f} rebuilt`)

    // 3. Damaged: torn (not a whole number of entries), or out of order.
    const pdir = partitionDir(dir, 't')
    for (const f of segmentFiles(dir, 't', '.index'))
      fs.appendFileSync(path.join(pdir, f), Buffer.from([1, 2, 3]))
    for (const f of segmentFiles(dir, 't', '.timeindex')) {
      const entry = Buffer.alloc(12)
      entry.writeInt32BE(0, 8) // timestamp 0, after larger ones: out of order
      fs.appendFileSync(path.join(pdir, f), entry)
    }
    again = openLog(dir)
    assertSameObservations(await observe(again, prng(5), latest), expected, 'damaged')
    await again.close()

    // 4. Empty files (what a power loss can leave of files never fsynced): reads may return fewer
    // batches per fetch, but the same records and the same time lookups.
    for (const f of indexFiles) fs.writeFileSync(path.join(pdir, f), '')
    again = openLog(dir)
    const got = await observe(again, prng(5), latest)
    const firstBase = (b64: unknown) => batchBases(Buffer.from(b64 as string, 'base64'))[0]
    for (let i = 0; i < expected.length; i++) {
      const [kind, a, b, answer] = expected[i] as [string, number, number, unknown]
      const g = got[i] as unknown[]
      if (kind === 'fetch')
        assert.equal(firstBase(g[3]), firstBase(answer), `empty: fetch at ${a} (${b} bytes)`)
      else assert.deepEqual(g, expected[i], `empty: time lookup ${a}`)
    }
    await again.append('t', 0, [{ value: Buffer.from('after') }])
    assert.equal(again.latestOffset('t', 0), latest + 1)
    await again.close()
  })
})

/** Runs `fn`, collecting the inodes of the directories fsynced meanwhile. */
async function dirFsyncs(fn: (inodes: number[]) => Promise<void>): Promise<void> {
  const original = fsDefault.fsyncSync
  const inodes: number[] = []
  fsDefault.fsyncSync = (fd: number) => {
    const st = fs.fstatSync(fd)
    if (st.isDirectory()) inodes.push(st.ino)
    original(fd)
  }
  syncBuiltinESMExports()
  try {
    await fn(inodes)
  } finally {
    fsDefault.fsyncSync = original
    syncBuiltinESMExports()
  }
}

describe('PartitionLog new files under each fsync policy', () => {
  const policies: FsyncPolicy[] = [
    { kind: 'always' },
    { kind: 'interval', intervalMs: 10 },
    { kind: 'never' },
  ]
  for (const fsync of policies) {
    it(`rolls, and fsyncs the directories of new files unless the policy is never (${fsync.kind})`, async () => {
      const dir = tmpDir()
      const ino = (p: string) => fs.statSync(p).ino
      await dirFsyncs(async (inodes) => {
        const log = openLog(dir, { fsync })
        try {
          inodes.length = 0
          log.createTopic('t', { segmentBytes: 1024 })
          const pdir = partitionDir(dir, 't')
          const created = [ino(path.join(dir, 'topics')), ino(path.dirname(pdir)), ino(pdir)]
          if (fsync.kind === 'never') assert.deepEqual(inodes, [])
          else for (const i of created) assert.ok(inodes.includes(i), `${i} fsynced: ${inodes}`)

          inodes.length = 0
          for (let b = 0; b < 4; b++) await log.append('t', 0, [{ value: Buffer.alloc(250, b) }])
          assert.equal(log.partition('t', 0).segments.length, 2)
          // A roll fsyncs the partition directory once (new segment and producer snapshot), no more.
          assert.deepEqual(inodes, fsync.kind === 'never' ? [] : [ino(pdir)])
        } finally {
          await log.close()
        }
      })
      assert.equal(segmentFiles(dir, 't', '.snapshot').length, 1)
      const again = openLog(dir, { fsync })
      const { records } = await again.read('t', 0, 0)
      assert.deepEqual(
        records.map((r) => r.value![0]),
        [0, 1, 2, 3],
      )
      await again.close()
    })
  }
})

describe('PartitionLog recovery', () => {
  it('cuts a torn tail of the active segment and reports the bytes it cut', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    log.createTopic('t')
    await log.append('t', 0, [{ value: Buffer.from('a') }])
    await log.append('t', 0, [{ value: Buffer.from('b') }, { value: Buffer.from('c') }])
    await log.close()
    const file = path.join(partitionDir(dir, 't'), segmentFiles(dir, 't', '.log')[0]!)
    const size = fs.statSync(file).size
    fs.truncateSync(file, size - 5)
    let again = openLog(dir)
    const p = again.partition('t', 0)
    assert.equal(again.latestOffset('t', 0), 1)
    assert.equal(fs.statSync(file).size, p.sizeBytes)
    assert.equal(p.recoveredTruncatedBytes, size - 5 - p.sizeBytes)
    assert.ok(p.recoveredTruncatedBytes > 0)
    const r = await again.append('t', 0, [{ value: Buffer.from('d') }])
    assert.equal(r.baseOffset, 1)
    await again.close()
    again = openLog(dir)
    assert.equal(again.partition('t', 0).recoveredTruncatedBytes, 0)
    const { records } = await again.read('t', 0, 0)
    assert.deepEqual(
      records.map((x) => x.value?.toString()),
      ['a', 'd'],
    )
    await again.close()
  })
})

describe('PartitionLog damage in a sealed segment', () => {
  /** A log whose first segment is sealed and holds three one-record batches at timestamps 1000, 2000, 3000. */
  async function logWithSealedSegment(): Promise<{ log: EventLog; file: string; positions: number[] }> {
    const dir = tmpDir()
    const log = openLog(dir)
    log.createTopic('t', { segmentBytes: 1024 })
    for (let b = 0; b < 6; b++) {
      await log.append('t', 0, [{ value: Buffer.alloc(250, b), timestamp: 1000 * (b + 1) }])
    }
    assert.ok(log.partition('t', 0).segments.length > 1)
    const file = path.join(partitionDir(dir, 't'), segmentFiles(dir, 't', '.log')[0]!)
    const bytes = fs.readFileSync(file)
    const positions: number[] = []
    for (let p = 0; p < bytes.length; p += readBatchHeader(bytes, p).sizeBytes) positions.push(p)
    assert.equal(positions.length, 3)
    return { log, file, positions }
  }

  function overwrite(file: string, position: number, bytes: Buffer): void {
    const fd = fs.openSync(file, 'r+')
    fs.writeSync(fd, bytes, 0, bytes.length, position)
    fs.closeSync(fd)
  }

  function int64(value: number): Buffer {
    const b = Buffer.alloc(8)
    b.writeBigInt64BE(BigInt(value))
    return b
  }

  function corruptAt(file: string, position: number): (err: unknown) => boolean {
    return (err) =>
      isEddyError(err, 'CORRUPT_RECORD') &&
      err.message.includes(file) &&
      err.message.includes(`byte ${position}`)
  }

  it('offsetForTimestamp refuses a batch that fails its CRC instead of decoding it', async () => {
    const { log, file, positions } = await logWithSealedSegment()
    assert.equal(log.offsetForTimestamp('t', 0, 1500), 1)
    const lastValueByte = positions[2]! - 2 // before the record's header count
    overwrite(file, lastValueByte, Buffer.from([0xee]))
    assert.throws(() => log.offsetForTimestamp('t', 0, 1500), corruptAt(file, positions[1]!))
    // Lookups that never decode the damaged batch still answer.
    assert.equal(log.offsetForTimestamp('t', 0, 500), 0)
    await log.close()
  })

  it('fetch refuses a batch whose base offset is past the segment (outside the CRC)', async () => {
    const { log, file, positions } = await logWithSealedSegment()
    overwrite(file, positions[1]!, int64(1_000_000))
    // The good batch before the damage is returned alone; reading on from there is an error.
    const before = await log.read('t', 0, 0)
    assert.deepEqual(
      before.records.map((r) => r.offset),
      [0],
    )
    await assert.rejects(log.fetch('t', 0, before.nextOffset), corruptAt(file, positions[1]!))
    await log.close()
  })

  it('fetch refuses a batch whose base offset does not follow the previous batch', async () => {
    const { log, file, positions } = await logWithSealedSegment()
    overwrite(file, positions[2]!, int64(0))
    const before = await log.read('t', 0, 0)
    assert.deepEqual(
      before.records.map((r) => r.offset),
      [0, 1],
    )
    await assert.rejects(log.fetch('t', 0, before.nextOffset), corruptAt(file, positions[2]!))
    // Batches after the damaged segment are still readable.
    const later = await log.read('t', 0, 3)
    assert.deepEqual(
      later.records.map((r) => r.offset),
      [3, 4, 5],
    )
    await log.close()
  })
})
