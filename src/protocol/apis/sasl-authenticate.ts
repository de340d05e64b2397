// SaslAuthenticate (key 36). Kafka: SaslAuthenticateRequest.json / SaslAuthenticateResponse.json.
import { bytes, field, int16, int64, message, string, type Value } from '../schema.js'

const versions = '0-2'
const flexibleVersions = '2+'

export const SaslAuthenticateRequest = message({
  name: 'SaslAuthenticateRequest',
  apiKey: 36,
  versions,
  flexibleVersions,
  fields: [field('authBytes', bytes)],
})
export type SaslAuthenticateRequest = Value<typeof SaslAuthenticateRequest>

export const SaslAuthenticateResponse = message({
  name: 'SaslAuthenticateResponse',
  apiKey: 36,
  versions,
  flexibleVersions,
  fields: [
    field('errorCode', int16),
    field('errorMessage', string, { nullable: '0+' }),
    field('authBytes', bytes),
    field('sessionLifetimeMs', int64, { versions: '1+', default: 0 }),
  ],
})
export type SaslAuthenticateResponse = Value<typeof SaslAuthenticateResponse>
