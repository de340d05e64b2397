// JoinGroup (key 11). Kafka: JoinGroupRequest.json / JoinGroupResponse.json.
import { array, bool, bytes, field, int16, int32, message, string, struct, type Value } from '../schema.js'

const versions = '0-9'
const flexibleVersions = '6+'

export const JoinGroupRequest = message({
  name: 'JoinGroupRequest',
  apiKey: 11,
  versions,
  flexibleVersions,
  fields: [
    field('groupId', string),
    field('sessionTimeoutMs', int32),
    // Absent before v1: the coordinator should then use sessionTimeoutMs.
    field('rebalanceTimeoutMs', int32, { versions: '1+', default: -1 }),
    field('memberId', string),
    field('groupInstanceId', string, { versions: '5+', nullable: '5+', default: null }),
    field('protocolType', string),
    field('protocols', array(struct([field('name', string), field('metadata', bytes)]))),
    field('reason', string, { versions: '8+', nullable: '8+', default: null }),
  ],
})
export type JoinGroupRequest = Value<typeof JoinGroupRequest>

export const JoinGroupResponse = message({
  name: 'JoinGroupResponse',
  apiKey: 11,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32, { versions: '2+' }),
    field('errorCode', int16),
    field('generationId', int32, { default: -1 }),
    field('protocolType', string, { versions: '7+', nullable: '7+', default: null }),
    field('protocolName', string, { nullable: '7+' }),
    field('leader', string),
    field('skipAssignment', bool, { versions: '9+', default: false }),
    field('memberId', string),
    field(
      'members',
      array(
        struct([
          field('memberId', string),
          field('groupInstanceId', string, { versions: '5+', nullable: '5+', default: null }),
          field('metadata', bytes),
        ]),
      ),
    ),
  ],
})
export type JoinGroupResponse = Value<typeof JoinGroupResponse>
