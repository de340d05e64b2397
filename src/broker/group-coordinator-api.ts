// What the broker's group handlers call: the consumer-group coordinator (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup, DescribeGroups, ListGroups, and the generation check of OffsetCommit).
// The handlers turn each API version's wire form into these inputs and the results back, so the
// coordinator sees one shape whatever the client's version. Results carry Kafka error codes.

export interface GroupProtocol {
  readonly name: string
  readonly metadata: Buffer
}

export interface JoinGroupInput {
  readonly groupId: string
  /** '' for a new member. */
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly sessionTimeoutMs: number
  /** JoinGroup v0 has none: the session timeout is used instead. */
  readonly rebalanceTimeoutMs: number
  readonly protocolType: string
  readonly protocols: readonly GroupProtocol[]
  readonly reason: string | null
  readonly clientId: string
  /** As Kafka prints it: '/127.0.0.1'. */
  readonly clientHost: string
  /** v4+: a new member first gets MEMBER_ID_REQUIRED with its id, and joins again with it (KIP-394). */
  readonly requireKnownMemberId: boolean
}

export interface JoinGroupResult {
  readonly errorCode: number
  readonly generationId: number
  readonly protocolType: string | null
  readonly protocolName: string | null
  readonly leader: string
  readonly memberId: string
  /** The leader gets every member's metadata; the others get none. */
  readonly members: readonly {
    readonly memberId: string
    readonly groupInstanceId: string | null
    readonly metadata: Buffer
  }[]
  readonly skipAssignment?: boolean
}

export interface SyncGroupInput {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly protocolType: string | null
  readonly protocolName: string | null
  /** The leader's assignment for every member; empty from the other members. */
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Buffer }[]
}

export interface SyncGroupResult {
  readonly errorCode: number
  readonly protocolType: string | null
  readonly protocolName: string | null
  readonly assignment: Buffer
}

export interface HeartbeatInput {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | null
}

export interface LeavingMember {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly reason: string | null
}

export interface LeaveGroupResult {
  readonly errorCode: number
  readonly members: readonly {
    readonly memberId: string
    readonly groupInstanceId: string | null
    readonly errorCode: number
  }[]
}

export interface GroupDescription {
  readonly errorCode: number
  readonly groupId: string
  /** Kafka's names: 'Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'. */
  readonly groupState: string
  readonly protocolType: string
  /** The chosen protocol (assignor) name. */
  readonly protocolData: string
  readonly members: readonly {
    readonly memberId: string
    readonly groupInstanceId: string | null
    readonly clientId: string
    readonly clientHost: string
    readonly memberMetadata: Buffer
    readonly memberAssignment: Buffer
  }[]
}

export interface GroupListing {
  readonly groupId: string
  readonly protocolType: string
  readonly groupState: string
}

type MaybePromise<T> = T | Promise<T>

export interface GroupCoordinatorApi {
  join(input: JoinGroupInput): MaybePromise<JoinGroupResult>
  sync(input: SyncGroupInput): MaybePromise<SyncGroupResult>
  /** A Kafka error code: NONE, REBALANCE_IN_PROGRESS, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION… */
  heartbeat(input: HeartbeatInput): MaybePromise<number>
  leave(groupId: string, members: readonly LeavingMember[]): MaybePromise<LeaveGroupResult>
  describe(groupIds: readonly string[]): MaybePromise<readonly GroupDescription[]>
  /** Groups in one of `states` (Kafka's state names), or all when it is empty. */
  list(states: readonly string[]): MaybePromise<readonly GroupListing[]>
  /**
   * May `memberId` of `generationId` commit offsets for the group? A Kafka error code: NONE, or
   * ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS. Generation -1 with member ''
   * is a commit from outside the group protocol (a standalone consumer).
   */
  validateOffsetCommit(groupId: string, memberId: string, generationId: number): number
}
