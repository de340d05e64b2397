// Parsers and checks for flag and argument values. A value that does not parse is a usage error
// (exit code 2); one that parses but names nothing on the log (a partition) is an error (exit code 1).
import { InvalidArgumentError } from 'commander'
import { EddyError } from '../core/errors.js'

/** An integer in [min, max], for commander's `argParser`. */
export function integerArg(
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): (text: string) => number {
  return (text) => {
    const value = Number(text)
    if (text.trim() === '' || !Number.isSafeInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`
      throw new InvalidArgumentError(`expected an integer ${range}, got '${text}'.`)
    }
    return value
  }
}

/** Checks `--partition` against the topic: a partition that does not exist is an error (exit 1). */
export function checkPartitionFlag(topic: string, partition: number, partitionCount: number): void {
  if (partition < partitionCount) return
  throw new EddyError(
    'UNKNOWN_PARTITION',
    `topic ${topic} has ${partitionCount} partition(s), so it has no partition ${partition}: give --partition from 0 to ${partitionCount - 1}`,
  )
}
