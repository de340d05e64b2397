// What the runtime end-to-end tests share: a temporary data dir, writing inputs with the log's own
// producer before an app runs, and reading outputs back read_committed after it stopped.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { LogRecord, RecordInput } from '../../src/core/record.js'
import { EventLog } from '../../src/log/event-log.js'

/** Deterministic PRNG (mulberry32), the log tests' own. */
import { prng } from '../../src/log/testdata/test-helpers.js'

export { prng }

/** A fresh temporary directory; `cleanup()` removes every one made. */
const made: string[] = []
export function tmpDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `eddy-${prefix}-`))
  made.push(dir)
  return dir
}
export function cleanup(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true })
}

/** An input record for partition `partition` of a topic. */
export interface Input {
  readonly partition: number
  readonly key: string | null
  readonly value: Buffer | null
  readonly timestamp: number
}

/** Opens the log of `dataDir` (as App.run does: `<dataDir>` itself), runs `fn`, closes it. */
export async function withLog<T>(dataDir: string, fn: (log: EventLog) => Promise<T> | T): Promise<T> {
  const log = EventLog.open({ dir: dataDir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
  try {
    return await fn(log)
  } finally {
    await log.close()
  }
}

/** Creates `topic` (if missing) and appends the inputs, in order per partition. */
export async function writeInputs(
  dataDir: string,
  topic: string,
  partitions: number,
  inputs: readonly Input[],
): Promise<void> {
  await withLog(dataDir, async (log) => {
    if (!log.hasTopic(topic)) log.createTopic(topic, { partitions })
    const producer = await log.producer()
    const byPartition = new Map<number, RecordInput[]>()
    for (const r of inputs) {
      const list = byPartition.get(r.partition) ?? []
      list.push({ key: r.key === null ? null : Buffer.from(r.key), value: r.value, timestamp: r.timestamp })
      byPartition.set(r.partition, list)
    }
    for (const [p, records] of byPartition) {
      for (let i = 0; i < records.length; i += 500) await producer.send(topic, p, records.slice(i, i + 500))
    }
    await producer.close()
  })
}

/** Every committed record of a topic, per partition in offset order ([] when the topic is missing). */
export async function readTopic(dataDir: string, topic: string): Promise<LogRecord[][]> {
  return withLog(dataDir, (log) => readCommitted(log, topic))
}

export async function readCommitted(log: EventLog, topic: string): Promise<LogRecord[][]> {
  if (!log.hasTopic(topic)) return []
  const out: LogRecord[][] = []
  for (let p = 0; p < log.partitionCount(topic); p++) {
    const records: LogRecord[] = []
    const end = log.latestOffset(topic, p, 'read_committed')
    let offset = log.earliestOffset(topic, p)
    while (offset < end) {
      const r = await log.read(topic, p, offset, { isolation: 'read_committed', maxBytes: 1024 * 1024 })
      records.push(...r.records)
      if (r.nextOffset <= offset) break
      offset = r.nextOffset
    }
    out.push(records)
  }
  return out
}

/** A record as text, for multiset comparison: key, value, timestamp. */
export function describeRecord(r: { key: Buffer | null; value: Buffer | null; timestamp: number }): string {
  return JSON.stringify([r.key?.toString('utf8') ?? null, r.value?.toString('utf8') ?? null, r.timestamp])
}

/** Sorted descriptions: equal arrays mean equal multisets. */
export function multiset(
  records: Iterable<{ key: Buffer | null; value: Buffer | null; timestamp: number }>,
): string[] {
  return [...records].map(describeRecord).sort()
}

/** Counts of each element. */
export function counts(items: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>()
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1)
  return m
}
