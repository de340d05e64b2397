import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EddyError } from '../core/errors.js'
import {
  errorCodeForVersion,
  KafkaErrors,
  kafkaErrorCodeOf,
  kafkaErrorForEddyCode,
  kafkaErrorName,
} from './errors.js'
import { ProtocolError } from './protocol-error.js'

describe('Kafka error codes', () => {
  it("use Kafka's numbers", () => {
    assert.equal(KafkaErrors.NONE, 0)
    assert.equal(KafkaErrors.OFFSET_OUT_OF_RANGE, 1)
    assert.equal(KafkaErrors.CORRUPT_MESSAGE, 2)
    assert.equal(KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION, 3)
    assert.equal(KafkaErrors.NOT_COORDINATOR, 16)
    assert.equal(KafkaErrors.UNSUPPORTED_VERSION, 35)
    assert.equal(KafkaErrors.INVALID_PRODUCER_EPOCH, 47)
    assert.equal(KafkaErrors.PRODUCER_FENCED, 90)
    const codes = Object.values(KafkaErrors)
    assert.equal(new Set(codes).size, codes.length, 'no code twice')
  })

  it('name codes, known or not', () => {
    assert.equal(kafkaErrorName(3), 'UNKNOWN_TOPIC_OR_PARTITION')
    assert.equal(kafkaErrorName(-1), 'UNKNOWN_SERVER_ERROR')
    assert.equal(kafkaErrorName(999), 'UNKNOWN_ERROR_CODE_999')
  })

  it('map every Eddy error code to a Kafka one', () => {
    const known = new Set<number>(Object.values(KafkaErrors))
    for (const [eddy, kafka] of Object.entries(kafkaErrorForEddyCode)) assert.ok(known.has(kafka), eddy)
    assert.equal(
      kafkaErrorCodeOf(new EddyError('UNKNOWN_TOPIC', 'x')),
      KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION,
    )
    assert.equal(
      kafkaErrorCodeOf(new EddyError('OUT_OF_ORDER_SEQUENCE', 'x')),
      KafkaErrors.OUT_OF_ORDER_SEQUENCE_NUMBER,
    )
    assert.equal(kafkaErrorCodeOf(new ProtocolError('bad', 0)), KafkaErrors.INVALID_REQUEST)
    assert.equal(kafkaErrorCodeOf(new Error('boom')), KafkaErrors.UNKNOWN_SERVER_ERROR)
    assert.equal(kafkaErrorCodeOf('not even an error'), KafkaErrors.UNKNOWN_SERVER_ERROR)
  })

  it('tell old clients INVALID_PRODUCER_EPOCH instead of PRODUCER_FENCED', () => {
    assert.equal(errorCodeForVersion(22, 3, KafkaErrors.PRODUCER_FENCED), KafkaErrors.INVALID_PRODUCER_EPOCH)
    assert.equal(errorCodeForVersion(22, 4, KafkaErrors.PRODUCER_FENCED), KafkaErrors.PRODUCER_FENCED)
    assert.equal(errorCodeForVersion(26, 1, KafkaErrors.PRODUCER_FENCED), KafkaErrors.INVALID_PRODUCER_EPOCH)
    assert.equal(errorCodeForVersion(26, 2, KafkaErrors.PRODUCER_FENCED), KafkaErrors.PRODUCER_FENCED)
    assert.equal(errorCodeForVersion(0, 11, KafkaErrors.PRODUCER_FENCED), KafkaErrors.INVALID_PRODUCER_EPOCH)
    assert.equal(
      errorCodeForVersion(22, 0, KafkaErrors.CONCURRENT_TRANSACTIONS),
      KafkaErrors.CONCURRENT_TRANSACTIONS,
    )
  })
})
