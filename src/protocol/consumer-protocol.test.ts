import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
} from './consumer-protocol.js'
import { ProtocolError } from './protocol-error.js'

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')

describe('consumer protocol payloads', () => {
  it('a subscription is v1: version, topics, userData, owned partitions', () => {
    const bytes = encodeConsumerSubscription({
      topics: ['t'],
      userData: Buffer.from([1, 2]),
      ownedPartitions: [{ topic: 't', partitions: [0] }],
    })
    assert.deepEqual(bytes, hex('0001 00000001 0001 74 00000002 0102 00000001 0001 74 00000001 00000000'))
    assert.deepEqual(decodeConsumerSubscription(bytes), {
      topics: ['t'],
      userData: Buffer.from([1, 2]),
      ownedPartitions: [{ topic: 't', partitions: [0] }],
    })
  })

  it('reads v0 (no owned partitions, null userData) and newer versions by their known prefix', () => {
    assert.deepEqual(decodeConsumerSubscription(hex('0000 00000002 0001 61 0001 62 ffffffff')), {
      topics: ['a', 'b'],
      userData: null,
      ownedPartitions: [],
    })
    // v3 adds a rack id after the generation: read as v2, the rest ignored.
    const v3 = hex('0003 00000001 0001 61 00000000 00000000 00000007 0002 7231')
    assert.deepEqual(decodeConsumerSubscription(v3).topics, ['a'])
  })

  it('an assignment is v0: version, partitions by topic, userData', () => {
    const bytes = encodeConsumerAssignment({
      assignedPartitions: [{ topic: 't', partitions: [0, 2] }],
      userData: Buffer.from('x'),
    })
    assert.deepEqual(bytes, hex('0000 00000001 0001 74 00000002 00000000 00000002 00000001 78'))
    assert.deepEqual(decodeConsumerAssignment(bytes), {
      assignedPartitions: [{ topic: 't', partitions: [0, 2] }],
      userData: Buffer.from('x'),
    })
  })

  it('an empty assignment buffer is no assignment; truncated bytes are a ProtocolError', () => {
    assert.deepEqual(decodeConsumerAssignment(Buffer.alloc(0)), { assignedPartitions: [], userData: null })
    assert.throws(() => decodeConsumerAssignment(hex('0000 00000001 0001')), ProtocolError)
    assert.throws(() => decodeConsumerSubscription(hex('ffff')), ProtocolError)
  })
})
