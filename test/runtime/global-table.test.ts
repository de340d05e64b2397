// A global table on the real runtime: loaded whole from its topic before the tasks start, on
// every task whatever its partition, and kept up to date while the app runs.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { app, json } from '../../src/index.js'
import { cleanup, readTopic, tmpDir, writeInputs } from './harness.js'

const value = (v: unknown) => Buffer.from(JSON.stringify(v))

describe('global tables on the runtime', () => {
  after(cleanup)

  it('every task joins against all partitions of the table; a restart reads it again from its topic', async () => {
    const dataDir = tmpDir('global-table')
    // The countries come later in time than the payments: a global table is loaded first anyway.
    await writeInputs(dataDir, 'countries', 2, [
      { partition: 0, key: 'FR', value: value({ name: 'France' }), timestamp: 5_000 },
      { partition: 1, key: 'DE', value: value({ name: 'Germany' }), timestamp: 5_000 },
      { partition: 1, key: 'XX', value: value({ name: 'gone' }), timestamp: 5_000 },
      { partition: 1, key: 'XX', value: null, timestamp: 5_001 },
    ])
    await writeInputs(
      dataDir,
      'payments',
      3,
      Array.from({ length: 30 }, (_, i) => ({
        partition: i % 3,
        key: `card-${i}`,
        value: value({ amount: i, country: ['FR', 'DE', 'XX'][i % 3] }),
        timestamp: i,
      })),
    )
    const build = () => {
      const a = app({ id: 'global', dataDir, commitIntervalMs: 20 })
      const countries = a.globalTable<{ name: string }>('countries')
      a.stream<{ amount: number; country: string }>('payments', json())
        .leftJoin(
          countries,
          (p) => p.country,
          (p, c) => ({ amount: p.amount, country: c?.name ?? null }),
        )
        .to('enriched')
      return a
    }
    await build().run({ untilIdleMs: 200 })
    const first = (await readTopic(dataDir, 'enriched'))
      .flat()
      .map((r) => JSON.parse(r.value!.toString()) as { amount: number; country: string | null })
      .sort((a, b) => a.amount - b.amount)
    assert.equal(first.length, 30)
    for (const r of first) assert.equal(r.country, [`France`, `Germany`, null][r.amount % 3])

    // A country arrives, then payments for it: a restarted app reads the table again from its topic.
    await writeInputs(dataDir, 'countries', 2, [
      { partition: 1, key: 'XX', value: value({ name: 'Elsewhere' }), timestamp: 6_000 },
    ])
    await writeInputs(dataDir, 'payments', 3, [
      { partition: 2, key: 'card-x', value: value({ amount: 100, country: 'XX' }), timestamp: 100 },
    ])
    await build().run({ untilIdleMs: 200 })
    const all = (await readTopic(dataDir, 'enriched')).flat()
    assert.equal(all.length, 31, 'exactly once across the restart')
    const last = all
      .map((r) => JSON.parse(r.value!.toString()) as { amount: number; country: string })
      .find((r) => r.amount === 100)
    assert.equal(last?.country, 'Elsewhere')
  })

  it('a missing topic is a clear error', async () => {
    const dataDir = tmpDir('global-missing')
    await writeInputs(dataDir, 'payments', 1, [{ partition: 0, key: 'k', value: value({}), timestamp: 0 }])
    const a = app({ id: 'global', dataDir })
    a.stream('payments')
      .join(
        a.globalTable('nope'),
        () => 'k',
        (p) => p,
      )
      .to('out')
    await assert.rejects(a.run({ untilIdleMs: 100 }), /global table reads topic nope, which does not exist/)
  })
})
