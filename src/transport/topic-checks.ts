// The errors both transports give when a topic Eddy needs exists in another shape.
import { EddyError } from '../core/errors.js'

/** A topic that exists with a partition count other than the one asked for. */
export function partitionCountMismatch(topic: string, actual: number, expected: number): EddyError {
  return new EddyError(
    'INVALID_ARGUMENT',
    `topic ${topic} exists with ${actual} partition(s); Eddy expects ${expected}: delete the topic, or run the app with inputs of ${actual} partition(s)`,
  )
}

/** A topic Eddy needs compacted (a changelog) that exists without compaction. */
export function notCompacted(topic: string): EddyError {
  return new EddyError(
    'INVALID_ARGUMENT',
    `topic ${topic} exists but is not compacted (cleanup.policy has no 'compact'); Eddy needs it compacted: delete it or recreate it with --compact`,
  )
}

/** Partitions of a topic to create: a positive integer. */
export function checkPartitions(topic: string, partitions: number): void {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `topic ${topic}: partitions must be a positive integer, got ${partitions}`,
    )
  }
}
