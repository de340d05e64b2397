// Parsers for flag and argument values; a bad value is a usage error (exit code 2).
import { InvalidArgumentError } from 'commander'

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
