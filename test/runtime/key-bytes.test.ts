// Keys no step reads travel from source to sink as the bytes they were read as (plan/key-bytes.ts),
// on the real runtime: the output keys are the input's bytes, the output partition follows them,
// and a step that takes the record still sees the decoded key.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { partitionForKey } from '../../src/core/murmur2.js'
import { app, json } from '../../src/index.js'
import { cleanup, readTopic, tmpDir, withLog } from './harness.js'

interface Reading {
  readonly n: number
}

/** Keys that are valid UTF-8, a null key, and bytes that are not UTF-8 (a decode would replace them). */
const KEYS: readonly (Buffer | null)[] = [
  Buffer.from('sensor-1'),
  Buffer.from('capteur-é'),
  null,
  Buffer.from([0x73, 0xff, 0xfe, 0x80]),
]

async function writeReadings(dataDir: string, count: number): Promise<void> {
  await withLog(dataDir, async (log) => {
    log.createTopic('readings', { partitions: 1 })
    log.createTopic('out', { partitions: 3 })
    const records = Array.from({ length: count }, (_, i) => ({
      key: KEYS[i % KEYS.length]!,
      value: Buffer.from(JSON.stringify({ n: i })),
      timestamp: 1_000 + i,
    }))
    await log.append('readings', 0, records)
  })
}

describe('keys kept as bytes, end to end', () => {
  after(cleanup)

  it('filter → mapValues → to: every output key is its input key byte for byte, in its partition', async () => {
    const dataDir = tmpDir('key-bytes')
    await writeReadings(dataDir, 40)
    const a = app({ id: 'kb', dataDir, commitIntervalMs: 20 })
    a.stream<Reading>('readings', json<Reading>())
      .filter((r) => r.n % 3 !== 0)
      .mapValues((r) => ({ twice: r.n * 2 }))
      .to('out')
    await a.run({ untilIdleMs: 200 })
    const out = (await readTopic(dataDir, 'out')).flatMap((records, partition) =>
      records.map((r) => ({
        partition,
        key: r.key,
        n: (JSON.parse(r.value!.toString()) as { twice: number }).twice / 2,
      })),
    )
    assert.equal(out.length, 26)
    for (const r of out) {
      const key = KEYS[r.n % KEYS.length]!
      assert.deepEqual(r.key, key, `record ${r.n}`)
      if (key !== null) assert.equal(r.partition, partitionForKey(key, 3), `record ${r.n}'s partition`)
    }
  })

  it('a step that takes the record reads the decoded key, and the sink encodes it again', async () => {
    const dataDir = tmpDir('key-decoded')
    await writeReadings(dataDir, 8)
    const seen: unknown[] = []
    const a = app({ id: 'kd', dataDir, commitIntervalMs: 20 })
    a.stream<Reading>('readings', json<Reading>())
      .filter((_r, rec) => {
        seen.push(rec.key)
        return true
      })
      .to('out')
    await a.run({ untilIdleMs: 200 })
    assert.deepEqual(seen.slice(0, 4), ['sensor-1', 'capteur-é', null, KEYS[3]!.toString()])
    const keys = (await readTopic(dataDir, 'out')).flat().map((r) => r.key?.toString('hex') ?? null)
    // Decoded and encoded again: the bytes that were not UTF-8 came back as U+FFFD.
    assert.ok(keys.includes(Buffer.from(KEYS[3]!.toString()).toString('hex')))
    assert.ok(!keys.includes(KEYS[3]!.toString('hex')))
  })
})
