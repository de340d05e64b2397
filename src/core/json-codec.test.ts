// json()'s fast paths (core/json-decoder.ts, core/json-encoder.ts) against JSON.parse and
// JSON.stringify.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { JsonDecoder } from './json-decoder.js'
import { JsonEncoder } from './json-encoder.js'

/** JSON.parse's verdict on the bytes: the value, or that it throws. */
function reference(bytes: Buffer): { value: unknown } | { throws: true } {
  try {
    return { value: JSON.parse(bytes.toString()) }
  } catch {
    return { throws: true }
  }
}

function decodeOrThrow(decoder: JsonDecoder, bytes: Buffer): { value: unknown } | { throws: true } {
  try {
    return { value: decoder.decode(bytes) }
  } catch (err) {
    assert.ok(err instanceof SyntaxError, `decode threw ${String(err)}, not JSON.parse's SyntaxError`)
    return { throws: true }
  }
}

/** Same verdict as JSON.parse, value for value (deepStrictEqual tells -0 from 0). */
function assertSameAsParse(decoder: JsonDecoder, bytes: Buffer): void {
  assert.deepStrictEqual(decodeOrThrow(decoder, bytes), reference(bytes), `bytes: ${bytes.toString()}`)
}

/** The encoder's bytes, where it takes the value, are JSON.stringify's. */
function assertSameAsStringify(encoder: JsonEncoder, value: unknown): boolean {
  const bytes = encoder.encode(value)
  if (bytes === null) return false
  const text = JSON.stringify(value)
  assert.equal(bytes.toString('utf8'), text)
  assert.ok(bytes.equals(Buffer.from(text, 'utf8')))
  return true
}

// Values for objects of a shape: mostly what the fast paths take (integers, amounts, ASCII text,
// literals), some of what they leave to JSON.parse / JSON.stringify (exponents, long mantissas,
// escapes, non-ASCII, lone surrogates, undefined, nesting, functions, dates).
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
  fc.constantFrom(
    0,
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    1e21,
    1e-7,
    2 ** 53,
    -(2 ** 31),
    1234567890123456,
  ),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('"', '\\', '\n', 'a', 'é', '\u2028', '\ud800') }),
  fc.constantFrom(undefined, [1, 2], { a: 1 }, () => 1, new Date(0)),
)

const keyName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.constantFrom('__proto__', '0', '12', 'a b', 'toJSON', 'é'),
)

/** The object of `keys` with `row`'s values, as own data properties ("__proto__" too). */
function objectOf(keys: readonly string[], row: readonly unknown[]): Record<string, unknown> {
  const object: Record<string, unknown> = {}
  keys.forEach((k, i) => {
    Object.defineProperty(object, k, { value: row[i], enumerable: true, writable: true })
  })
  return object
}

/**
 * Runs of 3 to 12 objects of one shape (1 to 4 keys), each run through `run`, which returns how
 * many the fast path took; asserts that, over all runs, it took a fair number.
 */
function shapeRuns(run: (objects: Record<string, unknown>[]) => number): void {
  let hits = 0
  fc.assert(
    fc.property(
      fc.uniqueArray(keyName, { minLength: 1, maxLength: 4 }),
      fc.array(fc.array(flatValue, { minLength: 4, maxLength: 4 }), { minLength: 3, maxLength: 12 }),
      (keys, rows) => {
        hits += run(rows.map((row) => objectOf(keys, row)))
      },
    ),
    { numRuns: 300 },
  )
  // The properties are about the fast paths: they must have served a good share of the values.
  assert.ok(hits > 100, `only ${hits} values took the fast path`)
}

describe('JsonDecoder', () => {
  it('takes the fast path from the third record of a shape on', () => {
    const decoder = new JsonDecoder()
    for (let i = 0; i < 10; i++) {
      const text = `{"id":${i},"user":"user-${i}","amount":${i}.25,"ok":true,"note":null}`
      assert.deepStrictEqual(decoder.decode(Buffer.from(text)), JSON.parse(text))
    }
    assert.equal(decoder.fastDecodes, 8)
  })

  it('gives what JSON.parse gives for runs of flat objects of one shape, through its fast path', () => {
    shapeRuns((objects) => {
      const decoder = new JsonDecoder()
      for (const object of objects) assertSameAsParse(decoder, Buffer.from(JSON.stringify(object)))
      return decoder.fastDecodes
    })
  })

  it('reads number texts exactly as JSON.parse does, or leaves them to it', () => {
    const digits = (min: number, max: number) =>
      fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''))
    const numberText = fc
      .tuple(
        fc.constantFrom('', '', '-', '+'),
        fc.oneof(digits(0, 20), digits(1, 6)),
        fc.option(digits(0, 25)),
        fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(0, 3)), {
          freq: 3,
        }),
      )
      .map(
        ([sign, int, frac, exp]) =>
          `${sign}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : exp.join('')}`,
      )
    const decoder = new JsonDecoder()
    // Teach it {"n":…,"s":…} first.
    for (let i = 0; i < 3; i++) decoder.decode(Buffer.from(`{"n":${i},"s":"x"}`))
    const before = decoder.fastDecodes
    fc.assert(
      fc.property(numberText, (n) => assertSameAsParse(decoder, Buffer.from(`{"n":${n},"s":"x"}`))),
      { numRuns: 3000 },
    )
    assert.ok(decoder.fastDecodes - before > 300, 'the fast path read some of the numbers')
  })

  it('damaged bytes: the same value or the same SyntaxError as JSON.parse', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer(), fc.string({ maxLength: 6 }), fc.boolean()), {
          minLength: 2,
          maxLength: 4,
        }),
        fc.array(
          fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'insert', 'delete')),
        ),
        (rows, damage) => {
          const decoder = new JsonDecoder()
          const texts = rows.map(([id, s, b]) => JSON.stringify({ id, s, b }))
          for (const t of texts) decoder.decode(Buffer.from(t))
          const bytes = [...Buffer.from(texts[0]!)]
          for (const [at, byte, how] of damage) {
            const i = at % (bytes.length + 1)
            if (how === 'insert') bytes.splice(i, 0, byte)
            else if (how === 'delete') bytes.splice(i, 1)
            else if (i < bytes.length) bytes[i] = byte
          }
          assertSameAsParse(decoder, Buffer.from(bytes))
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('keys a literal would treat differently (__proto__, array indexes) go through JSON.parse', () => {
    const decoder = new JsonDecoder()
    for (let i = 0; i < 4; i++) {
      const v = decoder.decode(Buffer.from(`{"__proto__":${i},"1":2,"a":3}`)) as Record<string, unknown>
      assert.equal(Object.getPrototypeOf(v), Object.prototype)
      assert.deepStrictEqual(Object.keys(v), ['1', '__proto__', 'a'])
      assert.equal(Object.getOwnPropertyDescriptor(v, '__proto__')?.value, i)
    }
    assert.equal(decoder.fastDecodes, 0)
  })

  it('objects of several shapes, nested values and other JSON: all as JSON.parse', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 30 }), fc.nat(), (values, seed) => {
        const decoder = new JsonDecoder()
        for (let i = 0; i < values.length * 2; i++) {
          const v = values[(i * 7 + seed) % values.length]
          assertSameAsParse(decoder, Buffer.from(JSON.stringify(v)))
        }
      }),
    )
  })
})

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
    shapeRuns((objects) => {
      const encoder = new JsonEncoder()
      for (const object of objects) assertSameAsStringify(encoder, object)
      return encoder.fastEncodes
    })
  })

  it('objects that only look like a learned shape go to JSON.stringify', () => {
    const encoder = new JsonEncoder()
    const plain = () => ({ a: 1, b: 'x' })
    assertSameAsStringify(encoder, plain())
    assertSameAsStringify(encoder, plain())
    assert.ok(assertSameAsStringify(encoder, plain()))
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
