// TxnOffsetCommit (key 28). Kafka: TxnOffsetCommitRequest.json / TxnOffsetCommitResponse.json.
import { array, field, int16, int32, int64, message, string, struct, type Value } from '../schema.js'

const versions = '0-4'
const flexibleVersions = '3+'

export const TxnOffsetCommitRequest = message({
  name: 'TxnOffsetCommitRequest',
  apiKey: 28,
  versions,
  flexibleVersions,
  fields: [
    field('transactionalId', string),
    field('groupId', string),
    field('producerId', int64),
    field('producerEpoch', int16),
    field('generationId', int32, { versions: '3+', default: -1 }),
    field('memberId', string, { versions: '3+', default: '' }),
    field('groupInstanceId', string, { versions: '3+', nullable: '3+', default: null }),
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
                field('committedLeaderEpoch', int32, { versions: '2+', default: -1 }),
                field('committedMetadata', string, { nullable: '0+' }),
              ]),
            ),
          ),
        ]),
      ),
    ),
  ],
})
export type TxnOffsetCommitRequest = Value<typeof TxnOffsetCommitRequest>

export const TxnOffsetCommitResponse = message({
  name: 'TxnOffsetCommitResponse',
  apiKey: 28,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32),
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
export type TxnOffsetCommitResponse = Value<typeof TxnOffsetCommitResponse>
