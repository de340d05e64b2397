// OffsetCommit (key 8). Kafka: OffsetCommitRequest.json / OffsetCommitResponse.json.
import { array, field, int16, int32, int64, message, string, struct, type Value } from '../schema.js'

const versions = '0-9'
const flexibleVersions = '8+'

export const OffsetCommitRequest = message({
  name: 'OffsetCommitRequest',
  apiKey: 8,
  versions,
  flexibleVersions,
  fields: [
    field('groupId', string),
    field('generationIdOrMemberEpoch', int32, { versions: '1+', default: -1 }),
    field('memberId', string, { versions: '1+' }),
    field('groupInstanceId', string, { versions: '7+', nullable: '7+', default: null }),
    field('retentionTimeMs', int64, { versions: '2-4', default: -1 }),
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
                field('committedOffset', int64),
                field('committedLeaderEpoch', int32, { versions: '6+', default: -1 }),
                field('commitTimestamp', int64, { versions: '1', default: -1 }),
                field('committedMetadata', string, { nullable: '0+' }),
              ]),
            ),
          ),
        ]),
      ),
    ),
  ],
})
export type OffsetCommitRequest = Value<typeof OffsetCommitRequest>

export const OffsetCommitResponse = message({
  name: 'OffsetCommitResponse',
  apiKey: 8,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32, { versions: '3+' }),
    field(
      'topics',
      array(
        struct([
          field('name', string),
          field('partitions', array(struct([field('partitionIndex', int32), field('errorCode', int16)]))),
        ]),
      ),
    ),
  ],
})
export type OffsetCommitResponse = Value<typeof OffsetCommitResponse>
