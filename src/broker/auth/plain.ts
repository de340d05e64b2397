// SASL PLAIN (RFC 4616): one message, [authzid] NUL authcid NUL passwd, in UTF-8. Only over TLS
// is the password safe on the wire; the broker leaves that choice to its operator, as Kafka does.
import { createHash, timingSafeEqual } from 'node:crypto'
import {
  AuthError,
  SASL_MESSAGE_BYTES_MAX,
  type SaslExchange,
  type SaslStepResult,
  type User,
  type UserLookup,
} from './exchange.js'
import { scramCredentialMatches } from './scram.js'

export const PLAIN = 'PLAIN'

const FAILED = 'Authentication failed: Invalid username or password'

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest()

/** Compares digests, so neither the time taken nor its length says how much of the password matched. */
function samePassword(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b))
}

/** A plain password is compared directly; a SCRAM-only user's by deriving its stored key. */
export function passwordMatches(user: User, password: string): boolean {
  if (user.password !== null) return samePassword(password, user.password)
  return scramCredentialMatches(user.scramSha256, password)
}

export class PlainExchange implements SaslExchange {
  private over = false

  constructor(private readonly lookup: UserLookup) {}

  step(clientMessage: Buffer): SaslStepResult {
    if (this.over) throw new AuthError(`${PLAIN} exchange already finished`)
    this.over = true
    if (clientMessage.length > SASL_MESSAGE_BYTES_MAX) throw new AuthError(`${PLAIN} message too long`)
    const parts = clientMessage.toString('utf8').split('\0')
    if (parts.length !== 3) throw new AuthError(`${PLAIN}: expected [authzid] NUL username NUL password`)
    const [authzid, username, password] = parts as [string, string, string]
    if (username === '' || password === '') throw new AuthError(`${PLAIN}: empty username or password`)
    if (authzid !== '' && authzid !== username) {
      throw new AuthError(`${PLAIN}: authorization id must be empty or the user name`)
    }
    const user = this.lookup(username)
    if (user === undefined || !passwordMatches(user, password)) throw new AuthError(FAILED)
    return { response: Buffer.alloc(0), done: true, principal: username }
  }
}
