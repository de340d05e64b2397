// OffsetCommit and OffsetFetch: consumer-group offsets on the log's group-offset store; who may
// commit is the group coordinator's call.
import { limits } from '../../core/limits.js'
import type { CommittedOffset, OffsetCommitInput } from '../../log/group-offsets.js'
import { KafkaErrors } from '../../protocol/index.js'
import type { ApiHandler, RequestContext } from './context.js'
import { errorCodeFor } from './context.js'

interface CommitPartition {
  readonly partitionIndex: number
  readonly committedOffset: number
  readonly committedMetadata: string | null
}

/** NONE when the log would take this commit, else the Kafka error for the partition. */
export function checkCommit(topic: string, p: CommitPartition, ctx: RequestContext): number {
  const { log } = ctx.broker
  if (!log.hasTopic(topic) || p.partitionIndex < 0 || p.partitionIndex >= log.partitionCount(topic)) {
    return KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION
  }
  if (
    p.committedMetadata !== null &&
    Buffer.byteLength(p.committedMetadata) > limits.offsetMetadataBytesMax
  ) {
    return KafkaErrors.OFFSET_METADATA_TOO_LARGE
  }
  if (!Number.isSafeInteger(p.committedOffset) || p.committedOffset < 0) return KafkaErrors.INVALID_REQUEST
  return KafkaErrors.NONE
}

export function commitInput(topic: string, p: CommitPartition): OffsetCommitInput {
  return {
    topic,
    partition: p.partitionIndex,
    offset: p.committedOffset,
    ...(p.committedMetadata !== null ? { metadata: p.committedMetadata } : {}),
  }
}

type Topics = readonly { readonly name: string; readonly partitions: readonly CommitPartition[] }[]

/**
 * Commits the partitions that pass `checkCommit` with `commit`, in one write; returns the error
 * code of every partition, in request order.
 */
export async function commitPartitions(
  topics: Topics,
  ctx: RequestContext,
  commit: (offsets: OffsetCommitInput[]) => Promise<void>,
): Promise<{ name: string; partitions: { partitionIndex: number; errorCode: number }[] }[]> {
  const results = topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({
      partitionIndex: p.partitionIndex,
      errorCode: checkCommit(t.name, p, ctx),
    })),
  }))
  const valid: OffsetCommitInput[] = []
  for (const [i, t] of topics.entries()) {
    for (const [j, p] of t.partitions.entries()) {
      if (results[i]!.partitions[j]!.errorCode === KafkaErrors.NONE) valid.push(commitInput(t.name, p))
    }
  }
  if (valid.length === 0) return results
  try {
    await commit(valid)
  } catch (err) {
    const code = errorCodeFor(err, ctx)
    for (const t of results)
      for (const p of t.partitions) if (p.errorCode === KafkaErrors.NONE) p.errorCode = code
  }
  return results
}

function allFailed(topics: Topics, errorCode: number) {
  return topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
  }))
}

export const offsetCommit: ApiHandler<'OffsetCommit'> = {
  async handle(req, ctx) {
    if (req.groupId === '')
      return { throttleTimeMs: 0, topics: allFailed(req.topics, KafkaErrors.INVALID_GROUP_ID) }
    const generation = ctx.apiVersion >= 1 ? req.generationIdOrMemberEpoch : -1
    const check =
      ctx.broker.groups?.validateOffsetCommit(req.groupId, req.memberId, generation) ?? KafkaErrors.NONE
    if (check !== KafkaErrors.NONE) return { throttleTimeMs: 0, topics: allFailed(req.topics, check) }
    const topics = await commitPartitions(req.topics, ctx, (offsets) =>
      ctx.broker.log.groups.commit(req.groupId, offsets),
    )
    return { throttleTimeMs: 0, topics }
  },
  errorResponse(req, code) {
    return { topics: allFailed(req.topics, code) }
  },
}

interface FetchWanted {
  readonly name: string
  readonly partitionIndexes: readonly number[]
}

/** A group's committed offsets, grouped by topic: the asked ones, or all committed when `topics` is null. */
function fetchGroup(
  groupId: string,
  topics: readonly FetchWanted[] | null,
  unstable: number,
  ctx: RequestContext,
) {
  const { log } = ctx.broker
  const offsets: CommittedOffset[] =
    topics === null
      ? log.groups.fetch(groupId)
      : log.groups.fetch(
          groupId,
          topics.flatMap((t) => t.partitionIndexes.map((partition) => ({ topic: t.name, partition }))),
        )
  const byTopic = new Map<string, CommittedOffset[]>()
  for (const o of offsets) {
    const list = byTopic.get(o.topic)
    if (list === undefined) byTopic.set(o.topic, [o])
    else list.push(o)
  }
  return [...byTopic].map(([name, list]) => ({
    name,
    partitions: list.map((o) => ({
      partitionIndex: o.partition,
      committedOffset: o.offset,
      committedLeaderEpoch: -1,
      metadata: o.metadata,
      errorCode: unstable,
    })),
  }))
}

/** UNSTABLE_OFFSET_COMMIT when the client asked for stable offsets and a transaction's are pending. */
function stability(groupId: string, requireStable: boolean, ctx: RequestContext): number {
  return requireStable && ctx.broker.log.groups.hasPendingTransactionalOffsets(groupId)
    ? KafkaErrors.UNSTABLE_OFFSET_COMMIT
    : KafkaErrors.NONE
}

export const offsetFetch: ApiHandler<'OffsetFetch'> = {
  handle(req, ctx) {
    if (ctx.apiVersion >= 8) {
      return {
        throttleTimeMs: 0,
        groups: req.groups.map((g) => {
          if (g.groupId === '')
            return { groupId: g.groupId, topics: [], errorCode: KafkaErrors.INVALID_GROUP_ID }
          const unstable = stability(g.groupId, req.requireStable, ctx)
          return {
            groupId: g.groupId,
            topics: fetchGroup(g.groupId, g.topics, KafkaErrors.NONE, ctx),
            errorCode: unstable,
          }
        }),
      }
    }
    if (req.groupId === '') return this.errorResponse(req, KafkaErrors.INVALID_GROUP_ID, ctx)
    const unstable = stability(req.groupId, req.requireStable, ctx)
    return {
      throttleTimeMs: 0,
      topics: fetchGroup(req.groupId, req.topics, unstable, ctx),
      errorCode: KafkaErrors.NONE,
    }
  },
  errorResponse(req, code, ctx) {
    if (ctx.apiVersion >= 8)
      return { groups: req.groups.map((g) => ({ groupId: g.groupId, topics: [], errorCode: code })) }
    return {
      errorCode: code,
      topics: (req.topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({
          partitionIndex,
          committedOffset: -1,
          metadata: '',
          errorCode: code,
        })),
      })),
    }
  },
}
