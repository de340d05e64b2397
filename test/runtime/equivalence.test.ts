// Same input, same results (DESIGN.md §4): the same pipelines run through the TestDriver and through
// the real runtime (App.run on an embedded log in a temporary directory) produce the same outputs.
//
// The input: 3 partitions, keyed records (each key in its own partition), out-of-order timestamps
// within the allowed lateness, and some records far too late.
// - Windows in the source tasks (groupByKey: no repartition) see each partition in the same
//   order in both, so their outputs, late records included, are compared exactly per partition.
// - Across a repartition (groupBy), downstream event time comes from watermark markers, and how
//   upstream tasks interleave differs (the driver after every record, the runtime per batch), so
//   there: on-time records only, and the results compared as multisets (the windowed results) or
//   by their final value per key (the table).
// - Stateless chains keep the key, so their outputs are compared exactly per partition.
// Joins have their own input and pipeline: join-equivalence.test.ts.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { partitionForKey } from '../../src/core/murmur2.js'
import type { LogRecord } from '../../src/core/record.js'
import {
  type App,
  app,
  avg,
  count,
  hopping,
  json,
  type Stream,
  session,
  sliding,
  sum,
  type Topology,
  tumbling,
} from '../../src/index.js'
import { TestDriver } from '../../src/testing/test-driver.js'
import {
  cleanup,
  describeRecord,
  type Input,
  multiset,
  prng,
  readTopic,
  tmpDir,
  writeInputs,
} from './harness.js'

interface Event {
  readonly user: string
  readonly group: string
  readonly n: number
  /** Generated far too late (filtered out before the repartition). */
  readonly late: boolean
}

const PARTITIONS = 3
const OUT_OF_ORDER_MS = 5_000
const RECORDS = 3_000
const SEED = 20261121

/**
 * The input in arrival order: timestamps rise 1 s a record, less up to the allowed out-of-orderness
 * (so no record is late for its partition); 1 in 40 is 10 minutes late.
 */
function generate(): Input[] {
  const rand = prng(SEED)
  const out: Input[] = []
  for (let i = 0; i < RECORDS; i++) {
    const user = `user-${Math.floor(rand() * 24)}`
    const late = i > 100 && rand() < 0.025
    const base = 1_000_000 + i * 1_000
    const timestamp = late
      ? base - 600_000 - Math.floor(rand() * 60_000)
      : base - Math.floor(rand() * OUT_OF_ORDER_MS)
    const event: Event = { user, group: `g${Math.floor(rand() * 5)}`, n: Math.floor(rand() * 100), late }
    out.push({
      partition: partitionForKey(Buffer.from(user), PARTITIONS),
      key: user,
      value: Buffer.from(JSON.stringify(event)),
      timestamp,
    })
  }
  return out
}

/** Topics compared exactly, per partition. */
const EXACT = [
  'tumbling-count',
  'tumbling-late',
  'hopping-avg',
  'session-count',
  'sliding-count',
  'sliding-late',
  'stateless',
  'stateless-big',
]
/** Topics compared as multisets. */
const MULTISET = ['by-group-tumbling', 'by-group-session']
/** Tables: compared by the final value per key. */
const TABLES = ['group-totals']

function build(t: Topology): void {
  const events: Stream<string, Event> = t.stream<Event, string>('events', json<Event>())
  const byUser = events.groupByKey()

  const tumblingCount = byUser.window(tumbling({ size: '1m', grace: '2s' })).count({ name: 'tumbling' })
  tumblingCount.final().to('tumbling-count')
  tumblingCount.lateRecords().to('tumbling-late')

  byUser
    .window(hopping({ size: '2m', every: '30s' }))
    .aggregate(
      avg((e: Event) => e.n),
      { name: 'hopping' },
    )
    .final()
    .to('hopping-avg')

  byUser
    .window(session({ gap: '20s', grace: '1s' }))
    .count({ name: 'session' })
    .final()
    .to('session-count')

  const slidingCount = byUser.window(sliding({ size: '30s' })).count({ name: 'sliding' })
  slidingCount.final().to('sliding-count')
  slidingCount.lateRecords().to('sliding-late')

  const { big, rest } = events
    .filter((e) => e.n % 7 !== 0, { name: 'not-sevens' })
    .mapValues((e) => ({ user: e.user, n: e.n, double: e.n * 2 }), { name: 'shape' })
    .flatMapValues((e) => (e.n % 5 === 0 ? [e, { ...e, copy: true }] : [e]), { name: 'fives-twice' })
    .split({ big: (e) => e.n >= 50 }, { name: 'size' })
  big.to('stateless-big')
  rest.to('stateless')

  // Across a repartition: on-time records only.
  const byGroup = events
    .filter((e) => !e.late, { name: 'on-time' })
    .groupBy((e) => e.group, { name: 'by-group' })
  byGroup
    .window(tumbling({ size: '1m' }))
    .count({ name: 'group-tumbling' })
    .final()
    .to('by-group-tumbling')
  byGroup
    .window(session({ gap: '3s' }))
    .count({ name: 'group-session' })
    .final()
    .to('by-group-session')
  byGroup
    .aggregate({ events: count(), total: sum((e: Event) => e.n) }, { name: 'group-totals' })
    .toStream()
    .to('group-totals')
}

type Outputs = Map<string, LogRecord[][]>

function runDriver(inputs: readonly Input[]): Outputs {
  const t = app({ id: 'equivalence' })
  build(t)
  const d = new TestDriver(t, { partitions: { events: PARTITIONS }, outOfOrdernessMs: OUT_OF_ORDER_MS })
  for (const r of inputs) {
    d.pipeRaw('events', {
      key: r.key === null ? null : Buffer.from(r.key),
      value: r.value,
      timestamp: r.timestamp,
      partition: r.partition,
    })
  }
  // The driver writes sink topics to one partition: route them as the runtime does (by key, over
  // as many partitions as the input has), keeping their order.
  const out: Outputs = new Map()
  for (const topic of [...EXACT, ...MULTISET, ...TABLES]) {
    const parts: LogRecord[][] = Array.from({ length: PARTITIONS }, () => [])
    for (const r of d.rawOutput(topic)) {
      assert.ok(r.key !== null, `${topic}: keyed output`)
      parts[partitionForKey(r.key, PARTITIONS)]!.push(r)
    }
    out.set(topic, parts)
  }
  return out
}

async function runRuntime(inputs: readonly Input[]): Promise<{ outputs: Outputs; ms: number }> {
  const dataDir = tmpDir('equivalence')
  await writeInputs(dataDir, 'events', PARTITIONS, inputs)
  const a: App = app({
    id: 'equivalence',
    dataDir,
    outOfOrdernessMs: OUT_OF_ORDER_MS,
    // The driver's inputs never go idle: neither may the runtime's while it runs.
    idleTimeoutMs: 3_600_000,
    commitIntervalMs: 50,
  })
  build(a)
  const started = Date.now()
  await a.run({ untilIdleMs: 300 })
  const ms = Date.now() - started
  const outputs: Outputs = new Map()
  for (const topic of [...EXACT, ...MULTISET, ...TABLES]) outputs.set(topic, await readTopic(dataDir, topic))
  return { outputs, ms }
}

const lines = (records: readonly LogRecord[]) => records.map(describeRecord)

/** The last value written per key. */
function finalPerKey(parts: readonly LogRecord[][]): Map<string, string> {
  const m = new Map<string, string>()
  for (const part of parts) for (const r of part) m.set(r.key!.toString(), r.value!.toString())
  return m
}

describe('TestDriver and runtime give the same results', () => {
  const inputs = generate()
  let driver: Outputs
  let runtime: Outputs
  before(async () => {
    driver = runDriver(inputs)
    const r = await runRuntime(inputs)
    runtime = r.outputs
  })
  after(cleanup)

  it('the input has out-of-order and late records on every partition', () => {
    for (let p = 0; p < PARTITIONS; p++) {
      const ts = inputs.filter((r) => r.partition === p).map((r) => r.timestamp)
      assert.ok(ts.length > RECORDS / 6, `partition ${p} has records`)
      const backwards = ts.filter((t, i) => i > 0 && t < ts[i - 1]!).length
      assert.ok(backwards > ts.length / 10, `partition ${p} is out of order`)
    }
    const late = (topic: string) => driver.get(topic)!.flat().length
    assert.ok(late('tumbling-late') > 20, 'the tumbling windows had late records')
    assert.ok(late('sliding-late') > 20, 'the sliding windows had late records')
  })

  for (const topic of EXACT) {
    it(`${topic}: the same records in the same order on each partition`, () => {
      const d = driver.get(topic)!
      const r = runtime.get(topic)!
      assert.ok(d.flat().length > 0, `${topic}: the driver produced results`)
      assert.equal(r.length, PARTITIONS, `${topic} has ${PARTITIONS} partitions`)
      for (let p = 0; p < PARTITIONS; p++) assert.deepEqual(lines(r[p]!), lines(d[p]!), `${topic}-${p}`)
    })
  }

  for (const topic of MULTISET) {
    it(`${topic} (after a repartition): the same results as a multiset`, () => {
      const d = multiset(driver.get(topic)!.flat())
      assert.ok(d.length > 50, `${topic}: the driver produced results`)
      assert.deepEqual(multiset(runtime.get(topic)!.flat()), d)
    })
  }

  for (const topic of TABLES) {
    it(`${topic} (after a repartition): the same final value per key`, () => {
      const d = finalPerKey(driver.get(topic)!)
      assert.equal(d.size, 5)
      assert.deepEqual(finalPerKey(runtime.get(topic)!), d)
      // And the totals add up to the on-time input.
      const onTime = inputs.map((r) => JSON.parse(r.value!.toString()) as Event).filter((e) => !e.late)
      const totals = [...d.values()].map((v) => JSON.parse(v) as { events: number; total: number })
      assert.equal(
        totals.reduce((s, v) => s + v.events, 0),
        onTime.length,
      )
      assert.equal(
        totals.reduce((s, v) => s + v.total, 0),
        onTime.reduce((s, e) => s + e.n, 0),
      )
    })
  }
})
