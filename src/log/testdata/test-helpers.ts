// Helpers shared by the log's tests.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { RecordInput } from '../../core/record.js'
import { EventLog } from '../event-log.js'
import type { IsolationLevel, LogOptions } from '../types.js'

const roots: string[] = []

/** A fresh temporary data directory; `removeTmpDirs` deletes them all. */
export function tmpDir(prefix = 'eddy-txn-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  roots.push(dir)
  return dir
}

export function removeTmpDirs(): void {
  for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true })
}

export function openLog(dir: string, opts: Partial<LogOptions> = {}): EventLog {
  return EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0, ...opts })
}

export function recs(...values: string[]): RecordInput[] {
  return values.map((v) => ({ key: Buffer.from(`k-${v}`), value: Buffer.from(v) }))
}

/** Every record value a consumer at `isolation` sees, from the start of the partition. */
export async function readValues(
  log: EventLog,
  topic: string,
  partition: number,
  isolation: IsolationLevel,
): Promise<string[]> {
  const out: string[] = []
  let offset = log.earliestOffset(topic, partition)
  const end = log.latestOffset(topic, partition, isolation)
  while (offset < end) {
    const { records, nextOffset } = await log.read(topic, partition, offset, { isolation })
    for (const r of records) if (r.offset < end) out.push(r.value?.toString() ?? '<null>')
    if (nextOffset <= offset) break
    offset = nextOffset
  }
  return out
}

/** Deterministic PRNG (mulberry32): uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function intIn(rand: () => number, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1))
}
