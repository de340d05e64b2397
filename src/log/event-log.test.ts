import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fsDefault, * as fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { crc32c } from '../core/crc32c.js'
import { isEddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { LogRecord, RecordInput } from '../core/record.js'
import {
  type BatchHeader,
  encodeControlBatch,
  encodeRecordBatch,
  readBatchHeader,
} from '../core/record-batch.js'
import { varintSize, writeVarint } from '../core/varint.js'
import { intIn, tmpDir as makeTmpDir, openLog, prng, removeTmpDirs } from './testdata/test-helpers.js'
import type { FsyncPolicy } from './types.js'

// ---- helpers ----------------------------------------------------------------------------

after(removeTmpDirs)

const tmpDir = () => makeTmpDir('eddy-event-log-test-')

function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256)
  return b
}

function randomRecords(
  rand: () => number,
  count: number,
  valueBytesMax: number,
  tsBase = 1_000_000,
): RecordInput[] {
  const out: RecordInput[] = []
  for (let i = 0; i < count; i++) {
    const headers = []
    for (let h = intIn(rand, 0, 2); h > 0; h--) {
      headers.push({
        key: `h${intIn(rand, 0, 99)}`,
        value: rand() < 0.2 ? null : randomBytes(rand, intIn(rand, 0, 8)),
      })
    }
    out.push({
      key: rand() < 0.2 ? null : randomBytes(rand, intIn(rand, 0, 16)),
      value: rand() < 0.05 ? null : randomBytes(rand, intIn(rand, 0, valueBytesMax)),
      timestamp: tsBase + intIn(rand, 0, 10_000),
      headers,
    })
  }
  return out
}

/** Parses concatenated batches, asserting they are whole, CRC-valid and ordered. */
function wholeBatches(buf: Buffer): BatchHeader[] {
  const out: BatchHeader[] = []
  let p = 0
  while (p < buf.length) {
    const h = readBatchHeader(buf, p)
    assert.ok(p + h.sizeBytes <= buf.length, `batch at byte ${p} is cut`)
    assert.equal(crc32c(buf, p + 21, p + h.sizeBytes), h.crc, `batch at byte ${p} has a bad CRC`)
    const prev = out[out.length - 1]
    if (prev) assert.equal(h.baseOffset, prev.baseOffset + prev.lastOffsetDelta + 1, 'batches are contiguous')
    out.push(h)
    p += h.sizeBytes
  }
  return out
}

function assertSameRecord(got: LogRecord, want: RecordInput, offset: number): void {
  assert.equal(got.offset, offset)
  assert.deepEqual(got.key, want.key ?? null, `key at ${offset}`)
  assert.deepEqual(got.value, want.value, `value at ${offset}`)
  assert.equal(got.timestamp, want.timestamp, `timestamp at ${offset}`)
  assert.deepEqual(
    got.headers.map((h) => [h.key, h.value]),
    (want.headers ?? []).map((h) => [h.key, h.value]),
    `headers at ${offset}`,
  )
}

function rejectsWith(code: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isEddyError(err), `expected an EddyError ${code}, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return true
  }
}

/** Every path under `root`, relative, sorted. */
function tree(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true }) as string[])
    .map((p) => p.split(path.sep).join('/'))
    .sort()
}

// ---- topics -----------------------------------------------------------------------------

describe('EventLog topics', () => {
  it('creates, lists, describes and deletes topics, and keeps them across a reopen', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    const d = log.createTopic('orders', { partitions: 3 })
    assert.equal(d.name, 'orders')
    assert.equal(d.config.partitions, 3)
    assert.deepEqual(
      d.partitions.map((p) => [p.partition, p.earliestOffset, p.latestOffset, p.bytes, p.segments]),
      [
        [0, 0, 0, 0, 1],
        [1, 0, 0, 0, 1],
        [2, 0, 0, 0, 1],
      ],
    )
    log.createTopic('clicks')
    log.createTopic('my-internal', { internal: true })
    // The log may keep internal topics of its own (group offsets, transactions).
    const ours = (names: string[]) => names.filter((n) => !n.startsWith('__'))
    assert.deepEqual(ours(log.listTopics()), ['clicks', 'orders'])
    assert.deepEqual(ours(log.listTopics({ internal: true })), ['clicks', 'my-internal', 'orders'])
    assert.equal(log.partitionCount('orders'), 3)

    const r1 = await log.append('orders', 1, [{ value: Buffer.from('a') }, { value: Buffer.from('b') }])
    const r2 = await log.append('orders', 1, [{ value: Buffer.from('c') }])
    assert.deepEqual([r1.baseOffset, r1.lastOffset, r2.baseOffset, r2.lastOffset], [0, 1, 2, 2])
    const p1 = log.describeTopic('orders').partitions[1]!
    assert.equal(p1.earliestOffset, 0)
    assert.equal(p1.latestOffset, 3)
    const stored = (await log.fetch('orders', 1, 0, { maxBytes: 1 << 20 })).bytes.length
    assert.equal(p1.bytes, stored)
    assert.equal(log.earliestOffset('orders', 1), 0)
    assert.equal(log.latestOffset('orders', 1), 3)
    assert.equal(log.latestOffset('orders', 0), 0)

    assert.throws(() => log.createTopic('orders'), rejectsWith('TOPIC_EXISTS'))
    assert.throws(() => log.describeTopic('nope'), rejectsWith('UNKNOWN_TOPIC'))
    assert.throws(() => log.createTopic('bad', { partitions: 0 }), rejectsWith('INVALID_ARGUMENT'))
    assert.throws(() => log.createTopic('bad', { segmentBytes: 10 }), rejectsWith('INVALID_ARGUMENT'))
    assert.equal(log.hasTopic('bad'), false)
    await assert.rejects(log.append('orders', 3, [{ value: null }]), rejectsWith('UNKNOWN_PARTITION'))
    await assert.rejects(log.append('orders', -1, [{ value: null }]), rejectsWith('UNKNOWN_PARTITION'))
    await assert.rejects(log.append('nope', 0, [{ value: null }]), rejectsWith('UNKNOWN_TOPIC'))

    log.deleteTopic('clicks')
    assert.deepEqual(log.listTopics(), ['orders'])
    assert.equal(fs.existsSync(path.join(dir, 'topics', 'clicks')), false)
    assert.throws(() => log.deleteTopic('clicks'), rejectsWith('UNKNOWN_TOPIC'))
    await log.close()

    const again = openLog(dir)
    assert.deepEqual(ours(again.listTopics({ internal: true })), ['my-internal', 'orders'])
    assert.deepEqual(ours(again.listTopics()), ['orders'])
    const d2 = again.describeTopic('orders')
    assert.equal(d2.partitions.length, 3)
    assert.equal(d2.partitions[1]!.latestOffset, 3)
    assert.equal(d2.partitions[1]!.bytes, p1.bytes)
    const { records } = await again.read('orders', 1, 0)
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      ['a', 'b', 'c'],
    )
    // A deleted topic can be created again, empty.
    again.createTopic('clicks')
    assert.equal(again.latestOffset('clicks', 0), 0)
    await again.close()
    await assert.rejects(again.append('orders', 0, [{ value: null }]), rejectsWith('LOG_CLOSED'))
  })

  it('keeps its internal topics: refuses deleting them, and "__" names from users', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    for (const name of ['__consumer_offsets', '__transaction_state']) {
      assert.ok(log.hasTopic(name))
      assert.throws(
        () => log.deleteTopic(name),
        (e) =>
          isEddyError(e, 'INVALID_ARGUMENT') && e.message.includes(name) && e.message.includes('internal'),
      )
      assert.ok(log.hasTopic(name))
      assert.ok(fs.existsSync(path.join(dir, 'topics', name, 'topic.json')))
    }
    const reserved = (e: unknown) => isEddyError(e, 'INVALID_TOPIC_NAME') && e.message.includes('reserved')
    for (const name of ['__mine', '__']) {
      assert.throws(() => log.createTopic(name), reserved, name)
      assert.throws(() => log.createTopic(name, { internal: true }), reserved, name)
    }
    assert.throws(() => log.createTopic('__consumer_offsets'), reserved)
    assert.equal(log.hasTopic('__mine'), false)
    // One underscore, or "__" elsewhere in the name, is the user's.
    log.createTopic('_single')
    log.createTopic('a__b')
    log.deleteTopic('a__b')
    await log.close()
    // Group offsets still work across a reopen.
    const again = openLog(dir)
    assert.ok(again.hasTopic('__consumer_offsets') && again.hasTopic('__transaction_state'))
    await again.close()
  })

  it('never lets a topic name reach outside the data directory', async () => {
    const root = tmpDir()
    const dir = path.join(root, 'data')
    fs.writeFileSync(path.join(root, 'sentinel'), 'x')
    const log = openLog(dir)
    const before = tree(root)
    const evil = [
      '..',
      '.',
      '',
      '../x',
      '../../x',
      'a/b',
      '/abs',
      '/tmp/x',
      'a\\b',
      '..\\x',
      'x/..',
      '%2e%2e',
      'a b',
      'nul\0byte',
      'tab\t',
      'dé',
      '~',
      '$HOME',
      'x'.repeat(limits.topicNameLengthMax + 1),
    ]
    for (const name of evil) {
      assert.throws(() => log.createTopic(name), rejectsWith('INVALID_TOPIC_NAME'), JSON.stringify(name))
      assert.throws(
        () => log.deleteTopic(name),
        (e) => isEddyError(e),
        JSON.stringify(name),
      )
      assert.throws(
        () => log.describeTopic(name),
        (e) => isEddyError(e),
        JSON.stringify(name),
      )
      await assert.rejects(log.append(name, 0, [{ value: null }]), (e) => isEddyError(e))
      await assert.rejects(log.fetch(name, 0, 0), (e) => isEddyError(e))
    }
    assert.deepEqual(tree(root), before)

    // Any string: either refused, or a directory directly under <dir>/topics.
    const topicsDir = path.join(dir, 'topics')
    const chars = fc.constantFrom(...'./\\-_aZ0.~%: \0'.split(''))
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: chars, maxLength: 8 }), fc.string({ maxLength: 8 })), (name) => {
        let created = false
        try {
          log.createTopic(name)
          created = true
        } catch (err) {
          if (isEddyError(err, 'TOPIC_EXISTS')) return
          assert.ok(isEddyError(err, 'INVALID_TOPIC_NAME'), String(err))
          const reserved = name.startsWith('__')
          assert.ok(
            !/^[a-zA-Z0-9._-]+$/.test(name) || name === '.' || name === '..' || reserved,
            `refused ${name}`,
          )
        }
        if (created) {
          assert.match(name, /^[a-zA-Z0-9._-]+$/)
          assert.equal(path.dirname(path.resolve(topicsDir, name)), topicsDir)
          log.deleteTopic(name)
        }
        const top = fs.readdirSync(root).sort()
        assert.deepEqual(top, ['data', 'sentinel'])
      }),
      { numRuns: 300 },
    )
    assert.deepEqual(tree(root), before)
    await log.close()
  })
})

// ---- append and fetch -------------------------------------------------------------------

describe('EventLog append and fetch', () => {
  it('reads back every record from any offset, in whole batches within maxBytes', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    // Small segments, so fetches cross segment boundaries.
    log.createTopic('t', { segmentBytes: 16 * 1024 })
    const rand = prng(42)
    const inputs: RecordInput[] = []
    const batchSizes: number[] = []
    for (let b = 0; b < 60; b++) {
      const records = randomRecords(rand, intIn(rand, 1, 25), rand() < 0.1 ? 6000 : 300)
      const before = log.describeTopic('t').partitions[0]!.bytes
      const res = await log.append('t', 0, records)
      assert.equal(res.baseOffset, inputs.length)
      assert.equal(res.lastOffset, inputs.length + records.length - 1)
      assert.equal(res.duplicate, false)
      inputs.push(...records)
      batchSizes.push(log.describeTopic('t').partitions[0]!.bytes - before)
    }
    const desc = log.describeTopic('t').partitions[0]!
    assert.equal(desc.latestOffset, inputs.length)
    assert.ok(desc.segments > 3, `expected several segments, got ${desc.segments}`)
    // Batch boundaries as appended.
    const bases: number[] = []
    {
      const all = await log.fetch('t', 0, 0, { maxBytes: 64 << 20 })
      const hs = wholeBatches(all.bytes)
      assert.equal(hs.length, 60)
      assert.deepEqual(
        hs.map((h) => h.sizeBytes),
        batchSizes,
      )
      for (const h of hs) bases.push(h.baseOffset)
      assert.equal(all.bytes.length, desc.bytes)
    }
    const batchOf = (o: number) => {
      let i = 0
      while (i + 1 < bases.length && bases[i + 1]! <= o) i++
      return i
    }

    for (let trial = 0; trial < 400; trial++) {
      const offset = intIn(rand, 0, inputs.length)
      const maxBytes = trial % 7 === 0 ? 0 : intIn(rand, 1, 40_000)
      const f = await log.fetch('t', 0, offset, { maxBytes })
      assert.equal(f.highWatermark, inputs.length)
      assert.equal(f.logStartOffset, 0)
      const hs = wholeBatches(f.bytes)
      if (offset === inputs.length) {
        assert.equal(f.bytes.length, 0)
        continue
      }
      assert.ok(hs.length >= 1, 'at least one batch')
      const first = batchOf(offset)
      assert.equal(hs[0]!.baseOffset, bases[first], `first batch holds offset ${offset}`)
      if (hs.length > 1) assert.ok(f.bytes.length <= maxBytes, `${f.bytes.length} > maxBytes ${maxBytes}`)
      // As many batches as fit.
      const next = first + hs.length
      if (next < bases.length) {
        assert.ok(
          f.bytes.length + batchSizes[next]! > maxBytes,
          `batch ${next} would have fit in ${maxBytes}`,
        )
      }
      // Decoded records from exactly `offset`.
      const { records, nextOffset } = await log.read('t', 0, offset, { maxBytes })
      assert.equal(records[0]!.offset, offset)
      assert.equal(nextOffset, hs[hs.length - 1]!.baseOffset + hs[hs.length - 1]!.lastOffsetDelta + 1)
      for (const r of records) assertSameRecord(r, inputs[r.offset]!, r.offset)
    }

    // A full scan with 1-byte fetches returns each batch once.
    let o = 0
    let count = 0
    while (o < inputs.length) {
      const { records, nextOffset } = await log.read('t', 0, o, { maxBytes: 1 })
      for (const r of records) assertSameRecord(r, inputs[r.offset]!, r.offset)
      count += records.length
      o = nextOffset
    }
    assert.equal(count, inputs.length)

    await assert.rejects(log.fetch('t', 0, inputs.length + 1), rejectsWith('OFFSET_OUT_OF_RANGE'))
    await assert.rejects(log.fetch('t', 0, -1), rejectsWith('OFFSET_OUT_OF_RANGE'))
    await log.close()

    // The same after a reopen.
    const again = openLog(dir)
    const { records } = await again.read('t', 0, 0, { maxBytes: 64 << 20 })
    assert.equal(records.length, inputs.length)
    for (const r of records) assertSameRecord(r, inputs[r.offset]!, r.offset)
    await again.close()
  })

  it('uses the clock for records without a timestamp', async () => {
    const { ManualClock } = await import('../core/clock.js')
    const clock = new ManualClock(5_000)
    const log = openLog(tmpDir(), { clock })
    log.createTopic('t')
    await log.append('t', 0, [{ value: Buffer.from('x') }, { value: Buffer.from('y'), timestamp: 7 }])
    const { records } = await log.read('t', 0, 0)
    assert.deepEqual(
      records.map((r) => r.timestamp),
      [5_000, 7],
    )
    await log.close()
  })
})

// ---- long poll --------------------------------------------------------------------------

describe('EventLog long-poll fetch', () => {
  it('waits for data and wakes on append', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t')
    await log.append('t', 0, [{ value: Buffer.from('first') }])
    const started = Date.now()
    const pending = log.read('t', 0, 1, { maxWaitMs: 10_000 })
    setTimeout(() => void log.append('t', 0, [{ value: Buffer.from('second') }]), 50)
    const { records } = await pending
    const waited = Date.now() - started
    assert.deepEqual(
      records.map((r) => [r.offset, r.value?.toString()]),
      [[1, 'second']],
    )
    assert.ok(waited >= 40 && waited < 2_000, `woke after ${waited} ms`)
    // Data already there: no wait at all.
    const t0 = Date.now()
    const f = await log.fetch('t', 0, 0, { maxWaitMs: 10_000 })
    assert.ok(f.bytes.length > 0)
    assert.ok(Date.now() - t0 < 1_000)
    await log.close()
  })

  it('times out with no data, and an abort signal ends the wait', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t')
    let t0 = Date.now()
    let f = await log.fetch('t', 0, 0, { maxWaitMs: 150 })
    let waited = Date.now() - t0
    assert.equal(f.bytes.length, 0)
    assert.ok(waited >= 140 && waited < 2_000, `timed out after ${waited} ms`)

    const ac = new AbortController()
    t0 = Date.now()
    setTimeout(() => ac.abort(), 50)
    f = await log.fetch('t', 0, 0, { maxWaitMs: 20_000, signal: ac.signal })
    waited = Date.now() - t0
    assert.equal(f.bytes.length, 0)
    assert.ok(waited >= 40 && waited < 2_000, `aborted after ${waited} ms`)

    // Already aborted: returns at once.
    t0 = Date.now()
    f = await log.fetch('t', 0, 0, { maxWaitMs: 20_000, signal: ac.signal })
    assert.equal(f.bytes.length, 0)
    assert.ok(Date.now() - t0 < 1_000)

    // A waiter on another partition is not woken by this one's appends.
    await log.append('t', 0, [{ value: null }])
    log.createTopic('u', { partitions: 2 })
    t0 = Date.now()
    const other = log.fetch('u', 1, 0, { maxWaitMs: 200 })
    await log.append('u', 0, [{ value: null }])
    assert.equal((await other).bytes.length, 0)
    assert.ok(Date.now() - t0 >= 190)
    await log.close()
  })
})

// ---- offsetForTimestamp -----------------------------------------------------------------

describe('EventLog offsetForTimestamp', () => {
  it('finds the first record at or after a timestamp, with out-of-order timestamps', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t')
    const ts = (list: number[]) => list.map((timestamp) => ({ value: null, timestamp }))
    await log.append('t', 0, ts([100, 300, 200])) // offsets 0..2
    await log.append('t', 0, ts([50, 400])) // 3..4
    await log.append('t', 0, ts([250])) // 5
    const cases: [number, number][] = [
      [0, 0],
      [100, 0],
      [101, 1],
      [150, 1],
      [250, 1],
      [300, 1],
      [301, 4],
      [400, 4],
      [401, 6], // none: the latest offset
    ]
    for (const [target, want] of cases)
      assert.equal(log.offsetForTimestamp('t', 0, target), want, `target ${target}`)
    log.createTopic('empty')
    assert.equal(log.offsetForTimestamp('empty', 0, 0), 0)
    await log.close()
  })

  it('agrees with a linear scan (property, with indexes and several segments)', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    let n = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 12 }), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.array(fc.integer({ min: -10, max: 5_010 }), { minLength: 1, maxLength: 20 }),
        async (batches, targets) => {
          const topic = `t${n++}`
          log.createTopic(topic, { segmentBytes: 8 * 1024 })
          const all: number[] = []
          for (const b of batches) {
            // ~600-byte records so the sparse index has entries.
            await log.append(
              topic,
              0,
              b.map((timestamp) => ({ value: Buffer.alloc(600), timestamp })),
            )
            all.push(...b)
          }
          for (const target of targets) {
            const i = all.findIndex((t) => t >= target)
            assert.equal(log.offsetForTimestamp(topic, 0, target), i < 0 ? all.length : i, `target ${target}`)
          }
          log.deleteTopic(topic)
        },
      ),
      { numRuns: 40 },
    )
    await log.close()
  })
})

// ---- durability -------------------------------------------------------------------------

/** Counts fdatasync calls made through node:fs while `fn` runs. */
async function countingFsyncs<T>(fn: () => Promise<T>): Promise<{ result: T; fsyncs: number }> {
  const original = fsDefault.fdatasync
  const originalSync = fsDefault.fdatasyncSync
  let fsyncs = 0
  fsDefault.fdatasync = ((...args: Parameters<typeof original>) => {
    fsyncs++
    return original(...args)
  }) as typeof original
  fsDefault.fdatasyncSync = ((fd: number) => {
    fsyncs++
    originalSync(fd)
  }) as typeof originalSync
  syncBuiltinESMExports()
  try {
    const result = await fn()
    return { result, fsyncs }
  } finally {
    fsDefault.fdatasync = original
    fsDefault.fdatasyncSync = originalSync
    syncBuiltinESMExports()
  }
}

describe('EventLog fsync policies', () => {
  const policies: FsyncPolicy[] = [
    { kind: 'always' },
    { kind: 'interval', intervalMs: 30 },
    { kind: 'never' },
  ]
  for (const fsync of policies) {
    it(`acknowledges appends and hides unacknowledged data (${fsync.kind})`, async () => {
      const dir = tmpDir()
      const { fsyncs } = await countingFsyncs(async () => {
        const log = openLog(dir, { fsync })
        log.createTopic('t')
        for (let round = 0; round < 20; round++) {
          let acked = false
          const before = log.latestOffset('t', 0)
          const append = log.append('t', 0, [{ value: Buffer.from(`v${round}`) }])
          void append.then(() => {
            acked = true
          })
          if (fsync.kind === 'never') {
            assert.equal(log.latestOffset('t', 0), before + 1)
          } else {
            // Written to the file, but not yet durable: readers must not see it.
            assert.equal(log.latestOffset('t', 0), before)
            assert.equal(log.describeTopic('t').partitions[0]!.latestOffset, before)
            assert.equal((await log.fetch('t', 0, before)).bytes.length, 0)
            // Poll until acknowledged; never visible before.
            while (!acked) {
              const f = await log.fetch('t', 0, before)
              if (!acked) assert.equal(f.bytes.length, 0, 'visible before acknowledged')
              await new Promise((r) => setImmediate(r))
            }
          }
          const res = await append
          assert.equal(res.baseOffset, before)
          assert.equal(log.latestOffset('t', 0), before + 1)
          const { records } = await log.read('t', 0, before)
          assert.equal(records[0]!.value?.toString(), `v${round}`)
        }
        // Concurrent appends are all acknowledged, in order.
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => log.append('t', 0, [{ value: Buffer.from(`c${i}`) }])),
        )
        assert.deepEqual(
          results.map((r) => r.baseOffset),
          Array.from({ length: 50 }, (_, i) => 20 + i),
        )
        await log.close()
      })
      if (fsync.kind === 'never') assert.equal(fsyncs, 0)
      else if (fsync.kind === 'always') assert.ok(fsyncs >= 21, `${fsyncs} fsyncs`)
      else assert.ok(fsyncs >= 1, `${fsyncs} fsyncs`)

      const again = openLog(dir)
      assert.equal(again.latestOffset('t', 0), 70)
      await again.close()
    })
  }

  it('wakes a long-poll reader only when the interval flush acknowledges the data', async () => {
    const log = openLog(tmpDir(), { fsync: { kind: 'interval', intervalMs: 150 } })
    log.createTopic('t')
    const t0 = Date.now()
    const reading = log.read('t', 0, 0, { maxWaitMs: 5_000 })
    const appended = log.append('t', 0, [{ value: Buffer.from('x') }])
    const { records } = await reading
    await appended
    assert.equal(records.length, 1)
    assert.ok(Date.now() - t0 < 2_000)
    await log.close()
  })
})

// ---- limits and validation --------------------------------------------------------------

function partitionFileBytes(dir: string, topic: string): number {
  const pdir = path.join(dir, 'topics', topic, '0')
  let total = 0
  for (const f of fs.readdirSync(pdir)) if (f.endsWith('.log')) total += fs.statSync(path.join(pdir, f)).size
  return total
}

/** Re-seals a batch's CRC after editing it. */
function reseal(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch, 21, batch.length), 17)
  return batch
}

/** A one-record batch whose record is `recordBytes` long, built by hand (the encoder refuses it). */
function batchWithRecordOf(recordBytes: number): Buffer {
  // attributes, timestamp delta, offset delta, null key, value length + value, header count
  let valueBytes = recordBytes - 5
  while (5 + varintSize(valueBytes) + valueBytes > recordBytes) valueBytes--
  const record = Buffer.alloc(varintSize(recordBytes) + recordBytes)
  let pos = writeVarint(record, 0, recordBytes)
  pos = writeVarint(record, pos + 3, -1) // attributes, deltas 0, 0: zeros
  pos = writeVarint(record, pos, valueBytes)
  pos += valueBytes
  pos = writeVarint(record, pos, 0)
  assert.equal(pos, record.length)
  const header = encodeRecordBatch({ records: [{ value: null, timestamp: 0 }] }).subarray(0, 61)
  const b = Buffer.concat([header, record])
  b.writeInt32BE(b.length - 12, 8)
  return reseal(b)
}

describe('EventLog limits and validation', () => {
  it('refuses a raw batch holding a record past limits.recordBytesMax, naming it', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    log.createTopic('t')
    await assert.rejects(
      log.appendBatch('t', 0, batchWithRecordOf(limits.recordBytesMax + 1)),
      (e) =>
        isEddyError(e, 'RECORD_TOO_LARGE') &&
        e.message.includes('t-0: record 0') &&
        e.message.includes(String(limits.recordBytesMax + 1)) &&
        e.message.includes(String(limits.recordBytesMax)),
    )
    assert.equal(partitionFileBytes(dir, 't'), 0)
    const max = await log.appendBatch('t', 0, batchWithRecordOf(limits.recordBytesMax))
    assert.equal(max.baseOffset, 0)
    const { records } = await log.read('t', 0, 0, { maxBytes: 2 * limits.recordBytesMax })
    assert.equal(records.length, 1)
    await log.close()
  })

  it('refuses a key past limits.keyBytesMax on the embedded append path too', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    log.createTopic('t', { partitions: 2 })
    const records = [{ value: null }, { key: Buffer.alloc(limits.keyBytesMax + 1), value: null }]
    await assert.rejects(
      log.append('t', 1, records),
      (e) =>
        isEddyError(e, 'RECORD_TOO_LARGE') &&
        e.message.includes('t-1: record 1') &&
        e.message.includes(`${limits.keyBytesMax + 1}-byte key`) &&
        e.message.includes(String(limits.keyBytesMax)),
    )
    assert.equal(log.latestOffset('t', 1), 0)
    const ok = await log.append('t', 1, [{ key: Buffer.alloc(limits.keyBytesMax), value: null }])
    assert.equal(ok.baseOffset, 0)
    // The encoder's own limit now names the partition as well.
    await assert.rejects(
      log.append('t', 1, [{ value: Buffer.alloc(limits.recordBytesMax + 1) }]),
      (e) => isEddyError(e, 'RECORD_TOO_LARGE') && e.message.startsWith('t-1: record 0'),
    )
    await log.close()
  })

  it('refuses oversized records and batches, storing nothing', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    log.createTopic('t')
    await log.append('t', 0, [{ value: Buffer.from('ok') }])
    const bytes = partitionFileBytes(dir, 't')

    await assert.rejects(
      log.append('t', 0, [{ value: Buffer.alloc(limits.recordBytesMax + 1) }]),
      rejectsWith('RECORD_TOO_LARGE'),
    )
    const nearlyMax = Buffer.alloc(limits.recordBytesMax - 100)
    const tooMany = Array.from({ length: Math.ceil(limits.batchBytesMax / nearlyMax.length) + 1 }, () => ({
      value: nearlyMax,
    }))
    await assert.rejects(log.append('t', 0, tooMany), rejectsWith('BATCH_TOO_LARGE'))
    // The raw path: a buffer larger than the batch limit is refused before it is even parsed.
    await assert.rejects(
      log.appendBatch('t', 0, Buffer.alloc(limits.batchBytesMax + 1)),
      rejectsWith('BATCH_TOO_LARGE'),
    )
    // A key larger than limits.keyBytesMax sent as raw bytes.
    const bigKey = encodeRecordBatch({
      records: [{ key: Buffer.alloc(limits.keyBytesMax + 1), value: null }],
    })
    await assert.rejects(log.appendBatch('t', 0, bigKey), rejectsWith('RECORD_TOO_LARGE'))

    assert.equal(log.latestOffset('t', 0), 1)
    assert.equal(partitionFileBytes(dir, 't'), bytes)
    // The largest allowed record goes through.
    const max = await log.append('t', 0, [{ value: Buffer.alloc(limits.recordBytesMax - 16) }])
    assert.equal(max.baseOffset, 1)
    await log.close()
  })

  it('refuses a batch with any CRC-covered bit flipped, and never stores it', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    log.createTopic('t')
    const rand = prng(7)
    const good = encodeRecordBatch({ records: randomRecords(rand, 5, 40) })
    const covered: number[] = []
    // Every bit of length, magic, CRC and CRC-covered bytes; baseOffset (0-7) and the leader epoch
    // (12-15) are outside the CRC by the v2 format, and the log rewrites the base offset anyway.
    for (let bit = 8 * 8; bit < good.length * 8; bit++) if (bit < 12 * 8 || bit >= 16 * 8) covered.push(bit)
    for (const bit of covered) {
      const bad = Buffer.from(good)
      bad[bit >> 3]! ^= 1 << (bit & 7)
      await assert.rejects(
        log.appendBatch('t', 0, bad),
        (err) => isEddyError(err, 'CORRUPT_RECORD') || isEddyError(err, 'INVALID_RECORD'),
        `bit ${bit}`,
      )
    }
    assert.equal(log.latestOffset('t', 0), 0)
    assert.equal(partitionFileBytes(dir, 't'), 0)
    // The unflipped batch is accepted, stored byte for byte from the CRC on.
    const res = await log.appendBatch('t', 0, Buffer.from(good))
    assert.equal(res.lastOffset, 4)
    const f = await log.fetch('t', 0, 0)
    assert.deepEqual(f.bytes.subarray(16), good.subarray(16))
    await log.close()
  })

  it('refuses malformed record structure even with a valid CRC', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    log.createTopic('t')
    const base = () =>
      encodeRecordBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('value') }] })
    const malformed: [string, Buffer][] = []
    {
      const b = base()
      b[61] = 0x7e // record length varint: 63, past the end of the batch
      malformed.push(['record length overruns the batch', reseal(b)])
    }
    {
      const b = base()
      b.writeInt32BE(2, 57) // claims 2 records, holds 1
      b.writeInt32BE(1, 23)
      malformed.push(['record count larger than the records', reseal(b)])
    }
    {
      const b = base()
      b.writeInt32BE(0, 57) // no records at all
      malformed.push(['zero records', reseal(b)])
    }
    {
      const one = base()
      const b = Buffer.concat([one, Buffer.from([0, 0, 0])])
      b.writeInt32BE(b.length - 12, 8) // trailing bytes inside the batch length
      malformed.push(['trailing bytes after the records', reseal(b)])
    }
    {
      const b = encodeRecordBatch({ records: [{ value: null }, { value: null }], offsetDeltas: [0, 5] })
      malformed.push(['record offset deltas with a gap', b])
    }
    {
      const b = base()
      b.writeInt32BE(1_000_000, 23) // lastOffsetDelta far past the record count
      malformed.push(['lastOffsetDelta inconsistent with the record count', reseal(b)])
    }
    {
      const b = base()
      b[65] = 0x7f // key length varint: -64 (read as null), so the fields no longer fill the record
      malformed.push(['negative key length', reseal(b)])
    }
    {
      const b = base()
      b.writeInt32BE(b.length, 8) // length field one past the buffer
      malformed.push(['length field past the buffer', reseal(b)])
    }
    malformed.push([
      'control batch from a producer',
      encodeControlBatch({ producerId: 1, producerEpoch: 0, commit: true, timestamp: 1 }),
    ])
    for (const [what, b] of malformed) {
      await assert.rejects(
        log.appendBatch('t', 0, b),
        (err) => isEddyError(err, 'CORRUPT_RECORD') || isEddyError(err, 'INVALID_RECORD'),
        what,
      )
    }
    assert.equal(log.latestOffset('t', 0), 0)
    assert.equal(partitionFileBytes(dir, 't'), 0)
    const ok = await log.appendBatch('t', 0, base())
    assert.deepEqual([ok.baseOffset, ok.lastOffset], [0, 0])
    await log.close()
  })

  it('refuses a batch whose maxTimestamp hides its records, so time lookups stay right', async () => {
    const log = openLog(tmpDir())
    log.createTopic('t')
    const b = encodeRecordBatch({ records: [{ value: null, timestamp: 5_000 }] })
    b.writeUInt32BE(0, 35)
    b.writeUInt32BE(1_000, 39) // maxTimestamp 1000 < the record's 5000
    await assert.rejects(log.appendBatch('t', 0, reseal(b)), rejectsWith('INVALID_RECORD'))
    await log.close()
  })
})

// ---- data directory lock ----------------------------------------------------------------

const eventLogModule = fileURLToPath(new URL('./event-log.ts', import.meta.url))

/** Runs a child that opens the log in `dir`; prints 'locked' and holds it, or prints the error code. */
function spawnOpener(dir: string) {
  const code = `
    const { EventLog } = await import(${JSON.stringify(eventLogModule)})
    try {
      const log = EventLog.open({ dir: ${JSON.stringify(dir)}, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
      console.log('locked')
      setInterval(() => {}, 1000)
    } catch (err) {
      console.log('error ' + err.code)
      process.exit(0)
    }
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const firstLine = new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve(out.slice(0, nl))
    })
    child.on('exit', (c) => reject(new Error(`child exited (${c}) before printing: ${out}`)))
  })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  return { child, firstLine, exited }
}

describe('EventLog data directory lock', () => {
  it('refuses a second process while the first holds the directory', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    const other = spawnOpener(dir)
    assert.equal(await other.firstLine, 'error DATA_DIR_LOCKED')
    await other.exited
    await log.close()
    // Released on close: another process may take it now.
    const next = spawnOpener(dir)
    assert.equal(await next.firstLine, 'locked')
    next.child.kill('SIGKILL')
    await next.exited
  })

  it('is taken over after the holder was SIGKILLed, not before', async () => {
    const dir = tmpDir()
    const holder = spawnOpener(dir)
    assert.equal(await holder.firstLine, 'locked')
    assert.throws(() => openLog(dir), rejectsWith('DATA_DIR_LOCKED'))
    holder.child.kill('SIGKILL')
    await holder.exited
    const log = openLog(dir)
    log.createTopic('t')
    await log.append('t', 0, [{ value: null }])
    await log.close()
  })

  it('refuses a second open in the same process', async () => {
    const dir = tmpDir()
    const log = openLog(dir)
    assert.throws(() => openLog(dir), rejectsWith('DATA_DIR_LOCKED'))
    assert.throws(() => openLog(path.join(dir, '.')), rejectsWith('DATA_DIR_LOCKED'))
    await log.close()
    const again = openLog(dir)
    await again.close()
  })
})
