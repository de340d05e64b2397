// Consumer-group offsets, kept durably on the internal compacted topic `__consumer_offsets` and
// materialised in memory. The key is Kafka's offset-commit key (version, group, topic, partition),
// so compaction keeps exactly the latest commit per group and partition.
// Transactional commits (written by the transaction coordinator as a producer's transactional
// batch) stay pending until that producer's commit marker lands, and vanish on an abort marker.
import { EddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { LogRecord, RecordInput } from '../core/record.js'
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  type BatchHeader,
  CONTROL_COMMIT,
  controlTypeOf,
  decodeBatchRecords,
} from '../core/record-batch.js'
import { validateTopicName } from '../core/topic-name.js'
import type { EventLog } from './event-log.js'
import type { PartitionLog } from './partition-log.js'
import { forEachBatch } from './read-all.js'
import type { ProducerIdentity, TopicConfig, TopicPartition } from './types.js'

export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets'

export const consumerOffsetsTopicConfig: Partial<TopicConfig> = {
  partitions: 1,
  compact: true,
  internal: true,
  retentionMs: null,
  retentionBytes: null,
}

/** Kafka's offset-commit key schema version 1: int16 version, string group, string topic, int32 partition. */
const KEY_VERSION = 1

export interface OffsetCommitInput {
  readonly topic: string
  readonly partition: number
  /** The next offset the group will read (Kafka's convention). */
  readonly offset: number
  readonly metadata?: string
}

export interface CommittedOffset {
  readonly topic: string
  readonly partition: number
  /** -1 when the group has committed nothing for this partition. */
  readonly offset: number
  readonly metadata: string
  /** -1 when nothing is committed. */
  readonly commitTimestamp: number
}

interface OffsetKey {
  readonly group: string
  readonly topic: string
  readonly partition: number
}

interface OffsetValue {
  readonly offset: number
  readonly metadata: string
  readonly commitTimestamp: number
}

interface StoredOffset extends OffsetValue {
  readonly topic: string
  readonly partition: number
  /** Where the commit record is on `__consumer_offsets`: the newest record for a key wins. */
  readonly logOffset: number
}

interface PendingOffset {
  readonly key: OffsetKey
  readonly value: OffsetValue | null
  readonly logOffset: number
}

export function encodeOffsetKey(key: OffsetKey): Buffer {
  const group = Buffer.from(key.group, 'utf8')
  const topic = Buffer.from(key.topic, 'utf8')
  const buf = Buffer.alloc(2 + 2 + group.length + 2 + topic.length + 4)
  let p = buf.writeInt16BE(KEY_VERSION, 0)
  p = buf.writeInt16BE(group.length, p)
  p += group.copy(buf, p)
  p = buf.writeInt16BE(topic.length, p)
  p += topic.copy(buf, p)
  buf.writeInt32BE(key.partition, p)
  return buf
}

/** Decodes an offset-commit key; null for keys of another kind or version (skipped, not fatal). */
export function decodeOffsetKey(buf: Buffer): OffsetKey | null {
  try {
    const version = buf.readInt16BE(0)
    if (version !== 0 && version !== KEY_VERSION) return null
    let p = 2
    const groupLen = buf.readInt16BE(p)
    p += 2
    const group = buf.toString('utf8', p, p + groupLen)
    p += groupLen
    const topicLen = buf.readInt16BE(p)
    p += 2
    const topic = buf.toString('utf8', p, p + topicLen)
    p += topicLen
    const partition = buf.readInt32BE(p)
    if (p + 4 !== buf.length) return null
    return { group, topic, partition }
  } catch {
    return null
  }
}

function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

export class GroupOffsetStore {
  private readonly groups = new Map<string, Map<string, StoredOffset>>()
  /** Transactional commits awaiting their producer's marker, by producer id. */
  private readonly pending = new Map<number, PendingOffset[]>()
  private readonly partitionLog: PartitionLog
  private readonly previousOnAppend: PartitionLog['onAppend']
  private readonly hook: (buf: Buffer, at: number, header: BatchHeader) => void
  private closed = false

  private constructor(private readonly log: EventLog) {
    this.partitionLog = log.partition(CONSUMER_OFFSETS_TOPIC, 0)
    this.previousOnAppend = this.partitionLog.onAppend
    this.hook = (buf, at, header) => {
      this.previousOnAppend?.(buf, at, header)
      this.applyBatch(buf, at, header)
    }
  }

  /** Opens the store over `log`, creating `__consumer_offsets` if needed and reading it whole. */
  static open(log: EventLog): GroupOffsetStore {
    if (!log.hasTopic(CONSUMER_OFFSETS_TOPIC))
      log.createTopic(CONSUMER_OFFSETS_TOPIC, consumerOffsetsTopicConfig)
    const store = new GroupOffsetStore(log)
    store.replay()
    store.partitionLog.onAppend = store.hook
    return store
  }

  /** Commits offsets for a group; resolves once they are durable by the log's fsync policy. */
  async commit(group: string, offsets: readonly OffsetCommitInput[]): Promise<void> {
    this.checkOpen()
    if (offsets.length === 0) return
    const records = this.commitRecords(group, offsets)
    await this.partitionLog.appendRecords(records)
  }

  /**
   * Appends a transactional offset commit of `producer` (the transaction coordinator's path):
   * it becomes visible when the producer's commit marker is written, and is dropped on abort.
   */
  async commitTransactional(
    group: string,
    producer: ProducerIdentity,
    offsets: readonly OffsetCommitInput[],
  ): Promise<void> {
    this.checkOpen()
    if (offsets.length === 0) return
    const records = this.commitRecords(group, offsets)
    await this.partitionLog.appendRecords(records, {
      producerId: producer.producerId,
      producerEpoch: producer.producerEpoch,
      baseSequence: -1,
      transactional: true,
    })
  }

  /**
   * Committed offsets of a group. With `topics` (topic names or single partitions), one entry per
   * asked partition (every partition of a named topic that exists), offset -1 where none is
   * committed; without, every partition the group has committed.
   */
  fetch(group: string, topics?: readonly (string | TopicPartition)[]): CommittedOffset[] {
    this.checkOpen()
    checkGroup(group)
    const committed = this.groups.get(group)
    const out: CommittedOffset[] = []
    const entry = (topic: string, partition: number): CommittedOffset => {
      const c = committed?.get(tpKey(topic, partition))
      return c === undefined
        ? { topic, partition, offset: -1, metadata: '', commitTimestamp: -1 }
        : { topic, partition, offset: c.offset, metadata: c.metadata, commitTimestamp: c.commitTimestamp }
    }
    if (topics === undefined) {
      for (const c of committed?.values() ?? []) out.push(entry(c.topic, c.partition))
    } else {
      const seen = new Set<string>()
      const add = (topic: string, partition: number) => {
        const k = tpKey(topic, partition)
        if (seen.has(k)) return
        seen.add(k)
        out.push(entry(topic, partition))
      }
      for (const t of topics) {
        if (typeof t !== 'string') {
          add(t.topic, t.partition)
        } else if (this.log.hasTopic(t)) {
          for (let p = 0; p < this.log.partitionCount(t); p++) add(t, p)
        } else {
          for (const c of committed?.values() ?? []) if (c.topic === t) add(t, c.partition)
        }
      }
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
  }

  /** Groups with at least one committed offset, sorted. */
  listGroups(): string[] {
    this.checkOpen()
    return [...this.groups.keys()].sort()
  }

  /**
   * Deletes every committed offset of a group (tombstones, which compaction later removes).
   * Resolves with how many partitions' offsets were deleted, once durable.
   */
  async deleteGroup(group: string): Promise<number> {
    this.checkOpen()
    checkGroup(group)
    const committed = this.groups.get(group)
    if (committed === undefined || committed.size === 0) return 0
    const records: RecordInput[] = [...committed.values()].map((c) => ({
      key: encodeOffsetKey({ group, topic: c.topic, partition: c.partition }),
      value: null,
    }))
    await this.partitionLog.appendRecords(records)
    return records.length
  }

  /** True when a transactional commit for the group is waiting for its marker (Kafka's "unstable" offsets). */
  hasPendingTransactionalOffsets(group: string): boolean {
    for (const list of this.pending.values()) if (list.some((p) => p.key.group === group)) return true
    return false
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.partitionLog.onAppend === this.hook) this.partitionLog.onAppend = this.previousOnAppend
  }

  // ---- internals -------------------------------------------------------------------------

  private commitRecords(group: string, offsets: readonly OffsetCommitInput[]): RecordInput[] {
    checkGroup(group)
    const now = this.log.clock.nowMs()
    return offsets.map((o) => {
      checkOffset(group, o)
      const value: OffsetValue = { offset: o.offset, metadata: o.metadata ?? '', commitTimestamp: now }
      return {
        key: encodeOffsetKey({ group, topic: o.topic, partition: o.partition }),
        value: Buffer.from(JSON.stringify(value)),
        timestamp: now,
      }
    })
  }

  /** Reads the whole topic, as written (read_uncommitted), applying markers as it meets them. */
  private replay(): void {
    forEachBatch(this.partitionLog, (buf, at, header) => this.applyBatch(buf, at, header))
  }

  private applyBatch(buf: Buffer, at: number, header: BatchHeader): void {
    if ((header.attributes & ATTR_CONTROL) !== 0) {
      const list = this.pending.get(header.producerId)
      if (list === undefined) return
      this.pending.delete(header.producerId)
      if (controlTypeOf(buf, at, header) === CONTROL_COMMIT) for (const p of list) this.applyOffset(p)
      return
    }
    const records: LogRecord[] = []
    decodeBatchRecords(buf, at, header, CONSUMER_OFFSETS_TOPIC, 0, records)
    const transactional = (header.attributes & ATTR_TRANSACTIONAL) !== 0 && header.producerId >= 0
    for (const r of records) {
      const key = r.key === null ? null : decodeOffsetKey(r.key)
      if (key === null) continue
      const value = r.value === null ? null : parseValue(r.value)
      if (value === undefined) continue // not a value this version understands: skip it, keep the rest
      const p: PendingOffset = { key, value, logOffset: r.offset }
      if (!transactional) {
        this.applyOffset(p)
        continue
      }
      let list = this.pending.get(header.producerId)
      if (list === undefined) {
        list = []
        this.pending.set(header.producerId, list)
      }
      list.push(p)
    }
  }

  private applyOffset(p: PendingOffset): void {
    const { group, topic, partition } = p.key
    const k = tpKey(topic, partition)
    let committed = this.groups.get(group)
    const current = committed?.get(k)
    // A commit that landed after this one (by log position) wins, as compaction would decide.
    if (current !== undefined && current.logOffset > p.logOffset) return
    if (p.value === null) {
      if (committed === undefined) return
      committed.delete(k)
      if (committed.size === 0) this.groups.delete(group)
      return
    }
    if (committed === undefined) {
      committed = new Map()
      this.groups.set(group, committed)
    }
    committed.set(k, { topic, partition, ...p.value, logOffset: p.logOffset })
  }

  private checkOpen(): void {
    if (this.closed) throw new EddyError('LOG_CLOSED', 'the group offset store is closed: reopen the log')
  }
}

function parseValue(buf: Buffer): OffsetValue | undefined {
  try {
    const v = JSON.parse(buf.toString('utf8')) as Partial<OffsetValue>
    if (typeof v.offset !== 'number') return undefined
    return {
      offset: v.offset,
      metadata: typeof v.metadata === 'string' ? v.metadata : '',
      commitTimestamp: typeof v.commitTimestamp === 'number' ? v.commitTimestamp : -1,
    }
  } catch {
    return undefined
  }
}

function checkGroup(group: string): void {
  if (typeof group !== 'string' || group.length === 0) {
    throw new EddyError('INVALID_ARGUMENT', 'consumer group id is empty: give the group a name')
  }
  if (Buffer.byteLength(group) > 32767) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `consumer group id "${group.slice(0, 40)}…" is longer than 32767 bytes`,
    )
  }
}

function checkOffset(group: string, o: OffsetCommitInput): void {
  validateTopicName(o.topic)
  const where = `group ${group}, ${o.topic}-${o.partition}`
  if (!Number.isInteger(o.partition) || o.partition < 0) {
    throw new EddyError('INVALID_ARGUMENT', `${where}: partition must be an integer >= 0, got ${o.partition}`)
  }
  if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `${where}: committed offset must be an integer >= 0, got ${o.offset}`,
    )
  }
  if (o.metadata !== undefined && Buffer.byteLength(o.metadata) > limits.offsetMetadataBytesMax) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `${where}: offset metadata is ${Buffer.byteLength(o.metadata)} bytes; limits.offsetMetadataBytesMax is ${limits.offsetMetadataBytesMax}`,
    )
  }
}
