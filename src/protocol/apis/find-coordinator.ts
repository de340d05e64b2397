// FindCoordinator (key 10). Kafka: FindCoordinatorRequest.json / FindCoordinatorResponse.json.
// keyType: 0 group, 1 transaction, 2 share group (v6). v4+ batches keys.
import { array, field, int8, int16, int32, message, string, struct, type Value } from '../schema.js'

const versions = '0-6'
const flexibleVersions = '3+'

export const FindCoordinatorRequest = message({
  name: 'FindCoordinatorRequest',
  apiKey: 10,
  versions,
  flexibleVersions,
  fields: [
    field('key', string, { versions: '0-3' }),
    field('keyType', int8, { versions: '1+', default: 0 }),
    field('coordinatorKeys', array(string), { versions: '4+' }),
  ],
})
export type FindCoordinatorRequest = Value<typeof FindCoordinatorRequest>

export const FindCoordinatorResponse = message({
  name: 'FindCoordinatorResponse',
  apiKey: 10,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32, { versions: '1+' }),
    field('errorCode', int16, { versions: '0-3' }),
    field('errorMessage', string, { versions: '1-3', nullable: '1-3' }),
    field('nodeId', int32, { versions: '0-3' }),
    field('host', string, { versions: '0-3' }),
    field('port', int32, { versions: '0-3' }),
    field(
      'coordinators',
      array(
        struct([
          field('key', string, { versions: '4+' }),
          field('nodeId', int32, { versions: '4+' }),
          field('host', string, { versions: '4+' }),
          field('port', int32, { versions: '4+' }),
          field('errorCode', int16, { versions: '4+' }),
          field('errorMessage', string, { versions: '4+', nullable: '4+' }),
        ]),
      ),
      { versions: '4+' },
    ),
  ],
})
export type FindCoordinatorResponse = Value<typeof FindCoordinatorResponse>
