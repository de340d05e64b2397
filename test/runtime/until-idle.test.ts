// untilIdleMs ends a run once the inputs have had no records for that long. Watermark markers are
// not records: with advanceWithWallClock, every task sends one through each repartition topic
// whenever the wall clock moves its event time, and a run must still end.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { partitionForKey } from '../../src/core/murmur2.js'
import { app, json } from '../../src/index.js'
import { cleanup, readTopic, tmpDir, writeInputs } from './harness.js'

interface Click {
  readonly user: string
  readonly page: string
}

const PARTITIONS = 2
/** Long enough for any run here to have ended; a run still going then has missed its idleness. */
const DEADLINE_MS = 20_000

describe('untilIdleMs', () => {
  after(cleanup)

  it('ends a run with advanceWithWallClock and a groupBy, though markers keep crossing the repartition topic', {
    timeout: 60_000,
  }, async () => {
    const dataDir = tmpDir('until-idle')
    const clicks: Click[] = Array.from({ length: 200 }, (_, i) => ({
      user: `u${i % 17}`,
      page: `/p${i % 5}`,
    }))
    await writeInputs(
      dataDir,
      'clicks',
      PARTITIONS,
      clicks.map((c, i) => ({
        partition: partitionForKey(Buffer.from(c.user), PARTITIONS),
        key: c.user,
        value: Buffer.from(JSON.stringify(c)),
        timestamp: Date.now() - 60_000 + i,
      })),
    )
    const a = app({
      id: 'idle',
      dataDir,
      advanceWithWallClock: true,
      // Inputs go idle at once, so event time follows the wall clock and markers flow.
      idleTimeoutMs: 50,
      commitIntervalMs: 20,
    })
    a.stream<Click, string>('clicks', json<Click>())
      .groupBy((c) => c.page, { name: 'by-page' })
      .count({ name: 'clicks-per-page' })
      .toStream()
      .to('page-clicks')
    const deadline = AbortSignal.timeout(DEADLINE_MS)
    const started = Date.now()
    await a.run({ untilIdleMs: 500, signal: deadline })
    assert.equal(
      deadline.aborted,
      false,
      `the run went on for ${Date.now() - started} ms, until the deadline`,
    )
    // It ended on idleness, after every click was counted.
    const last = new Map<string, number>()
    for (const r of (await readTopic(dataDir, 'page-clicks')).flat()) {
      last.set(r.key!.toString(), JSON.parse(r.value!.toString()) as number)
    }
    assert.deepEqual(
      [...last.values()].reduce((s, n) => s + n, 0),
      clicks.length,
    )
  })
})
