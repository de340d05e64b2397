// Task state held only in memory: no changelog, nothing survives a restart. For pipelines
// without stores and for tests; durable state is `TaskState` (lmdb + changelog).
import type { KeyValueStore, StoreSpec, WindowStore } from '../core/store.js'
import { MemoryKeyValueStore, MemoryWindowStore } from './memory-stores.js'

export class MemoryTaskState {
  private readonly all = new Map<string, KeyValueStore<unknown, unknown> | WindowStore<unknown, unknown>>()

  // Asked twice for a store (the executor, then interactive queries), it returns the same one.
  readonly stores = {
    keyValueStore: (spec: StoreSpec): KeyValueStore<unknown, unknown> => {
      const s =
        this.all.get(spec.name) ?? new MemoryKeyValueStore(spec.name, undefined, undefined, spec.keySerde)
      this.all.set(spec.name, s)
      return s as KeyValueStore<unknown, unknown>
    },
    windowStore: (spec: StoreSpec): WindowStore<unknown, unknown> => {
      const s = this.all.get(spec.name) ?? new MemoryWindowStore<unknown, unknown>(spec.name)
      this.all.set(spec.name, s)
      return s as WindowStore<unknown, unknown>
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

  persist(): void {}

  storeSizes(): Map<string, number> {
    return new Map([...this.all].map(([name, s]) => [name, s.size]))
  }

  close(): void {}
}
