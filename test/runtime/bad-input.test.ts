// Bad input on the real runtime (DESIGN.md §6): with onError: { deadLetter }, a record that cannot
// be read goes to the dead-letter topic with the error in its headers and the pipeline goes on;
// with the default 'fail', the app stops with a ProcessingError that names the step and the
// record, and nothing from that record on is committed.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { limits } from '../../src/core/limits.js'
import type { LogRecord } from '../../src/core/record.js'
import { app, json, ProcessingError } from '../../src/index.js'
import type { EventLog } from '../../src/log/event-log.js'
import { cleanup, type Input, readTopic, tmpDir, withLog, writeInputs } from './harness.js'

interface Reading {
  readonly seq: number
  readonly celsius: number
}

const PARTITIONS = 2

/** `n` readings per partition; `bad` maps partition → offsets that hold malformed JSON instead. */
function readings(n: number, bad: ReadonlyMap<number, readonly number[]>): Input[] {
  const out: Input[] = []
  for (let p = 0; p < PARTITIONS; p++) {
    for (let i = 0; i < n; i++) {
      const malformed = bad.get(p)?.includes(i) ?? false
      out.push({
        partition: p,
        key: `sensor-${p}`,
        value: Buffer.from(
          malformed ? `{"seq": ${i}, "celsius": oops` : JSON.stringify({ seq: i, celsius: 20 + (i % 7) }),
        ),
        timestamp: 1_000 + i,
      })
    }
  }
  return out
}

const header = (r: LogRecord, key: string) => r.headers.find((h) => h.key === key)?.value?.toString()
const seqs = (records: readonly LogRecord[]) =>
  records.map((r) => (JSON.parse(r.value!.toString()) as { seq: number }).seq)

describe('bad input at the source', () => {
  after(cleanup)

  it('deadLetter: malformed records go to the DLQ with the error in headers; later records are processed', async () => {
    const dataDir = tmpDir('bad-dlq')
    const bad = new Map([
      [0, [5, 120]],
      [1, [0, 77, 199]],
    ])
    await writeInputs(dataDir, 'readings', PARTITIONS, readings(200, bad))
    const a = app({ id: 'dlq', dataDir, commitIntervalMs: 20 })
    a.stream<Reading, string>('readings', json<Reading>(), { name: 'read', onError: { deadLetter: 'dlq' } })
      .mapValues((r) => ({ seq: r.seq, fahrenheit: r.celsius * 1.8 + 32 }), { name: 'to-fahrenheit' })
      .to('fahrenheit')
    await a.run({ untilIdleMs: 200 })

    const out = await readTopic(dataDir, 'fahrenheit')
    for (let p = 0; p < PARTITIONS; p++) {
      // Key sensor-p lands on one output partition: find it by its records.
      const mine = out.flat().filter((r) => r.key!.toString() === `sensor-${p}`)
      const expected = Array.from({ length: 200 }, (_, i) => i).filter((i) => !bad.get(p)!.includes(i))
      assert.deepEqual(seqs(mine), expected, `every good record of partition ${p}, in order`)
    }

    const dlq = (await readTopic(dataDir, 'dlq')).flat()
    assert.equal(dlq.length, 5)
    const found = dlq
      .map((r) => ({
        partition: Number(header(r, 'eddy.source.partition')),
        offset: Number(header(r, 'eddy.source.offset')),
      }))
      .sort((x, y) => x.partition - y.partition || x.offset - y.offset)
    assert.deepEqual(found, [
      { partition: 0, offset: 5 },
      { partition: 0, offset: 120 },
      { partition: 1, offset: 0 },
      { partition: 1, offset: 77 },
      { partition: 1, offset: 199 },
    ])
    for (const r of dlq) {
      const offset = Number(header(r, 'eddy.source.offset'))
      assert.equal(header(r, 'eddy.source.topic'), 'readings')
      assert.equal(header(r, 'eddy.step'), 'read')
      assert.match(header(r, 'eddy.error') ?? '', /not valid JSON/)
      // The original bytes, key and timestamp, unchanged.
      assert.equal(r.value!.toString(), `{"seq": ${offset}, "celsius": oops`)
      assert.equal(r.key!.toString(), `sensor-${header(r, 'eddy.source.partition')}`)
      assert.equal(r.timestamp, 1_000 + offset)
    }
    const status = a.status()
    assert.equal(status, null, 'the app is no longer running')
  })

  it('fail (default): run() rejects with a ProcessingError naming the step and record; nothing after it is committed', async () => {
    const dataDir = tmpDir('bad-fail')
    const BAD_OFFSET = 300
    await writeInputs(dataDir, 'readings', PARTITIONS, readings(400, new Map([[1, [BAD_OFFSET]]])))
    const build = () => {
      // Small batches and frequent commits: records before the bad one are committed first.
      const a = app({ id: 'fail', dataDir, commitIntervalMs: 1, maxBatchRecords: 25 })
      a.stream<Reading, string>('readings', json<Reading>(), { name: 'read' })
        .mapValues((r) => ({ seq: r.seq, fahrenheit: r.celsius * 1.8 + 32 }), { name: 'to-fahrenheit' })
        .to('fahrenheit')
      return a
    }
    const check = (err: unknown) => {
      assert.ok(err instanceof ProcessingError, `a ProcessingError, got ${String(err)}`)
      assert.equal(err.step, 'read')
      assert.deepEqual(err.source, { topic: 'readings', partition: 1, offset: BAD_OFFSET })
      assert.match(err.message, /step read failed on the record at readings-1 offset 300: not valid JSON/)
      assert.match(err.message, /onError/, 'the message says how to fix it')
      return true
    }
    await assert.rejects(build().run({ untilIdleMs: 200 }), check)

    const committed = async () => {
      const out = (await readTopic(dataDir, 'fahrenheit')).flat()
      return seqs(out.filter((r) => r.key!.toString() === 'sensor-1'))
    }
    const fromBad = await committed()
    assert.ok(fromBad.length > 0, 'records before the bad one were committed')
    assert.deepEqual(
      fromBad,
      Array.from({ length: fromBad.length }, (_, i) => i),
      'a prefix of partition 1, in order',
    )
    assert.ok(
      fromBad.length <= BAD_OFFSET,
      `nothing from offset ${BAD_OFFSET} on (got up to ${fromBad.at(-1)})`,
    )
    const offsets = await withLog(dataDir, (log: EventLog) =>
      log.groups.fetch('fail', [{ topic: 'readings', partition: 1 }]),
    )
    assert.ok(offsets[0]!.offset <= BAD_OFFSET, `committed offset ${offsets[0]!.offset}`)

    // Run again: it stops at the same record, as nothing moved past it.
    await assert.rejects(build().run({ untilIdleMs: 200 }), check)
    const again = await committed()
    assert.ok(again.length <= BAD_OFFSET)
    assert.deepEqual(
      again,
      Array.from({ length: again.length }, (_, i) => i),
      'still no duplicate, in order',
    )
  })
})

describe('a result the output topic cannot take', () => {
  after(cleanup)
  // One result past limits.recordBytesMax: the sink refuses it as it is written, with its source.
  const HUGE_SEQ = 7
  const build = (id: string, dataDir: string, onError?: { deadLetter: string }) => {
    const a = app({ id, dataDir, commitIntervalMs: 20 })
    a.stream<Reading, string>('readings', json<Reading>())
      .mapValues((r) => ({ seq: r.seq, note: r.seq === HUGE_SEQ ? 'x'.repeat(limits.recordBytesMax) : '' }))
      .to('notes', { name: 'write-notes', ...(onError ? { onError } : {}) })
    return a
  }

  it('deadLetter on the sink: the record goes to the DLQ with its source; the others are written', async () => {
    const dataDir = tmpDir('sink-dlq')
    await writeInputs(dataDir, 'readings', PARTITIONS, readings(20, new Map()))
    await build('sink-dlq', dataDir, { deadLetter: 'dlq' }).run({ untilIdleMs: 200 })
    const out = (await readTopic(dataDir, 'notes')).flat()
    for (let p = 0; p < PARTITIONS; p++) {
      const mine = out.filter((r) => r.key!.toString() === `sensor-${p}`)
      const expected = Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== HUGE_SEQ)
      assert.deepEqual(seqs(mine), expected, `every other record of partition ${p}, in order`)
    }
    const dlq = (await readTopic(dataDir, 'dlq')).flat()
    assert.deepEqual(dlq.map((r) => [header(r, 'eddy.step'), header(r, 'eddy.source.offset')]).sort(), [
      ['write-notes', String(HUGE_SEQ)],
      ['write-notes', String(HUGE_SEQ)],
    ])
    assert.match(header(dlq[0]!, 'eddy.error') ?? '', /limits\.recordBytesMax/)
  })

  it('fail (default): run() rejects with a ProcessingError naming the sink and the source record', async () => {
    const dataDir = tmpDir('sink-fail')
    await writeInputs(
      dataDir,
      'readings',
      1,
      readings(20, new Map()).filter((i) => i.partition === 0),
    )
    await assert.rejects(build('sink-fail', dataDir).run({ untilIdleMs: 200 }), (err: unknown) => {
      assert.ok(err instanceof ProcessingError, `a ProcessingError, got ${String(err)}`)
      assert.equal(err.step, 'write-notes')
      assert.deepEqual(err.source, { topic: 'readings', partition: 0, offset: HUGE_SEQ })
      assert.match(err.message, /limits\.recordBytesMax/)
      return true
    })
  })
})
