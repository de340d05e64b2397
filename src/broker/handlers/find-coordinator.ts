// FindCoordinator: this node coordinates every group and every transactional id.
import { KafkaErrors } from '../../protocol/index.js'
import type { ApiHandler, RequestContext } from './context.js'

const KEY_GROUP = 0
const KEY_TRANSACTION = 1

function coordinatorFor(key: string, keyType: number, ctx: RequestContext) {
  const node = { nodeId: ctx.broker.nodeId, host: ctx.connection.advertisedHost, port: ctx.broker.port }
  if (keyType !== KEY_GROUP && keyType !== KEY_TRANSACTION) {
    return {
      key,
      nodeId: -1,
      host: '',
      port: -1,
      errorCode: KafkaErrors.INVALID_REQUEST,
      errorMessage: `coordinator key type ${keyType} is not supported: only groups (0) and transactions (1)`,
    }
  }
  if (keyType === KEY_GROUP && ctx.broker.groups === undefined) {
    return {
      key,
      nodeId: -1,
      host: '',
      port: -1,
      errorCode: KafkaErrors.COORDINATOR_NOT_AVAILABLE,
      errorMessage: 'this broker runs without a group coordinator',
    }
  }
  return { ...node, key, errorCode: KafkaErrors.NONE, errorMessage: null }
}

export const findCoordinator: ApiHandler<'FindCoordinator'> = {
  handle(req, ctx) {
    if (ctx.apiVersion >= 4) {
      return {
        throttleTimeMs: 0,
        coordinators: req.coordinatorKeys.map((key) => coordinatorFor(key, req.keyType, ctx)),
      }
    }
    const c = coordinatorFor(req.key, req.keyType, ctx)
    return {
      throttleTimeMs: 0,
      errorCode: c.errorCode,
      errorMessage: c.errorMessage,
      nodeId: c.nodeId,
      host: c.host,
      port: c.port,
    }
  },
  errorResponse(req, code, ctx) {
    if (ctx.apiVersion >= 4) {
      return {
        coordinators: req.coordinatorKeys.map((key) => ({
          key,
          nodeId: -1,
          host: '',
          port: -1,
          errorCode: code,
          errorMessage: null,
        })),
      }
    }
    return { errorCode: code, errorMessage: null, nodeId: -1, host: '', port: -1 }
  },
}
