// SASL SCRAM-SHA-256 (RFC 5802, RFC 7677), server side, as Kafka speaks it: no channel binding,
// no SASLprep (Kafka's clients send passwords as plain UTF-8), an authzid only if it names the
// user itself. Exchange: client-first → server-first (nonce, salt, iterations) → client-final
// (ClientProof) → server-final (ServerSignature).
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { assert } from '../../core/assert.js'
import {
  AuthError,
  SASL_MESSAGE_BYTES_MAX,
  type SaslExchange,
  type SaslStepResult,
  type UserLookup,
} from './exchange.js'

export const SCRAM_SHA_256 = 'SCRAM-SHA-256'
const HASH = 'sha256'
export const SCRAM_KEY_BYTES = 32
/** RFC 7677's floor, and Kafka's range for SCRAM-SHA-256 credentials. */
export const SCRAM_ITERATIONS_MIN = 4096
export const SCRAM_ITERATIONS_MAX = 16384

/** A user's SCRAM-SHA-256 secret as the server keeps it (RFC 5802 §3): enough to verify, never the password. */
export interface ScramCredential {
  readonly salt: Buffer
  readonly iterations: number
  readonly storedKey: Buffer
  readonly serverKey: Buffer
}

/** A ScramCredential as written in a users file: binary fields in base64. */
export interface ScramCredentialEntry {
  readonly salt: string
  readonly iterations: number
  readonly storedKey: string
  readonly serverKey: string
}

const hmac = (key: Buffer, data: string | Buffer) => createHmac(HASH, key).update(data).digest()
const hash = (data: Buffer) => createHash(HASH).update(data).digest()

export function deriveScramCredential(password: string, salt: Buffer, iterations: number): ScramCredential {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, SCRAM_KEY_BYTES, HASH)
  return {
    salt,
    iterations,
    storedKey: hash(hmac(salted, 'Client Key')),
    serverKey: hmac(salted, 'Server Key'),
  }
}

/**
 * A users-file entry for `password` (e.g. for `"scram-sha-256": …` in the users file), so the file
 * need not hold the password itself. `salt` is random unless given.
 */
export function scramCredential(
  password: string,
  iterations = SCRAM_ITERATIONS_MIN,
  salt: Buffer = randomBytes(32),
): ScramCredentialEntry {
  const c = deriveScramCredential(password, salt, iterations)
  return {
    salt: c.salt.toString('base64'),
    iterations: c.iterations,
    storedKey: c.storedKey.toString('base64'),
    serverKey: c.serverKey.toString('base64'),
  }
}

/** Does `password` match the credential? (PLAIN against a SCRAM-only user.) Constant-time in the key comparison. */
export function scramCredentialMatches(credential: ScramCredential, password: string): boolean {
  const derived = deriveScramCredential(password, credential.salt, credential.iterations)
  return timingSafeEqual(derived.storedKey, credential.storedKey)
}

export interface ScramExchangeOptions {
  /** The server's part of the nonce (printable ASCII, no ','); random by default. Injectable for tests. */
  readonly serverNonce?: () => string
}

const FAILED = `Authentication failed during authentication due to invalid credentials with SASL mechanism ${SCRAM_SHA_256}`

// Unknown users get a made-up but stable credential, so the exchange looks the same as for a
// real user and fails only at the proof: no user enumeration.
const fakeSecret = randomBytes(32)
function fakeCredential(username: string) {
  return {
    salt: hmac(fakeSecret, `salt:${username}`),
    iterations: SCRAM_ITERATIONS_MIN,
    storedKey: hmac(fakeSecret, `stored:${username}`),
    serverKey: hmac(fakeSecret, `server:${username}`),
  }
}

interface AwaitingFinal {
  readonly username: string
  readonly known: boolean
  readonly credential: ScramCredential
  readonly gs2Header: string
  readonly clientFirstBare: string
  readonly serverFirst: string
  readonly nonce: string
}

export class ScramSha256Exchange implements SaslExchange {
  private stage: 'first' | AwaitingFinal | 'over' = 'first'

  constructor(
    private readonly lookup: UserLookup,
    private readonly options: ScramExchangeOptions = {},
  ) {}

  step(clientMessage: Buffer): SaslStepResult {
    const stage = this.stage
    this.stage = 'over'
    if (clientMessage.length > SASL_MESSAGE_BYTES_MAX)
      throw new AuthError(`${SCRAM_SHA_256} message too long`)
    if (stage === 'over') throw new AuthError(`${SCRAM_SHA_256} exchange already finished`)
    if (stage === 'first') return this.serverFirst(clientMessage.toString('utf8'))
    return this.serverFinal(stage, clientMessage.toString('utf8'))
  }

  private serverFirst(clientFirst: string): SaslStepResult {
    const header = /^(n|y|p=[^,]*),(a=[^,]*)?,/.exec(clientFirst)
    if (header === null) throw new AuthError(`${SCRAM_SHA_256}: malformed client-first message`)
    if (header[1]!.startsWith('p=')) throw new AuthError(`${SCRAM_SHA_256}: channel binding is not supported`)
    const gs2Header = header[0]
    const clientFirstBare = clientFirst.slice(gs2Header.length)
    const attrs = parseAttributes(clientFirstBare)
    if (attrs[0]?.[0] === 'm') throw new AuthError(`${SCRAM_SHA_256}: mandatory extensions are not supported`)
    if (attrs[0]?.[0] !== 'n' || attrs[1]?.[0] !== 'r') {
      throw new AuthError(`${SCRAM_SHA_256}: client-first message must start with n=<user>,r=<nonce>`)
    }
    if (attrs.some(([k, v]) => k === 'tokenauth' && v === 'true')) {
      throw new AuthError(`${SCRAM_SHA_256}: delegation tokens are not supported`)
    }
    const username = unescapeSaslName(attrs[0][1])
    const authzid = header[2] === undefined ? null : unescapeSaslName(header[2].slice(2))
    if (authzid !== null && authzid !== username) {
      throw new AuthError(`${SCRAM_SHA_256}: authorization id must be the user name`)
    }
    const clientNonce = attrs[1][1]
    if (!isNonce(clientNonce)) throw new AuthError(`${SCRAM_SHA_256}: invalid client nonce`)
    const serverNonce = this.options.serverNonce?.() ?? randomBytes(24).toString('base64')
    assert(isNonce(serverNonce), `SCRAM server nonce must be printable ASCII without ',': '${serverNonce}'`)
    const user = this.lookup(username)
    const credential = user?.scramSha256 ?? fakeCredential(username)
    const nonce = clientNonce + serverNonce
    const serverFirst = `r=${nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`
    this.stage = {
      username,
      known: user !== undefined,
      credential,
      gs2Header,
      clientFirstBare,
      serverFirst,
      nonce,
    }
    return { response: Buffer.from(serverFirst, 'utf8'), done: false }
  }

  private serverFinal(s: AwaitingFinal, clientFinal: string): SaslStepResult {
    const proofAt = clientFinal.lastIndexOf(',p=')
    if (proofAt < 0) throw new AuthError(`${SCRAM_SHA_256}: client-final message lacks a proof`)
    const withoutProof = clientFinal.slice(0, proofAt)
    const attrs = parseAttributes(withoutProof)
    if (attrs[0]?.[0] !== 'c' || attrs[1]?.[0] !== 'r') {
      throw new AuthError(`${SCRAM_SHA_256}: client-final message must start with c=<binding>,r=<nonce>`)
    }
    if (attrs[0][1] !== Buffer.from(s.gs2Header, 'utf8').toString('base64')) {
      throw new AuthError(`${SCRAM_SHA_256}: channel binding does not match the client-first message`)
    }
    // As Kafka's server: the final nonce must end with the combined nonce. librdkafka 2.0 sends
    // its own nonce in front of it; the proof covers the message as sent, so nothing is lost.
    if (!attrs[1][1].endsWith(s.nonce)) throw new AuthError(`${SCRAM_SHA_256}: nonce mismatch`)
    const proof = decodeBase64(clientFinal.slice(proofAt + 3))
    if (proof === null || proof.length !== SCRAM_KEY_BYTES)
      throw new AuthError(`${SCRAM_SHA_256}: malformed proof`)
    const authMessage = `${s.clientFirstBare},${s.serverFirst},${withoutProof}`
    const clientSignature = hmac(s.credential.storedKey, authMessage)
    const clientKey = Buffer.alloc(SCRAM_KEY_BYTES)
    for (let i = 0; i < SCRAM_KEY_BYTES; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!
    const proofOk = timingSafeEqual(hash(clientKey), s.credential.storedKey)
    if (!proofOk || !s.known) throw new AuthError(FAILED)
    const serverSignature = hmac(s.credential.serverKey, authMessage)
    return {
      response: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'),
      done: true,
      principal: s.username,
    }
  }
}

/** 'a=1,b=2' → [['a','1'],['b','2']]; each attribute is a name, '=', and a value. */
function parseAttributes(text: string): [string, string][] {
  return text.split(',').map((part) => {
    const eq = part.indexOf('=')
    if (eq <= 0) throw new AuthError(`${SCRAM_SHA_256}: malformed attribute '${part.slice(0, 40)}'`)
    return [part.slice(0, eq), part.slice(eq + 1)]
  })
}

/** RFC 5802 saslname: ',' is sent as '=2C' and '=' as '=3D'; any other '=' is an error. */
function unescapeSaslName(name: string): string {
  if (/=(?!2C|3D)/.test(name)) throw new AuthError(`${SCRAM_SHA_256}: invalid escape in user name`)
  return name.replaceAll('=2C', ',').replaceAll('=3D', '=')
}

function isNonce(nonce: string): boolean {
  return /^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)
}

/** Strict base64 (Buffer.from accepts anything): null when `text` is not canonical base64. */
export function decodeBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null
  const bytes = Buffer.from(text, 'base64')
  return bytes.toString('base64') === text ? bytes : null
}
