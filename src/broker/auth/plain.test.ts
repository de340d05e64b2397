import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import type { User } from './exchange.js'
import { PlainExchange } from './plain.js'
import { deriveScramCredential } from './scram.js'

const users = new Map<string, User>([
  [
    'alice',
    {
      name: 'alice',
      password: 'wonderland',
      scramSha256: deriveScramCredential('wonderland', randomBytes(16), 4096),
    },
  ],
  // A user known only by a stored SCRAM credential: PLAIN checks the password against it.
  [
    'bob',
    { name: 'bob', password: null, scramSha256: deriveScramCredential('builder', randomBytes(16), 4096) },
  ],
])

const plain = (authzid: string, user: string, password: string) =>
  new PlainExchange((name) => users.get(name)).step(Buffer.from(`${authzid}\0${user}\0${password}`, 'utf8'))

describe('SASL PLAIN', () => {
  it('authenticates with a plain password or against a SCRAM credential', () => {
    assert.deepEqual(plain('', 'alice', 'wonderland'), {
      response: Buffer.alloc(0),
      done: true,
      principal: 'alice',
    })
    assert.equal(plain('bob', 'bob', 'builder').principal, 'bob')
  })

  it('refuses wrong passwords and unknown users with the same message', () => {
    const failed = { name: 'AuthError', message: 'Authentication failed: Invalid username or password' }
    assert.throws(() => plain('', 'alice', 'wonderlan'), failed)
    assert.throws(() => plain('', 'bob', 'wonderland'), failed)
    assert.throws(() => plain('', 'carol', 'wonderland'), failed)
  })

  it('refuses malformed messages, foreign authzids and a second step', () => {
    const step = (s: string) => new PlainExchange((name) => users.get(name)).step(Buffer.from(s))
    assert.throws(() => step('alice\0wonderland'), /expected \[authzid\] NUL username NUL password/)
    assert.throws(() => step('\0\0wonderland'), /empty username or password/)
    assert.throws(() => plain('root', 'alice', 'wonderland'), /authorization id/)
    const exchange = new PlainExchange((name) => users.get(name))
    exchange.step(Buffer.from('\0alice\0wonderland'))
    assert.throws(() => exchange.step(Buffer.from('\0alice\0wonderland')), /already finished/)
  })
})
