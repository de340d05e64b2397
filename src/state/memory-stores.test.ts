import { MemoryKeyValueStore, MemoryWindowStore } from './memory-stores.js'
import { storeConformance } from './store-conformance.js'

storeConformance('memory', () => ({
  keyValueStore: (name, keySerde) => new MemoryKeyValueStore(name, undefined, undefined, keySerde),
  windowStore: (name) => new MemoryWindowStore(name),
  commit: () => {},
}))
