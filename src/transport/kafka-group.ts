// A member of a consumer group on a Kafka cluster: Kafka's classic group protocol (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup) with protocol type "consumer" and one protocol, "eddy". The
// member sends its topics and userData as Kafka's ConsumerProtocolSubscription; the leader the
// coordinator elects runs `assign` and hands each member a ConsumerProtocolAssignment, so Kafka's
// tools show the group like any consumer group. Heartbeats run on a timer and a connection of
// their own (never queued behind a fetch or a blocked JoinGroup); they stop while the member
// rejoins, and they tell the member when the group starts a rebalance or has dropped it.
import type { ConnectionPool } from '@platformatic/kafka'
import { assert } from '../core/assert.js'
import { EddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import { validateTopicName } from '../core/topic-name.js'
import {
  type ConsumerSubscription,
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
  KafkaErrors,
  kafkaErrorName,
  type ResponseOf,
  type TopicPartitionList,
} from '../protocol/index.js'
import { backoffMs, CoordinatorType, type KafkaCluster, kafkaError } from './kafka-cluster.js'
import type {
  GroupAssignment,
  GroupGeneration,
  GroupJoinOptions,
  GroupMemberInfo,
  GroupMembership,
} from './transport.js'

/** The protocol type Kafka's tools decode as consumer subscriptions and assignments. */
const PROTOCOL_TYPE = 'consumer'
/** The one protocol (assignor) Eddy's members offer: the runtime's task assignment. */
const PROTOCOL_NAME = 'eddy'
const EMPTY = Buffer.alloc(0)

/** Answers that mean the coordinator is elsewhere or not ready: look it up again and retry. */
const COORDINATOR_ERRORS: ReadonlySet<number> = new Set([
  KafkaErrors.NOT_COORDINATOR,
  KafkaErrors.COORDINATOR_NOT_AVAILABLE,
  KafkaErrors.COORDINATOR_LOAD_IN_PROGRESS,
])

/** Answers to an offset commit that mean the member's generation is over (or ending). */
const GENERATION_OVER: ReadonlySet<number> = new Set([
  KafkaErrors.ILLEGAL_GENERATION,
  KafkaErrors.UNKNOWN_MEMBER_ID,
  KafkaErrors.FENCED_INSTANCE_ID,
  KafkaErrors.REBALANCE_IN_PROGRESS,
])

/**
 * The error for a refused offset commit (OffsetCommit or TxnOffsetCommit): REBALANCED, never
 * retried, when the group moved on from the member's generation; else as `kafkaError`.
 */
export function offsetCommitError(
  code: number,
  where: string,
  group: string,
  member: GroupGeneration | undefined,
): Error {
  const rebalancing = code === KafkaErrors.REBALANCE_IN_PROGRESS
  if ((member !== undefined && GENERATION_OVER.has(code)) || rebalancing) {
    const who =
      member === undefined ? 'this commit' : `member ${member.memberId} (generation ${member.generationId})`
    return new EddyError(
      'REBALANCED',
      `${where}: the Kafka cluster answered ${kafkaErrorName(code)}: group ${group} rebalanced and ${who} no longer owns these partitions, so its work since its last commit is dropped: abort any open transaction, join the group again and resume from the committed offsets`,
    )
  }
  return kafkaError(code, where)
}

/** A member generation fit to send with a commit: null for none (generation -1, no member). */
export function commitGeneration(member: GroupGeneration | undefined): GroupGeneration | null {
  return member === undefined || member.generationId < 0 ? null : member
}

interface Joined {
  readonly generationId: number
  readonly memberId: string
  readonly leader: string
  readonly skipAssignment: boolean
  readonly members: ResponseOf<'JoinGroup'>['members']
}

export class KafkaGroupMembership implements GroupMembership {
  private readonly sessionTimeoutMs: number
  private readonly rebalanceTimeoutMs: number
  private readonly heartbeatIntervalMs: number
  /** '' until the coordinator gives one (MEMBER_ID_REQUIRED or a join), and after it forgot us. */
  private memberId = ''
  private current: GroupGeneration | null = null
  /** The partitions of the last assignment, sent back as the subscription's owned partitions. */
  private owned: readonly TopicPartitionList[] = []
  private rebalance = false
  /** The coordinator no longer knows this generation: no heartbeats until the next join. */
  private generationOver = false
  private joining: Promise<GroupAssignment> | null = null
  private leaving: Promise<void> | null = null
  /** Left or stopped: nothing more is sent. */
  private stopped = false
  private joinPool: ConnectionPool | null = null
  private heartbeatPool: ConnectionPool | null = null
  private heartbeatTimer: NodeJS.Timeout | null = null
  /** When the last heartbeat the coordinator accepted was sent (performance.now()). */
  private lastHeartbeatMs = 0
  private heartbeatFailures = 0
  private heartbeatInFlight = false

  constructor(
    private readonly cluster: KafkaCluster,
    private readonly opts: GroupJoinOptions,
    /** Called once the membership is done (left or stopped). */
    private readonly onDone: (m: KafkaGroupMembership) => void,
  ) {
    if (opts.group === '') {
      throw new EddyError('INVALID_ARGUMENT', 'joinGroup: the group id is empty; pass the app id')
    }
    for (const t of opts.topics) validateTopicName(t)
    this.sessionTimeoutMs = positiveMs(
      opts.sessionTimeoutMs ?? limits.groupSessionTimeoutMsDefault,
      'sessionTimeoutMs',
      opts.group,
    )
    this.rebalanceTimeoutMs = positiveMs(
      opts.rebalanceTimeoutMs ?? limits.groupRebalanceTimeoutMsDefault,
      'rebalanceTimeoutMs',
      opts.group,
    )
    this.heartbeatIntervalMs = positiveMs(
      opts.heartbeatIntervalMs ?? Math.max(1, Math.floor(this.sessionTimeoutMs / 3)),
      'heartbeatIntervalMs',
      opts.group,
    )
    if (this.heartbeatIntervalMs >= this.sessionTimeoutMs) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `group ${opts.group}: heartbeatIntervalMs (${this.heartbeatIntervalMs}) must be below sessionTimeoutMs (${this.sessionTimeoutMs}), else the member's session ends between two heartbeats`,
      )
    }
  }

  get rebalancing(): boolean {
    return this.rebalance
  }

  get generation(): GroupGeneration | null {
    return this.current
  }

  get generationLost(): boolean {
    return this.generationOver
  }

  join(): Promise<GroupAssignment> {
    if (this.stopped) return Promise.reject(this.stoppedError())
    if (this.joining !== null) return this.joining
    this.stopHeartbeats()
    const joining = this.joinLoop().then((a) => {
      // Left (or the transport closed) while the last answer was on its way.
      if (this.stopped) throw this.stoppedError()
      this.current = { generationId: a.generationId, memberId: a.memberId }
      this.owned = byTopic(a.partitions)
      this.rebalance = false
      this.generationOver = false
      this.startHeartbeats()
      return a
    })
    this.joining = joining
    const clear = () => {
      if (this.joining === joining) this.joining = null
    }
    joining.then(clear, clear)
    return joining
  }

  leave(): Promise<void> {
    this.leaving ??= this.leaveOnce()
    return this.leaving
  }

  /** Stops heartbeats without leaving (the transport is closing: as a crash looks to the group). */
  stop(): void {
    this.stopped = true
    this.stopHeartbeats()
    this.onDone(this)
  }

  // ---- joining -----------------------------------------------------------------------------

  private async joinLoop(): Promise<GroupAssignment> {
    this.joinPool ??= this.cluster.newPool(this.rebalanceTimeoutMs)
    // Each JoinGroup may wait a whole rebalance; a group that keeps rebalancing for longer than
    // a few of them has something wrong (a member joining and leaving in a loop).
    const budgetMs = 2 * this.rebalanceTimeoutMs + this.cluster.retryTimeoutMs
    const deadline = performance.now() + budgetMs
    let lastRefusal = ''
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw this.stoppedError()
      if (performance.now() > deadline) {
        throw new EddyError(
          'KAFKA_ERROR',
          `group ${this.opts.group}: could not join within ${budgetMs} ms, the group kept rebalancing (last answer ${lastRefusal}): check for members that join and leave over and over`,
        )
      }
      const joined = await this.sendJoin()
      if (!('generationId' in joined)) {
        lastRefusal = joined.refused
        if (joined.backoff) await sleep(backoffMs(attempt))
        continue
      }
      const assignment = await this.sync(joined)
      if (typeof assignment === 'string') {
        lastRefusal = assignment
        continue
      }
      return assignment
    }
  }

  /** One JoinGroup: the group's answer, or why to join again (the member id updated for it). */
  private async sendJoin(): Promise<Joined | { refused: string; backoff: boolean }> {
    const v = this.cluster.version('JoinGroup')
    const group = this.opts.group
    const subscription: ConsumerSubscription = {
      topics: this.opts.topics,
      userData: this.opts.userData(),
      ownedPartitions: this.owned,
    }
    const metadata = encodeConsumerSubscription(subscription)
    const res = await this.cluster.withCoordinator(CoordinatorType.Group, group, async (node) => {
      if (this.stopped) throw this.stoppedError()
      const r = await this.cluster.send(this.pool(), node, 'JoinGroup', v, {
        groupId: group,
        sessionTimeoutMs: this.sessionTimeoutMs,
        rebalanceTimeoutMs: this.rebalanceTimeoutMs,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: PROTOCOL_TYPE,
        protocols: [{ name: PROTOCOL_NAME, metadata }],
        reason: this.current === null ? 'eddy: joining' : 'eddy: rejoining after a rebalance',
      })
      if (COORDINATOR_ERRORS.has(r.errorCode)) throw kafkaError(r.errorCode, `joining group ${group}`)
      return r
    })
    const refused = kafkaErrorName(res.errorCode)
    switch (res.errorCode) {
      case KafkaErrors.NONE:
        return res
      case KafkaErrors.MEMBER_ID_REQUIRED:
        // KIP-394: the coordinator names the member first, so a join lost on the way leaves no ghost.
        this.memberId = res.memberId
        return { refused, backoff: false }
      case KafkaErrors.UNKNOWN_MEMBER_ID:
        this.memberId = ''
        return { refused, backoff: false }
      case KafkaErrors.REBALANCE_IN_PROGRESS:
        return { refused, backoff: true }
      case KafkaErrors.INVALID_SESSION_TIMEOUT:
        throw new EddyError(
          'INVALID_ARGUMENT',
          `joining group ${group}: the Kafka cluster refused session timeout ${this.sessionTimeoutMs} ms (INVALID_SESSION_TIMEOUT): choose one within the broker's group.min.session.timeout.ms and group.max.session.timeout.ms`,
        )
      case KafkaErrors.INCONSISTENT_GROUP_PROTOCOL:
        throw new EddyError(
          'KAFKA_ERROR',
          `joining group ${group}: the Kafka cluster answered INCONSISTENT_GROUP_PROTOCOL: the group's members use another protocol; another application (not Eddy, or not this app) uses group id ${group}: give the app its own id`,
        )
      default:
        throw kafkaError(res.errorCode, `joining group ${group}`)
    }
  }

  /** SyncGroup: this member's assignment, or why to join again. The leader assigns first. */
  private async sync(joined: Joined): Promise<GroupAssignment | string> {
    const group = this.opts.group
    this.memberId = joined.memberId
    const leader = joined.leader === joined.memberId
    const assignments = leader && !joined.skipAssignment ? this.assign(joined) : []
    const v = this.cluster.version('SyncGroup')
    const res = await this.cluster.withCoordinator(CoordinatorType.Group, group, async (node) => {
      if (this.stopped) throw this.stoppedError()
      const r = await this.cluster.send(this.pool(), node, 'SyncGroup', v, {
        groupId: group,
        generationId: joined.generationId,
        memberId: joined.memberId,
        groupInstanceId: null,
        protocolType: PROTOCOL_TYPE,
        protocolName: PROTOCOL_NAME,
        assignments,
      })
      if (COORDINATOR_ERRORS.has(r.errorCode)) throw kafkaError(r.errorCode, `syncing group ${group}`)
      return r
    })
    switch (res.errorCode) {
      case KafkaErrors.NONE:
        break
      case KafkaErrors.UNKNOWN_MEMBER_ID:
        this.memberId = ''
        return kafkaErrorName(res.errorCode)
      case KafkaErrors.REBALANCE_IN_PROGRESS:
      case KafkaErrors.ILLEGAL_GENERATION:
        return kafkaErrorName(res.errorCode)
      default:
        throw kafkaError(res.errorCode, `syncing group ${group} (generation ${joined.generationId})`)
    }
    let mine: ReturnType<typeof decodeConsumerAssignment>
    try {
      mine = decodeConsumerAssignment(res.assignment)
    } catch (err) {
      throw new EddyError(
        'KAFKA_ERROR',
        `group ${group}, generation ${joined.generationId}: the leader's assignment for member ${joined.memberId} is not a consumer protocol assignment (${String(err)}): another client uses group id ${group}; give the app its own id`,
        { cause: err },
      )
    }
    return {
      generationId: joined.generationId,
      memberId: joined.memberId,
      leader,
      partitions: mine.assignedPartitions.flatMap((t) =>
        t.partitions.map((partition) => ({ topic: t.topic, partition })),
      ),
      userData: mine.userData ?? EMPTY,
    }
  }

  /** The leader's part: every member's subscription to `opts.assign`, its answer encoded. */
  private assign(joined: Joined): { memberId: string; assignment: Buffer }[] {
    const group = this.opts.group
    const members: GroupMemberInfo[] = joined.members.map((m) => {
      try {
        return { memberId: m.memberId, userData: decodeConsumerSubscription(m.metadata).userData ?? EMPTY }
      } catch (err) {
        throw new EddyError(
          'KAFKA_ERROR',
          `group ${group}: member ${m.memberId} joined with a subscription that is not Kafka's consumer protocol (${String(err)}): another client uses group id ${group}; give the app its own id`,
          { cause: err },
        )
      }
    })
    const out = this.opts.assign(members)
    const known = new Set(members.map((m) => m.memberId))
    for (const id of out.keys()) assert(known.has(id), `group ${group}: assign() named unknown member ${id}`)
    return [...out].map(([memberId, a]) => ({
      memberId,
      assignment: encodeConsumerAssignment({
        assignedPartitions: byTopic(a.partitions),
        userData: a.userData,
      }),
    }))
  }

  private pool(): ConnectionPool {
    assert(this.joinPool !== null, 'the join pool is created by join()')
    return this.joinPool
  }

  // ---- heartbeats --------------------------------------------------------------------------

  private startHeartbeats(): void {
    this.lastHeartbeatMs = performance.now()
    this.heartbeatFailures = 0
    this.heartbeatPool ??= this.cluster.newPool()
    this.scheduleTick(this.heartbeatIntervalMs)
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer)
    this.heartbeatTimer = null
  }

  private scheduleTick(delayMs: number): void {
    this.stopHeartbeats()
    // unref: a membership's heartbeats alone must not keep the process alive.
    this.heartbeatTimer = setTimeout(() => this.tick(), delayMs).unref()
  }

  /**
   * Every interval: a heartbeat, unless one is still out. The session is checked here, not on an
   * answer, so a heartbeat stuck on a dead connection cannot hide that the session ran out.
   */
  private tick(): void {
    this.heartbeatTimer = null
    const gen = this.current
    if (this.stopped || this.joining !== null || this.generationOver || gen === null) return
    if (performance.now() - this.lastHeartbeatMs >= this.sessionTimeoutMs) {
      this.endGeneration()
      return
    }
    this.scheduleTick(this.heartbeatIntervalMs)
    if (!this.heartbeatInFlight) void this.heartbeat(gen)
  }

  private async heartbeat(gen: GroupGeneration): Promise<void> {
    const group = this.opts.group
    const pool = this.heartbeatPool
    if (pool === null) return
    const sentMs = performance.now()
    let code: number | null = null
    this.heartbeatInFlight = true
    try {
      const node = await this.cluster.coordinator(CoordinatorType.Group, group)
      const res = await this.cluster.send(pool, node, 'Heartbeat', this.cluster.version('Heartbeat'), {
        groupId: group,
        generationId: gen.generationId,
        memberId: gen.memberId,
        groupInstanceId: null,
      })
      code = res.errorCode
    } catch {
      // No answer (code null): handled below, as a failed heartbeat.
    } finally {
      this.heartbeatInFlight = false
    }
    // A join started meanwhile (it owns the member's state now), the member left, or it is over.
    if (this.stopped || this.joining !== null || this.current !== gen || this.generationOver) return
    switch (code) {
      case KafkaErrors.NONE:
        this.lastHeartbeatMs = Math.max(this.lastHeartbeatMs, sentMs)
        this.heartbeatFailures = 0
        return
      case KafkaErrors.REBALANCE_IN_PROGRESS:
        // The generation lives on until the rebalance completes: the member may still commit in
        // it, and heartbeats keep its session while it finishes and rejoins.
        this.rebalance = true
        this.lastHeartbeatMs = Math.max(this.lastHeartbeatMs, sentMs)
        this.heartbeatFailures = 0
        return
      case KafkaErrors.UNKNOWN_MEMBER_ID:
        this.memberId = ''
        this.endGeneration()
        return
      case KafkaErrors.ILLEGAL_GENERATION:
      case KafkaErrors.FENCED_INSTANCE_ID:
        this.endGeneration()
        return
      default:
        // No answer, or the coordinator moved: look it up again, and try again soon.
        if (code === null || COORDINATOR_ERRORS.has(code)) {
          this.cluster.forgetCoordinator(CoordinatorType.Group, group)
        }
        if (!this.cluster.isClosed) {
          this.scheduleTick(Math.min(this.heartbeatIntervalMs, backoffMs(this.heartbeatFailures++)))
        }
    }
  }

  private endGeneration(): void {
    this.rebalance = true
    this.generationOver = true
    this.stopHeartbeats()
  }

  // ---- leaving -----------------------------------------------------------------------------

  private async leaveOnce(): Promise<void> {
    const memberId = this.memberId
    this.stop()
    if (memberId !== '' && !this.cluster.isClosed) {
      try {
        await this.sendLeave(memberId)
      } catch {
        // The coordinator is gone or forgot us: the session timeout removes the member anyway.
      }
    }
    await Promise.allSettled(
      [this.joinPool, this.heartbeatPool].flatMap((p) => (p === null ? [] : [this.cluster.closePool(p)])),
    )
    this.joinPool = null
    this.heartbeatPool = null
  }

  /** One LeaveGroup, no retries: leaving must not hang on a coordinator that is gone. */
  private async sendLeave(memberId: string): Promise<void> {
    const group = this.opts.group
    const v = this.cluster.version('LeaveGroup')
    const node = await this.cluster.coordinator(CoordinatorType.Group, group)
    const res = await this.cluster.send(this.cluster.control, node, 'LeaveGroup', v, {
      groupId: group,
      memberId,
      members: [{ memberId, groupInstanceId: null, reason: 'eddy: the member is leaving' }],
    })
    if (res.errorCode !== KafkaErrors.NONE) throw kafkaError(res.errorCode, `leaving group ${group}`)
  }

  private stoppedError(): EddyError {
    return new EddyError(
      'INVALID_ARGUMENT',
      `group ${this.opts.group}: this membership has left the group (or its transport closed): call joinGroup() again for a new one`,
    )
  }
}

function positiveMs(value: number, name: string, group: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `group ${group}: ${name} must be a whole number of milliseconds from 1 to ${2 ** 31 - 1}, got ${value}`,
    )
  }
  return value
}

function byTopic(partitions: readonly { topic: string; partition: number }[]): TopicPartitionList[] {
  const out = new Map<string, number[]>()
  for (const { topic, partition } of partitions) {
    const list = out.get(topic)
    if (list === undefined) out.set(topic, [partition])
    else list.push(partition)
  }
  return [...out].map(([topic, ps]) => ({ topic, partitions: ps }))
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
