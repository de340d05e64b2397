// The mechanism side of SASL: one exchange per connection, fed the client's messages in order.
// broker-auth.ts adapts exchanges to the BrokerAuth contract the broker drives (types.ts).
import type { ScramCredential } from './scram.js'

/** Authentication failed: bad credentials or a malformed message. The message is safe to send to the client. */
export class AuthError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AuthError'
  }
}

export interface SaslStepResult {
  /** The server's message for the client (empty when the mechanism has nothing to say). */
  readonly response: Buffer
  /** True once the client is authenticated; `principal` is then set. */
  readonly done: boolean
  readonly principal?: string
}

/** One SASL exchange on one connection. */
export interface SaslExchange {
  /** Processes the client's next message; throws AuthError on failure, after which the exchange is over. */
  step(clientMessage: Buffer): SaslStepResult
}

/** A user as the broker knows it; SCRAM needs only the credential, PLAIN checks either. */
export interface User {
  readonly name: string
  /** Present when the users file gave a plain password. */
  readonly password: string | null
  readonly scramSha256: ScramCredential
}

export type UserLookup = (name: string) => User | undefined

/** Longest client message accepted by PLAIN and SCRAM: real ones are a few hundred bytes. */
export const SASL_MESSAGE_BYTES_MAX = 4096
