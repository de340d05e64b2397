// The transaction coordinator of the embedded log, with Kafka's semantics: durable producer id
// allocation, fencing by epoch per transactional id, and two-phase completion
// (PrepareCommit/PrepareAbort written durably → markers on every partition → Complete*).
// State lives on the internal compacted topic `__transaction_state` (key = transactional id),
// so a restart finishes what a crash interrupted: Prepare* is completed, Ongoing is aborted.
import { EddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { LogRecord } from '../core/record.js'
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  decodeBatchRecords,
  type RecordsToSend,
  readBatchHeader,
} from '../core/record-batch.js'
import type { EventLog } from './event-log.js'
import { CONSUMER_OFFSETS_TOPIC, type GroupOffsetStore, type OffsetCommitInput } from './group-offsets.js'
import type { PartitionLog } from './partition-log.js'
import { forEachBatch } from './read-all.js'
import type { AppendResult, ProducerIdentity, TopicConfig, TopicPartition } from './types.js'

export const TRANSACTION_STATE_TOPIC = '__transaction_state'

export const transactionStateTopicConfig: Partial<TopicConfig> = {
  partitions: 1,
  compact: true,
  internal: true,
  retentionMs: null,
  retentionBytes: null,
}

export type TransactionState =
  | 'Empty'
  | 'Ongoing'
  | 'PrepareCommit'
  | 'PrepareAbort'
  | 'CompleteCommit'
  | 'CompleteAbort'

/** A transactional id's state, as persisted (the JSON value on `__transaction_state`). */
export interface TransactionDescription {
  readonly transactionalId: string
  readonly producerId: number
  readonly producerEpoch: number
  readonly state: TransactionState
  readonly partitions: readonly TopicPartition[]
  readonly groups: readonly string[]
  readonly timeoutMs: number
  /** When the open transaction began (its first partition or group was added); -1 when none is open. */
  readonly startedMs: number
}

/** The identity a transactional append carries. */
export interface TransactionalProducer extends ProducerIdentity {
  readonly transactionalId: string
}

/** Test-only fault injection: stop a completion between two markers (then kill the process). */
export interface TransactionTestHooks {
  beforeMarker?: (index: number, tp: TopicPartition, commit: boolean) => void | Promise<void>
}

interface TxnValue {
  readonly producerId: number
  readonly epoch: number
  readonly state: TransactionState
  readonly partitions: readonly TopicPartition[]
  readonly groups: readonly string[]
  readonly timeoutMs: number
  readonly startedMs: number
  /** The producer id this transactional id had before its epochs ran out (still fenced), or -1. */
  readonly lastProducerId: number
}

interface TxnEntry {
  readonly transactionalId: string
  value: TxnValue
  partitionKeys: Set<string>
  /** A commit or abort is running: appends and partition adds are refused meanwhile. */
  completing: boolean
}

/** Key of the record holding the highest producer id block handed out; no transactional id starts with NUL. */
const PRODUCER_ID_BLOCK_KEY = '\u0000producer-id-block'
/** Ids are reserved durably in blocks, so an allocation rarely waits for a write. */
const PRODUCER_ID_BLOCK_SIZE = 1000
const EPOCH_MAX = 32767

function tpKey(tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`
}

export class TransactionCoordinator {
  /** Test-only: see TransactionTestHooks. */
  readonly testHooks: TransactionTestHooks = {}
  private readonly entries = new Map<string, TxnEntry>()
  private readonly statePartition: PartitionLog
  private nextProducerId = 0
  /** Last id of the newest durably reserved block. */
  private blockEnd = -1
  private readonly locks = new Map<string, Promise<void>>()
  private ready: Promise<void> = Promise.resolve()
  private readonly background = new Set<Promise<unknown>>()
  private closed = false
  /** The last error of a background abort of timed-out transactions (retried at the next pass). */
  lastBackgroundError: unknown = null

  private constructor(
    private readonly log: EventLog,
    private readonly groups: GroupOffsetStore,
  ) {
    this.statePartition = log.partition(TRANSACTION_STATE_TOPIC, 0)
  }

  /**
   * Opens the coordinator over `log` (all partitions open), creating `__transaction_state` if
   * needed, and starts recovery. Markers of interrupted transactions are written before this
   * returns; the Complete* state records follow in the background (`whenReady()`).
   */
  static open(log: EventLog, groups: GroupOffsetStore): TransactionCoordinator {
    if (!log.hasTopic(TRANSACTION_STATE_TOPIC))
      log.createTopic(TRANSACTION_STATE_TOPIC, transactionStateTopicConfig)
    const c = new TransactionCoordinator(log, groups)
    c.load()
    c.ready = c.recover()
    c.ready.catch(() => {}) // surfaced by every operation that awaits it
    log.addMaintenanceTask((nowMs) => c.runInBackground(c.abortExpiredTransactions(nowMs)))
    return c
  }

  /** Resolves when recovery has finished writing its state records. */
  whenReady(): Promise<void> {
    return this.ready
  }

  // ---- producer ids ----------------------------------------------------------------------

  /**
   * Kafka's InitProducerId. Without a transactional id: a fresh producer id, epoch 0. With one:
   * the same producer id with the epoch bumped, which fences every older instance; an open
   * transaction of the previous instance is aborted first.
   */
  async initProducerId(transactionalId?: string, transactionTimeoutMs?: number): Promise<ProducerIdentity> {
    this.checkOpen()
    const timeoutMs = transactionTimeoutMs ?? limits.transactionTimeoutMsDefault
    checkTimeout(transactionalId, timeoutMs)
    await this.ready
    if (transactionalId === undefined)
      return { producerId: await this.allocateProducerId(), producerEpoch: 0 }
    checkTransactionalId(transactionalId)
    return this.withLock(transactionalId, async () => {
      const s = this.entries.get(transactionalId)
      if (s === undefined) {
        const value = emptyValue(await this.allocateProducerId(), 0, -1, timeoutMs)
        await this.write(transactionalId, value)
        this.entries.set(transactionalId, entryOf(transactionalId, value))
        return { producerId: value.producerId, producerEpoch: 0 }
      }
      let bumped = false
      if (s.value.state === 'PrepareCommit' || s.value.state === 'PrepareAbort') {
        await this.complete(s, s.value.state === 'PrepareCommit')
      } else if (s.value.state === 'Ongoing') {
        await this.abortFencing(s)
        bumped = true
      }
      const v = s.value
      let next = emptyValue(v.producerId, bumped ? v.epoch : v.epoch + 1, v.lastProducerId, timeoutMs)
      if (next.epoch >= EPOCH_MAX) {
        // Epochs are int16: a new producer id takes over; the old one stays fenced.
        next = emptyValue(await this.allocateProducerId(), 0, v.producerId, timeoutMs)
      }
      await this.write(transactionalId, next)
      this.setValue(s, next)
      return { producerId: next.producerId, producerEpoch: next.epoch }
    })
  }

  private allocateProducerId(): Promise<number> {
    return this.withLock(PRODUCER_ID_BLOCK_KEY, async () => {
      if (this.nextProducerId > this.blockEnd) {
        const blockStart = this.nextProducerId
        const blockEnd = blockStart + PRODUCER_ID_BLOCK_SIZE - 1
        await this.statePartition.appendRecords([
          {
            key: Buffer.from(PRODUCER_ID_BLOCK_KEY),
            value: Buffer.from(JSON.stringify({ blockStart, blockEnd })),
          },
        ])
        this.blockEnd = blockEnd
      }
      return this.nextProducerId++
    })
  }

  // ---- a transaction's steps -------------------------------------------------------------

  /** Adds partitions to the producer's transaction (starting it); durable before it resolves. */
  async addPartitionsToTxn(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly TopicPartition[],
  ): Promise<void> {
    await this.enter()
    return this.withLock(transactionalId, async () => {
      const s = this.entryFor(transactionalId, producerId, producerEpoch)
      this.checkNotCompleting(s, 'add partitions to')
      const added: TopicPartition[] = []
      for (const tp of partitions) {
        const p = this.log.partition(tp.topic, tp.partition) // throws for an unknown topic or partition
        if (p.config.internal) {
          throw new EddyError(
            'INVALID_ARGUMENT',
            `transactional id ${transactionalId}: internal topic ${tp.topic} cannot be added to a transaction; commit offsets with sendOffsets / txnOffsetCommit`,
          )
        }
        if (!s.partitionKeys.has(tpKey(tp)) && !added.some((a) => tpKey(a) === tpKey(tp))) {
          added.push({ topic: tp.topic, partition: tp.partition })
        }
      }
      if (added.length === 0 && s.value.state === 'Ongoing') return
      await this.begin(s, [...s.value.partitions, ...added], s.value.groups)
    })
  }

  /** Adds a consumer group's offsets to the transaction (so `__consumer_offsets` gets a marker). */
  async addOffsetsToTxn(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    groupId: string,
  ): Promise<void> {
    await this.enter()
    if (typeof groupId !== 'string' || groupId.length === 0) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `transactional id ${transactionalId}: the consumer group id is empty`,
      )
    }
    return this.withLock(transactionalId, async () => {
      const s = this.entryFor(transactionalId, producerId, producerEpoch)
      this.checkNotCompleting(s, 'add offsets to')
      if (s.value.groups.includes(groupId) && s.value.state === 'Ongoing') return
      const groups = s.value.groups.includes(groupId) ? s.value.groups : [...s.value.groups, groupId]
      await this.begin(s, s.value.partitions, groups)
    })
  }

  /**
   * Writes the group's offsets to `__consumer_offsets` as a transactional batch of the producer:
   * they become visible with the transaction's commit marker, and are dropped on abort.
   */
  async txnOffsetCommit(
    transactionalId: string,
    groupId: string,
    producerId: number,
    producerEpoch: number,
    offsets: readonly OffsetCommitInput[],
  ): Promise<void> {
    await this.enter()
    return this.withLock(transactionalId, async () => {
      const s = this.entryFor(transactionalId, producerId, producerEpoch)
      this.checkNotCompleting(s, 'commit offsets in')
      if (s.value.state !== 'Ongoing' || !s.value.groups.includes(groupId)) {
        throw new EddyError(
          'INVALID_TXN_STATE',
          `transactional id ${transactionalId}: group ${groupId} is not part of an open transaction: call addOffsetsToTxn first`,
        )
      }
      await this.groups.commitTransactional(groupId, { producerId, producerEpoch }, offsets)
    })
  }

  /** Commits or aborts the open transaction; resolves once every marker is durable (and Complete written). */
  async endTxn(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    commit: boolean,
  ): Promise<void> {
    await this.enter()
    return this.withLock(transactionalId, async () => {
      const s = this.entryFor(transactionalId, producerId, producerEpoch)
      const state = s.value.state
      const verb = commit ? 'commit' : 'abort'
      if (state === 'Ongoing') {
        const prepared: TxnValue = { ...s.value, state: commit ? 'PrepareCommit' : 'PrepareAbort' }
        s.completing = true
        try {
          // Its appends were acknowledged unsynced (PartitionLog.appendBatch): a commit is decided
          // only once the data it commits is durable. An abort needs nothing of its data.
          if (commit) await this.whenDataDurable(s.value)
          await this.write(transactionalId, prepared) // the decision is durable before any marker
        } finally {
          s.completing = false
        }
        this.setValue(s, prepared)
        await this.complete(s, commit)
        return
      }
      // A retry after a failed completion resumes it; a retry after success succeeds again.
      if (state === (commit ? 'PrepareCommit' : 'PrepareAbort')) return this.complete(s, commit)
      if (state === (commit ? 'CompleteCommit' : 'CompleteAbort')) return
      throw new EddyError(
        'INVALID_TXN_STATE',
        `transactional id ${transactionalId}: cannot ${verb} in state ${state}: ${
          state === 'Empty' || state.startsWith('Complete')
            ? 'no transaction is open; begin one and send to a partition or add offsets first'
            : 'the transaction is already being ended the other way'
        }`,
      )
    })
  }

  // ---- the coordinator-aware append path -------------------------------------------------

  /**
   * Appends records as a transactional batch of `producer`, accepted only while its transaction
   * is open and the partition has been added to it.
   */
  appendTransactional(
    producer: TransactionalProducer & { readonly baseSequence: number },
    topic: string,
    partition: number,
    records: RecordsToSend,
  ): Promise<AppendResult> {
    try {
      const p = this.checkTransactionalAppend(producer, topic, partition)
      return p.appendRecords(records, {
        producerId: producer.producerId,
        producerEpoch: producer.producerEpoch,
        baseSequence: producer.baseSequence,
        transactional: true,
      })
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** The broker's form of `appendTransactional`: one encoded transactional v2 batch. */
  appendTransactionalBatch(
    transactionalId: string,
    topic: string,
    partition: number,
    batch: Buffer,
  ): Promise<AppendResult> {
    try {
      const h = readBatchHeader(batch, 0)
      if (
        (h.attributes & ATTR_TRANSACTIONAL) === 0 ||
        (h.attributes & ATTR_CONTROL) !== 0 ||
        h.producerId < 0
      ) {
        throw new EddyError(
          'INVALID_RECORD',
          `${topic}-${partition}: transactional id ${transactionalId} sent a batch that is not a transactional data batch with a producer id`,
        )
      }
      const identity = { transactionalId, producerId: h.producerId, producerEpoch: h.producerEpoch }
      return this.checkTransactionalAppend(identity, topic, partition).appendBatch(batch)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  private checkTransactionalAppend(
    producer: TransactionalProducer,
    topic: string,
    partition: number,
  ): PartitionLog {
    this.checkOpen()
    const s = this.entryFor(producer.transactionalId, producer.producerId, producer.producerEpoch)
    const where = `${topic}-${partition}`
    if (s.value.state !== 'Ongoing' || s.completing) {
      throw new EddyError(
        'INVALID_TXN_STATE',
        `${where}: transactional id ${producer.transactionalId} has no open transaction (state ${s.value.state}${s.completing ? ', completing' : ''}): add the partition to a transaction before sending`,
      )
    }
    if (!s.partitionKeys.has(tpKey({ topic, partition }))) {
      throw new EddyError(
        'INVALID_TXN_STATE',
        `${where} was not added to the transaction of transactional id ${producer.transactionalId}: call addPartitionsToTxn first`,
      )
    }
    return this.log.partition(topic, partition)
  }

  // ---- timeouts --------------------------------------------------------------------------

  /**
   * Aborts every open transaction older than its timeout, fencing its producer (epoch bump), and
   * finishes completions an error interrupted. Resolves with the transactional ids aborted.
   */
  async abortExpiredTransactions(nowMs: number = this.log.clock.nowMs()): Promise<string[]> {
    if (this.closed) return []
    await this.ready
    const expired = (s: TxnEntry) =>
      s.value.state === 'Ongoing' && !s.completing && s.value.startedMs + s.value.timeoutMs < nowMs
    const stuck = (s: TxnEntry) =>
      (s.value.state === 'PrepareCommit' || s.value.state === 'PrepareAbort') && !s.completing
    const aborted: string[] = []
    const work: Promise<void>[] = []
    for (const s of this.entries.values()) {
      if (!expired(s) && !stuck(s)) continue
      work.push(
        this.withLock(s.transactionalId, async () => {
          if (expired(s)) {
            await this.abortFencing(s)
            aborted.push(s.transactionalId)
          } else if (stuck(s)) {
            await this.complete(s, s.value.state === 'PrepareCommit')
          }
        }),
      )
    }
    await Promise.all(work)
    return aborted.sort()
  }

  // ---- inspection ------------------------------------------------------------------------

  describeTransaction(transactionalId: string): TransactionDescription | null {
    const s = this.entries.get(transactionalId)
    return s === undefined ? null : describe(s)
  }

  listTransactions(): TransactionDescription[] {
    return [...this.entries.values()]
      .map(describe)
      .sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : 1))
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /** Waits for running operations and recovery, then refuses new ones. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.ready.catch(() => {})
    await Promise.allSettled([...this.locks.values(), ...this.background])
  }

  // ---- internals -------------------------------------------------------------------------

  private async enter(): Promise<void> {
    this.checkOpen()
    await this.ready
  }

  private checkOpen(): void {
    if (this.closed)
      throw new EddyError('LOG_CLOSED', 'the transaction coordinator is closed: reopen the log')
  }

  private runInBackground(p: Promise<unknown>): void {
    const tracked = p.then(
      () => {
        this.lastBackgroundError = null
      },
      (err: unknown) => {
        this.lastBackgroundError = err
      },
    )
    this.background.add(tracked)
    void tracked.finally(() => this.background.delete(tracked))
  }

  /** Runs `fn` after every earlier operation on the same key has finished. */
  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>((resolve) => {
      release = resolve
    })
    const tail = previous.then(() => mine)
    this.locks.set(key, tail)
    await previous
    try {
      return await fn()
    } finally {
      release()
      if (this.locks.get(key) === tail) this.locks.delete(key)
    }
  }

  private entryFor(transactionalId: string, producerId: number, producerEpoch: number): TxnEntry {
    const s = this.entries.get(transactionalId)
    if (s === undefined) {
      throw new EddyError(
        'INVALID_PRODUCER_ID_MAPPING',
        `transactional id ${transactionalId} is unknown to the coordinator: call initProducerId (initTransactions) first`,
      )
    }
    const v = s.value
    if (producerId !== v.producerId) {
      if (producerId === v.lastProducerId) throw fenced(transactionalId, producerId, producerEpoch, v)
      throw new EddyError(
        'INVALID_PRODUCER_ID_MAPPING',
        `transactional id ${transactionalId} belongs to producer id ${v.producerId}, not ${producerId}: call initProducerId again`,
      )
    }
    if (producerEpoch < v.epoch) throw fenced(transactionalId, producerId, producerEpoch, v)
    if (producerEpoch > v.epoch) {
      throw new EddyError(
        'INVALID_PRODUCER_EPOCH',
        `transactional id ${transactionalId}: producer ${producerId} epoch ${producerEpoch} is newer than the coordinator's ${v.epoch}: this epoch was never issued; call initProducerId again`,
      )
    }
    return s
  }

  private checkNotCompleting(s: TxnEntry, what: string): void {
    const state = s.value.state
    if (s.completing || state === 'PrepareCommit' || state === 'PrepareAbort') {
      throw new EddyError(
        'INVALID_TXN_STATE',
        `transactional id ${s.transactionalId}: cannot ${what} a transaction that is being committed or aborted (state ${state}): wait for endTxn to finish`,
      )
    }
  }

  /** Persists Ongoing with these partitions and groups; the start time is kept if already open. */
  private async begin(
    s: TxnEntry,
    partitions: readonly TopicPartition[],
    groups: readonly string[],
  ): Promise<void> {
    const startedMs = s.value.state === 'Ongoing' ? s.value.startedMs : this.log.clock.nowMs()
    const next: TxnValue = { ...s.value, state: 'Ongoing', partitions, groups, startedMs }
    await this.write(s.transactionalId, next)
    this.setValue(s, next)
  }

  /**
   * Aborts the open transaction with a bumped epoch, so the markers fence the old producer on every
   * partition it wrote to. PrepareAbort need not be durable before the markers: a crash before it
   * is leaves Ongoing, which recovery aborts too.
   */
  private abortFencing(s: TxnEntry): Promise<void> {
    const prepared: TxnValue = {
      ...s.value,
      state: 'PrepareAbort',
      epoch: Math.min(s.value.epoch + 1, EPOCH_MAX),
    }
    const ack = this.write(s.transactionalId, prepared)
    this.setValue(s, prepared)
    return this.complete(s, false, ack)
  }

  /**
   * Writes the markers of a prepared transaction, then its Complete* state. Markers are written
   * synchronously (unless a test hook pauses between them), so recovery at open has made data
   * committed or aborted before `open` returns. Repeating it is safe: a partition without an
   * open transaction of the producer gets no marker.
   */
  private async complete(s: TxnEntry, commit: boolean, ...pending: Promise<unknown>[]): Promise<void> {
    s.completing = true
    try {
      const v = s.value
      const targets = writtenPartitions(v)
      const acks = [...pending]
      for (let i = 0; i < targets.length; i++) {
        const tp = targets[i]!
        const hook = this.testHooks.beforeMarker
        if (hook !== undefined) await hook(i, tp, commit)
        const p = this.log.hasTopic(tp.topic) ? this.log.partition(tp.topic, tp.partition) : null // deleted meanwhile
        const ack = p?.appendMarker(v.producerId, v.epoch, commit)
        if (ack) acks.push(ack)
      }
      await Promise.all(acks)
      const done: TxnValue = {
        ...s.value,
        state: commit ? 'CompleteCommit' : 'CompleteAbort',
        partitions: [],
        groups: [],
        startedMs: -1,
      }
      // With every marker durable the transaction is complete, so its Complete state is written
      // without waiting for an fsync: the next write to the state topic (the next transaction's
      // Ongoing, before any of its data) makes it durable. Lost in a crash, it costs nothing:
      // recovery finds Prepare* and completes again, and markers are idempotent. A failed fsync
      // fails that next write too, so it is not lost silently.
      this.write(s.transactionalId, done).catch(() => {})
      this.setValue(s, done)
    } finally {
      s.completing = false
    }
  }

  /** Every partition the transaction wrote to (its offsets' too) made durable. */
  private async whenDataDurable(v: TxnValue): Promise<void> {
    const waits: Promise<void>[] = []
    for (const tp of writtenPartitions(v)) {
      // A partition of a topic deleted meanwhile has nothing left to make durable.
      if (this.log.hasTopic(tp.topic)) waits.push(this.log.partition(tp.topic, tp.partition).whenDurable())
    }
    await Promise.all(waits)
  }

  private write(transactionalId: string, value: TxnValue): Promise<AppendResult> {
    return this.statePartition.appendRecords([
      { key: Buffer.from(transactionalId, 'utf8'), value: Buffer.from(JSON.stringify(value)) },
    ])
  }

  private setValue(s: TxnEntry, value: TxnValue): void {
    s.value = value
    s.partitionKeys = new Set(value.partitions.map(tpKey))
  }

  /** Reads `__transaction_state` whole: the last record per key is the state. */
  private load(): void {
    const p = this.statePartition
    let maxProducerId = -1
    forEachBatch(p, (buf, at, header) => {
      if ((header.attributes & ATTR_CONTROL) !== 0) return
      const records: LogRecord[] = []
      decodeBatchRecords(buf, at, header, p.topic, p.partition, records)
      for (const r of records) {
        if (r.key === null) continue
        const id = r.key.toString('utf8')
        if (id === PRODUCER_ID_BLOCK_KEY) {
          const end = r.value === null ? -1 : parseBlockEnd(r.value)
          if (end > this.blockEnd) this.blockEnd = end
        } else if (r.value === null) {
          this.entries.delete(id)
        } else {
          const value = parseTxnValue(r.value)
          if (value === null) {
            throw new EddyError(
              'CORRUPT_RECORD',
              `${p.where()} offset ${r.offset}: the state of transactional id ${id} is not valid JSON state: restore the topic from a backup`,
            )
          }
          this.entries.set(id, entryOf(id, value))
          maxProducerId = Math.max(maxProducerId, value.producerId, value.lastProducerId)
        }
      }
    })
    this.nextProducerId = Math.max(this.blockEnd, maxProducerId) + 1
  }

  /** Finishes what a crash interrupted: Prepare* is completed, Ongoing is aborted (fencing). */
  private recover(): Promise<void> {
    const work: Promise<void>[] = []
    for (const s of this.entries.values()) {
      const state = s.value.state
      if (state === 'PrepareCommit' || state === 'PrepareAbort')
        work.push(this.complete(s, state === 'PrepareCommit'))
      else if (state === 'Ongoing') work.push(this.abortFencing(s))
    }
    return Promise.all(work).then(() => {})
  }
}

/** The partitions a transaction wrote to: its data's, and `__consumer_offsets` if it added offsets. */
function writtenPartitions(v: TxnValue): TopicPartition[] {
  const out: TopicPartition[] = [...v.partitions]
  if (v.groups.length > 0) out.push({ topic: CONSUMER_OFFSETS_TOPIC, partition: 0 })
  return out
}

function fenced(transactionalId: string, producerId: number, epoch: number, v: TxnValue): EddyError {
  return new EddyError(
    'PRODUCER_FENCED',
    `transactional id ${transactionalId}: producer ${producerId} epoch ${epoch} is fenced by producer ${v.producerId} epoch ${v.epoch}: a newer instance took over or the transaction timed out; close this producer and create a new one`,
  )
}

function emptyValue(producerId: number, epoch: number, lastProducerId: number, timeoutMs: number): TxnValue {
  return {
    producerId,
    epoch,
    state: 'Empty',
    partitions: [],
    groups: [],
    timeoutMs,
    startedMs: -1,
    lastProducerId,
  }
}

function entryOf(transactionalId: string, value: TxnValue): TxnEntry {
  return { transactionalId, value, partitionKeys: new Set(value.partitions.map(tpKey)), completing: false }
}

function describe(s: TxnEntry): TransactionDescription {
  const v = s.value
  return {
    transactionalId: s.transactionalId,
    producerId: v.producerId,
    producerEpoch: v.epoch,
    state: v.state,
    partitions: v.partitions,
    groups: v.groups,
    timeoutMs: v.timeoutMs,
    startedMs: v.startedMs,
  }
}

const STATES: readonly TransactionState[] = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
]

function parseTxnValue(buf: Buffer): TxnValue | null {
  try {
    const v = JSON.parse(buf.toString('utf8')) as Partial<TxnValue>
    if (typeof v.producerId !== 'number' || typeof v.epoch !== 'number') return null
    if (typeof v.state !== 'string' || !STATES.includes(v.state)) return null
    return {
      producerId: v.producerId,
      epoch: v.epoch,
      state: v.state,
      partitions: Array.isArray(v.partitions) ? v.partitions : [],
      groups: Array.isArray(v.groups) ? v.groups : [],
      timeoutMs: typeof v.timeoutMs === 'number' ? v.timeoutMs : limits.transactionTimeoutMsDefault,
      startedMs: typeof v.startedMs === 'number' ? v.startedMs : -1,
      lastProducerId: typeof v.lastProducerId === 'number' ? v.lastProducerId : -1,
    }
  } catch {
    return null
  }
}

function parseBlockEnd(buf: Buffer): number {
  try {
    const v = JSON.parse(buf.toString('utf8')) as { blockEnd?: unknown }
    return typeof v.blockEnd === 'number' ? v.blockEnd : -1
  } catch {
    return -1
  }
}

function checkTransactionalId(id: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.startsWith('\u0000')) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      'transactional id is empty or starts with NUL: give each transactional producer a stable, unique name',
    )
  }
  if (Buffer.byteLength(id) > limits.keyBytesMax) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `transactional id "${id.slice(0, 40)}…" is longer than limits.keyBytesMax (${limits.keyBytesMax} bytes)`,
    )
  }
}

function checkTimeout(transactionalId: string | undefined, timeoutMs: number): void {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > limits.transactionTimeoutMsMax) {
    throw new EddyError(
      'INVALID_TRANSACTION_TIMEOUT',
      `transactional id ${transactionalId ?? '(none)'}: transaction timeout ${timeoutMs} ms must be an integer from 1 to limits.transactionTimeoutMsMax (${limits.transactionTimeoutMsMax})`,
    )
  }
}
