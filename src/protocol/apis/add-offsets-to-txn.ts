// AddOffsetsToTxn (key 25). Kafka: AddOffsetsToTxnRequest.json / AddOffsetsToTxnResponse.json.
import { field, int16, int32, int64, message, string, type Value } from '../schema.js'

const versions = '0-4'
const flexibleVersions = '3+'

export const AddOffsetsToTxnRequest = message({
  name: 'AddOffsetsToTxnRequest',
  apiKey: 25,
  versions,
  flexibleVersions,
  fields: [
    field('transactionalId', string),
    field('producerId', int64),
    field('producerEpoch', int16),
    field('groupId', string),
  ],
})
export type AddOffsetsToTxnRequest = Value<typeof AddOffsetsToTxnRequest>

export const AddOffsetsToTxnResponse = message({
  name: 'AddOffsetsToTxnResponse',
  apiKey: 25,
  versions,
  flexibleVersions,
  fields: [field('throttleTimeMs', int32), field('errorCode', int16)],
})
export type AddOffsetsToTxnResponse = Value<typeof AddOffsetsToTxnResponse>
