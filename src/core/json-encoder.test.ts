import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { JsonEncoder } from './json-encoder.js'

/** The encoder's bytes, where it takes the value, are JSON.stringify's. */
function assertSame(encoder: JsonEncoder, value: unknown): boolean {
  const bytes = encoder.encode(value)
  if (bytes === null) return false
  const text = JSON.stringify(value)
  assert.equal(bytes.toString('utf8'), text)
  assert.ok(bytes.equals(Buffer.from(text, 'utf8')))
  return true
}

// Mostly what the fast path takes, some of what it leaves to JSON.stringify.
const flatValue = fc.oneof(
  { arbitrary: fc.integer(), weight: 4 },
  { arbitrary: fc.integer({ min: -(2 ** 31) - 10, max: -(2 ** 31) + 10 }), weight: 1 },
  {
    arbitrary: fc
      .double({ min: -1e6, max: 1e6, noDefaultInfinity: true, noNaN: true })
      .map((d) => Math.round(d * 100) / 100),
    weight: 4,
  },
  { arbitrary: fc.string({ unit: fc.constantFrom(...'abcXYZ-_ 019:/\u007f') }), weight: 4 },
  { arbitrary: fc.boolean(), weight: 2 },
  { arbitrary: fc.constant(null), weight: 2 },
  fc.double(),
  fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e21, 1e-7, 2 ** 53, -(2 ** 31)),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('"', '\\', '\n', 'a', 'é', '\u2028', '\ud800') }),
  fc.constantFrom(undefined, [1, 2], { a: 1 }, () => 1, new Date(0)),
)

const keyName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.constantFrom('__proto__', '0', '12', 'a b', 'toJSON', 'é'),
)

describe('JsonEncoder', () => {
  it('takes the fast path from the third object of a shape on, with JSON.stringify bytes', () => {
    const encoder = new JsonEncoder()
    for (let i = 0; i < 10; i++) {
      const v = { id: i - 5, user: `user-${i}`, cents: i * 1.25, ok: i % 2 === 0, note: null }
      const bytes = encoder.encode(v)
      if (i >= 2) assert.equal(bytes?.toString(), JSON.stringify(v))
      else assert.equal(bytes, null)
    }
    assert.equal(encoder.fastEncodes, 8)
  })

  it('gives JSON.stringify bytes for runs of flat objects of one shape, or leaves them to it', () => {
    let hits = 0
    fc.assert(
      fc.property(
        fc.uniqueArray(keyName, { minLength: 1, maxLength: 4 }),
        fc.array(fc.array(flatValue, { minLength: 4, maxLength: 4 }), { minLength: 3, maxLength: 12 }),
        (keys, rows) => {
          const encoder = new JsonEncoder()
          for (const row of rows) {
            const object: Record<string, unknown> = {}
            keys.forEach((k, i) => {
              Object.defineProperty(object, k, { value: row[i], enumerable: true, writable: true })
            })
            assertSame(encoder, object)
          }
          hits += encoder.fastEncodes
        },
      ),
      { numRuns: 300 },
    )
    assert.ok(hits > 100, `only ${hits} objects took the fast path`)
  })

  it('objects that only look like a learned shape go to JSON.stringify', () => {
    const encoder = new JsonEncoder()
    const plain = () => ({ a: 1, b: 'x' })
    assertSame(encoder, plain())
    assertSame(encoder, plain())
    assert.ok(assertSame(encoder, plain()))
    class WithToJson {
      a = 1
      b = 'x'
      toJSON() {
        return 'custom'
      }
    }
    const inherited = Object.assign(Object.create({ c: 3 }), { a: 1, b: 'x' })
    const getter = {
      a: 1,
      get b() {
        return 'y'
      },
    }
    const others = [
      new WithToJson(),
      inherited,
      { a: 1, b: 'x', c: 2 },
      { b: 'x', a: 1 },
      { a: 1 },
      { a: 1, b: undefined },
      { a: 1n, b: 'x' },
      { a: { nested: true }, b: 'x' },
      { a: 1, b: 'ü' },
    ]
    for (const v of others) {
      const bytes = encoder.encode(v)
      if (bytes !== null) assert.equal(bytes.toString(), JSON.stringify(v))
    }
    assert.equal(encoder.encode(new WithToJson()), null)
    assert.equal(encoder.encode(inherited), null)
    assert.equal(encoder.encode({ a: 1, b: 'ü' }), null)
    assert.equal(encoder.encode({ a: 1n, b: 'x' }), null)
    // A getter is read the way JSON.stringify reads it, and gives its bytes.
    assert.equal(encoder.encode(getter)?.toString(), JSON.stringify(getter))
  })

  it('numbers with cents, and every other number, as JSON.stringify writes them', () => {
    const encoder = new JsonEncoder()
    for (let i = 0; i < 3; i++) encoder.encode({ n: i })
    const check = (n: number) => assert.equal(encoder.encode({ n })?.toString(), JSON.stringify({ n }))
    for (let m = -100_000; m <= 100_000; m++) check(m / 100)
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 }), fc.integer({ min: 1, max: 4 }), (m, d) =>
        check(m / 10 ** d),
      ),
      { numRuns: 20_000 },
    )
    fc.assert(
      fc.property(fc.double(), (n) => check(n)),
      { numRuns: 20_000 },
    )
    for (const n of [0.1 + 0.2, 1e21, 1e-7, -1e-7, 2 ** 53, 21474836.47, 21474836.48, -21474836.47, 0.005])
      check(n)
  })

  it('a view it returned stays good until its next call only', () => {
    const encoder = new JsonEncoder()
    for (let i = 0; i < 3; i++) encoder.encode({ id: i })
    const first = Buffer.from(encoder.encode({ id: 1 })!)
    assert.equal(first.toString(), '{"id":1}')
    assert.equal(encoder.encode({ id: 22 })!.toString(), '{"id":22}')
  })
})
