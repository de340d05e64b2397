// The group of one: the embedded log has a single process, so its membership assigns everything
// to itself, never rebalances, and commits offsets outside any generation.
import type { GroupAssignment, GroupJoinOptions, GroupMembership } from './transport.js'

const SOLO_MEMBER = 'solo'

export class SoloMembership implements GroupMembership {
  readonly rebalancing = false
  /** Generation -1: the log's offsets are not tied to a generation (no other member can exist). */
  readonly generation = { generationId: -1, memberId: '' }

  constructor(private readonly opts: GroupJoinOptions) {}

  async join(): Promise<GroupAssignment> {
    const assigned = this.opts.assign([{ memberId: SOLO_MEMBER, userData: this.opts.userData() }])
    const mine = assigned.get(SOLO_MEMBER) ?? { partitions: [], userData: Buffer.alloc(0) }
    return { ...mine, ...this.generation, leader: true }
  }

  async leave(): Promise<void> {}
}
