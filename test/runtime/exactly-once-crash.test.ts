// Crash test of the runtime (DESIGN.md §5): a child runs a stateful app (groupBy → per-minute
// counts emitted when final, a running total table, and a stateless branch) on an embedded log
// whose input was written first; the parent kills it with SIGKILL at random moments and restarts
// it on the same data dir, round after round, until a run ends by itself (its inputs idle). Then
// the committed outputs (read_committed) are compared with an uninterrupted run on a copy of the
// input:
// - exactly_once: the same records: no duplicate, nothing missing (per-minute counts as a
//   multiset; the stateless branch in order per partition; the table's final value per key, and
//   each key's running count 1..n exactly once);
// - at_least_once: nothing missing (every expected record present at least once; counts may be
//   inflated by replays, never short).
// EDDY_CRASH_SEED repeats a run; EDDY_CRASH_KILLS sets the kills of the exactly-once test.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { LogRecord } from '../../src/core/record.js'
import { type CrashPipeline, crashRuns, type Outputs, outputsOf, runChild } from './crash-runs.js'
import { EOS_OUTPUTS, EOS_PARTITIONS, EOS_TOPIC, eosInput } from './eos-pipeline.js'
import { cleanup, counts, describeRecord, multiset, prng, tmpDir, writeInputs } from './harness.js'

const SEED = Number(process.env.EDDY_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))
const EOS_KILLS = Number(process.env.EDDY_CRASH_KILLS ?? 20)
const ALOS_KILLS = 4
const RECORDS = 20_000

const PAYMENTS: CrashPipeline = {
  name: 'payments',
  writeInput: (dataDir) => writeInputs(dataDir, EOS_TOPIC, EOS_PARTITIONS, eosInput(RECORDS)),
  outputs: EOS_OUTPUTS,
  progressTopic: 'even',
}

const values = (records: readonly LogRecord[]) =>
  records.map((r) => JSON.parse(r.value!.toString()) as Record<string, unknown>)

/** Per-minute results by window: key/start/end → count. */
function windows(records: readonly LogRecord[]): Map<string, number[]> {
  const m = new Map<string, number[]>()
  for (const v of values(records)) {
    const id = `${v.key}@${v.start}-${v.end}`
    m.set(id, [...(m.get(id) ?? []), v.value as number])
  }
  return m
}

/** The table's updates per key, in offset order (one key lives in one partition). */
function tableUpdates(parts: readonly LogRecord[][]): Map<string, { payments: number; total: number }[]> {
  const m = new Map<string, { payments: number; total: number }[]>()
  for (const part of parts) {
    for (const r of part) {
      const k = r.key!.toString()
      m.set(k, [...(m.get(k) ?? []), JSON.parse(r.value!.toString()) as { payments: number; total: number }])
    }
  }
  return m
}

describe('the runtime under SIGKILL', () => {
  let expected: Outputs
  /** How long an uninterrupted child runs, from `running`: kills land within it. */
  let runMs = 0
  const rand = prng(SEED)

  before(async () => {
    const dataDir = tmpDir('crash-reference')
    await PAYMENTS.writeInput(dataDir)
    const reference = await runChild(dataDir, PAYMENTS, 'exactly_once', null)
    runMs = reference.ms
    expected = await outputsOf(dataDir, PAYMENTS)
    // The reference itself is sane: every payment counted once.
    const totals = tableUpdates(expected.get('merchant-totals')!)
    assert.equal(
      [...totals.values()].reduce((s, u) => s + u.at(-1)!.payments, 0),
      RECORDS,
    )
    assert.ok(expected.get('per-minute')!.flat().length > 1000)
  })
  after(cleanup)

  it(`exactly_once: the committed output equals an uninterrupted run's, after ${EOS_KILLS} kills`, {
    timeout: 120_000,
  }, async (t) => {
    t.diagnostic(`seed ${SEED} (EDDY_CRASH_SEED=${SEED} repeats this run)`)
    t.diagnostic(`an uninterrupted run takes ${runMs} ms`)
    const runs = await crashRuns(PAYMENTS, 'exactly_once', EOS_KILLS, runMs, rand, (l) => t.diagnostic(l))
    for (const [i, got] of runs.entries()) {
      const where = `run ${i} (seed ${SEED})`
      assert.deepEqual(
        multiset(got.get('per-minute')!.flat()),
        multiset(expected.get('per-minute')!.flat()),
        `${where}: per-minute counts`,
      )
      const even = got.get('even')!
      for (let p = 0; p < EOS_PARTITIONS; p++) {
        assert.deepEqual(
          even[p]!.map(describeRecord),
          expected.get('even')![p]!.map(describeRecord),
          `${where}: even-${p}, in order`,
        )
      }
      const table = tableUpdates(got.get('merchant-totals')!)
      const want = tableUpdates(expected.get('merchant-totals')!)
      assert.deepEqual([...table.keys()].sort(), [...want.keys()].sort(), `${where}: table keys`)
      for (const [k, updates] of table) {
        const w = want.get(k)!
        assert.deepEqual(updates.at(-1), w.at(-1), `${where}: final value of ${k}`)
        // Each payment of the key counted once: its running count goes 1, 2, …, n.
        assert.deepEqual(
          updates.map((u) => u.payments),
          w.map((_, i) => i + 1),
          `${where}: running count of ${k}`,
        )
      }
    }
  })

  it(`at_least_once: nothing is missing after ${ALOS_KILLS} kills`, { timeout: 120_000 }, async (t) => {
    t.diagnostic(`seed ${SEED} (EDDY_CRASH_SEED=${SEED} repeats this run)`)
    const runs = await crashRuns(PAYMENTS, 'at_least_once', ALOS_KILLS, runMs, rand, (l) => t.diagnostic(l))
    let duplicates = 0
    for (const [i, got] of runs.entries()) {
      const where = `run ${i} (seed ${SEED})`
      const have = counts(multiset(got.get('even')!.flat()))
      for (const [r, n] of counts(multiset(expected.get('even')!.flat()))) {
        assert.ok((have.get(r) ?? 0) >= n, `${where}: even record ${r} is missing`)
        duplicates += (have.get(r) ?? 0) - n
      }
      const gotWindows = windows(got.get('per-minute')!.flat())
      for (const [id, [n]] of windows(expected.get('per-minute')!.flat())) {
        const results = gotWindows.get(id)
        assert.ok(results !== undefined, `${where}: no result for window ${id}`)
        assert.ok(
          results.some((c) => c >= n!),
          `${where}: window ${id} counted ${results.join(', ')}, expected at least ${n}`,
        )
      }
      const table = tableUpdates(got.get('merchant-totals')!)
      for (const [k, w] of tableUpdates(expected.get('merchant-totals')!)) {
        const last = table.get(k)?.at(-1)
        assert.ok(last !== undefined, `${where}: no total for ${k}`)
        assert.ok(
          last.payments >= w.at(-1)!.payments && last.total >= w.at(-1)!.total,
          `${where}: total of ${k}`,
        )
      }
    }
    t.diagnostic(`${duplicates} duplicate record(s) in the stateless branch`)
  })
})
