// JoinGroup, SyncGroup, Heartbeat, LeaveGroup, DescribeGroups, ListGroups: thin adapters between
// each API version's wire form and the group coordinator (group-coordinator-api.ts).
import { KafkaErrors } from '../../protocol/index.js'
import type { GroupCoordinatorApi } from '../group-coordinator-api.js'
import type { ApiHandler, RequestContext } from './context.js'

const EMPTY = Buffer.alloc(0)

/** The coordinator, or null when the broker runs without one (every group API then fails). */
function coordinator(ctx: RequestContext): GroupCoordinatorApi | null {
  return ctx.broker.groups ?? null
}

export const joinGroup: ApiHandler<'JoinGroup'> = {
  async handle(req, ctx) {
    const groups = coordinator(ctx)
    if (groups === null) return this.errorResponse(req, KafkaErrors.COORDINATOR_NOT_AVAILABLE, ctx)
    const r = await groups.join({
      groupId: req.groupId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: ctx.apiVersion === 0 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
      reason: req.reason,
      clientId: ctx.header.clientId ?? '',
      clientHost: ctx.connection.clientHost,
      requireKnownMemberId: ctx.apiVersion >= 4,
    })
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      generationId: r.generationId,
      protocolType: r.protocolType,
      // Not nullable before v7.
      protocolName: r.protocolName ?? (ctx.apiVersion >= 7 ? null : ''),
      leader: r.leader,
      skipAssignment: r.skipAssignment ?? false,
      memberId: r.memberId,
      members: r.members,
    }
  },
  errorResponse(req, code, ctx) {
    return {
      errorCode: code,
      generationId: -1,
      protocolName: ctx.apiVersion >= 7 ? null : '',
      leader: '',
      memberId: req.memberId,
      members: [],
    }
  },
}

export const syncGroup: ApiHandler<'SyncGroup'> = {
  async handle(req, ctx) {
    const groups = coordinator(ctx)
    if (groups === null) return this.errorResponse(req, KafkaErrors.COORDINATOR_NOT_AVAILABLE, ctx)
    const r = await groups.sync({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      protocolType: req.protocolType,
      protocolName: req.protocolName,
      assignments: req.assignments,
    })
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      protocolType: r.protocolType,
      protocolName: r.protocolName,
      assignment: r.assignment,
    }
  },
  errorResponse(_req, code) {
    return { errorCode: code, assignment: EMPTY }
  },
}

export const heartbeat: ApiHandler<'Heartbeat'> = {
  async handle(req, ctx) {
    const groups = coordinator(ctx)
    if (groups === null) return this.errorResponse(req, KafkaErrors.COORDINATOR_NOT_AVAILABLE, ctx)
    const errorCode = await groups.heartbeat({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
    })
    return { throttleTimeMs: 0, errorCode }
  },
  errorResponse(_req, code) {
    return { errorCode: code }
  },
}

export const leaveGroup: ApiHandler<'LeaveGroup'> = {
  async handle(req, ctx) {
    const groups = coordinator(ctx)
    if (groups === null) return this.errorResponse(req, KafkaErrors.COORDINATOR_NOT_AVAILABLE, ctx)
    // v0-2 name one member; v3+ a batch.
    const members =
      ctx.apiVersion >= 3 ? req.members : [{ memberId: req.memberId, groupInstanceId: null, reason: null }]
    const r = await groups.leave(req.groupId, members)
    if (ctx.apiVersion >= 3) return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members }
    // Before v3 the one member's error is the response's.
    const memberError = r.members[0]?.errorCode ?? KafkaErrors.NONE
    return { throttleTimeMs: 0, errorCode: r.errorCode !== KafkaErrors.NONE ? r.errorCode : memberError }
  },
  errorResponse(_req, code) {
    return { errorCode: code, members: [] }
  },
}

export const describeGroups: ApiHandler<'DescribeGroups'> = {
  async handle(req, ctx) {
    const groups = coordinator(ctx)
    if (groups === null) return this.errorResponse(req, KafkaErrors.COORDINATOR_NOT_AVAILABLE, ctx)
    const described = await groups.describe(req.groups)
    return { throttleTimeMs: 0, groups: described.map((g) => ({ ...g, members: [...g.members] })) }
  },
  errorResponse(req, code) {
    return {
      groups: req.groups.map((groupId) => ({
        errorCode: code,
        groupId,
        groupState: '',
        protocolType: '',
        protocolData: '',
        members: [],
      })),
    }
  },
}

export const listGroups: ApiHandler<'ListGroups'> = {
  async handle(req, ctx) {
    const groups = coordinator(ctx)
    if (groups === null) return this.errorResponse(req, KafkaErrors.COORDINATOR_NOT_AVAILABLE, ctx)
    const listed = [...(await groups.list(req.statesFilter))]
    // Groups known only by their committed offsets (e.g. before a restart) are Empty, as in Kafka.
    const known = new Set(listed.map((g) => g.groupId))
    const states = req.statesFilter.map((s) => s.toLowerCase())
    if (states.length === 0 || states.includes('empty')) {
      for (const groupId of ctx.broker.log.groups.listGroups()) {
        if (!known.has(groupId)) listed.push({ groupId, protocolType: '', groupState: 'Empty' })
      }
    }
    return {
      throttleTimeMs: 0,
      errorCode: KafkaErrors.NONE,
      groups: listed.map((g) => ({
        groupId: g.groupId,
        protocolType: g.protocolType,
        groupState: g.groupState,
        groupType: 'classic',
      })),
    }
  },
  errorResponse(_req, code) {
    return { errorCode: code, groups: [] }
  },
}
