// Metadata (key 3). Kafka: MetadataRequest.json / MetadataResponse.json.
// v0: an empty topic list means all topics; v1+: null means all, empty means none.
import { array, bool, field, int16, int32, message, string, struct, uuid, type Value } from '../schema.js'

const versions = '0-12'
const flexibleVersions = '9+'

export const MetadataRequest = message({
  name: 'MetadataRequest',
  apiKey: 3,
  versions,
  flexibleVersions,
  fields: [
    field(
      'topics',
      array(
        struct([field('topicId', uuid, { versions: '10+' }), field('name', string, { nullable: '10+' })]),
      ),
      { nullable: '1+' },
    ),
    field('allowAutoTopicCreation', bool, { versions: '4+', default: true }),
    field('includeClusterAuthorizedOperations', bool, { versions: '8-10' }),
    field('includeTopicAuthorizedOperations', bool, { versions: '8+' }),
  ],
})
export type MetadataRequest = Value<typeof MetadataRequest>

/** "No authorized operations were requested" in Metadata and DescribeGroups responses. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648

export const MetadataResponse = message({
  name: 'MetadataResponse',
  apiKey: 3,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32, { versions: '3+' }),
    field(
      'brokers',
      array(
        struct([
          field('nodeId', int32),
          field('host', string),
          field('port', int32),
          field('rack', string, { versions: '1+', nullable: '1+', default: null }),
        ]),
      ),
    ),
    field('clusterId', string, { versions: '2+', nullable: '2+', default: null }),
    field('controllerId', int32, { versions: '1+', default: -1 }),
    field(
      'topics',
      array(
        struct([
          field('errorCode', int16),
          field('name', string, { nullable: '12+' }),
          field('topicId', uuid, { versions: '10+' }),
          field('isInternal', bool, { versions: '1+', default: false }),
          field(
            'partitions',
            array(
              struct([
                field('errorCode', int16),
                field('partitionIndex', int32),
                field('leaderId', int32),
                field('leaderEpoch', int32, { versions: '7+', default: -1 }),
                field('replicaNodes', array(int32)),
                field('isrNodes', array(int32)),
                field('offlineReplicas', array(int32), { versions: '5+' }),
              ]),
            ),
          ),
          field('topicAuthorizedOperations', int32, {
            versions: '8+',
            default: AUTHORIZED_OPERATIONS_OMITTED,
          }),
        ]),
      ),
    ),
    field('clusterAuthorizedOperations', int32, { versions: '8-10', default: AUTHORIZED_OPERATIONS_OMITTED }),
  ],
})
export type MetadataResponse = Value<typeof MetadataResponse>
