import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { isEddyError } from '../../core/errors.js'
import { PlainExchange } from './plain.js'
import { ScramSha256Exchange, scramCredential } from './scram.js'
import { loadUsersFile, parseUsers } from './users-file.js'

const dir = mkdtempSync(path.join(tmpdir(), 'eddy-users-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const bobEntry = scramCredential('builder')

function write(doc: unknown): string {
  const file = path.join(dir, `users-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc))
  return file
}

/** parseUsers' error message for `doc`. */
function errorOf(doc: unknown): string {
  try {
    parseUsers(typeof doc === 'string' ? doc : JSON.stringify(doc), 'users.json')
  } catch (err) {
    assert.ok(isEddyError(err, 'INVALID_ARGUMENT'), String(err))
    return err.message
  }
  assert.fail('expected an error')
}

describe('users file', () => {
  it('loads plain-password and stored-SCRAM users', () => {
    const file = write({
      users: [
        { name: 'alice', password: 'wonderland' },
        { name: 'bob', 'scram-sha-256': bobEntry },
      ],
    })
    const users = loadUsersFile(file)
    assert.deepEqual([...users.keys()], ['alice', 'bob'])
    assert.equal(users.get('alice')?.password, 'wonderland')
    assert.equal(users.get('alice')?.scramSha256.iterations, 4096)
    assert.equal(users.get('bob')?.password, null)
    assert.equal(users.get('bob')?.scramSha256.storedKey.toString('base64'), bobEntry.storedKey)
    const lookup = (name: string) => users.get(name)
    // Both kinds serve both mechanisms.
    assert.equal(new PlainExchange(lookup).step(Buffer.from('\0bob\0builder')).principal, 'bob')
    const scram = new ScramSha256Exchange(lookup)
    const first = scram.step(Buffer.from('n,,n=alice,r=abc')).response.toString()
    assert.match(first, /^r=abc\S+,s=\S+,i=4096$/)
  })

  it('derives SCRAM credentials with the configured iterations', () => {
    const users = parseUsers(JSON.stringify({ users: [{ name: 'a', password: 'p' }] }), 'x', {
      scramIterations: 8192,
    })
    assert.equal(users.get('a')?.scramSha256.iterations, 8192)
  })

  it('names the file and the entry in its errors', () => {
    assert.match(errorOf('{"users": ['), /^users file users\.json is not valid JSON/)
    assert.match(errorOf({ user: [] }), /must be a JSON object with a "users" array/)
    assert.match(errorOf({ users: [], extra: 1 }), /unknown top-level field "extra"/)
    assert.match(errorOf({ users: [42] }), /users\[0\]: must be an object/)
    assert.match(errorOf({ users: [{ password: 'x' }] }), /users\[0\]: "name" must be a non-empty string/)
    assert.match(
      errorOf({ users: [{ name: 'ann', pasword: 'x' }] }),
      /users file users\.json, users\[0\] \("ann"\): unknown field "pasword"/,
    )
    assert.match(
      errorOf({ users: [{ name: 'ann' }] }),
      /\("ann"\): give exactly one of "password" and "scram-sha-256"/,
    )
    assert.match(
      errorOf({ users: [{ name: 'ann', password: 'x', 'scram-sha-256': bobEntry }] }),
      /give exactly one of/,
    )
    assert.match(errorOf({ users: [{ name: 'ann', password: '' }] }), /"password" must be a non-empty string/)
    assert.match(
      errorOf({
        users: [
          { name: 'a', password: 'x' },
          { name: 'a', password: 'y' },
        ],
      }),
      /users\[1\] repeats the name "a" of users\[0\]/,
    )
  })

  it('checks stored SCRAM credentials field by field', () => {
    const entry = (over: Record<string, unknown>) => ({
      users: [{ name: 'bob', 'scram-sha-256': { ...bobEntry, ...over } }],
    })
    assert.match(
      errorOf(entry({ salt: 'not base64!' })),
      /\("bob"\): "scram-sha-256"\.salt must be a base64 string/,
    )
    assert.match(errorOf(entry({ salt: '' })), /salt must not be empty/)
    assert.match(errorOf(entry({ iterations: 1000 })), /iterations must be an integer from 4096 to 16384/)
    assert.match(errorOf(entry({ iterations: '4096' })), /iterations must be an integer/)
    assert.match(
      errorOf(entry({ storedKey: Buffer.alloc(20).toString('base64') })),
      /storedKey must be 32 bytes \(SHA-256\), got 20/,
    )
    assert.match(errorOf(entry({ serverKey: 7 })), /serverKey must be a base64 string/)
    assert.match(errorOf(entry({ extra: 1 })), /unknown field "extra"/)
    assert.match(errorOf({ users: [{ name: 'bob', 'scram-sha-256': 'x' }] }), /must be an object with salt/)
  })

  it('reports a missing file by its path', () => {
    const missing = path.join(dir, 'nope.json')
    assert.throws(
      () => loadUsersFile(missing),
      (err: unknown) => {
        assert.ok(isEddyError(err, 'IO'))
        assert.match(
          err.message,
          new RegExp(
            `users file ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read it \\(ENOENT\\)`,
          ),
        )
        return true
      },
    )
  })
})
