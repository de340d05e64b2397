// Kafka's classic consumer-group protocol (JoinGroup / SyncGroup / Heartbeat / LeaveGroup), as
// Kafka's GroupCoordinator runs it: a state machine per group, in memory. Membership is not
// persisted: after a restart members rejoin, as with a restarted single Kafka broker. Committed
// offsets live in log/group-offsets.ts; this module only validates who may commit them.
//
// Group states: Empty → PreparingRebalance (a join, a leave or a timeout starts a rebalance) →
// CompletingRebalance (every known member rejoined, or the rebalance timeout dropped the rest; the
// leader got everyone's metadata) → Stable (the leader's SyncGroup carried the assignments).
// Dead only after close().
import { randomUUID } from 'node:crypto'
import { assert } from '../core/assert.js'
import { type KafkaErrorCode, KafkaErrors } from '../protocol/errors.js'
import type {
  GroupCoordinatorApi,
  GroupDescription,
  GroupListing,
  GroupProtocol,
  HeartbeatInput,
  JoinGroupInput,
  JoinGroupResult,
  LeaveGroupResult,
  LeavingMember,
  SyncGroupInput,
  SyncGroupResult,
} from './group-coordinator-api.js'
import { type Scheduler, systemScheduler, type Timer } from './scheduler.js'

export type ErrorCode = KafkaErrorCode

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead'

export interface GroupCoordinatorOptions {
  readonly scheduler?: Scheduler
  /** group.initial.rebalance.delay.ms: how long a rebalance of an Empty group waits for more members. Kafka: 3000. */
  readonly initialRebalanceDelayMs?: number
  /** group.min.session.timeout.ms. Kafka: 6000. */
  readonly sessionTimeoutMsMin?: number
  /** group.max.session.timeout.ms. Kafka: 1800000. */
  readonly sessionTimeoutMsMax?: number
  /** group.max.size. Kafka: unbounded; here 10000. */
  readonly groupMembersMax?: number
  /** How long a new member may wait in a rebalance that does not complete (KIP-394). Kafka: 5 minutes. */
  readonly newMemberJoinTimeoutMs?: number
  /** Source of the unique part of generated member ids; injectable for deterministic tests. */
  readonly randomId?: () => string
}

const EMPTY = Buffer.alloc(0)

type JoinCallback = (result: JoinGroupResult) => void
type SyncCallback = (result: SyncGroupResult) => void

interface Member {
  memberId: string
  readonly groupInstanceId: string | null
  clientId: string
  clientHost: string
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  readonly protocolType: string
  protocols: readonly GroupProtocol[]
  assignment: Buffer
  awaitingJoin: JoinCallback | null
  awaitingSync: SyncCallback | null
  /** Joined, but no rebalance has completed with it yet. */
  isNew: boolean
  heartbeatTimer: Timer | null
}

interface Group {
  readonly groupId: string
  state: GroupState
  generationId: number
  protocolType: string | null
  protocolName: string | null
  leaderId: string | null
  /** Insertion order matters: a departing leader is replaced by the oldest member. */
  readonly members: Map<string, Member>
  /** groupInstanceId → memberId. */
  readonly staticMembers: Map<string, string>
  /** Member ids handed out with MEMBER_ID_REQUIRED, not yet used to join; each expires after its session timeout. */
  readonly pendingMembers: Map<string, Timer>
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers: Set<string>
  joinTimer: Timer | null
  /** The join timer is group.initial.rebalance.delay.ms, which waits even when everyone has joined. */
  initialDelayActive: boolean
  newMemberAdded: boolean
  syncTimer: Timer | null
}

function errorJoin(memberId: string, errorCode: ErrorCode): JoinGroupResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  }
}

function errorSync(errorCode: ErrorCode): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY }
}

function sameProtocols(a: readonly GroupProtocol[], b: readonly GroupProtocol[]): boolean {
  return (
    a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata))
  )
}

/** JoinGroup v0 has no rebalance timeout: the session timeout serves, as in Kafka. */
function rebalanceTimeoutOf(req: JoinGroupInput): number {
  return req.rebalanceTimeoutMs < 0 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs
}

function metadataFor(member: Member, protocolName: string): Buffer {
  const protocol = member.protocols.find((p) => p.name === protocolName)
  assert(protocol !== undefined, `member ${member.memberId} lacks the group's protocol ${protocolName}`)
  return protocol.metadata
}

export class GroupCoordinator implements GroupCoordinatorApi {
  private readonly groups = new Map<string, Group>()
  private readonly scheduler: Scheduler
  private readonly initialRebalanceDelayMs: number
  private readonly sessionTimeoutMsMin: number
  private readonly sessionTimeoutMsMax: number
  private readonly groupMembersMax: number
  private readonly newMemberJoinTimeoutMs: number
  private readonly randomId: () => string
  private closed = false

  constructor(options: GroupCoordinatorOptions = {}) {
    this.scheduler = options.scheduler ?? systemScheduler
    this.initialRebalanceDelayMs = options.initialRebalanceDelayMs ?? 3000
    this.sessionTimeoutMsMin = options.sessionTimeoutMsMin ?? 6000
    this.sessionTimeoutMsMax = options.sessionTimeoutMsMax ?? 1_800_000
    this.groupMembersMax = options.groupMembersMax ?? 10_000
    this.newMemberJoinTimeoutMs = options.newMemberJoinTimeoutMs ?? 300_000
    this.randomId = options.randomId ?? randomUUID
    assert(this.initialRebalanceDelayMs >= 0, 'initialRebalanceDelayMs must be >= 0')
    assert(
      this.sessionTimeoutMsMin <= this.sessionTimeoutMsMax,
      'sessionTimeoutMsMin must be <= sessionTimeoutMsMax',
    )
    assert(this.groupMembersMax >= 1, 'groupMembersMax must be >= 1')
  }

  // ---- JoinGroup ----

  join(req: JoinGroupInput): Promise<JoinGroupResult> {
    const early = this.checkJoin(req)
    if (early !== KafkaErrors.NONE) return Promise.resolve(errorJoin(req.memberId, early))
    const group = this.groups.get(req.groupId) ?? this.newGroup(req.groupId)
    return new Promise<JoinGroupResult>((resolve) => {
      if (req.memberId === '') this.joinNewMember(group, req, resolve)
      else this.joinKnownMember(group, req, resolve)
      if (group.state === 'PreparingRebalance') this.tryCompleteJoin(group)
    })
  }

  private checkJoin(req: JoinGroupInput): ErrorCode {
    if (this.closed) return KafkaErrors.COORDINATOR_NOT_AVAILABLE
    if (req.groupId === '') return KafkaErrors.INVALID_GROUP_ID
    if (req.sessionTimeoutMs < this.sessionTimeoutMsMin || req.sessionTimeoutMs > this.sessionTimeoutMsMax) {
      return KafkaErrors.INVALID_SESSION_TIMEOUT
    }
    const group = this.groups.get(req.groupId)
    // A known member id for a group we do not have: the member is from before a restart.
    if (group === undefined) {
      if (req.memberId !== '') return KafkaErrors.UNKNOWN_MEMBER_ID
      const usable = req.protocolType !== '' && req.protocols.length > 0
      return usable ? KafkaErrors.NONE : KafkaErrors.INCONSISTENT_GROUP_PROTOCOL
    }
    if (group.state === 'Dead') return KafkaErrors.COORDINATOR_NOT_AVAILABLE
    const accepted =
      group.state === 'Empty' || group.members.has(req.memberId) || group.members.size < this.groupMembersMax
    if (!accepted) return KafkaErrors.GROUP_MAX_SIZE_REACHED
    if (!this.supportsProtocols(group, req.protocolType, req.protocols))
      return KafkaErrors.INCONSISTENT_GROUP_PROTOCOL
    return KafkaErrors.NONE
  }

  private joinNewMember(group: Group, req: JoinGroupInput, resolve: JoinCallback): void {
    const memberId = `${req.groupInstanceId ?? req.clientId}-${this.randomId()}`
    if (req.groupInstanceId !== null) {
      this.joinStaticMember(group, memberId, req, resolve)
    } else if (req.requireKnownMemberId) {
      // The client learns its id first, so a join that times out client-side cannot leave a ghost member.
      this.addPendingMember(group, memberId, req.sessionTimeoutMs)
      resolve(errorJoin(memberId, KafkaErrors.MEMBER_ID_REQUIRED))
    } else {
      this.addMemberAndRebalance(group, memberId, req, resolve)
    }
  }

  private joinKnownMember(group: Group, req: JoinGroupInput, resolve: JoinCallback): void {
    if (group.pendingMembers.has(req.memberId)) {
      this.addMemberAndRebalance(group, req.memberId, req, resolve)
      return
    }
    const error = this.validateCurrentMember(group, req.memberId, req.groupInstanceId)
    if (error !== KafkaErrors.NONE) {
      resolve(errorJoin(req.memberId, error))
      return
    }
    const member = group.members.get(req.memberId)!
    const unchanged = sameProtocols(member.protocols, req.protocols)
    if (group.state === 'Empty' || group.state === 'Dead') {
      resolve(errorJoin(req.memberId, KafkaErrors.UNKNOWN_MEMBER_ID))
    } else if (group.state === 'CompletingRebalance' && unchanged) {
      // The member missed its JoinGroup response: give it the current generation again.
      resolve(this.currentGenerationJoin(group, member))
    } else if (group.state === 'Stable' && unchanged && group.leaderId !== member.memberId) {
      // An unchanged follower keeps the current generation; the leader's rejoin asks for a new assignment.
      resolve(this.currentGenerationJoin(group, member))
    } else {
      this.updateMemberAndRebalance(group, member, req, resolve)
    }
  }

  /** A static member (groupInstanceId) rejoining with a fresh member id takes its old place (KIP-345). */
  private joinStaticMember(
    group: Group,
    newMemberId: string,
    req: JoinGroupInput,
    resolve: JoinCallback,
  ): void {
    const instanceId = req.groupInstanceId!
    const oldMemberId = group.staticMembers.get(instanceId)
    if (oldMemberId === undefined) {
      this.addMemberAndRebalance(group, newMemberId, req, resolve)
      return
    }
    const member = this.replaceStaticMember(group, instanceId, oldMemberId, newMemberId)
    if (
      group.state === 'Stable' &&
      group.leaderId !== newMemberId &&
      sameProtocols(member.protocols, req.protocols)
    ) {
      // A restarted follower with the same subscription keeps its assignment: no rebalance.
      this.updateMember(member, req)
      this.scheduleHeartbeat(group, member, member.sessionTimeoutMs)
      resolve(this.currentGenerationJoin(group, member))
    } else {
      this.updateMemberAndRebalance(group, member, req, resolve)
    }
  }

  private replaceStaticMember(
    group: Group,
    instanceId: string,
    oldMemberId: string,
    newMemberId: string,
  ): Member {
    const member = group.members.get(oldMemberId)
    assert(member !== undefined, `static member ${instanceId} maps to missing member ${oldMemberId}`)
    // The old incarnation's outstanding requests are answered: it has been fenced.
    const join = member.awaitingJoin
    const sync = member.awaitingSync
    member.awaitingJoin = null
    member.awaitingSync = null
    join?.(errorJoin(oldMemberId, KafkaErrors.FENCED_INSTANCE_ID))
    sync?.(errorSync(KafkaErrors.FENCED_INSTANCE_ID))
    // Re-inserted under the new id; only leader succession depends on the order of `members`.
    group.members.delete(oldMemberId)
    member.memberId = newMemberId
    group.members.set(newMemberId, member)
    group.staticMembers.set(instanceId, newMemberId)
    if (group.leaderId === oldMemberId) group.leaderId = newMemberId
    if (group.pendingSyncMembers.delete(oldMemberId)) group.pendingSyncMembers.add(newMemberId)
    return member
  }

  private currentGenerationJoin(group: Group, member: Member): JoinGroupResult {
    return {
      errorCode: KafkaErrors.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      skipAssignment: false,
      memberId: member.memberId,
      members: group.leaderId === member.memberId ? this.currentMemberMetadata(group) : [],
    }
  }

  private currentMemberMetadata(group: Group): JoinGroupResult['members'] {
    const protocolName = group.protocolName
    assert(protocolName !== null, `group ${group.groupId} has no protocol in state ${group.state}`)
    return [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: metadataFor(m, protocolName),
    }))
  }

  private addPendingMember(group: Group, memberId: string, sessionTimeoutMs: number): void {
    const timer = this.scheduler.schedule(sessionTimeoutMs, () => {
      group.pendingMembers.delete(memberId)
      this.tryCompleteJoin(group)
    })
    group.pendingMembers.set(memberId, timer)
  }

  private addMemberAndRebalance(
    group: Group,
    memberId: string,
    req: JoinGroupInput,
    resolve: JoinCallback,
  ): void {
    const member: Member = {
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: rebalanceTimeoutOf(req),
      protocolType: req.protocolType,
      protocols: req.protocols,
      assignment: EMPTY,
      awaitingJoin: resolve,
      awaitingSync: null,
      isNew: true,
      heartbeatTimer: null,
    }
    // During the initial delay, each new member extends the wait (up to the rebalance timeout).
    if (group.state === 'PreparingRebalance' && group.generationId === 0) group.newMemberAdded = true
    if (group.members.size === 0) group.protocolType = member.protocolType
    if (group.leaderId === null) group.leaderId = memberId
    group.members.set(memberId, member)
    if (member.groupInstanceId !== null) group.staticMembers.set(member.groupInstanceId, memberId)
    group.pendingMembers.get(memberId)?.cancel()
    group.pendingMembers.delete(memberId)
    this.scheduleHeartbeat(group, member, this.newMemberJoinTimeoutMs)
    this.maybePrepareRebalance(group)
  }

  private updateMember(member: Member, req: JoinGroupInput): void {
    member.protocols = req.protocols
    member.clientId = req.clientId
    member.clientHost = req.clientHost
    member.sessionTimeoutMs = req.sessionTimeoutMs
    member.rebalanceTimeoutMs = rebalanceTimeoutOf(req)
  }

  private updateMemberAndRebalance(
    group: Group,
    member: Member,
    req: JoinGroupInput,
    resolve: JoinCallback,
  ): void {
    this.updateMember(member, req)
    // A duplicate join (e.g. on a new connection after a client-side timeout) supersedes the older one.
    const previous = member.awaitingJoin
    member.awaitingJoin = resolve
    previous?.(errorJoin(member.memberId, KafkaErrors.REBALANCE_IN_PROGRESS))
    this.maybePrepareRebalance(group)
  }

  private supportsProtocols(
    group: Group,
    protocolType: string,
    protocols: readonly GroupProtocol[],
  ): boolean {
    if (group.state === 'Empty') return protocolType !== '' && protocols.length > 0
    if (group.protocolType !== protocolType) return false
    const members = [...group.members.values()]
    return protocols.some((p) => members.every((m) => m.protocols.some((q) => q.name === p.name)))
  }

  // ---- rebalance ----

  private maybePrepareRebalance(group: Group): void {
    if (group.state === 'Stable' || group.state === 'CompletingRebalance' || group.state === 'Empty') {
      this.prepareRebalance(group)
    }
  }

  private prepareRebalance(group: Group): void {
    // Followers waiting for the leader's assignment must rejoin instead.
    if (group.state === 'CompletingRebalance') this.resetAndPropagateAssignmentError(group)
    group.syncTimer?.cancel()
    group.syncTimer = null
    group.pendingSyncMembers.clear()
    group.joinTimer?.cancel()
    const wasEmpty = group.state === 'Empty'
    group.state = 'PreparingRebalance'
    const rebalanceTimeoutMs = this.rebalanceTimeoutMs(group)
    if (wasEmpty && this.initialRebalanceDelayMs > 0) {
      group.initialDelayActive = true
      group.newMemberAdded = false
      const delayMs = this.initialRebalanceDelayMs
      this.scheduleInitialDelayedJoin(group, delayMs, Math.max(rebalanceTimeoutMs - delayMs, 0))
    } else {
      group.initialDelayActive = false
      group.joinTimer = this.scheduler.schedule(rebalanceTimeoutMs, () => this.completeJoin(group))
      this.tryCompleteJoin(group)
    }
  }

  private scheduleInitialDelayedJoin(group: Group, delayMs: number, remainingMs: number): void {
    group.joinTimer = this.scheduler.schedule(delayMs, () => {
      if (group.newMemberAdded && remainingMs > 0) {
        group.newMemberAdded = false
        const nextDelayMs = Math.min(this.initialRebalanceDelayMs, remainingMs)
        this.scheduleInitialDelayedJoin(group, nextDelayMs, Math.max(remainingMs - nextDelayMs, 0))
      } else {
        this.completeJoin(group)
      }
    })
  }

  /** The largest rebalance timeout of the members: the longest any of them may take to rejoin. */
  private rebalanceTimeoutMs(group: Group): number {
    let ms = 0
    for (const m of group.members.values()) ms = Math.max(ms, m.rebalanceTimeoutMs)
    return ms
  }

  private hasAllMembersJoined(group: Group): boolean {
    if (group.pendingMembers.size > 0) return false
    for (const m of group.members.values()) if (m.awaitingJoin === null) return false
    return true
  }

  private tryCompleteJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance' || group.initialDelayActive) return
    if (this.hasAllMembersJoined(group)) this.completeJoin(group)
  }

  private completeJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return
    group.joinTimer?.cancel()
    group.joinTimer = null
    group.initialDelayActive = false
    // Dynamic members that did not rejoin in time are gone; static ones stay until their session expires.
    for (const m of [...group.members.values()]) {
      if (m.awaitingJoin === null && m.groupInstanceId === null) this.removeMember(group, m)
    }
    if (!this.electJoinedLeader(group) && group.members.size > 0) {
      // Only static members that have not rejoined remain: wait for them, or for their sessions to end.
      group.joinTimer = this.scheduler.schedule(this.rebalanceTimeoutMs(group), () =>
        this.completeJoin(group),
      )
      return
    }
    group.generationId += 1
    if (group.members.size === 0) {
      group.protocolName = null
      group.state = 'Empty'
      return
    }
    group.protocolName = this.selectProtocol(group)
    group.state = 'CompletingRebalance'
    for (const m of group.members.values()) {
      group.pendingSyncMembers.add(m.memberId)
      const callback = m.awaitingJoin
      m.awaitingJoin = null
      m.isNew = false
      callback?.(this.currentGenerationJoin(group, m))
      this.scheduleHeartbeat(group, m, m.sessionTimeoutMs)
    }
    // Members that never send SyncGroup are dropped after the rebalance timeout, so the rest can go on.
    const generationId = group.generationId
    group.syncTimer = this.scheduler.schedule(this.rebalanceTimeoutMs(group), () =>
      this.expirePendingSync(group, generationId),
    )
  }

  /** Keeps the leader if it rejoined, else promotes a member that did. False if nobody rejoined. */
  private electJoinedLeader(group: Group): boolean {
    if (group.leaderId === null) return false
    if (group.members.get(group.leaderId)?.awaitingJoin) return true
    for (const m of group.members.values()) {
      if (m.awaitingJoin !== null) {
        group.leaderId = m.memberId
        return true
      }
    }
    return false
  }

  /**
   * Kafka's vote: among the protocols every member supports, each member votes for the first in its
   * own preference order; most votes wins, ties go to the leader's preference.
   */
  private selectProtocol(group: Group): string {
    const members = [...group.members.values()]
    const leader = group.members.get(group.leaderId!)!
    const candidates = leader.protocols
      .map((p) => p.name)
      .filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)))
    assert(candidates.length > 0, `group ${group.groupId}: no protocol common to all members`)
    const votes = new Map<string, number>()
    for (const m of members) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))!.name
      votes.set(choice, (votes.get(choice) ?? 0) + 1)
    }
    let best = candidates[0]!
    for (const name of candidates) if ((votes.get(name) ?? 0) > (votes.get(best) ?? 0)) best = name
    return best
  }

  private expirePendingSync(group: Group, generationId: number): void {
    group.syncTimer = null
    if (generationId !== group.generationId || group.pendingSyncMembers.size === 0) return
    if (group.state !== 'CompletingRebalance' && group.state !== 'Stable') return
    for (const memberId of [...group.pendingSyncMembers]) {
      const m = group.members.get(memberId)
      if (m !== undefined) this.removeMember(group, m)
    }
    this.prepareRebalance(group)
  }

  private resetAndPropagateAssignmentError(group: Group): void {
    for (const m of group.members.values()) m.assignment = EMPTY
    this.propagateAssignment(group, KafkaErrors.REBALANCE_IN_PROGRESS)
  }

  private propagateAssignment(group: Group, errorCode: ErrorCode): void {
    const ok = errorCode === KafkaErrors.NONE
    for (const m of group.members.values()) {
      const callback = m.awaitingSync
      if (callback === null) continue
      m.awaitingSync = null
      callback({
        errorCode,
        protocolType: ok ? group.protocolType : null,
        protocolName: ok ? group.protocolName : null,
        assignment: ok ? m.assignment : EMPTY,
      })
      this.scheduleHeartbeat(group, m, m.sessionTimeoutMs)
    }
  }

  // ---- SyncGroup ----

  sync(req: SyncGroupInput): Promise<SyncGroupResult> {
    const error = this.checkSync(req)
    if (error !== KafkaErrors.NONE) return Promise.resolve(errorSync(error))
    const group = this.groups.get(req.groupId)!
    const member = group.members.get(req.memberId)!
    if (group.state === 'Stable') {
      group.pendingSyncMembers.delete(member.memberId)
      this.scheduleHeartbeat(group, member, member.sessionTimeoutMs)
      return Promise.resolve({
        errorCode: KafkaErrors.NONE,
        protocolType: group.protocolType,
        protocolName: group.protocolName,
        assignment: member.assignment,
      })
    }
    assert(group.state === 'CompletingRebalance', `sync in state ${group.state}`)
    return new Promise<SyncGroupResult>((resolve) => {
      const previous = member.awaitingSync
      member.awaitingSync = resolve
      previous?.(errorSync(KafkaErrors.REBALANCE_IN_PROGRESS))
      group.pendingSyncMembers.delete(member.memberId)
      if (group.pendingSyncMembers.size === 0) {
        group.syncTimer?.cancel()
        group.syncTimer = null
      }
      // Followers wait here until the leader's SyncGroup brings the assignments.
      if (group.leaderId === member.memberId) this.completeSync(group, req.assignments)
    })
  }

  private checkSync(req: SyncGroupInput): ErrorCode {
    if (this.closed) return KafkaErrors.COORDINATOR_NOT_AVAILABLE
    if (req.groupId === '') return KafkaErrors.INVALID_GROUP_ID
    const group = this.groups.get(req.groupId)
    if (group === undefined) return KafkaErrors.UNKNOWN_MEMBER_ID
    if (group.state === 'Dead') return KafkaErrors.COORDINATOR_NOT_AVAILABLE
    const error = this.validateCurrentMember(group, req.memberId, req.groupInstanceId)
    if (error !== KafkaErrors.NONE) return error
    if (req.generationId !== group.generationId) return KafkaErrors.ILLEGAL_GENERATION
    if (req.protocolType !== null && req.protocolType !== group.protocolType) {
      return KafkaErrors.INCONSISTENT_GROUP_PROTOCOL
    }
    if (req.protocolName !== null && req.protocolName !== group.protocolName) {
      return KafkaErrors.INCONSISTENT_GROUP_PROTOCOL
    }
    if (group.state === 'Empty') return KafkaErrors.UNKNOWN_MEMBER_ID
    if (group.state === 'PreparingRebalance') return KafkaErrors.REBALANCE_IN_PROGRESS
    return KafkaErrors.NONE
  }

  /** The leader's assignments reach every member; members it left out get an empty one, as in Kafka. */
  private completeSync(group: Group, assignments: SyncGroupInput['assignments']): void {
    const byMember = new Map<string, Buffer>(assignments.map((a) => [a.memberId, a.assignment]))
    for (const m of group.members.values()) m.assignment = byMember.get(m.memberId) ?? EMPTY
    group.state = 'Stable'
    this.propagateAssignment(group, KafkaErrors.NONE)
  }

  // ---- Heartbeat ----

  heartbeat({ groupId, memberId, generationId, groupInstanceId }: HeartbeatInput): ErrorCode {
    if (this.closed) return KafkaErrors.COORDINATOR_NOT_AVAILABLE
    if (groupId === '') return KafkaErrors.INVALID_GROUP_ID
    const group = this.groups.get(groupId)
    if (group === undefined) return KafkaErrors.UNKNOWN_MEMBER_ID
    if (group.state === 'Dead') return KafkaErrors.COORDINATOR_NOT_AVAILABLE
    const error = this.validateCurrentMember(group, memberId, groupInstanceId)
    if (error !== KafkaErrors.NONE) return error
    const member = group.members.get(memberId)!
    // The generation first, as Kafka: a member that missed a generation must not keep its
    // session alive by heartbeating through the next rebalance.
    if (generationId !== group.generationId) return KafkaErrors.ILLEGAL_GENERATION
    if (group.state === 'Empty') return KafkaErrors.UNKNOWN_MEMBER_ID
    if (group.state === 'PreparingRebalance') {
      // Keeps the member alive while it gets around to rejoining; the answer tells it to.
      if (!member.isNew) this.scheduleHeartbeat(group, member, member.sessionTimeoutMs)
      return KafkaErrors.REBALANCE_IN_PROGRESS
    }
    this.scheduleHeartbeat(group, member, member.sessionTimeoutMs)
    return KafkaErrors.NONE
  }

  private scheduleHeartbeat(group: Group, member: Member, timeoutMs: number): void {
    member.heartbeatTimer?.cancel()
    member.heartbeatTimer = this.scheduler.schedule(timeoutMs, () => this.expireHeartbeat(group, member))
  }

  private expireHeartbeat(group: Group, member: Member): void {
    member.heartbeatTimer = null
    if (group.members.get(member.memberId) !== member) return
    // A member blocked in JoinGroup or SyncGroup cannot heartbeat; the rebalance and sync timeouts bound that wait.
    if (!member.isNew && (member.awaitingJoin !== null || member.awaitingSync !== null)) {
      this.scheduleHeartbeat(group, member, member.sessionTimeoutMs)
      return
    }
    this.removeMemberAndUpdateGroup(group, member)
  }

  // ---- LeaveGroup ----

  leave(groupId: string, members: readonly LeavingMember[]): LeaveGroupResult {
    if (this.closed) return { errorCode: KafkaErrors.COORDINATOR_NOT_AVAILABLE, members: [] }
    if (groupId === '') return { errorCode: KafkaErrors.INVALID_GROUP_ID, members: [] }
    const group = this.groups.get(groupId)
    if (group?.state === 'Dead') return { errorCode: KafkaErrors.COORDINATOR_NOT_AVAILABLE, members: [] }
    return {
      errorCode: KafkaErrors.NONE,
      members: members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        errorCode: group === undefined ? KafkaErrors.UNKNOWN_MEMBER_ID : this.leaveOne(group, m),
      })),
    }
  }

  private leaveOne(group: Group, leaving: LeavingMember): ErrorCode {
    if (leaving.memberId === '') {
      // Administrative removal of a static member by its instance id alone (KIP-345).
      const memberId =
        leaving.groupInstanceId === null ? undefined : group.staticMembers.get(leaving.groupInstanceId)
      const member = memberId === undefined ? undefined : group.members.get(memberId)
      if (member === undefined) return KafkaErrors.UNKNOWN_MEMBER_ID
      this.removeMemberAndUpdateGroup(group, member)
      return KafkaErrors.NONE
    }
    const pending = group.pendingMembers.get(leaving.memberId)
    if (pending !== undefined) {
      pending.cancel()
      group.pendingMembers.delete(leaving.memberId)
      this.tryCompleteJoin(group)
      return KafkaErrors.NONE
    }
    const error = this.validateCurrentMember(group, leaving.memberId, leaving.groupInstanceId)
    if (error !== KafkaErrors.NONE) return error
    this.removeMemberAndUpdateGroup(group, group.members.get(leaving.memberId)!)
    return KafkaErrors.NONE
  }

  // ---- membership ----

  private validateCurrentMember(group: Group, memberId: string, groupInstanceId: string | null): ErrorCode {
    if (groupInstanceId !== null) {
      const current = group.staticMembers.get(groupInstanceId)
      if (current !== undefined && current !== memberId) return KafkaErrors.FENCED_INSTANCE_ID
    }
    return group.members.has(memberId) ? KafkaErrors.NONE : KafkaErrors.UNKNOWN_MEMBER_ID
  }

  /** Removes a member (its outstanding requests get UNKNOWN_MEMBER_ID) without changing the group's state. */
  private removeMember(group: Group, member: Member): void {
    member.heartbeatTimer?.cancel()
    member.heartbeatTimer = null
    const join = member.awaitingJoin
    const sync = member.awaitingSync
    member.awaitingJoin = null
    member.awaitingSync = null
    join?.(errorJoin(member.memberId, KafkaErrors.UNKNOWN_MEMBER_ID))
    sync?.(errorSync(KafkaErrors.UNKNOWN_MEMBER_ID))
    group.members.delete(member.memberId)
    if (
      member.groupInstanceId !== null &&
      group.staticMembers.get(member.groupInstanceId) === member.memberId
    ) {
      group.staticMembers.delete(member.groupInstanceId)
    }
    if (group.leaderId === member.memberId) group.leaderId = group.members.keys().next().value ?? null
    group.pendingSyncMembers.delete(member.memberId)
  }

  private removeMemberAndUpdateGroup(group: Group, member: Member): void {
    this.removeMember(group, member)
    if (group.state === 'PreparingRebalance') this.tryCompleteJoin(group)
    else this.maybePrepareRebalance(group)
  }

  // ---- OffsetCommit ----

  validateOffsetCommit(
    groupId: string,
    memberId: string,
    generationId: number,
    groupInstanceId: string | null = null,
  ): ErrorCode {
    if (this.closed) return KafkaErrors.COORDINATOR_NOT_AVAILABLE
    const group = this.groups.get(groupId)
    if (group === undefined) {
      // Negative generation: the group uses the broker only to store offsets. Else the commit comes
      // from a generation this coordinator never saw (e.g. from before a restart).
      if (generationId >= 0) return KafkaErrors.ILLEGAL_GENERATION
      this.newGroup(groupId)
      return KafkaErrors.NONE
    }
    if (group.state === 'Dead') return KafkaErrors.COORDINATOR_NOT_AVAILABLE
    if (groupInstanceId !== null) {
      const current = group.staticMembers.get(groupInstanceId)
      if (current !== undefined && current !== memberId) return KafkaErrors.FENCED_INSTANCE_ID
    }
    if (generationId < 0 && group.state === 'Empty') return KafkaErrors.NONE
    const member = group.members.get(memberId)
    if (member === undefined) return KafkaErrors.UNKNOWN_MEMBER_ID
    if (generationId !== group.generationId) return KafkaErrors.ILLEGAL_GENERATION
    // The member has the newest generation but not yet its assignment: it must sync first.
    if (group.state === 'CompletingRebalance') return KafkaErrors.REBALANCE_IN_PROGRESS
    // Stable, or PreparingRebalance: Kafka lets a member commit what it processed before rejoining.
    if (!member.isNew) this.scheduleHeartbeat(group, member, member.sessionTimeoutMs)
    return KafkaErrors.NONE
  }

  // ---- DescribeGroups / ListGroups ----

  describe(groupIds: readonly string[]): GroupDescription[] {
    return groupIds.map((groupId) => {
      const group = this.closed ? undefined : this.groups.get(groupId)
      if (group === undefined) {
        const errorCode = this.closed ? KafkaErrors.COORDINATOR_NOT_AVAILABLE : KafkaErrors.NONE
        return { errorCode, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] }
      }
      // Like Kafka, metadata and assignments only once Stable (before that they are in flux).
      const protocolName = group.state === 'Stable' ? group.protocolName : null
      return {
        errorCode: KafkaErrors.NONE,
        groupId,
        groupState: group.state,
        protocolType: group.protocolType ?? '',
        protocolData: protocolName ?? '',
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: protocolName === null ? EMPTY : metadataFor(m, protocolName),
          memberAssignment: protocolName === null ? EMPTY : m.assignment,
        })),
      }
    })
  }

  list(states: readonly string[] = []): GroupListing[] {
    if (this.closed) return []
    const wanted = new Set(states.map((s) => s.toLowerCase()))
    const out: GroupListing[] = []
    for (const group of this.groups.values()) {
      if (wanted.size > 0 && !wanted.has(group.state.toLowerCase())) continue
      out.push({ groupId: group.groupId, protocolType: group.protocolType ?? '', groupState: group.state })
    }
    return out
  }

  /** The group's state and generation, for logs and tests; undefined for a group this coordinator does not know. */
  groupState(groupId: string): { state: GroupState; generationId: number } | undefined {
    const group = this.groups.get(groupId)
    return group === undefined ? undefined : { state: group.state, generationId: group.generationId }
  }

  // ---- lifecycle ----

  close(): void {
    if (this.closed) return
    this.closed = true
    for (const group of this.groups.values()) {
      group.joinTimer?.cancel()
      group.syncTimer?.cancel()
      for (const timer of group.pendingMembers.values()) timer.cancel()
      group.pendingMembers.clear()
      for (const m of group.members.values()) {
        m.heartbeatTimer?.cancel()
        const join = m.awaitingJoin
        const sync = m.awaitingSync
        m.awaitingJoin = null
        m.awaitingSync = null
        // Clients look for the coordinator again, as when a Kafka broker unloads a group.
        join?.(errorJoin(m.memberId, KafkaErrors.NOT_COORDINATOR))
        sync?.(errorSync(KafkaErrors.NOT_COORDINATOR))
      }
      group.state = 'Dead'
    }
    this.groups.clear()
  }

  private newGroup(groupId: string): Group {
    const group: Group = {
      groupId,
      state: 'Empty',
      generationId: 0,
      protocolType: null,
      protocolName: null,
      leaderId: null,
      members: new Map(),
      staticMembers: new Map(),
      pendingMembers: new Map(),
      pendingSyncMembers: new Set(),
      joinTimer: null,
      initialDelayActive: false,
      newMemberAdded: false,
      syncTimer: null,
    }
    this.groups.set(groupId, group)
    return group
  }
}
