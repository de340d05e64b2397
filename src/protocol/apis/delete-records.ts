// DeleteRecords (key 21). Kafka: DeleteRecordsRequest.json / DeleteRecordsResponse.json.
// v1 is v0 (throttling before the response); v2 is the first flexible version. An offset of -1
// means the high watermark.
import { array, field, int16, int32, int64, message, string, struct, type Value } from '../schema.js'

const versions = '0-2'
const flexibleVersions = '2+'

export const DeleteRecordsRequest = message({
  name: 'DeleteRecordsRequest',
  apiKey: 21,
  versions,
  flexibleVersions,
  fields: [
    field(
      'topics',
      array(
        struct([
          field('name', string),
          field('partitions', array(struct([field('partitionIndex', int32), field('offset', int64)]))),
        ]),
      ),
    ),
    field('timeoutMs', int32),
  ],
})
export type DeleteRecordsRequest = Value<typeof DeleteRecordsRequest>

export const DeleteRecordsResponse = message({
  name: 'DeleteRecordsResponse',
  apiKey: 21,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32),
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
                field('lowWatermark', int64),
                field('errorCode', int16),
              ]),
            ),
          ),
        ]),
      ),
    ),
  ],
})
export type DeleteRecordsResponse = Value<typeof DeleteRecordsResponse>
