// ApiVersions: every API and version range the protocol layer implements. A version we do not
// know never reaches here: the connection answers it with encodeApiVersionsUnsupported.
import { KafkaErrors, supportedApiVersions } from '../../protocol/index.js'
import type { ApiHandler } from './context.js'

export const apiVersions: ApiHandler<'ApiVersions'> = {
  handle() {
    // Supported features and finalized features stay at their defaults: some clients
    // (@platformatic/kafka 1.x) cannot read non-empty tagged fields.
    return { errorCode: KafkaErrors.NONE, apiKeys: supportedApiVersions(), throttleTimeMs: 0 }
  },
  errorResponse(_req, code) {
    return { errorCode: code, apiKeys: supportedApiVersions() }
  },
}
