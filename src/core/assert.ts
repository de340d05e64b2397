/** Thrown when an invariant of Eddy itself is broken: a bug, never bad input. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(`Eddy invariant broken: ${message}`)
    this.name = 'AssertionError'
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message)
}
