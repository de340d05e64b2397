import { MemoryKeyValueStore, MemoryWindowStore } from './memory-stores.js'
import { storeConformance } from './store-conformance.js'

storeConformance('memory', () => ({
  keyValueStore: (name) => new MemoryKeyValueStore(name),
  windowStore: (name) => new MemoryWindowStore(name),
  commit: () => {},
}))
