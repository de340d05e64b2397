// Corruption tests: damage segment files the way torn writes and bad media do, then reopen.
// Repeat a run with EDDY_CORRUPTION_SEED=<seed> (printed as a test diagnostic).
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { isEddyError } from '../../src/core/errors.js'
import type { RecordInput } from '../../src/core/record.js'
import { readBatchHeader } from '../../src/core/record-batch.js'
import { EventLog } from '../../src/log/event-log.js'
import { prng } from './workload.js'

const SEED = Number(process.env.EDDY_CORRUPTION_SEED ?? Math.floor(Math.random() * 2 ** 31))
const CASES = 120

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-corruption-'))
after(() => fs.rmSync(root, { recursive: true, force: true }))
let dirs = 0
function freshDir(): string {
  return path.join(root, String(dirs++))
}

function openLog(dir: string): EventLog {
  return EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
}

function intIn(rand: () => number, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1))
}

function randomBatch(rand: () => number, tag: number): RecordInput[] {
  return Array.from({ length: intIn(rand, 1, 20) }, (_, i) => {
    const value = Buffer.alloc(rand() < 0.1 ? intIn(rand, 1000, 6000) : intIn(rand, 0, 400), tag & 0xff)
    return {
      key: Buffer.from(`k${tag}-${i}`),
      value,
      timestamp: 1_000 + tag,
      headers: [{ key: 'n', value: Buffer.from([i]) }],
    }
  })
}

interface Written {
  readonly records: RecordInput[]
  /** Per batch: base offset, byte position in its segment file, size. */
  readonly batches: {
    baseOffset: number
    lastOffset: number
    position: number
    sizeBytes: number
    segment: string
  }[]
}

/** Appends `n` random batches to topic 't' and records where each landed. */
async function writeBatches(log: EventLog, rand: () => number, n: number): Promise<Written> {
  const written: Written = { records: [], batches: [] }
  const part = log.partition('t', 0)
  for (let b = 0; b < n; b++) {
    const records = randomBatch(rand, b)
    // The segment it lands in is only known after the append (it may roll).
    const r = await log.append('t', 0, records)
    const seg = part.segments[part.segments.length - 1]!
    const sizeBytes = (await log.fetch('t', 0, r.baseOffset, { maxBytes: 1 })).bytes.length
    written.batches.push({
      baseOffset: r.baseOffset,
      lastOffset: r.lastOffset,
      position: seg.sizeBytes - sizeBytes,
      sizeBytes,
      segment: seg.logPath,
    })
    written.records.push(...records)
  }
  return written
}

/** Reads [0, end) with small fetches and compares every record with what was appended. */
async function assertRecords(log: EventLog, written: Written, end: number): Promise<void> {
  let offset = 0
  while (offset < end) {
    const { records, nextOffset } = await log.read('t', 0, offset, { maxBytes: 1 })
    assert.ok(records.length > 0, `nothing read at ${offset}`)
    for (const r of records) {
      const want = written.records[r.offset]!
      assert.deepEqual(r.key, want.key)
      assert.deepEqual(r.value, want.value)
      assert.equal(r.timestamp, want.timestamp)
    }
    offset = nextOffset
  }
  assert.equal(offset, end)
}

type Damage = 'truncate' | 'flip' | 'garbage'

describe('log corruption: damage at the tail of the active segment', () => {
  it(`drops only the damaged tail and appends continue there (${CASES} cases)`, async (t) => {
    t.diagnostic(`seed ${SEED} (repeat with EDDY_CORRUPTION_SEED=${SEED})`)
    const rand = prng(SEED)
    const counts: Record<Damage, number> = { truncate: 0, flip: 0, garbage: 0 }
    for (let c = 0; c < CASES; c++) {
      const dir = freshDir()
      const damage = (['truncate', 'flip', 'garbage'] as const)[c % 3]!
      counts[damage]++
      const log = openLog(dir)
      log.createTopic('t')
      const written = await writeBatches(log, rand, intIn(rand, 1, 10))
      await log.close()
      const final = written.batches[written.batches.length - 1]!
      const file = final.segment
      const size = fs.statSync(file).size
      assert.equal(size, final.position + final.sizeBytes)
      let what: string
      let cut: number
      if (damage === 'truncate') {
        const at = final.position + intIn(rand, 1, final.sizeBytes - 1)
        fs.truncateSync(file, at)
        what = `truncated at byte ${at - final.position} of ${final.sizeBytes}`
        cut = at - final.position
      } else if (damage === 'flip') {
        // Any bit but the partition leader epoch (bytes 12-15): the v2 format leaves it outside
        // the CRC, the log never reads it, and Kafka cannot detect a flip there either.
        let byte: number
        do byte = intIn(rand, 0, final.sizeBytes - 1)
        while (byte >= 12 && byte < 16)
        const bit = intIn(rand, 0, 7)
        const fd = fs.openSync(file, 'r+')
        const one = Buffer.alloc(1)
        fs.readSync(fd, one, 0, 1, final.position + byte)
        one[0]! ^= 1 << bit
        fs.writeSync(fd, one, 0, 1, final.position + byte)
        fs.closeSync(fd)
        what = `bit ${bit} of byte ${byte} of ${final.sizeBytes} flipped`
        cut = final.sizeBytes
      } else {
        const garbage = Buffer.alloc(intIn(rand, 1, 600))
        for (let i = 0; i < garbage.length; i++) garbage[i] = intIn(rand, 0, 255)
        fs.appendFileSync(file, garbage)
        what = `${garbage.length} bytes of garbage appended`
        cut = garbage.length
      }
      const where = `case ${c} (${damage}: ${what}, ${written.batches.length} batches)`

      const again = openLog(dir)
      const part = again.partition('t', 0)
      // The damaged final batch is dropped; appended garbage is dropped and the final batch kept.
      const end = damage === 'garbage' ? final.lastOffset + 1 : final.baseOffset
      assert.equal(again.describeTopic('t').partitions[0]!.latestOffset, end, where)
      assert.equal(part.recoveredTruncatedBytes, cut, where)
      assert.equal(fs.statSync(file).size, damage === 'garbage' ? size : final.position, where)
      await assertRecords(again, written, end)
      // Appends continue at that offset, and survive another reopen.
      const next = await again.append('t', 0, [{ value: Buffer.from(`after-${c}`), timestamp: 5 }])
      assert.equal(next.baseOffset, end, where)
      await again.close()
      const third = openLog(dir)
      assert.equal(third.partition('t', 0).recoveredTruncatedBytes, 0, where)
      assert.equal(third.latestOffset('t', 0), end + 1, where)
      const { records } = await third.read('t', 0, end)
      assert.equal(records[0]!.value?.toString(), `after-${c}`, where)
      await assertRecords(third, written, end)
      await third.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
    t.diagnostic(`cases: ${JSON.stringify(counts)}`)
  })
})

/** Flips one bit of a batch that the CRC protects: length, magic, CRC or anything after it. */
function flipCoveredBit(rand: () => number, file: string, position: number, sizeBytes: number): string {
  let byte: number
  do byte = intIn(rand, 8, sizeBytes - 1)
  while (byte >= 12 && byte < 16)
  const bit = intIn(rand, 0, 7)
  const fd = fs.openSync(file, 'r+')
  const one = Buffer.alloc(1)
  fs.readSync(fd, one, 0, 1, position + byte)
  one[0]! ^= 1 << bit
  fs.writeSync(fd, one, 0, 1, position + byte)
  fs.closeSync(fd)
  return `bit ${bit} of byte ${byte} of ${sizeBytes}`
}

describe('log corruption: damage inside a segment', () => {
  it('a flipped bit in the middle of a sealed segment fails the fetch over it, never returning it', async (t) => {
    const rand = prng(SEED ^ 0x5eed)
    let cases = 0
    let refusedAtOpen = 0
    for (let c = 0; c < 40; c++) {
      const dir = freshDir()
      const log = openLog(dir)
      log.createTopic('t', { segmentBytes: 16 * 1024 })
      const written = await writeBatches(log, rand, 40)
      await log.close()
      // A sealed segment (not the last) with at least three batches; damage one in its middle.
      const bySegment = new Map<string, Written['batches']>()
      for (const b of written.batches) bySegment.set(b.segment, [...(bySegment.get(b.segment) ?? []), b])
      const sealed = [...bySegment.values()].slice(0, -1).filter((bs) => bs.length >= 3)
      if (sealed.length === 0) continue
      cases++
      const seg = sealed[intIn(rand, 0, sealed.length - 1)]!
      const k = intIn(rand, 1, seg.length - 2)
      const bad = seg[k]!
      const what = flipCoveredBit(rand, bad.segment, bad.position, bad.sizeBytes)
      const where = `case ${c}: batch ${bad.baseOffset} (${k} of ${seg.length} in its segment), ${what}`

      let again: EventLog
      try {
        again = openLog(dir)
      } catch (err) {
        // Damage to the length or magic of a batch past the segment's last index entry is seen at
        // open (the tail is walked to find the segment's end): the open fails, naming the file.
        assert.ok(isEddyError(err, 'CORRUPT_RECORD'), `${where}: ${String(err)}`)
        assert.ok(err.message.includes(path.basename(bad.segment)), where)
        refusedAtOpen++
        fs.rmSync(dir, { recursive: true, force: true })
        continue
      }
      assert.equal(again.partition('t', 0).recoveredTruncatedBytes, 0, where)
      assert.equal(again.latestOffset('t', 0), written.records.length, where)
      const isBad = (buf: Buffer) => {
        for (let p = 0; p < buf.length; ) {
          const h = readBatchHeader(buf, p)
          if (h.baseOffset <= bad.lastOffset && h.baseOffset + h.lastOffsetDelta >= bad.baseOffset)
            return true
          p += h.sizeBytes
        }
        return false
      }
      // Starting at the damaged batch, or inside it: CORRUPT_RECORD.
      for (const offset of [bad.baseOffset, bad.lastOffset]) {
        for (const maxBytes of [1, 1 << 20]) {
          await assert.rejects(
            again.fetch('t', 0, offset, { maxBytes }),
            (e) => isEddyError(e, 'CORRUPT_RECORD'),
            `${where}: fetch at ${offset}`,
          )
        }
      }
      // Spanning it from before: an error, or only the batches before it; never the damaged bytes.
      for (const from of [seg[0]!.baseOffset, seg[k - 1]!.baseOffset, 0]) {
        try {
          const f = await again.fetch('t', 0, from, { maxBytes: 1 << 20 })
          assert.ok(!isBad(f.bytes), `${where}: a fetch from ${from} returned the damaged batch`)
        } catch (err) {
          assert.ok(isEddyError(err, 'CORRUPT_RECORD'), `${where}: fetch from ${from}: ${String(err)}`)
        }
      }
      // Every batch before it is readable, one at a time.
      let offset = 0
      while (offset < bad.baseOffset) {
        const { records, nextOffset } = await again.read('t', 0, offset, { maxBytes: 1 })
        for (const r of records) assert.deepEqual(r.value, written.records[r.offset]!.value, where)
        offset = nextOffset
      }
      assert.equal(offset, bad.baseOffset, where)
      // The segments after the damaged one are untouched.
      const laterSegment = written.batches.find((b) => b.segment > bad.segment)!
      const { records } = await again.read('t', 0, laterSegment.baseOffset, { maxBytes: 1 << 20 })
      assert.ok(records.length > 0)
      for (const r of records) assert.deepEqual(r.value, written.records[r.offset]!.value, where)
      await again.close()

      // Without its indexes a sealed segment is re-read in full at open, and the damage found then
      // stops the open with CORRUPT_RECORD naming the file, rather than silently dropping data.
      for (const f of fs.readdirSync(path.dirname(bad.segment))) {
        if (f.endsWith('.index') || f.endsWith('.timeindex'))
          fs.rmSync(path.join(path.dirname(bad.segment), f))
      }
      assert.throws(
        () => openLog(dir),
        (e) => isEddyError(e, 'CORRUPT_RECORD') && e.message.includes(path.basename(bad.segment)),
        where,
      )
      fs.rmSync(dir, { recursive: true, force: true })
    }
    t.diagnostic(`sealed-segment cases: ${cases}, of which refused at open: ${refusedAtOpen}`)
    assert.ok(cases - refusedAtOpen >= 15)
  })

  it('a flipped bit in the middle of the active segment: recovery cuts the log there, as Kafka does', async () => {
    // Documented behaviour: recovery of the active segment truncates at the first invalid batch,
    // dropping it and every batch after it (even intact ones), so offsets stay contiguous. Only bad
    // media, not a crash, can damage a batch that later batches follow. Kafka does the same.
    const rand = prng(SEED ^ 0xac71)
    for (let c = 0; c < 20; c++) {
      const dir = freshDir()
      const log = openLog(dir)
      log.createTopic('t')
      const written = await writeBatches(log, rand, intIn(rand, 3, 12))
      await log.close()
      const k = intIn(rand, 1, written.batches.length - 2)
      const bad = written.batches[k]!
      const what = flipCoveredBit(rand, bad.segment, bad.position, bad.sizeBytes)
      const where = `case ${c}: batch ${k} of ${written.batches.length}, ${what}`
      const size = fs.statSync(bad.segment).size

      const again = openLog(dir)
      assert.equal(again.latestOffset('t', 0), bad.baseOffset, where)
      assert.equal(again.partition('t', 0).recoveredTruncatedBytes, size - bad.position, where)
      await assertRecords(again, written, bad.baseOffset)
      const next = await again.append('t', 0, [{ value: Buffer.from('after') }])
      assert.equal(next.baseOffset, bad.baseOffset, where)
      await again.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
