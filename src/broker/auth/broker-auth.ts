// The broker's BrokerAuth (types.ts) over the SASL mechanisms here: each connection's SaslSession
// keeps its mechanism's exchange in `state`; an AuthError becomes a 'failed' step.
import type * as tls from 'node:tls'
import { EddyError } from '../../core/errors.js'
import { AuthError, type SaslExchange, type User } from './exchange.js'
import { PLAIN, PlainExchange } from './plain.js'
import { SCRAM_SHA_256, type ScramExchangeOptions, ScramSha256Exchange } from './scram.js'
import type { BrokerAuth, SaslSession, SaslStep } from './types.js'

export const SUPPORTED_MECHANISMS: readonly string[] = [SCRAM_SHA_256, PLAIN]

export interface BrokerAuthOptions {
  readonly users: ReadonlyMap<string, User>
  /** Offered SASL mechanisms, a subset of SUPPORTED_MECHANISMS; default all. Empty: TLS only. */
  readonly mechanisms?: readonly string[]
  readonly tls?: tls.SecureContextOptions
  readonly scram?: ScramExchangeOptions
}

export interface UsersAuth extends BrokerAuth {
  /** A new exchange for `mechanism`, or null when it is not offered. */
  startExchange(mechanism: string): SaslExchange | null
}

export function createBrokerAuth(options: BrokerAuthOptions): UsersAuth {
  const mechanisms = [...(options.mechanisms ?? SUPPORTED_MECHANISMS)]
  const unsupported = mechanisms.find((m) => !SUPPORTED_MECHANISMS.includes(m))
  if (unsupported !== undefined) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `SASL mechanism ${unsupported} is not supported; choose from ${SUPPORTED_MECHANISMS.join(', ')}`,
    )
  }
  const lookup = (name: string) => options.users.get(name)
  const startExchange = (mechanism: string): SaslExchange | null => {
    if (!mechanisms.includes(mechanism)) return null
    return mechanism === PLAIN ? new PlainExchange(lookup) : new ScramSha256Exchange(lookup, options.scram)
  }
  return {
    mechanisms,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    startExchange,
    authenticate(session: SaslSession, clientToken: Buffer): SaslStep {
      if (session.state === undefined) session.state = startExchange(session.mechanism)
      const exchange = session.state
      if (!isExchange(exchange))
        return { kind: 'failed', message: `SASL mechanism ${session.mechanism} is not offered` }
      try {
        const result = exchange.step(clientToken)
        if (!result.done) return { kind: 'challenge', authBytes: result.response }
        return { kind: 'done', authBytes: result.response, principal: result.principal ?? '' }
      } catch (err) {
        if (err instanceof AuthError) return { kind: 'failed', message: err.message }
        throw err
      }
    },
  }
}

function isExchange(value: unknown): value is SaslExchange {
  return typeof value === 'object' && value !== null && typeof (value as SaslExchange).step === 'function'
}
