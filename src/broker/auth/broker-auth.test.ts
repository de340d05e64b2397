import assert from 'node:assert/strict'
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto'
import { describe, it } from 'node:test'
import { isEddyError } from '../../core/errors.js'
import { createBrokerAuth } from './broker-auth.js'
import type { SaslSession } from './types.js'
import { parseUsers } from './users-file.js'

const users = parseUsers(JSON.stringify({ users: [{ name: 'alice', password: 'wonderland' }] }), 'test')
const session = (mechanism: string): SaslSession => ({ mechanism, state: undefined })

describe('createBrokerAuth', () => {
  it('runs PLAIN through the broker contract', async () => {
    const auth = createBrokerAuth({ users })
    assert.deepEqual(auth.mechanisms, ['SCRAM-SHA-256', 'PLAIN'])
    const ok = await auth.authenticate(session('PLAIN'), Buffer.from('\0alice\0wonderland'))
    assert.deepEqual(ok, { kind: 'done', authBytes: Buffer.alloc(0), principal: 'alice' })
    const bad = await auth.authenticate(session('PLAIN'), Buffer.from('\0alice\0nope'))
    assert.deepEqual(bad, { kind: 'failed', message: 'Authentication failed: Invalid username or password' })
  })

  it('runs SCRAM-SHA-256 over two rounds, keeping the exchange in the session', async () => {
    const auth = createBrokerAuth({ users, scram: { serverNonce: () => 'SERVER' } })
    const s = session('SCRAM-SHA-256')
    const first = await auth.authenticate(s, Buffer.from('n,,n=alice,r=CLIENT'))
    assert.equal(first.kind, 'challenge')
    const serverFirst = first.kind === 'challenge' ? first.authBytes.toString() : ''
    const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]))
    assert.equal(attrs.r, 'CLIENTSERVER')
    const salted = pbkdf2Sync('wonderland', Buffer.from(attrs.s!, 'base64'), Number(attrs.i), 32, 'sha256')
    const clientKey = createHmac('sha256', salted).update('Client Key').digest()
    const withoutProof = 'c=biws,r=CLIENTSERVER'
    const authMessage = `n=alice,r=CLIENT,${serverFirst},${withoutProof}`
    const storedKey = createHash('sha256').update(clientKey).digest()
    const signature = createHmac('sha256', storedKey).update(authMessage).digest()
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!)).toString('base64')
    const final = await auth.authenticate(s, Buffer.from(`${withoutProof},p=${proof}`))
    assert.equal(final.kind, 'done')
    assert.equal(final.kind === 'done' && final.principal, 'alice')
  })

  it('offers only the configured mechanisms and refuses unknown ones', async () => {
    const auth = createBrokerAuth({ users, mechanisms: ['PLAIN'] })
    assert.equal(auth.startExchange('SCRAM-SHA-256'), null)
    const step = await auth.authenticate(session('SCRAM-SHA-256'), Buffer.from('n,,n=alice,r=x'))
    assert.equal(step.kind, 'failed')
    assert.throws(
      () => createBrokerAuth({ users, mechanisms: ['GSSAPI'] }),
      (err: unknown) => isEddyError(err, 'INVALID_ARGUMENT') && /GSSAPI is not supported/.test(err.message),
    )
  })
})
