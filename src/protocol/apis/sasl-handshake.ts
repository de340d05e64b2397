// SaslHandshake (key 17). Kafka: SaslHandshakeRequest.json / SaslHandshakeResponse.json.
// Never flexible. v0: raw SASL tokens follow on the socket; v1: they go in SaslAuthenticate.
import { array, field, int16, message, string, type Value } from '../schema.js'

const versions = '0-1'
const flexibleVersions = 'none'

export const SaslHandshakeRequest = message({
  name: 'SaslHandshakeRequest',
  apiKey: 17,
  versions,
  flexibleVersions,
  fields: [field('mechanism', string)],
})
export type SaslHandshakeRequest = Value<typeof SaslHandshakeRequest>

export const SaslHandshakeResponse = message({
  name: 'SaslHandshakeResponse',
  apiKey: 17,
  versions,
  flexibleVersions,
  fields: [field('errorCode', int16), field('mechanisms', array(string))],
})
export type SaslHandshakeResponse = Value<typeof SaslHandshakeResponse>
