// Fetches for the Kafka transport. The contract fetches one partition per call and the runtime
// makes such calls for all its partitions at once, so calls are gathered: the calls waiting at
// one moment for partitions led by the same broker go out as one Fetch request. A long poll
// holds its connection (a broker answers a connection's requests in order), so each broker gets
// a few fetch connections, each carrying one request at a time, apart from the connections for
// everything else. A call returns when its partition has data (or its offset moved past control
// batches or aborted records), when its wait is over, or when it is aborted; a request that
// returns early because another partition had data puts the others back in the queue.
import type { ConnectionPool } from '@platformatic/kafka'
import { EddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { LogRecord } from '../core/record.js'
import { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD, batchCrcValid, batchSizeAt } from '../core/record-batch.js'
import { decodeFetched } from '../log/partition-log.js'
import type { FetchResult, IsolationLevel } from '../log/types.js'
import { KafkaErrors, type ResponseOf, UUID_ZERO } from '../protocol/index.js'
import { backoffMs, type KafkaCluster, kafkaError, Retriable } from './kafka-cluster.js'
import { SerialPasses, WakeTimer } from './scheduling.js'
import type { FetchedRecords } from './transport.js'

const DEFAULT_FETCH_BYTES = 1024 * 1024
const EMPTY = Buffer.alloc(0)

interface FetchCall {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly maxBytes: number
  readonly isolation: IsolationLevel
  /** performance.now() at which the call returns what it has. */
  deadline: number
  /** performance.now() past which errors are no longer retried. */
  readonly retryDeadline: number
  readonly signal: AbortSignal | undefined
  readonly onAbort: () => void
  readonly resolve: (r: FetchedRecords) => void
  readonly reject: (err: unknown) => void
  /** The request carrying the call, or null while it waits for one. */
  request: number | null
  /** The newest answer without data: what the call returns when its wait ends. */
  last: FetchedRecords | null
  /** After an error: not sent again before this time. */
  notBefore: number
  attempts: number
  /** Its data did not fit the last response: it goes first in the next one (once). */
  starved: boolean
  done: boolean
}

interface Slot {
  readonly pool: ConnectionPool
  busy: boolean
}

interface Group {
  readonly node: number
  readonly isolation: IsolationLevel
  readonly calls: FetchCall[]
  /** Topic ids by name, for Fetch v13+. */
  readonly ids: Map<string, string>
}

type FetchPartition = ResponseOf<'Fetch'>['responses'][number]['partitions'][number]

function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

export class KafkaFetcher {
  private readonly waiting = new Set<FetchCall>()
  private readonly slots = new Map<number, Slot[]>()
  private scheduled = false
  private readonly timer = new WakeTimer(() => this.schedule())
  private readonly dispatcher = new SerialPasses(
    () => this.dispatchOnce(),
    () => this.closed,
  )
  private requestSeq = 0
  private closed = false

  constructor(private readonly cluster: KafkaCluster) {}

  async fetch(
    topic: string,
    partition: number,
    offset: number,
    opts: { maxBytes?: number; maxWaitMs?: number; isolation: IsolationLevel; signal?: AbortSignal },
  ): Promise<FetchedRecords> {
    this.checkOpen()
    await this.cluster.partitionOf(topic, partition)
    const now = performance.now()
    const waitMs = Math.min(Math.max(opts.maxWaitMs ?? 0, 0), limits.fetchWaitMsMax)
    return new Promise<FetchedRecords>((resolve, reject) => {
      const call: FetchCall = {
        topic,
        partition,
        offset,
        maxBytes: Math.max(1, Math.min(opts.maxBytes ?? DEFAULT_FETCH_BYTES, limits.fetchBytesMax)),
        isolation: opts.isolation,
        deadline: opts.signal?.aborted ? now : now + waitMs,
        retryDeadline: now + waitMs + this.cluster.retryTimeoutMs,
        signal: opts.signal,
        onAbort: () => this.aborted(call),
        resolve,
        reject,
        request: null,
        last: null,
        notBefore: 0,
        attempts: 0,
        starved: false,
        done: false,
      }
      opts.signal?.addEventListener('abort', call.onAbort, { once: true })
      this.waiting.add(call)
      this.schedule()
    })
  }

  /** Fails the calls still waiting; the cluster closes the connections. */
  close(): void {
    this.closed = true
    this.timer.cancel()
    for (const c of [...this.waiting]) {
      this.finish(c, {
        error: new EddyError(
          'LOG_CLOSED',
          `fetch of ${c.topic}-${c.partition}: the Kafka transport was closed`,
        ),
      })
    }
  }

  // ---- dispatching -------------------------------------------------------------------------

  /** Dispatches once the calls made in this turn of the event loop (and the aborts they cause) are in. */
  private schedule(): void {
    if (this.scheduled || this.closed) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      void this.dispatcher.run()
    })
  }

  private wakeAt(at: number): void {
    if (!this.closed) this.timer.wakeAt(at)
  }

  private async dispatchOnce(): Promise<void> {
    const now = performance.now()
    const groups = new Map<string, Group>()
    for (const c of [...this.waiting]) {
      if (c.request !== null || c.done) continue
      if (c.notBefore > now) {
        this.wakeAt(c.notBefore)
        continue
      }
      let node: number
      let id: string
      try {
        node = await this.cluster.leaderOf(c.topic, c.partition)
        id = this.cluster.cachedTopic(c.topic)?.id ?? UUID_ZERO
      } catch (err) {
        this.failed(c, err)
        continue
      }
      if (c.request !== null || c.done) continue
      const key = `${node}/${c.isolation}`
      let g = groups.get(key)
      if (g === undefined) {
        g = { node, isolation: c.isolation, calls: [], ids: new Map() }
        groups.set(key, g)
      }
      g.calls.push(c)
      g.ids.set(c.topic, id)
    }
    for (const g of groups.values()) this.sendGroup(g)
  }

  private freeSlot(node: number): Slot | null {
    let slots = this.slots.get(node)
    if (slots === undefined) {
      slots = []
      this.slots.set(node, slots)
    }
    const free = slots.find((s) => !s.busy)
    if (free !== undefined) return free
    if (slots.length >= limits.fetchConnectionsPerBrokerMax) return null
    // A long poll may wait up to fetchWaitMsMax on top of the request timeout.
    const slot: Slot = { pool: this.cluster.newPool(limits.fetchWaitMsMax), busy: false }
    slots.push(slot)
    return slot
  }

  private sendGroup(g: Group): void {
    const now = performance.now()
    const slot = this.freeSlot(g.node)
    if (slot === null) {
      // Every connection carries a long poll: calls whose wait is over return what they last had.
      // The others go out when a connection frees up.
      for (const c of g.calls) {
        if (c.deadline > now) this.wakeAt(c.deadline)
        else if (c.last !== null) this.finish(c, { result: c.last })
      }
      return
    }
    // One call per partition per request (a request names a partition once); starved ones first.
    g.calls.sort((a, b) => Number(b.starved) - Number(a.starved))
    const seen = new Set<string>()
    const taken: FetchCall[] = []
    for (const c of g.calls) {
      const k = tpKey(c.topic, c.partition)
      if (seen.has(k)) continue
      seen.add(k)
      taken.push(c)
    }
    const id = ++this.requestSeq
    let waitMs = Number.POSITIVE_INFINITY
    for (const c of taken) {
      c.request = id
      waitMs = Math.min(waitMs, c.deadline - now)
    }
    slot.busy = true
    void this.request(slot.pool, g, id, taken, Math.max(0, Math.ceil(waitMs))).finally(() => {
      slot.busy = false
      this.schedule()
    })
  }

  private async request(
    pool: ConnectionPool,
    g: Group,
    id: number,
    calls: readonly FetchCall[],
    maxWaitMs: number,
  ): Promise<void> {
    const byTopic = new Map<string, FetchCall[]>()
    let bytes = 0
    for (const c of calls) {
      const list = byTopic.get(c.topic)
      if (list === undefined) byTopic.set(c.topic, [c])
      else list.push(c)
      bytes += c.maxBytes
    }
    const byId = new Map<string, string>()
    for (const [topic, topicId] of g.ids) byId.set(topicId, topic)
    let v = 0
    let res: ResponseOf<'Fetch'>
    try {
      v = this.cluster.version('Fetch')
      res = await this.cluster.send(pool, g.node, 'Fetch', v, {
        maxWaitMs,
        minBytes: 1,
        maxBytes: Math.min(bytes, limits.fetchBytesMax),
        isolationLevel: g.isolation === 'read_committed' ? 1 : 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, cs]) => ({
          topic,
          topicId: g.ids.get(topic) ?? UUID_ZERO,
          partitions: cs.map((c) => ({
            partition: c.partition,
            fetchOffset: c.offset,
            partitionMaxBytes: c.maxBytes,
          })),
        })),
        forgottenTopicsData: [],
        rackId: '',
      })
      if (res.errorCode !== KafkaErrors.NONE) throw kafkaError(res.errorCode, `fetch from broker ${g.node}`)
    } catch (err) {
      for (const c of calls) {
        if (c.request !== id) continue
        c.request = null
        this.failed(c, err)
      }
      return
    }
    const byPartition = new Map<string, FetchCall>()
    for (const c of calls) byPartition.set(tpKey(c.topic, c.partition), c)
    for (const t of res.responses) {
      const topic = v >= 13 ? byId.get(t.topicId) : t.topic
      if (topic === undefined) continue
      for (const p of t.partitions) {
        const c = byPartition.get(tpKey(topic, p.partitionIndex))
        if (c === undefined || c.request !== id || c.done) continue
        c.request = null
        this.answer(c, p)
      }
    }
    for (const c of calls) {
      if (c.request !== id || c.done) continue
      c.request = null
      this.failed(
        c,
        new Retriable(
          'KAFKA_ERROR',
          `fetch of ${c.topic}-${c.partition}: broker ${g.node} left it out of its answer`,
        ),
      )
    }
  }

  // ---- answers -----------------------------------------------------------------------------

  private answer(c: FetchCall, p: FetchPartition): void {
    const where = `fetch of ${c.topic}-${c.partition} at offset ${c.offset}`
    if (p.errorCode === KafkaErrors.OFFSET_OUT_OF_RANGE) {
      this.finish(c, {
        error: new EddyError(
          'OFFSET_OUT_OF_RANGE',
          `${where}: the offset is outside [${p.logStartOffset}, ${p.highWatermark}]: fetch from the earliest or latest offset`,
        ),
      })
      return
    }
    if (p.errorCode !== KafkaErrors.NONE) {
      this.failed(
        c,
        kafkaError(p.errorCode, where, { invalidate: () => this.cluster.invalidateTopic(c.topic) }),
      )
      return
    }
    let result: FetchedRecords
    let truncated: boolean
    try {
      ;({ result, truncated } = decode(c, p))
    } catch (err) {
      this.finish(c, { error: err })
      return
    }
    const moved = result.records.length > 0 || result.nextOffset > c.offset
    if (!moved && truncated && !c.starved) {
      // Its first batch did not fit in what the response had left: ask again, first in line.
      c.starved = true
      c.last = result
      return
    }
    c.starved = false
    if (moved || performance.now() >= c.deadline) this.finish(c, { result })
    else c.last = result
  }

  private failed(c: FetchCall, err: unknown): void {
    if (c.done) return
    if (!(err instanceof Retriable)) {
      this.finish(c, { error: err })
      return
    }
    err.invalidate?.()
    const now = performance.now()
    const wait = backoffMs(c.attempts)
    if (now + wait > c.retryDeadline || this.closed) {
      const elapsedMs = Math.round(now - (c.retryDeadline - this.cluster.retryTimeoutMs))
      this.finish(c, { error: err.final(c.attempts + 1, elapsedMs) })
      return
    }
    c.attempts++
    c.notBefore = now + wait
    this.wakeAt(c.notBefore)
  }

  private aborted(c: FetchCall): void {
    if (c.done) return
    if (c.request === null && c.last !== null) {
      this.finish(c, { result: c.last })
      return
    }
    // Return at once: a call in a long poll leaves it (its answer there is ignored) for a new request.
    c.deadline = performance.now()
    c.request = null
    this.schedule()
  }

  private finish(c: FetchCall, outcome: { result: FetchedRecords } | { error: unknown }): void {
    if (c.done) return
    c.done = true
    this.waiting.delete(c)
    c.signal?.removeEventListener('abort', c.onAbort)
    if ('result' in outcome) c.resolve(outcome.result)
    else c.reject(outcome.error)
  }

  private checkOpen(): void {
    if (this.closed) throw new EddyError('LOG_CLOSED', 'the Kafka transport is closed: create a new one')
  }
}

/** The call's records from its partition's answer; `truncated` when a batch was cut off at the end. */
function decode(c: FetchCall, p: FetchPartition): { result: FetchedRecords; truncated: boolean } {
  const { bytes, truncated } = wholeBatches(p.records ?? EMPTY, c)
  const fetched: FetchResult = {
    bytes,
    highWatermark: p.highWatermark,
    lastStableOffset: p.lastStableOffset,
    logStartOffset: p.logStartOffset,
    // Kafka sends only where each aborted transaction starts; the end is its abort marker.
    abortedTransactions:
      c.isolation === 'read_committed'
        ? (p.abortedTransactions ?? []).map((a) => ({
            producerId: a.producerId,
            firstOffset: a.firstOffset,
            lastOffset: -1,
          }))
        : [],
  }
  const records: LogRecord[] = []
  const nextOffset = decodeFetched(fetched, c.topic, c.partition, c.offset, records)
  return {
    result: {
      records,
      nextOffset,
      highWatermark: c.isolation === 'read_committed' ? p.lastStableOffset : p.highWatermark,
    },
    truncated,
  }
}

/**
 * The whole batches at the start of `buf`, each checked by its CRC-32C. A broker may cut the last
 * batch of a partition's data at its byte limit; that part is left out, as Kafka clients do.
 */
function wholeBatches(buf: Buffer, c: FetchCall): { bytes: Buffer; truncated: boolean } {
  let pos = 0
  while (buf.length - pos >= BATCH_LOG_OVERHEAD) {
    const size = batchSizeAt(buf, pos)
    if (size < BATCH_HEADER_BYTES) {
      throw new EddyError(
        'CORRUPT_RECORD',
        `fetch of ${c.topic}-${c.partition}: a batch at byte ${pos} claims ${size} bytes, less than its header`,
      )
    }
    if (pos + size > buf.length) break
    if (!batchCrcValid(buf, pos, size)) {
      throw new EddyError(
        'CORRUPT_RECORD',
        `fetch of ${c.topic}-${c.partition}: the batch at byte ${pos} of the answer fails its CRC-32C check: the data was damaged on the way or on the broker`,
      )
    }
    pos += size
  }
  return { bytes: pos === buf.length ? buf : buf.subarray(0, pos), truncated: pos < buf.length }
}
