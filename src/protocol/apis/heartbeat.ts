// Heartbeat (key 12). Kafka: HeartbeatRequest.json / HeartbeatResponse.json.
import { field, int16, int32, message, string, type Value } from '../schema.js'

const versions = '0-4'
const flexibleVersions = '4+'

export const HeartbeatRequest = message({
  name: 'HeartbeatRequest',
  apiKey: 12,
  versions,
  flexibleVersions,
  fields: [
    field('groupId', string),
    field('generationId', int32),
    field('memberId', string),
    field('groupInstanceId', string, { versions: '3+', nullable: '3+', default: null }),
  ],
})
export type HeartbeatRequest = Value<typeof HeartbeatRequest>

export const HeartbeatResponse = message({
  name: 'HeartbeatResponse',
  apiKey: 12,
  versions,
  flexibleVersions,
  fields: [field('throttleTimeMs', int32, { versions: '1+' }), field('errorCode', int16)],
})
export type HeartbeatResponse = Value<typeof HeartbeatResponse>
