import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { JsonDecoder } from './json-decoder.js'

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
function assertSame(decoder: JsonDecoder, bytes: Buffer): void {
  assert.deepStrictEqual(decodeOrThrow(decoder, bytes), reference(bytes), `bytes: ${bytes.toString()}`)
}

// Mostly what the fast path takes (integers, amounts, ASCII text, literals), some of what it
// leaves to JSON.parse (exponents, long mantissas, escapes, non-ASCII, lone surrogates).
const flatValue = fc.oneof(
  { arbitrary: fc.integer(), weight: 4 },
  {
    arbitrary: fc
      .double({ min: -1e6, max: 1e6, noDefaultInfinity: true, noNaN: true })
      .map((d) => Math.round(d * 100) / 100),
    weight: 4,
  },
  { arbitrary: fc.string({ unit: fc.constantFrom(...'abcXYZ-_ 019:/') }), weight: 4 },
  { arbitrary: fc.boolean(), weight: 2 },
  { arbitrary: fc.constant(null), weight: 2 },
  fc.double(),
  fc.constantFrom(0, -0, 0.1, 1e21, 1e-7, 123456789012345, 1234567890123456, 2 ** 53),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('"', '\\', '\n', 'a', 'é', '\u2028', '\ud800') }),
)

const keyName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.constantFrom('__proto__', '0', '12', 'a b'),
)

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
    let hits = 0
    fc.assert(
      fc.property(
        fc.uniqueArray(keyName, { minLength: 1, maxLength: 4 }),
        fc.array(fc.array(flatValue, { minLength: 4, maxLength: 4 }), { minLength: 3, maxLength: 12 }),
        (keys, rows) => {
          const decoder = new JsonDecoder()
          for (const row of rows) {
            const object = Object.fromEntries(keys.map((k, i) => [k, row[i]]))
            assertSame(decoder, Buffer.from(JSON.stringify(object)))
          }
          hits += decoder.fastDecodes
        },
      ),
      { numRuns: 300 },
    )
    // The property is about the fast path: it must have served a good share of the records.
    assert.ok(hits > 100, `only ${hits} records took the fast path`)
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
      fc.property(numberText, (n) => assertSame(decoder, Buffer.from(`{"n":${n},"s":"x"}`))),
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
          assertSame(decoder, Buffer.from(bytes))
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
          assertSame(decoder, Buffer.from(JSON.stringify(v)))
        }
      }),
    )
  })
})
