// The embedded event log: a data directory of topics, each a set of partition logs.
//   <dir>/topics/<topic>/topic.json        the topic's config and its id
//   <dir>/topics/<topic>/<partition>/      segments, indexes, producer snapshots
import { randomUUID } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { type Clock, systemClock } from '../core/clock.js'
import { EddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { LogRecord } from '../core/record.js'
import type { RecordsToSend } from '../core/record-batch.js'
import { validateTopicName } from '../core/topic-name.js'
import { type CompactionResult, Compactor } from './compactor.js'
import { DataDirLock } from './data-dir-lock.js'
import { fsyncDir, replaceFile } from './fs-util.js'
import { CONSUMER_OFFSETS_TOPIC, GroupOffsetStore } from './group-offsets.js'
import { decodeFetched, PartitionLog, type ProducerFields } from './partition-log.js'
import { Producer, type ProducerOptions } from './producer.js'
import { SyncScheduler } from './sync-scheduler.js'
import { TRANSACTION_STATE_TOPIC, TransactionCoordinator } from './transactions.js'
import type {
  AppendResult,
  FetchOptions,
  FetchResult,
  FsyncPolicy,
  IsolationLevel,
  LogOptions,
  TopicConfig,
  TopicDescription,
} from './types.js'

const TOPIC_CONFIG_FILE = 'topic.json'
/** Topic names starting with this are Eddy's own; only INTERNAL_TOPICS may be created with it. */
const RESERVED_TOPIC_PREFIX = '__'
const INTERNAL_TOPICS: ReadonlySet<string> = new Set([CONSUMER_OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC])
const DEFAULT_FETCH_BYTES = 1024 * 1024

export const defaultTopicConfig: TopicConfig = {
  partitions: 1,
  compact: false,
  retentionMs: 7 * 24 * 3600_000,
  retentionBytes: null,
  segmentBytes: limits.segmentBytesDefault,
  segmentMs: 7 * 24 * 3600_000,
  deleteRetentionMs: 24 * 3600_000,
  internal: false,
}

interface Topic {
  readonly name: string
  /** A UUID fixed at creation (Kafka's topic id): the broker names topics by it in Fetch v13+ and Metadata v10+. */
  readonly id: string
  readonly config: TopicConfig
  readonly dir: string
  readonly partitions: PartitionLog[]
}

function checkConfig(name: string, c: TopicConfig): void {
  const bad = (what: string) => new EddyError('INVALID_ARGUMENT', `topic ${name}: ${what}`)
  if (!Number.isInteger(c.partitions) || c.partitions < 1 || c.partitions > limits.partitionsMax) {
    throw bad(`partitions must be an integer from 1 to ${limits.partitionsMax}, got ${c.partitions}`)
  }
  if (c.retentionMs !== null && !(c.retentionMs >= 0))
    throw bad(`retention ms must be >= 0, got ${c.retentionMs}`)
  if (c.retentionBytes !== null && !(c.retentionBytes >= 0)) {
    throw bad(`retention bytes must be >= 0, got ${c.retentionBytes}`)
  }
  if (!(c.segmentBytes >= limits.segmentBytesMin && c.segmentBytes <= limits.segmentBytesMax)) {
    throw bad(
      `segment bytes must be from ${limits.segmentBytesMin} to ${limits.segmentBytesMax}, got ${c.segmentBytes}`,
    )
  }
  if (!(c.segmentMs > 0)) throw bad(`segment ms must be > 0, got ${c.segmentMs}`)
  if (!(c.deleteRetentionMs >= 0)) throw bad(`delete retention ms must be >= 0, got ${c.deleteRetentionMs}`)
}

function topicFileText(config: TopicConfig, topicId: string): string {
  return JSON.stringify({ ...config, topicId }, null, 2)
}

export class EventLog {
  readonly dir: string
  readonly clock: Clock
  readonly fsyncPolicy: FsyncPolicy
  private readonly topics = new Map<string, Topic>()
  private readonly syncs = new SyncScheduler()
  private readonly topicDefaults: TopicConfig
  private readonly lock: DataDirLock
  private intervalFlushTimer: NodeJS.Timeout | null = null
  private maintenanceTimer: NodeJS.Timeout | null = null
  private closed = false
  /** Extra work run by `maintain()` (compaction registers here). */
  private readonly maintenanceTasks: ((nowMs: number) => void)[] = []
  /** Compacts compacted topics, one partition at a time; background errors are in `lastError`. */
  readonly compactor: Compactor
  /** Consumer-group offsets, on the internal topic `__consumer_offsets`. */
  groups!: GroupOffsetStore
  /** Producer ids and transactions, on the internal topic `__transaction_state`. */
  transactions!: TransactionCoordinator

  private constructor(opts: LogOptions, lock: DataDirLock) {
    this.dir = path.resolve(opts.dir)
    this.clock = opts.clock ?? systemClock
    this.fsyncPolicy = opts.fsync ?? { kind: 'always' }
    this.topicDefaults = { ...defaultTopicConfig, ...opts.topicDefaults }
    this.lock = lock
    this.compactor = new Compactor({ clock: this.clock })
    this.addMaintenanceTask(() => this.compactor.maintain(this.allPartitions()))
  }

  /** Opens (or creates) the log in `opts.dir`, recovering every partition. */
  static open(opts: LogOptions): EventLog {
    const dir = path.resolve(opts.dir)
    fs.mkdirSync(path.join(dir, 'topics'), { recursive: true })
    const lock = DataDirLock.acquire(dir)
    const log = new EventLog(opts, lock)
    try {
      log.loadTopics()
      // After every partition is open: transaction recovery writes markers to them.
      log.groups = GroupOffsetStore.open(log)
      log.transactions = TransactionCoordinator.open(log, log.groups)
    } catch (err) {
      lock.release()
      throw err
    }
    if (log.fsyncPolicy.kind === 'interval') {
      const ms = log.fsyncPolicy.intervalMs
      // Not unref'd: an awaited append must not let the process exit before its flush (close() clears it).
      log.intervalFlushTimer = setInterval(() => void log.flushAll(), ms)
    }
    const maintenanceMs = opts.maintenanceIntervalMs ?? 30_000
    if (maintenanceMs > 0) {
      log.maintenanceTimer = setInterval(() => log.maintain(), maintenanceMs)
      log.maintenanceTimer.unref()
    }
    return log
  }

  private loadTopics(): void {
    const topicsDir = path.join(this.dir, 'topics')
    for (const name of fs.readdirSync(topicsDir)) {
      const dir = path.join(topicsDir, name)
      const configFile = path.join(dir, TOPIC_CONFIG_FILE)
      if (!fs.existsSync(configFile)) {
        // A create or delete that a crash interrupted: the topic never was, or is gone.
        fs.rmSync(dir, { recursive: true, force: true })
        continue
      }
      validateTopicName(name)
      const { topicId, ...stored } = JSON.parse(fs.readFileSync(configFile, 'utf8')) as TopicConfig & {
        topicId?: string
      }
      const config: TopicConfig = { ...defaultTopicConfig, ...stored }
      let id = topicId
      if (typeof id !== 'string') {
        // A topic from before topic ids: it gets one now, kept from then on.
        id = randomUUID()
        replaceFile(configFile, topicFileText(config, id), this.fsyncPolicy.kind !== 'never')
      }
      const partitions: PartitionLog[] = []
      for (let p = 0; p < config.partitions; p++) {
        const pdir = path.join(dir, String(p))
        const opts = {
          dir: pdir,
          topic: name,
          partition: p,
          config,
          clock: this.clock,
          fsync: this.fsyncPolicy,
          syncs: this.syncs,
        }
        partitions.push(fs.existsSync(pdir) ? PartitionLog.open(opts) : PartitionLog.create(opts))
      }
      this.topics.set(name, { name, id, config, dir, partitions })
    }
  }

  // ---- topics ----------------------------------------------------------------------------

  createTopic(name: string, config: Partial<TopicConfig> = {}): TopicDescription {
    this.checkOpen()
    validateTopicName(name)
    // The group-offset store and the transaction coordinator create theirs as internal topics.
    if (name.startsWith(RESERVED_TOPIC_PREFIX) && !(INTERNAL_TOPICS.has(name) && config.internal === true)) {
      throw new EddyError(
        'INVALID_TOPIC_NAME',
        `topic name ${name} starts with "${RESERVED_TOPIC_PREFIX}", which is reserved for Eddy's internal topics: choose another name`,
      )
    }
    if (this.topics.has(name)) {
      throw new EddyError('TOPIC_EXISTS', `topic ${name} already exists: use it, or delete it first`)
    }
    const full: TopicConfig = { ...this.topicDefaults, ...config }
    checkConfig(name, full)
    const dir = path.join(this.dir, 'topics', name)
    fs.rmSync(dir, { recursive: true, force: true })
    fs.mkdirSync(dir, { recursive: true })
    const partitions: PartitionLog[] = []
    for (let p = 0; p < full.partitions; p++) {
      partitions.push(
        PartitionLog.create({
          dir: path.join(dir, String(p)),
          topic: name,
          partition: p,
          config: full,
          clock: this.clock,
          fsync: this.fsyncPolicy,
          syncs: this.syncs,
        }),
      )
    }
    // The config file is written last, by rename: its presence is what makes the topic exist.
    const durable = this.fsyncPolicy.kind !== 'never'
    const id = randomUUID()
    replaceFile(path.join(dir, TOPIC_CONFIG_FILE), topicFileText(full, id), durable)
    if (durable) fsyncDir(path.dirname(dir))
    this.topics.set(name, { name, id, config: full, dir, partitions })
    return this.describeTopic(name)
  }

  deleteTopic(name: string): void {
    this.checkOpen()
    if (INTERNAL_TOPICS.has(name)) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `topic ${name} is an internal topic of Eddy (consumer-group offsets or transaction state) and cannot be deleted`,
      )
    }
    const topic = this.topic(name)
    // Removing the config file first makes the delete atomic across a crash.
    fs.rmSync(path.join(topic.dir, TOPIC_CONFIG_FILE), { force: true })
    for (const p of topic.partitions) p.destroy()
    fs.rmSync(topic.dir, { recursive: true, force: true })
    this.topics.delete(name)
  }

  hasTopic(name: string): boolean {
    return this.topics.has(name)
  }

  listTopics(opts: { internal?: boolean } = {}): string[] {
    return [...this.topics.values()]
      .filter((t) => opts.internal || !t.config.internal)
      .map((t) => t.name)
      .sort()
  }

  describeTopic(name: string): TopicDescription {
    const topic = this.topic(name)
    return {
      name,
      config: topic.config,
      partitions: topic.partitions.map((p) => ({
        partition: p.partition,
        earliestOffset: p.logStartOffset,
        latestOffset: p.highWatermark,
        lastStableOffset: p.lastStableOffset,
        bytes: p.sizeBytes,
        segments: p.segments.length,
      })),
    }
  }

  /** The topic's id (a UUID), stable for the topic's life; a topic re-created under the same name gets a new one. */
  topicId(name: string): string {
    return this.topic(name).id
  }

  partitionCount(name: string): number {
    return this.topic(name).partitions.length
  }

  /** The partition log itself, for the layers built on the log (transactions, groups, broker). */
  partition(topic: string, partition: number): PartitionLog {
    const t = this.topic(topic)
    const p = t.partitions[partition]
    if (p === undefined) {
      throw new EddyError(
        'UNKNOWN_PARTITION',
        `topic ${topic} has ${t.partitions.length} partition(s); partition ${partition} does not exist`,
      )
    }
    return p
  }

  private topic(name: string): Topic {
    this.checkOpen()
    const t = this.topics.get(name)
    if (t === undefined) {
      throw new EddyError(
        'UNKNOWN_TOPIC',
        `topic ${name} does not exist: create it with \`eddy topics create ${name}\``,
      )
    }
    return t
  }

  // ---- writing ---------------------------------------------------------------------------

  /** Appends records as one batch; resolves once the fsync policy is met. */
  append(
    topic: string,
    partition: number,
    records: RecordsToSend,
    producer?: ProducerFields,
  ): Promise<AppendResult> {
    try {
      return this.partition(topic, partition).appendRecords(records, producer)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Appends one encoded v2 batch as given, checking its CRC and records first. */
  appendBatch(topic: string, partition: number, batch: Buffer): Promise<AppendResult> {
    try {
      return this.partition(topic, partition).appendBatch(batch)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** An embedded producer: idempotent by default, transactional with a `transactionalId`. */
  producer(opts: ProducerOptions = {}): Promise<Producer> {
    return Producer.create(this, opts)
  }

  /**
   * Deletes the records before `offset` (Kafka's DeleteRecords): it becomes the partition's
   * earliest offset, durably, and reads below it fail with OFFSET_OUT_OF_RANGE. Returns the
   * earliest offset after the call.
   */
  deleteRecordsBefore(topic: string, partition: number, offset: number): number {
    return this.partition(topic, partition).deleteRecordsBefore(offset)
  }

  // ---- reading ---------------------------------------------------------------------------

  /** Whole batches from `offset`, waiting up to `maxWaitMs` for data when there is none yet. */
  async fetch(
    topic: string,
    partition: number,
    offset: number,
    opts: FetchOptions = {},
  ): Promise<FetchResult> {
    const p = this.partition(topic, partition)
    const isolation = opts.isolation ?? 'read_uncommitted'
    await p.waitForData(offset, isolation, opts.maxWaitMs ?? 0, opts.signal)
    return p.fetch(offset, opts.maxBytes ?? DEFAULT_FETCH_BYTES, isolation)
  }

  /** Decoded records from `offset`, as a consumer sees them. */
  async read(
    topic: string,
    partition: number,
    offset: number,
    opts: FetchOptions = {},
  ): Promise<{ records: LogRecord[]; nextOffset: number; highWatermark: number; lastStableOffset: number }> {
    const fetched = await this.fetch(topic, partition, offset, opts)
    const records: LogRecord[] = []
    const nextOffset = decodeFetched(fetched, topic, partition, offset, records)
    return {
      records,
      nextOffset,
      highWatermark: fetched.highWatermark,
      lastStableOffset: fetched.lastStableOffset,
    }
  }

  earliestOffset(topic: string, partition: number): number {
    return this.partition(topic, partition).logStartOffset
  }

  latestOffset(topic: string, partition: number, isolation: IsolationLevel = 'read_uncommitted'): number {
    return this.partition(topic, partition).endOffsetFor(isolation)
  }

  /** The first offset with a timestamp at or after `timestamp`; the latest offset when none is. */
  offsetForTimestamp(topic: string, partition: number, timestamp: number): number {
    const p = this.partition(topic, partition)
    return p.offsetForTimestamp(timestamp)?.offset ?? p.highWatermark
  }

  // ---- background work -------------------------------------------------------------------

  /** Registers work for the maintenance pass (retention is built in). */
  addMaintenanceTask(task: (nowMs: number) => void): void {
    this.maintenanceTasks.push(task)
  }

  /** Applies retention (and registered tasks such as compaction) once, now. */
  maintain(): void {
    if (this.closed) return
    const now = this.clock.nowMs()
    for (const t of this.topics.values()) {
      for (const p of t.partitions) p.applyRetention(now)
    }
    for (const task of this.maintenanceTasks) task(now)
  }

  /** Compacts a compacted topic's partition (all of them by default) now; resolves when done. */
  compact(topic: string, partition?: number): Promise<CompactionResult[]> {
    try {
      const t = this.topic(topic)
      if (!t.config.compact) {
        throw new EddyError(
          'INVALID_ARGUMENT',
          `topic ${topic} is not compacted: create it with compact: true`,
        )
      }
      return this.compactor.compact(
        partition === undefined ? t.partitions : [this.partition(topic, partition)],
      )
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** All partitions of all topics, for background jobs. */
  allPartitions(): PartitionLog[] {
    const out: PartitionLog[] = []
    for (const t of this.topics.values()) out.push(...t.partitions)
    return out
  }

  async flushAll(): Promise<void> {
    const pending: Promise<void>[] = []
    for (const t of this.topics.values()) {
      for (const p of t.partitions) if (p.hasUnflushed) pending.push(p.flush())
    }
    await Promise.all(pending)
  }

  private checkOpen(): void {
    if (this.closed) throw new EddyError('LOG_CLOSED', `the log in ${this.dir} is closed`)
  }

  async close(): Promise<void> {
    if (this.closed) return
    if (this.intervalFlushTimer) clearInterval(this.intervalFlushTimer)
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer)
    await this.compactor.close()
    await this.transactions.close()
    this.groups.close()
    const partitions = this.allPartitions()
    await Promise.all(partitions.map((p) => p.close()))
    this.closed = true
    this.lock.release()
  }
}
