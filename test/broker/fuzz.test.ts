// Fuzz: over 100,000 mutated and random request frames against one broker (SASL on, in this
// process, port 0), while a well-behaved client keeps producing and fetching. Frames start as real
// requests built with the protocol encoders (every version of 20 APIs, SASL exchanges) and are
// mutated: bits flipped, bytes set to edge values, ints set to huge counts and lengths, frames
// truncated, extended, spliced, api keys and versions changed, size prefixes lied about; some are
// pure random, some connections send no framing at all. Short connections carry a few frames,
// long ones hundreds, pipelined, each ended by an ApiVersions "sentinel" whose answer proves every
// frame before it was served. At the end the broker still serves, no connection died of a bug
// (no error-level log line), and its memory stayed bounded. The broker's log lines are counted,
// not printed. The seed is printed (diagnostic); rerun one with EDDY_FUZZ_SEED=<seed>.
import assert from 'node:assert/strict'
import * as net from 'node:net'
import { after, before, describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createBrokerAuth } from '../../src/broker/auth/broker-auth.js'
import { parseUsers } from '../../src/broker/auth/users-file.js'
import type { BrokerLogger } from '../../src/broker/broker.js'
import { GroupCoordinator } from '../../src/broker/group-coordinator.js'
import type { LogRecord } from '../../src/core/record.js'
import { decodeBatchRecords, encodeRecordBatch, readBatchHeader } from '../../src/core/record-batch.js'
import {
  type ApiName,
  apis,
  Compression,
  encodeCompressedBatch,
  encodeRequest,
  UUID_ZERO,
} from '../../src/protocol/index.js'
import { startBroker, type TestBroker } from './harness.js'
import { KafkaTestClient } from './kafka-test-client.js'

/** Mutated and random frames to send (valid frames of long connections come on top). */
const FUZZ_FRAMES = Number(process.env.EDDY_FUZZ_FRAMES ?? 100_000)
/** Connections open at once. */
const CONCURRENCY = 32
/** The well-behaved client produces and fetches after every this many frames. */
const CHECK_EVERY = 5_000
/** A connection whose sentinel is not answered (a frame that claims more bytes than sent, a long poll) is dropped after this. */
const SESSION_TIMEOUT_MS = 1_000
/**
 * Bound on the process's resident memory growth over the run, after GC. Measured: +60 to +80 MB
 * alone, +166 MB once beside other test files; the allocator's working set, reached by the third
 * round and flat after it (a leak grows instead: see RSS_DRIFT_MAX_BYTES).
 */
const RSS_GROWTH_MAX_BYTES = 256 * 1024 * 1024
/** Bound on the growth from the second quarter of the run to the last (mean rss after GC of their rounds). */
const RSS_DRIFT_MAX_BYTES = 64 * 1024 * 1024

const TOPIC = 'fuzz'
const GOOD_TOPIC = 'well-behaved'
const USER = 'fuzzer'
const PASSWORD = 'fuzz-password'
const SENTINEL_ID = 0x0badf00d

// ---- randomness -------------------------------------------------------------------------

class Rng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  /** mulberry32: uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n)
    for (let i = 0; i < n; i++) b[i] = this.int(256)
    return b
  }
}

// ---- seed frames: real requests at every version ----------------------------------------

interface Seed {
  readonly api: ApiName
  readonly version: number
  /** Size prefix included. */
  readonly frame: Buffer
}

function batch(values: string[], compression = Compression.None): Buffer {
  const records = values.map((v, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(v) }))
  return compression === Compression.None
    ? encodeRecordBatch({ records })
    : encodeCompressedBatch({ records, compression })
}

/** `api` at every version that `body` encodes at, with and without a client id. */
function seedsOf(api: ApiName, body: object): Seed[] {
  const def = apis[api]
  const out: Seed[] = []
  for (let v = def.minVersion; v <= def.maxVersion; v++) {
    for (const clientId of ['fuzz-client', null]) {
      try {
        out.push({
          api,
          version: v,
          frame: encodeRequest(api, { apiVersion: v, correlationId: 7 + v, clientId }, body as never),
        })
      } catch {
        // A body some versions cannot carry (a null topic list before v1): another body covers them.
      }
    }
  }
  return out
}

const group = 'fuzz-group'
const txId = 'fuzz-tx'
const fetchTopic = (partition: number, offset: number) => ({
  topic: TOPIC,
  topicId: UUID_ZERO,
  partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 65536, currentLeaderEpoch: -1 }],
})

/** Bodies for every API the broker serves after authentication, except topic creation and deletion. */
const AUTHENTICATED_BODIES: [ApiName, object][] = [
  ['ApiVersions', { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1.0' }],
  ['Metadata', { topics: [{ name: TOPIC, topicId: UUID_ZERO }], allowAutoTopicCreation: false }],
  ['Metadata', { topics: null, allowAutoTopicCreation: false }],
  [
    'Produce',
    {
      transactionalId: null,
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch(['a', 'bb', 'ccc']) }] }],
    },
  ],
  [
    'Produce',
    {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [
        {
          name: TOPIC,
          partitionData: [
            { index: 1, records: batch(['gzip', 'gzip'], Compression.Gzip) },
            { index: 2, records: batch(['lz4'], Compression.Lz4) },
          ],
        },
      ],
    },
  ],
  [
    'Produce',
    {
      transactionalId: null,
      acks: 0,
      timeoutMs: 1000,
      topicData: [{ name: TOPIC, partitionData: [{ index: 2, records: batch(['zstd'], Compression.Zstd) }] }],
    },
  ],
  [
    'Fetch',
    {
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [fetchTopic(0, 0), fetchTopic(1, 0)],
      forgottenTopicsData: [],
      rackId: '',
    },
  ],
  [
    'ListOffsets',
    {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, timestamp: -1 }] }],
    },
  ],
  ['FindCoordinator', { key: group, keyType: 0, coordinatorKeys: [group, txId] }],
  [
    'JoinGroup',
    {
      groupId: group,
      sessionTimeoutMs: 6000,
      rebalanceTimeoutMs: 100,
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from([0, 1, 0, 0, 0, 1, 0, 4, 102, 117, 122, 122]) }],
    },
  ],
  [
    'SyncGroup',
    {
      groupId: group,
      generationId: 1,
      memberId: 'member-1',
      assignments: [{ memberId: 'member-1', assignment: Buffer.from([0, 1, 2, 3]) }],
    },
  ],
  ['Heartbeat', { groupId: group, generationId: 1, memberId: 'member-1' }],
  ['LeaveGroup', { groupId: group, memberId: 'member-1', members: [{ memberId: 'member-1' }] }],
  [
    'OffsetCommit',
    {
      groupId: group,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [
        { name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: 'm' }] },
      ],
    },
  ],
  [
    'OffsetFetch',
    {
      groupId: group,
      topics: [{ name: TOPIC, partitionIndexes: [0, 1] }],
      groups: [{ groupId: group, topics: null }],
    },
  ],
  ['DescribeGroups', { groups: [group, 'other'], includeAuthorizedOperations: false }],
  ['ListGroups', { statesFilter: ['Stable'], typesFilter: [] }],
  ['InitProducerId', { transactionalId: null, transactionTimeoutMs: 1000 }],
  ['InitProducerId', { transactionalId: txId, transactionTimeoutMs: 1000 }],
  [
    'AddPartitionsToTxn',
    {
      v3AndBelowTransactionalId: txId,
      v3AndBelowProducerId: 1,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [{ name: TOPIC, partitions: [0, 1] }],
      transactions: [
        {
          transactionalId: txId,
          producerId: 1,
          producerEpoch: 0,
          verifyOnly: false,
          topics: [{ name: TOPIC, partitions: [0] }],
        },
      ],
    },
  ],
  ['AddOffsetsToTxn', { transactionalId: txId, producerId: 1, producerEpoch: 0, groupId: group }],
  ['EndTxn', { transactionalId: txId, producerId: 1, producerEpoch: 0, committed: false }],
  [
    'TxnOffsetCommit',
    {
      transactionalId: txId,
      groupId: group,
      producerId: 1,
      producerEpoch: 0,
      topics: [
        { name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: null }] },
      ],
    },
  ],
  [
    'DescribeConfigs',
    { resources: [{ resourceType: 2, resourceName: TOPIC, configurationKeys: null }], includeSynonyms: true },
  ],
  ['SaslHandshake', { mechanism: 'PLAIN' }],
  ['SaslAuthenticate', { authBytes: Buffer.from(`\0${USER}\0${PASSWORD}`) }],
]

const plainToken = Buffer.from(`\0${USER}\0${PASSWORD}`)
const scramFirst = Buffer.from(`n,,n=${USER},r=fuzzclientnonce0123456789`)
const scramFinal = Buffer.from(
  `c=biws,r=fuzzclientnonce0123456789servernonce,p=${Buffer.alloc(32, 7).toString('base64')}`,
)

function request(api: ApiName, version: number, body: object, correlationId = 1): Buffer {
  return encodeRequest(api, { apiVersion: version, correlationId, clientId: 'fuzz' }, body as never)
}

/** A bare SASL token after SaslHandshake v0: a size prefix and the token. */
function rawToken(token: Buffer): Buffer {
  const b = Buffer.alloc(4 + token.length)
  b.writeInt32BE(token.length, 0)
  token.copy(b, 4)
  return b
}

/** Connects and authenticates (SaslHandshake v1 + SaslAuthenticate v2, PLAIN), pipelined. */
const AUTH_PREFIX = Buffer.concat([
  request('SaslHandshake', 1, { mechanism: 'PLAIN' }, 1),
  request('SaslAuthenticate', 2, { authBytes: plainToken }, 2),
])

/** Exchanges a client may start before authenticating: sequences of frames, each mutated or not. */
const PRE_AUTH_SEQUENCES: Buffer[][] = [
  ...[0, 1, 2, 3, 4].map((v) => [
    request('ApiVersions', v, { clientSoftwareName: 'x', clientSoftwareVersion: 'y' }),
  ]),
  ...[0, 1, 2].map((v) => [
    request('SaslHandshake', 1, { mechanism: 'PLAIN' }),
    request('SaslAuthenticate', v, { authBytes: plainToken }),
    request('Metadata', 9, { topics: null }),
  ]),
  ...[0, 1, 2].map((v) => [
    request('SaslHandshake', 1, { mechanism: 'SCRAM-SHA-256' }),
    request('SaslAuthenticate', v, { authBytes: scramFirst }),
    request('SaslAuthenticate', v, { authBytes: scramFinal }),
  ]),
  [
    request('SaslHandshake', 0, { mechanism: 'PLAIN' }),
    rawToken(plainToken),
    request('Metadata', 1, { topics: null }),
  ],
  [request('SaslHandshake', 0, { mechanism: 'SCRAM-SHA-256' }), rawToken(scramFirst), rawToken(scramFinal)],
  [
    request('SaslHandshake', 1, { mechanism: 'GSSAPI' }),
    request('SaslAuthenticate', 1, { authBytes: plainToken }),
  ],
  [request('Metadata', 9, { topics: null })],
  [request('Produce', 9, AUTHENTICATED_BODIES[3]![1])],
]

// ---- mutation ---------------------------------------------------------------------------

const EDGE_INT32 = [
  0, 1, -1, 2, 0x7fffffff, -0x80000000, 0x7ffffffe, 0xffff, 0x10000, 1_000_000_000, 255, 256,
]
const EDGE_INT16 = [0, 1, -1, 0x7fff, -0x8000, 255, 256, 0x7ffe]
const EDGE_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe]

function fixSize(b: Buffer): Buffer {
  if (b.length >= 4) b.writeInt32BE(b.length - 4, 0)
  return b
}

/** One mutation of a framed request; the size prefix is kept right unless the mutation is a lie about it. */
function mutateOnce(rng: Rng, input: Buffer, seeds: readonly Seed[]): Buffer {
  let b = Buffer.from(input)
  const body = () => 4 + rng.int(Math.max(1, b.length - 4))
  switch (rng.int(14)) {
    case 0: // flip bits
      for (let n = rng.range(1, 8); n > 0 && b.length > 4; n--) b[body()]! ^= 1 << rng.int(8)
      break
    case 1: // set bytes to edge values
      for (let n = rng.range(1, 4); n > 0 && b.length > 4; n--) b[body()] = rng.pick(EDGE_BYTES)
      break
    case 2: // an int16 (a string length, a version, an error code) to an edge value
      if (b.length >= 6) b.writeInt16BE(rng.pick(EDGE_INT16), 4 + rng.int(b.length - 5))
      break
    case 3: // an int32 (an array count, a bytes length, a partition…) to an edge value: huge counts
      if (b.length >= 8) b.writeInt32BE(rng.pick(EDGE_INT32), 4 + rng.int(b.length - 7))
      break
    case 4: {
      // a huge unsigned varint (compact lengths and counts of flexible versions)
      if (b.length < 9) break
      const at = body()
      Buffer.from([0xff, 0xff, 0xff, 0xff, rng.pick([0x07, 0x0f, 0x7f])]).copy(b, Math.min(at, b.length - 5))
      break
    }
    case 5: // truncate
      b = b.subarray(0, 4 + rng.int(Math.max(1, b.length - 4)))
      break
    case 6: // extend with random bytes
      b = Buffer.concat([b, rng.bytes(rng.chance(0.9) ? rng.range(1, 64) : rng.range(64, 8192))])
      break
    case 7: {
      // insert random bytes inside
      const at = body()
      b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.range(1, 16)), b.subarray(at)])
      break
    }
    case 8: {
      // delete a range inside
      const at = body()
      b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.range(1, 16)))])
      break
    }
    case 9: {
      // duplicate a range (repeated array elements, fields)
      const at = body()
      const len = rng.range(1, 64)
      b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)])
      break
    }
    case 10: // another api key
      if (b.length >= 6) b.writeInt16BE(rng.chance(0.8) ? rng.int(70) : rng.int(65536) - 32768, 4)
      break
    case 11: // another api version
      if (b.length >= 8) b.writeInt16BE(rng.chance(0.8) ? rng.int(20) : rng.int(65536) - 32768, 6)
      break
    case 12: {
      // splice: the head of this request, the tail of another
      const other = rng.pick(seeds).frame
      b = Buffer.concat([b.subarray(0, body()), other.subarray(4 + rng.int(other.length - 4))])
      break
    }
    default: // the client id's length
      if (b.length >= 14) b.writeInt16BE(rng.pick(EDGE_INT16), 12)
  }
  return fixSize(b)
}

/** Lies about the size prefix: too small (the rest reads as the next frame), too big (waits for bytes), negative, over the limit. */
function lieAboutSize(rng: Rng, b: Buffer): Buffer {
  if (b.length < 4) return b
  const real = b.length - 4
  b.writeInt32BE(
    rng.pick([
      Math.max(0, real - rng.range(1, 8)),
      real + rng.range(1, 8),
      0,
      -1,
      -0x80000000,
      0x7fffffff,
      100 * 1024 * 1024 + 1,
      rng.int(100 * 1024 * 1024),
    ]),
    0,
  )
  return b
}

function mutate(rng: Rng, frame: Buffer, seeds: readonly Seed[]): Buffer {
  let b = frame
  for (let n = rng.chance(0.6) ? 1 : rng.range(2, 4); n > 0; n--) b = mutateOnce(rng, b, seeds)
  return rng.chance(0.05) ? lieAboutSize(rng, b) : b
}

/** A frame of random bytes, with a plausible request header half the time. */
function randomFrame(rng: Rng): Buffer {
  const body = rng.bytes(rng.chance(0.9) ? rng.int(128) : rng.int(4096))
  if (rng.chance(0.5) && body.length >= 10) {
    body.writeInt16BE(rng.int(40), 0)
    body.writeInt16BE(rng.int(16), 2)
    body.writeInt16BE(rng.int(Math.min(32, body.length - 8)), 8)
  }
  return fixSize(Buffer.concat([Buffer.alloc(4), body]))
}

/** Bytes that are not Kafka at all. */
function garbage(rng: Rng): Buffer {
  return rng.pick([
    () => Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
    () =>
      Buffer.concat([
        Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
        rng.bytes(64),
      ]),
    () => rng.bytes(rng.range(1, 3)),
    () => rng.bytes(rng.range(1, 2048)),
  ])()
}

// ---- the broker's log lines, counted --------------------------------------------------------

class CountingLogger implements BrokerLogger {
  readonly counts = new Map<string, { count: number; sample: string }>()
  readonly errors: string[] = []
  info(msg: string): void {
    this.add('info', msg)
  }
  warn(msg: string): void {
    this.add('warn', msg)
  }
  error(msg: string): void {
    if (this.errors.length < 20) this.errors.push(msg)
    this.add('error', msg)
  }
  private add(level: string, msg: string): void {
    const kind = `${level}: ${msg
      .replace(/connection \d+ from [^:]+:\d+/g, 'connection N')
      .replace(/\/127\.0\.0\.1/g, 'HOST')
      .replace(/-?\d+/g, 'N')
      .slice(0, 90)}`
    const c = this.counts.get(kind)
    if (c === undefined) this.counts.set(kind, { count: 1, sample: msg.slice(0, 300) })
    else c.count++
  }
  /** The most frequent kinds of line, for the diagnostic. */
  top(n: number): string[] {
    return [...this.counts.entries()]
      .sort((a, b) => b[1].count - a[1].count)
      .slice(0, n)
      .map(([kind, c]) => `${String(c.count).padStart(7)}  ${kind}`)
  }
}

// ---- connections --------------------------------------------------------------------------

type Outcome = 'answered' | 'closed' | 'timeout'

interface Stats {
  fuzzFrames: number
  validFrames: number
  connections: number
  responses: number
  outcomes: Record<Outcome, number>
}

/** Sends `bytes` on a new connection and waits for the sentinel's answer, the broker closing, or the timeout. */
function session(port: number, bytes: Buffer, stats: Stats): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    let buffered: Buffer = Buffer.alloc(0)
    let outcome: Outcome | null = null
    const finish = (o: Outcome) => {
      if (outcome !== null) return
      outcome = o
      stats.outcomes[o]++
      clearTimeout(timer)
      // RST rather than FIN: no TIME_WAIT left behind by tens of thousands of connections.
      if (!socket.destroyed) socket.resetAndDestroy()
      resolve()
    }
    const timer = setTimeout(() => finish('timeout'), SESSION_TIMEOUT_MS)
    socket.on('error', () => {})
    socket.on('close', () => finish('closed'))
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
      while (buffered.length >= 8) {
        const size = buffered.readInt32BE(0)
        if (size < 4 || buffered.length < 4 + size) break
        stats.responses++
        const correlationId = buffered.readInt32BE(4)
        buffered = buffered.subarray(4 + size)
        if (correlationId === SENTINEL_ID) finish('answered')
      }
    })
    socket.on('connect', () => socket.write(bytes))
    stats.connections++
  })
}

/** A Fetch's records, decoded. */
function decodeAll(records: Buffer | null, topic: string): LogRecord[] {
  const out: LogRecord[] = []
  if (records === null) return out
  for (let pos = 0; pos < records.length; ) {
    const h = readBatchHeader(records, pos)
    decodeBatchRecords(records, pos, h, topic, 0, out)
    pos += h.sizeBytes
  }
  return out
}

async function authenticated(port: number): Promise<KafkaTestClient> {
  const c = await KafkaTestClient.connect(port)
  assert.equal((await c.request('SaslHandshake', 1, { mechanism: 'SCRAM-SHA-256' })).errorCode, 0)
  c.socket.destroy()
  // PLAIN keeps the well-behaved client simple; SCRAM is exercised by kcat's tests.
  const p = await KafkaTestClient.connect(port)
  assert.equal((await p.request('SaslHandshake', 1, { mechanism: 'PLAIN' })).errorCode, 0)
  assert.equal((await p.request('SaslAuthenticate', 2, { authBytes: plainToken })).errorCode, 0)
  return p
}

/** One round of the well-behaved client: produce 5 records, fetch them back. */
async function produceAndFetch(c: KafkaTestClient, round: number): Promise<void> {
  const values = Array.from({ length: 5 }, (_, i) => `round ${round} record ${i}`)
  const p = await c.request('Produce', 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: GOOD_TOPIC, partitionData: [{ index: 0, records: batch(values) }] }],
  })
  const part = p.responses[0]!.partitionResponses[0]!
  assert.equal(part.errorCode, 0, `round ${round}: produce failed`)
  const offset = Number(part.baseOffset)
  const f = await c.request('Fetch', 11, {
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      { topic: GOOD_TOPIC, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] },
    ],
  })
  const fp = f.responses[0]!.partitions[0]!
  assert.equal(fp.errorCode, 0, `round ${round}: fetch failed`)
  const got = decodeAll(fp.records, GOOD_TOPIC).filter((r) => r.offset >= offset)
  assert.deepEqual(
    got.slice(0, 5).map((r) => r.value?.toString()),
    values,
    `round ${round}: fetched records differ`,
  )
}

function gcIfExposed(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch {
    return null
  }
}

describe('broker fuzz', () => {
  const seed = Number(process.env.EDDY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const logger = new CountingLogger()
  const groups = new GroupCoordinator({ initialRebalanceDelayMs: 0 })
  let b: TestBroker
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown) => unhandled.push(err)

  before(async () => {
    process.on('unhandledRejection', onUnhandled)
    const users = parseUsers(JSON.stringify({ users: [{ name: USER, password: PASSWORD }] }), 'fuzz')
    b = await startBroker({ auth: createBrokerAuth({ users }), logger, groups })
    b.log.createTopic(TOPIC, { partitions: 3 })
    b.log.createTopic(GOOD_TOPIC)
  })
  after(async () => {
    process.off('unhandledRejection', onUnhandled)
    groups.close()
    await b?.stop()
  })

  it(`${FUZZ_FRAMES.toLocaleString('en-US')} mutated and random frames: the broker keeps serving, memory stays bounded`, async (t) => {
    t.diagnostic(`seed ${seed} (rerun with EDDY_FUZZ_SEED=${seed})`)
    const rng = new Rng(seed)
    const seeds = AUTHENTICATED_BODIES.flatMap(([api, body]) => seedsOf(api, body))
    // Every API's whole version range encodes: the corpus is what it claims to be.
    for (const [api] of AUTHENTICATED_BODIES) {
      const def = apis[api]
      assert.equal(
        new Set(seeds.filter((s) => s.api === api).map((s) => s.version)).size,
        def.maxVersion - def.minVersion + 1,
        api,
      )
    }
    // Valid requests for long connections: no long polls, no group joins (they wait for rebalances).
    const steady = seeds.filter((s) => !['JoinGroup', 'SaslHandshake', 'SaslAuthenticate'].includes(s.api))
    const sentinel = request('ApiVersions', 0, {}, SENTINEL_ID)

    const gc = gcIfExposed()
    const good = await authenticated(b.port)
    await produceAndFetch(good, 0)
    gc?.()
    const rssBefore = process.memoryUsage().rss
    const heapBefore = process.memoryUsage().heapUsed

    const stats: Stats = {
      fuzzFrames: 0,
      validFrames: 0,
      connections: 0,
      responses: 0,
      outcomes: { answered: 0, closed: 0, timeout: 0 },
    }
    const fuzzFrame = (): Buffer => {
      stats.fuzzFrames++
      if (rng.chance(0.15)) return randomFrame(rng)
      return mutate(rng, rng.pick(seeds).frame, seeds)
    }
    /** One connection's bytes. */
    const plan = (): Buffer => {
      const kind = rng.next()
      const parts: Buffer[] = []
      if (kind < 0.02) {
        stats.fuzzFrames++
        return garbage(rng)
      }
      if (kind < 0.22) {
        // Before authentication: SASL exchanges, mutated or not.
        for (const frame of rng.pick(PRE_AUTH_SEQUENCES)) {
          if (rng.chance(0.5)) {
            parts.push(mutate(rng, frame, seeds))
            stats.fuzzFrames++
          } else {
            parts.push(frame)
            stats.validFrames++
          }
        }
      } else if (kind < 0.97) {
        parts.push(AUTH_PREFIX)
        for (let n = rng.range(1, 6); n > 0; n--) parts.push(fuzzFrame())
      } else {
        // A long connection: hundreds of pipelined requests, a few of them mutated.
        parts.push(AUTH_PREFIX)
        for (let n = rng.range(100, 1000); n > 0; n--) {
          if (rng.chance(0.02)) parts.push(fuzzFrame())
          else {
            parts.push(rng.pick(steady).frame)
            stats.validFrames++
          }
        }
      }
      parts.push(sentinel)
      return Buffer.concat(parts)
    }

    // The well-behaved client: a produce and fetch round every CHECK_EVERY frames.
    let done = false
    let rounds = 0
    let worstRoundMs = 0
    /** rss after GC at every round, to tell a leak (steady growth) from the allocator's working set. */
    const rssSeries: number[] = []
    const checker = (async () => {
      let next = CHECK_EVERY
      while (!done) {
        if (stats.fuzzFrames < next) {
          await new Promise((r) => setTimeout(r, 5))
          continue
        }
        const t0 = performance.now()
        await produceAndFetch(good, ++rounds)
        worstRoundMs = Math.max(worstRoundMs, performance.now() - t0)
        gc?.()
        rssSeries.push(process.memoryUsage().rss)
        next += CHECK_EVERY
      }
    })()

    const started = performance.now()
    const running = new Set<Promise<void>>()
    while (stats.fuzzFrames < FUZZ_FRAMES) {
      if (running.size >= CONCURRENCY) await Promise.race(running)
      const s = session(b.port, plan(), stats)
      running.add(s)
      void s.then(() => running.delete(s))
    }
    await Promise.all(running)
    done = true
    await checker
    const seconds = (performance.now() - started) / 1000

    // Still serving: the well-behaved client, and a new one.
    await produceAndFetch(good, ++rounds)
    const fresh = await authenticated(b.port)
    await produceAndFetch(fresh, ++rounds)
    fresh.socket.destroy()
    // Every fuzz connection is gone from the broker's books.
    const deadline = Date.now() + 5000
    while (b.broker.connectionCount > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))

    gc?.()
    const rssAfter = process.memoryUsage().rss
    const heapAfter = process.memoryUsage().heapUsed
    const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
    t.diagnostic(
      `${stats.fuzzFrames.toLocaleString('en-US')} mutated/random frames + ${stats.validFrames.toLocaleString('en-US')} valid ones over ${stats.connections.toLocaleString('en-US')} connections in ${seconds.toFixed(1)} s; ` +
        `${stats.responses.toLocaleString('en-US')} responses; sentinel answered ${stats.outcomes.answered}, closed by the broker ${stats.outcomes.closed}, timed out ${stats.outcomes.timeout}`,
    )
    t.diagnostic(
      `well-behaved client: ${rounds} produce+fetch rounds, all correct, slowest ${worstRoundMs.toFixed(0)} ms; ` +
        `rss ${mb(rssBefore)} -> ${mb(rssAfter)}, heap ${mb(heapBefore)} -> ${mb(heapAfter)}${gc === null ? ' (no GC exposed)' : ' (after GC)'}`,
    )
    t.diagnostic(`rss per round (MB): ${rssSeries.map((x) => (x / 1024 / 1024).toFixed(0)).join(' ')}`)
    t.diagnostic(`broker log lines by kind, top 12 of ${logger.counts.size}:`)
    for (const line of logger.top(12)) t.diagnostic(line)

    assert.ok(stats.fuzzFrames >= FUZZ_FRAMES)
    assert.ok(rounds >= Math.floor(FUZZ_FRAMES / CHECK_EVERY))
    assert.deepEqual(logger.errors, [], 'a connection was closed by a bug (error-level log line)')
    assert.deepEqual(unhandled, [])
    assert.equal(b.broker.connectionCount, 1, 'only the well-behaved client is left connected')
    assert.ok(
      rssAfter - rssBefore < RSS_GROWTH_MAX_BYTES,
      `rss grew by ${mb(rssAfter - rssBefore)}, over ${mb(RSS_GROWTH_MAX_BYTES)}`,
    )
    // With enough rounds to tell (the default run has 20): flat after the warm-up, not rising.
    if (rssSeries.length >= 8) {
      const quarter = Math.floor(rssSeries.length / 4)
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
      const drift = mean(rssSeries.slice(-quarter)) - mean(rssSeries.slice(quarter, 2 * quarter))
      assert.ok(
        drift < RSS_DRIFT_MAX_BYTES,
        `rss kept growing: ${mb(drift)} from the second quarter to the last`,
      )
    }
    good.socket.destroy()
  })

  it('a connection closed after a response while paused (too many requests in flight) goes away', async () => {
    // Found by the fuzz run: the broker ended such a socket and waited for the client's FIN, which
    // a paused socket never reads, so the socket and its queued frames stayed forever.
    const plain = await startBroker()
    try {
      const socket = net.connect({ port: plain.port, host: '127.0.0.1' })
      socket.on('error', () => {})
      const closed = new Promise((resolve) => socket.on('close', resolve))
      // Answered, then the broker ends the connection; the client resets it. More than a socket's
      // read buffer is pipelined behind, so the broker's paused socket reads nothing more.
      socket.on('data', () => socket.resetAndDestroy())
      const frames = [request('SaslAuthenticate', 1, { authBytes: plainToken }, 1)]
      const name = 'x'.repeat(200)
      for (let i = 0; i < 2000; i++)
        frames.push(
          request('ApiVersions', 3, { clientSoftwareName: name, clientSoftwareVersion: '1' }, 100 + i),
        )
      socket.write(Buffer.concat(frames))
      await closed
      const deadline = Date.now() + 2000
      while (plain.broker.connectionCount > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10))
      assert.equal(plain.broker.connectionCount, 0)
    } finally {
      await plain.stop()
    }
  })
})
