import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { encodedBytes, json, string } from './serde.js'

describe('serdes', () => {
  it("json and string: serializeText is the text of serialize's bytes, and reads back", () => {
    const j = json<unknown>()
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = j.serializeText!(v)
        assert.deepEqual(encodedBytes(text), j.serialize(v))
        if (v !== null) assert.deepEqual(j.deserialize(encodedBytes(text)), JSON.parse(JSON.stringify(v)))
      }),
    )
    const s = string()
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (v) => {
        assert.deepEqual(encodedBytes(s.serializeText!(v)), s.serialize(v))
        assert.equal(s.deserialize(encodedBytes(s.serializeText!(v))), s.deserialize(s.serialize(v)))
      }),
    )
    assert.equal(j.serializeText!(null), null)
    assert.equal(s.serializeText!(null as unknown as string), null)
  })

  it("json's serialize gives bytes of their own, also from the fast path; serializeTransient reuses", () => {
    const j = json<{ id: number; user: string }>()
    const kept = Array.from({ length: 6 }, (_, i) => j.serialize({ id: i, user: `u${i}` })!)
    for (const [i, b] of kept.entries()) assert.equal(b.toString(), JSON.stringify({ id: i, user: `u${i}` }))
    const first = j.serializeTransient!({ id: 1, user: 'a' }) as Buffer
    const second = j.serializeTransient!({ id: 2, user: 'b' }) as Buffer
    assert.ok(Buffer.isBuffer(second) && second.toString() === '{"id":2,"user":"b"}')
    assert.equal(first.buffer, second.buffer, 'the transient bytes share one buffer')
  })

  it('json writes integers as JSON.stringify does, and reads them back', () => {
    const serde = json<number>()
    const cases = [0, -0, 1, -1, 9, 10, 99, 100, -100, 2 ** 31, -(2 ** 31), 2 ** 53 - 1, -(2 ** 53 - 1)]
    let seed = 7
    for (let i = 0; i < 3000; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      const magnitude = 10 ** (i % 16)
      cases.push(((seed / 2 ** 31) * 2 - 1) * magnitude)
      cases.push(Math.trunc(((seed / 2 ** 31) * 2 - 1) * magnitude))
    }
    for (const n of cases) {
      const bytes = serde.serialize(n)!
      assert.equal(bytes.toString('utf8'), JSON.stringify(n), `${n}`)
      assert.equal(serde.deserialize(bytes), Object.is(n, -0) ? 0 : n)
    }
    assert.notEqual(serde.serialize(5), serde.serialize(5), 'bytes of their own')
  })

  it('json refuses a value with no JSON form, by name', () => {
    const j = json<unknown>()
    assert.throws(() => j.serialize(() => 1), {
      code: 'INVALID_RECORD',
      message: /a function has no JSON form/,
    })
    assert.throws(() => j.serializeText!(Symbol('s')), { code: 'INVALID_RECORD', message: /a symbol/ })
  })
})
