// A Kafka cluster as the Kafka transport sees it: connections, API versions, metadata (leaders,
// topic ids), coordinators, errors and retries. The connections are @platformatic/kafka's (TCP or
// TLS, SASL, request timeouts, reconnects); the requests sent on them are encoded and decoded by
// Eddy's own protocol layer, the codecs the broker uses, so every field is within reach (offset
// metadata, raw record batches, per-partition errors).
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import type { Broker, ConnectionPool } from '@platformatic/kafka'
import { EddyError, type EddyErrorCode, isEddyError } from '../core/errors.js'
import { validateTopicName } from '../core/topic-name.js'
import {
  type AnyApi,
  type ApiName,
  apis,
  type Input,
  isFlexible,
  KafkaErrors,
  kafkaErrorName,
  type RequestOf,
  type ResponseOf,
  UUID_ZERO,
} from '../protocol/index.js'

type Platformatic = typeof import('@platformatic/kafka')

let library: Promise<Platformatic> | undefined

/** @platformatic/kafka takes most of a second to import: only apps on Kafka pay for it. */
function loadLibrary(): Promise<Platformatic> {
  library ??= import('@platformatic/kafka')
  return library
}

export interface KafkaSaslOptions {
  readonly mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'
  readonly username: string
  readonly password: string
}

export interface KafkaClusterOptions {
  /** Bootstrap brokers, `host:port` each. */
  readonly brokers: readonly string[]
  /** Sent with every request (Kafka's client.id); default `eddy`. */
  readonly clientId?: string
  /** Connect with TLS, with these options (CA, client certificate…); omit for plain TCP. */
  readonly tls?: TlsConnectionOptions
  readonly sasl?: KafkaSaslOptions
  /** Default 10 s. */
  readonly connectTimeoutMs?: number
  /** How long a request may wait for its response (a long poll's wait comes on top). Default 30 s. */
  readonly requestTimeoutMs?: number
  /** How long an operation retries errors that may pass (leader moves, lost connections). Default 30 s. */
  readonly retryTimeoutMs?: number
  /** Upper bounds on the API versions used: to work around a broker's bug, or to test older versions. */
  readonly maxApiVersions?: Partial<Readonly<Record<ApiName, number>>>
}

/**
 * The versions this client speaks, per API: from the oldest that has the fields it needs to the
 * newest Eddy's codecs know. AddPartitionsToTxn stops at 3: 4+ are for brokers (KIP-890).
 */
const CLIENT_VERSIONS: Readonly<Partial<Record<ApiName, readonly [number, number]>>> = {
  Metadata: [4, 12], // 4: allowAutoTopicCreation
  Fetch: [4, 17], // 4: isolation level
  ListOffsets: [2, 9], // 2: isolation level
  Produce: [3, 11], // 3: transactional id
  FindCoordinator: [1, 6], // 1: key type
  OffsetCommit: [2, 9],
  OffsetFetch: [1, 9],
  InitProducerId: [0, 5],
  AddPartitionsToTxn: [0, 3],
  AddOffsetsToTxn: [0, 4],
  TxnOffsetCommit: [0, 4],
  EndTxn: [0, 4],
  CreateTopics: [4, 7], // 4: replication factor -1 (the cluster's default)
  DescribeConfigs: [1, 4],
  JoinGroup: [1, 9], // 1: rebalance timeout
  SyncGroup: [0, 5],
  Heartbeat: [0, 4],
  LeaveGroup: [0, 5],
  DeleteRecords: [0, 2],
}

/** Errors that may pass: retried (after refreshing what they name) until `retryTimeoutMs`. */
const RETRIABLE: ReadonlySet<number> = new Set([
  KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION,
  KafkaErrors.LEADER_NOT_AVAILABLE,
  KafkaErrors.NOT_LEADER_OR_FOLLOWER,
  KafkaErrors.REQUEST_TIMED_OUT,
  KafkaErrors.BROKER_NOT_AVAILABLE,
  KafkaErrors.REPLICA_NOT_AVAILABLE,
  KafkaErrors.NETWORK_EXCEPTION,
  KafkaErrors.COORDINATOR_LOAD_IN_PROGRESS,
  KafkaErrors.COORDINATOR_NOT_AVAILABLE,
  KafkaErrors.NOT_COORDINATOR,
  KafkaErrors.NOT_ENOUGH_REPLICAS,
  KafkaErrors.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  KafkaErrors.NOT_CONTROLLER,
  KafkaErrors.CONCURRENT_TRANSACTIONS,
  KafkaErrors.KAFKA_STORAGE_ERROR,
  KafkaErrors.FENCED_LEADER_EPOCH,
  KafkaErrors.UNKNOWN_LEADER_EPOCH,
  KafkaErrors.OFFSET_NOT_AVAILABLE,
  KafkaErrors.UNSTABLE_OFFSET_COMMIT,
  KafkaErrors.THROTTLING_QUOTA_EXCEEDED,
  KafkaErrors.UNKNOWN_TOPIC_ID,
  KafkaErrors.REBALANCE_IN_PROGRESS,
])

const COORDINATOR_MOVED: ReadonlySet<number> = new Set([
  KafkaErrors.NOT_COORDINATOR,
  KafkaErrors.COORDINATOR_NOT_AVAILABLE,
])

/** Kafka's error codes that have an Eddy code of their own; the others are KAFKA_ERROR. */
const EDDY_CODES: ReadonlyMap<number, EddyErrorCode> = new Map<number, EddyErrorCode>([
  [KafkaErrors.OFFSET_OUT_OF_RANGE, 'OFFSET_OUT_OF_RANGE'],
  [KafkaErrors.CORRUPT_MESSAGE, 'CORRUPT_RECORD'],
  [KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION, 'UNKNOWN_TOPIC'],
  [KafkaErrors.UNKNOWN_TOPIC_ID, 'UNKNOWN_TOPIC'],
  [KafkaErrors.MESSAGE_TOO_LARGE, 'RECORD_TOO_LARGE'],
  [KafkaErrors.RECORD_LIST_TOO_LARGE, 'BATCH_TOO_LARGE'],
  [KafkaErrors.INVALID_TOPIC_EXCEPTION, 'INVALID_TOPIC_NAME'],
  [KafkaErrors.TOPIC_ALREADY_EXISTS, 'TOPIC_EXISTS'],
  [KafkaErrors.INVALID_RECORD, 'INVALID_RECORD'],
  [KafkaErrors.OUT_OF_ORDER_SEQUENCE_NUMBER, 'OUT_OF_ORDER_SEQUENCE'],
  [KafkaErrors.DUPLICATE_SEQUENCE_NUMBER, 'DUPLICATE_SEQUENCE'],
  [KafkaErrors.PRODUCER_FENCED, 'PRODUCER_FENCED'],
  [KafkaErrors.TRANSACTION_COORDINATOR_FENCED, 'PRODUCER_FENCED'],
  [KafkaErrors.INVALID_PRODUCER_EPOCH, 'INVALID_PRODUCER_EPOCH'],
  [KafkaErrors.INVALID_TXN_STATE, 'INVALID_TXN_STATE'],
  [KafkaErrors.TRANSACTION_ABORTABLE, 'INVALID_TXN_STATE'],
  [KafkaErrors.UNKNOWN_PRODUCER_ID, 'UNKNOWN_PRODUCER_ID'],
  [KafkaErrors.INVALID_PRODUCER_ID_MAPPING, 'INVALID_PRODUCER_ID_MAPPING'],
  [KafkaErrors.INVALID_TRANSACTION_TIMEOUT, 'INVALID_TRANSACTION_TIMEOUT'],
  [KafkaErrors.UNSUPPORTED_VERSION, 'UNSUPPORTED_VERSION'],
  [KafkaErrors.UNSUPPORTED_COMPRESSION_TYPE, 'UNSUPPORTED_COMPRESSION'],
  [KafkaErrors.INVALID_REQUEST, 'INVALID_ARGUMENT'],
  [KafkaErrors.INVALID_PARTITIONS, 'INVALID_ARGUMENT'],
  [KafkaErrors.INVALID_REPLICATION_FACTOR, 'INVALID_ARGUMENT'],
  [KafkaErrors.INVALID_CONFIG, 'INVALID_ARGUMENT'],
  [KafkaErrors.POLICY_VIOLATION, 'INVALID_ARGUMENT'],
  [KafkaErrors.OFFSET_METADATA_TOO_LARGE, 'INVALID_ARGUMENT'],
  [KafkaErrors.INVALID_COMMIT_OFFSET_SIZE, 'INVALID_ARGUMENT'],
  [KafkaErrors.INVALID_GROUP_ID, 'INVALID_ARGUMENT'],
  [KafkaErrors.UNKNOWN_MEMBER_ID, 'INVALID_ARGUMENT'],
  [KafkaErrors.ILLEGAL_GENERATION, 'INVALID_ARGUMENT'],
])

const HINTS: ReadonlyMap<number, string> = new Map([
  [KafkaErrors.TOPIC_AUTHORIZATION_FAILED, 'grant the client access to the topic (ACLs)'],
  [KafkaErrors.GROUP_AUTHORIZATION_FAILED, 'grant the client access to the consumer group (ACLs)'],
  [
    KafkaErrors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    'grant the client access to the transactional id (ACLs)',
  ],
  [KafkaErrors.CLUSTER_AUTHORIZATION_FAILED, 'grant the client the cluster permission it needs (ACLs)'],
  [
    KafkaErrors.UNKNOWN_MEMBER_ID,
    'the group has active members: another consumer uses this group id; give the app its own id',
  ],
  [
    KafkaErrors.ILLEGAL_GENERATION,
    'the group has active members: another consumer uses this group id; give the app its own id',
  ],
  [KafkaErrors.PRODUCER_FENCED, 'a newer instance with the same transactional id took over'],
  [KafkaErrors.TRANSACTION_ABORTABLE, 'abort the transaction'],
])

/** An error that may pass: `retry` tries again; once out of time it throws `final()`. */
export class Retriable extends Error {
  constructor(
    readonly code: EddyErrorCode,
    message: string,
    /** Called before the next attempt: forget what the error says is stale (a leader, a coordinator). */
    readonly invalidate?: () => void,
    /** The Kafka error code; undefined when the request got no answer (a connection failed). */
    readonly kafkaCode?: number,
  ) {
    super(message)
    this.name = 'Retriable'
  }

  final(attempts: number, elapsedMs: number): EddyError {
    return new EddyError(
      this.code,
      `${this.message} (still failing after ${attempts} attempts in ${elapsedMs} ms)`,
    )
  }
}

/**
 * The error for a Kafka error code met at `where`: a Retriable when it may pass (`invalidate`
 * runs before the retry), else an EddyError naming the code and what to do.
 */
export function kafkaError(
  code: number,
  where: string,
  opts: { invalidate?: () => void; serverMessage?: string | null } = {},
): Retriable | EddyError {
  const name = kafkaErrorName(code)
  const hint = HINTS.get(code)
  const message = `${where}: the Kafka cluster answered ${name}${opts.serverMessage ? ` (${opts.serverMessage})` : ''}${hint === undefined ? '' : `: ${hint}`}`
  const eddyCode = EDDY_CODES.get(code) ?? 'KAFKA_ERROR'
  if (RETRIABLE.has(code)) return new Retriable(eddyCode, message, opts.invalidate, code)
  return new EddyError(eddyCode, message)
}

export interface TopicMetadata {
  readonly name: string
  /** UUID_ZERO when the cluster does not name topics by id (Metadata before v10). */
  readonly id: string
  /** The leader's node id by partition; -1 while a partition has none. */
  readonly leaders: readonly number[]
}

/** FindCoordinator's key types. */
export const CoordinatorType = { Group: 0, Transaction: 1 } as const
export type CoordinatorType = (typeof CoordinatorType)[keyof typeof CoordinatorType]

const BACKOFF_MS_MIN = 10
const BACKOFF_MS_MAX = 1000

/** Backoff before retry `attempt` (0-based): 10, 20, 40… ms, at most 1 s. */
export function backoffMs(attempt: number): number {
  return Math.min(BACKOFF_MS_MAX, BACKOFF_MS_MIN * 2 ** Math.min(attempt, 16))
}

function parseBroker(address: string): Broker {
  const at = address.lastIndexOf(':')
  const port = Number(address.slice(at + 1))
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `broker address ${JSON.stringify(address)} is not host:port (e.g. 127.0.0.1:9092)`,
    )
  }
  return { host: address.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port }
}

function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : ''
  return `${err.message}${cause}`
}

function isAuthenticationFailure(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === 'PLT_KFK_AUTHENTICATION') return true
  }
  return false
}

export class KafkaCluster {
  private readonly brokers = new Map<number, Broker>()
  private readonly topics = new Map<string, TopicMetadata>()
  private readonly loadingTopics = new Map<string, Promise<TopicMetadata | null>>()
  private readonly coordinators = new Map<string, Promise<number>>()
  private readonly chosenVersions = new Map<ApiName, number>()
  private readonly pools = new Set<ConnectionPool>()
  /** The pool for metadata, coordinators, offsets and admin requests. */
  readonly control: ConnectionPool
  private controllerId = -1
  private closed = false
  readonly clientId: string
  readonly requestTimeoutMs: number
  readonly retryTimeoutMs: number

  private constructor(
    private readonly lib: Platformatic,
    private readonly opts: KafkaClusterOptions,
    private readonly bootstrap: readonly Broker[],
    private readonly brokerVersions: ReadonlyMap<number, { minVersion: number; maxVersion: number }>,
    control: ConnectionPool,
  ) {
    this.clientId = opts.clientId ?? 'eddy'
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000
    this.retryTimeoutMs = opts.retryTimeoutMs ?? 30_000
    this.control = control
  }

  /** Connects to a bootstrap broker and learns which API versions the cluster speaks. */
  static async connect(opts: KafkaClusterOptions): Promise<KafkaCluster> {
    if (opts.brokers.length === 0) {
      throw new EddyError('INVALID_ARGUMENT', 'no Kafka brokers given: pass at least one host:port')
    }
    const bootstrap = opts.brokers.map(parseBroker)
    const lib = await loadLibrary()
    const control = newPool(lib, opts, opts.requestTimeoutMs ?? 30_000)
    try {
      const versions = await retryFor(
        opts.retryTimeoutMs ?? 30_000,
        () => false,
        async () => {
          const body = await send(lib, control, null, bootstrap, 'ApiVersions', 3, {
            clientSoftwareName: 'eddy',
            clientSoftwareVersion: '0',
          })
          if (body.errorCode !== KafkaErrors.NONE) throw kafkaError(body.errorCode, 'ApiVersions')
          return new Map(body.apiKeys.map((k) => [k.apiKey, k]))
        },
      )
      const cluster = new KafkaCluster(lib, opts, bootstrap, versions, control)
      cluster.pools.add(control)
      return cluster
    } catch (err) {
      await control.close()
      throw err
    }
  }

  /** A new connection pool: one connection per broker, for traffic that must not queue behind the control pool's. */
  newPool(extraRequestTimeoutMs = 0): ConnectionPool {
    const pool = newPool(this.lib, this.opts, this.requestTimeoutMs + extraRequestTimeoutMs)
    this.pools.add(pool)
    return pool
  }

  async closePool(pool: ConnectionPool): Promise<void> {
    this.pools.delete(pool)
    await pool.close()
  }

  /** The version to send `api` at: the newest both sides speak. */
  version(api: ApiName): number {
    const known = this.chosenVersions.get(api)
    if (known !== undefined) return known
    const def: AnyApi = apis[api]
    const ours = CLIENT_VERSIONS[api] ?? [def.minVersion, def.maxVersion]
    const theirs = this.brokerVersions.get(def.apiKey)
    const cap = this.opts.maxApiVersions?.[api] ?? Number.POSITIVE_INFINITY
    const min = Math.max(ours[0], theirs?.minVersion ?? 0)
    let max = Math.min(ours[1], theirs?.maxVersion ?? -1, cap)
    // Fetch by topic id (v13+) needs the ids from Metadata v10+.
    if (api === 'Fetch' && this.version('Metadata') < 10) max = Math.min(max, 12)
    if (max < min) {
      throw new EddyError(
        'UNSUPPORTED_VERSION',
        cap < ours[0]
          ? `maxApiVersions.${api} is ${cap}, but Eddy needs ${api} v${ours[0]} or newer: raise or drop the cap`
          : `the Kafka cluster speaks ${api} ${theirs === undefined ? 'in no version' : `v${theirs.minVersion}-v${theirs.maxVersion}`}; Eddy needs a version in v${ours[0]}-v${ours[1]}: use Kafka 2.8 or newer (or a compatible broker)`,
      )
    }
    this.chosenVersions.set(api, max)
    return max
  }

  /** Sends one request to a node (null: any broker) and decodes the response. */
  async send<N extends ApiName>(
    pool: ConnectionPool,
    node: number | null,
    api: N,
    version: number,
    body: Input<RequestOf<N>>,
  ): Promise<ResponseOf<N>> {
    this.checkOpen()
    const candidates = node === null ? [...this.brokers.values(), ...this.bootstrap] : [this.broker(node)]
    return send(this.lib, pool, node, candidates, api, version, body)
  }

  /** Runs `attempt` until it succeeds, throws a non-Retriable error, or `retryTimeoutMs` passes. */
  retry<T>(attempt: () => Promise<T>): Promise<T> {
    return retryFor(this.retryTimeoutMs, () => this.closed, attempt)
  }

  // ---- metadata ----------------------------------------------------------------------------

  /** The topic's metadata (cached unless `refresh`), or null when it does not exist. */
  topic(name: string, refresh = false): Promise<TopicMetadata | null> {
    if (!refresh) {
      const cached = this.topics.get(name)
      if (cached !== undefined) return Promise.resolve(cached)
    }
    let loading = this.loadingTopics.get(name)
    if (loading === undefined) {
      loading = this.loadTopic(name).finally(() => this.loadingTopics.delete(name))
      this.loadingTopics.set(name, loading)
    }
    return loading
  }

  /** The topic's metadata from the cache, without asking the cluster. */
  cachedTopic(name: string): TopicMetadata | undefined {
    return this.topics.get(name)
  }

  /** Forgets the topic's metadata: its next use asks the cluster. */
  invalidateTopic(name: string): void {
    this.topics.delete(name)
  }

  /** The topic's metadata; UNKNOWN_TOPIC / UNKNOWN_PARTITION when it or the partition does not exist. */
  async partitionOf(topic: string, partition: number): Promise<TopicMetadata> {
    let t = await this.topic(topic)
    // Cached metadata may predate partitions added since: look again before refusing.
    if (t !== null && partition >= t.leaders.length && this.topics.get(topic) === t)
      t = await this.topic(topic, true)
    if (t === null) {
      throw new EddyError(
        'UNKNOWN_TOPIC',
        `topic ${topic} does not exist on the Kafka cluster: create it first (or check the name)`,
      )
    }
    if (!Number.isInteger(partition) || partition < 0 || partition >= t.leaders.length) {
      throw new EddyError(
        'UNKNOWN_PARTITION',
        `topic ${topic} has ${t.leaders.length} partition(s); partition ${partition} does not exist`,
      )
    }
    return t
  }

  /** The leader of a partition; a Retriable while it has none. */
  async leaderOf(topic: string, partition: number): Promise<number> {
    const t = await this.partitionOf(topic, partition)
    const leader = t.leaders[partition]!
    if (leader < 0 || !this.brokers.has(leader)) {
      throw new Retriable(
        'BROKER_UNAVAILABLE',
        `${topic}-${partition} has no leader the client knows of`,
        () => this.invalidateTopic(topic),
      )
    }
    return leader
  }

  /** The controller's node id (for CreateTopics), or null when the cluster did not say. */
  get controller(): number | null {
    return this.controllerId >= 0 && this.brokers.has(this.controllerId) ? this.controllerId : null
  }

  private async loadTopic(name: string): Promise<TopicMetadata | null> {
    validateTopicName(name)
    const v = this.version('Metadata')
    return this.retry(async () => {
      const res = await this.send(this.control, null, 'Metadata', v, {
        topics: [{ name, topicId: UUID_ZERO }],
        allowAutoTopicCreation: false,
      })
      for (const b of res.brokers) this.brokers.set(b.nodeId, { host: b.host, port: b.port })
      this.controllerId = res.controllerId
      const t = res.topics.find((x) => x.name === name)
      if (t === undefined || t.errorCode === KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION) {
        this.topics.delete(name)
        return null
      }
      if (t.errorCode !== KafkaErrors.NONE) throw kafkaError(t.errorCode, `metadata of topic ${name}`)
      const leaders = new Array<number>(t.partitions.length).fill(-2)
      for (const p of t.partitions) leaders[p.partitionIndex] = p.leaderId
      if (leaders.length === 0 || leaders.includes(-2)) {
        throw new Retriable('UNKNOWN_TOPIC', `metadata of topic ${name} lists no partitions yet`, () => {})
      }
      const meta: TopicMetadata = { name, id: t.topicId ?? UUID_ZERO, leaders }
      this.topics.set(name, meta)
      return meta
    })
  }

  private broker(node: number): Broker {
    const b = this.brokers.get(node)
    if (b === undefined) {
      throw new Retriable('BROKER_UNAVAILABLE', `broker ${node} is not in the cluster's metadata`, () =>
        this.topics.clear(),
      )
    }
    return b
  }

  // ---- coordinators ------------------------------------------------------------------------

  /** The node coordinating a consumer group or a transactional id (cached). */
  coordinator(type: CoordinatorType, key: string): Promise<number> {
    const k = `${type}\u0000${key}`
    let found = this.coordinators.get(k)
    if (found === undefined) {
      found = this.findCoordinator(type, key)
      found.catch(() => this.coordinators.delete(k))
      this.coordinators.set(k, found)
    }
    return found
  }

  forgetCoordinator(type: CoordinatorType, key: string): void {
    this.coordinators.delete(`${type}\u0000${key}`)
  }

  /**
   * Runs `attempt` against the coordinator of `key`, with retries; the coordinator is looked up
   * again after a lost connection or an answer that it moved.
   */
  withCoordinator<T>(type: CoordinatorType, key: string, attempt: (node: number) => Promise<T>): Promise<T> {
    return this.retry(async () => {
      const node = await this.coordinator(type, key)
      try {
        return await attempt(node)
      } catch (err) {
        if (
          err instanceof Retriable &&
          (err.kafkaCode === undefined || COORDINATOR_MOVED.has(err.kafkaCode))
        ) {
          this.forgetCoordinator(type, key)
        }
        throw err
      }
    })
  }

  private async findCoordinator(type: CoordinatorType, key: string): Promise<number> {
    const v = this.version('FindCoordinator')
    const what = `${type === CoordinatorType.Group ? 'group' : 'transaction'} coordinator for ${key}`
    return this.retry(async () => {
      const res = await this.send(this.control, null, 'FindCoordinator', v, {
        key,
        keyType: type,
        coordinatorKeys: [key],
      })
      const found =
        v >= 4
          ? res.coordinators.find((c) => c.key === key)
          : {
              nodeId: res.nodeId,
              host: res.host,
              port: res.port,
              errorCode: res.errorCode,
              errorMessage: res.errorMessage,
            }
      if (found === undefined)
        throw new EddyError('KAFKA_ERROR', `finding the ${what}: the answer names no coordinator`)
      if (found.errorCode !== KafkaErrors.NONE) {
        throw kafkaError(found.errorCode, `finding the ${what}`, { serverMessage: found.errorMessage })
      }
      this.brokers.set(found.nodeId, { host: found.host, port: found.port })
      return found.nodeId
    })
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  get isClosed(): boolean {
    return this.closed
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const pools = [...this.pools]
    this.pools.clear()
    await Promise.allSettled(pools.map((p) => p.close()))
  }

  private checkOpen(): void {
    if (this.closed) {
      throw new EddyError('LOG_CLOSED', 'the Kafka transport is closed: create a new one')
    }
  }
}

function newPool(lib: Platformatic, opts: KafkaClusterOptions, requestTimeoutMs: number): ConnectionPool {
  const pool = new lib.ConnectionPool(opts.clientId ?? 'eddy', {
    connectTimeout: opts.connectTimeoutMs ?? 10_000,
    requestTimeout: requestTimeoutMs,
    ...(opts.tls === undefined ? {} : { tls: opts.tls }),
    ...(opts.sasl === undefined ? {} : { sasl: { ...opts.sasl } }),
  })
  // A connection reports socket errors as events too; the requests on it fail with them anyway.
  pool.on('connecting', ({ connection }) => {
    connection.on('error', () => {})
  })
  return pool
}

async function send<N extends ApiName>(
  lib: Platformatic,
  pool: ConnectionPool,
  node: number | null,
  candidates: readonly Broker[],
  api: N,
  version: number,
  body: Input<RequestOf<N>>,
): Promise<ResponseOf<N>> {
  const def: AnyApi = apis[api]
  const payload = def.request.encode(body, version)
  const flexible = isFlexible(def.apiKey, version)
  let target = candidates[0]!
  let raw: Buffer
  try {
    const connection = node === null ? await pool.getFirstAvailable([...candidates]) : await pool.get(target)
    target = { host: connection.host ?? target.host, port: connection.port ?? target.port }
    raw = await new Promise<Buffer>((resolve, reject) => {
      connection.send(
        def.apiKey,
        version,
        () => lib.Writer.create().append(payload),
        (_correlationId, _apiKey, _apiVersion, reader) => reader.buffer.slice(reader.position),
        flexible,
        // ApiVersions answers with response header v0 in every version (KIP-511).
        flexible && api !== 'ApiVersions',
        (err, bytes) => (err ? reject(err) : resolve(bytes as Buffer)),
      )
    })
  } catch (err) {
    if (isEddyError(err)) throw err
    const where = `${api} to ${target.host}:${target.port}`
    if (isAuthenticationFailure(err)) {
      throw new EddyError(
        'BROKER_UNAVAILABLE',
        `${where}: authentication failed (${messageOf(err)}): check the SASL mechanism, user name and password`,
      )
    }
    throw new Retriable(
      'BROKER_UNAVAILABLE',
      `${where} failed (${messageOf(err)}): check that the Kafka cluster is up and reachable at that address`,
    )
  }
  return def.response.decode(raw, version) as ResponseOf<N>
}

async function retryFor<T>(timeoutMs: number, closed: () => boolean, attempt: () => Promise<T>): Promise<T> {
  const started = Date.now()
  for (let n = 0; ; n++) {
    try {
      return await attempt()
    } catch (err) {
      if (!(err instanceof Retriable)) throw err
      err.invalidate?.()
      const wait = backoffMs(n)
      if (closed() || Date.now() - started + wait > timeoutMs) throw err.final(n + 1, Date.now() - started)
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}
