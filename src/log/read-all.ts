// Reads a partition from its start to its high watermark, batch by batch, as written
// (read_uncommitted, control batches included): how the internal topics are loaded at open.
import { type BatchHeader, readBatchHeader } from '../core/record-batch.js'
import type { PartitionLog } from './partition-log.js'

const READ_CHUNK_BYTES = 4 * 1024 * 1024

export function forEachBatch(
  p: PartitionLog,
  visit: (buf: Buffer, at: number, header: BatchHeader) => void,
): void {
  let offset = p.logStartOffset
  while (offset < p.highWatermark) {
    const { bytes } = p.fetch(offset, READ_CHUNK_BYTES, 'read_uncommitted')
    if (bytes.length === 0) {
      // Compaction may leave an offset gap at a segment's end: go on from the next segment.
      const next = p.segments.find((s) => s.baseOffset > offset)
      if (next === undefined) break
      offset = next.baseOffset
      continue
    }
    for (let at = 0; at < bytes.length; ) {
      const header = readBatchHeader(bytes, at)
      visit(bytes, at, header)
      offset = header.baseOffset + header.lastOffsetDelta + 1
      at += header.sizeBytes
    }
  }
}
