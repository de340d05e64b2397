// The runtime over the Kafka transport, end to end, against Eddy's broker in this process: the
// exactly-once pipeline of the crash test (a repartition, windowed and keyed state with
// changelogs, a stateless branch) run on Kafka over the first part of the input, then, its local
// state deleted, over the rest (its stores restored from their changelogs on the broker, its
// watermarks from its committed offsets' metadata), gives the outputs one run on the embedded log
// gives.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { systemClock } from '../../src/core/clock.js'
import type { LogRecord, RecordInput } from '../../src/core/record.js'
import { EventLog } from '../../src/log/event-log.js'
import { AppRunner } from '../../src/runtime/app-runner.js'
import { taskStateFactory } from '../../src/state/task-state.js'
import { EmbeddedTransport } from '../../src/transport/embedded.js'
import { KafkaTransport } from '../../src/transport/kafka.js'
import type { Transport } from '../../src/transport/transport.js'
import { startBroker, type TestBroker } from '../broker/harness.js'
import { EOS_OUTPUTS, EOS_PARTITIONS, EOS_TOPIC, eosApp, eosInput } from '../runtime/eos-pipeline.js'
import { cleanup, describeRecord, type Input, multiset, tmpDir } from '../runtime/harness.js'

const INPUTS = eosInput(3000)

async function writeInputs(transport: Transport, inputs: readonly Input[]): Promise<void> {
  if ((await transport.partitionCount(EOS_TOPIC)) === null) {
    await transport.ensureTopic(EOS_TOPIC, { partitions: EOS_PARTITIONS })
  }
  const producer = await transport.producer({})
  const byPartition = new Map<number, RecordInput[]>()
  for (const r of inputs) {
    const list = byPartition.get(r.partition) ?? []
    list.push({ key: r.key === null ? null : Buffer.from(r.key), value: r.value, timestamp: r.timestamp })
    byPartition.set(r.partition, list)
  }
  for (const [p, records] of byPartition) {
    for (let i = 0; i < records.length; i += 500) await producer.send(EOS_TOPIC, p, records.slice(i, i + 500))
  }
  await producer.close()
}

async function run(transport: Transport, stateDir: string): Promise<void> {
  const plan = eosApp(stateDir, 'exactly_once', 100).plan()
  const taskState = taskStateFactory({ dir: stateDir, appId: 'eos', transport, clock: systemClock })
  const runner = new AppRunner(plan, {
    appId: 'eos',
    transport,
    taskState,
    guarantee: 'exactly_once',
    commitIntervalMs: 100,
    outOfOrdernessMs: 2_000,
    idleTimeoutMs: 3_600_000,
    maxBatchRecords: 1000,
    untilIdleMs: 500,
    // Consumed repartition records are deleted after every commit (DeleteRecords on Kafka).
    purgeIntervalMs: 0,
  })
  await runner.run()
}

/** Every committed output record, per topic and partition, in offset order. */
async function outputs(transport: Transport): Promise<Map<string, LogRecord[][]>> {
  const out = new Map<string, LogRecord[][]>()
  for (const topic of EOS_OUTPUTS) {
    const parts: LogRecord[][] = []
    const partitions = (await transport.partitionCount(topic)) ?? 0
    for (let p = 0; p < partitions; p++) {
      const records: LogRecord[] = []
      const end = await transport.latestOffset(topic, p, 'read_committed')
      let offset = await transport.earliestOffset(topic, p)
      while (offset < end) {
        const r = await transport.fetch(topic, p, offset, { isolation: 'read_committed' })
        records.push(...r.records)
        offset = r.nextOffset
      }
      parts.push(records)
    }
    out.set(topic, parts)
  }
  return out
}

/** The table's updates per key, in offset order (a key lives in one partition). */
function tableUpdates(parts: readonly LogRecord[][]): Map<string, string[]> {
  const m = new Map<string, string[]>()
  for (const part of parts) {
    for (const r of part) {
      const k = r.key!.toString()
      m.set(k, [...(m.get(k) ?? []), r.value!.toString()])
    }
  }
  return m
}

/**
 * What two runs must agree on, whatever the order records crossed the repartition topic in: the
 * per-minute counts (a multiset), the stateless branch (in order per partition), and each key's
 * final total with its running count going 1, 2, … n (every payment counted once).
 */
function assertSameResults(got: Map<string, LogRecord[][]>, want: Map<string, LogRecord[][]>): void {
  assert.deepEqual(multiset(got.get('per-minute')!.flat()), multiset(want.get('per-minute')!.flat()))
  assert.deepEqual(
    got.get('even')!.map((part) => part.map(describeRecord)),
    want.get('even')!.map((part) => part.map(describeRecord)),
  )
  const table = tableUpdates(got.get('merchant-totals')!)
  const wanted = tableUpdates(want.get('merchant-totals')!)
  assert.deepEqual([...table.keys()].sort(), [...wanted.keys()].sort())
  for (const [k, updates] of table) {
    const w = wanted.get(k)!
    assert.equal(updates.at(-1), w.at(-1), `final total of ${k}`)
    assert.deepEqual(
      updates.map((u) => (JSON.parse(u) as { payments: number }).payments),
      w.map((_, i) => i + 1),
      `running count of ${k}`,
    )
  }
}

describe('the runtime over the Kafka transport', () => {
  let b: TestBroker
  let kafka: KafkaTransport
  let expected: Map<string, LogRecord[][]>

  before(async () => {
    // The reference: the same pipeline and input on the embedded log.
    const dir = tmpDir('kafka-runtime-ref')
    const log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
    const embedded = new EmbeddedTransport(log, true)
    await writeInputs(embedded, INPUTS)
    await run(embedded, path.join(dir, 'state'))
    expected = await outputs(embedded)
    await embedded.close()
    b = await startBroker({ transactionCheckIntervalMs: 0 })
    kafka = await KafkaTransport.connect({ brokers: [`127.0.0.1:${b.port}`] })
  })

  after(async () => {
    await kafka.close()
    await b.stop()
    cleanup()
  })

  it('gives the outputs of one run on the embedded log, across a restart that restores from the changelogs', async () => {
    for (const topic of EOS_OUTPUTS) assert.ok(expected.get(topic)!.flat().length > 0, `${topic} has outputs`)
    const stateDir = tmpDir('kafka-runtime-state')
    const split = Math.floor(INPUTS.length * 0.6)
    await writeInputs(kafka, INPUTS.slice(0, split))
    await run(kafka, stateDir)
    const first = (await outputs(kafka)).get('even')!.flat().length
    assert.ok(first > 0 && first < expected.get('even')!.flat().length, 'the first run saw part of the input')
    // Local state gone: the stores restore from their changelogs on the broker.
    fs.rmSync(stateDir, { recursive: true, force: true })
    await writeInputs(kafka, INPUTS.slice(split))
    await run(kafka, stateDir)
    assertSameResults(await outputs(kafka), expected)
    // The repartition topic keeps records by no time (retention.ms -1), and what was read is purged.
    const repartition = b.log.listTopics().filter((t) => t.startsWith('eos-') && t.endsWith('-repartition'))
    assert.equal(repartition.length, 1, `topics: ${b.log.listTopics()}`)
    const topic = b.log.describeTopic(repartition[0]!)
    assert.equal(topic.config.retentionMs, null)
    assert.ok(
      topic.partitions.every((p) => p.earliestOffset > 0),
      `earliest offsets ${topic.partitions.map((p) => p.earliestOffset)}`,
    )
  })
})
