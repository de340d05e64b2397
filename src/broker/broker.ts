// A single-node Kafka broker over the embedded log: every Kafka client and tool (kcat, kafkajs,
// librdkafka, Kafka UIs) can produce to it and consume from it.
//
//   const broker = await Broker.start({ log, port: 9092 })
//   …
//   await broker.close()
import * as net from 'node:net'
import * as tls from 'node:tls'
import { EddyError } from '../core/errors.js'
import { limits as defaultLimits } from '../core/limits.js'
import type { EventLog } from '../log/event-log.js'
import type { BrokerAuth } from './auth/types.js'
import { loadClusterId } from './cluster-id.js'
import { Connection } from './connection.js'
import { GroupCoordinator } from './group-coordinator.js'
import type { GroupCoordinatorApi } from './group-coordinator-api.js'
import type { BrokerLogger, BrokerState, BrokerTestHooks } from './handlers/context.js'

export type { BrokerLogger, BrokerTestHooks } from './handlers/context.js'

export interface BrokerLimits {
  /** Largest request frame; a bigger one closes its connection. */
  readonly frameBytesMax: number
  /** Most connections at once; more are refused. */
  readonly connectionsMax: number
  /** Requests read but not answered per connection; past this the connection is not read. */
  readonly inFlightRequestsPerConnectionMax: number
  /** A connection with nothing read and no request being served for this long is closed. */
  readonly connectionIdleMsMax: number
  /** Once a frame's first bytes arrived, the rest must arrive within this, else the connection is closed. */
  readonly partialFrameMsMax: number
}

/** Node's timers hold at most this many milliseconds. */
const TIMER_MS_MAX = 2 ** 31 - 1

export interface BrokerOptions {
  readonly log: EventLog
  /** Interface to bind; loopback only by default. '0.0.0.0' or '::' for every interface. */
  readonly host?: string
  /** 9092 by default; 0 picks a free port (see `port` on the started broker). */
  readonly port?: number
  readonly nodeId?: number
  /** The host clients are told to connect to; default the bound host (the connection's local address for a wildcard). */
  readonly advertisedHost?: string
  /** Default: lines on stderr. */
  readonly logger?: BrokerLogger
  /** Defaults from core/limits.ts. */
  readonly limits?: Partial<BrokerLimits>
  /** SASL and TLS; none by default. */
  readonly auth?: BrokerAuth
  /** The consumer-group coordinator; a new in-memory one by default. */
  readonly groups?: GroupCoordinatorApi
  /** Create a topic a Metadata request names if it does not exist (and the client allows it). Default false. */
  readonly autoCreateTopics?: boolean
  /** Partitions of auto-created topics and of CreateTopics asking for the default. Default 1. */
  readonly defaultPartitions?: number
  /** How often transactions past their timeout are looked for and aborted. Default 10 s (Kafka's). */
  readonly transactionCheckIntervalMs?: number
  /** How long close() lets a request being served finish. Default 5 s. */
  readonly closeGraceMs?: number
  /** Test-only fault injection; never set outside tests. */
  readonly testHooks?: BrokerTestHooks
}

const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '::', ''])

export const stderrLogger: BrokerLogger = {
  info: (msg) => process.stderr.write(`eddy broker: ${msg}\n`),
  warn: (msg) => process.stderr.write(`eddy broker: warning: ${msg}\n`),
  error: (msg) => process.stderr.write(`eddy broker: error: ${msg}\n`),
}

function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening)
      reject(
        new EddyError(
          'IO',
          `cannot listen on ${host}:${port} (${err.code ?? err.message}): ${
            err.code === 'EADDRINUSE'
              ? 'another process uses the port; choose another with --port'
              : err.message
          }`,
          { cause: err },
        ),
      )
    }
    const onListening = () => {
      server.off('error', onError)
      resolve()
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen({ host, port })
  })
}

export class Broker {
  private readonly connections = new Set<Connection>()
  private nextConnectionId = 1
  private closing: Promise<void> | null = null
  private transactionTimer: NodeJS.Timeout | null = null

  private constructor(
    private readonly server: net.Server,
    private readonly state: BrokerState,
    private readonly brokerLimits: BrokerLimits,
    private readonly advertisedHost: string | undefined,
    private readonly ownedGroups: GroupCoordinator | null,
    private readonly closeGraceMs: number,
    /** The interface bound. */
    readonly host: string,
    /** The port bound (the real one when 0 was asked). */
    readonly port: number,
  ) {}

  /** Binds and starts serving; resolves once the broker accepts connections. */
  static async start(opts: BrokerOptions): Promise<Broker> {
    const host = opts.host ?? '127.0.0.1'
    const limits: BrokerLimits = {
      frameBytesMax: opts.limits?.frameBytesMax ?? defaultLimits.frameBytesMax,
      connectionsMax: opts.limits?.connectionsMax ?? defaultLimits.connectionsMax,
      inFlightRequestsPerConnectionMax:
        opts.limits?.inFlightRequestsPerConnectionMax ?? defaultLimits.inFlightRequestsPerConnectionMax,
      connectionIdleMsMax: opts.limits?.connectionIdleMsMax ?? defaultLimits.connectionIdleMsMax,
      partialFrameMsMax: opts.limits?.partialFrameMsMax ?? defaultLimits.partialFrameMsMax,
    }
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 1) {
        throw new EddyError('INVALID_ARGUMENT', `broker limit ${name} must be an integer >= 1, got ${value}`)
      }
    }
    for (const name of ['connectionIdleMsMax', 'partialFrameMsMax'] as const) {
      if (limits[name] > TIMER_MS_MAX) {
        throw new EddyError(
          'INVALID_ARGUMENT',
          `broker limit ${name} must be at most ${TIMER_MS_MAX} ms, got ${limits[name]}`,
        )
      }
    }
    const clusterId = loadClusterId(opts.log.dir)
    const tlsOptions = opts.auth?.tls
    const server = tlsOptions === undefined ? net.createServer() : tls.createServer(tlsOptions)
    const ownedGroups = opts.groups === undefined ? new GroupCoordinator() : null
    const logger = opts.logger ?? stderrLogger
    try {
      await listen(server, host, opts.port ?? 9092)
    } catch (err) {
      ownedGroups?.close()
      throw err
    }
    const port = (server.address() as net.AddressInfo).port
    const state: BrokerState = {
      log: opts.log,
      nodeId: opts.nodeId ?? 0,
      clusterId,
      port,
      autoCreateTopics: opts.autoCreateTopics ?? false,
      defaultPartitions: opts.defaultPartitions ?? 1,
      groups: opts.groups ?? ownedGroups ?? undefined,
      auth: opts.auth,
      logger,
      testHooks: opts.testHooks,
    }
    const advertised = opts.advertisedHost ?? (WILDCARD_HOSTS.has(host) ? undefined : host)
    const broker = new Broker(
      server,
      state,
      limits,
      advertised,
      ownedGroups,
      opts.closeGraceMs ?? 5000,
      host,
      port,
    )
    server.on(tlsOptions === undefined ? 'connection' : 'secureConnection', (socket: net.Socket) =>
      broker.accept(socket),
    )
    // After listen, a server error (an accept failing for want of file descriptors…) is logged,
    // never thrown: the connections already open go on.
    server.on('error', (err: Error) => logger.error(`listener on ${host}:${port}: ${err.message}`))
    server.on('tlsClientError', (err: Error, socket: net.Socket) => {
      logger.warn(`TLS handshake with ${socket.remoteAddress ?? 'unknown'} failed: ${err.message}`)
    })
    broker.startTransactionTimer(opts.transactionCheckIntervalMs ?? 10_000)
    return broker
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.connections.size
  }

  get clusterId(): string {
    return this.state.clusterId
  }

  get nodeId(): number {
    return this.state.nodeId
  }

  private accept(socket: net.Socket): void {
    if (this.closing !== null) {
      socket.destroy()
      return
    }
    if (this.connections.size >= this.brokerLimits.connectionsMax) {
      this.state.logger.warn(
        `refusing a connection from ${socket.remoteAddress ?? 'unknown'}: ${this.connections.size} connections are open, the limit (connectionsMax)`,
      )
      socket.destroy()
      return
    }
    const conn = new Connection(
      this.nextConnectionId++,
      socket,
      this.state,
      this.brokerLimits,
      this.advertisedHost,
      (c) => this.connections.delete(c),
    )
    this.connections.add(conn)
  }

  private startTransactionTimer(intervalMs: number): void {
    if (intervalMs <= 0) return
    const { log, logger } = this.state
    this.transactionTimer = setInterval(() => {
      log.transactions.abortExpiredTransactions().then(
        (aborted) => {
          if (aborted.length > 0)
            logger.info(`aborted transaction(s) past their timeout: ${aborted.join(', ')}`)
        },
        (err: unknown) => logger.warn(`aborting timed-out transactions failed: ${String(err)}`),
      )
    }, intervalMs)
    this.transactionTimer.unref()
  }

  /**
   * Stops accepting, ends long polls, lets requests being served finish (up to closeGraceMs),
   * closes every connection. The log stays open: it is the caller's.
   */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown()
    return this.closing
  }

  private async shutdown(): Promise<void> {
    if (this.transactionTimer !== null) clearInterval(this.transactionTimer)
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()))
    // Pending joins and syncs are answered, so their connections can finish.
    this.ownedGroups?.close()
    await Promise.all([...this.connections].map((c) => c.close(this.closeGraceMs)))
    await stopped
  }
}
