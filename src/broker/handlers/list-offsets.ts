// ListOffsets: earliest (-2), latest (-1; the last stable offset under read_committed), the
// largest timestamp (-3), and the first offset at or after a timestamp.
import { KafkaErrors } from '../../protocol/index.js'
import type { ApiHandler, RequestContext } from './context.js'
import { errorCodeFor } from './context.js'

const LATEST = -1
const EARLIEST = -2
const MAX_TIMESTAMP = -3
const EARLIEST_LOCAL = -4

const READ_COMMITTED = 1

/** { offset, timestamp } for one partition and query; throws the log's errors. */
function lookup(
  topic: string,
  partition: number,
  timestamp: number,
  isolationLevel: number,
  ctx: RequestContext,
): { offset: number; timestamp: number } {
  const p = ctx.broker.log.partition(topic, partition)
  switch (timestamp) {
    case LATEST:
      return {
        offset: p.endOffsetFor(isolationLevel === READ_COMMITTED ? 'read_committed' : 'read_uncommitted'),
        timestamp: -1,
      }
    case EARLIEST:
    case EARLIEST_LOCAL:
      return { offset: p.logStartOffset, timestamp: -1 }
    case MAX_TIMESTAMP: {
      let max = -1
      for (const seg of p.segments) if (seg.sizeBytes > 0 && seg.maxTimestamp > max) max = seg.maxTimestamp
      const found = max < 0 ? null : p.offsetForTimestamp(max)
      return found ?? { offset: -1, timestamp: -1 }
    }
    default: {
      if (timestamp < 0) return { offset: -1, timestamp: -1 } // -5 (latest tiered) and beyond: no tiered storage
      const found = p.offsetForTimestamp(timestamp)
      return found ?? { offset: -1, timestamp: -1 }
    }
  }
}

export const listOffsets: ApiHandler<'ListOffsets'> = {
  handle(req, ctx) {
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        try {
          const found = lookup(t.name, p.partitionIndex, p.timestamp, req.isolationLevel, ctx)
          return {
            partitionIndex: p.partitionIndex,
            errorCode: KafkaErrors.NONE,
            oldStyleOffsets: found.offset >= 0 ? [found.offset] : [],
            timestamp: found.timestamp,
            offset: found.offset,
          }
        } catch (err) {
          return { partitionIndex: p.partitionIndex, errorCode: errorCodeFor(err, ctx) }
        }
      }),
    }))
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
