import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidArgumentError } from 'commander'
import { keyFromLine, parseKeyFieldPath } from './key-field.js'

const key = (line: string, path: string) => {
  const found = keyFromLine(line, parseKeyFieldPath(path))
  return found.ok ? found.key.toString('utf8') : `! ${found.problem}`
}

describe('--key-field', () => {
  it('parses dotted paths and refuses empty parts', () => {
    assert.deepEqual(parseKeyFieldPath('id'), ['id'])
    assert.deepEqual(parseKeyFieldPath('user.id'), ['user', 'id'])
    for (const bad of ['', '.', 'a.', '.a', 'a..b'])
      assert.throws(() => parseKeyFieldPath(bad), InvalidArgumentError)
  })

  it('keys by a string as its UTF-8, and by any other JSON value as its JSON text', () => {
    assert.equal(key('{"user":{"id":"ü-1"}}', 'user.id'), 'ü-1')
    assert.equal(key('{"id":42}', 'id'), '42')
    assert.equal(key('{"id":true}', 'id'), 'true')
    assert.equal(key('{"id":null}', 'id'), 'null')
    assert.equal(key('{"id":{"b":1,"a":[2]}}', 'id'), '{"b":1,"a":[2]}')
  })

  it('says why a line has no key', () => {
    assert.match(key('not json', 'id'), /^! is not JSON \(/)
    assert.equal(key('{"name":"x"}', 'id'), '! has no field id')
    assert.equal(key('{"user":"x"}', 'user.id'), '! has no field user.id')
    assert.equal(key('[1,2]', '0'), '! has no field 0')
    assert.equal(key('"id"', 'id'), '! has no field id')
    assert.equal(key('{"a":{}}', 'a.toString'), '! has no field a.toString', 'own fields only')
  })
})
