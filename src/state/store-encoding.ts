// The bytes of state stores, in lmdb and on the changelog.
//   lmdb value:     [flags u8][last write ms, float64 BE][serialized value]   flags bit 0: the value serialized to null
//   changelog:      key = the lmdb key; value = the serialized value (null = delete); timestamp = last write ms;
//                   a value that serialized to null is an empty value with the header `eddy.null`
//   window key:     [uint32 BE key length][key bytes][int64 BE window start, sign bit flipped]
// so one key's windows are contiguous in lmdb and ordered by start, negative starts included.
import { EddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { LogRecord, RecordHeader, RecordInput } from '../core/record.js'
import type { StoreSpec } from '../core/store.js'

export const VALUE_HEADER_BYTES = 9
const FLAG_NULL = 1
export const NULL_VALUE_HEADER = 'eddy.null'
const NULL_HEADERS: readonly RecordHeader[] = [{ key: NULL_VALUE_HEADER, value: Buffer.alloc(0) }]
const NO_HEADERS: readonly RecordHeader[] = []
const EMPTY = Buffer.alloc(0)
const WINDOW_KEY_EXTRA_BYTES = 12
const SIGN_BIT = 0x80

/** A changelog record of a store: its key and value are the store's bytes. */
export interface ChangelogEntry extends RecordInput {
  readonly key: Buffer
  readonly value: Buffer | null
  readonly timestamp: number
  readonly headers: readonly RecordHeader[]
}

export function encodeStoredValue(serialized: Buffer | null, writtenMs: number): Buffer {
  const body = serialized ?? EMPTY
  const out = Buffer.allocUnsafe(VALUE_HEADER_BYTES + body.length)
  out[0] = serialized === null ? FLAG_NULL : 0
  out.writeDoubleBE(writtenMs, 1)
  body.copy(out, VALUE_HEADER_BYTES)
  return out
}

export interface StoredValue {
  /** What the value serde produced (null when it produced null). */
  readonly serialized: Buffer | null
  readonly writtenMs: number
}

export function decodeStoredValue(stored: Buffer, store: string): StoredValue {
  if (stored.length < VALUE_HEADER_BYTES || (stored[0]! & ~FLAG_NULL) !== 0) {
    throw new EddyError(
      'CORRUPT_RECORD',
      `store ${store}: a stored value of ${stored.length} bytes has no valid header: delete the task's state directory to rebuild it from the changelog`,
    )
  }
  const writtenMs = stored.readDoubleBE(1)
  const serialized = stored[0] === FLAG_NULL ? null : stored.subarray(VALUE_HEADER_BYTES)
  return { serialized, writtenMs }
}

/** The changelog record of a write (`deleted`: a tombstone). */
export function changelogEntry(
  key: Buffer,
  serialized: Buffer | null,
  deleted: boolean,
  writtenMs: number,
): ChangelogEntry {
  if (deleted) return { key, value: null, timestamp: writtenMs, headers: NO_HEADERS }
  if (serialized === null) return { key, value: EMPTY, timestamp: writtenMs, headers: NULL_HEADERS }
  return { key, value: serialized, timestamp: writtenMs, headers: NO_HEADERS }
}

/** What restoring a changelog record writes to lmdb: a stored value, or null to delete. */
export function storedFromChangelog(record: LogRecord, store: string): { key: Buffer; value: Buffer | null } {
  if (record.key === null || record.key.length === 0) {
    throw new EddyError(
      'CORRUPT_RECORD',
      `${record.topic}-${record.partition} offset ${record.offset} has no key, so it is not a changelog record of store ${store}: the topic is shared with something else; give the store its own changelog topic`,
    )
  }
  if (record.value === null) return { key: record.key, value: null }
  const isNull = record.headers.some((h) => h.key === NULL_VALUE_HEADER)
  return { key: record.key, value: encodeStoredValue(isNull ? null : record.value, record.timestamp) }
}

/** The serialized key of a store, checked against the lmdb key limit. */
export function serializeKey<K>(spec: StoreSpec<K, unknown>, key: K): Buffer {
  const bytes = spec.keySerde.serialize(key)
  if (bytes === null || bytes.length === 0) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `store ${spec.name}: key ${String(key)} serializes to no bytes with serde ${spec.keySerde.name}: state keys may not be null or empty`,
    )
  }
  if (bytes.length > limits.storeKeyBytesMax) {
    throw new EddyError(
      'RECORD_TOO_LARGE',
      `store ${spec.name}: a key of ${bytes.length} bytes exceeds the ${limits.storeKeyBytesMax}-byte limit of state keys: key the step by something shorter (e.g. a hash of the key)`,
    )
  }
  return bytes
}

/** Checks that a changelog record will fit on the log. */
export function checkValueSize(spec: StoreSpec, key: Buffer, value: Buffer | null): void {
  const size = key.length + (value?.length ?? 0)
  if (size > limits.recordBytesMax) {
    throw new EddyError(
      'RECORD_TOO_LARGE',
      `store ${spec.name}: an entry of ${size} bytes exceeds the ${limits.recordBytesMax}-byte record limit of its changelog: keep less state per key`,
    )
  }
}

export function windowKey(keyBytes: Buffer, start: number, spec: StoreSpec): Buffer {
  if (!Number.isSafeInteger(start)) {
    throw new EddyError('INVALID_ARGUMENT', `store ${spec.name}: window start ${start} is not an integer ms`)
  }
  const out = Buffer.allocUnsafe(keyBytes.length + WINDOW_KEY_EXTRA_BYTES)
  out.writeUInt32BE(keyBytes.length, 0)
  keyBytes.copy(out, 4)
  out.writeBigInt64BE(BigInt(start), 4 + keyBytes.length)
  out[4 + keyBytes.length] = out[4 + keyBytes.length]! ^ SIGN_BIT
  return out
}

export function splitWindowKey(composite: Buffer, store: string): { keyBytes: Buffer; start: number } {
  const keyLength = composite.length >= WINDOW_KEY_EXTRA_BYTES ? composite.readUInt32BE(0) : -1
  if (keyLength < 0 || keyLength + WINDOW_KEY_EXTRA_BYTES !== composite.length) {
    throw new EddyError(
      'CORRUPT_RECORD',
      `window store ${store}: a key of ${composite.length} bytes is not [length][key][start]: delete the task's state directory to rebuild it`,
    )
  }
  const startBytes = Buffer.from(composite.subarray(4 + keyLength))
  startBytes[0] = startBytes[0]! ^ SIGN_BIT
  return { keyBytes: composite.subarray(4, 4 + keyLength), start: Number(startBytes.readBigInt64BE(0)) }
}

/** The lmdb range [start, end) holding every window of one key. */
export function windowKeyRange(keyBytes: Buffer): { start: Buffer; end: Buffer } {
  const start = Buffer.alloc(keyBytes.length + WINDOW_KEY_EXTRA_BYTES, 0)
  start.writeUInt32BE(keyBytes.length, 0)
  keyBytes.copy(start, 4)
  // The key's prefix followed by 8 bytes of 0xff sorts after all its windows; end is exclusive.
  const end = Buffer.from(start)
  end.fill(0xff, 4 + keyBytes.length)
  return { start, end }
}
