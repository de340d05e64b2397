// SyncGroup (key 14). Kafka: SyncGroupRequest.json / SyncGroupResponse.json.
import { array, bytes, field, int16, int32, message, string, struct, type Value } from '../schema.js'

const versions = '0-5'
const flexibleVersions = '4+'

export const SyncGroupRequest = message({
  name: 'SyncGroupRequest',
  apiKey: 14,
  versions,
  flexibleVersions,
  fields: [
    field('groupId', string),
    field('generationId', int32),
    field('memberId', string),
    field('groupInstanceId', string, { versions: '3+', nullable: '3+', default: null }),
    field('protocolType', string, { versions: '5+', nullable: '5+', default: null }),
    field('protocolName', string, { versions: '5+', nullable: '5+', default: null }),
    field('assignments', array(struct([field('memberId', string), field('assignment', bytes)]))),
  ],
})
export type SyncGroupRequest = Value<typeof SyncGroupRequest>

export const SyncGroupResponse = message({
  name: 'SyncGroupResponse',
  apiKey: 14,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32, { versions: '1+' }),
    field('errorCode', int16),
    field('protocolType', string, { versions: '5+', nullable: '5+', default: null }),
    field('protocolName', string, { versions: '5+', nullable: '5+', default: null }),
    field('assignment', bytes),
  ],
})
export type SyncGroupResponse = Value<typeof SyncGroupResponse>
