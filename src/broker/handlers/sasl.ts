// SaslHandshake and SaslAuthenticate: drive the exchange of the broker's BrokerAuth and move the
// connection from unauthenticated to authenticated. SaslHandshake v0 clients send their tokens
// as bare frames instead of SaslAuthenticate; the connection hands those to `rawSaslToken`.
import { KafkaErrors } from '../../protocol/index.js'
import type { SaslStep } from '../auth/types.js'
import type { ApiHandler, BrokerState, ConnectionState } from './context.js'

const EMPTY = Buffer.alloc(0)

export const saslHandshake: ApiHandler<'SaslHandshake'> = {
  handle(req, ctx) {
    const mechanisms = [...(ctx.broker.auth?.mechanisms ?? [])]
    const conn = ctx.connection
    if (conn.sasl.stage !== 'none') {
      conn.closeAfterResponse = true
      return { errorCode: KafkaErrors.ILLEGAL_SASL_STATE, mechanisms }
    }
    if (!mechanisms.includes(req.mechanism)) {
      return { errorCode: KafkaErrors.UNSUPPORTED_SASL_MECHANISM, mechanisms }
    }
    conn.sasl = {
      stage: 'handshaken',
      session: { mechanism: req.mechanism, state: undefined },
      raw: ctx.apiVersion === 0,
    }
    return { errorCode: KafkaErrors.NONE, mechanisms }
  },
  errorResponse(_req, code, ctx) {
    return { errorCode: code, mechanisms: [...(ctx.broker.auth?.mechanisms ?? [])] }
  },
}

/** Applies one step's outcome to the connection; returns what to send back, or null on failure. */
function applyStep(step: SaslStep, conn: ConnectionState, broker: BrokerState): Buffer | null {
  if (step.kind === 'failed') {
    broker.logger.warn(`SASL authentication of ${conn.clientHost} failed: ${step.message}`)
    conn.closeAfterResponse = true
    return null
  }
  if (step.kind === 'done') conn.sasl = { stage: 'authenticated', principal: step.principal }
  return step.authBytes
}

export const saslAuthenticate: ApiHandler<'SaslAuthenticate'> = {
  async handle(req, ctx) {
    const conn = ctx.connection
    const auth = ctx.broker.auth
    if (auth === undefined || conn.sasl.stage !== 'handshaken' || conn.sasl.raw) {
      conn.closeAfterResponse = true
      return {
        errorCode: KafkaErrors.ILLEGAL_SASL_STATE,
        errorMessage:
          conn.sasl.stage === 'authenticated'
            ? 'already authenticated'
            : 'SaslAuthenticate before a SaslHandshake v1 that chose a mechanism',
        authBytes: EMPTY,
      }
    }
    const step = await auth.authenticate(conn.sasl.session, req.authBytes)
    const reply = applyStep(step, conn, ctx.broker)
    if (reply === null) {
      return {
        errorCode: KafkaErrors.SASL_AUTHENTICATION_FAILED,
        errorMessage: step.kind === 'failed' ? step.message : null,
        authBytes: EMPTY,
      }
    }
    return { errorCode: KafkaErrors.NONE, errorMessage: null, authBytes: reply, sessionLifetimeMs: 0 }
  },
  errorResponse(_req, code) {
    return { errorCode: code, errorMessage: null, authBytes: EMPTY }
  },
}

/**
 * A bare SASL token after SaslHandshake v0: the reply to frame (without its size prefix), or
 * null when authentication failed and the connection must close.
 */
export async function rawSaslToken(
  token: Buffer,
  conn: ConnectionState,
  broker: BrokerState,
): Promise<Buffer | null> {
  if (broker.auth === undefined || conn.sasl.stage !== 'handshaken') return null
  const step = await broker.auth.authenticate(conn.sasl.session, token)
  return applyStep(step, conn, broker)
}
