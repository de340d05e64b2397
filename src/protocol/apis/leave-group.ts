// LeaveGroup (key 13). Kafka: LeaveGroupRequest.json / LeaveGroupResponse.json.
// v0-2 name one member (memberId); v3+ a batch of members.
import { array, field, int16, int32, message, string, struct, type Value } from '../schema.js'

const versions = '0-5'
const flexibleVersions = '4+'

export const LeaveGroupRequest = message({
  name: 'LeaveGroupRequest',
  apiKey: 13,
  versions,
  flexibleVersions,
  fields: [
    field('groupId', string),
    field('memberId', string, { versions: '0-2' }),
    field(
      'members',
      array(
        struct([
          field('memberId', string, { versions: '3+' }),
          field('groupInstanceId', string, { versions: '3+', nullable: '3+', default: null }),
          field('reason', string, { versions: '5+', nullable: '5+', default: null }),
        ]),
      ),
      { versions: '3+' },
    ),
  ],
})
export type LeaveGroupRequest = Value<typeof LeaveGroupRequest>

export const LeaveGroupResponse = message({
  name: 'LeaveGroupResponse',
  apiKey: 13,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32, { versions: '1+' }),
    field('errorCode', int16),
    field(
      'members',
      array(
        struct([
          field('memberId', string, { versions: '3+' }),
          field('groupInstanceId', string, { versions: '3+', nullable: '3+' }),
          field('errorCode', int16, { versions: '3+' }),
        ]),
      ),
      { versions: '3+' },
    ),
  ],
})
export type LeaveGroupResponse = Value<typeof LeaveGroupResponse>
