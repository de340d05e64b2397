// InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit: Kafka's
// transaction APIs over the log's TransactionCoordinator, which does the fencing by epoch, the
// two-phase completion and the timeouts.
import { KafkaErrors } from '../../protocol/index.js'
import type { ApiHandler, RequestContext } from './context.js'
import { errorCodeFor } from './context.js'
import { commitPartitions } from './offsets.js'

type TopicPartitions = readonly { readonly name: string; readonly partitions: readonly number[] }[]

function partitionResults(topics: TopicPartitions, codeOf: (topic: string, partition: number) => number) {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((p) => ({
      partitionIndex: p,
      partitionErrorCode: codeOf(t.name, p),
    })),
  }))
}

/** Why a partition cannot join a transaction, or NONE. */
function partitionProblem(topic: string, partition: number, ctx: RequestContext): number {
  const { log } = ctx.broker
  if (!log.hasTopic(topic) || partition < 0 || partition >= log.partitionCount(topic)) {
    return KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION
  }
  if (log.describeTopic(topic).config.internal) return KafkaErrors.INVALID_TOPIC_EXCEPTION
  return KafkaErrors.NONE
}

interface TxnPartitionsInput {
  readonly transactionalId: string
  readonly producerId: number
  readonly producerEpoch: number
  readonly verifyOnly: boolean
  readonly topics: TopicPartitions
}

/** One transaction's AddPartitionsToTxn: all partitions added, or none (the others OPERATION_NOT_ATTEMPTED). */
async function addPartitions(t: TxnPartitionsInput, ctx: RequestContext) {
  const { log } = ctx.broker
  const problems = new Map<string, number>()
  for (const topic of t.topics) {
    for (const p of topic.partitions) {
      const code = partitionProblem(topic.name, p, ctx)
      if (code !== KafkaErrors.NONE) problems.set(`${topic.name}\u0000${p}`, code)
    }
  }
  if (problems.size > 0) {
    return partitionResults(
      t.topics,
      (topic, p) => problems.get(`${topic}\u0000${p}`) ?? KafkaErrors.OPERATION_NOT_ATTEMPTED,
    )
  }
  if (t.verifyOnly) {
    // KIP-890 verification: is each partition already part of the open transaction?
    const txn = log.transactions.describeTransaction(t.transactionalId)
    const open =
      txn !== null &&
      txn.state === 'Ongoing' &&
      txn.producerId === t.producerId &&
      txn.producerEpoch === t.producerEpoch
    return partitionResults(t.topics, (topic, p) =>
      open && txn.partitions.some((tp) => tp.topic === topic && tp.partition === p)
        ? KafkaErrors.NONE
        : KafkaErrors.INVALID_TXN_STATE,
    )
  }
  let code: number = KafkaErrors.NONE
  try {
    await log.transactions.addPartitionsToTxn(
      t.transactionalId,
      t.producerId,
      t.producerEpoch,
      t.topics.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, partition }))),
    )
  } catch (err) {
    code = errorCodeFor(err, ctx)
  }
  return partitionResults(t.topics, () => code)
}

export const initProducerId: ApiHandler<'InitProducerId'> = {
  async handle(req, ctx) {
    const txns = ctx.broker.log.transactions
    const failed = (errorCode: number) => ({
      throttleTimeMs: 0,
      errorCode,
      producerId: -1,
      producerEpoch: -1,
    })
    try {
      if (req.transactionalId === null) {
        // Idempotence only: the timeout means nothing and clients send anything (often -1).
        const id = await txns.initProducerId()
        return { throttleTimeMs: 0, errorCode: KafkaErrors.NONE, ...id }
      }
      if (req.producerId >= 0) {
        // v3+ (KIP-360): a producer re-initialising says who it was; an older instance is fenced.
        const current = txns.describeTransaction(req.transactionalId)
        if (
          current !== null &&
          (current.producerId !== req.producerId || current.producerEpoch !== req.producerEpoch)
        ) {
          return failed(errorCodeForFenced(ctx))
        }
      }
      const id = await txns.initProducerId(req.transactionalId, req.transactionTimeoutMs)
      return { throttleTimeMs: 0, errorCode: KafkaErrors.NONE, ...id }
    } catch (err) {
      return failed(errorCodeFor(err, ctx))
    }
  },
  errorResponse(_req, code) {
    return { errorCode: code, producerId: -1, producerEpoch: -1 }
  },
}

function errorCodeForFenced(ctx: RequestContext): number {
  // PRODUCER_FENCED from InitProducerId v4; INVALID_PRODUCER_EPOCH before.
  return ctx.apiVersion >= 4 ? KafkaErrors.PRODUCER_FENCED : KafkaErrors.INVALID_PRODUCER_EPOCH
}

export const addPartitionsToTxn: ApiHandler<'AddPartitionsToTxn'> = {
  async handle(req, ctx) {
    if (ctx.apiVersion <= 3) {
      const resultsByTopicV3AndBelow = await addPartitions(
        {
          transactionalId: req.v3AndBelowTransactionalId,
          producerId: req.v3AndBelowProducerId,
          producerEpoch: req.v3AndBelowProducerEpoch,
          verifyOnly: false,
          topics: req.v3AndBelowTopics,
        },
        ctx,
      )
      return { throttleTimeMs: 0, resultsByTopicV3AndBelow }
    }
    const resultsByTransaction = []
    for (const t of req.transactions) {
      resultsByTransaction.push({
        transactionalId: t.transactionalId,
        topicResults: await addPartitions(t, ctx),
      })
    }
    return { throttleTimeMs: 0, errorCode: KafkaErrors.NONE, resultsByTransaction }
  },
  errorResponse(req, code, ctx) {
    if (ctx.apiVersion <= 3)
      return { resultsByTopicV3AndBelow: partitionResults(req.v3AndBelowTopics, () => code) }
    return { errorCode: code, resultsByTransaction: [] }
  },
}

export const addOffsetsToTxn: ApiHandler<'AddOffsetsToTxn'> = {
  async handle(req, ctx) {
    try {
      await ctx.broker.log.transactions.addOffsetsToTxn(
        req.transactionalId,
        req.producerId,
        req.producerEpoch,
        req.groupId,
      )
      return { throttleTimeMs: 0, errorCode: KafkaErrors.NONE }
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: errorCodeFor(err, ctx) }
    }
  },
  errorResponse(_req, code) {
    return { errorCode: code }
  },
}

export const endTxn: ApiHandler<'EndTxn'> = {
  async handle(req, ctx) {
    try {
      await ctx.broker.log.transactions.endTxn(
        req.transactionalId,
        req.producerId,
        req.producerEpoch,
        req.committed,
      )
      return { throttleTimeMs: 0, errorCode: KafkaErrors.NONE }
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: errorCodeFor(err, ctx) }
    }
  },
  errorResponse(_req, code) {
    return { errorCode: code }
  },
}

export const txnOffsetCommit: ApiHandler<'TxnOffsetCommit'> = {
  async handle(req, ctx) {
    const fail = (errorCode: number) => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
      })),
    })
    if (req.groupId === '') return fail(KafkaErrors.INVALID_GROUP_ID)
    // v3+ (KIP-447) carries the member's generation: a zombie of an old generation is fenced.
    if (ctx.apiVersion >= 3 && req.generationId >= 0 && ctx.broker.groups !== undefined) {
      const check = ctx.broker.groups.validateOffsetCommit(req.groupId, req.memberId, req.generationId)
      if (check !== KafkaErrors.NONE) return fail(check)
    }
    const topics = await commitPartitions(req.topics, ctx, (offsets) =>
      ctx.broker.log.transactions.txnOffsetCommit(
        req.transactionalId,
        req.groupId,
        req.producerId,
        req.producerEpoch,
        offsets,
      ),
    )
    return { throttleTimeMs: 0, topics }
  },
  errorResponse(req, code) {
    return {
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })),
      })),
    }
  },
}
