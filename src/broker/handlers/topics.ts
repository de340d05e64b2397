// CreateTopics, DeleteTopics and DescribeConfigs: topic administration over the log.
import { limits } from '../../core/limits.js'
import { validateTopicName } from '../../core/topic-name.js'
import { defaultTopicConfig } from '../../log/event-log.js'
import type { TopicConfig } from '../../log/types.js'
import { KafkaErrors, UUID_ZERO } from '../../protocol/index.js'
import type { ApiHandler, RequestContext } from './context.js'
import { errorCodeFor, errorMessageOf } from './context.js'
import {
  kafkaBrokerConfigs,
  kafkaTopicConfigs,
  TopicConfigError,
  topicConfigFromKafka,
} from './topic-configs.js'

/** DescribeConfigs resource types. */
const RESOURCE_TOPIC = 2
const RESOURCE_BROKER = 4

type CreateResult = {
  name: string
  topicId?: string
  errorCode: number
  errorMessage: string | null
  numPartitions?: number
  replicationFactor?: number
  configs?: { name: string; value: string; readOnly: boolean; configSource: number; isSensitive: boolean }[]
}

interface CreateRequestTopic {
  readonly name: string
  readonly numPartitions: number
  readonly replicationFactor: number
  readonly assignments: readonly { readonly partitionIndex: number; readonly brokerIds: readonly number[] }[]
  readonly configs: readonly { readonly name: string; readonly value: string | null }[]
}

function failure(name: string, errorCode: number, errorMessage: string): CreateResult {
  return { name, errorCode, errorMessage }
}

/** Checks a CreateTopics entry and turns it into a TopicConfig, or says why not. */
function plan(t: CreateRequestTopic, ctx: RequestContext): Partial<TopicConfig> | CreateResult {
  const { log, nodeId, defaultPartitions } = ctx.broker
  try {
    validateTopicName(t.name)
  } catch (err) {
    return failure(t.name, KafkaErrors.INVALID_TOPIC_EXCEPTION, errorMessageOf(err))
  }
  if (t.name.startsWith('__')) {
    return failure(
      t.name,
      KafkaErrors.INVALID_TOPIC_EXCEPTION,
      `topic name ${t.name} starts with "__", which is reserved for internal topics: choose another name`,
    )
  }
  if (log.hasTopic(t.name)) {
    return failure(t.name, KafkaErrors.TOPIC_ALREADY_EXISTS, `topic ${t.name} already exists`)
  }
  if (t.replicationFactor !== -1 && t.replicationFactor !== 1 && t.assignments.length === 0) {
    return failure(
      t.name,
      KafkaErrors.INVALID_REPLICATION_FACTOR,
      `replication factor ${t.replicationFactor}: an Eddy broker is a single node, so only 1 (or -1) is possible`,
    )
  }
  let partitions = t.numPartitions === -1 ? defaultPartitions : t.numPartitions
  if (t.assignments.length > 0) {
    const indexes = t.assignments.map((a) => a.partitionIndex).sort((a, b) => a - b)
    const contiguous = indexes.every((p, i) => p === i)
    const local = t.assignments.every((a) => a.brokerIds.length === 1 && a.brokerIds[0] === nodeId)
    if (t.numPartitions !== -1 || !contiguous || !local) {
      return failure(
        t.name,
        KafkaErrors.INVALID_REPLICA_ASSIGNMENT,
        `a manual assignment must give partitions 0..n-1 each to broker ${nodeId} alone, with numPartitions -1`,
      )
    }
    partitions = indexes.length
  }
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > limits.partitionsMax) {
    return failure(
      t.name,
      KafkaErrors.INVALID_PARTITIONS,
      `number of partitions must be from 1 to ${limits.partitionsMax}, got ${partitions}`,
    )
  }
  try {
    return { ...topicConfigFromKafka(t.configs), partitions }
  } catch (err) {
    if (!(err instanceof TopicConfigError)) throw err
    return failure(t.name, KafkaErrors.INVALID_CONFIG, `topic ${t.name}: ${err.message}`)
  }
}

export const createTopics: ApiHandler<'CreateTopics'> = {
  handle(req, ctx) {
    const { log } = ctx.broker
    const counts = new Map<string, number>()
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1)
    const topics = req.topics.map((t): CreateResult => {
      if (counts.get(t.name)! > 1) {
        return failure(t.name, KafkaErrors.INVALID_REQUEST, `topic ${t.name} is named more than once`)
      }
      const config = plan(t, ctx)
      if ('errorCode' in config) return config
      let created: TopicConfig
      let topicId = UUID_ZERO
      if (req.validateOnly) {
        created = { ...defaultTopicConfig, ...config }
      } else {
        try {
          created = log.createTopic(t.name, config).config
          topicId = log.topicId(t.name)
        } catch (err) {
          return failure(t.name, errorCodeFor(err, ctx), errorMessageOf(err))
        }
        ctx.broker.logger.info(`created topic ${t.name} with ${created.partitions} partition(s)`)
      }
      return {
        name: t.name,
        topicId,
        errorCode: KafkaErrors.NONE,
        errorMessage: null,
        numPartitions: created.partitions,
        replicationFactor: 1,
        configs: kafkaTopicConfigs(created).map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          configSource: c.source,
          isSensitive: false,
        })),
      }
    })
    return { throttleTimeMs: 0, topics }
  },
  errorResponse(req, code) {
    return { topics: req.topics.map((t) => ({ name: t.name, errorCode: code, errorMessage: null })) }
  },
}

export const deleteTopics: ApiHandler<'DeleteTopics'> = {
  handle(req, ctx) {
    const { log } = ctx.broker
    const wanted: { name: string | null; topicId: string }[] =
      ctx.apiVersion >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: UUID_ZERO }))
    const responses = wanted.map((t) => {
      let name = t.name
      if (name === null) name = topicNameById(ctx, t.topicId)
      if (name === null) {
        return { name: null, topicId: t.topicId, errorCode: KafkaErrors.UNKNOWN_TOPIC_ID, errorMessage: null }
      }
      const topicId = log.hasTopic(name) ? log.topicId(name) : t.topicId
      try {
        if (log.hasTopic(name) && log.describeTopic(name).config.internal) {
          return {
            name,
            topicId,
            errorCode: KafkaErrors.INVALID_TOPIC_EXCEPTION,
            errorMessage: `topic ${name} is internal to Eddy and cannot be deleted`,
          }
        }
        log.deleteTopic(name)
        ctx.broker.logger.info(`deleted topic ${name}`)
        return { name, topicId, errorCode: KafkaErrors.NONE, errorMessage: null }
      } catch (err) {
        return { name, topicId, errorCode: errorCodeFor(err, ctx), errorMessage: errorMessageOf(err) }
      }
    })
    return { throttleTimeMs: 0, responses }
  },
  errorResponse(req, code, ctx) {
    const names = ctx.apiVersion >= 6 ? req.topics.map((t) => t.name) : req.topicNames
    return { responses: names.map((name) => ({ name, errorCode: code })) }
  },
}

/** The name of the topic with this id, or null. */
export function topicNameById(ctx: RequestContext, topicId: string): string | null {
  const { log } = ctx.broker
  for (const name of log.listTopics({ internal: true })) if (log.topicId(name) === topicId) return name
  return null
}

export const describeConfigs: ApiHandler<'DescribeConfigs'> = {
  handle(req, ctx) {
    const { log, nodeId } = ctx.broker
    const results = req.resources.map((r) => {
      const base = { resourceType: r.resourceType, resourceName: r.resourceName }
      let entries: ReturnType<typeof kafkaTopicConfigs>
      if (r.resourceType === RESOURCE_TOPIC) {
        if (!log.hasTopic(r.resourceName)) {
          return {
            ...base,
            errorCode: KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: `topic ${r.resourceName} does not exist`,
            configs: [],
          }
        }
        entries = kafkaTopicConfigs(log.describeTopic(r.resourceName).config)
      } else if (r.resourceType === RESOURCE_BROKER) {
        if (r.resourceName !== '' && r.resourceName !== String(nodeId)) {
          return {
            ...base,
            errorCode: KafkaErrors.INVALID_REQUEST,
            errorMessage: `this broker is node ${nodeId}, not ${r.resourceName}`,
            configs: [],
          }
        }
        entries = kafkaBrokerConfigs(ctx.broker)
      } else {
        return {
          ...base,
          errorCode: KafkaErrors.INVALID_REQUEST,
          errorMessage: `resource type ${r.resourceType} is not supported: describe a topic (2) or the broker (4)`,
          configs: [],
        }
      }
      const keys = r.configurationKeys
      const chosen =
        keys === null || keys.length === 0 ? entries : entries.filter((e) => keys.includes(e.name))
      return {
        ...base,
        errorCode: KafkaErrors.NONE,
        errorMessage: null,
        configs: chosen.map((e) => ({
          name: e.name,
          value: e.value,
          readOnly: e.readOnly,
          isDefault: e.source === 5,
          configSource: e.source,
          isSensitive: false,
          synonyms: [],
          configType: e.type,
          documentation: null,
        })),
      }
    })
    return { throttleTimeMs: 0, results }
  },
  errorResponse(req, code) {
    return {
      results: req.resources.map((r) => ({
        errorCode: code,
        errorMessage: null,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: [],
      })),
    }
  },
}
