import assert from 'node:assert/strict'
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { describe, it } from 'node:test'
import { AuthError, type User } from './exchange.js'
import { deriveScramCredential, ScramSha256Exchange, scramCredential } from './scram.js'

// RFC 7677 §3's example exchange.
const RFC = {
  user: 'user',
  password: 'pencil',
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  iterations: 4096,
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
}

const hmac = (key: Buffer, data: string) => createHmac('sha256', key).update(data).digest()
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest()

/** A SCRAM-SHA-256 client, written from RFC 5802 independently of the server. */
class ScramClient {
  private clientFirstBare: string
  private authMessage = ''
  private saltedPassword = Buffer.alloc(0)

  constructor(
    username: string,
    private readonly password: string,
    private readonly nonce = randomBytes(18).toString('base64'),
  ) {
    const escaped = username.replaceAll('=', '=3D').replaceAll(',', '=2C')
    this.clientFirstBare = `n=${escaped},r=${nonce}`
  }

  first(): string {
    return `n,,${this.clientFirstBare}`
  }

  final(serverFirst: string): string {
    const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]))
    assert.ok(attrs.r?.startsWith(this.nonce), 'server nonce extends the client nonce')
    this.saltedPassword = pbkdf2Sync(
      this.password,
      Buffer.from(attrs.s!, 'base64'),
      Number(attrs.i),
      32,
      'sha256',
    )
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${attrs.r}`
    this.authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`
    const clientKey = hmac(this.saltedPassword, 'Client Key')
    const signature = hmac(sha256(clientKey), this.authMessage)
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!))
    return `${withoutProof},p=${proof.toString('base64')}`
  }

  verify(serverFinal: string): boolean {
    const expected = hmac(hmac(this.saltedPassword, 'Server Key'), this.authMessage)
    const got = Buffer.from(serverFinal.replace(/^v=/, ''), 'base64')
    return got.length === expected.length && timingSafeEqual(got, expected)
  }
}

function usersWith(name: string, password: string, salt = randomBytes(16)): Map<string, User> {
  return new Map([[name, { name, password: null, scramSha256: deriveScramCredential(password, salt, 4096) }]])
}

const lookupIn = (users: Map<string, User>) => (name: string) => users.get(name)
const text = (b: Buffer) => b.toString('utf8')
const msg = (s: string) => Buffer.from(s, 'utf8')

function run(users: Map<string, User>, client: ScramClient) {
  const server = new ScramSha256Exchange(lookupIn(users))
  const first = server.step(msg(client.first()))
  assert.equal(first.done, false)
  return { server, final: () => server.step(msg(client.final(text(first.response)))) }
}

describe('SCRAM-SHA-256', () => {
  it("reproduces RFC 7677's example exchange", () => {
    const users = usersWith(RFC.user, RFC.password, Buffer.from(RFC.salt, 'base64'))
    const server = new ScramSha256Exchange(lookupIn(users), { serverNonce: () => RFC.serverNonce })
    const first = server.step(msg(RFC.clientFirst))
    assert.equal(text(first.response), RFC.serverFirst)
    const final = server.step(msg(RFC.clientFinal))
    assert.deepEqual(
      { ...final, response: text(final.response) },
      {
        response: RFC.serverFinal,
        done: true,
        principal: 'user',
      },
    )
  })

  it("the test client computes RFC 7677's proof and accepts its signature", () => {
    const client = new ScramClient(RFC.user, RFC.password, RFC.clientNonce)
    assert.equal(client.first(), RFC.clientFirst)
    assert.equal(client.final(RFC.serverFirst), RFC.clientFinal)
    assert.ok(client.verify(RFC.serverFinal))
  })

  it('authenticates a client end to end; the client verifies the server', () => {
    const users = usersWith('alice', 'wonderland')
    const client = new ScramClient('alice', 'wonderland')
    const { server, final } = run(users, client)
    const result = final()
    assert.equal(result.done, true)
    assert.equal(result.principal, 'alice')
    assert.ok(client.verify(text(result.response)))
    assert.throws(() => server.step(msg('again')), AuthError)
  })

  it('works with users-file entries made by scramCredential()', () => {
    const entry = scramCredential('s3cret', 8192)
    assert.equal(entry.iterations, 8192)
    const credential = {
      salt: Buffer.from(entry.salt, 'base64'),
      iterations: entry.iterations,
      storedKey: Buffer.from(entry.storedKey, 'base64'),
      serverKey: Buffer.from(entry.serverKey, 'base64'),
    }
    const users = new Map<string, User>([['bob', { name: 'bob', password: null, scramSha256: credential }]])
    assert.equal(run(users, new ScramClient('bob', 's3cret')).final().principal, 'bob')
  })

  it('refuses a wrong password and an unknown user alike', () => {
    const users = usersWith('alice', 'wonderland')
    assert.throws(() => run(users, new ScramClient('alice', 'looking-glass')).final(), {
      name: 'AuthError',
      message: /invalid credentials with SASL mechanism SCRAM-SHA-256/,
    })
    // An unknown user gets a plausible server-first message and fails only at the proof.
    const server = new ScramSha256Exchange(lookupIn(users))
    const client = new ScramClient('mallory', 'guess')
    const first = text(server.step(msg(client.first())).response)
    assert.match(first, /^r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/)
    assert.throws(() => server.step(msg(client.final(first))), /invalid credentials/)
  })

  it('escapes user names and rejects malformed or tampered messages', () => {
    const users = usersWith('a,b=c', 'pw')
    assert.equal(run(users, new ScramClient('a,b=c', 'pw')).final().principal, 'a,b=c')

    const fresh = () => new ScramSha256Exchange(lookupIn(users))
    assert.throws(() => fresh().step(msg('p=tls-unique,,n=x,r=abc')), /channel binding is not supported/)
    assert.throws(() => fresh().step(msg('n,,r=abc,n=x')), /must start with n=<user>,r=<nonce>/)
    assert.throws(() => fresh().step(msg('n,,m=ext,n=x,r=abc')), /mandatory extensions/)
    assert.throws(() => fresh().step(msg('n,a=other,n=x,r=abc')), /authorization id/)
    assert.throws(() => fresh().step(msg('n,,n=x=41,r=abc')), /invalid escape/)
    assert.throws(() => fresh().step(Buffer.alloc(5000, 'n')), /too long/)

    // A client-final with a nonce other than the combined one.
    const server = fresh()
    const client = new ScramClient('a,b=c', 'pw')
    const first = text(server.step(msg(client.first())).response)
    const tampered = client.final(first).replace(/,r=([^,]+)/, ',r=$1x')
    assert.throws(() => server.step(msg(tampered)), /nonce mismatch/)
    // The exchange is over after a failure.
    assert.throws(() => server.step(msg(client.final(first))), /already finished/)
  })
})
