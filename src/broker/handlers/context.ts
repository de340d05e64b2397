// What every request handler gets, and the small helpers they share.
import { isEddyError } from '../../core/errors.js'
import type { EventLog } from '../../log/event-log.js'
import {
  type ApiName,
  errorCodeForVersion,
  type Input,
  type KafkaRequest,
  kafkaErrorCodeOf,
  type RequestHeader,
  type RequestOf,
  type ResponseOf,
} from '../../protocol/index.js'
import type { BrokerAuth, SaslSession } from '../auth/types.js'
import type { GroupCoordinatorApi } from '../group-coordinator-api.js'

/** Where the broker writes what it has to say: pino-compatible for plain string messages. */
export interface BrokerLogger {
  info(msg: string): void
  warn(msg: string): void
  error(msg: string): void
}

/** The broker as handlers see it: fixed for its life. */
export interface BrokerState {
  readonly log: EventLog
  readonly nodeId: number
  readonly clusterId: string
  /** The port clients reach this broker on (the bound one). */
  readonly port: number
  /** Create unknown topics a Metadata request names, when the request allows it too. */
  readonly autoCreateTopics: boolean
  /** Partitions of auto-created topics and of CreateTopics with numPartitions -1. */
  readonly defaultPartitions: number
  readonly groups: GroupCoordinatorApi | undefined
  readonly auth: BrokerAuth | undefined
  readonly logger: BrokerLogger
  readonly testHooks?: BrokerTestHooks | undefined
}

/** Test-only fault injection (interop tests force client retries with it). */
export interface BrokerTestHooks {
  /** After a Produce is appended, before its response is written: true drops the connection instead. */
  beforeProduceResponse?(req: RequestOf<'Produce'>): boolean
  /** Every decoded request, before it is served (tests count what clients send). */
  onRequest?(req: KafkaRequest): void
}

/** SASL progress of one connection. */
export type SaslState =
  | { readonly stage: 'none' }
  /** Handshake done; `raw`: SaslHandshake v0, so tokens come as bare frames, not SaslAuthenticate. */
  | { readonly stage: 'handshaken'; readonly session: SaslSession; readonly raw: boolean }
  | { readonly stage: 'authenticated'; readonly principal: string }

/** One client connection, as handlers see it. */
export interface ConnectionState {
  /** '/127.0.0.1', as Kafka shows client hosts. */
  readonly clientHost: string
  /** The host clients are told to connect to (Metadata, FindCoordinator). */
  readonly advertisedHost: string
  sasl: SaslState
  /** Set by a handler: close the connection once this response is written (failed SASL). */
  closeAfterResponse: boolean
}

export interface RequestContext {
  readonly broker: BrokerState
  readonly connection: ConnectionState
  readonly header: RequestHeader
  readonly apiVersion: number
  /** Aborts when the connection or the broker closes: long polls stop waiting. */
  readonly signal: AbortSignal
}

/** A response body, or null for none (Produce with acks=0). */
export type HandlerResult<N extends ApiName> = Input<ResponseOf<N>> | null

export interface ApiHandler<N extends ApiName> {
  handle(req: RequestOf<N>, ctx: RequestContext): HandlerResult<N> | Promise<HandlerResult<N>>
  /** The whole request failed with `code`: the response that says so everywhere it can. */
  errorResponse(req: RequestOf<N>, code: number, ctx: RequestContext): Input<ResponseOf<N>>
}

/**
 * The Kafka error code for an error met while serving a request, as this API version knows it.
 * Anything but an EddyError is a bug: it is rethrown, so the connection closes with a log line.
 */
export function errorCodeFor(err: unknown, ctx: RequestContext): number {
  if (!isEddyError(err)) throw err
  return errorCodeForVersion(ctx.header.apiKey, ctx.apiVersion, kafkaErrorCodeOf(err))
}

/** The message of an EddyError (rethrowing anything else, as errorCodeFor). */
export function errorMessageOf(err: unknown): string {
  if (!isEddyError(err)) throw err
  return err.message
}
