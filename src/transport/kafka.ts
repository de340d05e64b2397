// The Kafka transport: the processor's view of a log, over a Kafka cluster (Eddy's own broker,
// Apache Kafka, Redpanda). Same contract and semantics as the embedded transport.
//
// @example
// const transport = await KafkaTransport.connect({ brokers: ['127.0.0.1:9092'] })
// const n = await transport.ensureTopic('orders', { partitions: 3 })
// const { records } = await transport.fetch('orders', 0, 0, { isolation: 'read_committed', maxWaitMs: 500 })
// await transport.close()
import { EddyError } from '../core/errors.js'
import type { IsolationLevel } from '../log/types.js'
import { KafkaErrors } from '../protocol/index.js'
import {
  CoordinatorType,
  KafkaCluster,
  type KafkaClusterOptions,
  kafkaError,
  Retriable,
} from './kafka-cluster.js'
import { KafkaFetcher } from './kafka-fetcher.js'
import { commitGeneration, KafkaGroupMembership, offsetCommitError } from './kafka-group.js'
import { KafkaProducer } from './kafka-producer.js'
import { checkPartitions, notCompacted, partitionCountMismatch } from './topic-checks.js'
import type {
  FetchedRecords,
  GroupGeneration,
  GroupJoinOptions,
  GroupMembership,
  TopicPartitionOffset,
  TopicSpec,
  Transport,
  TransportProducer,
} from './transport.js'

export type { KafkaClusterOptions, KafkaSaslOptions } from './kafka-cluster.js'

export interface KafkaTransportOptions extends KafkaClusterOptions {
  /** Replicas of the topics Eddy creates; default -1, the cluster's default.replication.factor. */
  readonly replicationFactor?: number
  /** An open transaction older than this is aborted by the cluster. Default 60 s. */
  readonly transactionTimeoutMs?: number
}

const TOPIC_RESOURCE = 2

export class KafkaTransport implements Transport {
  readonly kind = 'kafka'
  private readonly fetcher: KafkaFetcher
  private readonly producers = new Set<KafkaProducer>()
  private readonly memberships = new Set<KafkaGroupMembership>()

  private constructor(
    private readonly cluster: KafkaCluster,
    private readonly opts: KafkaTransportOptions,
  ) {
    this.fetcher = new KafkaFetcher(cluster)
  }

  /** Connects to the cluster (one of `brokers`) and learns its API versions. */
  static async connect(opts: KafkaTransportOptions): Promise<KafkaTransport> {
    return new KafkaTransport(await KafkaCluster.connect(opts), opts)
  }

  async ensureTopic(topic: string, spec: TopicSpec): Promise<number> {
    checkPartitions(topic, spec.partitions)
    let t = await this.cluster.topic(topic, true)
    if (t === null) {
      if (await this.createTopic(topic, spec)) {
        await this.awaitLeaders(topic, spec.partitions)
        return spec.partitions
      }
      // Someone else created it meanwhile: check theirs.
      t = await this.cluster.retry(async () => {
        const created = await this.cluster.topic(topic, true)
        if (created === null)
          throw new Retriable('UNKNOWN_TOPIC', `topic ${topic} exists but is not in the metadata yet`)
        return created
      })
    }
    const partitions = t.leaders.length
    if (partitions !== spec.partitions) throw partitionCountMismatch(topic, partitions, spec.partitions)
    if (spec.compact && !(await this.isCompacted(topic))) throw notCompacted(topic)
    return partitions
  }

  async partitionCount(topic: string): Promise<number | null> {
    const t = await this.cluster.topic(topic, true)
    return t === null ? null : t.leaders.length
  }

  fetch(
    topic: string,
    partition: number,
    offset: number,
    opts: { maxBytes?: number; maxWaitMs?: number; isolation: IsolationLevel; signal?: AbortSignal },
  ): Promise<FetchedRecords> {
    return this.fetcher.fetch(topic, partition, offset, opts)
  }

  earliestOffset(topic: string, partition: number): Promise<number> {
    return this.listOffset(topic, partition, -2, 'read_uncommitted')
  }

  latestOffset(topic: string, partition: number, isolation: IsolationLevel): Promise<number> {
    return this.listOffset(topic, partition, -1, isolation)
  }

  async deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<number> {
    const where = `deleting records of ${topic}-${partition} before offset ${offset}`
    // Kafka reads -1 as the high watermark; the contract takes offsets only.
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new EddyError('OFFSET_OUT_OF_RANGE', `${where}: the offset must be 0 or more`)
    }
    const v = this.cluster.version('DeleteRecords')
    return this.cluster.retry(async () => {
      const node = await this.cluster.leaderOf(topic, partition)
      const res = await this.cluster.send(this.cluster.control, node, 'DeleteRecords', v, {
        topics: [{ name: topic, partitions: [{ partitionIndex: partition, offset }] }],
        timeoutMs: this.cluster.requestTimeoutMs,
      })
      return this.partitionAnswer(res.topics, topic, partition, where).lowWatermark
    })
  }

  async committedOffsets(
    group: string,
    partitions: readonly { topic: string; partition: number }[],
  ): Promise<TopicPartitionOffset[]> {
    if (partitions.length === 0) return []
    const v = this.cluster.version('OffsetFetch')
    const topics = [...groupByTopic(partitions)].map(([name, ps]) => ({ name, partitionIndexes: ps }))
    const found = await this.cluster.withCoordinator(CoordinatorType.Group, group, async (node) => {
      const res = await this.cluster.send(this.cluster.control, node, 'OffsetFetch', v, {
        groupId: group,
        topics,
        groups: [{ groupId: group, topics }],
        // Offsets a transaction has yet to commit are waited for (UNSTABLE_OFFSET_COMMIT is retried).
        requireStable: true,
      })
      const where = `committed offsets of group ${group}`
      const answer =
        v >= 8
          ? res.groups.find((g) => g.groupId === group)
          : { errorCode: res.errorCode, topics: res.topics }
      if (answer === undefined)
        throw new EddyError('KAFKA_ERROR', `${where}: the answer does not name the group`)
      if (answer.errorCode !== KafkaErrors.NONE) throw kafkaError(answer.errorCode, where)
      const out = new Map<string, { offset: number; metadata: string }>()
      for (const t of answer.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== KafkaErrors.NONE)
            throw kafkaError(p.errorCode, `${where}, ${t.name}-${p.partitionIndex}`)
          out.set(`${t.name}\u0000${p.partitionIndex}`, {
            offset: p.committedOffset,
            metadata: p.metadata ?? '',
          })
        }
      }
      return out
    })
    return partitions.map(({ topic, partition }) => {
      const c = found.get(`${topic}\u0000${partition}`)
      return { topic, partition, offset: c?.offset ?? -1, metadata: c?.metadata ?? '' }
    })
  }

  async commitOffsets(
    group: string,
    offsets: readonly TopicPartitionOffset[],
    member?: GroupGeneration,
  ): Promise<void> {
    if (offsets.length === 0) return
    const gen = commitGeneration(member)
    const v = this.cluster.version('OffsetCommit')
    const topics = [...groupByTopic(offsets)].map(([name]) => ({
      name,
      partitions: offsets
        .filter((o) => o.topic === name)
        .map((o) => ({
          partitionIndex: o.partition,
          committedOffset: o.offset,
          committedMetadata: o.metadata ?? '',
        })),
    }))
    await this.cluster.withCoordinator(CoordinatorType.Group, group, async (node) => {
      // Generation -1 and no member: a commit by a client that assigns itself its partitions.
      // With a member's generation, the coordinator refuses it once the group moved on.
      const res = await this.cluster.send(this.cluster.control, node, 'OffsetCommit', v, {
        groupId: group,
        generationIdOrMemberEpoch: gen?.generationId ?? -1,
        memberId: gen?.memberId ?? '',
        groupInstanceId: null,
        topics,
      })
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== KafkaErrors.NONE) {
            throw offsetCommitError(
              p.errorCode,
              `committing offsets of group ${group} for ${t.name}-${p.partitionIndex}`,
              group,
              gen ?? undefined,
            )
          }
        }
      }
    })
  }

  async producer(opts: { transactionalId?: string }): Promise<TransportProducer> {
    const p = await KafkaProducer.create(this.cluster, {
      ...(opts.transactionalId === undefined ? {} : { transactionalId: opts.transactionalId }),
      ...(this.opts.transactionTimeoutMs === undefined
        ? {}
        : { transactionTimeoutMs: this.opts.transactionTimeoutMs }),
    })
    this.producers.add(p)
    return {
      send: (topic, partition, records) => p.send(topic, partition, records),
      beginTransaction: () => p.beginTransaction(),
      sendOffsets: (group, offsets, member) => p.sendOffsets(group, offsets, member),
      commitTransaction: () => p.commitTransaction(),
      abortTransaction: () => p.abortTransaction(),
      close: async () => {
        this.producers.delete(p)
        await p.close()
      },
    }
  }

  joinGroup(opts: GroupJoinOptions): GroupMembership {
    if (this.cluster.isClosed) {
      throw new EddyError('LOG_CLOSED', 'the Kafka transport is closed: create a new one')
    }
    const m = new KafkaGroupMembership(this.cluster, opts, (done) => this.memberships.delete(done))
    this.memberships.add(m)
    return m
  }

  async close(): Promise<void> {
    if (this.cluster.isClosed) return
    // Heartbeats stop without a LeaveGroup: to the group this is a crash (leave() is the caller's).
    for (const m of [...this.memberships]) m.stop()
    this.fetcher.close()
    await Promise.allSettled([...this.producers].map((p) => p.close()))
    this.producers.clear()
    await this.cluster.close()
  }

  // ---- internals ---------------------------------------------------------------------------

  private async listOffset(
    topic: string,
    partition: number,
    timestamp: -1 | -2,
    isolation: IsolationLevel,
  ): Promise<number> {
    const v = this.cluster.version('ListOffsets')
    const where = `${timestamp === -2 ? 'earliest' : 'latest'} offset of ${topic}-${partition}`
    return this.cluster.retry(async () => {
      const node = await this.cluster.leaderOf(topic, partition)
      const res = await this.cluster.send(this.cluster.control, node, 'ListOffsets', v, {
        replicaId: -1,
        isolationLevel: isolation === 'read_committed' ? 1 : 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp }] }],
      })
      return this.partitionAnswer(res.topics, topic, partition, where).offset
    })
  }

  /** One partition's part of a per-partition answer; its error thrown (retriable ones refresh the metadata). */
  private partitionAnswer<P extends { partitionIndex: number; errorCode: number }>(
    topics: readonly { name: string; partitions: readonly P[] }[],
    topic: string,
    partition: number,
    where: string,
  ): P {
    const p = topics.find((t) => t.name === topic)?.partitions.find((x) => x.partitionIndex === partition)
    if (p === undefined) throw new Retriable('KAFKA_ERROR', `${where}: the answer leaves the partition out`)
    if (p.errorCode !== KafkaErrors.NONE) {
      throw kafkaError(p.errorCode, where, { invalidate: () => this.cluster.invalidateTopic(topic) })
    }
    return p
  }

  /** Creates the topic; false when it turned out to exist already. */
  private async createTopic(topic: string, spec: TopicSpec): Promise<boolean> {
    const v = this.cluster.version('CreateTopics')
    return this.cluster.retry(async () => {
      const res = await this.cluster.send(this.cluster.control, this.cluster.controller, 'CreateTopics', v, {
        topics: [
          {
            name: topic,
            numPartitions: spec.partitions,
            replicationFactor: this.opts.replicationFactor ?? -1,
            assignments: [],
            configs: topicConfigs(spec),
          },
        ],
        timeoutMs: this.cluster.requestTimeoutMs,
        validateOnly: false,
      })
      const t = res.topics.find((x) => x.name === topic)
      if (t === undefined)
        throw new EddyError('KAFKA_ERROR', `creating topic ${topic}: the answer does not name it`)
      if (t.errorCode === KafkaErrors.TOPIC_ALREADY_EXISTS) return false
      if (t.errorCode !== KafkaErrors.NONE) {
        throw kafkaError(t.errorCode, `creating topic ${topic} (${spec.partitions} partitions)`, {
          serverMessage: t.errorMessage,
        })
      }
      return true
    })
  }

  /** Waits until the cluster's metadata shows every partition of a new topic with a leader. */
  private awaitLeaders(topic: string, partitions: number): Promise<void> {
    return this.cluster.retry(async () => {
      const t = await this.cluster.topic(topic, true)
      if (t === null || t.leaders.length !== partitions || t.leaders.some((l) => l < 0)) {
        throw new Retriable(
          'UNKNOWN_TOPIC',
          `topic ${topic} was created but its partitions have no leaders yet`,
        )
      }
    })
  }

  private async isCompacted(topic: string): Promise<boolean> {
    const v = this.cluster.version('DescribeConfigs')
    const where = `configuration of topic ${topic}`
    return this.cluster.retry(async () => {
      const res = await this.cluster.send(this.cluster.control, null, 'DescribeConfigs', v, {
        resources: [
          { resourceType: TOPIC_RESOURCE, resourceName: topic, configurationKeys: ['cleanup.policy'] },
        ],
        includeSynonyms: false,
        includeDocumentation: false,
      })
      const r = res.results.find((x) => x.resourceName === topic)
      if (r === undefined) throw new EddyError('KAFKA_ERROR', `${where}: the answer does not name the topic`)
      if (r.errorCode !== KafkaErrors.NONE)
        throw kafkaError(r.errorCode, where, { serverMessage: r.errorMessage })
      const policy = r.configs.find((c) => c.name === 'cleanup.policy')?.value ?? 'delete'
      return policy.split(',').some((p) => p.trim() === 'compact')
    })
  }
}

/** A TopicSpec as Kafka topic configs: retention null is retention.ms -1 (keep forever). */
function topicConfigs(spec: TopicSpec): { name: string; value: string }[] {
  const configs: { name: string; value: string }[] = []
  if (spec.compact) {
    const timed = typeof spec.retentionMs === 'number'
    configs.push({ name: 'cleanup.policy', value: timed ? 'compact,delete' : 'compact' })
  }
  if (spec.retentionMs !== undefined)
    configs.push({ name: 'retention.ms', value: String(spec.retentionMs ?? -1) })
  return configs
}

function groupByTopic(partitions: readonly { topic: string; partition: number }[]): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const { topic, partition } of partitions) {
    const list = out.get(topic)
    if (list === undefined) out.set(topic, [partition])
    else if (!list.includes(partition)) list.push(partition)
  }
  return out
}
