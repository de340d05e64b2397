// DeleteRecords: moves partitions' log start offsets (the log's deleteRecordsBefore). On one node
// the deletion is done when the call returns, so the request's timeout is never waited on.
import { isEddyError } from '../../core/errors.js'
import { KafkaErrors } from '../../protocol/index.js'
import type { ApiHandler } from './context.js'
import { errorCodeFor } from './context.js'

/** An offset of -1: up to the high watermark. */
const HIGH_WATERMARK = -1

export const deleteRecords: ApiHandler<'DeleteRecords'> = {
  handle(req, ctx) {
    const { log } = ctx.broker
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        try {
          const part = log.partition(t.name, p.partitionIndex)
          const offset = p.offset === HIGH_WATERMARK ? part.highWatermark : p.offset
          const lowWatermark = log.deleteRecordsBefore(t.name, p.partitionIndex, offset)
          return { partitionIndex: p.partitionIndex, lowWatermark, errorCode: KafkaErrors.NONE }
        } catch (err) {
          // The log refuses compacted topics with INVALID_ARGUMENT; Kafka says POLICY_VIOLATION.
          const errorCode = isEddyError(err, 'INVALID_ARGUMENT')
            ? KafkaErrors.POLICY_VIOLATION
            : errorCodeFor(err, ctx)
          return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode }
        }
      }),
    }))
    return { throttleTimeMs: 0, topics }
  },
  errorResponse(req, code) {
    return {
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          lowWatermark: -1,
          errorCode: code,
        })),
      })),
    }
  },
}
