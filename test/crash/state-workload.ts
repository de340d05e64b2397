// What the state crash test's child and parent share: the task's stores and a fingerprint of them.
import { createHash } from 'node:crypto'
import * as path from 'node:path'
import { systemClock } from '../../src/core/clock.js'
import { json, string } from '../../src/core/serde.js'
import type { StoreSpec } from '../../src/core/store.js'
import type { TaskState, TaskStateOptions } from '../../src/state/task-state.js'
import type { Transport } from '../../src/transport/transport.js'

export const STATE_CRASH_TXN_ID = 'state-crash-task'

export const STATE_CRASH_SPECS: StoreSpec[] = [
  { name: 'totals', kind: 'kv', keySerde: string(), valueSerde: json() },
  { name: 'per-minute', kind: 'window', keySerde: json(), valueSerde: json() },
]

/**
 * `round` picks how often committed writes reach lmdb: at every commit, every 15 ms (kills land
 * between persists and inside them), or at the default interval (most kills find lmdb behind).
 */
export function stateCrashOptions(root: string, transport: Transport, round = 0): TaskStateOptions {
  return {
    dir: path.join(root, 'state'),
    appId: 'crash-app',
    taskId: '0_0',
    partition: 0,
    changelogPartitions: 1,
    specs: STATE_CRASH_SPECS,
    transport,
    changelogTopic: (store) => `crash-app-${store}-changelog`,
    clock: systemClock,
    // Small steps, so kills also land inside a restore.
    restoreFetchBytes: 16 * 1024,
    persistIntervalMs: [0, 15, undefined][round % 3],
  }
}

/** A digest of every entry of the task's stores, independent of iteration order. */
export function fingerprint(state: TaskState): string {
  const kv = [...state.keyValueStore<string, unknown>('totals').entries()]
    .map((e) => JSON.stringify(e))
    .sort()
  const win = [...state.windowStore<unknown, unknown>('per-minute').entries()]
    .map((e) => JSON.stringify(e))
    .sort()
  return createHash('sha256')
    .update(JSON.stringify([kv, win]))
    .digest('hex')
    .slice(0, 16)
}
