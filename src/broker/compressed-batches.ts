// Compressed record batches on the produce path. The log stores them byte for byte after checking
// their header and CRC-32C but cannot look inside; the protocol layer's codecs check the records.
// Importing protocol/compression.js also registers the decompressor the log uses to read them
// (ListOffsets by timestamp, compaction).
import type { BatchHeader } from '../core/record-batch.js'
import { validateCompressedBatch } from '../protocol/compression.js'

/**
 * Checks the records inside a compressed batch: they decompress within limits and parse exactly,
 * with valid sizes and timestamps. Throws the EddyError the producer should get.
 */
export function checkCompressedBatch(
  batch: Buffer,
  _header: BatchHeader,
  topic: string,
  partition: number,
): void {
  validateCompressedBatch(batch, topic, partition)
}
