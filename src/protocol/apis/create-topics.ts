// CreateTopics (key 19). Kafka: CreateTopicsRequest.json / CreateTopicsResponse.json.
import {
  array,
  bool,
  field,
  int8,
  int16,
  int32,
  message,
  string,
  struct,
  uuid,
  type Value,
} from '../schema.js'

const versions = '0-7'
const flexibleVersions = '5+'

export const CreateTopicsRequest = message({
  name: 'CreateTopicsRequest',
  apiKey: 19,
  versions,
  flexibleVersions,
  fields: [
    field(
      'topics',
      array(
        struct([
          field('name', string),
          // -1 (v4+): the broker's default, or a manual assignment is given.
          field('numPartitions', int32),
          field('replicationFactor', int16),
          field(
            'assignments',
            array(struct([field('partitionIndex', int32), field('brokerIds', array(int32))])),
          ),
          field(
            'configs',
            array(struct([field('name', string), field('value', string, { nullable: '0+' })])),
          ),
        ]),
      ),
    ),
    field('timeoutMs', int32, { default: 60000 }),
    field('validateOnly', bool, { versions: '1+', default: false }),
  ],
})
export type CreateTopicsRequest = Value<typeof CreateTopicsRequest>

export const CreateTopicsResponse = message({
  name: 'CreateTopicsResponse',
  apiKey: 19,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32, { versions: '2+' }),
    field(
      'topics',
      array(
        struct([
          field('name', string),
          field('topicId', uuid, { versions: '7+' }),
          field('errorCode', int16),
          field('errorMessage', string, { versions: '1+', nullable: '0+' }),
          field('topicConfigErrorCode', int16, { versions: '5+', tagged: { tag: 0 } }),
          field('numPartitions', int32, { versions: '5+', default: -1 }),
          field('replicationFactor', int16, { versions: '5+', default: -1 }),
          field(
            'configs',
            array(
              struct([
                field('name', string, { versions: '5+' }),
                field('value', string, { versions: '5+', nullable: '5+' }),
                field('readOnly', bool, { versions: '5+' }),
                field('configSource', int8, { versions: '5+', default: -1 }),
                field('isSensitive', bool, { versions: '5+' }),
              ]),
            ),
            { versions: '5+', nullable: '5+' },
          ),
        ]),
      ),
    ),
  ],
})
export type CreateTopicsResponse = Value<typeof CreateTopicsResponse>
