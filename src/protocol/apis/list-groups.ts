// ListGroups (key 16). Kafka: ListGroupsRequest.json / ListGroupsResponse.json.
import { array, field, int16, int32, message, string, struct, type Value } from '../schema.js'

const versions = '0-5'
const flexibleVersions = '3+'

export const ListGroupsRequest = message({
  name: 'ListGroupsRequest',
  apiKey: 16,
  versions,
  flexibleVersions,
  fields: [
    field('statesFilter', array(string), { versions: '4+' }),
    field('typesFilter', array(string), { versions: '5+' }),
  ],
})
export type ListGroupsRequest = Value<typeof ListGroupsRequest>

export const ListGroupsResponse = message({
  name: 'ListGroupsResponse',
  apiKey: 16,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32, { versions: '1+' }),
    field('errorCode', int16),
    field(
      'groups',
      array(
        struct([
          field('groupId', string),
          field('protocolType', string),
          field('groupState', string, { versions: '4+' }),
          field('groupType', string, { versions: '5+' }),
        ]),
      ),
    ),
  ],
})
export type ListGroupsResponse = Value<typeof ListGroupsResponse>
