import assert from 'node:assert/strict'
import fs from 'node:fs'
import { describe, it } from 'node:test'
import zlib from 'node:zlib'
import fc from 'fast-check'
import { crc32c } from '../core/crc32c.js'
import { isEddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { LogRecord, RecordInput } from '../core/record.js'
import {
  BATCH_HEADER_BYTES,
  batchCrcValid,
  compressionOf,
  decodeBatchRecords,
  encodeRecordBatch,
  readBatchHeader,
  setBatchDecompressor,
  withCompressedRecords,
} from '../core/record-batch.js'
import { writeVarint } from '../core/varint.js'
import {
  Compression,
  compressionName,
  compressRecords,
  decodeCompressedBatch,
  decompressRecords,
  encodeCompressedBatch,
  validateCompressedBatch,
} from './compression.js'
import { CLI_SPLIT, CLIENT_MESSAGES, cliPlaintext } from './testdata/fixtures.js'

const CODECS = [Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd] as const
const testdata = (name: string) => fs.readFileSync(new URL(`./testdata/${name}`, import.meta.url))

// ---- arbitraries and helpers ----

const bytes = (maxLength = 64) => fc.uint8Array({ maxLength }).map((u) => Buffer.from(u))
/** Values that compress: repeated words, as JSON records are. */
const compressible = fc
  .array(fc.constantFrom('sensor', 'reading', '42', '{"a":', '}', ' ', 'north'), { maxLength: 60 })
  .map((words) => Buffer.from(words.join('')))

const recordInput: fc.Arbitrary<RecordInput> = fc.record(
  {
    key: fc.option(bytes(16), { nil: null }),
    value: fc.option(fc.oneof(bytes(), compressible), { nil: null }),
    timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    headers: fc.array(
      fc.record(
        { key: fc.string({ maxLength: 8 }), value: fc.option(bytes(8), { nil: null }) },
        { noNullPrototype: true },
      ),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: ['value'], noNullPrototype: true },
)

function decode(batch: Buffer, topic = 't', partition = 0): LogRecord[] {
  const out: LogRecord[] = []
  decodeCompressedBatch(batch, 0, readBatchHeader(batch), topic, partition, out)
  return out
}

function throwsCode(fn: () => unknown, ...codes: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(
      codes.some((c) => isEddyError(err, c as never)),
      `expected EddyError ${codes.join('|')}, got ${String(err)}`,
    )
    return true
  })
}

/** A copy of `batch` changed by `edit`, with a CRC that matches again. */
function rewritten(batch: Buffer, edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(batch)
  edit(b)
  b.writeUInt32BE(crc32c(b, 21, b.length), 17)
  return b
}

/** A batch of one small record whose records section is replaced by `section`, flagged `codec`. */
function batchWithSection(codec: number, section: Buffer): Buffer {
  const plain = encodeRecordBatch({ records: [{ value: Buffer.from('x'), timestamp: 1 }] })
  return withCompressedRecords(plain, codec as Compression, section)
}

// ---- tests ----

describe('compressRecords / decompressRecords', () => {
  for (const codec of CODECS) {
    it(`${compressionName(codec)}: round trips any bytes`, () => {
      fc.assert(
        fc.property(fc.oneof(bytes(3000), compressible), (data) => {
          assert.deepEqual(decompressRecords(codec, compressRecords(codec, data)), data)
        }),
        { numRuns: 150 },
      )
    })

    it(`${compressionName(codec)}: round trips data of several blocks`, () => {
      const data = Buffer.concat([cliPlaintext(), cliPlaintext(), Buffer.alloc(300_000, 7)])
      const compressed = compressRecords(codec, data)
      assert.ok(compressed.length < data.length / 2, `${compressed.length} of ${data.length}`)
      assert.deepEqual(decompressRecords(codec, compressed), data)
    })
  }

  it('writes the formats Kafka expects', () => {
    const data = Buffer.concat([cliPlaintext(), cliPlaintext()])
    assert.deepEqual(compressRecords(Compression.Gzip, data).subarray(0, 2), Buffer.from([0x1f, 0x8b]))
    // snappy: xerial framing like the Java client: magic, version 1, compatible 1, int32 blocks of
    // at most 32 KiB of input each.
    const snappy = compressRecords(Compression.Snappy, data)
    assert.equal(snappy.subarray(0, 16).toString('hex'), '82534e41505059000000000100000001')
    let blocks = 0
    for (let at = 16; at < snappy.length; at += 4 + snappy.readInt32BE(at)) blocks++
    assert.equal(blocks, Math.ceil(data.length / 32768))
    // lz4: one frame, version 01, independent blocks (Kafka refuses linked ones), no dictionary.
    const lz4 = compressRecords(Compression.Lz4, data)
    assert.equal(lz4.readUInt32LE(0), 0x184d2204)
    assert.equal(lz4[4]! & 0xe1, 0x60)
    assert.equal(compressRecords(Compression.Zstd, data).readUInt32LE(0), 0xfd2fb528)
  })

  it('reads a raw snappy block, as librdkafka writes', () => {
    const data = cliPlaintext()
    const raw = compressRecords(Compression.Snappy, data.subarray(0, 1000)).subarray(20) // one block, unframed
    assert.deepEqual(decompressRecords(Compression.Snappy, raw), data.subarray(0, 1000))
  })

  it('reads what the reference lz4, zstd and gzip tools wrote', () => {
    const plain = cliPlaintext()
    // lz4 -B4 -BD -BX --content-size: linked 64 KiB blocks, block + content checksums, size.
    const lz4 = testdata('cli-lz4-linked.bin')
    assert.equal(lz4[4], 0x5c)
    assert.deepEqual(decompressRecords(Compression.Lz4, lz4), plain)
    // zstd -19 --check (content size known), a skippable frame, a streamed frame (size unknown).
    assert.deepEqual(decompressRecords(Compression.Zstd, testdata('cli-zstd-frames.bin')), plain)
    // gzip: two members.
    assert.deepEqual(decompressRecords(Compression.Gzip, testdata('cli-gzip-members.bin')), plain)
    assert.ok(CLI_SPLIT < plain.length)
  })

  it('refuses unknown codecs and cannot compress with them', () => {
    for (const codec of [5, 6, 7]) {
      throwsCode(() => decompressRecords(codec, Buffer.from('x')), 'CORRUPT_RECORD')
      throwsCode(() => compressRecords(codec as Compression, Buffer.from('x')), 'UNSUPPORTED_COMPRESSION')
    }
    assert.equal(compressionName(3), 'lz4')
    assert.equal(compressionName(6), 'codec 6')
  })
})

describe('corrupt compressed data', () => {
  const data = Buffer.concat([cliPlaintext().subarray(0, 90_000), Buffer.alloc(5000, 1)])

  for (const codec of CODECS) {
    const good = compressRecords(codec, data)

    it(`${compressionName(codec)}: cut, empty or garbage data is CORRUPT_RECORD`, () => {
      throwsCode(() => decompressRecords(codec, good.subarray(0, good.length - 3)), 'CORRUPT_RECORD')
      throwsCode(() => decompressRecords(codec, good.subarray(0, good.length >> 1)), 'CORRUPT_RECORD')
      throwsCode(() => decompressRecords(codec, Buffer.alloc(0)), 'CORRUPT_RECORD')
      throwsCode(
        () => decompressRecords(codec, Buffer.from('definitely not compressed data')),
        'CORRUPT_RECORD',
      )
      throwsCode(
        () => decompressRecords(codec, Buffer.concat([good, Buffer.from([1, 2, 3])])),
        'CORRUPT_RECORD',
      )
    })

    it(`${compressionName(codec)}: flipped bytes give an EddyError or records, never a crash`, () => {
      const batch = encodeCompressedBatch({
        compression: codec,
        records: [
          { key: Buffer.from('k'), value: data.subarray(0, 20_000), timestamp: 5 },
          { value: data.subarray(0, 900) },
        ],
        defaultTimestamp: 9,
      })
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
          (flips) => {
            const b = Buffer.from(batch)
            const sectionBytes = b.length - BATCH_HEADER_BYTES
            for (const [at, x] of flips) b[BATCH_HEADER_BYTES + (at % sectionBytes)]! ^= x
            try {
              decode(b)
            } catch (err) {
              assert.ok(
                isEddyError(err, 'CORRUPT_RECORD') || isEddyError(err, 'BATCH_TOO_LARGE'),
                `unexpected ${String(err)}`,
              )
            }
          },
        ),
        { numRuns: 200 },
      )
    })
  }

  it('gzip and lz4 checksums catch a flipped byte', () => {
    const gz = Buffer.from(compressRecords(Compression.Gzip, data))
    gz[gz.length - 6]! ^= 1 // in the CRC-32 trailer
    throwsCode(() => decompressRecords(Compression.Gzip, gz), 'CORRUPT_RECORD')
    const lz4 = Buffer.from(testdata('cli-lz4-linked.bin'))
    lz4[lz4.length - 100]! ^= 1
    throwsCode(() => decompressRecords(Compression.Lz4, lz4), 'CORRUPT_RECORD')
    const badHeader = Buffer.from(testdata('cli-lz4-linked.bin'))
    badHeader[14]! ^= 0xff // the header checksum byte (after 8 bytes of content size)
    throwsCode(() => decompressRecords(Compression.Lz4, badHeader), 'CORRUPT_RECORD')
  })

  it('snappy refuses a block that does not hold its declared length', () => {
    const block = Buffer.from(
      compressRecords(Compression.Snappy, Buffer.from('abcdefgh'.repeat(20))).subarray(20),
    )
    block[0] = block[0]! + 1 // declares one byte more than it holds
    throwsCode(() => decompressRecords(Compression.Snappy, block), 'CORRUPT_RECORD')
    const xerial = compressRecords(Compression.Snappy, Buffer.from('abc'))
    const cut = Buffer.from(xerial)
    cut.writeInt32BE(1000, 16) // a block length past the end
    throwsCode(() => decompressRecords(Compression.Snappy, cut), 'CORRUPT_RECORD')
  })
})

describe('zip bombs', () => {
  it('gzip: stops at limits.decompressedBatchBytesMax, for a batch too', () => {
    const zeros = Buffer.alloc(limits.decompressedBatchBytesMax + 1024)
    const bomb = zlib.gzipSync(zeros, { level: 9 })
    assert.ok(bomb.length < 100_000)
    throwsCode(() => decompressRecords(Compression.Gzip, bomb), 'BATCH_TOO_LARGE')
    const batch = batchWithSection(Compression.Gzip, bomb)
    throwsCode(() => validateCompressedBatch(batch), 'BATCH_TOO_LARGE')
    throwsCode(() => decodeBatchRecords(batch, 0, readBatchHeader(batch), 't', 0, []), 'BATCH_TOO_LARGE')
    throwsCode(
      () => decompressRecords(Compression.Gzip, zlib.gzipSync(Buffer.alloc(2000)), 1000),
      'BATCH_TOO_LARGE',
    )
  })

  it('snappy: refuses a declared length over the limit before decompressing', () => {
    // varint 1 GiB, then a few bytes.
    const raw = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x61])
    throwsCode(() => decompressRecords(Compression.Snappy, raw), 'BATCH_TOO_LARGE')
    // xerial blocks that each stay small but add up past the bound.
    const xerial = compressRecords(Compression.Snappy, Buffer.alloc(200_000))
    assert.equal(decompressRecords(Compression.Snappy, xerial).length, 200_000)
    throwsCode(() => decompressRecords(Compression.Snappy, xerial, 100_000), 'BATCH_TOO_LARGE')
  })

  it('lz4: refuses a frame whose blocks could expand past the limit', () => {
    // One hand-made 267-byte block that expands to 64 KiB of zeros: a literal 0, a match of
    // 65530 bytes at offset 1, and 5 literal zeros to end (as LZ4 requires).
    const block = Buffer.concat([
      Buffer.from([0x1f, 0x00, 0x01, 0x00]),
      Buffer.alloc(256, 0xff),
      Buffer.from([231, 0x50]),
      Buffer.alloc(5),
    ])
    const frame = (blocks: number) => {
      const parts = [Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82])] // FLG, BD, header checksum
      for (let i = 0; i < blocks; i++) {
        const size = Buffer.alloc(4)
        size.writeUInt32LE(block.length)
        parts.push(size, block)
      }
      parts.push(Buffer.alloc(4))
      return Buffer.concat(parts)
    }
    assert.deepEqual(decompressRecords(Compression.Lz4, frame(2)), Buffer.alloc(131_072))
    // A content size the blocks cannot hold is refused before the decoder could size by it.
    const claims = Buffer.concat([
      Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x68, 0x40]),
      Buffer.alloc(8, 0xff),
      frame(2).subarray(6),
    ])
    throwsCode(() => decompressRecords(Compression.Lz4, claims), 'CORRUPT_RECORD')
    const bomb = frame(1100) // 72 MB from 300 KB
    throwsCode(() => decompressRecords(Compression.Lz4, bomb), 'BATCH_TOO_LARGE')
    throwsCode(() => validateCompressedBatch(batchWithSection(Compression.Lz4, bomb)), 'BATCH_TOO_LARGE')
  })

  it('zstd: refuses a declared content size or RLE blocks past the limit', () => {
    // Frames with a 128 KiB window, of RLE blocks of 128 KiB: 4 bytes each. With `contentSize`, the
    // header declares it (4 bytes).
    const rle = (blocks: number, contentSize?: number) => {
      const fcs = Buffer.alloc(contentSize === undefined ? 0 : 4)
      if (contentSize !== undefined) fcs.writeUInt32LE(contentSize)
      const parts = [
        Buffer.from([0x28, 0xb5, 0x2f, 0xfd, contentSize === undefined ? 0x00 : 0x80, 0x38]),
        fcs,
      ]
      for (let i = 0; i < blocks; i++) {
        const h = (i === blocks - 1 ? 1 : 0) | (1 << 1) | (131_072 << 3)
        parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0x61]))
      }
      return Buffer.concat(parts)
    }
    assert.deepEqual(decompressRecords(Compression.Zstd, rle(3)), Buffer.alloc(3 * 131_072, 0x61))
    assert.deepEqual(
      decompressRecords(Compression.Zstd, rle(3, 3 * 131_072)),
      Buffer.alloc(3 * 131_072, 0x61),
    )
    throwsCode(() => decompressRecords(Compression.Zstd, rle(3, 3 * 131_072 + 1)), 'CORRUPT_RECORD')
    const blocks = limits.decompressedBatchBytesMax / 131_072 + 1
    for (const bomb of [rle(blocks), rle(blocks, blocks * 131_072)]) {
      assert.ok(bomb.length < 5000)
      throwsCode(() => decompressRecords(Compression.Zstd, bomb), 'BATCH_TOO_LARGE')
      throwsCode(() => validateCompressedBatch(batchWithSection(Compression.Zstd, bomb)), 'BATCH_TOO_LARGE')
    }
  })
})

describe('compressed batches', () => {
  for (const codec of CODECS) {
    it(`${compressionName(codec)}: encode, validate and decode round trip`, () => {
      fc.assert(
        fc.property(
          fc.array(recordInput, { minLength: 1, maxLength: 30 }),
          fc.integer({ min: 0, max: 2 ** 40 }),
          (records, baseOffset) => {
            const batch = encodeCompressedBatch({
              compression: codec,
              records,
              baseOffset,
              defaultTimestamp: 7,
            })
            const header = readBatchHeader(batch)
            assert.equal(compressionOf(header), codec)
            assert.equal(header.sizeBytes, batch.length)
            assert.ok(batchCrcValid(batch, 0, batch.length))
            const plain = encodeRecordBatch({ records, baseOffset, defaultTimestamp: 7 })
            const expected: LogRecord[] = []
            decodeBatchRecords(plain, 0, readBatchHeader(plain), 'orders', 3, expected)
            assert.deepEqual(decode(batch, 'orders', 3), expected)
            assert.deepEqual(validateCompressedBatch(batch, 'orders', 3).records, expected)
            // core's decoder reads it too, through the decompressor this module registered.
            const viaCore: LogRecord[] = []
            decodeBatchRecords(batch, 0, header, 'orders', 3, viaCore)
            assert.deepEqual(viaCore, expected)
          },
        ),
        { numRuns: 60 },
      )
    })
  }

  it('decodes a batch inside a larger buffer', () => {
    const batch = encodeCompressedBatch({
      compression: Compression.Zstd,
      records: [{ value: Buffer.from('v') }],
    })
    const buf = Buffer.concat([Buffer.alloc(10), batch, Buffer.alloc(5)])
    const out: LogRecord[] = []
    decodeCompressedBatch(buf, 10, readBatchHeader(buf, 10), 't', 0, out)
    assert.equal(out[0]!.value!.toString(), 'v')
    throwsCode(
      () => decodeCompressedBatch(buf.subarray(0, 30), 10, readBatchHeader(buf, 10), 't', 0, []),
      'CORRUPT_RECORD',
    )
  })

  it('compresses a batch whose records are larger than limits.batchBytesMax', () => {
    const mb = Buffer.alloc(limits.recordBytesMax - 100)
    const records = Array.from({ length: 20 }, () => ({ value: mb, timestamp: 1 }))
    const batch = encodeCompressedBatch({ compression: Compression.Lz4, records })
    assert.ok(batch.length < limits.batchBytesMax)
    assert.equal(validateCompressedBatch(batch).records.length, 20)
    throwsCode(() => encodeRecordBatch({ records }), 'BATCH_TOO_LARGE')
  })

  it('without a registered decompressor core refuses compressed batches', () => {
    const batch = encodeCompressedBatch({
      compression: Compression.Gzip,
      records: [{ value: Buffer.from('v') }],
    })
    setBatchDecompressor(undefined)
    try {
      throwsCode(() => decodeBatchRecords(batch, 0, readBatchHeader(batch), 't', 0, []), 'CORRUPT_RECORD')
    } finally {
      setBatchDecompressor(decompressRecords)
    }
    assert.equal(decode(batch).length, 1)
  })
})

describe('validateCompressedBatch', () => {
  const records: RecordInput[] = [
    { key: Buffer.from('a'), value: Buffer.from('one'), timestamp: 10 },
    { key: Buffer.from('b'), value: Buffer.from('two'), timestamp: 30 },
    { key: null, value: Buffer.from('three'), timestamp: 20 },
  ]
  const good = encodeCompressedBatch({ compression: Compression.Snappy, records })

  it('accepts a good batch and returns its records', () => {
    const { header, records: out } = validateCompressedBatch(good, 'orders', 1)
    assert.equal(header.recordCount, 3)
    assert.deepEqual(
      out.map((r) => [r.offset, r.value!.toString()]),
      [
        [0, 'one'],
        [1, 'two'],
        [2, 'three'],
      ],
    )
  })

  it('refuses a bad CRC, length or record count', () => {
    const badCrc = Buffer.from(good)
    badCrc[good.length - 1]! ^= 1
    throwsCode(() => validateCompressedBatch(badCrc), 'CORRUPT_RECORD')
    throwsCode(() => validateCompressedBatch(Buffer.concat([good, Buffer.alloc(1)])), 'CORRUPT_RECORD')
    // The header says 4 records, but 3 are compressed inside.
    const moreRecords = rewritten(good, (b) => {
      b.writeInt32BE(4, 57)
      b.writeInt32BE(3, 23)
    })
    throwsCode(() => validateCompressedBatch(moreRecords), 'CORRUPT_RECORD')
    const noRecords = rewritten(good, (b) => {
      b.writeInt32BE(0, 57)
      b.writeInt32BE(-1, 23)
    })
    throwsCode(() => validateCompressedBatch(noRecords), 'INVALID_RECORD')
    const unknownCodec = rewritten(good, (b) => b.writeInt16BE(6, 21))
    throwsCode(() => validateCompressedBatch(unknownCodec), 'CORRUPT_RECORD')
  })

  it('refuses offset deltas other than 0..count-1 and a wrong maxTimestamp', () => {
    const gaps = encodeCompressedBatch({
      compression: Compression.Zstd,
      records,
      offsetDeltas: [0, 1, 5],
      lastOffsetDelta: 2,
    })
    throwsCode(() => validateCompressedBatch(gaps), 'INVALID_RECORD')
    const wrongMax = rewritten(good, (b) => b.writeUInt32BE(29, 39)) // low half of maxTimestamp
    throwsCode(() => validateCompressedBatch(wrongMax), 'INVALID_RECORD')
  })

  it('refuses records and keys over their limits, compressed small as they are', () => {
    // One record (the encoder would refuse to write it), timestamp and offset deltas 0.
    const value = Buffer.alloc(limits.recordBytesMax + 10)
    const body = Buffer.alloc(value.length + 16)
    let p = 3 // attributes, timestamp delta, offset delta: all 0
    p = writeVarint(body, p, -1) // null key
    p = writeVarint(body, p, value.length)
    p += value.copy(body, p)
    p = writeVarint(body, p, 0) // no headers
    const length = Buffer.alloc(5)
    const section = Buffer.concat([length.subarray(0, writeVarint(length, 0, p)), body.subarray(0, p)])
    const plain = encodeRecordBatch({ records: [{ value: null, timestamp: 0 }] })
    const big = withCompressedRecords(plain, Compression.Gzip, compressRecords(Compression.Gzip, section))
    assert.ok(big.length < 10_000)
    throwsCode(() => validateCompressedBatch(big), 'RECORD_TOO_LARGE')
    const bigKey = encodeCompressedBatch({
      compression: Compression.Lz4,
      records: [{ key: Buffer.alloc(limits.keyBytesMax + 1), value: null }],
    })
    throwsCode(() => validateCompressedBatch(bigKey), 'RECORD_TOO_LARGE')
  })
})

describe('batches produced by real clients', () => {
  const clients = [
    ['kcat-gzip.bin', Compression.Gzip, 'kcat'],
    ['kcat-snappy.bin', Compression.Snappy, 'kcat'],
    ['kcat-lz4.bin', Compression.Lz4, 'kcat'],
    ['kcat-zstd.bin', Compression.Zstd, 'kcat'],
    ['kafkajs-gzip.bin', Compression.Gzip, 'kafkajs'],
  ] as const

  for (const [file, codec, origin] of clients) {
    it(`${file}: validates and decodes to the messages produced`, () => {
      const batch = testdata(file)
      const { header, records } = validateCompressedBatch(batch, 'compressed', 0)
      assert.equal(compressionOf(header), codec)
      assert.deepEqual(
        records.map((r) => ({ key: r.key!.toString(), value: r.value!.toString() })),
        CLIENT_MESSAGES,
      )
      for (const r of records) assert.deepEqual(r.headers, [{ key: 'origin', value: Buffer.from(origin) }])
      assert.deepEqual(decode(batch, 'compressed', 0), records)
    })
  }

  it('librdkafka writes raw snappy and a 64 KiB-block LZ4 frame; the zstd frame has no content size', () => {
    assert.notEqual(testdata('kcat-snappy.bin')[BATCH_HEADER_BYTES], 0x82)
    const lz4 = testdata('kcat-lz4.bin').subarray(BATCH_HEADER_BYTES)
    assert.equal(lz4[4], 0x60)
    assert.equal(lz4[5], 0x40)
    assert.equal(testdata('kcat-zstd.bin')[BATCH_HEADER_BYTES + 4]! & 0xc0, 0)
  })

  it("reads librdkafka's snappy records wrapped in xerial framing", () => {
    const batch = testdata('kcat-snappy.bin')
    const raw = batch.subarray(BATCH_HEADER_BYTES)
    const size = Buffer.alloc(4)
    size.writeInt32BE(raw.length)
    const xerial = Buffer.concat([Buffer.from('82534e41505059000000000100000001', 'hex'), size, raw])
    assert.deepEqual(
      decompressRecords(Compression.Snappy, xerial),
      decompressRecords(Compression.Snappy, raw),
    )
  })
})
