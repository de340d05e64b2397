// Produce: record batches appended to the log byte for byte (the log checks CRC and structure,
// and idempotence), transactional ones through the transaction coordinator. acks 1 and all are
// the same on a single node: the reply waits for the log's append, i.e. its fsync policy.
// Produce v0-v2 are served for record batches v2 only; message sets v0/v1 (magic 0/1) are refused
// per partition with UNSUPPORTED_FOR_MESSAGE_FORMAT.
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

/**
 * The magic of the first entry in `records` written in message format v0/v1 (magic 0 or 1), or
 * null if there is none. Message sets v0/v1 and record batches v2 share the framing (int64 offset,
 * int32 size, magic at byte 16), so the entries can be walked without knowing their format.
 */
function oldFormatMagic(records: Buffer): number | null {
  let pos = 0
  while (pos + 17 <= records.length) {
    const magic = records.readInt8(pos + 16)
    if (magic === 0 || magic === 1) return magic
    const size = records.readInt32BE(pos + 8)
    if (size < 0) return null
    pos += size + 12
  }
  return null
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
    // Produce v0-v2 may carry message sets v0/v1, which Kafka would convert; the log stores
    // record batches v2 only, so they are refused (nothing of the set is appended).
    const magic = ctx.apiVersion <= 2 ? oldFormatMagic(records) : null
    if (magic !== null) {
      return failed(
        KafkaErrors.UNSUPPORTED_FOR_MESSAGE_FORMAT,
        `${where}: message format v${magic} (magic ${magic}) is not supported: only record batches v2 (magic 2) are stored`,
      )
    }
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
