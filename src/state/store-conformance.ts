// One conformance suite for every implementation of the store contracts (core/store.ts): the
// memory stores, the durable stores, and any later one. Call it from a *.test.ts file.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Serde } from '../core/serde.js'
import { json, string } from '../core/serde.js'
import type { KeyValueStore, WindowStore } from '../core/store.js'

export interface StoreFactory {
  keyValueStore<K, V>(name: string, keySerde: Serde<K>, valueSerde: Serde<V>): KeyValueStore<K, V>
  windowStore<K, V>(name: string, keySerde: Serde<K>, valueSerde: Serde<V>): WindowStore<K, V>
  /**
   * Makes the writes so far durable (for the durable stores: through their commit cycle), so the
   * suite also checks reads that merge durable data with later writes. A no-op for memory stores.
   */
  commit(): void | Promise<void>
  /** Frees what the stores of one test used. */
  cleanup?(): void | Promise<void>
}

function sortedEntries<K, V>(store: KeyValueStore<K, V>): [K, V][] {
  return [...store.entries()].sort((a, b) => JSON.stringify(a[0]).localeCompare(JSON.stringify(b[0])))
}

function sortedWindows<K, V>(store: WindowStore<K, V>): [K, number, V][] {
  return [...store.entries()].sort(
    (a, b) => JSON.stringify(a[0]).localeCompare(JSON.stringify(b[0])) || a[1] - b[1],
  )
}

export function storeConformance(
  implementation: string,
  makeFactory: () => StoreFactory | Promise<StoreFactory>,
): void {
  const withFactory = (fn: (f: StoreFactory) => Promise<void> | void) => async () => {
    const f = await makeFactory()
    try {
      await fn(f)
    } finally {
      await f.cleanup?.()
    }
  }

  describe(`KeyValueStore conformance: ${implementation}`, () => {
    it(
      'gets what was put, overwrites, deletes, and counts',
      withFactory(async (f) => {
        const s = f.keyValueStore<string, number>('kv', json(), json())
        assert.equal(s.name, 'kv')
        assert.equal(s.get('a'), undefined)
        assert.equal(s.size, 0)
        s.put('a', 1)
        s.put('b', 2)
        assert.equal(s.get('a'), 1)
        assert.equal(s.size, 2)
        s.put('a', 10)
        assert.equal(s.get('a'), 10)
        assert.equal(s.size, 2)
        s.delete('a')
        assert.equal(s.get('a'), undefined)
        assert.equal(s.size, 1)
        s.delete('missing')
        assert.equal(s.size, 1)
        await f.commit()
        assert.equal(s.get('b'), 2)
        assert.equal(s.get('a'), undefined)
        assert.equal(s.size, 1)
      }),
    )

    it(
      'merges committed entries with later writes: puts, overwrites and deletes',
      withFactory(async (f) => {
        const s = f.keyValueStore<string, string>('kv', json(), json())
        for (const k of ['a', 'b', 'c', 'd']) s.put(k, `${k}1`)
        await f.commit()
        s.put('b', 'b2')
        s.delete('c')
        s.put('e', 'e1')
        s.delete('e')
        s.put('f', 'f1')
        assert.deepEqual(sortedEntries(s), [
          ['a', 'a1'],
          ['b', 'b2'],
          ['d', 'd1'],
          ['f', 'f1'],
        ])
        assert.equal(s.size, 4)
        assert.equal(s.get('c'), undefined)
        assert.equal(s.get('e'), undefined)
        await f.commit()
        s.put('c', 'c3')
        assert.equal(s.size, 5)
        assert.deepEqual(
          sortedEntries(s).map(([k]) => k),
          ['a', 'b', 'c', 'd', 'f'],
        )
        await f.commit()
        assert.equal(s.size, 5)
        assert.equal(s.get('c'), 'c3')
      }),
    )

    it(
      'compares object keys by value',
      withFactory(async (f) => {
        const s = f.keyValueStore<{ user: string; page: number }, number>('kv', json(), json())
        s.put({ user: 'ann', page: 1 }, 1)
        s.put({ user: 'ann', page: 2 }, 2)
        assert.equal(s.get({ user: 'ann', page: 1 }), 1)
        s.put({ user: 'ann', page: 1 }, 3)
        assert.equal(s.size, 2)
        await f.commit()
        assert.equal(s.get({ user: 'ann', page: 1 }), 3)
        s.delete({ user: 'ann', page: 2 })
        assert.deepEqual(sortedEntries(s), [[{ user: 'ann', page: 1 }, 3]])
      }),
    )

    it(
      'keeps null-ish values apart from absent ones',
      withFactory(async (f) => {
        const s = f.keyValueStore<string, unknown>('kv', json(), json())
        const values: Record<string, unknown> = { zero: 0, empty: '', no: false, nil: null, arr: [], obj: {} }
        for (const [k, v] of Object.entries(values)) s.put(k, v)
        for (const [k, v] of Object.entries(values)) assert.deepEqual(s.get(k), v, k)
        assert.equal(s.size, 6)
        await f.commit()
        for (const [k, v] of Object.entries(values)) assert.deepEqual(s.get(k), v, k)
        assert.equal(s.size, 6)
        assert.deepEqual(new Map(s.entries()), new Map(Object.entries(values)))
        s.put('nil', 1)
        s.put('zero', null)
        assert.equal(s.get('nil'), 1)
        assert.equal(s.get('zero'), null)
      }),
    )

    it(
      'stores structured values and number keys',
      withFactory(async (f) => {
        const s = f.keyValueStore<number, { sum: number; tags: string[] }>('kv', json(), json())
        s.put(1, { sum: 1.5, tags: ['x'] })
        s.put(-2, { sum: 0, tags: [] })
        await f.commit()
        s.put(3, { sum: 3, tags: ['é', '🐟'] })
        assert.deepEqual(s.get(1), { sum: 1.5, tags: ['x'] })
        assert.deepEqual(s.get(3), { sum: 3, tags: ['é', '🐟'] })
        assert.deepEqual(
          [...s.entries()].map(([k]) => k).sort((a, b) => a - b),
          [-2, 1, 3],
        )
      }),
    )

    it(
      'lets an iteration delete every entry it visits, visiting each once',
      withFactory(async (f) => {
        const s = f.keyValueStore<string, number>('kv', json(), json())
        for (let i = 0; i < 20; i++) s.put(`k${i}`, i)
        await f.commit()
        for (let i = 20; i < 30; i++) s.put(`k${i}`, i)
        const seen: string[] = []
        for (const [k] of s.entries()) {
          seen.push(k)
          s.delete(k)
        }
        assert.equal(seen.length, 30)
        assert.equal(new Set(seen).size, 30)
        assert.equal(s.size, 0)
        assert.deepEqual([...s.entries()], [])
        await f.commit()
        assert.equal(s.size, 0)
      }),
    )
    it(
      'ranges over keys in order of their serialized bytes, bounds included, merging committed and later writes',
      withFactory(async (f) => {
        const s = f.keyValueStore<string, string>('kv', json(), json())
        for (const k of ['f', 'a', 'e', 'c', 'b', 'd']) s.put(k, `${k}1`)
        await f.commit()
        s.put('c', 'c2')
        s.delete('d')
        s.put('bb', 'bb1')
        s.put('g', 'g1')
        s.put('x', 'x1')
        s.delete('x')
        const check = () => {
          assert.deepEqual(
            [...s.range('b', 'e')],
            [
              ['b', 'b1'],
              ['bb', 'bb1'],
              ['c', 'c2'],
              ['e', 'e1'],
            ],
          )
          assert.deepEqual(
            [...s.range()].map(([k]) => k),
            ['a', 'b', 'bb', 'c', 'e', 'f', 'g'],
          )
          assert.deepEqual(
            [...s.range(undefined, 'b')].map(([k]) => k),
            ['a', 'b'],
          )
          assert.deepEqual(
            [...s.range('eee')].map(([k]) => k),
            ['f', 'g'],
          )
          assert.deepEqual([...s.range('c', 'c')], [['c', 'c2']])
          assert.deepEqual([...s.range('e', 'b')], [])
          assert.deepEqual([...s.range('d', 'd')], [])
          assert.deepEqual([...s.range('y', 'z')], [])
        }
        check()
        await f.commit()
        check()
      }),
    )

    it(
      'orders ranges by the bytes of its own key serde',
      withFactory(async (f) => {
        // 'a"b' < 'a#' as UTF-8 text, but JSON escapes the quote: "a\"b" > "a#".
        const text = f.keyValueStore<string, number>('text', string(), json())
        const asJson = f.keyValueStore<string, number>('json', json(), json())
        for (const s of [text, asJson]) {
          s.put('a#', 1)
          s.put('a"b', 2)
          s.put('é', 3)
          s.put('z', 4)
        }
        await f.commit()
        text.put('a!', 5)
        asJson.put('a!', 5)
        assert.deepEqual(
          [...text.range()].map(([k]) => k),
          ['a!', 'a"b', 'a#', 'z', 'é'],
        )
        assert.deepEqual(
          [...asJson.range()].map(([k]) => k),
          ['a!', 'a#', 'a"b', 'z', 'é'],
        )
        // JSON numbers sort as their text.
        const numbers = f.keyValueStore<number, number>('numbers', json(), json())
        for (const n of [9, -2, 10, 1]) numbers.put(n, n)
        await f.commit()
        numbers.put(3, 3)
        assert.deepEqual(
          [...numbers.range()].map(([k]) => k),
          [-2, 1, 10, 3, 9],
        )
        assert.deepEqual(
          [...numbers.range(1, 3)].map(([k]) => k),
          [1, 10, 3],
        )
        // Object keys: by their JSON text.
        const objects = f.keyValueStore<{ user: string; page: number }, number>('objects', json(), json())
        objects.put({ user: 'bob', page: 1 }, 1)
        objects.put({ user: 'ann', page: 2 }, 2)
        await f.commit()
        objects.put({ user: 'ann', page: 10 }, 3)
        assert.deepEqual(
          [...objects.range({ user: 'ann', page: 0 }, { user: 'ann', page: 9 })],
          [
            [{ user: 'ann', page: 10 }, 3],
            [{ user: 'ann', page: 2 }, 2],
          ],
        )
      }),
    )

    it(
      'lets a range iteration delete what it visits, visiting each entry once',
      withFactory(async (f) => {
        const s = f.keyValueStore<string, number>('kv', json(), json())
        for (let i = 0; i < 10; i++) s.put(`k${i}`, i)
        await f.commit()
        for (let i = 10; i < 20; i++) s.put(`k${i}`, i)
        const seen: string[] = []
        for (const [k] of s.range('k1', 'k5')) {
          seen.push(k)
          s.delete(k)
        }
        // k1, k10..k19, k2, k3, k4, k5
        assert.deepEqual(seen, [
          'k1',
          ...Array.from({ length: 10 }, (_, i) => `k${10 + i}`),
          'k2',
          'k3',
          'k4',
          'k5',
        ])
        assert.deepEqual(
          [...s.range()].map(([k]) => k),
          ['k0', 'k6', 'k7', 'k8', 'k9'],
        )
        assert.equal(s.size, 5)
      }),
    )
  })

  describe(`WindowStore conformance: ${implementation}`, () => {
    it(
      'gets, puts and deletes per key and window start, and counts windows',
      withFactory(async (f) => {
        const s = f.windowStore<string, number>('win', json(), json())
        assert.equal(s.name, 'win')
        assert.equal(s.get('a', 0), undefined)
        s.put('a', 0, 1)
        s.put('a', 60_000, 2)
        s.put('b', 0, 3)
        assert.equal(s.get('a', 0), 1)
        assert.equal(s.get('a', 60_000), 2)
        assert.equal(s.get('a', 120_000), undefined)
        assert.equal(s.size, 3)
        s.put('a', 0, 5)
        assert.equal(s.size, 3)
        s.delete('a', 0)
        s.delete('a', 999)
        assert.equal(s.get('a', 0), undefined)
        assert.equal(s.size, 2)
        await f.commit()
        assert.equal(s.get('a', 60_000), 2)
        assert.equal(s.get('b', 0), 3)
        assert.equal(s.size, 2)
      }),
    )

    it(
      'lists one key’s windows in order of start, merging committed and later writes',
      withFactory(async (f) => {
        const s = f.windowStore<string, string>('win', json(), json())
        for (const start of [3000, -1000, 1000, 0]) s.put('k', start, `v${start}`)
        s.put('other', 500, 'x')
        s.put('k2', 2000, 'y')
        assert.deepEqual(
          [...s.windowsOf('k')].map(([start]) => start),
          [-1000, 0, 1000, 3000],
        )
        await f.commit()
        s.put('k', 2000, 'v2000')
        s.put('k', 1000, 'v1000b')
        s.delete('k', 0)
        assert.deepEqual(
          [...s.windowsOf('k')],
          [
            [-1000, 'v-1000'],
            [1000, 'v1000b'],
            [2000, 'v2000'],
            [3000, 'v3000'],
          ],
        )
        assert.deepEqual([...s.windowsOf('nobody')], [])
        assert.deepEqual([...s.windowsOf('other')], [[500, 'x']])
        assert.equal(s.size, 6)
      }),
    )

    it(
      'keeps many windows of one key, written out of order: each found, deleted and listed right',
      withFactory(async (f) => {
        const s = f.windowStore<string, number>('win', json(), json())
        // 40 starts in a scrambled order (17 is prime to 40, so i * 17 % 40 visits each once).
        const starts = Array.from({ length: 40 }, (_, i) => ((i * 17) % 40) * 1000)
        for (const start of starts) s.put('k', start, start / 1000)
        for (const start of starts) assert.equal(s.get('k', start), start / 1000)
        assert.equal(s.get('k', 500), undefined)
        await f.commit()
        for (const start of starts) if ((start / 1000) % 2 === 1) s.delete('k', start)
        s.put('k', 4000, -4)
        assert.equal(s.get('k', 3000), undefined)
        assert.deepEqual(
          [...s.windowsOf('k')],
          Array.from({ length: 20 }, (_, i) => [i * 2000, i === 2 ? -4 : i * 2]),
        )
        assert.equal(s.size, 20)
      }),
    )

    it(
      'lists every window of every key once',
      withFactory(async (f) => {
        const s = f.windowStore<{ id: number }, number>('win', json(), json())
        s.put({ id: 1 }, 0, 1)
        s.put({ id: 1 }, 10, 2)
        s.put({ id: 2 }, 0, 3)
        await f.commit()
        s.put({ id: 2 }, 10, 4)
        s.put({ id: 1 }, 0, 5)
        s.delete({ id: 1 }, 10)
        assert.deepEqual(sortedWindows(s), [
          [{ id: 1 }, 0, 5],
          [{ id: 2 }, 0, 3],
          [{ id: 2 }, 10, 4],
        ])
        assert.deepEqual(
          [...s.windowsOf({ id: 2 })],
          [
            [0, 3],
            [10, 4],
          ],
        )
        assert.equal(s.size, 3)
      }),
    )

    it(
      'keeps null-ish values apart from absent ones',
      withFactory(async (f) => {
        const s = f.windowStore<string, unknown>('win', json(), json())
        s.put('k', 0, 0)
        s.put('k', 1, null)
        s.put('k', 2, '')
        s.put('k', 3, false)
        await f.commit()
        assert.deepEqual(
          [...s.windowsOf('k')],
          [
            [0, 0],
            [1, null],
            [2, ''],
            [3, false],
          ],
        )
        assert.equal(s.get('k', 1), null)
        assert.equal(s.get('k', 4), undefined)
        assert.equal(s.size, 4)
      }),
    )

    it(
      'lets an iteration delete every window it visits',
      withFactory(async (f) => {
        const s = f.windowStore<string, number>('win', json(), json())
        for (let i = 0; i < 10; i++) s.put(`k${i % 3}`, i * 1000, i)
        await f.commit()
        s.put('k9', 0, 99)
        let seen = 0
        for (const [k, start] of s.entries()) {
          seen++
          s.delete(k, start)
        }
        assert.equal(seen, 11)
        assert.equal(s.size, 0)
        assert.deepEqual([...s.windowsOf('k1')], [])
      }),
    )
  })
}
