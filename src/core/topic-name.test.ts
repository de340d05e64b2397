import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { isEddyError } from './errors.js'
import { limits } from './limits.js'
import { validateTopicName } from './topic-name.js'

function assertInvalid(name: string): void {
  assert.throws(
    () => validateTopicName(name),
    (err: unknown) => isEddyError(err, 'INVALID_TOPIC_NAME'),
    `${JSON.stringify(name)} should be rejected`,
  )
}

const topicChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-')

describe('validateTopicName', () => {
  it('accepts names of [a-zA-Z0-9._-], up to 249 characters', () => {
    for (const name of ['orders', 'a', 'A.b_c-1', '...', '.hidden', 'x..y', '__consumer_offsets', '0']) {
      assert.doesNotThrow(() => validateTopicName(name), name)
    }
    assert.equal(limits.topicNameLengthMax, 249)
    validateTopicName('a'.repeat(249))
  })

  it('accepts any name of allowed characters except "." and ".."', () => {
    fc.assert(
      fc.property(fc.string({ unit: topicChar, minLength: 1, maxLength: 249 }), (name) => {
        fc.pre(name !== '.' && name !== '..')
        validateTopicName(name)
      }),
    )
  })

  it('rejects empty, ".", "..", too long, path separators, unicode, spaces and NUL', () => {
    for (const name of [
      '',
      '.',
      '..',
      'a'.repeat(250),
      'a'.repeat(10_000),
      '/',
      'a/b',
      '../etc',
      '\\',
      'a\\b',
      'café',
      'ταχύτητα',
      '主题',
      '🙂',
      ' ',
      'a b',
      ' orders',
      'orders ',
      'orders\t',
      'orders\n',
      '\0',
      'a\0b',
      'orders:1',
      'C:',
      '*',
    ]) {
      assertInvalid(name)
    }
  })

  it('rejects any name with a character outside [a-zA-Z0-9._-]', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: topicChar, maxLength: 100 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => !/^[a-zA-Z0-9._-]$/.test(c)),
        fc.string({ unit: topicChar, maxLength: 100 }),
        (before, bad, after) => assertInvalid(before + bad + after),
      ),
    )
  })

  it('says what to do in its message', () => {
    assert.throws(() => validateTopicName('a b'), /use only letters, digits/)
  })
})
