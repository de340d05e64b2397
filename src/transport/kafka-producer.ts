// The Kafka transport's producer: idempotent always, transactional with a transactional id, in
// the embedded producer's states and with its errors. A partition has one batch in flight at a
// time, so a retried batch keeps its sequence number and its place. The batches ready at one
// moment for partitions led by the same broker go out as one Produce request, and the partitions
// new to a transaction at one moment are added with one AddPartitionsToTxn request.
import type { ConnectionPool } from '@platformatic/kafka'
import { EddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { RecordInput } from '../core/record.js'
import {
  BATCH_HEADER_BYTES,
  encodeToSend,
  RecordBatchBuilder,
  type RecordsToSend,
} from '../core/record-batch.js'
import { ProducerTransactions } from '../log/producer-transactions.js'
import { KafkaErrors, type ResponseOf } from '../protocol/index.js'
import { backoffMs, CoordinatorType, type KafkaCluster, kafkaError, Retriable } from './kafka-cluster.js'
import { commitGeneration, offsetCommitError } from './kafka-group.js'
import { SerialPasses, WakeTimer } from './scheduling.js'
import type { GroupGeneration, TopicPartitionOffset, TransportProducer } from './transport.js'

const INT32_MAX = 2 ** 31 - 1

/** Kafka's answers to a producer whose epoch is no longer the transactional id's. */
const FENCED: ReadonlySet<number> = new Set([
  KafkaErrors.PRODUCER_FENCED,
  KafkaErrors.INVALID_PRODUCER_EPOCH,
  KafkaErrors.TRANSACTION_COORDINATOR_FENCED,
])

/** Answers after which a batch's sequence numbers may be out of step with the broker's. */
const SEQUENCE_LOST: ReadonlySet<number> = new Set([
  KafkaErrors.OUT_OF_ORDER_SEQUENCE_NUMBER,
  KafkaErrors.UNKNOWN_PRODUCER_ID,
])

interface Batch {
  readonly records: RecordsToSend
  readonly resolve: () => void
  readonly reject: (err: unknown) => void
  readonly retryDeadline: number
  /** Encoded when first sent; a retry sends the same bytes (same producer, epoch and sequence). */
  bytes: Buffer | null
  sequence: number
  attempts: number
}

interface PartitionQueue {
  readonly topic: string
  readonly partition: number
  readonly batches: Batch[]
  inFlight: boolean
  /** After an error: not sent again before this time. */
  notBefore: number
}

interface PendingAdd {
  readonly topic: string
  readonly partition: number
  readonly resolve: () => void
  readonly reject: (err: unknown) => void
}

function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

function nextSequence(seq: number, count: number): number {
  // Sequences wrap from int32 max back to 0, as in Kafka.
  const n = seq + count
  return n > INT32_MAX ? n - INT32_MAX - 1 : n
}

function byTopic<T extends { readonly topic: string }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>()
  for (const item of items) {
    const list = out.get(item.topic)
    if (list === undefined) out.set(item.topic, [item])
    else list.push(item)
  }
  return out
}

export interface KafkaProducerOptions {
  readonly transactionalId?: string
  /** An open transaction older than this is aborted by the cluster. Default limits.transactionTimeoutMsDefault. */
  readonly transactionTimeoutMs?: number
}

export class KafkaProducer implements TransportProducer {
  private readonly sequences = new Map<string, number>()
  private readonly queues = new Map<string, PartitionQueue>()
  private pendingAdds: PendingAdd[] = []
  private readonly txn: ProducerTransactions
  /** A batch's fate is unknown (sequences may be out of step): take a new producer id before sending on. */
  private needsNewId = false
  /** A transaction failed: the next one starts under a new epoch (KIP-360), so sequences start afresh. */
  private needsNewEpoch = false
  private bumping: Promise<void> | null = null
  private flushScheduled = false
  private addsScheduled = false
  private readonly timer = new WakeTimer(() => this.schedule())
  private readonly flusher = new SerialPasses(() => this.flushOnce())

  private constructor(
    private readonly cluster: KafkaCluster,
    private readonly pool: ConnectionPool,
    readonly transactionalId: string | null,
    private readonly transactionTimeoutMs: number,
    private id: number,
    private epoch: number,
  ) {
    this.txn = new ProducerTransactions(
      transactionalId,
      () => ({ id: this.id, epoch: this.epoch }),
      'producer({ transactionalId })',
    )
  }

  /** Creates a producer, getting its producer id (and fencing older instances) from the cluster. */
  static async create(cluster: KafkaCluster, opts: KafkaProducerOptions = {}): Promise<KafkaProducer> {
    const transactionalId = opts.transactionalId ?? null
    const timeoutMs = opts.transactionTimeoutMs ?? limits.transactionTimeoutMsDefault
    const pool = cluster.newPool()
    try {
      const { producerId, producerEpoch } = await initProducerId(
        cluster,
        pool,
        transactionalId,
        timeoutMs,
        -1,
        -1,
      )
      return new KafkaProducer(cluster, pool, transactionalId, timeoutMs, producerId, producerEpoch)
    } catch (err) {
      await cluster.closePool(pool)
      throw err
    }
  }

  get producerId(): number {
    return this.id
  }

  get producerEpoch(): number {
    return this.epoch
  }

  send(topic: string, partition: number, records: RecordsToSend): Promise<void> {
    try {
      this.txn.checkUsable()
      if (this.transactionalId === null) return this.txn.track(this.enqueue(topic, partition, records))
      this.txn.requireOpen(`send to ${topic}-${partition}`)
      const sent = this.cluster
        .partitionOf(topic, partition)
        .then(() => this.ensureEpoch())
        .then(() => this.addPartition(topic, partition))
        .then(() => this.enqueue(topic, partition, records))
      return this.txn.track(sent.catch((err: unknown) => this.txn.fail(err)))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Starts a transaction (locally; the cluster hears of it with the first send or offsets). */
  beginTransaction(): void {
    this.txn.begin()
  }

  /**
   * Commits a consumer group's offsets (with their metadata) as part of the open transaction;
   * with `member`, only while that member's generation is the group's (else REBALANCED).
   */
  sendOffsets(
    group: string,
    offsets: readonly TopicPartitionOffset[],
    member?: GroupGeneration,
  ): Promise<void> {
    try {
      const txnId = this.txn.checkTransactional('send offsets')
      this.txn.checkUsable()
      this.txn.requireOpen('sendOffsets')
      let added = this.txn.groups.get(group)
      if (added === undefined) {
        added = this.ensureEpoch().then(() => this.addOffsetsToTxn(txnId, group))
        this.txn.groups.set(group, added)
      }
      const sent = added.then(() => this.txnOffsetCommit(txnId, group, offsets, commitGeneration(member)))
      return this.txn.track(sent.catch((err: unknown) => this.txn.fail(err)))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  commitTransaction(): Promise<void> {
    return this.endTransaction(true)
  }

  abortTransaction(): Promise<void> {
    return this.endTransaction(false)
  }

  /** Waits for sends in flight; the producer cannot be used afterwards. An open transaction is left to time out. */
  async close(): Promise<void> {
    if (!(await this.txn.close())) return
    this.timer.cancel()
    await this.cluster.closePool(this.pool)
  }

  // ---- transactions ------------------------------------------------------------------------

  private async endTransaction(commit: boolean): Promise<void> {
    const sendFailed = await this.txn.end(commit, (txnId) => this.endTxn(txnId, commit))
    // After a failed send the sequences may be out of step: the next transaction starts under a
    // new epoch, which starts them afresh.
    if (sendFailed) this.needsNewEpoch = true
  }

  private endTxn(txnId: string, commit: boolean): Promise<void> {
    const v = this.cluster.version('EndTxn')
    return this.cluster.withCoordinator(CoordinatorType.Transaction, txnId, async (node) => {
      const res = await this.cluster.send(this.pool, node, 'EndTxn', v, {
        transactionalId: txnId,
        producerId: this.id,
        producerEpoch: this.epoch,
        committed: commit,
      })
      if (res.errorCode !== KafkaErrors.NONE) {
        throw this.error(res.errorCode, `${commit ? 'committing' : 'aborting'} the transaction`)
      }
    })
  }

  /** Takes the new epoch a failed transaction asked for, once, before the next one adds anything. */
  private ensureEpoch(): Promise<void> {
    if (!this.needsNewEpoch) return Promise.resolve()
    this.bumping ??= initProducerId(
      this.cluster,
      this.pool,
      this.transactionalId,
      this.transactionTimeoutMs,
      this.id,
      this.epoch,
    )
      .then((next) => {
        this.id = next.producerId
        this.epoch = next.producerEpoch
        this.sequences.clear()
        this.needsNewEpoch = false
      })
      .finally(() => {
        this.bumping = null
      })
    return this.bumping
  }

  private addPartition(topic: string, partition: number): Promise<void> {
    const k = tpKey(topic, partition)
    let added = this.txn.partitions.get(k)
    if (added === undefined) {
      added = new Promise<void>((resolve, reject) => {
        this.pendingAdds.push({ topic, partition, resolve, reject })
      })
      this.txn.partitions.set(k, added)
      if (!this.addsScheduled) {
        this.addsScheduled = true
        setImmediate(() => {
          this.addsScheduled = false
          const adds = this.pendingAdds
          this.pendingAdds = []
          void this.addPartitionsToTxn(adds)
        })
      }
    }
    return added
  }

  private async addPartitionsToTxn(adds: readonly PendingAdd[]): Promise<void> {
    const txnId = this.transactionalId!
    const topics = [...byTopic(adds)].map(([name, list]) => ({
      name,
      partitions: list.map((a) => a.partition),
    }))
    try {
      const v = this.cluster.version('AddPartitionsToTxn')
      await this.cluster.withCoordinator(CoordinatorType.Transaction, txnId, async (node) => {
        const res = await this.cluster.send(this.pool, node, 'AddPartitionsToTxn', v, {
          v3AndBelowTransactionalId: txnId,
          v3AndBelowProducerId: this.id,
          v3AndBelowProducerEpoch: this.epoch,
          v3AndBelowTopics: topics,
        })
        // One failed partition makes the others OPERATION_NOT_ATTEMPTED: report the cause.
        let code: number = KafkaErrors.NONE
        let where = ''
        for (const t of res.resultsByTopicV3AndBelow) {
          for (const p of t.resultsByPartition) {
            if (p.partitionErrorCode === KafkaErrors.NONE) continue
            if (code === KafkaErrors.NONE || code === KafkaErrors.OPERATION_NOT_ATTEMPTED) {
              code = p.partitionErrorCode
              where = `${t.name}-${p.partitionIndex}`
            }
          }
        }
        if (code !== KafkaErrors.NONE) throw this.error(code, `adding ${where} to the transaction`)
      })
      this.txn.started = true
      for (const a of adds) a.resolve()
    } catch (err) {
      for (const a of adds) a.reject(err)
    }
  }

  private async addOffsetsToTxn(txnId: string, group: string): Promise<void> {
    const v = this.cluster.version('AddOffsetsToTxn')
    await this.cluster.withCoordinator(CoordinatorType.Transaction, txnId, async (node) => {
      const res = await this.cluster.send(this.pool, node, 'AddOffsetsToTxn', v, {
        transactionalId: txnId,
        producerId: this.id,
        producerEpoch: this.epoch,
        groupId: group,
      })
      if (res.errorCode !== KafkaErrors.NONE) {
        throw this.error(res.errorCode, `adding the offsets of group ${group} to the transaction`)
      }
    })
    this.txn.started = true
  }

  private txnOffsetCommit(
    txnId: string,
    group: string,
    offsets: readonly TopicPartitionOffset[],
    member: GroupGeneration | null,
  ): Promise<void> {
    const v = this.cluster.version('TxnOffsetCommit')
    if (member !== null && v < 3) {
      // Without the generation (KIP-447, v3+) a zombie's offsets would be accepted: refuse, as Kafka's clients do.
      throw new EddyError(
        'UNSUPPORTED_VERSION',
        `producer ${txnId}: offsets of group ${group} for member ${member.memberId} need TxnOffsetCommit v3+ to carry the member's generation, but v${v} is in use: use Kafka 2.5 or newer, or raise maxApiVersions.TxnOffsetCommit`,
      )
    }
    const topics = [...byTopic(offsets)].map(([name, list]) => ({
      name,
      partitions: list.map((o) => ({
        partitionIndex: o.partition,
        committedOffset: o.offset,
        committedMetadata: o.metadata ?? '',
      })),
    }))
    return this.cluster.withCoordinator(CoordinatorType.Group, group, async (node) => {
      const res = await this.cluster.send(this.pool, node, 'TxnOffsetCommit', v, {
        transactionalId: txnId,
        groupId: group,
        producerId: this.id,
        producerEpoch: this.epoch,
        generationId: member?.generationId ?? -1,
        memberId: member?.memberId ?? '',
        groupInstanceId: null,
        topics,
      })
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode === KafkaErrors.NONE) continue
          const where = `committing offsets of group ${group} for ${t.name}-${p.partitionIndex} in the transaction`
          if (FENCED.has(p.errorCode)) throw this.error(p.errorCode, where)
          throw offsetCommitError(p.errorCode, `producer ${txnId}, ${where}`, group, member ?? undefined)
        }
      }
    })
  }

  // ---- sending -----------------------------------------------------------------------------

  /** Queues the records as one batch, or as several when they would pass limits.kafkaBatchBytesMax. */
  private async enqueue(topic: string, partition: number, records: RecordsToSend): Promise<void> {
    await this.cluster.partitionOf(topic, partition)
    const k = tpKey(topic, partition)
    let q = this.queues.get(k)
    if (q === undefined) {
      q = { topic, partition, batches: [], inFlight: false, notBefore: 0 }
      this.queues.set(k, q)
    }
    const queue = q
    const retryDeadline = performance.now() + this.cluster.retryTimeoutMs
    const sent = chunks(records).map(
      (chunk) =>
        new Promise<void>((resolve, reject) => {
          queue.batches.push({
            records: chunk,
            resolve,
            reject,
            retryDeadline,
            bytes: null,
            sequence: -1,
            attempts: 0,
          })
        }),
    )
    this.schedule()
    await Promise.all(sent)
  }

  /** Flushes once the sends made in this turn of the event loop are queued. */
  private schedule(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(() => {
      this.flushScheduled = false
      void this.flusher.run()
    })
  }

  private async flushOnce(): Promise<void> {
    // A new id only once no batch sent under the old one is unsettled; until then those go on
    // (retried under the old id) and new batches wait.
    const sentUnsettled = (q: PartitionQueue) => q.inFlight || (q.batches[0]?.bytes ?? null) !== null
    if (this.needsNewId && ![...this.queues.values()].some(sentUnsettled)) {
      try {
        const next = await initProducerId(this.cluster, this.pool, null, this.transactionTimeoutMs, -1, -1)
        this.id = next.producerId
        this.epoch = next.producerEpoch
        this.sequences.clear()
        this.needsNewId = false
      } catch (err) {
        for (const q of this.queues.values()) for (const b of q.batches.splice(0)) b.reject(err)
        return
      }
    }
    const now = performance.now()
    const byNode = new Map<number, PartitionQueue[]>()
    for (const q of this.queues.values()) {
      if (q.inFlight || q.batches.length === 0) continue
      if (this.needsNewId && q.batches[0]!.bytes === null) continue
      if (q.notBefore > now) {
        this.timer.wakeAt(q.notBefore)
        continue
      }
      let node: number
      try {
        node = await this.cluster.leaderOf(q.topic, q.partition)
      } catch (err) {
        this.batchFailed(q, err)
        continue
      }
      if (q.inFlight) continue
      const list = byNode.get(node)
      if (list === undefined) byNode.set(node, [q])
      else list.push(q)
    }
    for (const [node, qs] of byNode) this.produce(node, qs)
  }

  private produce(node: number, queues: readonly PartitionQueue[]): void {
    const sending: PartitionQueue[] = []
    for (const q of queues) {
      const b = q.batches[0]!
      if (b.bytes === null) {
        const sequence = this.sequences.get(tpKey(q.topic, q.partition)) ?? 0
        try {
          b.bytes = encodeToSend(b.records, {
            producerId: this.id,
            producerEpoch: this.epoch,
            baseSequence: sequence,
            transactional: this.transactionalId !== null,
          })
          b.sequence = sequence
        } catch (err) {
          q.batches.shift()
          b.reject(err)
          this.schedule()
          continue
        }
      }
      q.inFlight = true
      sending.push(q)
    }
    if (sending.length > 0) void this.produceRequest(node, sending)
  }

  private async produceRequest(node: number, queues: readonly PartitionQueue[]): Promise<void> {
    let res: ResponseOf<'Produce'>
    try {
      res = await this.cluster.send(this.pool, node, 'Produce', this.cluster.version('Produce'), {
        transactionalId: this.transactionalId,
        acks: -1,
        timeoutMs: this.cluster.requestTimeoutMs,
        topicData: [...byTopic(queues)].map(([name, qs]) => ({
          name,
          partitionData: qs.map((q) => ({ index: q.partition, records: q.batches[0]!.bytes })),
        })),
      })
    } catch (err) {
      for (const q of queues) {
        q.inFlight = false
        this.batchFailed(q, err)
      }
      this.schedule()
      return
    }
    const byKey = new Map(queues.map((q) => [tpKey(q.topic, q.partition), q]))
    for (const t of res.responses) {
      for (const p of t.partitionResponses) {
        const k = tpKey(t.name, p.index)
        const q = byKey.get(k)
        if (q === undefined || !q.inFlight) continue
        byKey.delete(k)
        q.inFlight = false
        if (p.errorCode === KafkaErrors.NONE || p.errorCode === KafkaErrors.DUPLICATE_SEQUENCE_NUMBER) {
          const b = q.batches.shift()!
          this.sequences.set(k, nextSequence(b.sequence, b.records.length))
          b.resolve()
        } else {
          const where = `sending to ${t.name}-${p.index}`
          this.batchFailed(
            q,
            this.error(p.errorCode, where, {
              invalidate: () => this.cluster.invalidateTopic(t.name),
              serverMessage: p.errorMessage,
            }),
          )
        }
      }
    }
    for (const q of byKey.values()) {
      q.inFlight = false
      this.batchFailed(
        q,
        new Retriable(
          'KAFKA_ERROR',
          `sending to ${q.topic}-${q.partition}: broker ${node} left it out of its answer`,
        ),
      )
    }
    this.schedule()
  }

  /** Retries the partition's head batch after a backoff, or fails it for good. */
  private batchFailed(q: PartitionQueue, err: unknown): void {
    const b = q.batches[0]
    if (b === undefined) return
    const now = performance.now()
    let outcome = err
    let fateUnknown = false
    if (err instanceof Retriable) {
      err.invalidate?.()
      const wait = backoffMs(b.attempts)
      if (now + wait <= b.retryDeadline && this.txn.status !== 'closed') {
        b.attempts++
        q.notBefore = now + wait
        this.timer.wakeAt(q.notBefore)
        return
      }
      outcome = err.final(b.attempts + 1, Math.round(now - (b.retryDeadline - this.cluster.retryTimeoutMs)))
      fateUnknown = b.bytes !== null
    } else if (err instanceof SequenceLost) {
      fateUnknown = true
      outcome = err.error
    }
    q.batches.shift()
    if (fateUnknown && this.transactionalId === null) this.needsNewId = true
    b.reject(outcome)
    this.schedule()
  }

  // ---- errors and states -------------------------------------------------------------------

  /** The error for a Kafka error code: fencing as PRODUCER_FENCED, lost sequences marked. */
  private error(
    code: number,
    where: string,
    opts: { invalidate?: () => void; serverMessage?: string | null } = {},
  ): Error {
    const who = `producer ${this.transactionalId ?? this.id}`
    if (FENCED.has(code) && (this.transactionalId !== null || code !== KafkaErrors.INVALID_PRODUCER_EPOCH)) {
      return new EddyError(
        'PRODUCER_FENCED',
        `${who} (id ${this.id}, epoch ${this.epoch}), ${where}: fenced by a newer instance with the same transactional id or a transaction timeout (${code === KafkaErrors.PRODUCER_FENCED ? 'PRODUCER_FENCED' : 'INVALID_PRODUCER_EPOCH'}): create a new producer`,
      )
    }
    const err = kafkaError(code, `${who}, ${where}`, opts)
    return SEQUENCE_LOST.has(code) && err instanceof EddyError ? new SequenceLost(err) : err
  }
}

/** Bytes a record takes in a batch at most: its data, and room for its varints. */
function recordBytesBound(r: RecordInput): number {
  let n = 40 + (r.key?.length ?? 0) + (r.value?.length ?? 0)
  for (const h of r.headers ?? []) n += 10 + Buffer.byteLength(h.key) + (h.value?.length ?? 0)
  return n
}

/** The records in runs that each fit a batch of limits.kafkaBatchBytesMax (a bigger record alone). */
function chunks(records: RecordsToSend): RecordsToSend[] {
  if (records instanceof RecordBatchBuilder) {
    if (records.sizeBytes <= limits.kafkaBatchBytesMax) return [records]
    throw new EddyError(
      'BATCH_TOO_LARGE',
      `a built batch of ${records.sizeBytes} bytes; Kafka takes at most ${limits.kafkaBatchBytesMax} (limits.kafkaBatchBytesMax): build smaller batches`,
    )
  }
  const room = limits.kafkaBatchBytesMax - BATCH_HEADER_BYTES
  const out: RecordInput[][] = []
  let current: RecordInput[] = []
  let bytes = 0
  for (const r of records) {
    const size = recordBytesBound(r)
    if (current.length > 0 && bytes + size > room) {
      out.push(current)
      current = []
      bytes = 0
    }
    current.push(r)
    bytes += size
  }
  // No records: one empty batch, which encoding refuses as the embedded log does.
  out.push(current)
  return out
}

/** A batch refused because the broker's sequence state and ours disagree: the producer takes a new id. */
class SequenceLost extends Error {
  constructor(readonly error: EddyError) {
    super(error.message)
  }
}

async function initProducerId(
  cluster: KafkaCluster,
  pool: ConnectionPool,
  transactionalId: string | null,
  transactionTimeoutMs: number,
  producerId: number,
  producerEpoch: number,
): Promise<{ producerId: number; producerEpoch: number }> {
  const v = cluster.version('InitProducerId')
  const attempt = async (node: number | null) => {
    const res = await cluster.send(pool, node, 'InitProducerId', v, {
      transactionalId,
      transactionTimeoutMs,
      producerId,
      producerEpoch,
    })
    if (res.errorCode !== KafkaErrors.NONE) {
      const where =
        transactionalId === null
          ? 'getting a producer id'
          : `initialising transactional producer ${transactionalId}`
      if (FENCED.has(res.errorCode)) {
        throw new EddyError(
          'PRODUCER_FENCED',
          `${where}: fenced by a newer instance with the same transactional id: create a new producer`,
        )
      }
      throw kafkaError(res.errorCode, where)
    }
    return { producerId: res.producerId, producerEpoch: res.producerEpoch }
  }
  if (transactionalId === null) return cluster.retry(() => attempt(null))
  return cluster.withCoordinator(CoordinatorType.Transaction, transactionalId, attempt)
}
