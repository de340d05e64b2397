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

  it('json refuses a value with no JSON form, by name', () => {
    const j = json<unknown>()
    assert.throws(() => j.serialize(() => 1), {
      code: 'INVALID_RECORD',
      message: /a function has no JSON form/,
    })
    assert.throws(() => j.serializeText!(Symbol('s')), { code: 'INVALID_RECORD', message: /a symbol/ })
  })
})
