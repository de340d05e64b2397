// Serdes turn typed keys and values into the bytes the log stores, at the edges of a pipeline.
import { EddyError } from './errors.js'

export interface Serde<T> {
  /** A short name for errors and the plan's picture. */
  readonly name: string
  serialize(value: T): Buffer | null
  /** Throws when the bytes are not a T; the runtime applies the step's error policy then. */
  deserialize(bytes: Buffer | null): T
}

/** JSON text in UTF-8; null bytes are null. The type is the caller's promise, as JSON.parse's is. */
export function json<T>(): Serde<T> {
  return {
    name: 'json',
    serialize: (value) => (value === null || value === undefined ? null : Buffer.from(JSON.stringify(value))),
    deserialize: (bytes) => {
      if (bytes === null) return null as T
      try {
        return JSON.parse(bytes.toString('utf8')) as T
      } catch (err) {
        throw new EddyError('INVALID_RECORD', `not valid JSON: ${(err as Error).message}`)
      }
    },
  }
}

/** UTF-8 text. */
export function string(): Serde<string> {
  return {
    name: 'string',
    serialize: (value) => (value === null || value === undefined ? null : Buffer.from(value, 'utf8')),
    deserialize: (bytes) => (bytes === null ? (null as unknown as string) : bytes.toString('utf8')),
  }
}

/** Raw bytes, unchanged. */
export function bytes(): Serde<Buffer | null> {
  return { name: 'bytes', serialize: (value) => value, deserialize: (b) => b }
}
