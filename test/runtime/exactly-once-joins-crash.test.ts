// Crash test of joins (DESIGN.md §5): a child runs a join pipeline (payments enriched with the
// card-holders table as of their time, with grace; and a windowed left join of payments with
// refunds within 30 s) on an embedded log whose input was written first; the parent kills it with
// SIGKILL at random moments and restarts it on the same data dir until a run ends by itself. The
// join state (table versions, stream records waiting for their grace, both sides of the window
// join and which of them found a partner) lives in stores with changelogs; after the kills the
// committed outputs (read_committed) must equal an uninterrupted run's record for record, in
// order on every partition: nothing missing, no duplicate, no unrefunded payment reported twice
// or reported although refunded.
// EDDY_CRASH_SEED repeats a run; EDDY_CRASH_KILLS sets the number of kills.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type CrashPipeline, crashRuns, type Outputs, outputsOf, runChild } from './crash-runs.js'
import { EOS_PARTITIONS, type Holder, JOIN_OUTPUTS, JOIN_TOPICS, joinInput } from './eos-pipeline.js'
import { cleanup, describeRecord, prng, tmpDir, writeInputs } from './harness.js'

const SEED = Number(process.env.EDDY_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))
const KILLS = Number(process.env.EDDY_CRASH_KILLS ?? 10)
const RECORDS = 15_000

const input = joinInput(RECORDS)
const JOINS: CrashPipeline = {
  name: 'joins',
  writeInput: async (dataDir) => {
    for (const topic of JOIN_TOPICS) await writeInputs(dataDir, topic, EOS_PARTITIONS, input.get(topic)!)
  },
  outputs: JOIN_OUTPUTS,
  progressTopic: 'enriched',
}

/** Where two partitions' records first differ, briefly (a deepEqual diff of thousands of records is slow). */
function firstDifference(got: readonly string[], want: readonly string[]): string | null {
  let i = 0
  while (i < got.length && i < want.length && got[i] === want[i]) i++
  if (i === got.length && i === want.length) return null
  return `${got.length} records, expected ${want.length}; first difference at ${i}: got ${got[i]}, want ${want[i]}`
}

describe('joins under SIGKILL', () => {
  let expected: Outputs
  let runMs = 0
  const rand = prng(SEED)

  before(async () => {
    const dataDir = tmpDir('crash-joins-reference')
    await JOINS.writeInput(dataDir)
    runMs = (await runChild(dataDir, JOINS, 'exactly_once', null)).ms
    expected = await outputsOf(dataDir, JOINS)
  })
  after(cleanup)

  it('the uninterrupted run is right: each payment once, with its holder as of its time', () => {
    const payments = input.get('payments')!
    const enriched = expected.get('enriched')!.flat()
    const ids = enriched.map((r) => (JSON.parse(r.value!.toString()) as { id: number }).id)
    assert.equal(new Set(ids).size, ids.length, 'no payment twice')
    // All but the last few seconds' payments (still within their grace when the input ended).
    assert.ok(ids.length > payments.length - 300 && ids.length <= payments.length, `${ids.length} enriched`)
    const holders = input.get('card-holders')!
    let unknown = 0
    for (const r of enriched) {
      const v = JSON.parse(r.value!.toString()) as { holder: string | null; country: string | null }
      let asOf: (typeof holders)[number] | null = null
      for (const h of holders) {
        if (
          h.key === r.key!.toString() &&
          h.timestamp <= r.timestamp &&
          (asOf === null || h.timestamp > asOf.timestamp)
        )
          asOf = h
      }
      const want = asOf?.value ? (JSON.parse(asOf.value.toString()) as Holder) : null
      assert.deepEqual([v.holder, v.country], [want?.name ?? null, want?.country ?? null])
      if (want === null) unknown++
    }
    assert.ok(unknown > 20 && unknown < enriched.length / 2, `${unknown} payments without a holder`)
    const joined = expected.get('refunds-joined')!.flat()
    const refunded = joined.filter((r) => !r.value!.toString().includes('"refund":null')).length
    assert.ok(refunded > 1000 && joined.length - refunded > 1000, `${refunded} of ${joined.length} refunded`)
  })

  it(`exactly_once: the committed join output equals an uninterrupted run's, after ${KILLS} kills`, {
    timeout: 120_000,
  }, async (t) => {
    t.diagnostic(`seed ${SEED} (EDDY_CRASH_SEED=${SEED} repeats this run)`)
    t.diagnostic(`an uninterrupted run takes ${runMs} ms`)
    const runs = await crashRuns(JOINS, 'exactly_once', KILLS, runMs, rand, (l) => t.diagnostic(l))
    for (const [i, got] of runs.entries()) {
      for (const topic of JOIN_OUTPUTS) {
        for (let p = 0; p < EOS_PARTITIONS; p++) {
          const diff = firstDifference(
            got.get(topic)![p]!.map(describeRecord),
            expected.get(topic)![p]!.map(describeRecord),
          )
          assert.equal(diff, null, `run ${i} (seed ${SEED}): ${topic}-${p}: ${diff}`)
        }
      }
    }
  })
})
