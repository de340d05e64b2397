// Produce: record batches appended to the log byte for byte (the log checks CRC and structure,
// and idempotence), transactional ones through the transaction coordinator. acks 1 and all are
// the same on a single node: the reply waits for the log's append, i.e. its fsync policy.
import { EddyError } from '../../core/errors.js'
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD,
  Compression,
  readBatchHeader,
} from '../../core/record-batch.js'
import { type Input, KafkaErrors, type ResponseOf } from '../../protocol/index.js'
import { checkCompressedBatch } from '../compressed-batches.js'
import type { ApiHandler, RequestContext } from './context.js'
import { errorCodeFor, errorMessageOf } from './context.js'

type PartitionResponse = Input<ResponseOf<'Produce'>['responses'][number]['partitionResponses'][number]>

/** The v2 batches of a record set, as views into it; throws CORRUPT_RECORD if they do not tile it. */
export function splitBatches(records: Buffer, where: string): Buffer[] {
  const out: Buffer[] = []
  let pos = 0
  while (pos < records.length) {
    if (records.length - pos < BATCH_HEADER_BYTES) {
      throw new EddyError(
        'CORRUPT_RECORD',
        `${where}: ${records.length - pos} bytes after the last batch are too few for a batch header`,
      )
    }
    const size = records.readInt32BE(pos + 8) + BATCH_LOG_OVERHEAD
    if (size < BATCH_HEADER_BYTES || pos + size > records.length) {
      throw new EddyError(
        'CORRUPT_RECORD',
        `${where}: batch at byte ${pos} says it is ${size} bytes, but the record set has ${records.length - pos} left`,
      )
    }
    out.push(records.subarray(pos, pos + size))
    pos += size
  }
  if (out.length === 0) throw new EddyError('INVALID_RECORD', `${where}: the record set is empty`)
  return out
}

/** What the log cannot check about a batch because it depends on the request. */
function checkBatch(
  batch: Buffer,
  transactionalId: string | null,
  topic: string,
  partition: number,
  ctx: RequestContext,
): number {
  const where = `${topic}-${partition}`
  const h = readBatchHeader(batch, 0)
  const codec = h.attributes & 0x07
  if (codec > Compression.Zstd || (codec === Compression.Zstd && ctx.apiVersion < 7)) {
    return KafkaErrors.UNSUPPORTED_COMPRESSION_TYPE
  }
  if ((h.attributes & ATTR_CONTROL) !== 0) {
    throw new EddyError('INVALID_RECORD', `${where}: producers may not write control batches`)
  }
  const transactional = (h.attributes & ATTR_TRANSACTIONAL) !== 0
  if (transactional && transactionalId === null) {
    throw new EddyError(
      'INVALID_RECORD',
      `${where}: a transactional batch came in a produce request without a transactional id`,
    )
  }
  if (codec !== Compression.None) checkCompressedBatch(batch, h, topic, partition)
  return KafkaErrors.NONE
}

async function producePartition(
  topic: string,
  partition: number,
  records: Buffer | null,
  transactionalId: string | null,
  ctx: RequestContext,
): Promise<PartitionResponse> {
  const { log } = ctx.broker
  const where = `${topic}-${partition}`
  const failed = (errorCode: number, errorMessage: string | null): PartitionResponse => ({
    index: partition,
    errorCode,
    baseOffset: -1,
    errorMessage,
  })
  if (!log.hasTopic(topic) || partition < 0 || partition >= log.partitionCount(topic)) {
    return failed(KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION, `${where} does not exist`)
  }
  const p = log.partition(topic, partition)
  if (p.config.internal) {
    return failed(KafkaErrors.INVALID_TOPIC_EXCEPTION, `${topic} is internal: clients cannot produce to it`)
  }
  try {
    if (records === null) throw new EddyError('INVALID_RECORD', `${where}: the record set is null`)
    const batches = splitBatches(records, where)
    for (const b of batches) {
      const code = checkBatch(b, transactionalId, topic, partition, ctx)
      if (code !== KafkaErrors.NONE) return failed(code, `${where}: compression codec not supported`)
    }
    let baseOffset = -1
    // One at a time: a batch the log refuses stops the ones after it, as Kafka's whole-set check.
    for (const b of batches) {
      const result =
        transactionalId === null
          ? await log.appendBatch(topic, partition, b)
          : await log.transactions.appendTransactionalBatch(transactionalId, topic, partition, b)
      if (baseOffset === -1) baseOffset = result.baseOffset
    }
    return {
      index: partition,
      errorCode: KafkaErrors.NONE,
      baseOffset,
      logAppendTimeMs: -1,
      logStartOffset: p.logStartOffset,
    }
  } catch (err) {
    return failed(errorCodeFor(err, ctx), errorMessageOf(err))
  }
}

export const produce: ApiHandler<'Produce'> = {
  async handle(req, ctx) {
    const acks = req.acks
    if (acks !== 0 && acks !== 1 && acks !== -1)
      return this.errorResponse(req, KafkaErrors.INVALID_REQUIRED_ACKS, ctx)
    const responses = await Promise.all(
      req.topicData.map(async (t) => ({
        name: t.name,
        partitionResponses: await Promise.all(
          t.partitionData.map((p) => producePartition(t.name, p.index, p.records, req.transactionalId, ctx)),
        ),
      })),
    )
    if (acks !== 0) return { responses, throttleTimeMs: 0 }
    // acks=0 gets no reply, so an error can only be told by closing the connection (as Kafka does).
    const errors = responses.flatMap((t) =>
      t.partitionResponses
        .filter((p) => p.errorCode !== KafkaErrors.NONE)
        .map((p) => `${t.name}-${p.index}: ${p.errorMessage}`),
    )
    if (errors.length > 0) {
      ctx.broker.logger.warn(
        `closing ${ctx.connection.clientHost}: produce with acks=0 failed: ${errors.join('; ')}`,
      )
      ctx.connection.closeAfterResponse = true
    }
    return null
  },
  errorResponse(req, code) {
    return {
      responses: req.topicData.map((t) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: code, baseOffset: -1 })),
      })),
    }
  },
}
