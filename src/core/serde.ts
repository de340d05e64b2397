// Serdes turn typed keys and values into the bytes the log stores, at the edges of a pipeline.
import { EddyError } from './errors.js'
import { JsonDecoder } from './json-decoder.js'
import { JsonEncoder } from './json-encoder.js'

/** Serialized bytes, or text that stands for its UTF-8 bytes. */
export type Encoded = Buffer | string | null

/** The bytes of an encoded key or value. */
export function encodedBytes(e: Encoded): Buffer | null {
  return typeof e === 'string' ? Buffer.from(e, 'utf8') : e
}

export interface Serde<T> {
  /** A short name for errors and the plan's picture. */
  readonly name: string
  serialize(value: T): Buffer | null
  /**
   * Optional, for a serde whose bytes are UTF-8 text (json, string): the text `serialize` would
   * encode. A topic sink writes it straight into its output batch, with no Buffer per record.
   */
  serializeText?(value: T): string | null
  /**
   * Optional: what `serialize` or `serializeText` would give, except that a Buffer returned is
   * the serde's own, good only until its next call. For a caller that copies the bytes at once:
   * a topic sink whose output copies them into a batch (TaskOutput.copiesAtOnce).
   */
  serializeTransient?(value: T): Encoded
  /** Throws when the bytes are not a T; the runtime applies the step's error policy then. */
  deserialize(bytes: Buffer | null): T
  /**
   * Optional: names how this serde maps bytes to values, shared by serdes that map them alike
   * (`string()` and the default key serde are both `utf8`). Only for a serde whose `deserialize`
   * accepts any bytes. A key read with one serde and written with another of the same format,
   * read by no step in between, is written as the bytes it was read as: the runtime neither
   * decodes nor encodes it (plan/key-bytes.ts).
   */
  readonly bytesFormat?: string
}

/** JSON text in UTF-8; null bytes are null. The type is the caller's promise, as JSON.parse's is. */
export function json<T>(): Serde<T> {
  const text = (value: T): string | null => {
    if (value === null || value === undefined) return null
    const s = JSON.stringify(value)
    // JSON.stringify gives undefined for a function or a symbol: no JSON text at all.
    if (s === undefined) throw new EddyError('INVALID_RECORD', `a ${typeof value} has no JSON form`)
    return s
  }
  const decoder = new JsonDecoder()
  const encoder = new JsonEncoder()
  return {
    name: 'json',
    // A copy of the fast path's bytes is still cheaper than JSON.stringify and a UTF-8 encode.
    serialize: (value) => {
      const fast = encoder.encode(value)
      return fast === null ? encodedBytes(text(value)) : Buffer.from(fast)
    },
    serializeText: text,
    serializeTransient: (value) => encoder.encode(value) ?? text(value),
    deserialize: (bytes) => {
      if (bytes === null) return null as T
      try {
        return decoder.decode(bytes) as T
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
    bytesFormat: 'utf8',
    serialize: (value) => (value === null || value === undefined ? null : Buffer.from(value, 'utf8')),
    serializeText: (value) => (value === null || value === undefined ? null : value),
    deserialize: (bytes) => (bytes === null ? (null as unknown as string) : bytes.toString()),
  }
}

/** Raw bytes, unchanged. */
export function bytes(): Serde<Buffer | null> {
  return { name: 'bytes', serialize: (value) => value, deserialize: (b) => b }
}
