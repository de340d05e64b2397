// DescribeGroups (key 15). Kafka: DescribeGroupsRequest.json / DescribeGroupsResponse.json.
import { array, bool, bytes, field, int16, int32, message, string, struct, type Value } from '../schema.js'
import { AUTHORIZED_OPERATIONS_OMITTED } from './metadata.js'

const versions = '0-5'
const flexibleVersions = '5+'

export const DescribeGroupsRequest = message({
  name: 'DescribeGroupsRequest',
  apiKey: 15,
  versions,
  flexibleVersions,
  fields: [field('groups', array(string)), field('includeAuthorizedOperations', bool, { versions: '3+' })],
})
export type DescribeGroupsRequest = Value<typeof DescribeGroupsRequest>

export const DescribeGroupsResponse = message({
  name: 'DescribeGroupsResponse',
  apiKey: 15,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32, { versions: '1+' }),
    field(
      'groups',
      array(
        struct([
          field('errorCode', int16),
          field('groupId', string),
          field('groupState', string),
          field('protocolType', string),
          field('protocolData', string),
          field(
            'members',
            array(
              struct([
                field('memberId', string),
                field('groupInstanceId', string, { versions: '4+', nullable: '4+', default: null }),
                field('clientId', string),
                field('clientHost', string),
                field('memberMetadata', bytes),
                field('memberAssignment', bytes),
              ]),
            ),
          ),
          field('authorizedOperations', int32, { versions: '3+', default: AUTHORIZED_OPERATIONS_OMITTED }),
        ]),
      ),
    ),
  ],
})
export type DescribeGroupsResponse = Value<typeof DescribeGroupsResponse>
