// What the broker needs from authentication: the SASL mechanisms it offers, an optional TLS
// context, and one step of a SASL exchange at a time. The mechanisms themselves (PLAIN, SCRAM)
// live beside this file; the broker only drives the exchange and gates requests on its outcome.
import type * as tls from 'node:tls'

/** Per-connection state of one SASL exchange; the mechanism keeps what it needs between steps. */
export interface SaslSession {
  /** The mechanism the client chose in SaslHandshake. */
  readonly mechanism: string
  /** Free for the mechanism's use (SCRAM keeps its nonces here); undefined at the first step. */
  state: unknown
}

/** The outcome of one client token. */
export type SaslStep =
  /** More rounds follow: send `authBytes` back and wait for the client's next token. */
  | { readonly kind: 'challenge'; readonly authBytes: Buffer }
  /** Authenticated as `principal`; `authBytes` is the server's final message (empty for PLAIN). */
  | { readonly kind: 'done'; readonly authBytes: Buffer; readonly principal: string }
  /** Wrong credentials or a malformed token: the client gets SASL_AUTHENTICATION_FAILED, then the connection closes. */
  | { readonly kind: 'failed'; readonly message: string }

export interface BrokerAuth {
  /** SASL mechanisms offered, e.g. ['PLAIN', 'SCRAM-SHA-256']. Empty: no SASL (TLS only). */
  readonly mechanisms: readonly string[]
  /** Serve TLS with this context (certificate, key…); plaintext when absent. */
  readonly tls?: tls.SecureContextOptions
  /** Processes one client token of `session`'s exchange. */
  authenticate(session: SaslSession, clientToken: Buffer): Promise<SaslStep> | SaslStep
}

/** True when clients must complete SASL before any request other than ApiVersions and the SASL ones. */
export function saslRequired(auth: BrokerAuth | undefined): boolean {
  return auth !== undefined && auth.mechanisms.length > 0
}
