// Golden bytes, worked out by hand from the Kafka protocol guide and the message JSON, and the
// rules for which header version each API version uses.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isEddyError } from '../core/errors.js'
import {
  decodeRequest,
  decodeResponse,
  encodeApiVersionsUnsupported,
  encodeRequest,
  encodeResponse,
  frameSize,
  UnsupportedRequestError,
} from './frame.js'
import { requestHeaderVersion, responseHeaderVersion } from './header.js'
import { ProtocolError } from './protocol-error.js'

const ascii = (s: string) => [...Buffer.from(s, 'latin1')]
const int32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]

/** Drops the 4-byte size prefix after checking it. */
function body(frame: Buffer): Buffer {
  assert.equal(frame.readInt32BE(0), frame.length - 4, 'size prefix')
  return frame.subarray(4)
}

describe('golden frames', () => {
  // librdkafka 2.0.2's first request on a connection (rd_kafka_ApiVersionRequest, v3).
  const apiVersionsV3 = [
    ...int32(36),
    ...[0x00, 0x12], // api key 18
    ...[0x00, 0x03], // version 3
    ...int32(1), // correlation id
    ...[0x00, 0x07, ...ascii('rdkafka')], // client id: int16 length even in header v2
    0x00, // header tagged fields
    ...[0x0b, ...ascii('librdkafka')], // ClientSoftwareName: compact string (length + 1)
    ...[0x06, ...ascii('2.0.2')], // ClientSoftwareVersion
    0x00, // body tagged fields
  ]

  it('reads an ApiVersions v3 request as librdkafka sends it', () => {
    const req = decodeRequest(Buffer.from(apiVersionsV3).subarray(4))
    assert.deepEqual(req, {
      api: 'ApiVersions',
      header: { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka' },
      body: { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' },
    })
  })

  it('writes the same bytes', () => {
    const frame = encodeRequest(
      'ApiVersions',
      { apiVersion: 3, correlationId: 1, clientId: 'rdkafka' },
      { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' },
    )
    assert.deepEqual([...frame], apiVersionsV3)
  })

  // A Metadata v1 request for topic 'test' (classic: int16 strings, int32 array counts).
  const metadataV1 = [
    ...int32(27),
    ...[0x00, 0x03, 0x00, 0x01],
    ...int32(7),
    ...[0x00, 0x07, ...ascii('rdkafka')],
    ...int32(1), // one topic
    ...[0x00, 0x04, ...ascii('test')],
  ]

  it('reads and writes a Metadata v1 request', () => {
    const req = decodeRequest(Buffer.from(metadataV1).subarray(4))
    assert.equal(req.api, 'Metadata')
    if (req.api !== 'Metadata') return
    assert.deepEqual(req.body, {
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'test' }],
      allowAutoTopicCreation: true, // v4+ only: the default
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    })
    const again = encodeRequest(
      'Metadata',
      { apiVersion: 1, correlationId: 7, clientId: 'rdkafka' },
      { topics: [{ name: 'test' }] },
    )
    assert.deepEqual([...again], metadataV1)
  })

  it('reads a Metadata v1 request for all topics (null array)', () => {
    const all = [
      ...int32(23),
      0x00,
      0x03,
      0x00,
      0x01,
      ...int32(7),
      0x00,
      0x07,
      ...ascii('rdkafka'),
      ...int32(-1),
    ]
    const req = decodeRequest(Buffer.from(all).subarray(4))
    assert.ok(req.api === 'Metadata' && req.body.topics === null)
  })

  it('answers ApiVersions v3 with response header v0 and tagged fields in the body', () => {
    const frame = encodeResponse('ApiVersions', 3, 1, {
      errorCode: 0,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
      throttleTimeMs: 0,
      finalizedFeaturesEpoch: 5,
    })
    assert.deepEqual(
      [...frame],
      [
        ...int32(29),
        ...int32(1), // response header v0: no tagged fields, even though v3 is flexible
        ...[0x00, 0x00], // error code
        ...[0x02, 0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00], // compact array of 1 + entry tags
        ...int32(0), // throttle
        ...[0x01, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 5], // tag 1 (FinalizedFeaturesEpoch), 8 bytes
      ],
    )
    assert.equal(decodeResponse('ApiVersions', 3, body(frame)).body.finalizedFeaturesEpoch, 5)
  })

  it('answers an ApiVersions request of an unknown version as Kafka does', () => {
    const frame = encodeApiVersionsUnsupported(9)
    assert.deepEqual(
      [...frame],
      [...int32(16), ...int32(9), 0x00, 0x23, ...int32(1), 0x00, 0x12, 0x00, 0x00, 0x00, 0x04],
    )
  })

  it('uses response header v1 for other flexible responses', () => {
    const frame = encodeResponse('Heartbeat', 4, 3, { errorCode: 27 })
    assert.deepEqual([...frame], [...int32(12), ...int32(3), 0x00, ...int32(0), 0x00, 0x1b, 0x00])
  })
})

describe('headers and frames', () => {
  it('pick header versions from the API version', () => {
    assert.equal(requestHeaderVersion(0, 8), 1)
    assert.equal(requestHeaderVersion(0, 9), 2)
    assert.equal(requestHeaderVersion(18, 2), 1)
    assert.equal(requestHeaderVersion(18, 3), 2)
    assert.equal(requestHeaderVersion(18, 77), 2, 'an ApiVersions version from the future is flexible')
    assert.equal(requestHeaderVersion(17, 1), 1, 'SaslHandshake is never flexible')
    assert.equal(requestHeaderVersion(999, 0), 1)
    assert.equal(responseHeaderVersion(1, 12), 1)
    assert.equal(responseHeaderVersion(1, 11), 0)
    assert.equal(responseHeaderVersion(18, 4), 0)
  })

  it('reads the header of a request it cannot serve, to answer or close', () => {
    const future = encodeRequest('ApiVersions', { apiVersion: 4, correlationId: 11, clientId: 'c' }, {})
    future.writeInt16BE(9, 6) // ApiVersions v9: unknown body, header still readable
    assert.throws(
      () => decodeRequest(body(future)),
      (err) =>
        err instanceof UnsupportedRequestError &&
        isEddyError(err, 'UNSUPPORTED_VERSION') &&
        err.header.correlationId === 11 &&
        err.header.apiVersion === 9,
    )
    const unknown = Buffer.from([0x03, 0xe7, 0x00, 0x00, ...int32(5), 0xff, 0xff])
    assert.throws(
      () => decodeRequest(unknown),
      (err) => err instanceof UnsupportedRequestError && err.header.apiKey === 999,
    )
    const tooNew = encodeRequest('Metadata', { apiVersion: 0, correlationId: 1, clientId: null }, {})
    tooNew.writeInt16BE(0, 4)
    tooNew.writeInt16BE(12, 6) // Produce v12: newer than Eddy implements
    assert.throws(() => decodeRequest(body(tooNew)), /Produce v12 is not supported, only v0-v11/)
  })

  it('finds frame boundaries and refuses absurd sizes', () => {
    const buf = Buffer.from([0, 0, 0, 2, 9, 9, 0, 0])
    assert.equal(frameSize(buf, 0, 100), 2)
    assert.equal(frameSize(buf, 6, 100), null)
    assert.throws(() => frameSize(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 100), ProtocolError)
    assert.throws(() => frameSize(Buffer.from([0, 0, 1, 0]), 0, 100), /frame size 256 is outside 0..100/)
  })

  it('rejects trailing bytes after a request body', () => {
    const frame = body(
      encodeRequest('Heartbeat', { apiVersion: 0, correlationId: 1, clientId: 'c' }, { groupId: 'g' }),
    )
    assert.throws(
      () => decodeRequest(Buffer.concat([frame, Buffer.from([0])])),
      /HeartbeatRequest v0 \(byte \d+\): 1 unexpected bytes/,
    )
  })
})
