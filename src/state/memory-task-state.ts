// Task state held only in memory: no changelog, nothing survives a restart. For pipelines
// without stores and for tests; durable state is `TaskState` (lmdb + changelog).
import type { KeyValueStore, StoreSpec, WindowStore } from '../core/store.js'
import { MemoryKeyValueStore, MemoryWindowStore } from './memory-stores.js'

export class MemoryTaskState {
  private readonly all = new Map<string, KeyValueStore<unknown, unknown> | WindowStore<unknown, unknown>>()

  readonly stores = {
    keyValueStore: (spec: StoreSpec): KeyValueStore<unknown, unknown> => {
      const s = new MemoryKeyValueStore<unknown, unknown>(spec.name)
      this.all.set(spec.name, s)
      return s
    },
    windowStore: (spec: StoreSpec): WindowStore<unknown, unknown> => {
      const s = new MemoryWindowStore<unknown, unknown>(spec.name)
      this.all.set(spec.name, s)
      return s
    },
  }

  hasChanges(): boolean {
    return false
  }

  flushChangelog(): { topic: string; partition: number; records: [] }[] {
    return []
  }

  afterCommit(): void {}

  afterAbort(): void {}

  storeSizes(): Map<string, number> {
    return new Map([...this.all].map(([name, s]) => [name, s.size]))
  }

  close(): void {}
}
