// Per-partition state of idempotent and transactional producers, derived from the log itself:
// the same `apply` runs on append and when recovery replays batches, so the two cannot drift.
import { EddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { AbortedTransaction } from './types.js'

export interface BatchMeta {
  readonly firstSeq: number
  readonly lastSeq: number
  readonly baseOffset: number
  readonly lastOffset: number
}

export interface ProducerEntry {
  epoch: number
  /** The last few batches, newest last, to recognise a retried duplicate. */
  batches: BatchMeta[]
  /** First offset of this producer's open transaction on this partition, or -1. */
  txnFirstOffset: number
  lastAppendMs: number
}

export interface BatchFacts {
  readonly producerId: number
  readonly producerEpoch: number
  readonly baseSequence: number
  readonly recordCount: number
  readonly baseOffset: number
  readonly lastOffset: number
  readonly transactional: boolean
  /** For control batches: true = commit marker, false = abort marker; undefined for data. */
  readonly commitMarker?: boolean
}

/** What an incoming batch is, judged against the producer's state. */
export type SequenceVerdict = { kind: 'append' } | { kind: 'duplicate'; meta: BatchMeta }

const INT32_MAX = 2 ** 31 - 1

function nextSequence(seq: number, count: number): number {
  // Sequences wrap from int32 max back to 0, as in Kafka.
  const n = seq + count
  return n > INT32_MAX ? n - INT32_MAX - 1 : n
}

export class ProducerStateTable {
  readonly producers = new Map<number, ProducerEntry>()
  /** Aborted transactions, ordered by their marker offset. */
  readonly aborted: AbortedTransaction[] = []

  constructor(private readonly where: string) {}

  /** Checks an incoming data batch before it gets offsets; throws for a fenced epoch or a gap. */
  check(producerId: number, epoch: number, baseSequence: number, recordCount: number): SequenceVerdict {
    if (producerId < 0) return { kind: 'append' }
    const entry = this.producers.get(producerId)
    if (entry === undefined) {
      if (baseSequence > 0) {
        throw new EddyError(
          'UNKNOWN_PRODUCER_ID',
          `${this.where}: producer ${producerId} is unknown here and its first batch has sequence ${baseSequence}, not 0: re-initialise the producer`,
        )
      }
      return { kind: 'append' }
    }
    if (epoch < entry.epoch) {
      throw new EddyError(
        'PRODUCER_FENCED',
        `${this.where}: producer ${producerId} epoch ${epoch} is fenced by epoch ${entry.epoch}: a newer instance with the same transactional id took over`,
      )
    }
    if (baseSequence < 0) return { kind: 'append' }
    const lastSeq = baseSequence + recordCount - 1
    for (const b of entry.batches) {
      if (epoch === entry.epoch && b.firstSeq === baseSequence && b.lastSeq === lastSeq) {
        return { kind: 'duplicate', meta: b }
      }
    }
    const last = entry.batches[entry.batches.length - 1]
    if (epoch > entry.epoch || last === undefined) {
      if (baseSequence !== 0) {
        throw new EddyError(
          'OUT_OF_ORDER_SEQUENCE',
          `${this.where}: producer ${producerId} epoch ${epoch} must start at sequence 0, got ${baseSequence}`,
        )
      }
      return { kind: 'append' }
    }
    const expected = nextSequence(last.lastSeq, 1)
    if (baseSequence !== expected) {
      throw new EddyError(
        'OUT_OF_ORDER_SEQUENCE',
        `${this.where}: producer ${producerId} sent sequence ${baseSequence} but ${expected} was expected: a batch before it was lost; the producer must retry in order`,
      )
    }
    return { kind: 'append' }
  }

  /** Applies a batch that is on the log (at append, or replayed by recovery). */
  apply(b: BatchFacts, nowMs: number): void {
    if (b.producerId < 0) return
    let entry = this.producers.get(b.producerId)
    if (entry === undefined) {
      entry = { epoch: b.producerEpoch, batches: [], txnFirstOffset: -1, lastAppendMs: nowMs }
      this.producers.set(b.producerId, entry)
      this.evictIfFull()
    }
    if (b.producerEpoch > entry.epoch) {
      entry.epoch = b.producerEpoch
      entry.batches = []
    }
    entry.lastAppendMs = nowMs
    if (b.commitMarker !== undefined) {
      if (entry.txnFirstOffset >= 0 && !b.commitMarker) {
        this.aborted.push({
          producerId: b.producerId,
          firstOffset: entry.txnFirstOffset,
          lastOffset: b.lastOffset,
        })
      }
      entry.txnFirstOffset = -1
      return
    }
    if (b.transactional && entry.txnFirstOffset < 0) entry.txnFirstOffset = b.baseOffset
    if (b.baseSequence >= 0) {
      entry.batches.push({
        firstSeq: b.baseSequence,
        lastSeq: nextSequence(b.baseSequence, b.recordCount - 1),
        baseOffset: b.baseOffset,
        lastOffset: b.lastOffset,
      })
      if (entry.batches.length > limits.producerBatchesRemembered) entry.batches.shift()
    }
  }

  /** True when the producer has an open transaction on this partition. */
  inTransaction(producerId: number): boolean {
    return (this.producers.get(producerId)?.txnFirstOffset ?? -1) >= 0
  }

  /** The first offset of the oldest open transaction, or null. */
  firstOpenTxnOffset(): number | null {
    let min: number | null = null
    for (const e of this.producers.values()) {
      if (e.txnFirstOffset >= 0 && (min === null || e.txnFirstOffset < min)) min = e.txnFirstOffset
    }
    return min
  }

  /** Aborted transactions that overlap [from, to). */
  abortedBetween(from: number, to: number): AbortedTransaction[] {
    const out: AbortedTransaction[] = []
    for (const a of this.aborted) {
      if (a.lastOffset >= from && a.firstOffset < to) out.push(a)
    }
    return out
  }

  /** Forgets aborted transactions wholly before the log start (retention removed them). */
  trimAborted(logStartOffset: number): void {
    let i = 0
    while (i < this.aborted.length && this.aborted[i]!.lastOffset < logStartOffset) i++
    if (i > 0) this.aborted.splice(0, i)
  }

  private evictIfFull(): void {
    if (this.producers.size <= limits.producersPerPartitionMax) return
    // Evict the idle producer without an open transaction that appended longest ago.
    let oldestId = -1
    let oldestMs = Number.POSITIVE_INFINITY
    for (const [id, e] of this.producers) {
      if (e.txnFirstOffset < 0 && e.lastAppendMs < oldestMs) {
        oldestMs = e.lastAppendMs
        oldestId = id
      }
    }
    if (oldestId >= 0) this.producers.delete(oldestId)
  }

  toJSON(): { producers: [number, ProducerEntry][]; aborted: AbortedTransaction[] } {
    return { producers: [...this.producers], aborted: this.aborted }
  }

  static fromJSON(where: string, data: ReturnType<ProducerStateTable['toJSON']>): ProducerStateTable {
    const t = new ProducerStateTable(where)
    for (const [id, e] of data.producers) t.producers.set(id, e)
    t.aborted.push(...data.aborted)
    return t
  }
}
