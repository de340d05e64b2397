// The broker over a real socket, driven by a minimal client built on the protocol layer's codecs.
import assert from 'node:assert/strict'
import * as net from 'node:net'
import { after, before, describe, it } from 'node:test'
import { crc32 } from 'node:zlib'
import { EddyError } from '../../src/core/errors.js'
import type { LogRecord } from '../../src/core/record.js'
import { decodeBatchRecords, encodeRecordBatch, readBatchHeader } from '../../src/core/record-batch.js'
import {
  apis,
  decodeResponse,
  encodeRequest,
  KafkaErrors,
  supportedApiVersions,
  Writer,
} from '../../src/protocol/index.js'
import { startBroker, type TestBroker } from './harness.js'
import { KafkaTestClient } from './kafka-test-client.js'

function batchOf(
  values: string[],
  opts: {
    producerId?: number
    producerEpoch?: number
    baseSequence?: number
    transactional?: boolean
    timestamp?: number
  } = {},
): Buffer {
  return encodeRecordBatch({
    records: values.map((v, i) => ({
      key: Buffer.from(`k${i}`),
      value: Buffer.from(v),
      timestamp: opts.timestamp,
    })),
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    baseSequence: opts.baseSequence,
    transactional: opts.transactional,
  })
}

/** Every record of a fetched record set, decoded. */
function decodeAll(records: Buffer | null, topic = 't', partition = 0): LogRecord[] {
  const out: LogRecord[] = []
  if (records === null) return out
  let pos = 0
  while (pos < records.length) {
    const h = readBatchHeader(records, pos)
    if ((h.attributes & 0x20) === 0) decodeBatchRecords(records, pos, h, topic, partition, out)
    pos += h.sizeBytes
  }
  return out
}

const values = (records: LogRecord[]) => records.map((r) => r.value?.toString())

/** A message set v0/v1 (magic 0 or 1) of one uncompressed message, as pre-0.11 producers send. */
function legacyMessageSet(magic: 0 | 1, value: string): Buffer {
  const v = Buffer.from(value)
  const body = Buffer.alloc(1 + 1 + (magic === 1 ? 8 : 0) + 4 + 4 + v.length)
  let pos = body.writeInt8(magic, 0)
  pos = body.writeInt8(0, pos) // attributes: no compression
  if (magic === 1) pos = body.writeBigInt64BE(BigInt(Date.now()), pos)
  pos = body.writeInt32BE(-1, pos) // null key
  pos = body.writeInt32BE(v.length, pos)
  v.copy(body, pos)
  const head = Buffer.alloc(16)
  head.writeBigInt64BE(0n, 0) // offset
  head.writeInt32BE(4 + body.length, 8) // message size: crc + the rest
  head.writeUInt32BE(crc32(body), 12)
  return Buffer.concat([head, body])
}

function produceBody(
  topic: string,
  partition: number,
  records: Buffer,
  acks = -1,
  transactionalId: string | null = null,
) {
  return {
    transactionalId,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  }
}

function fetchBody(
  topic: string,
  partition: number,
  fetchOffset: number,
  extra: { maxWaitMs?: number; minBytes?: number; isolationLevel?: number; topicId?: string } = {},
) {
  return {
    maxWaitMs: extra.maxWaitMs ?? 0,
    minBytes: extra.minBytes ?? 1,
    maxBytes: 1024 * 1024,
    isolationLevel: extra.isolationLevel ?? 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        topicId: extra.topicId,
        partitions: [{ partition, fetchOffset, partitionMaxBytes: 1024 * 1024 }],
      },
    ],
  }
}

describe('broker', () => {
  let b: TestBroker
  let c: KafkaTestClient
  before(async () => {
    b = await startBroker()
    b.log.createTopic('t', { partitions: 2 })
    c = await b.connect()
  })
  after(async () => b.stop())

  describe('ApiVersions', () => {
    it('v3 lists every API with the protocol layer’s version ranges', async () => {
      const r = await c.request('ApiVersions', 3, {
        clientSoftwareName: 'eddy-test',
        clientSoftwareVersion: '1',
      })
      assert.equal(r.errorCode, KafkaErrors.NONE)
      assert.deepEqual(r.apiKeys, supportedApiVersions())
      assert.equal(r.apiKeys.length, 25)
    })

    it('answers a version it does not know with UNSUPPORTED_VERSION (v0 response), and the connection stays usable', async () => {
      const w = new Writer(64)
      w.reserveInt32()
      w.int16(18).int16(99).int32(4242).nullableString('future-client').emptyTaggedFields()
      w.compactString('x').compactString('y').emptyTaggedFields()
      const frame = w.finish()
      frame.writeInt32BE(frame.length - 4, 0)
      const raw = await c.raw(frame, 4242)
      const r = decodeResponse('ApiVersions', 0, raw)
      assert.equal(r.correlationId, 4242)
      assert.equal(r.body.errorCode, KafkaErrors.UNSUPPORTED_VERSION)
      assert.deepEqual(r.body.apiKeys, [
        { apiKey: 18, minVersion: apis.ApiVersions.minVersion, maxVersion: apis.ApiVersions.maxVersion },
      ])
      const again = await c.request('ApiVersions', 0, {})
      assert.equal(again.errorCode, KafkaErrors.NONE)
    })

    it('closes the connection on an unsupported version of another API, with a log line', async () => {
      const other = await b.connect()
      const w = new Writer(64)
      w.reserveInt32()
      w.int16(3).int16(99).int32(1).nullableString('future-client').emptyTaggedFields()
      const frame = w.finish()
      frame.writeInt32BE(frame.length - 4, 0)
      other.write(frame)
      await other.closed
      await b.logger.waitFor(/Metadata v99 is not supported/)
    })
  })

  describe('Metadata', () => {
    it('describes every topic with this node as leader and only replica; internal topics flagged', async () => {
      for (const v of [1, 9, 12]) {
        const r = await c.request('Metadata', v, { topics: null })
        assert.deepEqual(r.brokers, [{ nodeId: 0, host: '127.0.0.1', port: b.port, rack: null }])
        assert.equal(r.controllerId, 0)
        assert.equal(r.clusterId, v >= 2 ? b.broker.clusterId : null)
        const t = r.topics.find((x) => x.name === 't')!
        assert.equal(t.errorCode, 0)
        assert.equal(t.isInternal, false)
        assert.deepEqual(
          t.partitions.map((p) => [p.partitionIndex, p.leaderId, p.replicaNodes, p.isrNodes]),
          [
            [0, 0, [0], [0]],
            [1, 0, [0], [0]],
          ],
        )
        assert.equal(r.topics.find((x) => x.name === '__consumer_offsets')?.isInternal, true)
        if (v >= 10) assert.equal(t.topicId, b.log.topicId('t'))
      }
    })

    it('v0: an empty list means all topics', async () => {
      const r = await c.request('Metadata', 0, { topics: [] })
      assert.ok(r.topics.some((t) => t.name === 't'))
    })

    it('reports an unknown topic, and does not create it when the broker does not auto-create', async () => {
      const r = await c.request('Metadata', 9, { topics: [{ name: 'nope' }], allowAutoTopicCreation: true })
      assert.equal(r.topics[0]!.errorCode, KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION)
      assert.equal(b.log.hasTopic('nope'), false)
      const bad = await c.request('Metadata', 9, { topics: [{ name: 'bad/name' }] })
      assert.equal(bad.topics[0]!.errorCode, KafkaErrors.INVALID_TOPIC_EXCEPTION)
    })

    it('v12 finds a topic by id', async () => {
      const r = await c.request('Metadata', 12, { topics: [{ name: null, topicId: b.log.topicId('t') }] })
      assert.equal(r.topics[0]!.name, 't')
      const unknown = await c.request('Metadata', 12, {
        topics: [{ name: null, topicId: '11111111-2222-3333-4444-555555555555' }],
      })
      assert.equal(unknown.topics[0]!.errorCode, KafkaErrors.UNKNOWN_TOPIC_ID)
    })
  })

  describe('Produce and Fetch', () => {
    it('round-trips a v2 batch: produce v9 (acks all), fetch v11 and v13 (topic id) return the stored bytes', async () => {
      const batch = batchOf(['a', 'b', 'c'])
      const p = await c.request('Produce', 9, produceBody('t', 1, batch))
      const pr = p.responses[0]!.partitionResponses[0]!
      assert.equal(pr.errorCode, 0, pr.errorMessage ?? '')
      assert.equal(pr.baseOffset, 0)
      const f = await c.request('Fetch', 11, fetchBody('t', 1, 0))
      const fp = f.responses[0]!.partitions[0]!
      assert.equal(f.errorCode, 0)
      assert.equal(f.sessionId, 0)
      assert.equal(fp.errorCode, 0)
      assert.equal(fp.highWatermark, 3)
      assert.equal(fp.lastStableOffset, 3)
      assert.equal(fp.logStartOffset, 0)
      assert.equal(fp.abortedTransactions, null)
      assert.deepEqual(values(decodeAll(fp.records, 't', 1)), ['a', 'b', 'c'])
      // Stored byte for byte: only the base offset (outside the CRC) was set.
      assert.deepEqual(fp.records!.subarray(8), batch.subarray(8))

      const f13 = await c.request('Fetch', 13, fetchBody('', 1, 1, { topicId: b.log.topicId('t') }))
      assert.equal(f13.responses[0]!.topicId, b.log.topicId('t'))
      assert.deepEqual(values(decodeAll(f13.responses[0]!.partitions[0]!.records, 't', 1)), ['a', 'b', 'c'])
    })

    it('takes a record set of several batches; a corrupt one gets CORRUPT_MESSAGE', async () => {
      const two = Buffer.concat([batchOf(['x1']), batchOf(['x2', 'x3'])])
      const p = await c.request('Produce', 3, produceBody('t', 0, two))
      assert.equal(p.responses[0]!.partitionResponses[0]!.errorCode, 0)
      assert.equal(b.log.latestOffset('t', 0), 3)
      const corrupt = batchOf(['bad'])
      corrupt[corrupt.length - 1]! ^= 0xff
      const bad = await c.request('Produce', 8, produceBody('t', 0, corrupt))
      const pr = bad.responses[0]!.partitionResponses[0]!
      assert.equal(pr.errorCode, KafkaErrors.CORRUPT_MESSAGE)
      assert.match(pr.errorMessage ?? '', /CRC/)
      const cut = await c.request('Produce', 8, produceBody('t', 0, two.subarray(0, two.length - 5)))
      assert.equal(cut.responses[0]!.partitionResponses[0]!.errorCode, KafkaErrors.CORRUPT_MESSAGE)
      assert.equal(b.log.latestOffset('t', 0), 3)
    })

    it('Produce v0-v2 take v2 batches; message sets v0/v1 get UNSUPPORTED_FOR_MESSAGE_FORMAT, nothing stored', async () => {
      b.log.createTopic('legacy')
      for (const version of [0, 1, 2]) {
        const p = await c.request('Produce', version, produceBody('legacy', 0, batchOf([`v${version}`])))
        const pr = p.responses[0]!.partitionResponses[0]!
        assert.equal(pr.errorCode, 0, `v${version}: ${pr.errorMessage}`)
        assert.equal(pr.baseOffset, version)
      }
      const old = [
        legacyMessageSet(1, 'm1'),
        legacyMessageSet(0, 'm0'),
        Buffer.concat([batchOf(['ok']), legacyMessageSet(1, 'after a v2 batch')]),
      ]
      for (const version of [0, 2]) {
        for (const records of old) {
          const p = await c.request('Produce', version, produceBody('legacy', 0, records))
          const pr = p.responses[0]!.partitionResponses[0]!
          assert.equal(pr.errorCode, KafkaErrors.UNSUPPORTED_FOR_MESSAGE_FORMAT)
          assert.equal(pr.baseOffset, -1)
        }
      }
      assert.equal(b.log.latestOffset('legacy', 0), 3)
      assert.deepEqual(values((await b.log.read('legacy', 0, 0)).records), ['v0', 'v1', 'v2'])
      // v3+ never carried message sets v0/v1: there they are simply corrupt.
      const asV3 = await c.request('Produce', 3, produceBody('legacy', 0, legacyMessageSet(1, 'm1')))
      assert.equal(asV3.responses[0]!.partitionResponses[0]!.errorCode, KafkaErrors.CORRUPT_MESSAGE)
      assert.equal(b.log.latestOffset('legacy', 0), 3)

      // Fetch v0-v3 return the stored v2 batches as they are (no down-conversion).
      const stored = b.log.partition('legacy', 0).fetch(0, 1024 * 1024, 'read_uncommitted').bytes
      for (const version of [0, 1, 2, 3]) {
        const f = await c.request('Fetch', version, fetchBody('legacy', 0, 0))
        const fp = f.responses[0]!.partitions[0]!
        assert.equal(fp.errorCode, 0)
        assert.equal(fp.highWatermark, 3)
        assert.deepEqual(fp.records, stored)
        assert.deepEqual(values(decodeAll(fp.records, 'legacy')), ['v0', 'v1', 'v2'])
        const past = await c.request('Fetch', version, fetchBody('legacy', 0, 1000))
        assert.equal(past.responses[0]!.partitions[0]!.errorCode, KafkaErrors.OFFSET_OUT_OF_RANGE)
      }
      // Each version's fields: v1 adds throttleTimeMs (4 bytes), v4 lastStableOffset and
      // abortedTransactions (8 + 4 for a null array).
      const size = async (version: number) => {
        const id = 9000 + version
        const frame = encodeRequest(
          'Fetch',
          { apiVersion: version, correlationId: id, clientId: null },
          fetchBody('legacy', 0, 0),
        )
        return (await c.raw(frame, id)).length
      }
      const [v0, v1, v2, v3, v4] = [await size(0), await size(1), await size(2), await size(3), await size(4)]
      assert.deepEqual([v1 - v0, v2 - v1, v3 - v2, v4 - v3], [4, 0, 0, 12])
    })

    it('answers an unknown topic or partition per partition', async () => {
      const r = await c.request('Produce', 9, {
        acks: 1,
        timeoutMs: 1000,
        topicData: [
          { name: 'nope', partitionData: [{ index: 0, records: batchOf(['x']) }] },
          { name: 't', partitionData: [{ index: 7, records: batchOf(['x']) }] },
        ],
      })
      assert.deepEqual(
        r.responses.map((t) => t.partitionResponses[0]!.errorCode),
        [KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION, KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION],
      )
    })

    it('acks=0 gets no response; the next request’s response comes in order', async () => {
      const before = b.log.latestOffset('t', 0)
      c.send('Produce', 9, produceBody('t', 0, batchOf(['fire', 'forget']), 0))
      const r = await c.requestWithId('ApiVersions', 0, {})
      assert.equal(r.body.errorCode, 0)
      assert.equal(b.log.latestOffset('t', 0), before + 2)
    })

    it('OFFSET_OUT_OF_RANGE past the end', async () => {
      const f = await c.request('Fetch', 11, fetchBody('t', 1, 1000))
      assert.equal(f.responses[0]!.partitions[0]!.errorCode, KafkaErrors.OFFSET_OUT_OF_RANGE)
    })

    it('long poll: a fetch at the end waits, and an append wakes it', async () => {
      const end = b.log.latestOffset('t', 1)
      const started = Date.now()
      const pending = c.request('Fetch', 11, fetchBody('t', 1, end, { maxWaitMs: 10_000, minBytes: 1 }))
      await new Promise((r) => setTimeout(r, 100))
      await b.log.append('t', 1, [{ value: Buffer.from('wake') }])
      const f = await pending
      const elapsed = Date.now() - started
      assert.ok(elapsed >= 90 && elapsed < 5000, `woke after ${elapsed} ms`)
      assert.deepEqual(values(decodeAll(f.responses[0]!.partitions[0]!.records, 't', 1)), ['wake'])
    })

    it('long poll: returns empty after maxWaitMs when nothing comes', async () => {
      const end = b.log.latestOffset('t', 1)
      const started = Date.now()
      const f = await c.request('Fetch', 4, fetchBody('t', 1, end, { maxWaitMs: 200, minBytes: 1 }))
      const elapsed = Date.now() - started
      assert.ok(elapsed >= 190 && elapsed < 3000, `returned after ${elapsed} ms`)
      assert.equal(f.responses[0]!.partitions[0]!.records!.length, 0)
    })

    it('keeps a response within maxBytes past the first batch', async () => {
      b.log.createTopic('limits', { partitions: 2 })
      for (let i = 0; i < 5; i++) await b.log.append('limits', 0, [{ value: Buffer.alloc(1000, 1) }])
      await b.log.append('limits', 1, [{ value: Buffer.alloc(1000, 2) }])
      const f = await c.request('Fetch', 11, {
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1500,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: 'limits',
            partitions: [
              { partition: 0, fetchOffset: 0, partitionMaxBytes: 100 },
              { partition: 1, fetchOffset: 0, partitionMaxBytes: 100_000 },
            ],
          },
        ],
      })
      const [p0, p1] = f.responses[0]!.partitions
      // The first partition returns one batch even though it is over partitionMaxBytes; the
      // second's batch would pass maxBytes, so it waits for the next fetch.
      assert.equal(decodeAll(p0!.records, 'limits', 0).length, 1)
      assert.equal(p1!.records!.length, 0)
      assert.equal(p1!.highWatermark, 1)
    })

    it('refuses fetch sessions it does not have', async () => {
      const f = await c.request('Fetch', 11, { ...fetchBody('t', 0, 0), sessionId: 77, sessionEpoch: 3 })
      assert.equal(f.errorCode, KafkaErrors.FETCH_SESSION_ID_NOT_FOUND)
    })
  })

  describe('ListOffsets', () => {
    it('earliest, latest, by timestamp, and unknown partitions', async () => {
      b.log.createTopic('lo')
      await b.log.append('lo', 0, [{ value: Buffer.from('a'), timestamp: 1000 }])
      await b.log.append('lo', 0, [{ value: Buffer.from('b'), timestamp: 2000 }])
      await b.log.append('lo', 0, [{ value: Buffer.from('c'), timestamp: 3000 }])
      const r = await c.request('ListOffsets', 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [
          {
            name: 'lo',
            partitions: [-2, -1, 1500, 3000, 9999, -3].map((timestamp, i) => ({
              partitionIndex: 0,
              timestamp,
              i,
            })),
          },
          { name: 'nope', partitions: [{ partitionIndex: 0, timestamp: -1 }] },
        ],
      })
      const got = r.topics[0]!.partitions.map((p) => [p.errorCode, p.offset, p.timestamp])
      assert.deepEqual(got, [
        [0, 0, -1],
        [0, 3, -1],
        [0, 1, 2000],
        [0, 2, 3000],
        [0, -1, -1],
        [0, 2, 3000],
      ])
      assert.equal(r.topics[1]!.partitions[0]!.errorCode, KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION)
      const v0 = await c.request('ListOffsets', 0, {
        replicaId: -1,
        topics: [{ name: 'lo', partitions: [{ partitionIndex: 0, timestamp: -1, maxNumOffsets: 1 }] }],
      })
      assert.deepEqual(v0.topics[0]!.partitions[0]!.oldStyleOffsets, [3])
    })
  })

  describe('CreateTopics, DescribeConfigs, DeleteTopics', () => {
    it('creates with Kafka configs, refuses what it cannot do, validates only when asked', async () => {
      const r = await c.request('CreateTopics', 7, {
        topics: [
          {
            name: 'created',
            numPartitions: 3,
            replicationFactor: 1,
            configs: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'segment.bytes', value: '1048576' },
            ],
          },
          { name: 'rf3', numPartitions: 1, replicationFactor: 3 },
          {
            name: 'badcfg',
            numPartitions: 1,
            replicationFactor: -1,
            configs: [{ name: 'no.such', value: '1' }],
          },
          { name: 't', numPartitions: 1, replicationFactor: 1 },
          { name: 'bad name', numPartitions: 1, replicationFactor: 1 },
        ],
        timeoutMs: 1000,
      })
      assert.deepEqual(
        r.topics.map((t) => [t.name, t.errorCode]),
        [
          ['created', 0],
          ['rf3', KafkaErrors.INVALID_REPLICATION_FACTOR],
          ['badcfg', KafkaErrors.INVALID_CONFIG],
          ['t', KafkaErrors.TOPIC_ALREADY_EXISTS],
          ['bad name', KafkaErrors.INVALID_TOPIC_EXCEPTION],
        ],
      )
      const created = r.topics[0]!
      assert.equal(created.numPartitions, 3)
      assert.equal(created.topicId, b.log.topicId('created'))
      const config = b.log.describeTopic('created').config
      assert.equal(config.compact, true)
      assert.equal(config.retentionMs, null)
      assert.equal(config.segmentBytes, 1048576)

      const v = await c.request('CreateTopics', 4, {
        topics: [
          {
            name: 'only-validated',
            numPartitions: 2,
            replicationFactor: 1,
            configs: [{ name: 'retention.ms', value: '1000' }],
          },
        ],
        validateOnly: true,
      })
      assert.equal(v.topics[0]!.errorCode, 0)
      assert.equal(b.log.hasTopic('only-validated'), false)

      const d = await c.request('DescribeConfigs', 4, {
        resources: [
          { resourceType: 2, resourceName: 'created', configurationKeys: null },
          { resourceType: 2, resourceName: 'nope', configurationKeys: null },
          { resourceType: 4, resourceName: '0', configurationKeys: ['broker.id'] },
        ],
      })
      const cfg = Object.fromEntries(d.results[0]!.configs.map((e) => [e.name, e.value]))
      assert.equal(cfg['cleanup.policy'], 'compact')
      assert.equal(cfg['retention.ms'], '-1')
      assert.equal(cfg['segment.bytes'], '1048576')
      assert.ok('segment.ms' in cfg && 'delete.retention.ms' in cfg && 'retention.bytes' in cfg)
      assert.equal(d.results[1]!.errorCode, KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION)
      assert.deepEqual(
        d.results[2]!.configs.map((e) => [e.name, e.value]),
        [['broker.id', '0']],
      )

      const del = await c.request('DeleteTopics', 4, {
        topicNames: ['created', 'nope', '__consumer_offsets'],
        timeoutMs: 1000,
      })
      assert.deepEqual(
        del.responses.map((x) => [x.name, x.errorCode]),
        [
          ['created', 0],
          ['nope', KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION],
          ['__consumer_offsets', KafkaErrors.INVALID_TOPIC_EXCEPTION],
        ],
      )
      assert.equal(b.log.hasTopic('created'), false)
      const m = await c.request('Metadata', 9, {
        topics: [{ name: 'created' }],
        allowAutoTopicCreation: false,
      })
      assert.equal(m.topics[0]!.errorCode, KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION)
    })

    it('DeleteTopics v6 by topic id', async () => {
      b.log.createTopic('by-id')
      const id = b.log.topicId('by-id')
      const del = await c.request('DeleteTopics', 6, {
        topics: [{ name: null, topicId: id }],
        timeoutMs: 1000,
      })
      assert.equal(del.responses[0]!.errorCode, 0)
      assert.equal(del.responses[0]!.name, 'by-id')
      assert.equal(b.log.hasTopic('by-id'), false)
    })
  })

  describe('DeleteRecords', () => {
    it('moves the low watermark (-1: the high watermark), refuses compacted topics, unknown partitions and offsets past the end', async () => {
      b.log.createTopic('purge', { partitions: 2 })
      b.log.createTopic('purge-compacted', { compact: true, retentionMs: null })
      for (let i = 0; i < 5; i++) await b.log.append('purge', 0, [{ value: Buffer.from(`v${i}`) }])
      await b.log.append('purge', 1, [{ value: Buffer.from('only') }])
      await b.log.append('purge-compacted', 0, [{ key: Buffer.from('k'), value: Buffer.from('v') }])
      for (const version of [0, 1, 2]) {
        const r = await c.request('DeleteRecords', version, {
          topics: [
            {
              name: 'purge',
              partitions: [
                { partitionIndex: 0, offset: 2 + version },
                { partitionIndex: 1, offset: -1 },
                { partitionIndex: 2, offset: 0 },
              ],
            },
            { name: 'purge-compacted', partitions: [{ partitionIndex: 0, offset: 1 }] },
            { name: 'nope', partitions: [{ partitionIndex: 0, offset: 0 }] },
          ],
          timeoutMs: 1000,
        })
        assert.deepEqual(
          r.topics.map((t) => [
            t.name,
            t.partitions.map((p) => [p.partitionIndex, p.errorCode, p.lowWatermark]),
          ]),
          [
            [
              'purge',
              [
                [0, 0, 2 + version],
                [1, 0, 1],
                [2, KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION, -1],
              ],
            ],
            ['purge-compacted', [[0, KafkaErrors.POLICY_VIOLATION, -1]]],
            ['nope', [[0, KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION, -1]]],
          ],
          `v${version}`,
        )
      }
      const past = await c.request('DeleteRecords', 2, {
        topics: [{ name: 'purge', partitions: [{ partitionIndex: 0, offset: 6 }] }],
        timeoutMs: 1000,
      })
      assert.equal(past.topics[0]!.partitions[0]!.errorCode, KafkaErrors.OFFSET_OUT_OF_RANGE)
      assert.equal(b.log.earliestOffset('purge', 0), 4)
      const earliest = await c.request('ListOffsets', 9, {
        replicaId: -1,
        topics: [{ name: 'purge', partitions: [{ partitionIndex: 0, timestamp: -2 }] }],
      })
      assert.equal(earliest.topics[0]!.partitions[0]!.offset, 4)
      const fetched = await c.request('Fetch', 4, fetchBody('purge', 0, 3))
      assert.equal(fetched.responses[0]!.partitions[0]!.errorCode, KafkaErrors.OFFSET_OUT_OF_RANGE)
    })
  })

  describe('idempotent producer', () => {
    it('a retried batch succeeds with its original offset; a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
      b.log.createTopic('idem')
      const init = await c.request('InitProducerId', 4, { transactionalId: null, transactionTimeoutMs: -1 })
      assert.equal(init.errorCode, 0)
      const ids = { producerId: init.producerId, producerEpoch: init.producerEpoch }
      const first = batchOf(['one'], { ...ids, baseSequence: 0 })
      const r1 = await c.request('Produce', 9, produceBody('idem', 0, Buffer.from(first)))
      assert.equal(r1.responses[0]!.partitionResponses[0]!.baseOffset, 0)
      await c.request('Produce', 9, produceBody('idem', 0, batchOf(['two'], { ...ids, baseSequence: 1 })))
      const retry = await c.request('Produce', 9, produceBody('idem', 0, Buffer.from(first)))
      const rr = retry.responses[0]!.partitionResponses[0]!
      assert.equal(rr.errorCode, 0)
      assert.equal(rr.baseOffset, 0)
      assert.equal(b.log.latestOffset('idem', 0), 2)
      const gap = await c.request(
        'Produce',
        9,
        produceBody('idem', 0, batchOf(['five'], { ...ids, baseSequence: 5 })),
      )
      assert.equal(
        gap.responses[0]!.partitionResponses[0]!.errorCode,
        KafkaErrors.OUT_OF_ORDER_SEQUENCE_NUMBER,
      )
    })
  })

  describe('transactions', () => {
    it('commit and abort through the transaction APIs; read_committed sees the committed, with the aborted list', async () => {
      b.log.createTopic('tx')
      const init = await c.request('InitProducerId', 4, {
        transactionalId: 'tx-1',
        transactionTimeoutMs: 60_000,
      })
      assert.equal(init.errorCode, 0)
      const id = { producerId: init.producerId, producerEpoch: init.producerEpoch }
      const add = await c.request('AddPartitionsToTxn', 3, {
        v3AndBelowTransactionalId: 'tx-1',
        v3AndBelowProducerId: id.producerId,
        v3AndBelowProducerEpoch: id.producerEpoch,
        v3AndBelowTopics: [{ name: 'tx', partitions: [0] }],
      })
      assert.equal(add.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode, 0)
      const p = await c.request(
        'Produce',
        9,
        produceBody(
          'tx',
          0,
          batchOf(['aborted'], { ...id, baseSequence: 0, transactional: true }),
          -1,
          'tx-1',
        ),
      )
      assert.equal(p.responses[0]!.partitionResponses[0]!.errorCode, 0)
      const open = await c.request('Fetch', 11, fetchBody('tx', 0, 0, { isolationLevel: 1 }))
      assert.equal(open.responses[0]!.partitions[0]!.lastStableOffset, 0)
      assert.equal(open.responses[0]!.partitions[0]!.records!.length, 0)
      const abort = await c.request('EndTxn', 3, { transactionalId: 'tx-1', ...id, committed: false })
      assert.equal(abort.errorCode, 0)

      await c.request('AddPartitionsToTxn', 3, {
        v3AndBelowTransactionalId: 'tx-1',
        v3AndBelowProducerId: id.producerId,
        v3AndBelowProducerEpoch: id.producerEpoch,
        v3AndBelowTopics: [{ name: 'tx', partitions: [0] }],
      })
      await c.request(
        'Produce',
        9,
        produceBody(
          'tx',
          0,
          batchOf(['committed'], { ...id, baseSequence: 1, transactional: true }),
          -1,
          'tx-1',
        ),
      )
      b.log.createTopic('tx-in')
      const offs = await c.request('AddOffsetsToTxn', 3, {
        transactionalId: 'tx-1',
        ...id,
        groupId: 'tx-group',
      })
      assert.equal(offs.errorCode, 0)
      const toc = await c.request('TxnOffsetCommit', 3, {
        transactionalId: 'tx-1',
        groupId: 'tx-group',
        ...id,
        topics: [
          {
            name: 'tx-in',
            partitions: [{ partitionIndex: 0, committedOffset: 42, committedMetadata: null }],
          },
        ],
      })
      assert.equal(toc.topics[0]!.partitions[0]!.errorCode, 0)
      const unstable = await c.request('OffsetFetch', 7, {
        groupId: 'tx-group',
        topics: [{ name: 'tx-in', partitionIndexes: [0] }],
        requireStable: true,
      })
      assert.equal(unstable.topics[0]!.partitions[0]!.errorCode, KafkaErrors.UNSTABLE_OFFSET_COMMIT)
      const commit = await c.request('EndTxn', 3, { transactionalId: 'tx-1', ...id, committed: true })
      assert.equal(commit.errorCode, 0)

      const f = await c.request('Fetch', 11, fetchBody('tx', 0, 0, { isolationLevel: 1 }))
      const fp = f.responses[0]!.partitions[0]!
      assert.equal(fp.lastStableOffset, 4)
      assert.deepEqual(fp.abortedTransactions, [{ producerId: id.producerId, firstOffset: 0 }])
      // The client drops the aborted producer's records below the abort marker itself.
      assert.deepEqual(values(decodeAll(fp.records, 'tx', 0)), ['aborted', 'committed'])
      const committed = await c.request('OffsetFetch', 7, {
        groupId: 'tx-group',
        topics: [{ name: 'tx-in', partitionIndexes: [0] }],
        requireStable: true,
      })
      assert.equal(committed.topics[0]!.partitions[0]!.committedOffset, 42)
    })

    it('fences an older producer epoch: PRODUCER_FENCED (EndTxn v2+), INVALID_PRODUCER_EPOCH before', async () => {
      const old = await c.request('InitProducerId', 4, {
        transactionalId: 'tx-fence',
        transactionTimeoutMs: 60_000,
      })
      const fresh = await c.request('InitProducerId', 4, {
        transactionalId: 'tx-fence',
        transactionTimeoutMs: 60_000,
      })
      assert.equal(fresh.producerEpoch, old.producerEpoch + 1)
      const body = {
        transactionalId: 'tx-fence',
        producerId: old.producerId,
        producerEpoch: old.producerEpoch,
        committed: true,
      }
      assert.equal((await c.request('EndTxn', 3, body)).errorCode, KafkaErrors.PRODUCER_FENCED)
      assert.equal((await c.request('EndTxn', 1, body)).errorCode, KafkaErrors.INVALID_PRODUCER_EPOCH)
    })

    it('AddPartitionsToTxn v4+ (batched) and an unknown partition leaves the others OPERATION_NOT_ATTEMPTED', async () => {
      const init = await c.request('InitProducerId', 4, {
        transactionalId: 'tx-batch',
        transactionTimeoutMs: 60_000,
      })
      const r = await c.request('AddPartitionsToTxn', 4, {
        transactions: [
          {
            transactionalId: 'tx-batch',
            producerId: init.producerId,
            producerEpoch: init.producerEpoch,
            verifyOnly: false,
            topics: [{ name: 'tx', partitions: [0, 9] }],
          },
        ],
      })
      assert.deepEqual(
        r.resultsByTransaction[0]!.topicResults[0]!.resultsByPartition.map((p) => p.partitionErrorCode),
        [KafkaErrors.OPERATION_NOT_ATTEMPTED, KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION],
      )
    })

    it('refuses a transactional batch without a transactional id', async () => {
      const init = await c.request('InitProducerId', 4, {
        transactionalId: 'tx-noid',
        transactionTimeoutMs: 60_000,
      })
      const batch = batchOf(['x'], {
        producerId: init.producerId,
        producerEpoch: init.producerEpoch,
        baseSequence: 0,
        transactional: true,
      })
      const r = await c.request('Produce', 9, produceBody('tx', 0, batch))
      assert.equal(r.responses[0]!.partitionResponses[0]!.errorCode, KafkaErrors.INVALID_RECORD)
    })
  })

  describe('FindCoordinator, groups and offsets', () => {
    it('FindCoordinator v3 and v4 (batched) name this node', async () => {
      const v3 = await c.request('FindCoordinator', 3, { key: 'g', keyType: 0 })
      assert.deepEqual([v3.errorCode, v3.nodeId, v3.host, v3.port], [0, 0, '127.0.0.1', b.port])
      const v4 = await c.request('FindCoordinator', 4, { keyType: 1, coordinatorKeys: ['a', 'b'] })
      assert.deepEqual(
        v4.coordinators.map((x) => [x.key, x.errorCode, x.nodeId, x.port]),
        [
          ['a', 0, 0, b.port],
          ['b', 0, 0, b.port],
        ],
      )
    })

    it('join, sync, heartbeat, commit with the generation, fetch offsets, leave', async () => {
      b.log.createTopic('gt', { partitions: 2 })
      const join = (memberId: string) =>
        c.request('JoinGroup', 5, {
          groupId: 'g1',
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          memberId,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: Buffer.from('meta') }],
        })
      const first = await join('')
      assert.equal(first.errorCode, KafkaErrors.MEMBER_ID_REQUIRED)
      const joined = await join(first.memberId)
      assert.equal(joined.errorCode, 0)
      assert.equal(joined.leader, first.memberId)
      const sync = await c.request('SyncGroup', 3, {
        groupId: 'g1',
        generationId: joined.generationId,
        memberId: joined.memberId,
        assignments: [{ memberId: joined.memberId, assignment: Buffer.from('assignment') }],
      })
      assert.equal(sync.errorCode, 0)
      assert.equal(sync.assignment.toString(), 'assignment')
      const hb = await c.request('Heartbeat', 3, {
        groupId: 'g1',
        generationId: joined.generationId,
        memberId: joined.memberId,
      })
      assert.equal(hb.errorCode, 0)

      const commitBody = (generation: number) => ({
        groupId: 'g1',
        generationIdOrMemberEpoch: generation,
        memberId: joined.memberId,
        topics: [
          {
            name: 'gt',
            partitions: [
              { partitionIndex: 0, committedOffset: 5, committedMetadata: 'm' },
              { partitionIndex: 9, committedOffset: 1, committedMetadata: null },
            ],
          },
        ],
      })
      const stale = await c.request('OffsetCommit', 7, commitBody(joined.generationId + 5))
      assert.equal(stale.topics[0]!.partitions[0]!.errorCode, KafkaErrors.ILLEGAL_GENERATION)
      const ok = await c.request('OffsetCommit', 7, commitBody(joined.generationId))
      assert.deepEqual(
        ok.topics[0]!.partitions.map((p) => p.errorCode),
        [0, KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION],
      )
      const fetched = await c.request('OffsetFetch', 5, { groupId: 'g1', topics: null })
      assert.deepEqual(
        fetched.topics.map((t) =>
          t.partitions.map((p) => [t.name, p.partitionIndex, p.committedOffset, p.metadata]),
        ),
        [[['gt', 0, 5, 'm']]],
      )
      const v8 = await c.request('OffsetFetch', 8, {
        groups: [{ groupId: 'g1', topics: [{ name: 'gt', partitionIndexes: [0, 1] }] }],
      })
      assert.deepEqual(
        v8.groups[0]!.topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset]),
        [
          [0, 5],
          [1, -1],
        ],
      )
      const described = await c.request('DescribeGroups', 5, { groups: ['g1'] })
      assert.equal(described.groups[0]!.groupState, 'Stable')
      assert.equal(described.groups[0]!.members.length, 1)
      const listed = await c.request('ListGroups', 4, { statesFilter: [] })
      assert.ok(listed.groups.some((g) => g.groupId === 'g1' && g.groupState === 'Stable'))
      const leave = await c.request('LeaveGroup', 3, {
        groupId: 'g1',
        members: [{ memberId: joined.memberId }],
      })
      assert.deepEqual([leave.errorCode, leave.members[0]!.errorCode], [0, 0])
      const leaveV1 = await c.request('LeaveGroup', 1, { groupId: 'g1', memberId: 'gone' })
      assert.equal(leaveV1.errorCode, KafkaErrors.UNKNOWN_MEMBER_ID)
    })
  })
})

describe('broker robustness', () => {
  it('a malformed frame closes only its connection; another keeps working', async () => {
    const b = await startBroker()
    try {
      const good = await b.connect()
      const bad = await b.connect()
      const garbage = Buffer.from([0, 0, 0, 6, 0x00, 0x03, 0x00, 0x09, 0xff, 0xff])
      bad.write(garbage)
      await bad.closed
      await b.logger.waitFor(/closing connection \d+ from 127\.0\.0\.1:\d+: .*/)
      const r = await good.request('Metadata', 9, { topics: null })
      assert.ok(Array.isArray(r.topics))
      assert.equal(b.broker.connectionCount, 1)
    } finally {
      await b.stop()
    }
  })

  it('an oversized frame closes the connection with a log line, before its bytes arrive', async () => {
    const b = await startBroker({ limits: { frameBytesMax: 1024 } })
    try {
      const c = await b.connect()
      const head = Buffer.alloc(4)
      head.writeInt32BE(1_000_000, 0)
      c.write(head)
      await c.closed
      await b.logger.waitFor(/frame size 1000000 is outside 0\.\.1024/)
      const negative = await b.connect()
      negative.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]))
      await negative.closed
      const ok = await b.connect()
      assert.equal((await ok.request('ApiVersions', 2, {})).errorCode, 0)
    } finally {
      await b.stop()
    }
  })

  it('refuses connections past connectionsMax with a log line', async () => {
    const b = await startBroker({ limits: { connectionsMax: 2 } })
    try {
      const c1 = await b.connect()
      await b.connect()
      const c3 = await b.connect()
      await c3.closed
      await b.logger.waitFor(/refusing a connection from .*: 2 connections are open/)
      assert.equal((await c1.request('ApiVersions', 0, {})).errorCode, 0)
      await c1.close()
      for (let i = 0; i < 100 && b.broker.connectionCount > 1; i++)
        await new Promise((r) => setTimeout(r, 10))
      const c4 = await b.connect()
      assert.equal((await c4.request('ApiVersions', 0, {})).errorCode, 0)
    } finally {
      await b.stop()
    }
  })

  it('answers pipelined requests in order with an in-flight bound of 1', async () => {
    const b = await startBroker({ limits: { inFlightRequestsPerConnectionMax: 1 } })
    try {
      b.log.createTopic('p')
      const c = await b.connect()
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 === 0
            ? c.requestWithId('Produce', 9, produceBody('p', 0, batchOf([`v${i}`])))
            : c.requestWithId('Metadata', 9, { topics: [{ name: 'p' }] }),
        ),
      )
      assert.deepEqual(
        replies.map((r) => r.correlationId),
        Array.from({ length: 50 }, (_, i) => i + 1),
      )
      assert.equal(b.log.latestOffset('p', 0), 25)
    } finally {
      await b.stop()
    }
  })

  it('keeps its cluster id across restarts over the same data directory', async () => {
    const first = await startBroker()
    const id = first.broker.clusterId
    await first.broker.close()
    await first.log.close()
    const again = await startBroker({}, { dir: first.dir })
    try {
      assert.equal(again.broker.clusterId, id)
      assert.match(id, /^[A-Za-z0-9_-]{22}$/)
    } finally {
      await again.stop()
      await first.stop().catch(() => {})
    }
  })

  it('auto-creates a topic a Metadata request names, when both broker and request allow it', async () => {
    const b = await startBroker({ autoCreateTopics: true, defaultPartitions: 3 })
    try {
      const c = await b.connect()
      const no = await c.request('Metadata', 9, { topics: [{ name: 'auto' }], allowAutoTopicCreation: false })
      assert.equal(no.topics[0]!.errorCode, KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION)
      const yes = await c.request('Metadata', 9, { topics: [{ name: 'auto' }], allowAutoTopicCreation: true })
      assert.equal(yes.topics[0]!.errorCode, 0)
      assert.equal(yes.topics[0]!.partitions.length, 3)
      assert.equal(b.log.partitionCount('auto'), 3)
    } finally {
      await b.stop()
    }
  })

  it('aborts a transaction that outlives its timeout, fencing its producer', async () => {
    const b = await startBroker({ transactionCheckIntervalMs: 50 })
    try {
      b.log.createTopic('slow')
      const c = await b.connect()
      const init = await c.request('InitProducerId', 4, {
        transactionalId: 'slow-1',
        transactionTimeoutMs: 100,
      })
      await c.request('AddPartitionsToTxn', 3, {
        v3AndBelowTransactionalId: 'slow-1',
        v3AndBelowProducerId: init.producerId,
        v3AndBelowProducerEpoch: init.producerEpoch,
        v3AndBelowTopics: [{ name: 'slow', partitions: [0] }],
      })
      await b.logger.waitFor(/aborted transaction\(s\) past their timeout: slow-1/)
      const end = await c.request('EndTxn', 3, {
        transactionalId: 'slow-1',
        producerId: init.producerId,
        producerEpoch: init.producerEpoch,
        committed: true,
      })
      assert.equal(end.errorCode, KafkaErrors.PRODUCER_FENCED)
    } finally {
      await b.stop()
    }
  })

  it('close() ends long polls and closes connections; the port is free again', async () => {
    const b = await startBroker()
    b.log.createTopic('w')
    const c = await b.connect()
    const pending = c
      .request('Fetch', 11, fetchBody('w', 0, 0, { maxWaitMs: 30_000 }))
      .catch((err: Error) => err)
    await new Promise((r) => setTimeout(r, 50))
    const started = Date.now()
    await b.broker.close()
    assert.ok(Date.now() - started < 2000)
    await pending
    await c.closed
    const probe = net.createServer()
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject)
      probe.listen(b.port, '127.0.0.1', () => resolve())
    })
    await new Promise((r) => probe.close(r))
    await b.stop()
  })
})

describe('broker with SASL', () => {
  const auth = {
    mechanisms: ['PLAIN'],
    authenticate(_session: unknown, token: Buffer) {
      const [, user, password] = token.toString('utf8').split('\u0000')
      return user === 'alice' && password === 'secret'
        ? { kind: 'done' as const, authBytes: Buffer.alloc(0), principal: user }
        : { kind: 'failed' as const, message: `bad credentials for ${user}` }
    },
  }

  it('refuses requests before authentication, serves them after', async () => {
    const b = await startBroker({ auth })
    try {
      const early = await b.connect()
      assert.equal((await early.request('ApiVersions', 3, {})).errorCode, 0)
      await assert.rejects(early.request('Metadata', 9, { topics: null }), /connection closed/)
      await b.logger.waitFor(/Metadata request before SASL authentication/)

      const c = await b.connect()
      const hs = await c.request('SaslHandshake', 1, { mechanism: 'PLAIN' })
      assert.deepEqual([hs.errorCode, hs.mechanisms], [0, ['PLAIN']])
      const au = await c.request('SaslAuthenticate', 2, { authBytes: Buffer.from('\u0000alice\u0000secret') })
      assert.equal(au.errorCode, 0)
      assert.ok(Array.isArray((await c.request('Metadata', 9, { topics: null })).topics))

      const wrong = await b.connect()
      assert.equal(
        (await wrong.request('SaslHandshake', 1, { mechanism: 'SCRAM-SHA-256' })).errorCode,
        KafkaErrors.UNSUPPORTED_SASL_MECHANISM,
      )
      await wrong.request('SaslHandshake', 1, { mechanism: 'PLAIN' }).catch(() => {})
      const bad = await b.connect()
      await bad.request('SaslHandshake', 1, { mechanism: 'PLAIN' })
      const failed = await bad.request('SaslAuthenticate', 2, {
        authBytes: Buffer.from('\u0000alice\u0000nope'),
      })
      assert.equal(failed.errorCode, KafkaErrors.SASL_AUTHENTICATION_FAILED)
      await bad.closed
    } finally {
      await b.stop()
    }
  })
})

describe('broker handler failures', () => {
  const failing = {
    join() {
      throw new TypeError('simulated bug')
    },
    sync() {
      throw new TypeError('unused')
    },
    heartbeat(): number {
      throw new EddyError('INVALID_ARGUMENT', 'simulated operating error')
    },
    leave() {
      return { errorCode: 0, members: [] }
    },
    describe() {
      return []
    },
    list() {
      return []
    },
    validateOffsetCommit() {
      return 0
    },
  }

  it('an EddyError a handler throws becomes the error code of the response', async () => {
    const b = await startBroker({ groups: failing })
    try {
      const c = await b.connect()
      const hb = await c.request('Heartbeat', 4, { groupId: 'g', generationId: 1, memberId: 'm' })
      assert.equal(hb.errorCode, KafkaErrors.INVALID_REQUEST)
      await b.logger.waitFor(/Heartbeat v4 failed: simulated operating error/)
    } finally {
      await b.stop()
    }
  })

  it('any other exception closes that connection only, with a log line', async () => {
    const b = await startBroker({ groups: failing })
    try {
      const bystander = await b.connect()
      const c = await b.connect()
      await assert.rejects(
        c.request('JoinGroup', 5, {
          groupId: 'g',
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          memberId: '',
          protocolType: 'consumer',
          protocols: [],
        }),
        /connection closed/,
      )
      await b.logger.waitFor(
        /^error: closing connection \d+ .*this is a bug in eddy: TypeError: simulated bug/,
      )
      assert.equal((await bystander.request('ApiVersions', 3, {})).errorCode, 0)
    } finally {
      await b.stop()
    }
  })
})

describe('SaslHandshake v0 (bare tokens)', () => {
  it('authenticates with a bare token frame, then serves requests', async () => {
    const auth = {
      mechanisms: ['PLAIN'],
      authenticate: (_s: unknown, token: Buffer) =>
        token.toString() === '\u0000bob\u0000pw'
          ? { kind: 'done' as const, authBytes: Buffer.alloc(0), principal: 'bob' }
          : { kind: 'failed' as const, message: 'no' },
    }
    const b = await startBroker({ auth })
    const socket = net.connect({ port: b.port, host: '127.0.0.1' })
    try {
      await new Promise((r) => socket.once('connect', r))
      let buffered = Buffer.alloc(0)
      const waiting: (() => void)[] = []
      socket.on('data', (d: Buffer) => {
        buffered = Buffer.concat([buffered, d])
        for (const w of waiting.splice(0)) w()
      })
      const readFrame = async (): Promise<Buffer> => {
        for (;;) {
          if (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
            const size = buffered.readInt32BE(0)
            const frame = buffered.subarray(4, 4 + size)
            buffered = buffered.subarray(4 + size)
            return frame
          }
          await new Promise<void>((r) => waiting.push(r))
        }
      }
      socket.write(
        encodeRequest(
          'SaslHandshake',
          { apiVersion: 0, correlationId: 1, clientId: 't' },
          { mechanism: 'PLAIN' },
        ),
      )
      assert.equal(decodeResponse('SaslHandshake', 0, await readFrame()).body.errorCode, 0)
      const token = Buffer.from('\u0000bob\u0000pw')
      const framed = Buffer.alloc(4 + token.length)
      framed.writeInt32BE(token.length, 0)
      token.copy(framed, 4)
      socket.write(framed)
      assert.equal((await readFrame()).length, 0)
      socket.write(
        encodeRequest('Metadata', { apiVersion: 9, correlationId: 2, clientId: 't' }, { topics: null }),
      )
      const m = decodeResponse('Metadata', 9, await readFrame())
      assert.equal(m.correlationId, 2)
    } finally {
      socket.destroy()
      await b.stop()
    }
  })
})

describe('KafkaTestClient sanity', () => {
  it('connect fails cleanly on a closed port', async () => {
    const server = net.createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as net.AddressInfo).port
    await new Promise((r) => server.close(r))
    await assert.rejects(KafkaTestClient.connect(port))
  })
})
