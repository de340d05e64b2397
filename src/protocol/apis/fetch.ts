// Fetch (key 1). Kafka: FetchRequest.json / FetchResponse.json.
// v0-v3 predate isolation levels (read_uncommitted only) and expect message sets v0/v1; we send the
// stored v2 batches anyway (see the handler). v13+ names topics by topic id, not by name.
import {
  array,
  field,
  int8,
  int16,
  int32,
  int64,
  message,
  records,
  string,
  struct,
  uuid,
  type Value,
} from '../schema.js'

const versions = '0-17'
const flexibleVersions = '12+'

export const FetchRequest = message({
  name: 'FetchRequest',
  apiKey: 1,
  versions,
  flexibleVersions,
  fields: [
    field('clusterId', string, { versions: '12+', nullable: '12+', default: null, tagged: { tag: 0 } }),
    field('replicaId', int32, { versions: '0-14', default: -1 }),
    field(
      'replicaState',
      struct([
        field('replicaId', int32, { versions: '15+', default: -1 }),
        field('replicaEpoch', int64, { versions: '15+', default: -1 }),
      ]),
      { versions: '15+', tagged: { tag: 1 } },
    ),
    field('maxWaitMs', int32),
    field('minBytes', int32),
    field('maxBytes', int32, { versions: '3+', default: 0x7fffffff }),
    field('isolationLevel', int8, { versions: '4+', default: 0 }),
    field('sessionId', int32, { versions: '7+', default: 0 }),
    field('sessionEpoch', int32, { versions: '7+', default: -1 }),
    field(
      'topics',
      array(
        struct([
          field('topic', string, { versions: '0-12' }),
          field('topicId', uuid, { versions: '13+' }),
          field(
            'partitions',
            array(
              struct([
                field('partition', int32),
                field('currentLeaderEpoch', int32, { versions: '9+', default: -1 }),
                field('fetchOffset', int64),
                field('lastFetchedEpoch', int32, { versions: '12+', default: -1 }),
                field('logStartOffset', int64, { versions: '5+', default: -1 }),
                field('partitionMaxBytes', int32),
                field('replicaDirectoryId', uuid, { versions: '17+', tagged: { tag: 0 } }),
              ]),
            ),
          ),
        ]),
      ),
    ),
    field(
      'forgottenTopicsData',
      array(
        struct([
          field('topic', string, { versions: '7-12' }),
          field('topicId', uuid, { versions: '13+' }),
          field('partitions', array(int32), { versions: '7+' }),
        ]),
      ),
      { versions: '7+' },
    ),
    field('rackId', string, { versions: '11+', default: '' }),
  ],
})
export type FetchRequest = Value<typeof FetchRequest>

export const FetchResponse = message({
  name: 'FetchResponse',
  apiKey: 1,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32, { versions: '1+' }),
    field('errorCode', int16, { versions: '7+' }),
    field('sessionId', int32, { versions: '7+', default: 0 }),
    field(
      'responses',
      array(
        struct([
          field('topic', string, { versions: '0-12' }),
          field('topicId', uuid, { versions: '13+' }),
          field(
            'partitions',
            array(
              struct([
                field('partitionIndex', int32),
                field('errorCode', int16),
                field('highWatermark', int64),
                field('lastStableOffset', int64, { versions: '4+', default: -1 }),
                field('logStartOffset', int64, { versions: '5+', default: -1 }),
                field(
                  'divergingEpoch',
                  struct([
                    field('epoch', int32, { versions: '12+', default: -1 }),
                    field('endOffset', int64, { versions: '12+', default: -1 }),
                  ]),
                  { versions: '12+', tagged: { tag: 0 } },
                ),
                field(
                  'currentLeader',
                  struct([
                    field('leaderId', int32, { versions: '12+', default: -1 }),
                    field('leaderEpoch', int32, { versions: '12+', default: -1 }),
                  ]),
                  { versions: '12+', tagged: { tag: 1 } },
                ),
                field(
                  'snapshotId',
                  struct([
                    field('endOffset', int64, { default: -1 }),
                    field('epoch', int32, { default: -1 }),
                  ]),
                  { versions: '12+', tagged: { tag: 2 } },
                ),
                field(
                  'abortedTransactions',
                  array(
                    struct([
                      field('producerId', int64, { versions: '4+' }),
                      field('firstOffset', int64, { versions: '4+' }),
                    ]),
                  ),
                  { versions: '4+', nullable: '4+' },
                ),
                field('preferredReadReplica', int32, { versions: '11+', default: -1 }),
                field('records', records, { nullable: '0+', default: null }),
              ]),
            ),
          ),
        ]),
      ),
    ),
    field(
      'nodeEndpoints',
      array(
        struct([
          field('nodeId', int32, { versions: '16+' }),
          field('host', string, { versions: '16+' }),
          field('port', int32, { versions: '16+' }),
          field('rack', string, { versions: '16+', nullable: '16+', default: null }),
        ]),
      ),
      { versions: '16+', tagged: { tag: 0 } },
    ),
  ],
})
export type FetchResponse = Value<typeof FetchResponse>
