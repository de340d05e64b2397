// ListOffsets (key 2). Kafka: ListOffsetsRequest.json / ListOffsetsResponse.json.
// Timestamps: -1 latest, -2 earliest, -3 max timestamp (v7+), -4 earliest local (v8+),
// -5 latest tiered (v9+). v0 returns an array of offsets instead of one.
import { array, field, int8, int16, int32, int64, message, string, struct, type Value } from '../schema.js'

const versions = '0-9'
const flexibleVersions = '6+'

export const ListOffsetsRequest = message({
  name: 'ListOffsetsRequest',
  apiKey: 2,
  versions,
  flexibleVersions,
  fields: [
    field('replicaId', int32),
    field('isolationLevel', int8, { versions: '2+' }),
    field(
      'topics',
      array(
        struct([
          field('name', string),
          field(
            'partitions',
            array(
              struct([
                field('partitionIndex', int32),
                field('currentLeaderEpoch', int32, { versions: '4+', default: -1 }),
                field('timestamp', int64),
                field('maxNumOffsets', int32, { versions: '0', default: 1 }),
              ]),
            ),
          ),
        ]),
      ),
    ),
  ],
})
export type ListOffsetsRequest = Value<typeof ListOffsetsRequest>

export const ListOffsetsResponse = message({
  name: 'ListOffsetsResponse',
  apiKey: 2,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32, { versions: '2+' }),
    field(
      'topics',
      array(
        struct([
          field('name', string),
          field(
            'partitions',
            array(
              struct([
                field('partitionIndex', int32),
                field('errorCode', int16),
                field('oldStyleOffsets', array(int64), { versions: '0' }),
                field('timestamp', int64, { versions: '1+', default: -1 }),
                field('offset', int64, { versions: '1+', default: -1 }),
                field('leaderEpoch', int32, { versions: '4+', default: -1 }),
              ]),
            ),
          ),
        ]),
      ),
    ),
  ],
})
export type ListOffsetsResponse = Value<typeof ListOffsetsResponse>
