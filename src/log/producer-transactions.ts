// The transaction state machine a producer goes through, shared by the embedded producer (over
// the log's coordinator) and the Kafka transport's (over a cluster's): ready → inTransaction →
// completing → ready, or fenced / closed for good. The producers bring the I/O; this holds the
// rules and the errors.
import { EddyError, isEddyError } from '../core/errors.js'

export type ProducerStatus = 'ready' | 'inTransaction' | 'completing' | 'fenced' | 'closed'

export class ProducerTransactions {
  status: ProducerStatus = 'ready'
  /** Partitions added to the open transaction (the promise of each add), by `topic-partition`. */
  readonly partitions = new Map<string, Promise<void>>()
  /** Consumer groups whose offsets were added to the open transaction. */
  readonly groups = new Map<string, Promise<void>>()
  /** The first error of a send in the open transaction: it can then only be aborted. */
  error: unknown = null
  /** The coordinator knows of the open transaction (a partition or group was added). */
  started = false
  private readonly inFlight = new Set<Promise<unknown>>()

  constructor(
    readonly transactionalId: string | null,
    /** The producer's current id and epoch, for errors. */
    private readonly identity: () => { readonly id: number; readonly epoch: number },
    /** How a user makes a transactional producer, for the error that says to. */
    private readonly howToCreate: string,
  ) {}

  readonly markStarted = (): void => {
    this.started = true
  }

  get inTransaction(): boolean {
    return this.status === 'inTransaction'
  }

  /** Throws if the producer was fenced or closed. */
  checkUsable(): void {
    if (this.status === 'fenced') {
      const { id, epoch } = this.identity()
      throw new EddyError(
        'PRODUCER_FENCED',
        `producer ${this.transactionalId} (id ${id}, epoch ${epoch}) was fenced by a newer instance or a transaction timeout: create a new producer`,
      )
    }
    if (this.status === 'closed') {
      throw new EddyError(
        'INVALID_TXN_STATE',
        `producer ${this.transactionalId ?? this.identity().id} is closed: create a new one`,
      )
    }
  }

  /** The transactional id; throws when the producer has none. */
  checkTransactional(what: string): string {
    if (this.transactionalId === null) {
      throw new EddyError(
        'INVALID_TXN_STATE',
        `cannot ${what}: this producer is not transactional; create it with ${this.howToCreate}`,
      )
    }
    return this.transactionalId
  }

  /** Throws unless a transaction is open; `what` is the call that needs one. */
  requireOpen(what: string): void {
    if (this.status !== 'inTransaction') {
      throw new EddyError(
        'INVALID_TXN_STATE',
        `producer ${this.transactionalId}: ${what} outside a transaction: call beginTransaction() first`,
      )
    }
  }

  begin(): void {
    this.checkTransactional('begin a transaction')
    this.checkUsable()
    if (this.status !== 'ready') {
      throw new EddyError(
        'INVALID_TXN_STATE',
        `producer ${this.transactionalId}: a transaction is already open: commit or abort it first`,
      )
    }
    this.status = 'inTransaction'
    this.error = null
  }

  /** Keeps `p` among the sends a commit, abort or close waits for. */
  track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p)
    const done = () => this.inFlight.delete(p)
    p.then(done, done)
    return p
  }

  /** A send of the open transaction failed: it can now only abort (or the producer is fenced). */
  fail(err: unknown): never {
    if (this.error === null) this.error = err
    if (isEddyError(err, 'PRODUCER_FENCED')) this.status = 'fenced'
    throw err
  }

  /**
   * Commits or aborts the open transaction: waits for its sends, refuses to commit after a failed
   * one, has the coordinator end it (`endTxn`) if it knows of it, then starts afresh. Resolves
   * with whether a send of the transaction had failed.
   */
  async end(commit: boolean, endTxn: (transactionalId: string) => Promise<void>): Promise<boolean> {
    const txnId = this.checkTransactional(commit ? 'commit' : 'abort')
    this.checkUsable()
    if (this.status !== 'inTransaction') {
      throw new EddyError(
        'INVALID_TXN_STATE',
        `producer ${txnId}: no transaction is open to ${commit ? 'commit' : 'abort'}: call beginTransaction() first`,
      )
    }
    this.status = 'completing'
    try {
      await Promise.allSettled([...this.inFlight])
      if (commit && this.error !== null) {
        if (isEddyError(this.error, 'PRODUCER_FENCED')) throw this.error
        throw new EddyError(
          'INVALID_TXN_STATE',
          `producer ${txnId}: a send in this transaction failed, so it cannot commit: abort it (${String(this.error)})`,
          { cause: this.error },
        )
      }
      if (this.started) await endTxn(txnId)
      const failed = this.error !== null
      this.partitions.clear()
      this.groups.clear()
      this.error = null
      this.started = false
      this.status = 'ready'
      return failed
    } catch (err) {
      if (isEddyError(err, 'PRODUCER_FENCED')) this.status = 'fenced'
      else if (this.status === 'completing') this.status = 'inTransaction'
      throw err
    }
  }

  /** Waits for sends in flight and closes; false when already closed. */
  async close(): Promise<boolean> {
    if (this.status === 'closed') return false
    await Promise.allSettled([...this.inFlight])
    this.status = 'closed'
    return true
  }
}
