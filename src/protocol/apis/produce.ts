// Produce (key 0). Kafka: ProduceRequest.json / ProduceResponse.json.
// v0-v2 may carry message sets v0/v1 (magic 0/1) as well as record batches v2; the log stores v2
// only, so the handler refuses the old formats per partition. v0-v2 are advertised because
// librdkafka enables gzip/snappy/lz4 (its MsgVer1 feature) only if the range includes Produce v2.
import { array, field, int16, int32, int64, message, records, string, struct, type Value } from '../schema.js'

const versions = '0-11'
const flexibleVersions = '9+'

export const ProduceRequest = message({
  name: 'ProduceRequest',
  apiKey: 0,
  versions,
  flexibleVersions,
  fields: [
    field('transactionalId', string, { versions: '3+', nullable: '3+', default: null }),
    field('acks', int16),
    field('timeoutMs', int32),
    field(
      'topicData',
      array(
        struct([
          field('name', string),
          field(
            'partitionData',
            array(
              struct([field('index', int32), field('records', records, { nullable: '0+', default: null })]),
            ),
          ),
        ]),
      ),
    ),
  ],
})
export type ProduceRequest = Value<typeof ProduceRequest>

export const ProduceResponse = message({
  name: 'ProduceResponse',
  apiKey: 0,
  versions,
  flexibleVersions,
  fields: [
    field(
      'responses',
      array(
        struct([
          field('name', string),
          field(
            'partitionResponses',
            array(
              struct([
                field('index', int32),
                field('errorCode', int16),
                field('baseOffset', int64),
                field('logAppendTimeMs', int64, { versions: '2+', default: -1 }),
                field('logStartOffset', int64, { versions: '5+', default: -1 }),
                field(
                  'recordErrors',
                  array(
                    struct([
                      field('batchIndex', int32, { versions: '8+' }),
                      field('batchIndexErrorMessage', string, {
                        versions: '8+',
                        nullable: '8+',
                        default: null,
                      }),
                    ]),
                  ),
                  { versions: '8+' },
                ),
                field('errorMessage', string, { versions: '8+', nullable: '8+', default: null }),
                field(
                  'currentLeader',
                  struct([
                    field('leaderId', int32, { versions: '10+', default: -1 }),
                    field('leaderEpoch', int32, { versions: '10+', default: -1 }),
                  ]),
                  { versions: '10+', tagged: { tag: 0 } },
                ),
              ]),
            ),
          ),
        ]),
      ),
    ),
    field('throttleTimeMs', int32, { versions: '1+', default: 0 }),
    field(
      'nodeEndpoints',
      array(
        struct([
          field('nodeId', int32, { versions: '10+' }),
          field('host', string, { versions: '10+' }),
          field('port', int32, { versions: '10+' }),
          field('rack', string, { versions: '10+', nullable: '10+', default: null }),
        ]),
      ),
      { versions: '10+', tagged: { tag: 0 } },
    ),
  ],
})
export type ProduceResponse = Value<typeof ProduceResponse>
