// The group of one: the embedded log has a single process, so its membership assigns everything
// to itself, never rebalances, and commits offsets outside any generation.
import type { GroupAssignment, GroupGeneration, GroupJoinOptions, GroupMembership } from './transport.js'

const SOLO_MEMBER = 'solo'

export class SoloMembership implements GroupMembership {
  readonly rebalancing = false
  readonly generationLost = false
  private joined: GroupGeneration | null = null

  constructor(private readonly opts: GroupJoinOptions) {}

  /** Generation -1 once joined: the log's offsets are not tied to a generation (no other member can exist). */
  get generation(): GroupGeneration | null {
    return this.joined
  }

  async join(): Promise<GroupAssignment> {
    const assigned = this.opts.assign([{ memberId: SOLO_MEMBER, userData: this.opts.userData() }])
    const mine = assigned.get(SOLO_MEMBER) ?? { partitions: [], userData: Buffer.alloc(0) }
    this.joined = { generationId: -1, memberId: SOLO_MEMBER }
    return { ...mine, ...this.joined, leader: true }
  }

  async leave(): Promise<void> {}
}
