// Record-batch compression, as Kafka and its clients use it. In a v2 batch the whole records
// section (everything after the 61-byte header) is compressed as one block; attributes bits 0-2
// name the codec. Formats, as the Java client and librdkafka write and read them:
//
// - gzip (1): a gzip stream (RFC 1952). node:zlib.
// - snappy (2): the Java client writes snappy-java's "xerial" framing: magic \x82SNAPPY\0, int32
//   version, int32 compatible version, then blocks of int32 length + raw snappy, 32 KiB of input
//   each. librdkafka and @platformatic/kafka write one raw snappy block. Kafka reads both, so do
//   we; we write xerial, as the Java client does.
// - lz4 (3): one LZ4 frame (lz4_Frame_format.md) with independent blocks; the Java broker refuses
//   linked blocks, so we never write them, but we read them (lz4 CLI, some clients). Batches of
//   magic >= 1 carry a correct header checksum (only magic 0 had the broken one).
// - zstd (4): zstd frames (RFC 8878); the Java client streams them, without a content size.
//
// Libraries (chosen after measuring decompression of a 16 KiB / 1 MiB records section of JSON
// records on this machine; MB/s of output):
// - snappy (napi-rs over Rust's `snap`, MIT): 360 / 700 MB/s, a prebuilt binary shipped in a
//   per-platform optional package (no download at install). Strict: corrupt input, bad offsets
//   and a wrong length all throw. snappyjs (pure JS) was as fast on small batches but half as fast
//   on large ones and does not check that the output has the declared length.
// - lz4-napi (napi-rs over Rust's `lz4_flex`, MIT): 180 / 550 MB/s, same packaging; checks the
//   header, block and content checksums. lz4js (pure JS) ignores corrupt offsets silently and
//   writes linked blocks, which Kafka refuses.
// - @bokuweb/zstd-wasm (zstd 1.5 compiled to WASM, MIT, 250 KB of wasm): 320 / 875 MB/s.
//   fzstd (pure JS) decodes only and managed 19 MB/s on 16 KiB batches; zstd-napi and
//   @mongodb-js/zstd download binaries at install; node:zlib has zstd only from Node 22.15.
// Each is loaded on first use, so a process that never sees a codec never loads its library.
//
// Decompression is bounded: before a byte is decompressed, the codec's own framing (declared
// lengths, block sizes) gives an upper bound of the output, and a batch whose bound exceeds
// limits.decompressedBatchBytesMax is refused (BATCH_TOO_LARGE); gzip has no such framing and is
// stopped by zlib's maxOutputLength instead. A zip bomb is an error, never an out-of-memory.
//
// Importing this module registers `decompressRecords` with core (setBatchDecompressor), so
// core's decodeBatchRecords, and with it the embedded log, reads compressed batches.

import { createRequire } from 'node:module'
import path from 'node:path'
import zlib from 'node:zlib'
import { EddyError, type EddyErrorCode } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { LogRecord } from '../core/record.js'
import {
  BATCH_HEADER_BYTES,
  type BatchHeader,
  batchCrcValid,
  Compression,
  compressionOf,
  decodeRecordsSection,
  type EncodeBatchOptions,
  encodeRecordBatch,
  readBatchHeader,
  setBatchDecompressor,
  validateRecordsSection,
  withCompressedRecords,
} from '../core/record-batch.js'

export { Compression } from '../core/record-batch.js'

const CODEC_NAMES: Readonly<Record<number, string>> = {
  [Compression.None]: 'none',
  [Compression.Gzip]: 'gzip',
  [Compression.Snappy]: 'snappy',
  [Compression.Lz4]: 'lz4',
  [Compression.Zstd]: 'zstd',
}

/** The codec's name as Kafka spells it ('gzip', …), or 'codec N' for an unknown id. */
export function compressionName(codec: number): string {
  return CODEC_NAMES[codec] ?? `codec ${codec}`
}

function corrupt(codec: number, detail: string, cause?: unknown): EddyError {
  return new EddyError('CORRUPT_RECORD', `${compressionName(codec)} records do not decompress: ${detail}`, {
    cause,
  })
}

function tooLarge(codec: number, bytes: number | string, maxBytes: number): EddyError {
  return new EddyError(
    'BATCH_TOO_LARGE',
    `${compressionName(codec)} records would decompress to ${bytes} bytes, over limits.decompressedBatchBytesMax (${maxBytes}): send smaller batches`,
  )
}

// ---- libraries, loaded on first use ----

const require = createRequire(import.meta.url)

function load<T>(codec: number, pkg: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw new EddyError(
      'UNSUPPORTED_COMPRESSION',
      `${compressionName(codec)} needs the '${pkg}' package, which failed to load (${(err as Error).message}): reinstall Eddy's dependencies for this platform`,
      { cause: err },
    )
  }
}

type SnappyLib = typeof import('snappy')
type Lz4Lib = typeof import('lz4-napi')
interface ZstdLib {
  compress(data: Uint8Array, level?: number): Uint8Array
  decompress(data: Uint8Array, opts?: { defaultHeapSize: number }): Uint8Array
}

let snappyLib: SnappyLib | undefined
let lz4Lib: Lz4Lib | undefined
let zstdLib: ZstdLib | undefined

function snappy(): SnappyLib {
  snappyLib ??= load(Compression.Snappy, 'snappy', () => require('snappy') as SnappyLib)
  return snappyLib
}

function lz4(): Lz4Lib {
  lz4Lib ??= load(Compression.Lz4, 'lz4-napi', () => require('lz4-napi') as Lz4Lib)
  return lz4Lib
}

/**
 * @bokuweb/zstd-wasm only offers an async `init()`, but decoding must be synchronous (core's
 * decodeBatchRecords is). Its Emscripten module accepts an `instantiateWasm` hook, so we compile
 * and instantiate the wasm synchronously (about 5 ms, once). This reaches into the package's
 * dist/common/module.js, so the version is pinned exactly in package.json; the tests cover it.
 */
function zstd(): ZstdLib {
  zstdLib ??= load(Compression.Zstd, '@bokuweb/zstd-wasm', () => {
    const main = require.resolve('@bokuweb/zstd-wasm')
    const dir = path.dirname(main)
    const { Module } = require(path.join(dir, 'module.js')) as {
      Module: {
        instantiateWasm?: (
          imports: WebAssembly.Imports,
          receive: (instance: WebAssembly.Instance) => void,
        ) => WebAssembly.Exports
        init(): void
        calledRun?: boolean
      }
    }
    if (!Module.calledRun) {
      const fs = require('node:fs') as typeof import('node:fs')
      const wasm = fs.readFileSync(path.join(dir, 'zstd.wasm'))
      Module.instantiateWasm = (imports, receive) => {
        const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm), imports)
        receive(instance)
        return instance.exports
      }
      Module.init()
      if (!Module.calledRun) throw new Error('the zstd wasm module did not start synchronously')
    }
    return require('@bokuweb/zstd-wasm') as ZstdLib
  })
  return zstdLib
}

// ---- compress ----

/** snappy-java's block size: each xerial block holds at most this much input. */
const XERIAL_BLOCK_BYTES = 32 * 1024
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER_BYTES = 16
/** zstd's default level, which the Java client and librdkafka use too. */
const ZSTD_LEVEL = 3

/** Compresses a batch's records section with `codec`, in the format Kafka expects. */
export function compressRecords(codec: Compression, records: Buffer): Buffer {
  switch (codec) {
    case Compression.None:
      return records
    case Compression.Gzip:
      return zlib.gzipSync(records)
    case Compression.Snappy: {
      const lib = snappy()
      const parts: Buffer[] = [XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])]
      for (let at = 0; at < records.length; at += XERIAL_BLOCK_BYTES) {
        const block = lib.compressSync(records.subarray(at, at + XERIAL_BLOCK_BYTES))
        const size = Buffer.allocUnsafe(4)
        size.writeInt32BE(block.length, 0)
        parts.push(size, block)
      }
      return Buffer.concat(parts)
    }
    case Compression.Lz4:
      // lz4_flex's frame: independent 256 KiB blocks, no checksums; FLG 0x60, BD 0x50.
      return lz4().compressFrameSync(records)
    case Compression.Zstd: {
      const out = zstd().compress(records, ZSTD_LEVEL)
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength)
    }
    default:
      throw new EddyError('UNSUPPORTED_COMPRESSION', `cannot compress with ${compressionName(codec)}`)
  }
}

// ---- decompress ----

/**
 * Decompresses a batch's records section. Throws CORRUPT_RECORD when the bytes are not valid
 * `codec` data and BATCH_TOO_LARGE when they would expand beyond `maxBytes`.
 */
export function decompressRecords(
  codec: number,
  compressed: Buffer,
  maxBytes: number = limits.decompressedBatchBytesMax,
): Buffer {
  switch (codec) {
    case Compression.None:
      if (compressed.length > maxBytes) throw tooLarge(codec, compressed.length, maxBytes)
      return compressed
    case Compression.Gzip:
      return gunzip(compressed, maxBytes)
    case Compression.Snappy:
      return compressed.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)
        ? unsnappyXerial(compressed, maxBytes)
        : unsnappyRaw(compressed, maxBytes)
    case Compression.Lz4:
      return unlz4(compressed, maxBytes)
    case Compression.Zstd:
      return unzstd(compressed, maxBytes)
    default:
      throw new EddyError('CORRUPT_RECORD', `batch attributes name unknown compression codec ${codec}`)
  }
}

function gunzip(src: Buffer, maxBytes: number): Buffer {
  try {
    return zlib.gunzipSync(src, { maxOutputLength: maxBytes })
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw tooLarge(Compression.Gzip, `more than ${maxBytes}`, maxBytes)
    }
    throw corrupt(Compression.Gzip, (err as Error).message, err)
  }
}

/** The uncompressed length a raw snappy block declares (its leading varint), or -1. */
function snappyDeclaredLength(src: Buffer, start: number, end: number): number {
  let result = 0
  for (let i = 0; i < 5 && start + i < end; i++) {
    const b = src[start + i]!
    result += (b & 0x7f) * 2 ** (7 * i)
    if (b < 0x80) return result
  }
  return -1
}

function unsnappyBlock(src: Buffer, budget: number, maxBytes: number): Buffer {
  const declared = snappyDeclaredLength(src, 0, src.length)
  if (declared < 0) throw corrupt(Compression.Snappy, 'bad uncompressed length')
  if (declared > budget)
    throw tooLarge(Compression.Snappy, `at least ${maxBytes - budget + declared}`, maxBytes)
  let out: Buffer
  try {
    out = snappy().uncompressSync(src, { asBuffer: true }) as Buffer
  } catch (err) {
    if (err instanceof EddyError) throw err
    throw corrupt(Compression.Snappy, (err as Error).message, err)
  }
  if (out.length !== declared)
    throw corrupt(Compression.Snappy, `${out.length} bytes where ${declared} were declared`)
  return out
}

function unsnappyRaw(src: Buffer, maxBytes: number): Buffer {
  return unsnappyBlock(src, maxBytes, maxBytes)
}

function unsnappyXerial(src: Buffer, maxBytes: number): Buffer {
  if (src.length < XERIAL_HEADER_BYTES) throw corrupt(Compression.Snappy, 'xerial header is cut')
  const parts: Buffer[] = []
  let total = 0
  let at = XERIAL_HEADER_BYTES
  while (at < src.length) {
    if (at + 4 > src.length) throw corrupt(Compression.Snappy, `xerial block length at byte ${at} is cut`)
    const size = src.readInt32BE(at)
    at += 4
    if (size < 0 || at + size > src.length) {
      throw corrupt(Compression.Snappy, `xerial block of ${size} bytes at byte ${at - 4} overruns the data`)
    }
    const block = unsnappyBlock(src.subarray(at, at + size), maxBytes - total, maxBytes)
    total += block.length
    parts.push(block)
    at += size
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total)
}

const LZ4_MAGIC = 0x184d2204

/**
 * Walks an LZ4 frame's framing without decompressing: checks it is one well-formed frame that
 * ends exactly at the end of `src`, and returns an upper bound of its decompressed size (a
 * compressed block expands at most 255x, and never beyond the frame's block size).
 */
function lz4Bound(src: Buffer): number {
  const codec = Compression.Lz4
  if (src.length < 7 || src.readUInt32LE(0) !== LZ4_MAGIC) throw corrupt(codec, 'not an LZ4 frame')
  const flg = src[4]!
  const bd = src[5]!
  if (flg >> 6 !== 1 || (flg & 0x02) !== 0)
    throw corrupt(codec, `unsupported frame flags 0x${flg.toString(16)}`)
  if ((flg & 0x01) !== 0) throw corrupt(codec, 'frames with a dictionary id are not supported')
  const sizeId = (bd >> 4) & 0x07
  if ((bd & 0x8f) !== 0 || sizeId < 4) throw corrupt(codec, `bad block descriptor 0x${bd.toString(16)}`)
  const blockMax = 1 << (2 * sizeId + 8)
  const blockChecksum = (flg & 0x10) !== 0
  const contentChecksum = (flg & 0x04) !== 0
  const hasContentSize = (flg & 0x08) !== 0
  if (src.length < 7 + (hasContentSize ? 8 : 0)) throw corrupt(codec, 'frame header is cut')
  const contentSize = hasContentSize ? src.readUInt32LE(6) + src.readUInt32LE(10) * 2 ** 32 : -1
  let at = 6 + (hasContentSize ? 8 : 0) + 1 // [content size] + header checksum
  let bound = 0
  for (;;) {
    if (at + 4 > src.length) throw corrupt(codec, 'frame is cut before its end mark')
    const word = src.readUInt32LE(at)
    at += 4
    if (word === 0) break
    const size = word & 0x7fffffff
    const stored = word !== size
    if (size > blockMax) throw corrupt(codec, `block of ${size} bytes exceeds the frame's ${blockMax}`)
    bound += stored ? size : Math.min(blockMax, size * 255)
    at += size + (blockChecksum ? 4 : 0)
    if (at > src.length) throw corrupt(codec, 'frame is cut inside a block')
  }
  if (contentChecksum) at += 4
  if (at !== src.length) {
    throw corrupt(codec, `${src.length - at} bytes ${at > src.length ? 'missing' : 'left'} after the frame`)
  }
  // The decoder may size its output by the declared content size: it must be one the blocks allow.
  if (contentSize > bound)
    throw corrupt(codec, `frame declares ${contentSize} bytes but its blocks hold at most ${bound}`)
  return bound
}

function unlz4(src: Buffer, maxBytes: number): Buffer {
  const bound = lz4Bound(src)
  if (bound > maxBytes) throw tooLarge(Compression.Lz4, `up to ${bound}`, maxBytes)
  let out: Buffer
  try {
    out = lz4().decompressFrameSync(src)
  } catch (err) {
    if (err instanceof EddyError) throw err
    throw corrupt(Compression.Lz4, (err as Error).message, err)
  }
  if (out.length > bound)
    throw corrupt(Compression.Lz4, `${out.length} bytes out of a frame bounded at ${bound}`)
  return out
}

const ZSTD_MAGIC = 0xfd2fb528
const ZSTD_BLOCK_MAX = 128 * 1024

interface ZstdFrame {
  readonly start: number
  readonly end: number
  /** Upper bound of the frame's output: its content size when declared. */
  readonly bound: number
  readonly contentSizeKnown: boolean
}

/**
 * Walks the frames of zstd data without decompressing: checks their framing and that they end
 * exactly at the end of `src`; skippable frames are left out. A block expands to at most
 * min(window, 128 KiB) bytes; raw and RLE blocks to their stated size.
 */
function zstdFrames(src: Buffer): ZstdFrame[] {
  const codec = Compression.Zstd
  const frames: ZstdFrame[] = []
  let at = 0
  if (src.length === 0) throw corrupt(codec, 'no zstd frame')
  while (at < src.length) {
    if (at + 4 > src.length) throw corrupt(codec, `frame magic at byte ${at} is cut`)
    const magic = src.readUInt32LE(at)
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      if (at + 8 > src.length) throw corrupt(codec, 'skippable frame is cut')
      at += 8 + src.readUInt32LE(at + 4)
      if (at > src.length) throw corrupt(codec, 'skippable frame is cut')
      continue
    }
    if (magic !== ZSTD_MAGIC) throw corrupt(codec, `bad frame magic 0x${magic.toString(16)} at byte ${at}`)
    const start = at
    if (at + 5 > src.length) throw corrupt(codec, 'frame header is cut')
    const fhd = src[at + 4]!
    at += 5
    if ((fhd & 0x08) !== 0) throw corrupt(codec, 'reserved frame header bit is set')
    const fcsFlag = fhd >> 6
    const singleSegment = (fhd & 0x20) !== 0
    const checksum = (fhd & 0x04) !== 0
    let window = 0
    if (!singleSegment) {
      if (at >= src.length) throw corrupt(codec, 'frame header is cut')
      const wd = src[at++]!
      const base = 2 ** (10 + (wd >> 3))
      window = base + (base / 8) * (wd & 0x07)
    }
    at += [0, 1, 2, 4][fhd & 0x03]!
    const fcsBytes = fcsFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!
    if (at + fcsBytes > src.length) throw corrupt(codec, 'frame header is cut')
    let contentSize = -1
    if (fcsBytes === 1) contentSize = src[at]!
    else if (fcsBytes === 2) contentSize = src.readUInt16LE(at) + 256
    else if (fcsBytes === 4) contentSize = src.readUInt32LE(at)
    else if (fcsBytes === 8) contentSize = src.readUInt32LE(at) + src.readUInt32LE(at + 4) * 2 ** 32
    at += fcsBytes
    if (singleSegment) window = contentSize
    const blockMax = Math.min(window, ZSTD_BLOCK_MAX)
    let blocksBound = 0
    for (;;) {
      if (at + 3 > src.length) throw corrupt(codec, 'block header is cut')
      const bh = src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16)
      at += 3
      const type = (bh >> 1) & 0x03
      const size = bh >>> 3
      if (type === 3) throw corrupt(codec, 'reserved block type')
      // Raw and RLE blocks regenerate `size` bytes; a compressed block at most blockMax.
      if (size > blockMax) throw corrupt(codec, `block of ${size} bytes exceeds the frame's ${blockMax}`)
      blocksBound += type === 2 ? blockMax : size
      at += type === 1 ? 1 : size
      if (at > src.length) throw corrupt(codec, 'frame is cut inside a block')
      if ((bh & 1) !== 0) break
    }
    if (checksum) at += 4
    if (at > src.length) throw corrupt(codec, 'frame checksum is cut')
    if (contentSize > blocksBound) {
      throw corrupt(codec, `frame declares ${contentSize} bytes but its blocks hold at most ${blocksBound}`)
    }
    frames.push({
      start,
      end: at,
      bound: contentSize >= 0 ? contentSize : blocksBound,
      contentSizeKnown: contentSize >= 0,
    })
  }
  return frames
}

function unzstd(src: Buffer, maxBytes: number): Buffer {
  const frames = zstdFrames(src)
  let bound = 0
  for (const f of frames) bound += f.bound
  if (bound > maxBytes) throw tooLarge(Compression.Zstd, `up to ${bound}`, maxBytes)
  const lib = zstd()
  const parts: Buffer[] = []
  let total = 0
  for (const f of frames) {
    let out: Uint8Array
    try {
      // With no declared content size the library decodes into a buffer of `defaultHeapSize`
      // bytes and fails if the frame needs more: our bound.
      out = lib.decompress(src.subarray(f.start, f.end), { defaultHeapSize: Math.max(f.bound, 1) })
    } catch (err) {
      throw corrupt(Compression.Zstd, (err as Error).message, err)
    }
    if (out.length > f.bound || (f.contentSizeKnown && out.length !== f.bound)) {
      throw corrupt(
        Compression.Zstd,
        `frame decompressed to ${out.length} bytes, expected at most ${f.bound}`,
      )
    }
    total += out.length
    parts.push(Buffer.from(out.buffer, out.byteOffset, out.byteLength))
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total)
}

// ---- batches ----

function inBatch(err: unknown, header: BatchHeader, topic: string, partition: number): unknown {
  if (!(err instanceof EddyError)) return err
  return new EddyError(
    err.code,
    `batch at offset ${header.baseOffset} of ${topic}-${partition}: ${err.message}`,
    {
      cause: err,
    },
  )
}

/**
 * Decodes the records of the (compressed or not) batch at `pos`, pushing them to `out`, like
 * core's decodeBatchRecords. Keys and values are views into the decompressed bytes.
 */
export function decodeCompressedBatch(
  buf: Buffer,
  pos: number,
  header: BatchHeader,
  topic: string,
  partition: number,
  out: LogRecord[],
): void {
  const end = pos + header.sizeBytes
  if (end > buf.length) {
    throw new EddyError(
      'CORRUPT_RECORD',
      `batch at offset ${header.baseOffset} of ${topic}-${partition} is cut: ${buf.length - pos} of ${header.sizeBytes} bytes`,
    )
  }
  let records: Buffer
  try {
    records = decompressRecords(compressionOf(header), buf.subarray(pos + BATCH_HEADER_BYTES, end))
  } catch (err) {
    throw inBatch(err, header, topic, partition)
  }
  decodeRecordsSection(records, 0, records.length, header, topic, partition, out)
}

export interface EncodeCompressedBatchOptions extends EncodeBatchOptions {
  readonly compression: Compression
}

/** Encodes records into one v2 batch whose records section is compressed with `compression`. */
export function encodeCompressedBatch(opts: EncodeCompressedBatchOptions): Buffer {
  // Encoded uncompressed first (bounded by what a reader would decompress), then compressed.
  const plain = encodeRecordBatch(opts, BATCH_HEADER_BYTES + limits.decompressedBatchBytesMax)
  if (opts.compression === Compression.None) {
    if (plain.length > limits.batchBytesMax) throw batchTooLarge(plain.length)
    return plain
  }
  const compressed = compressRecords(opts.compression, plain.subarray(BATCH_HEADER_BYTES))
  if (BATCH_HEADER_BYTES + compressed.length > limits.batchBytesMax) {
    throw batchTooLarge(BATCH_HEADER_BYTES + compressed.length)
  }
  return withCompressedRecords(plain, opts.compression, compressed)
}

function batchTooLarge(bytes: number): EddyError {
  return new EddyError(
    'BATCH_TOO_LARGE',
    `record batch is ${bytes} bytes; limits.batchBytesMax is ${limits.batchBytesMax}: send fewer records per batch`,
  )
}

export interface ValidatedBatch {
  readonly header: BatchHeader
  /** The records, decompressed; offsets are relative to the batch's base offset as sent. */
  readonly records: LogRecord[]
}

/**
 * Checks everything about a produced batch (compressed or not) that can be checked before it is
 * appended: size, length field, CRC-32C, offset deltas 0..count-1, that the records decompress
 * within limits.decompressedBatchBytesMax and parse exactly, record and key sizes, maxTimestamp.
 * Throws the EddyError the producer should get (CORRUPT_RECORD, INVALID_RECORD, RECORD_TOO_LARGE,
 * BATCH_TOO_LARGE); returns the header and the decoded records.
 */
export function validateCompressedBatch(batch: Buffer, topic = '', partition = 0): ValidatedBatch {
  const where = `${topic}-${partition}`
  const fail = (code: EddyErrorCode, message: string) => new EddyError(code, `${where}: ${message}`)
  if (batch.length > limits.batchBytesMax) {
    throw fail(
      'BATCH_TOO_LARGE',
      `batch of ${batch.length} bytes exceeds limits.batchBytesMax (${limits.batchBytesMax})`,
    )
  }
  const header = readBatchHeader(batch, 0)
  if (header.sizeBytes !== batch.length) {
    throw fail(
      'CORRUPT_RECORD',
      `batch length field says ${header.sizeBytes} bytes but ${batch.length} were given`,
    )
  }
  if (header.recordCount <= 0 || header.lastOffsetDelta !== header.recordCount - 1) {
    throw fail(
      'INVALID_RECORD',
      `batch has ${header.recordCount} records and last offset delta ${header.lastOffsetDelta}; it needs at least one record, with offset deltas 0..count-1`,
    )
  }
  if (header.recordCount > limits.batchRecordsMax) {
    throw fail(
      'BATCH_TOO_LARGE',
      `batch has ${header.recordCount} records; limits.batchRecordsMax is ${limits.batchRecordsMax}`,
    )
  }
  if (!batchCrcValid(batch, 0, batch.length)) {
    throw fail('CORRUPT_RECORD', 'batch CRC-32C does not match its bytes: the producer must resend it')
  }
  let section: Buffer
  try {
    section = decompressRecords(compressionOf(header), batch.subarray(BATCH_HEADER_BYTES))
  } catch (err) {
    throw inBatch(err, header, topic, partition)
  }
  const records = validateRecordsSection(section, 0, section.length, header, topic, partition, where)
  return { header, records }
}

setBatchDecompressor(decompressRecords)
