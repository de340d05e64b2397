// ApiVersions (key 18). Kafka: ApiVersionsRequest.json / ApiVersionsResponse.json.
// Its response always uses response header v0, even in flexible versions, so a client that sent
// a version the broker does not know can still read the error (see frame.ts).
import { array, bool, field, int16, int32, int64, message, string, struct, type Value } from '../schema.js'

const versions = '0-4'
const flexibleVersions = '3+'

export const ApiVersionsRequest = message({
  name: 'ApiVersionsRequest',
  apiKey: 18,
  versions,
  flexibleVersions,
  fields: [
    field('clientSoftwareName', string, { versions: '3+' }),
    field('clientSoftwareVersion', string, { versions: '3+' }),
  ],
})
export type ApiVersionsRequest = Value<typeof ApiVersionsRequest>

export const ApiVersionsResponse = message({
  name: 'ApiVersionsResponse',
  apiKey: 18,
  versions,
  flexibleVersions,
  fields: [
    field('errorCode', int16),
    field(
      'apiKeys',
      array(struct([field('apiKey', int16), field('minVersion', int16), field('maxVersion', int16)])),
    ),
    field('throttleTimeMs', int32, { versions: '1+' }),
    field(
      'supportedFeatures',
      array(
        struct([
          field('name', string, { versions: '3+' }),
          field('minVersion', int16, { versions: '3+' }),
          field('maxVersion', int16, { versions: '3+' }),
        ]),
      ),
      { versions: '3+', tagged: { tag: 0 } },
    ),
    field('finalizedFeaturesEpoch', int64, { versions: '3+', tagged: { tag: 1 }, default: -1 }),
    field(
      'finalizedFeatures',
      array(
        struct([
          field('name', string, { versions: '3+' }),
          field('maxVersionLevel', int16, { versions: '3+' }),
          field('minVersionLevel', int16, { versions: '3+' }),
        ]),
      ),
      { versions: '3+', tagged: { tag: 2 } },
    ),
    field('zkMigrationReady', bool, { versions: '3+', tagged: { tag: 3 }, default: false }),
  ],
})
export type ApiVersionsResponse = Value<typeof ApiVersionsResponse>
