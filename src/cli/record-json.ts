// A log record as the JSON object `eddy consume` prints, one per line.
// Bytes that are valid UTF-8 print as a string; other bytes print as base64, flagged by a sibling
// `…Encoding: "base64"` field, so every record round-trips and text stays readable.
import { isUtf8 } from 'node:buffer'
import type { LogRecord } from '../core/record.js'

export interface HeaderJson {
  readonly key: string
  readonly value: string | null
  readonly valueEncoding?: 'base64'
}

export interface RecordJson {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  /** Milliseconds since the epoch. */
  readonly timestamp: number
  readonly key: string | null
  readonly keyEncoding?: 'base64'
  readonly value: string | null
  readonly valueEncoding?: 'base64'
  /** A list, not an object: Kafka headers may repeat a key. */
  readonly headers: readonly HeaderJson[]
}

/** Bytes as printed text: UTF-8 when they are valid UTF-8, else base64 (`base64: true`). */
function printable(bytes: Buffer | null): { readonly text: string | null; readonly base64: boolean } {
  if (bytes === null) return { text: null, base64: false }
  return isUtf8(bytes)
    ? { text: bytes.toString('utf8'), base64: false }
    : { text: bytes.toString('base64'), base64: true }
}

function headerJson(key: string, bytes: Buffer | null): HeaderJson {
  const value = printable(bytes)
  return value.base64 ? { key, value: value.text, valueEncoding: 'base64' } : { key, value: value.text }
}

export function recordJson(r: LogRecord): RecordJson {
  const key = printable(r.key)
  const value = printable(r.value)
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: key.text,
    ...(key.base64 ? { keyEncoding: 'base64' } : {}),
    value: value.text,
    ...(value.base64 ? { valueEncoding: 'base64' } : {}),
    headers: r.headers.map((h) => headerJson(h.key, h.value)),
  }
}

/** The bytes a printed key, value or header value stands for (the inverse of `recordJson`'s encoding). */
export function decodeJsonBytes(text: string | null, encoding: 'base64' | undefined): Buffer | null {
  if (text === null) return null
  return Buffer.from(text, encoding === 'base64' ? 'base64' : 'utf8')
}
