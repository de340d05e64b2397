// Fetch: stored batch bytes straight from the log, with a long poll (maxWaitMs / minBytes across
// the partitions asked, woken by appends), read_committed with the aborted-transaction list, and
// Kafka's byte limits. No fetch sessions: every fetch is a full one and the reply's session id
// is 0, which tells a client that asked for a session that none was made.
// Fetch v0-v3 (advertised because librdkafka enables gzip/snappy/lz4 only if Fetch v2 is in range)
// get the stored record batches v2 as they are, read_uncommitted, with the response fields of
// their version. Kafka would down-convert to message format v0/v1 for them; Eddy does not: a
// client that asks v0-v3 yet cannot read magic 2 is on its own (librdkafka, kafkajs and the Java
// client all pick v4+ and read v2 batches).
import { setMaxListeners } from 'node:events'
import { limits } from '../../core/limits.js'
import type { PartitionLog } from '../../log/partition-log.js'
import type { IsolationLevel } from '../../log/types.js'
import { type Input, KafkaErrors, type ResponseOf } from '../../protocol/index.js'
import type { ApiHandler, RequestContext } from './context.js'
import { errorCodeFor } from './context.js'

type PartitionData = Input<ResponseOf<'Fetch'>['responses'][number]['partitions'][number]>

const EMPTY: Buffer = Buffer.alloc(0)

interface Target {
  readonly topic: string
  readonly topicId: string
  readonly partition: number
  readonly fetchOffset: number
  readonly partitionMaxBytes: number
  /** Null when the topic or partition is unknown (then `unknownCode` says which). */
  readonly log: PartitionLog | null
  readonly unknownCode: number
}

interface Round {
  readonly partitions: PartitionData[]
  readonly bytes: number
  readonly anyError: boolean
  /** Some partition had data the byte limit left out: waiting cannot help. */
  readonly full: boolean
  /** The readable end of each partition when it was read: a wait is for data past these. */
  readonly ends: (number | null)[]
}

function targetsOf(req: ResponseOfRequest, ctx: RequestContext): Target[] {
  const { log } = ctx.broker
  const byId = ctx.apiVersion >= 13 ? topicIds(ctx) : null
  const out: Target[] = []
  for (const t of req.topics) {
    const name = byId === null ? t.topic : (byId.get(t.topicId) ?? null)
    for (const p of t.partitions) {
      const known =
        name !== null && log.hasTopic(name) && p.partition >= 0 && p.partition < log.partitionCount(name)
      out.push({
        topic: name ?? '',
        topicId: t.topicId,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        partitionMaxBytes: p.partitionMaxBytes,
        log: known ? log.partition(name, p.partition) : null,
        unknownCode: name === null ? KafkaErrors.UNKNOWN_TOPIC_ID : KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION,
      })
    }
  }
  return out
}

type ResponseOfRequest = Parameters<ApiHandler<'Fetch'>['handle']>[0]

function topicIds(ctx: RequestContext): Map<string, string> {
  const { log } = ctx.broker
  return new Map(log.listTopics({ internal: true }).map((name) => [log.topicId(name), name]))
}

function failed(partitionIndex: number, errorCode: number): PartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: -1,
    lastStableOffset: -1,
    logStartOffset: -1,
    abortedTransactions: null,
    records: EMPTY,
  }
}

/** Reads every target once, within `maxBytes` overall (the first batch returned may exceed it). */
function readRound(
  targets: readonly Target[],
  isolation: IsolationLevel,
  maxBytes: number,
  ctx: RequestContext,
): Round {
  const partitions: PartitionData[] = []
  const ends: (number | null)[] = []
  let bytes = 0
  let anyError = false
  let full = false
  for (const t of targets) {
    const p = t.log
    if (p === null) {
      partitions.push(failed(t.partition, t.unknownCode))
      ends.push(null)
      anyError = true
      continue
    }
    try {
      const end = p.endOffsetFor(isolation)
      const remaining = maxBytes - bytes
      let records = EMPTY
      let aborted: { producerId: number; firstOffset: number }[] | null = null
      let fetched: ReturnType<PartitionLog['fetch']> | null = null
      if (remaining > 0 || bytes === 0) {
        fetched = p.fetch(t.fetchOffset, Math.max(Math.min(t.partitionMaxBytes, remaining), 0), isolation)
        // Only the first partition with data may go past the request's byte limit.
        if (bytes === 0 || fetched.bytes.length <= remaining) {
          records = fetched.bytes
          if (isolation === 'read_committed') {
            aborted = fetched.abortedTransactions.map((a) => ({
              producerId: a.producerId,
              firstOffset: a.firstOffset,
            }))
          }
        } else {
          full = true
        }
      } else {
        if (t.fetchOffset < p.logStartOffset || t.fetchOffset > p.highWatermark) {
          fetched = p.fetch(t.fetchOffset, 0, isolation) // throws OFFSET_OUT_OF_RANGE
        }
        full ||= t.fetchOffset < end
      }
      bytes += records.length
      partitions.push({
        partitionIndex: t.partition,
        errorCode: KafkaErrors.NONE,
        highWatermark: fetched?.highWatermark ?? p.highWatermark,
        lastStableOffset: fetched?.lastStableOffset ?? p.lastStableOffset,
        logStartOffset: fetched?.logStartOffset ?? p.logStartOffset,
        abortedTransactions: isolation === 'read_committed' ? (aborted ?? []) : null,
        preferredReadReplica: -1,
        records,
      })
      ends.push(end)
    } catch (err) {
      partitions.push(failed(t.partition, errorCodeFor(err, ctx)))
      ends.push(null)
      anyError = true
    }
  }
  return { partitions, bytes, anyError, full, ends }
}

/** Resolves when any target has data past the end it had when last read, after `waitMs`, or on abort. */
async function waitForAny(
  targets: readonly Target[],
  ends: readonly (number | null)[],
  isolation: IsolationLevel,
  waitMs: number,
  signal: AbortSignal,
): Promise<void> {
  const stop = new AbortController()
  // One listener per partition waited on: a request for more than 10 partitions is not a leak.
  setMaxListeners(0, stop.signal)
  const onAbort = () => stop.abort()
  signal.addEventListener('abort', onAbort)
  try {
    const waits: Promise<void>[] = [
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs)
        stop.signal.addEventListener('abort', () => {
          clearTimeout(timer)
          resolve()
        })
      }),
    ]
    targets.forEach((t, i) => {
      const end = ends[i]
      if (t.log !== null && end !== null && end !== undefined) {
        waits.push(t.log.waitForData(Math.max(end, t.fetchOffset), isolation, waitMs, stop.signal))
      }
    })
    await Promise.race(waits)
  } finally {
    signal.removeEventListener('abort', onAbort)
    stop.abort()
  }
}

function respond(req: ResponseOfRequest, round: Round) {
  let i = 0
  const responses = req.topics.map((t) => ({
    topic: t.topic,
    topicId: t.topicId,
    partitions: t.partitions.map(() => round.partitions[i++]!),
  }))
  return { throttleTimeMs: 0, errorCode: KafkaErrors.NONE, sessionId: 0, responses }
}

export const fetch: ApiHandler<'Fetch'> = {
  async handle(req, ctx) {
    // Sessions (KIP-227) are not kept: a full fetch (session 0) is always served, anything that
    // refers to an existing session is told it does not exist, so the client starts over.
    if (req.sessionId !== 0) {
      return {
        throttleTimeMs: 0,
        errorCode: KafkaErrors.FETCH_SESSION_ID_NOT_FOUND,
        sessionId: 0,
        responses: [],
      }
    }
    if (req.sessionEpoch !== -1 && req.sessionEpoch !== 0) {
      return {
        throttleTimeMs: 0,
        errorCode: KafkaErrors.INVALID_FETCH_SESSION_EPOCH,
        sessionId: 0,
        responses: [],
      }
    }
    const isolation: IsolationLevel = req.isolationLevel === 1 ? 'read_committed' : 'read_uncommitted'
    const maxBytes = Math.min(req.maxBytes, limits.fetchBytesMax)
    const targets = targetsOf(req, ctx)
    const deadline = Date.now() + Math.min(Math.max(req.maxWaitMs, 0), limits.fetchWaitMsMax)
    for (;;) {
      const round = readRound(targets, isolation, maxBytes, ctx)
      const waitMs = deadline - Date.now()
      const done = round.bytes >= req.minBytes || round.full || round.anyError
      if (done || waitMs <= 0 || ctx.signal.aborted) return respond(req, round)
      await waitForAny(targets, round.ends, isolation, waitMs, ctx.signal)
    }
  },
  errorResponse(req, code) {
    return {
      errorCode: code,
      sessionId: 0,
      responses: req.topics.map((t) => ({
        topic: t.topic,
        topicId: t.topicId,
        partitions: t.partitions.map((p) => failed(p.partition, code)),
      })),
    }
  },
}
