// The embedded transport: the processor reads and writes the in-process log directly.
import type { EventLog } from '../log/event-log.js'
import { SoloMembership } from './solo-group.js'
import { checkPartitions, notCompacted, partitionCountMismatch } from './topic-checks.js'
import type {
  FetchedRecords,
  GroupJoinOptions,
  GroupMembership,
  TopicPartitionOffset,
  TopicSpec,
  Transport,
  TransportProducer,
} from './transport.js'

export class EmbeddedTransport implements Transport {
  readonly kind = 'embedded'

  /** `ownsLog`: close the log when the transport closes. */
  constructor(
    readonly log: EventLog,
    private readonly ownsLog = false,
  ) {}

  async ensureTopic(topic: string, spec: TopicSpec): Promise<number> {
    checkPartitions(topic, spec.partitions)
    if (!this.log.hasTopic(topic)) {
      const retentionMs = spec.retentionMs !== undefined ? spec.retentionMs : spec.compact ? null : undefined
      this.log.createTopic(topic, {
        partitions: spec.partitions,
        compact: spec.compact ?? false,
        ...(retentionMs === undefined ? {} : { retentionMs }),
      })
      return spec.partitions
    }
    const d = this.log.describeTopic(topic)
    if (d.partitions.length !== spec.partitions) {
      throw partitionCountMismatch(topic, d.partitions.length, spec.partitions)
    }
    if (spec.compact && !d.config.compact) throw notCompacted(topic)
    return d.partitions.length
  }

  async partitionCount(topic: string): Promise<number | null> {
    return this.log.hasTopic(topic) ? this.log.partitionCount(topic) : null
  }

  async fetch(
    topic: string,
    partition: number,
    offset: number,
    opts: {
      maxBytes?: number
      maxWaitMs?: number
      isolation: 'read_committed' | 'read_uncommitted'
      signal?: AbortSignal
    },
  ): Promise<FetchedRecords> {
    const r = await this.log.read(topic, partition, offset, opts)
    return {
      records: r.records,
      nextOffset: r.nextOffset,
      highWatermark: opts.isolation === 'read_committed' ? r.lastStableOffset : r.highWatermark,
    }
  }

  async earliestOffset(topic: string, partition: number): Promise<number> {
    return this.log.earliestOffset(topic, partition)
  }

  async latestOffset(
    topic: string,
    partition: number,
    isolation: 'read_committed' | 'read_uncommitted',
  ): Promise<number> {
    return this.log.latestOffset(topic, partition, isolation)
  }

  async deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    return this.log.deleteRecordsBefore(topic, partition, offset)
  }

  async committedOffsets(
    group: string,
    partitions: readonly { topic: string; partition: number }[],
  ): Promise<TopicPartitionOffset[]> {
    const committed = new Map(
      this.log.groups.fetch(group, partitions).map((c) => [`${c.topic}\u0000${c.partition}`, c]),
    )
    // In the order asked.
    return partitions.map(({ topic, partition }) => {
      const c = committed.get(`${topic}\u0000${partition}`)
      return { topic, partition, offset: c?.offset ?? -1, metadata: c?.metadata ?? '' }
    })
  }

  /** No member generation: the embedded log's group has one member, which no rebalance can fence. */
  async commitOffsets(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    await this.log.groups.commit(group, offsets)
  }

  async producer(opts: { transactionalId?: string }): Promise<TransportProducer> {
    const p = await this.log.producer(opts.transactionalId ? { transactionalId: opts.transactionalId } : {})
    return {
      send: async (topic, partition, records) => {
        await p.send(topic, partition, records)
      },
      beginTransaction: () => p.beginTransaction(),
      sendOffsets: (group, offsets) => p.sendOffsets(group, offsets),
      commitTransaction: () => p.commitTransaction(),
      abortTransaction: () => p.abortTransaction(),
      close: () => p.close(),
    }
  }

  joinGroup(opts: GroupJoinOptions): GroupMembership {
    return new SoloMembership(opts)
  }

  async close(): Promise<void> {
    if (this.ownsLog) await this.log.close()
  }
}
