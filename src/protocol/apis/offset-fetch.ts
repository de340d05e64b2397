// OffsetFetch (key 9). Kafka: OffsetFetchRequest.json / OffsetFetchResponse.json.
// v0-7 ask for one group (groupId + topics); v8+ for a batch of groups.
import { array, bool, field, int16, int32, int64, message, string, struct, type Value } from '../schema.js'

const versions = '0-9'
const flexibleVersions = '6+'

export const OffsetFetchRequest = message({
  name: 'OffsetFetchRequest',
  apiKey: 9,
  versions,
  flexibleVersions,
  fields: [
    field('groupId', string, { versions: '0-7' }),
    field(
      'topics',
      array(
        struct([
          field('name', string, { versions: '0-7' }),
          field('partitionIndexes', array(int32), { versions: '0-7' }),
        ]),
      ),
      { versions: '0-7', nullable: '2-7' },
    ),
    field(
      'groups',
      array(
        struct([
          field('groupId', string, { versions: '8+' }),
          field('memberId', string, { versions: '9+', nullable: '9+', default: null }),
          field('memberEpoch', int32, { versions: '9+', default: -1 }),
          field(
            'topics',
            array(
              struct([
                field('name', string, { versions: '8+' }),
                field('partitionIndexes', array(int32), { versions: '8+' }),
              ]),
            ),
            { versions: '8+', nullable: '8+' },
          ),
        ]),
      ),
      { versions: '8+' },
    ),
    field('requireStable', bool, { versions: '7+', default: false }),
  ],
})
export type OffsetFetchRequest = Value<typeof OffsetFetchRequest>

export const OffsetFetchResponse = message({
  name: 'OffsetFetchResponse',
  apiKey: 9,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32, { versions: '3+' }),
    field(
      'topics',
      array(
        struct([
          field('name', string, { versions: '0-7' }),
          field(
            'partitions',
            array(
              struct([
                field('partitionIndex', int32, { versions: '0-7' }),
                field('committedOffset', int64, { versions: '0-7' }),
                field('committedLeaderEpoch', int32, { versions: '5-7', default: -1 }),
                field('metadata', string, { versions: '0-7', nullable: '0-7' }),
                field('errorCode', int16, { versions: '0-7' }),
              ]),
            ),
            { versions: '0-7' },
          ),
        ]),
      ),
      { versions: '0-7' },
    ),
    field('errorCode', int16, { versions: '2-7', default: 0 }),
    field(
      'groups',
      array(
        struct([
          field('groupId', string, { versions: '8+' }),
          field(
            'topics',
            array(
              struct([
                field('name', string, { versions: '8+' }),
                field(
                  'partitions',
                  array(
                    struct([
                      field('partitionIndex', int32, { versions: '8+' }),
                      field('committedOffset', int64, { versions: '8+' }),
                      field('committedLeaderEpoch', int32, { versions: '8+', default: -1 }),
                      field('metadata', string, { versions: '8+', nullable: '8+' }),
                      field('errorCode', int16, { versions: '8+' }),
                    ]),
                  ),
                  { versions: '8+' },
                ),
              ]),
            ),
            { versions: '8+' },
          ),
          field('errorCode', int16, { versions: '8+', default: 0 }),
        ]),
      ),
      { versions: '8+' },
    ),
  ],
})
export type OffsetFetchResponse = Value<typeof OffsetFetchResponse>
