// Metadata: this node is the whole cluster, the leader and only replica of every partition.
import { validateTopicName } from '../../core/topic-name.js'
import { KafkaErrors, UUID_ZERO } from '../../protocol/index.js'
import type { ApiHandler, RequestContext } from './context.js'
import { errorCodeFor } from './context.js'
import { topicNameById } from './topics.js'

interface TopicRequest {
  readonly name: string | null
  readonly topicId: string
}

function describeTopic(name: string, ctx: RequestContext) {
  const { log, nodeId } = ctx.broker
  const d = log.describeTopic(name)
  return {
    errorCode: KafkaErrors.NONE,
    name,
    topicId: log.topicId(name),
    isInternal: d.config.internal,
    partitions: d.partitions.map((p) => ({
      errorCode: KafkaErrors.NONE,
      partitionIndex: p.partition,
      leaderId: nodeId,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    })),
  }
}

function unknownTopic(name: string | null, topicId: string, errorCode: number, ctx: RequestContext) {
  // Before v12 a topic name may not be null in the response.
  return { errorCode, name: name ?? (ctx.apiVersion >= 12 ? null : ''), topicId, partitions: [] }
}

function topicFor(t: TopicRequest, allowAutoCreate: boolean, ctx: RequestContext) {
  const { log, autoCreateTopics, defaultPartitions, logger } = ctx.broker
  if (t.name === null) {
    const name = topicNameById(ctx, t.topicId)
    return name === null
      ? unknownTopic(null, t.topicId, KafkaErrors.UNKNOWN_TOPIC_ID, ctx)
      : describeTopic(name, ctx)
  }
  if (log.hasTopic(t.name)) return describeTopic(t.name, ctx)
  try {
    validateTopicName(t.name)
  } catch (err) {
    return unknownTopic(t.name, UUID_ZERO, errorCodeFor(err, ctx), ctx)
  }
  if (!allowAutoCreate || !autoCreateTopics) {
    return unknownTopic(t.name, UUID_ZERO, KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION, ctx)
  }
  try {
    log.createTopic(t.name, { partitions: defaultPartitions })
  } catch (err) {
    return unknownTopic(t.name, UUID_ZERO, errorCodeFor(err, ctx), ctx)
  }
  logger.info(`auto-created topic ${t.name} with ${defaultPartitions} partition(s)`)
  return describeTopic(t.name, ctx)
}

function brokers(ctx: RequestContext) {
  return [
    { nodeId: ctx.broker.nodeId, host: ctx.connection.advertisedHost, port: ctx.broker.port, rack: null },
  ]
}

export const metadata: ApiHandler<'Metadata'> = {
  handle(req, ctx) {
    const { log, nodeId, clusterId } = ctx.broker
    // v0: an empty list means every topic; v1+: null does.
    const all = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0)
    // Before v4 there is no flag: such clients expect auto-creation where the broker allows it.
    const allowAutoCreate = ctx.apiVersion < 4 || req.allowAutoTopicCreation
    const topics = all
      ? log.listTopics({ internal: true }).map((name) => describeTopic(name, ctx))
      : (req.topics ?? []).map((t) => topicFor(t, allowAutoCreate, ctx))
    return { throttleTimeMs: 0, brokers: brokers(ctx), clusterId, controllerId: nodeId, topics }
  },
  errorResponse(req, code, ctx) {
    return {
      brokers: brokers(ctx),
      clusterId: ctx.broker.clusterId,
      controllerId: ctx.broker.nodeId,
      topics: (req.topics ?? []).map((t) => unknownTopic(t.name, t.topicId, code, ctx)),
    }
  },
}
