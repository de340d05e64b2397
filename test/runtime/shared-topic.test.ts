// Two pipelines of one app reading the same topic: a slow one (an async step) and a fast one. An
// app has one committed offset per topic partition, so they must run as one task: when they ran
// as two sub-topologies, the fast one's offset overwrote the slow one's, and after a restart the
// slow one skipped what it had not yet processed (exactly-once lost records).
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { app, json } from '../../src/index.js'
import { cleanup, readTopic, tmpDir, writeInputs } from './harness.js'

const RECORDS = 3_000

describe('one topic read by two pipelines of an app', () => {
  after(cleanup)

  it('each gets every record once, across a stop and a restart', async () => {
    const dataDir = tmpDir('shared-topic')
    await writeInputs(
      dataDir,
      'in',
      1,
      Array.from({ length: RECORDS }, (_, i) => ({
        partition: 0,
        key: 'k',
        value: Buffer.from(JSON.stringify({ i })),
        timestamp: i,
      })),
    )
    const build = () => {
      const a = app({ id: 'shared', dataDir, commitIntervalMs: 20 })
      a.stream<{ i: number }>('in', json(), { name: 'slow-source' })
        .mapAsync(
          async (v) => {
            await new Promise((r) => setTimeout(r, 1))
            return v
          },
          { concurrency: 4, name: 'slow' },
        )
        .to('slow-out')
      a.stream<{ i: number }>('in', json(), { name: 'fast-source' }).to('fast-out')
      return a
    }
    const seqs = async (topic: string) =>
      (await readTopic(dataDir, topic))
        .flat()
        .map((r) => (JSON.parse(r.value!.toString()) as { i: number }).i)

    // Stopped while the slow pipeline is behind.
    const stop = new AbortController()
    setTimeout(() => stop.abort(), 100)
    await build().run({ signal: stop.signal })
    const slowSoFar = (await seqs('slow-out')).length
    assert.ok(slowSoFar < RECORDS, `the slow pipeline was stopped part-way (${slowSoFar})`)

    await build().run({ untilIdleMs: 200 })
    const all = Array.from({ length: RECORDS }, (_, i) => i)
    assert.deepEqual(await seqs('fast-out'), all)
    assert.deepEqual(await seqs('slow-out'), all)
  })
})
