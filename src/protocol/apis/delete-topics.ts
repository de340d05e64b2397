// DeleteTopics (key 20). Kafka: DeleteTopicsRequest.json / DeleteTopicsResponse.json.
// v0-5 name topics (topicNames); v6+ name them or give their id (topics).
import { array, field, int16, int32, message, string, struct, uuid, type Value } from '../schema.js'

const versions = '0-6'
const flexibleVersions = '4+'

export const DeleteTopicsRequest = message({
  name: 'DeleteTopicsRequest',
  apiKey: 20,
  versions,
  flexibleVersions,
  fields: [
    field(
      'topics',
      array(
        struct([
          field('name', string, { versions: '6+', nullable: '6+', default: null }),
          field('topicId', uuid, { versions: '6+' }),
        ]),
      ),
      { versions: '6+' },
    ),
    field('topicNames', array(string), { versions: '0-5' }),
    field('timeoutMs', int32),
  ],
})
export type DeleteTopicsRequest = Value<typeof DeleteTopicsRequest>

export const DeleteTopicsResponse = message({
  name: 'DeleteTopicsResponse',
  apiKey: 20,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32, { versions: '1+' }),
    field(
      'responses',
      array(
        struct([
          field('name', string, { nullable: '6+' }),
          field('topicId', uuid, { versions: '6+' }),
          field('errorCode', int16),
          field('errorMessage', string, { versions: '5+', nullable: '5+', default: null }),
        ]),
      ),
    ),
  ],
})
export type DeleteTopicsResponse = Value<typeof DeleteTopicsResponse>
