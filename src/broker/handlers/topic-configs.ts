// Topic configs in Kafka's names and formats, both ways: CreateTopics reads them into a
// TopicConfig, DescribeConfigs writes a TopicConfig out as them.
import { limits } from '../../core/limits.js'
import { defaultTopicConfig } from '../../log/event-log.js'
import type { TopicConfig } from '../../log/types.js'

/** Kafka's ConfigType (DescribeConfigs v3+). */
const CONFIG_TYPE = { BOOLEAN: 1, STRING: 2, INT: 3, LONG: 5, LIST: 7 } as const

/** Kafka's ConfigSource (DescribeConfigs v1+). */
export const CONFIG_SOURCE = { TOPIC: 1, STATIC_BROKER: 4, DEFAULT: 5 } as const

export interface KafkaConfigEntry {
  readonly name: string
  readonly value: string
  readonly type: number
  readonly readOnly: boolean
  readonly source: number
}

/** Kafka topic configs Eddy has no use for but accepts, so tools that always send them work. */
const IGNORED_TOPIC_CONFIGS: ReadonlySet<string> = new Set([
  'min.insync.replicas',
  'max.message.bytes',
  'unclean.leader.election.enable',
  'min.cleanable.dirty.ratio',
  'min.compaction.lag.ms',
  'max.compaction.lag.ms',
  'file.delete.delay.ms',
  'flush.messages',
  'flush.ms',
  'index.interval.bytes',
  'preallocate',
  'segment.index.bytes',
  'segment.jitter.ms',
  'message.downconversion.enable',
  'message.format.version',
  'message.timestamp.difference.max.ms',
  'message.timestamp.before.max.ms',
  'message.timestamp.after.max.ms',
  'follower.replication.throttled.replicas',
  'leader.replication.throttled.replicas',
  'local.retention.ms',
  'local.retention.bytes',
  'remote.storage.enable',
])

/** Configs Eddy has but cannot change: accepted at their one value only. */
const FIXED_TOPIC_CONFIGS: ReadonlyMap<string, string> = new Map([
  ['compression.type', 'producer'],
  ['message.timestamp.type', 'CreateTime'],
])

function parseLong(name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new TopicConfigError(`${name} must be an integer from ${min} to ${max}, got '${value}'`)
  }
  return n
}

export class TopicConfigError extends Error {
  override readonly name = 'TopicConfigError'
}

/**
 * A TopicConfig (without partitions) from Kafka topic configs; throws TopicConfigError for an
 * unknown name or a bad value. `cleanup.policy=compact` alone turns retention off, as in Kafka.
 */
export function topicConfigFromKafka(
  entries: readonly { readonly name: string; readonly value: string | null }[],
): Partial<TopicConfig> {
  const out: { -readonly [K in keyof TopicConfig]?: TopicConfig[K] } = {}
  let policy: string | null = null
  for (const { name, value } of entries) {
    if (value === null) continue // null: the default
    switch (name) {
      case 'cleanup.policy': {
        const parts = value.split(',').map((s) => s.trim())
        if (parts.length === 0 || parts.some((p) => p !== 'compact' && p !== 'delete')) {
          throw new TopicConfigError(
            `cleanup.policy must be delete, compact or compact,delete, got '${value}'`,
          )
        }
        policy = parts.includes('compact')
          ? parts.includes('delete')
            ? 'compact,delete'
            : 'compact'
          : 'delete'
        break
      }
      case 'retention.ms': {
        const n = parseLong(name, value, -1)
        out.retentionMs = n === -1 ? null : n
        break
      }
      case 'retention.bytes': {
        const n = parseLong(name, value, -1)
        out.retentionBytes = n === -1 ? null : n
        break
      }
      case 'segment.bytes':
        out.segmentBytes = parseLong(name, value, limits.segmentBytesMin, limits.segmentBytesMax)
        break
      case 'segment.ms':
        out.segmentMs = parseLong(name, value, 1)
        break
      case 'delete.retention.ms':
        out.deleteRetentionMs = parseLong(name, value, 0)
        break
      default: {
        const fixed = FIXED_TOPIC_CONFIGS.get(name)
        if (fixed !== undefined) {
          if (value !== fixed)
            throw new TopicConfigError(`${name} can only be '${fixed}' on Eddy, got '${value}'`)
        } else if (!IGNORED_TOPIC_CONFIGS.has(name)) {
          throw new TopicConfigError(`unknown topic config '${name}'`)
        }
      }
    }
  }
  if (policy !== null) {
    out.compact = policy !== 'delete'
    if (policy === 'compact') {
      out.retentionMs = null
      out.retentionBytes = null
    }
  }
  return out
}

function cleanupPolicy(c: TopicConfig): string {
  if (!c.compact) return 'delete'
  return c.retentionMs === null && c.retentionBytes === null ? 'compact' : 'compact,delete'
}

/** A topic's configs in Kafka's names, the defaults marked as such. */
export function kafkaTopicConfigs(c: TopicConfig): KafkaConfigEntry[] {
  const d = defaultTopicConfig
  const entry = (name: string, value: string, dflt: string, type: number): KafkaConfigEntry => ({
    name,
    value,
    type,
    readOnly: false,
    source: value === dflt ? CONFIG_SOURCE.DEFAULT : CONFIG_SOURCE.TOPIC,
  })
  const fixed = (name: string, value: string, type: number): KafkaConfigEntry => ({
    name,
    value,
    type,
    readOnly: true,
    source: CONFIG_SOURCE.DEFAULT,
  })
  const orMinus1 = (n: number | null) => String(n ?? -1)
  return [
    entry('cleanup.policy', cleanupPolicy(c), cleanupPolicy(d), CONFIG_TYPE.LIST),
    entry('retention.ms', orMinus1(c.retentionMs), orMinus1(d.retentionMs), CONFIG_TYPE.LONG),
    entry('retention.bytes', orMinus1(c.retentionBytes), orMinus1(d.retentionBytes), CONFIG_TYPE.LONG),
    entry('segment.bytes', String(c.segmentBytes), String(d.segmentBytes), CONFIG_TYPE.INT),
    entry('segment.ms', String(c.segmentMs), String(d.segmentMs), CONFIG_TYPE.LONG),
    entry('delete.retention.ms', String(c.deleteRetentionMs), String(d.deleteRetentionMs), CONFIG_TYPE.LONG),
    fixed('compression.type', 'producer', CONFIG_TYPE.STRING),
    fixed('message.timestamp.type', 'CreateTime', CONFIG_TYPE.STRING),
    fixed('max.message.bytes', String(limits.batchBytesMax), CONFIG_TYPE.INT),
    fixed('min.insync.replicas', '1', CONFIG_TYPE.INT),
  ]
}

/** The few broker configs clients and UIs ask about; all fixed. */
export function kafkaBrokerConfigs(b: {
  readonly nodeId: number
  readonly autoCreateTopics: boolean
  readonly defaultPartitions: number
}): KafkaConfigEntry[] {
  const fixed = (name: string, value: string, type: number): KafkaConfigEntry => ({
    name,
    value,
    type,
    readOnly: true,
    source: CONFIG_SOURCE.STATIC_BROKER,
  })
  return [
    fixed('broker.id', String(b.nodeId), CONFIG_TYPE.INT),
    fixed('auto.create.topics.enable', String(b.autoCreateTopics), CONFIG_TYPE.BOOLEAN),
    fixed('num.partitions', String(b.defaultPartitions), CONFIG_TYPE.INT),
    fixed('default.replication.factor', '1', CONFIG_TYPE.INT),
    fixed('offsets.topic.replication.factor', '1', CONFIG_TYPE.INT),
    fixed('transaction.state.log.replication.factor', '1', CONFIG_TYPE.INT),
    fixed('transaction.state.log.min.isr', '1', CONFIG_TYPE.INT),
    fixed('message.max.bytes', String(limits.batchBytesMax), CONFIG_TYPE.INT),
    fixed('socket.request.max.bytes', String(limits.frameBytesMax), CONFIG_TYPE.INT),
    fixed('max.connections', String(limits.connectionsMax), CONFIG_TYPE.INT),
  ]
}
