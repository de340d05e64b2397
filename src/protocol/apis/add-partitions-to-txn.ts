// AddPartitionsToTxn (key 24). Kafka: AddPartitionsToTxnRequest.json / AddPartitionsToTxnResponse.json.
// v0-3 carry one transaction (the v3AndBelow* fields); v4+ a batch of them, meant for brokers but
// also sent by @platformatic/kafka when advertised.
import { array, bool, field, int16, int32, int64, message, string, struct, type Value } from '../schema.js'

const versions = '0-5'
const flexibleVersions = '3+'

const topic = () => struct([field('name', string), field('partitions', array(int32))])

export const AddPartitionsToTxnRequest = message({
  name: 'AddPartitionsToTxnRequest',
  apiKey: 24,
  versions,
  flexibleVersions,
  fields: [
    field(
      'transactions',
      array(
        struct([
          field('transactionalId', string, { versions: '4+' }),
          field('producerId', int64, { versions: '4+' }),
          field('producerEpoch', int16, { versions: '4+' }),
          field('verifyOnly', bool, { versions: '4+', default: false }),
          field('topics', array(topic()), { versions: '4+' }),
        ]),
      ),
      { versions: '4+' },
    ),
    field('v3AndBelowTransactionalId', string, { versions: '0-3' }),
    field('v3AndBelowProducerId', int64, { versions: '0-3' }),
    field('v3AndBelowProducerEpoch', int16, { versions: '0-3' }),
    field('v3AndBelowTopics', array(topic()), { versions: '0-3' }),
  ],
})
export type AddPartitionsToTxnRequest = Value<typeof AddPartitionsToTxnRequest>

const topicResult = () =>
  struct([
    field('name', string),
    field(
      'resultsByPartition',
      array(struct([field('partitionIndex', int32), field('partitionErrorCode', int16)])),
    ),
  ])

export const AddPartitionsToTxnResponse = message({
  name: 'AddPartitionsToTxnResponse',
  apiKey: 24,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32),
    field('errorCode', int16, { versions: '4+' }),
    field(
      'resultsByTransaction',
      array(
        struct([
          field('transactionalId', string, { versions: '4+' }),
          field('topicResults', array(topicResult()), { versions: '4+' }),
        ]),
      ),
      { versions: '4+' },
    ),
    field('resultsByTopicV3AndBelow', array(topicResult()), { versions: '0-3' }),
  ],
})
export type AddPartitionsToTxnResponse = Value<typeof AddPartitionsToTxnResponse>
