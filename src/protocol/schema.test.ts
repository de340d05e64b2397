import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isEddyError } from '../core/errors.js'
import { Writer } from './codec.js'
import { ProtocolError } from './protocol-error.js'
import {
  array,
  bool,
  bytes,
  field,
  type Input,
  int16,
  int32,
  int64,
  message,
  parseVersions,
  string,
  struct,
  type Value,
} from './schema.js'

const Sample = message({
  name: 'SampleMessage',
  apiKey: 1000,
  versions: '0-4',
  flexibleVersions: '3+',
  fields: [
    field('id', int32),
    field('name', string, { nullable: '1+' }),
    field('since2', int64, { versions: '2+', default: -1 }),
    field(
      'items',
      array(
        struct([
          field('key', string),
          field('value', bytes, { nullable: '0+' }),
          field('extra', int16, { versions: '4+', default: 7 }),
        ]),
      ),
      { nullable: '2+' },
    ),
    field('note', string, { versions: '3+', nullable: '3+', default: null, tagged: { tag: 1 } }),
    field('flag', bool, { versions: '3+', default: false, tagged: { tag: 0 } }),
    field('leader', struct([field('id', int32, { default: -1 }), field('epoch', int32, { default: -1 })]), {
      versions: '3+',
      tagged: { tag: 2 },
    }),
  ],
})
type Sample = Value<typeof Sample>

// Compile-time: the inferred type is exactly this (checked by `tsc`).
interface Expected {
  id: number
  name: string | null
  since2: number
  items: { key: string; value: Buffer | null; extra: number }[] | null
  note: string | null
  flag: boolean
  leader: { id: number; epoch: number }
}
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const sameShape: Same<Sample, Expected> = true
// @ts-expect-error a field the schema does not have
const notAField: Input<Sample> = { id: 1, nmae: 'x' }
// @ts-expect-error id is not nullable in any version
const notNullable: Input<Sample> = { id: null }

function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ProtocolError) return err
    throw err
  }
  assert.fail('expected a ProtocolError')
}

const full: Sample = {
  id: 5,
  name: 'n',
  since2: 9,
  items: [{ key: 'k', value: Buffer.from([1]), extra: 3 }],
  note: 'hi',
  flag: true,
  leader: { id: 1, epoch: 2 },
}

describe('schema', () => {
  it('infers the decoded type from the field list', () => {
    assert.equal(sameShape, true)
    assert.ok(notAField && notNullable)
  })

  it('parses Kafka version ranges', () => {
    assert.deepEqual(parseVersions('3+'), { min: 3, max: Number.POSITIVE_INFINITY })
    assert.deepEqual(parseVersions('0-7'), { min: 0, max: 7 })
    assert.deepEqual(parseVersions('5'), { min: 5, max: 5 })
    const none = parseVersions('none')
    assert.ok(none.min > none.max)
  })

  it('encodes a classic version byte for byte, leaving out fields it lacks', () => {
    // v0: id, name (not nullable), items (not nullable) with key + value.
    assert.deepEqual(
      [...Sample.encode(full, 0)],
      [0, 0, 0, 5, 0, 1, 0x6e, 0, 0, 0, 1, 0, 1, 0x6b, 0, 0, 0, 1, 1],
    )
    assert.deepEqual(Sample.decode(Sample.encode(full, 0), 0), {
      ...full,
      since2: -1,
      items: [{ key: 'k', value: Buffer.from([1]), extra: 7 }],
      note: null,
      flag: false,
      leader: { id: -1, epoch: -1 },
    })
  })

  it('encodes a flexible version with compact types and tagged fields in tag order', () => {
    assert.deepEqual(
      [...Sample.encode(full, 3)],
      [
        ...[0, 0, 0, 5], // id
        ...[0x02, 0x6e], // name: compact string
        ...[0, 0, 0, 0, 0, 0, 0, 9], // since2
        ...[0x02, 0x02, 0x6b, 0x02, 0x01, 0x00], // items: 1 element {key, value, no tags}
        0x03, // three tagged fields, by tag:
        ...[0x00, 0x01, 0x01], // tag 0 flag: true
        ...[0x01, 0x03, 0x03, 0x68, 0x69], // tag 1 note: 'hi'
        ...[0x02, 0x09, 0, 0, 0, 1, 0, 0, 0, 2, 0x00], // tag 2 leader: {1, 2} + its own empty tags
      ],
    )
    assert.deepEqual(Sample.decode(Sample.encode(full, 3), 3), {
      ...full,
      items: [{ ...full.items![0]!, extra: 7 }],
    })
  })

  it('writes no tagged field that holds its default', () => {
    const bytesV3 = Sample.encode(
      { id: 1, name: null, items: null, note: null, flag: false, leader: { id: -1 } },
      3,
    )
    assert.equal(bytesV3.at(-1), 0x00, 'an empty tagged-fields section')
    assert.deepEqual(Sample.decode(bytesV3, 3), {
      id: 1,
      name: null,
      since2: -1,
      items: null,
      note: null,
      flag: false,
      leader: { id: -1, epoch: -1 },
    })
  })

  it('fills every field left out of the input with its default', () => {
    for (let v = 1; v <= 4; v++) {
      assert.deepEqual(Sample.decode(Sample.encode({}, v), v), {
        id: 0,
        name: '',
        since2: -1,
        items: [],
        note: null,
        flag: false,
        leader: { id: -1, epoch: -1 },
      })
    }
  })

  it('gives each decoded message its own default arrays', () => {
    const a = Sample.decode(Sample.encode({}, 4), 4)
    a.items!.push({ key: 'x', value: null, extra: 0 })
    assert.deepEqual(Sample.decode(Sample.encode({}, 4), 4).items, [])
    assert.deepEqual(Sample.empty().items, [])
  })

  it('skips unknown tags and rejects a tagged field with bytes left over', () => {
    const w = new Writer()
    w.int32(1).compactString('n').int64(2).compactArrayLength(0)
    w.taggedFields([
      { tag: 0, data: Buffer.from([1]) },
      { tag: 9, data: Buffer.from([1, 2, 3]) },
    ])
    assert.equal(Sample.decode(Buffer.from(w.finish()), 3).flag, true)

    const bad = new Writer()
    bad.int32(1).compactString('n').int64(2).compactArrayLength(0)
    bad.taggedFields([{ tag: 0, data: Buffer.from([1, 1]) }])
    assert.match(
      protocolError(() => Sample.decode(Buffer.from(bad.finish()), 3)).message,
      /tagged field 0 has 1 unread bytes/,
    )
  })

  it('refuses null where the version does not allow it, naming the field', () => {
    const e = protocolError(() => Sample.encode({ name: null }, 0))
    assert.match(e.message, /^SampleMessage v0 at name \(byte 4\): cannot encode: null is not allowed in v0/)
    const nested = protocolError(() =>
      Sample.encode({ items: [{ key: 'a' }, { key: 5 as unknown as string }] }, 2),
    )
    assert.equal(nested.pathString(), 'items[1].key')
  })

  it('names the field path and byte offset of malformed input', () => {
    const good = Sample.encode({ items: [{ key: 'aaaaaaaaaa' }, { key: 'bb' }] }, 2)
    const e = protocolError(() => Sample.decode(good.subarray(0, good.length - 6), 2))
    assert.equal(e.pathString(), 'items[1].key')
    assert.equal(e.offset, 34)
    assert.match(
      e.message,
      /^SampleMessage v2 at items\[1\]\.key \(byte 34\): string of 2 bytes runs past the end/,
    )
    assert.match(
      protocolError(() => Sample.decode(Buffer.concat([good, Buffer.from([0])]), 2)).message,
      /1 unexpected bytes/,
    )
  })

  it('refuses versions it does not implement', () => {
    assert.throws(
      () => Sample.encode({}, 5),
      (err) =>
        isEddyError(err, 'UNSUPPORTED_VERSION') &&
        /SampleMessage v5 is not implemented \(v0-v4\)/.test(err.message),
    )
  })

  it('refuses schemas that contradict themselves', () => {
    assert.throws(() => field('x', int32, { nullable: '0+' }), /a int32 cannot be null/)
    assert.throws(() => field('x', string, { default: null }), /default null needs nullable versions/)
    assert.throws(() => struct([field('a', int32), field('a', int32)]), /declared twice/)
    assert.throws(
      () => struct([field('a', int32, { tagged: { tag: 1 } }), field('b', int32, { tagged: { tag: 1 } })]),
      /tag 1 is used twice/,
    )
    assert.throws(() => parseVersions('3-1'), /bad version range/)
  })
})
