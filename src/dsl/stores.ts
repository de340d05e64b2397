// Declaring the stores of a low-level processor step.
import { type Duration, toMs } from '../core/duration.js'
import { json, type Serde } from '../core/serde.js'
import type { StoreSpec } from '../core/store.js'

export interface StoreOptions<K, V> {
  /** Entries not written for this long (wall-clock time) are forgotten. */
  readonly ttl?: Duration
  /** How keys and values are written to the store's changelog (JSON by default). */
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
}

/**
 * A key-value store for `stream.process(...)`.
 * @example stream.process(() => new Deduplicate(), { name: 'dedupe', stores: [keyValueStore('seen', { ttl: '1h' })] })
 */
export function keyValueStore<K = unknown, V = unknown>(
  name: string,
  opts: StoreOptions<K, V> = {},
): StoreSpec {
  return {
    name,
    kind: 'kv',
    keySerde: (opts.keySerde ?? json<K>()) as Serde<unknown>,
    valueSerde: (opts.valueSerde ?? json<V>()) as Serde<unknown>,
    ttlMs: opts.ttl === undefined ? undefined : toMs(opts.ttl, `ttl of store ${name}`),
  }
}

/**
 * A store keyed by key and window start, for `stream.process(...)`.
 * @example stream.process(() => new MyWindows(), { name: 'my-windows', stores: [windowStore('windows')] })
 */
export function windowStore<K = unknown, V = unknown>(
  name: string,
  opts: Omit<StoreOptions<K, V>, 'ttl'> = {},
): StoreSpec {
  return {
    name,
    kind: 'window',
    keySerde: (opts.keySerde ?? json<K>()) as Serde<unknown>,
    valueSerde: (opts.valueSerde ?? json<V>()) as Serde<unknown>,
  }
}
