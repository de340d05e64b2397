import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { crc32c } from './crc32c.js'
import { EddyError, isEddyError } from './errors.js'
import { limits } from './limits.js'
import { type LogRecord, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, type RecordInput } from './record.js'
import {
  ATTR_LOG_APPEND_TIME,
  BATCH_HEADER_BYTES,
  type BatchHeader,
  batchCrcValid,
  batchSizeAt,
  CONTROL_ABORT,
  CONTROL_COMMIT,
  Compression,
  checkRecordsSection,
  compressionOf,
  controlTypeOf,
  decodeBatchRecords,
  decodeRecordsSection,
  type EncodeBatchOptions,
  encodeControlBatch,
  encodeRecordBatch,
  isControl,
  isTransactional,
  lastOffsetOf,
  RecordBatchBuilder,
  readBatchHeader,
  setBaseOffset,
  setBatchDecompressor,
  setPartitionLeaderEpoch,
  validateRecordsSection,
  withCompressedRecords,
} from './record-batch.js'
import { varintSize, writeVarint } from './varint.js'

const CRC_START = 21

// ---- arbitraries ----

const bytes = (maxLength = 40) => fc.uint8Array({ maxLength }).map((u) => Buffer.from(u))
const timestamp = fc.integer({ min: 0, max: 2 ** 45 })

const recordInput: fc.Arbitrary<RecordInput> = fc.record(
  {
    key: fc.option(bytes(), { nil: null }),
    value: fc.option(bytes(), { nil: null }),
    timestamp,
    headers: fc.array(
      fc.record(
        {
          key: fc.string({ unit: 'grapheme', maxLength: 12 }),
          value: fc.option(bytes(16), { nil: null }),
        },
        { noNullPrototype: true },
      ),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: ['value'], noNullPrototype: true },
)

/** Strictly increasing offset deltas from 0 with gaps, as a compacted batch has. */
const offsetDeltas = (n: number) =>
  fc.array(fc.integer({ min: 1, max: 2 ** 20 }), { minLength: n, maxLength: n }).map((gaps) => {
    const deltas: number[] = []
    let d = gaps[0]! - 1
    for (const gap of gaps) {
      deltas.push(d)
      d += gap
    }
    return deltas
  })

const batchOptions: fc.Arbitrary<EncodeBatchOptions> = fc
  .array(recordInput, { minLength: 1, maxLength: 12 })
  .chain((records) =>
    fc.record(
      {
        records: fc.constant(records),
        offsetDeltas: offsetDeltas(records.length),
        baseOffset: fc.integer({ min: 0, max: 2 ** 50 }),
        defaultTimestamp: timestamp,
        producerId: fc.integer({ min: 0, max: 2 ** 50 }),
        producerEpoch: fc.integer({ min: 0, max: 32767 }),
        baseSequence: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        transactional: fc.boolean(),
        partitionLeaderEpoch: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      },
      { requiredKeys: ['records', 'defaultTimestamp'], noNullPrototype: true },
    ),
  )

// ---- helpers ----

function decodeAll(
  buf: Buffer,
  pos = 0,
  topic = 't',
  partition = 0,
): { header: BatchHeader; records: LogRecord[] } {
  const header = readBatchHeader(buf, pos)
  const records: LogRecord[] = []
  decodeBatchRecords(buf, pos, header, topic, partition, records)
  return { header, records }
}

function expectedRecords(opts: EncodeBatchOptions, topic: string, partition: number): LogRecord[] {
  return opts.records.map((r, i) => ({
    topic,
    partition,
    offset: (opts.baseOffset ?? 0) + (opts.offsetDeltas ? opts.offsetDeltas[i]! : i),
    timestamp: r.timestamp ?? opts.defaultTimestamp!,
    key: r.key ?? null,
    value: r.value,
    headers: r.headers ?? [],
  }))
}

function assertCorrupt(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isEddyError(err, 'CORRUPT_RECORD'), `expected EddyError CORRUPT_RECORD, got ${String(err)}`)
    return true
  })
}

/** Recomputes the CRC, so a test can corrupt the structure without the checksum catching it. */
function fixCrc(buf: Buffer): void {
  buf.writeUInt32BE(crc32c(buf, CRC_START, buf.length), 17)
}

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex')
}

const simpleBatch = () =>
  encodeRecordBatch({
    baseOffset: 100,
    defaultTimestamp: 1_000,
    records: [
      { key: Buffer.from('a'), value: Buffer.from('one'), headers: [{ key: 'h', value: Buffer.from('x') }] },
      { key: null, value: null, timestamp: 1_250 },
      { value: Buffer.from('three') },
    ],
  })

// ---- tests ----

describe('record batch v2', () => {
  it('matches hand-built bytes from the Kafka spec', () => {
    // Two records; every field laid out as in https://kafka.apache.org/documentation/#recordbatch
    const expected = hex(`
      00 00 00 00 00 00 00 2a   # baseOffset = 42
      00 00 00 48               # batchLength = 84 - 12
      00 00 00 00               # partitionLeaderEpoch = 0
      02                        # magic = 2
      60 1d 12 66               # crc = CRC-32C of bytes [21, 84)
      00 00                     # attributes: no compression, CreateTime, not transactional, not control
      00 00 00 01               # lastOffsetDelta = 1
      00 00 01 8b cf e5 68 00   # baseTimestamp = 1700000000000
      00 00 01 8b cf e5 68 05   # maxTimestamp = 1700000000005
      ff ff ff ff ff ff ff ff   # producerId = -1
      ff ff                     # producerEpoch = -1
      ff ff ff ff               # baseSequence = -1
      00 00 00 02               # records count = 2
      1a                        # record 0: length = 13 (zig-zag varint)
      00                          # attributes
      00                          # timestampDelta = 0
      00                          # offsetDelta = 0
      02 6b                       # key: length 1, "k"
      04 76 31                    # value: length 2, "v1"
      02                          # headers count = 1
      02 68 02 78                 # header "h" = "x"
      10                        # record 1: length = 8
      00                          # attributes
      0a                          # timestampDelta = 5
      02                          # offsetDelta = 1
      01                          # key: length -1 (null)
      04 76 32                    # value: length 2, "v2"
      00                          # headers count = 0
    `)
    assert.equal(expected.length, 84)
    const encoded = encodeRecordBatch({
      baseOffset: 42,
      records: [
        {
          key: Buffer.from('k'),
          value: Buffer.from('v1'),
          timestamp: 1_700_000_000_000,
          headers: [{ key: 'h', value: Buffer.from('x') }],
        },
        { key: null, value: Buffer.from('v2'), timestamp: 1_700_000_000_005 },
      ],
    })
    assert.equal(encoded.toString('hex'), expected.toString('hex'))

    const { header, records } = decodeAll(expected, 0, 'orders', 3)
    assert.ok(batchCrcValid(expected, 0, header.sizeBytes))
    assert.equal(header.crc, 0x601d1266)
    assert.equal(lastOffsetOf(header), 43)
    assert.deepEqual(records, [
      {
        topic: 'orders',
        partition: 3,
        offset: 42,
        timestamp: 1_700_000_000_000,
        key: Buffer.from('k'),
        value: Buffer.from('v1'),
        headers: [{ key: 'h', value: Buffer.from('x') }],
      },
      {
        topic: 'orders',
        partition: 3,
        offset: 43,
        timestamp: 1_700_000_000_005,
        key: null,
        value: Buffer.from('v2'),
        headers: [],
      },
    ])
  })

  it('round-trips any records through encode, header, CRC check and decode', () => {
    fc.assert(
      fc.property(batchOptions, fc.nat(30), (opts, prefixBytes) => {
        const batch = encodeRecordBatch(opts)
        // Place the batch after some bytes and before another batch, as in a segment.
        const buf = Buffer.concat([Buffer.alloc(prefixBytes, 0xee), batch, simpleBatch()])
        const pos = prefixBytes
        const header = readBatchHeader(buf, pos)
        const timestamps = opts.records.map((r) => r.timestamp ?? opts.defaultTimestamp!)
        const deltas = opts.offsetDeltas ?? opts.records.map((_, i) => i)
        assert.equal(header.sizeBytes, batch.length)
        assert.equal(batchSizeAt(buf, pos), batch.length)
        assert.ok(batchCrcValid(buf, pos, header.sizeBytes))
        assert.equal(header.baseOffset, opts.baseOffset ?? 0)
        assert.equal(header.recordCount, opts.records.length)
        assert.equal(header.lastOffsetDelta, deltas[deltas.length - 1])
        assert.equal(header.baseTimestamp, timestamps[0]) // the first record's, as Kafka's producer
        assert.equal(header.maxTimestamp, Math.max(...timestamps))
        assert.equal(header.producerId, opts.producerId ?? NO_PRODUCER_ID)
        assert.equal(header.producerEpoch, opts.producerEpoch ?? NO_PRODUCER_EPOCH)
        assert.equal(header.baseSequence, opts.baseSequence ?? NO_SEQUENCE)
        assert.equal(header.partitionLeaderEpoch, opts.partitionLeaderEpoch ?? 0)
        assert.equal(isTransactional(header), opts.transactional === true)
        assert.equal(isControl(header), false)
        assert.equal(compressionOf(header), 0)
        const out: LogRecord[] = []
        decodeBatchRecords(buf, pos, header, 'topic', 7, out)
        assert.deepEqual(out, expectedRecords(opts, 'topic', 7))
      }),
    )
  })

  it('uses the defaults: offsets 0..n-1, no producer, the default timestamp', () => {
    const batch = encodeRecordBatch({ records: [{ value: null }, { value: null }], defaultTimestamp: 5 })
    const { header, records } = decodeAll(batch)
    assert.equal(header.baseOffset, 0)
    assert.equal(header.lastOffsetDelta, 1)
    assert.equal(header.producerId, -1)
    assert.equal(header.producerEpoch, -1)
    assert.equal(header.baseSequence, -1)
    assert.deepEqual(
      records.map((r) => [r.offset, r.timestamp]),
      [
        [0, 5],
        [1, 5],
      ],
    )
  })

  it('a batch stamped with log-append time gives every record that time', () => {
    const batch = encodeRecordBatch({
      records: [
        { value: null, timestamp: 10 },
        { value: null, timestamp: 20 },
      ],
    })
    batch.writeInt16BE(batch.readInt16BE(21) | 0x08, 21)
    batch.writeBigInt64BE(999n, 35)
    batch.writeUInt32BE(crc32c(batch, 21, batch.length), 17)
    assert.deepEqual(
      decodeAll(batch).records.map((r) => r.timestamp),
      [999, 999],
    )
  })

  it('keeps an explicit lastOffsetDelta (compaction keeps it for producer sequences)', () => {
    const batch = encodeRecordBatch({ records: [{ value: null }], offsetDeltas: [3], lastOffsetDelta: 9 })
    const { header, records } = decodeAll(batch)
    assert.equal(header.lastOffsetDelta, 9)
    assert.equal(records[0]!.offset, 3)
  })

  it('rejects an empty batch', () => {
    assert.throws(
      () => encodeRecordBatch({ records: [] }),
      (err) => isEddyError(err, 'INVALID_RECORD'),
    )
  })

  it('its CRC detects any single bit flip in bytes [21, end)', () => {
    // Exhaustively on one batch...
    const batch = simpleBatch()
    for (let bit = CRC_START * 8; bit < batch.length * 8; bit++) {
      const copy = Buffer.from(batch)
      copy[bit >>> 3]! ^= 1 << (bit & 7)
      assert.equal(batchCrcValid(copy, 0, batch.length), false, `bit ${bit} flipped`)
    }
    // ...and at random on random batches.
    fc.assert(
      fc.property(batchOptions, fc.nat(), (opts, pick) => {
        const batch = encodeRecordBatch(opts)
        const bits = (batch.length - CRC_START) * 8
        const bit = CRC_START * 8 + (pick % bits)
        batch[bit >>> 3]! ^= 1 << (bit & 7)
        assert.equal(batchCrcValid(batch, 0, batch.length), false)
      }),
    )
  })

  it('setBaseOffset and setPartitionLeaderEpoch keep the CRC valid', () => {
    fc.assert(
      fc.property(
        batchOptions,
        fc.integer({ min: 0, max: 2 ** 52 }),
        fc.integer({ min: -1, max: 2 ** 31 - 1 }),
        (opts, baseOffset, epoch) => {
          const batch = encodeRecordBatch(opts)
          const crc = batch.readUInt32BE(17)
          setBaseOffset(batch, 0, baseOffset)
          setPartitionLeaderEpoch(batch, 0, epoch)
          assert.equal(batch.readUInt32BE(17), crc)
          assert.ok(batchCrcValid(batch, 0, batch.length))
          const { header, records } = decodeAll(batch, 0, 'topic', 7)
          assert.equal(header.baseOffset, baseOffset)
          assert.equal(header.partitionLeaderEpoch, epoch)
          assert.deepEqual(records, expectedRecords({ ...opts, baseOffset }, 'topic', 7))
        },
      ),
    )
  })

  it('encodes commit and abort control batches', () => {
    for (const commit of [true, false]) {
      const batch = encodeControlBatch({
        producerId: 77,
        producerEpoch: 3,
        commit,
        timestamp: 1_234,
        coordinatorEpoch: 5,
      })
      const header = readBatchHeader(batch)
      assert.ok(batchCrcValid(batch, 0, header.sizeBytes))
      assert.ok(isControl(header))
      assert.ok(isTransactional(header))
      assert.equal(header.producerId, 77)
      assert.equal(header.producerEpoch, 3)
      assert.equal(header.recordCount, 1)
      assert.equal(controlTypeOf(batch, 0, header), commit ? CONTROL_COMMIT : CONTROL_ABORT)
      const records: LogRecord[] = []
      decodeBatchRecords(batch, 0, header, 't', 0, records)
      assert.equal(records[0]!.timestamp, 1_234)
      assert.deepEqual(records[0]!.key, hex(commit ? '0000 0001' : '0000 0000'))
      // value: version int16 = 0, coordinatorEpoch int32
      assert.deepEqual(records[0]!.value, hex('0000 00000005'))
    }
  })

  it('controlTypeOf rejects a control batch without a valid key', () => {
    const batch = encodeRecordBatch({ records: [{ key: Buffer.from('x'), value: null }], control: true })
    assertCorrupt(() => controlTypeOf(batch, 0, readBatchHeader(batch)))
  })

  describe('limits', () => {
    /** Value length that makes a lone record (no key, no headers, delta 0) exactly `body` bytes. */
    function valueLengthForBody(body: number): number {
      let length = body - 5
      while (length + varintSize(length) + 5 > body) length--
      assert.equal(length + varintSize(length) + 5, body)
      return length
    }

    it('accepts a record of exactly limits.recordBytesMax and rejects one byte more', () => {
      const atLimit = Buffer.alloc(valueLengthForBody(limits.recordBytesMax))
      const batch = encodeRecordBatch({ records: [{ value: atLimit }], defaultTimestamp: 0 })
      assert.equal(decodeAll(batch).records[0]!.value!.length, atLimit.length)
      const over = Buffer.alloc(atLimit.length + 1)
      assert.throws(
        () => encodeRecordBatch({ records: [{ value: over }], defaultTimestamp: 0 }),
        (err: unknown) => isEddyError(err, 'RECORD_TOO_LARGE') && /limits\.recordBytesMax/.test(err.message),
      )
    })

    it('rejects a batch larger than limits.batchBytesMax', () => {
      const value = Buffer.alloc(limits.recordBytesMax - 100)
      const count = Math.floor(limits.batchBytesMax / value.length) + 1
      const records = Array.from({ length: count }, () => ({ value }))
      assert.throws(
        () => encodeRecordBatch({ records, defaultTimestamp: 0 }),
        (err: unknown) => isEddyError(err, 'BATCH_TOO_LARGE'),
      )
    })
  })

  describe('corrupt input', () => {
    it('a header shorter than 61 bytes is CORRUPT_RECORD', () => {
      const batch = simpleBatch()
      for (let length = 0; length < BATCH_HEADER_BYTES; length++) {
        assertCorrupt(() => readBatchHeader(batch.subarray(0, length)))
      }
      assertCorrupt(() => readBatchHeader(batch, batch.length - 10))
    })

    it('a magic other than 2 is CORRUPT_RECORD', () => {
      for (const magic of [0, 1, 3, -1]) {
        const batch = simpleBatch()
        batch.writeInt8(magic, 16)
        assertCorrupt(() => readBatchHeader(batch))
      }
    })

    it('a batch length below the header size is CORRUPT_RECORD', () => {
      const batch = simpleBatch()
      batch.writeInt32BE(BATCH_HEADER_BYTES - 13, 8)
      assertCorrupt(() => readBatchHeader(batch))
    })

    it('a compressed batch is CORRUPT_RECORD on decode, with what to do', () => {
      const batch = simpleBatch()
      batch.writeInt16BE(1, 21) // gzip
      fixCrc(batch)
      assert.throws(
        () => decodeAll(batch),
        (err: unknown) => isEddyError(err, 'CORRUPT_RECORD') && /compressed/.test(err.message),
      )
    })

    it('a compressed batch decodes through the registered decompressor, errors placed in the batch', () => {
      // A stand-in codec: "compressed" records are the plain ones reversed.
      const plain = simpleBatch()
      const reversed = Buffer.from(plain.subarray(BATCH_HEADER_BYTES)).reverse()
      const batch = withCompressedRecords(plain, Compression.Snappy, reversed)
      assert.equal(compressionOf(readBatchHeader(batch)), Compression.Snappy)
      assert.ok(batchCrcValid(batch, 0, batch.length))
      const seen: number[] = []
      setBatchDecompressor((codec, compressed) => {
        seen.push(codec)
        if (compressed.length === 0) throw new EddyError('CORRUPT_RECORD', 'nothing to decompress')
        return Buffer.from(compressed).reverse()
      })
      try {
        assert.deepEqual(decodeAll(batch, 0, 'orders', 2).records, decodeAll(plain, 0, 'orders', 2).records)
        assert.deepEqual(seen, [Compression.Snappy])
        const empty = withCompressedRecords(plain, Compression.Snappy, Buffer.alloc(0))
        assert.throws(
          () => decodeAll(empty, 0, 'orders', 2),
          (err: unknown) =>
            isEddyError(err, 'CORRUPT_RECORD') &&
            /offset 100 of orders-2: nothing to decompress/.test(err.message),
        )
      } finally {
        setBatchDecompressor(undefined)
      }
    })

    it('encodeRecordBatch takes a larger bound when asked', () => {
      const records = Array.from({ length: 20 }, () => ({ value: Buffer.alloc(limits.recordBytesMax - 100) }))
      assert.throws(
        () => encodeRecordBatch({ records }),
        (err: unknown) => isEddyError(err, 'BATCH_TOO_LARGE'),
      )
      assert.equal(encodeRecordBatch({ records }, 32 * 1024 * 1024).length > limits.batchBytesMax, true)
    })

    it('decoding a batch cut anywhere after its header throws CORRUPT_RECORD', () => {
      const batch = simpleBatch()
      for (let length = BATCH_HEADER_BYTES; length < batch.length; length++) {
        assertCorrupt(() => decodeAll(batch.subarray(0, length)))
      }
    })
    it('decoding any truncated batch throws CORRUPT_RECORD', () => {
      const cut = encodeRecordBatch({
        records: [{ value: null, headers: [{ key: 'h', value: Buffer.from('abcd') }] }],
        defaultTimestamp: 0,
      })
      assertCorrupt(() => decodeAll(cut.subarray(0, cut.length - 1)))
      fc.assert(
        fc.property(batchOptions, fc.nat(), (opts, cut) => {
          const batch = encodeRecordBatch(opts)
          const length = BATCH_HEADER_BYTES + (cut % (batch.length - BATCH_HEADER_BYTES))
          assertCorrupt(() => decodeAll(batch.subarray(0, length)))
        }),
      )
    })
    it('batchCrcValid is false for a truncated batch', () => {
      const batch = encodeRecordBatch({ records: [{ value: Buffer.from('x') }], defaultTimestamp: 1 })
      const header = readBatchHeader(batch)
      for (let length = BATCH_HEADER_BYTES; length < batch.length; length++) {
        assert.equal(batchCrcValid(batch.subarray(0, length), 0, header.sizeBytes), false, `cut at ${length}`)
      }
    })

    it('structural damage behind a valid CRC is CORRUPT_RECORD, never wrong records', () => {
      const damage: Record<string, (b: Buffer) => Buffer> = {
        'one record more than present': (b) => {
          b.writeInt32BE(4, 57)
          return b
        },
        'one record fewer than present': (b) => {
          b.writeInt32BE(2, 57)
          return b
        },
        'batch length one byte short': (b) => {
          b.writeInt32BE(b.readInt32BE(8) - 1, 8)
          return b
        },
        'batch length one byte long, with a spare byte': (b) => {
          const longer = Buffer.concat([b, Buffer.of(0)])
          longer.writeInt32BE(b.readInt32BE(8) + 1, 8)
          return longer
        },
        'first record length one more': (b) => {
          b[61]! += 2
          return b
        },
        'first record length one less': (b) => {
          b[61]! -= 2
          return b
        },
        'first record length negative': (b) => {
          b[61] = 0x01
          return b
        },
        'first key length past the record': (b) => {
          b[65] = 0x7e
          return b
        },
        'negative header count': (b) => {
          const at = 61 + 1 + 4 + 2 + 4 // record 0: length, attrs, ts, delta, key "a", value "one"
          assert.equal(b[at], 0x02)
          b[at] = 0x01
          return b
        },
      }
      for (const [name, damageFn] of Object.entries(damage)) {
        const batch = damageFn(simpleBatch())
        fixCrc(batch)
        assert.throws(
          () => decodeAll(batch),
          (err: unknown) => isEddyError(err, 'CORRUPT_RECORD'),
          `${name}: expected CORRUPT_RECORD`,
        )
      }
    })

    it('decoding garbled bytes only ever throws CORRUPT_RECORD, and reads only inside the batch', () => {
      fc.assert(
        fc.property(
          batchOptions,
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
          (opts, edits) => {
            const batch = encodeRecordBatch(opts)
            // Garble the records and the record count, keep the header parseable.
            for (const [at, byte] of edits) batch[57 + (at % (batch.length - 57))] = byte
            const buf = Buffer.concat([batch, Buffer.alloc(64, 0x55)])
            const header = readBatchHeader(buf)
            const out: LogRecord[] = []
            try {
              decodeBatchRecords(buf, 0, header, 't', 0, out)
            } catch (err) {
              if (isEddyError(err, 'CORRUPT_RECORD')) return
              throw err
            }
            assert.equal(out.length, header.recordCount)
            for (const r of out) {
              for (const field of [r.key, r.value, ...r.headers.map((h) => h.value)]) {
                if (field === null) continue
                assert.equal(field.buffer, buf.buffer)
                assert.ok(field.byteOffset >= buf.byteOffset + BATCH_HEADER_BYTES)
                assert.ok(field.byteOffset + field.length <= buf.byteOffset + header.sizeBytes)
              }
            }
          },
        ),
      )
    })

    it('reading arbitrary bytes as a batch only ever throws CORRUPT_RECORD', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (raw, fixLength) => {
          const buf = Buffer.from(raw)
          if (buf.length >= BATCH_HEADER_BYTES) {
            buf.writeInt8(2, 16)
            if (fixLength) buf.writeInt32BE(buf.length - 12, 8)
            buf.writeInt16BE(buf.readInt16BE(21) & ~0x07, 21)
          }
          try {
            const { header } = decodeAll(buf)
            batchCrcValid(buf, 0, Math.min(header.sizeBytes, buf.length))
          } catch (err) {
            if (!(err instanceof EddyError) || err.code !== 'CORRUPT_RECORD') throw err
          }
        }),
      )
    })
  })

  describe('checkRecordsSection (the append path: no records built)', () => {
    /**
     * What an append must refuse, stated through the decoder: the records parse exactly, then
     * per record (first failing record wins) size, offset delta 0..n-1 and key size, then the
     * header's maxTimestamp. Returns the error code, or null when the batch is accepted.
     */
    function reference(batch: Buffer): string | null {
      const header = readBatchHeader(batch, 0)
      const records: LogRecord[] = []
      try {
        decodeRecordsSection(batch, BATCH_HEADER_BYTES, batch.length, header, 't', 0, records)
      } catch (err) {
        if (isEddyError(err)) return err.code
        throw err
      }
      let pos = BATCH_HEADER_BYTES
      let max = Number.NEGATIVE_INFINITY
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!
        let length = 0
        let shift = 0
        for (;;) {
          const b = batch[pos++]!
          length |= (b & 0x7f) << shift
          if (b < 0x80) break
          shift += 7
        }
        length = (length >>> 1) ^ -(length & 1)
        pos += length
        if (length > limits.recordBytesMax) return 'RECORD_TOO_LARGE'
        if (r.offset - header.baseOffset !== i) return 'INVALID_RECORD'
        if (r.key !== null && r.key.length > limits.keyBytesMax) return 'RECORD_TOO_LARGE'
        if (r.timestamp > max) max = r.timestamp
      }
      if ((header.attributes & ATTR_LOG_APPEND_TIME) === 0 && header.maxTimestamp !== max)
        return 'INVALID_RECORD'
      return null
    }

    function outcome(batch: Buffer): string | null {
      const header = readBatchHeader(batch, 0)
      try {
        checkRecordsSection(batch, BATCH_HEADER_BYTES, batch.length, header, 't', 0, 't-0')
        return null
      } catch (err) {
        if (isEddyError(err)) return err.code
        throw err
      }
    }

    /** A record body by hand: attributes 0, the given timestamp and offset deltas, key, value, no headers. */
    function rawRecord(delta: number, key: Buffer | null, value: Buffer): Buffer {
      const body = Buffer.alloc(32 + (key?.length ?? 0) + value.length)
      let pos = 1
      pos = writeVarint(body, pos, 0)
      pos = writeVarint(body, pos, delta)
      pos = writeVarint(body, pos, key === null ? -1 : key.length)
      if (key !== null) pos += key.copy(body, pos)
      pos = writeVarint(body, pos, value.length)
      pos += value.copy(body, pos)
      pos = writeVarint(body, pos, 0)
      const prefix = Buffer.alloc(5)
      return Buffer.concat([prefix.subarray(0, writeVarint(prefix, 0, pos)), body.subarray(0, pos)])
    }

    /** A batch of `records` (raw bodies), header fields set to match, CRC fixed. */
    function rawBatch(records: Buffer[]): Buffer {
      const head = encodeRecordBatch({ records: [{ value: null }], defaultTimestamp: 7 }).subarray(
        0,
        BATCH_HEADER_BYTES,
      )
      const batch = Buffer.concat([head, ...records])
      batch.writeInt32BE(batch.length - 12, 8)
      batch.writeInt32BE(records.length - 1, 23)
      batch.writeInt32BE(records.length, 57)
      fixCrc(batch)
      return batch
    }

    it('accepts every batch the encoder makes with offsets 0..n-1', () => {
      fc.assert(
        fc.property(batchOptions, (opts) => {
          const batch = encodeRecordBatch({ ...opts, offsetDeltas: undefined, lastOffsetDelta: undefined })
          assert.equal(outcome(batch), null)
          assert.deepEqual(
            validateRecordsSection(
              batch,
              BATCH_HEADER_BYTES,
              batch.length,
              readBatchHeader(batch),
              't',
              0,
              't-0',
            ),
            decodeAll(batch).records,
          )
        }),
      )
    })

    it('refuses exactly what decoding and checking the records refuses, with the same code', () => {
      fc.assert(
        fc.property(
          batchOptions,
          fc.boolean(),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
          fc.boolean(),
          (opts, gaps, edits, logAppendTime) => {
            const batch = encodeRecordBatch(gaps ? opts : { ...opts, offsetDeltas: undefined })
            // Garble the maxTimestamp, the record count and the records; keep the header parseable.
            for (const [at, byte] of edits) batch[35 + (at % (batch.length - 35))] = byte
            batch.writeInt8(2, 16)
            if (logAppendTime) batch.writeInt16BE(batch.readInt16BE(21) | ATTR_LOG_APPEND_TIME, 21)
            assert.equal(outcome(batch), reference(batch))
          },
        ),
        { numRuns: 2000 },
      )
    })

    it('refuses a record over limits.recordBytesMax and a key over limits.keyBytesMax, naming them', () => {
      const big = rawBatch([
        rawRecord(0, null, Buffer.alloc(8)),
        rawRecord(1, null, Buffer.alloc(limits.recordBytesMax)),
      ])
      assert.equal(reference(big), 'RECORD_TOO_LARGE')
      assert.throws(
        () => checkRecordsSection(big, BATCH_HEADER_BYTES, big.length, readBatchHeader(big), 't', 0, 't-0'),
        (err: unknown) =>
          isEddyError(err, 'RECORD_TOO_LARGE') &&
          /^t-0: record 1 is \d+ bytes; limits\.recordBytesMax/.test(err.message),
      )
      const bigKey = rawBatch([rawRecord(0, Buffer.alloc(limits.keyBytesMax + 1), Buffer.alloc(1))])
      assert.equal(reference(bigKey), 'RECORD_TOO_LARGE')
      assert.throws(
        () =>
          checkRecordsSection(
            bigKey,
            BATCH_HEADER_BYTES,
            bigKey.length,
            readBatchHeader(bigKey),
            't',
            0,
            't-0',
          ),
        (err: unknown) =>
          isEddyError(err, 'RECORD_TOO_LARGE') && err.message.includes(`${limits.keyBytesMax + 1}-byte key`),
      )
      const atLimit = rawBatch([rawRecord(0, Buffer.alloc(limits.keyBytesMax), Buffer.alloc(1))])
      assert.equal(reference(atLimit), null)
      assert.equal(outcome(atLimit), null)
    })

    it('a malformed record after one that breaks a rule is still CORRUPT_RECORD', () => {
      const broken = rawRecord(1, null, Buffer.alloc(4))
      broken[0] = 0x7e // length past the batch
      const batch = rawBatch([rawRecord(5, null, Buffer.alloc(4)), broken])
      assert.equal(reference(batch), 'CORRUPT_RECORD')
      assert.equal(outcome(batch), 'CORRUPT_RECORD')
    })
  })
})

describe('RecordBatchBuilder', () => {
  // Text fields: ASCII, and text whose UTF-8 is longer than its length (the varint guesses move).
  const text = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'grapheme', maxLength: 80 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
  )
  const field = fc.oneof(fc.constant(null), bytes(200), text)
  const added = fc.record({
    key: field,
    value: field,
    timestamp,
    headers: fc.array(
      fc.record(
        { key: fc.string({ maxLength: 8 }), value: fc.option(bytes(16), { nil: null }) },
        { noNullPrototype: true },
      ),
      { maxLength: 2 },
    ),
  })
  const asBytes = (f: Buffer | string | null) => (typeof f === 'string' ? Buffer.from(f, 'utf8') : f)

  it('builds the batch that decodes to the records added, text as UTF-8, timestamps exact', () => {
    fc.assert(
      fc.property(fc.array(added, { minLength: 1, maxLength: 20 }), fc.nat(1000), (records, sequence) => {
        const builder = new RecordBatchBuilder(limits.batchBytesMax, 64)
        for (const r of records) assert.equal(builder.add(r.key, r.value, r.timestamp, r.headers), true)
        assert.equal(builder.length, records.length)
        const batch = builder.build({
          producerId: 9,
          producerEpoch: 2,
          baseSequence: sequence,
          transactional: true,
        })
        assert.equal(builder.sizeBytes, batch.length)
        const header = readBatchHeader(batch, 0)
        assert.equal(header.sizeBytes, batch.length)
        assert.ok(batchCrcValid(batch, 0, header.sizeBytes))
        assert.equal(header.recordCount, records.length)
        assert.equal(header.lastOffsetDelta, records.length - 1)
        assert.equal(header.baseTimestamp, records[0]!.timestamp) // the first record's, as Kafka's producer
        assert.equal(header.maxTimestamp, Math.max(...records.map((r) => r.timestamp)))
        assert.equal(header.producerId, 9)
        assert.equal(header.baseSequence, sequence)
        assert.ok(isTransactional(header))
        const out: LogRecord[] = []
        decodeBatchRecords(batch, 0, header, 't', 0, out)
        assert.deepEqual(
          out.map((r) => [r.offset, r.timestamp, r.key, r.value, r.headers]),
          records.map((r, i) => [i, r.timestamp, asBytes(r.key), asBytes(r.value), r.headers]),
        )
        // Records that encodeRecordBatch takes give the same bytes when the first time is the least.
        if (records.every((r) => r.timestamp >= records[0]!.timestamp)) {
          const same = encodeRecordBatch({
            records: records.map((r) => ({ ...r, key: asBytes(r.key), value: asBytes(r.value) })),
            producerId: 9,
            producerEpoch: 2,
            baseSequence: sequence,
            transactional: true,
          })
          assert.deepEqual(batch, same)
        }
      }),
    )
  })

  it('build again rewrites the header in place (a new sequence), the CRC still right', () => {
    const builder = new RecordBatchBuilder()
    builder.add('k', 'v', 5, undefined)
    builder.build({ baseSequence: 1 })
    const again = builder.build({ baseSequence: 40 })
    assert.equal(readBatchHeader(again, 0).baseSequence, 40)
    assert.ok(batchCrcValid(again, 0, again.length))
  })

  it('says a record does not fit past bytesMax, and keeps the batch as it was', () => {
    const builder = new RecordBatchBuilder(BATCH_HEADER_BYTES + 60)
    assert.equal(builder.add(null, 'x'.repeat(40), 1, undefined), true)
    const size = builder.sizeBytes
    assert.equal(builder.add(null, 'y'.repeat(40), 2, undefined), false)
    assert.equal(builder.sizeBytes, size)
    assert.equal(builder.length, 1)
    const out: LogRecord[] = []
    const batch = builder.build()
    decodeBatchRecords(batch, 0, readBatchHeader(batch, 0), 't', 0, out)
    assert.deepEqual(
      out.map((r) => r.value?.toString()),
      ['x'.repeat(40)],
    )
    const alone = new RecordBatchBuilder(BATCH_HEADER_BYTES + 10)
    assert.throws(() => alone.add(null, 'z'.repeat(40), 1, undefined), { code: 'BATCH_TOO_LARGE' })
  })

  it('refuses a record or key over the limits, and an empty build', () => {
    const builder = new RecordBatchBuilder()
    assert.throws(() => builder.add(Buffer.alloc(limits.keyBytesMax + 1), null, 1, undefined), {
      code: 'RECORD_TOO_LARGE',
    })
    assert.throws(() => builder.add(null, 'v'.repeat(limits.recordBytesMax), 1, undefined), {
      code: 'RECORD_TOO_LARGE',
    })
    assert.equal(builder.length, 0)
    assert.throws(() => builder.build(), { code: 'INVALID_RECORD' })
    // A text key counts by its UTF-8 bytes: 'é' is two.
    const atLimit = 'é'.repeat(limits.keyBytesMax / 2)
    assert.equal(builder.add(atLimit, null, 1, undefined), true)
    assert.throws(() => builder.add(`${atLimit}é`, null, 1, undefined), {
      code: 'RECORD_TOO_LARGE',
      message: new RegExp(`a ${limits.keyBytesMax + 2}-byte key`),
    })
  })
})
