// DescribeConfigs (key 32). Kafka: DescribeConfigsRequest.json / DescribeConfigsResponse.json.
// resourceType: 2 topic, 4 broker, 8 broker logger.
import { array, bool, field, int8, int16, int32, message, string, struct, type Value } from '../schema.js'

const versions = '0-4'
const flexibleVersions = '4+'

export const DescribeConfigsRequest = message({
  name: 'DescribeConfigsRequest',
  apiKey: 32,
  versions,
  flexibleVersions,
  fields: [
    field(
      'resources',
      array(
        struct([
          field('resourceType', int8),
          field('resourceName', string),
          field('configurationKeys', array(string), { nullable: '0+' }),
        ]),
      ),
    ),
    field('includeSynonyms', bool, { versions: '1+', default: false }),
    field('includeDocumentation', bool, { versions: '3+', default: false }),
  ],
})
export type DescribeConfigsRequest = Value<typeof DescribeConfigsRequest>

export const DescribeConfigsResponse = message({
  name: 'DescribeConfigsResponse',
  apiKey: 32,
  versions,
  flexibleVersions,
  fields: [
    field('throttleTimeMs', int32),
    field(
      'results',
      array(
        struct([
          field('errorCode', int16),
          field('errorMessage', string, { nullable: '0+' }),
          field('resourceType', int8),
          field('resourceName', string),
          field(
            'configs',
            array(
              struct([
                field('name', string),
                field('value', string, { nullable: '0+' }),
                field('readOnly', bool),
                field('isDefault', bool, { versions: '0' }),
                // Kafka: before v1 the source depends on the resource; -1 is a placeholder.
                field('configSource', int8, { versions: '1+', default: -1 }),
                field('isSensitive', bool),
                field(
                  'synonyms',
                  array(
                    struct([
                      field('name', string, { versions: '1+' }),
                      field('value', string, { versions: '1+', nullable: '0+' }),
                      field('source', int8, { versions: '1+' }),
                    ]),
                  ),
                  { versions: '1+' },
                ),
                field('configType', int8, { versions: '3+', default: 0 }),
                field('documentation', string, { versions: '3+', nullable: '0+' }),
              ]),
            ),
          ),
        ]),
      ),
    ),
  ],
})
export type DescribeConfigsResponse = Value<typeof DescribeConfigsResponse>
