// The embedded producer: how an app writes to the log in-process, without the wire protocol.
// Idempotent producers number their batches per partition so the log drops retried duplicates
// and refuses gaps; transactional ones also go through the coordinator, as a Kafka client does.
import { EddyError } from '../core/errors.js'
import type { RecordsToSend } from '../core/record-batch.js'
import type { EventLog } from './event-log.js'
import type { OffsetCommitInput } from './group-offsets.js'
import type { PartitionLog } from './partition-log.js'
import { ProducerTransactions } from './producer-transactions.js'
import type { AppendResult, TopicPartition } from './types.js'

export interface ProducerOptions {
  /** Number batches so retries are never duplicated; default true (implied by a transactional id). */
  readonly idempotent?: boolean
  /** Makes the producer transactional; a new producer with the same id fences this one. */
  readonly transactionalId?: string
  /** An open transaction older than this is aborted by the log (default limits.transactionTimeoutMsDefault). */
  readonly transactionTimeoutMs?: number
}

const INT32_MAX = 2 ** 31 - 1

function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

/**
 * An embedded producer. Create it with `log.producer(...)`.
 *
 * @example
 * const producer = await log.producer({ transactionalId: 'orders-enricher-0' })
 * producer.beginTransaction()
 * await producer.send('enriched', 0, [{ value: Buffer.from('{"id":1}') }])
 * await producer.sendOffsets('enricher', [{ topic: 'orders', partition: 0, offset: 42 }])
 * await producer.commitTransaction()
 */
export class Producer {
  readonly transactionalId: string | null
  private id: number
  private epoch: number
  private readonly sequences = new Map<string, number>()
  private readonly txn: ProducerTransactions

  private constructor(
    private readonly log: EventLog,
    private readonly idempotent: boolean,
    transactionalId: string | null,
    producerId: number,
    producerEpoch: number,
  ) {
    this.transactionalId = transactionalId
    this.id = producerId
    this.epoch = producerEpoch
    this.txn = new ProducerTransactions(
      transactionalId,
      () => ({ id: this.id, epoch: this.epoch }),
      'log.producer({ transactionalId })',
    )
  }

  /** Creates a producer, getting its producer id (and fencing older instances) from the coordinator. */
  static async create(log: EventLog, opts: ProducerOptions = {}): Promise<Producer> {
    const transactionalId = opts.transactionalId ?? null
    if (transactionalId !== null && opts.idempotent === false) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `producer ${transactionalId}: a transactional producer is always idempotent; drop idempotent: false`,
      )
    }
    const idempotent = transactionalId !== null || opts.idempotent !== false
    if (!idempotent) return new Producer(log, false, null, -1, -1)
    const { producerId, producerEpoch } = await log.transactions.initProducerId(
      transactionalId ?? undefined,
      opts.transactionTimeoutMs,
    )
    return new Producer(log, true, transactionalId, producerId, producerEpoch)
  }

  get producerId(): number {
    return this.id
  }

  get producerEpoch(): number {
    return this.epoch
  }

  get inTransaction(): boolean {
    return this.txn.inTransaction
  }

  /** Appends records to a partition as one batch; inside a transaction, adds the partition first. */
  send(topic: string, partition: number, records: RecordsToSend): Promise<AppendResult> {
    try {
      this.txn.checkUsable()
      if (this.transactionalId === null) return this.txn.track(this.appendNow(topic, partition, records))
      this.txn.requireOpen(`send to ${topic}-${partition}`)
      const added = this.addPartition(topic, partition)
      const sent = added.then(() => this.appendNow(topic, partition, records))
      return this.txn.track(sent.catch((err: unknown) => this.txn.fail(err)))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Starts a transaction (locally; the coordinator hears of it with the first send or offsets). */
  beginTransaction(): void {
    this.txn.begin()
  }

  /** Commits a consumer group's offsets as part of the open transaction. */
  sendOffsets(groupId: string, offsets: readonly OffsetCommitInput[]): Promise<void> {
    try {
      const txnId = this.txn.checkTransactional('send offsets')
      this.txn.checkUsable()
      this.txn.requireOpen('sendOffsets')
      const coordinator = this.log.transactions
      let added = this.txn.groups.get(groupId)
      if (added === undefined) {
        added = coordinator.addOffsetsToTxn(txnId, this.id, this.epoch, groupId).then(this.txn.markStarted)
        this.txn.groups.set(groupId, added)
      }
      const sent = added.then(() => coordinator.txnOffsetCommit(txnId, groupId, this.id, this.epoch, offsets))
      return this.txn.track(sent.catch((err: unknown) => this.txn.fail(err)))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Waits for the transaction's sends, then commits it on every partition (and its offsets). */
  commitTransaction(): Promise<void> {
    return this.endTransaction(true)
  }

  /** Aborts the open transaction: read_committed readers never see its records or offsets. */
  abortTransaction(): Promise<void> {
    return this.endTransaction(false)
  }

  /** Waits for sends in flight; the producer cannot be used afterwards. An open transaction is left to time out. */
  async close(): Promise<void> {
    await this.txn.close()
  }

  // ---- internals -------------------------------------------------------------------------

  private async endTransaction(commit: boolean): Promise<void> {
    await this.txn.end(commit, (txnId) => this.log.transactions.endTxn(txnId, this.id, this.epoch, commit))
  }

  private addPartition(topic: string, partition: number): Promise<void> {
    const k = tpKey(topic, partition)
    let added = this.txn.partitions.get(k)
    if (added === undefined) {
      const tp: TopicPartition = { topic, partition }
      added = this.log.transactions
        .addPartitionsToTxn(this.transactionalId!, this.id, this.epoch, [tp])
        .then(this.txn.markStarted)
      this.txn.partitions.set(k, added)
    }
    return added
  }

  /** Appends now, with the partition's next sequence; the sequence advances only if the batch was written. */
  private appendNow(topic: string, partition: number, records: RecordsToSend): Promise<AppendResult> {
    this.txn.checkUsable()
    const p = this.log.partition(topic, partition)
    if (!this.idempotent) return p.appendRecords(records)
    const k = tpKey(topic, partition)
    const baseSequence = this.sequences.get(k) ?? 0
    const before = p.nextOffset
    const result = this.appendWithSequence(p, topic, partition, records, baseSequence)
    // Appends are written synchronously: if the log end moved, this batch took those offsets.
    if (p.nextOffset !== before) this.sequences.set(k, nextSequence(baseSequence, records.length))
    return result
  }

  private appendWithSequence(
    p: PartitionLog,
    topic: string,
    partition: number,
    records: RecordsToSend,
    baseSequence: number,
  ): Promise<AppendResult> {
    const identity = { producerId: this.id, producerEpoch: this.epoch, baseSequence }
    if (this.transactionalId !== null) {
      return this.log.transactions.appendTransactional(
        { ...identity, transactionalId: this.transactionalId },
        topic,
        partition,
        records,
      )
    }
    try {
      return p.appendRecords(records, { ...identity, transactional: false })
    } catch (err) {
      return Promise.reject(err)
    }
  }
}

function nextSequence(seq: number, count: number): number {
  // Sequences wrap from int32 max back to 0, as in Kafka.
  const n = seq + count
  return n > INT32_MAX ? n - INT32_MAX - 1 : n
}
