// EndTxn (key 26). Kafka: EndTxnRequest.json / EndTxnResponse.json.
// v5 (KIP-890 part 2: a new epoch on every transaction) is left out: it changes the semantics.
import { bool, field, int16, int32, int64, message, string, type Value } from '../schema.js'

const versions = '0-4'
const flexibleVersions = '3+'

export const EndTxnRequest = message({
  name: 'EndTxnRequest',
  apiKey: 26,
  versions,
  flexibleVersions,
  fields: [
    field('transactionalId', string),
    field('producerId', int64),
    field('producerEpoch', int16),
    field('committed', bool),
  ],
})
export type EndTxnRequest = Value<typeof EndTxnRequest>

export const EndTxnResponse = message({
  name: 'EndTxnResponse',
  apiKey: 26,
  versions,
  flexibleVersions,
  fields: [field('throttleTimeMs', int32), field('errorCode', int16)],
})
export type EndTxnResponse = Value<typeof EndTxnResponse>
