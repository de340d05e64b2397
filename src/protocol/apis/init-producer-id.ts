// InitProducerId (key 22). Kafka: InitProducerIdRequest.json / InitProducerIdResponse.json.
import { field, int16, int32, int64, message, string, type Value } from '../schema.js'

const versions = '0-5'
const flexibleVersions = '2+'

export const InitProducerIdRequest = message({
  name: 'InitProducerIdRequest',
  apiKey: 22,
  versions,
  flexibleVersions,
  fields: [
    field('transactionalId', string, { nullable: '0+' }),
    field('transactionTimeoutMs', int32),
    field('producerId', int64, { versions: '3+', default: -1 }),
    field('producerEpoch', int16, { versions: '3+', default: -1 }),
  ],
})
export type InitProducerIdRequest = Value<typeof InitProducerIdRequest>

export const InitProducerIdResponse = message({
  name: 'InitProducerIdResponse',
  apiKey: 22,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32),
    field('errorCode', int16),
    field('producerId', int64, { default: -1 }),
    field('producerEpoch', int16),
  ],
})
export type InitProducerIdResponse = Value<typeof InitProducerIdResponse>
