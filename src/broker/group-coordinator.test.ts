import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { KafkaErrors } from '../protocol/errors.js'
import { GroupCoordinator, type GroupCoordinatorOptions } from './group-coordinator.js'
import type {
  GroupProtocol,
  JoinGroupInput,
  JoinGroupResult,
  SyncGroupResult,
} from './group-coordinator-api.js'
import { ManualScheduler } from './scheduler.js'

const SESSION_MS = 10_000
const REBALANCE_MS = 30_000
const G = 'g1'

function setup(options: GroupCoordinatorOptions = {}) {
  const scheduler = new ManualScheduler()
  let n = 0
  const gc = new GroupCoordinator({
    scheduler,
    initialRebalanceDelayMs: 0,
    randomId: () => `id${++n}`,
    ...options,
  })
  return { gc, scheduler }
}

const proto = (name: string, meta = name): GroupProtocol => ({ name, metadata: Buffer.from(meta) })

function joinInput(over: Partial<JoinGroupInput> = {}): JoinGroupInput {
  return {
    groupId: G,
    memberId: '',
    groupInstanceId: null,
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: [proto('range')],
    reason: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    requireKnownMemberId: true,
    ...over,
  }
}

/** A promise's outcome, readable synchronously after a tick. */
function track<T>(p: Promise<T>): { value: T | undefined } {
  const box: { value: T | undefined } = { value: undefined }
  void p.then((v) => {
    box.value = v
  })
  return box
}

/** Not narrowing, unlike assert.equal(box.value, undefined). */
const isPending = (box: { value: unknown }) => box.value === undefined

const tick = () => new Promise<void>((r) => setImmediate(r))

/** The KIP-394 dance: a first join yields an id, the second join (returned, maybe pending) uses it. */
async function joinNew(gc: GroupCoordinator, over: Partial<JoinGroupInput> = {}) {
  const first = await gc.join(joinInput(over))
  assert.equal(first.errorCode, KafkaErrors.MEMBER_ID_REQUIRED)
  assert.notEqual(first.memberId, '')
  const result = track(gc.join(joinInput({ ...over, memberId: first.memberId })))
  await tick()
  return { memberId: first.memberId, result }
}

function syncInput(memberId: string, generationId: number, assignments: [string, string][] = []) {
  return {
    groupId: G,
    memberId,
    generationId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: null,
    assignments: assignments.map(([m, a]) => ({ memberId: m, assignment: Buffer.from(a) })),
  }
}

const hb = (gc: GroupCoordinator, memberId: string, generationId: number) =>
  gc.heartbeat({ groupId: G, memberId, generationId, groupInstanceId: null })

/** Three members A, B, C in a Stable group, generation 1, A leading. */
async function stableGroupOfThree(gc: GroupCoordinator) {
  const ids = []
  for (const clientId of ['a', 'b', 'c']) {
    const first = await gc.join(joinInput({ clientId }))
    ids.push(first.memberId)
  }
  const joins = ids.map((memberId, i) => track(gc.join(joinInput({ memberId, clientId: 'abc'[i]! }))))
  await tick()
  const [a, b, c] = ids as [string, string, string]
  const syncs = [
    track(gc.sync(syncInput(b, 1))),
    track(gc.sync(syncInput(c, 1))),
    track(
      gc.sync(
        syncInput(a, 1, [
          [a, 'pa'],
          [b, 'pb'],
          [c, 'pc'],
        ]),
      ),
    ),
  ]
  await tick()
  return { a, b, c, joins, syncs }
}

describe('GroupCoordinator', () => {
  it('single member: join, sync, heartbeat, commit validation', async () => {
    const { gc } = setup()
    const { memberId, result } = await joinNew(gc, { clientId: 'solo' })
    assert.equal(memberId, 'solo-id1')
    const join = result.value!
    assert.equal(join.errorCode, KafkaErrors.NONE)
    assert.equal(join.generationId, 1)
    assert.equal(join.leader, memberId)
    assert.equal(join.protocolType, 'consumer')
    assert.equal(join.protocolName, 'range')
    assert.deepEqual(
      join.members.map((m) => [m.memberId, m.metadata.toString()]),
      [[memberId, 'range']],
    )
    assert.equal(gc.groupState(G)?.state, 'CompletingRebalance')
    const sync = await gc.sync(syncInput(memberId, 1, [[memberId, 'all-partitions']]))
    assert.equal(sync.errorCode, KafkaErrors.NONE)
    assert.equal(sync.assignment.toString(), 'all-partitions')
    assert.equal(sync.protocolName, 'range')
    assert.equal(gc.groupState(G)?.state, 'Stable')
    assert.equal(hb(gc, memberId, 1), KafkaErrors.NONE)
    assert.equal(gc.validateOffsetCommit(G, memberId, 1), KafkaErrors.NONE)
    // A repeated sync in Stable returns the assignment again.
    assert.equal((await gc.sync(syncInput(memberId, 1))).assignment.toString(), 'all-partitions')
  })

  it('three members: the leader gets all metadata, followers wait for the leader sync', async () => {
    const { gc } = setup()
    const { a, b, c, joins, syncs } = await stableGroupOfThree(gc)
    const [ja, jb, jc] = joins.map((j) => j.value!) as [JoinGroupResult, JoinGroupResult, JoinGroupResult]
    for (const j of [ja, jb, jc]) {
      assert.equal(j.errorCode, KafkaErrors.NONE)
      assert.equal(j.generationId, 1)
      assert.equal(j.leader, a)
    }
    assert.deepEqual(
      ja.members.map((m) => m.memberId),
      [a, b, c],
    )
    assert.deepEqual(jb.members, [])
    assert.deepEqual(jc.members, [])
    const [sb, sc, sa] = syncs.map((s) => s.value!) as [SyncGroupResult, SyncGroupResult, SyncGroupResult]
    assert.deepEqual(
      [sa, sb, sc].map((s) => [s.errorCode, s.assignment.toString()]),
      [
        [0, 'pa'],
        [0, 'pb'],
        [0, 'pc'],
      ],
    )
    assert.equal(gc.groupState(G)?.state, 'Stable')
  })

  it('followers syncing before the leader wait; a rebalance meanwhile answers REBALANCE_IN_PROGRESS', async () => {
    const { gc } = setup()
    const { memberId: a } = await joinNew(gc, { clientId: 'a' })
    // B joins: A must rejoin (it learns so from its heartbeat).
    const { memberId: b, result: jb } = await joinNew(gc, { clientId: 'b' })
    assert.ok(isPending(jb))
    assert.equal(hb(gc, a, 1), KafkaErrors.REBALANCE_IN_PROGRESS)
    const ja = await gc.join(joinInput({ memberId: a, clientId: 'a' }))
    await tick()
    assert.equal(ja.generationId, 2)
    assert.equal(jb.value?.generationId, 2)
    const sb = track(gc.sync(syncInput(b, 2)))
    await tick()
    assert.ok(isPending(sb), 'the follower waits for the leader')
    // A third member arrives before the leader syncs: the waiting follower must rejoin.
    await joinNew(gc, { clientId: 'c' })
    assert.equal(sb.value?.errorCode, KafkaErrors.REBALANCE_IN_PROGRESS)
    assert.equal((await gc.sync(syncInput(a, 2))).errorCode, KafkaErrors.REBALANCE_IN_PROGRESS)
  })

  it('a member leaving starts a rebalance; the others get a new generation', async () => {
    const { gc } = setup()
    const { a, b, c } = await stableGroupOfThree(gc)
    const left = gc.leave(G, [{ memberId: c, groupInstanceId: null, reason: 'shutdown' }])
    assert.deepEqual(left, {
      errorCode: 0,
      members: [{ memberId: c, groupInstanceId: null, errorCode: 0 }],
    })
    assert.equal(gc.groupState(G)?.state, 'PreparingRebalance')
    assert.equal(hb(gc, a, 1), KafkaErrors.REBALANCE_IN_PROGRESS)
    assert.equal(hb(gc, b, 1), KafkaErrors.REBALANCE_IN_PROGRESS)
    assert.equal(hb(gc, c, 1), KafkaErrors.UNKNOWN_MEMBER_ID)
    const jb = track(gc.join(joinInput({ memberId: b, clientId: 'b' })))
    const ja = track(gc.join(joinInput({ memberId: a, clientId: 'a' })))
    await tick()
    assert.equal(ja.value?.generationId, 2)
    assert.equal(jb.value?.generationId, 2)
    assert.equal(ja.value?.leader, a)
    assert.deepEqual(ja.value?.members.map((m) => m.memberId).sort(), [a, b].sort())
    // Leaving again: unknown member per entry, the request itself fine.
    assert.equal(
      gc.leave(G, [{ memberId: c, groupInstanceId: null, reason: null }]).members[0]?.errorCode,
      KafkaErrors.UNKNOWN_MEMBER_ID,
    )
  })

  it('the leader leaving hands leadership to a member that rejoins', async () => {
    const { gc } = setup()
    const { a, b, c } = await stableGroupOfThree(gc)
    gc.leave(G, [{ memberId: a, groupInstanceId: null, reason: null }])
    const jc = track(gc.join(joinInput({ memberId: c, clientId: 'c' })))
    const jb = track(gc.join(joinInput({ memberId: b, clientId: 'b' })))
    await tick()
    assert.equal(jb.value?.leader, b)
    assert.equal(jc.value?.leader, b)
    assert.equal(jb.value?.members.length, 2)
  })

  it('the last member leaving empties the group', async () => {
    const { gc } = setup()
    const { memberId } = await joinNew(gc)
    await gc.sync(syncInput(memberId, 1, [[memberId, 'x']]))
    gc.leave(G, [{ memberId, groupInstanceId: null, reason: null }])
    assert.deepEqual(gc.groupState(G), { state: 'Empty', generationId: 2 })
    assert.equal(hb(gc, memberId, 2), KafkaErrors.UNKNOWN_MEMBER_ID)
  })

  it('session timeout removes a silent member and rebalances the rest', async () => {
    const { gc, scheduler } = setup()
    const { a, b } = await stableGroupOfThree(gc)
    // A and B heartbeat every 3 s; C is silent.
    for (let t = 0; t < 9; t++) {
      scheduler.advance(3_000)
      if (gc.groupState(G)?.state !== 'Stable') break
      assert.equal(hb(gc, a, 1), KafkaErrors.NONE)
      assert.equal(hb(gc, b, 1), KafkaErrors.NONE)
    }
    assert.equal(scheduler.nowMs(), 12_000, 'C expired at 10 s; the heartbeats at 12 s see the rebalance')
    assert.equal(gc.groupState(G)?.state, 'PreparingRebalance')
    assert.equal(hb(gc, a, 1), KafkaErrors.REBALANCE_IN_PROGRESS)
    const ja = track(gc.join(joinInput({ memberId: a, clientId: 'a' })))
    const jb = track(gc.join(joinInput({ memberId: b, clientId: 'b' })))
    await tick()
    assert.equal(ja.value?.generationId, 2)
    assert.equal(ja.value?.members.length, 2)
    assert.equal(jb.value?.errorCode, KafkaErrors.NONE)
  })

  it('rebalance timeout removes a member that did not rejoin', async () => {
    const { gc, scheduler } = setup()
    const { a, b, c } = await stableGroupOfThree(gc)
    // A (the leader) rejoins: that starts a rebalance. B rejoins; C keeps heartbeating but never rejoins.
    const ja = track(gc.join(joinInput({ memberId: a, clientId: 'a' })))
    const jb = track(gc.join(joinInput({ memberId: b, clientId: 'b' })))
    for (let t = 0; t < 9; t++) {
      scheduler.advance(3_000)
      assert.equal(hb(gc, c, 1), KafkaErrors.REBALANCE_IN_PROGRESS)
    }
    await tick()
    assert.ok(isPending(ja), 'still waiting for C at 27 s')
    scheduler.advance(3_000)
    await tick()
    assert.equal(ja.value?.generationId, 2)
    assert.deepEqual(ja.value?.members.map((m) => m.memberId).sort(), [a, b].sort())
    assert.equal(jb.value?.generationId, 2)
    assert.equal(hb(gc, c, 1), KafkaErrors.UNKNOWN_MEMBER_ID)
    assert.equal(gc.validateOffsetCommit(G, c, 1), KafkaErrors.UNKNOWN_MEMBER_ID)
  })

  it('a member that never syncs is dropped after the rebalance timeout', async () => {
    const { gc, scheduler } = setup()
    const { memberId: a } = await joinNew(gc, { clientId: 'a' })
    const { memberId: b } = await joinNew(gc, { clientId: 'b' })
    await gc.join(joinInput({ memberId: a, clientId: 'a' }))
    await tick()
    // Only the follower syncs; the leader never does.
    const sb = track(gc.sync(syncInput(b, 2)))
    for (let t = 0; t < 10; t++) {
      scheduler.advance(3_000)
      hb(gc, a, 2)
    }
    await tick()
    assert.equal(sb.value?.errorCode, KafkaErrors.REBALANCE_IN_PROGRESS)
    assert.equal(hb(gc, a, 2), KafkaErrors.UNKNOWN_MEMBER_ID)
    assert.equal(gc.groupState(G)?.state, 'PreparingRebalance')
  })

  it('ILLEGAL_GENERATION for stale heartbeats, syncs and commits; simple commits', async () => {
    const { gc } = setup()
    const { memberId } = await joinNew(gc)
    // In CompletingRebalance a commit with the current generation must wait for the sync.
    assert.equal(gc.validateOffsetCommit(G, memberId, 1), KafkaErrors.REBALANCE_IN_PROGRESS)
    await gc.sync(syncInput(memberId, 1, [[memberId, 'x']]))
    assert.equal(hb(gc, memberId, 0), KafkaErrors.ILLEGAL_GENERATION)
    assert.equal(gc.validateOffsetCommit(G, memberId, 0), KafkaErrors.ILLEGAL_GENERATION)
    assert.equal((await gc.sync(syncInput(memberId, 7))).errorCode, KafkaErrors.ILLEGAL_GENERATION)
    assert.equal(gc.validateOffsetCommit(G, 'stranger', 1), KafkaErrors.UNKNOWN_MEMBER_ID)
    // A simple (generation -1) commit is refused while the group has members…
    assert.equal(gc.validateOffsetCommit(G, '', -1), KafkaErrors.UNKNOWN_MEMBER_ID)
    // …but allowed for unknown and Empty groups, which it creates (as Kafka does).
    assert.equal(gc.validateOffsetCommit('standalone', '', -1), KafkaErrors.NONE)
    assert.deepEqual(gc.groupState('standalone'), { state: 'Empty', generationId: 0 })
    assert.equal(gc.validateOffsetCommit('standalone', '', -1), KafkaErrors.NONE)
    // A positive generation for a group the coordinator never saw (e.g. before a restart).
    assert.equal(gc.validateOffsetCommit('forgotten', 'm-1', 3), KafkaErrors.ILLEGAL_GENERATION)
  })

  it('in a rebalance, the current generation may still commit; a stale one is refused and not kept alive', async () => {
    const { gc, scheduler } = setup()
    const { a, b, c } = await stableGroupOfThree(gc)
    // A new member starts a rebalance of generation 1.
    await joinNew(gc, { clientId: 'd' })
    assert.equal(gc.groupState(G)?.state, 'PreparingRebalance')
    // Work done in generation 1 may still be committed before rejoining.
    assert.equal(gc.validateOffsetCommit(G, a, 1), KafkaErrors.NONE)
    assert.equal(gc.validateOffsetCommit(G, b, 0), KafkaErrors.ILLEGAL_GENERATION)
    // B heartbeats with a generation it missed: told so, and its session is not renewed.
    for (let t = 0; t < 4; t++) {
      scheduler.advance(3_000)
      assert.equal(hb(gc, a, 1), KafkaErrors.REBALANCE_IN_PROGRESS)
      assert.equal(hb(gc, c, 1), KafkaErrors.REBALANCE_IN_PROGRESS)
      if (t < 3) assert.equal(hb(gc, b, 0), KafkaErrors.ILLEGAL_GENERATION)
    }
    assert.equal(hb(gc, b, 0), KafkaErrors.UNKNOWN_MEMBER_ID, 'B expired at 10 s')
    assert.equal(hb(gc, a, 1), KafkaErrors.REBALANCE_IN_PROGRESS)
  })

  it('MEMBER_ID_REQUIRED: v4+ new members get an id first; older versions join directly', async () => {
    const { gc } = setup()
    const first = await gc.join(joinInput({ clientId: 'k' }))
    assert.equal(first.errorCode, KafkaErrors.MEMBER_ID_REQUIRED)
    assert.equal(first.memberId, 'k-id1')
    assert.equal(first.generationId, -1)
    assert.equal(gc.groupState(G)?.state, 'Empty', 'an id request alone starts no rebalance')
    const again = await gc.join(joinInput({ memberId: first.memberId, clientId: 'k' }))
    assert.equal(again.errorCode, KafkaErrors.NONE)
    assert.equal(again.memberId, 'k-id1')

    const old = setup().gc
    const direct = await old.join(joinInput({ requireKnownMemberId: false }))
    assert.equal(direct.errorCode, KafkaErrors.NONE)
    assert.equal(direct.generationId, 1)
    // A member id the coordinator never handed out.
    assert.equal(
      (await old.join(joinInput({ memberId: 'made-up' }))).errorCode,
      KafkaErrors.UNKNOWN_MEMBER_ID,
    )
    assert.equal(
      (await old.join(joinInput({ groupId: 'other', memberId: 'made-up' }))).errorCode,
      KafkaErrors.UNKNOWN_MEMBER_ID,
    )
  })

  it('a pending member id holds a rebalance until it joins or its session timeout passes', async () => {
    const { gc, scheduler } = setup()
    const { memberId: a } = await joinNew(gc, { clientId: 'a' })
    await gc.sync(syncInput(a, 1, [[a, 'x']]))
    const pending = await gc.join(joinInput({ clientId: 'b' }))
    assert.equal(pending.errorCode, KafkaErrors.MEMBER_ID_REQUIRED)
    // The leader rejoins (a new subscription, say): the rebalance waits for the pending member.
    const ja = track(gc.join(joinInput({ memberId: a, clientId: 'a', protocols: [proto('range', 'v2')] })))
    await tick()
    assert.ok(isPending(ja))
    scheduler.advance(SESSION_MS)
    await tick()
    assert.equal(ja.value?.generationId, 2)
    assert.equal(ja.value?.members.length, 1)
    assert.equal(ja.value?.members[0]?.metadata.toString(), 'v2')
  })

  it('selects the protocol every member supports, by vote, ties to the leader', async () => {
    async function chosen(prefs: string[][]): Promise<string | null> {
      const { gc } = setup()
      const ids: string[] = []
      for (const p of prefs)
        ids.push((await gc.join(joinInput({ protocols: p.map((n) => proto(n)) }))).memberId)
      const results = ids.map((memberId, i) =>
        track(gc.join(joinInput({ memberId, protocols: prefs[i]!.map((n) => proto(n)) }))),
      )
      await tick()
      const names = new Set(results.map((r) => r.value?.protocolName))
      assert.equal(names.size, 1)
      return [...names][0] ?? null
    }
    assert.equal(
      await chosen([['range', 'roundrobin'], ['roundrobin', 'range'], ['roundrobin']]),
      'roundrobin',
    )
    assert.equal(
      await chosen([
        ['range', 'cooperative-sticky'],
        ['cooperative-sticky', 'range'],
        ['cooperative-sticky', 'range'],
      ]),
      'cooperative-sticky',
    )
    assert.equal(
      await chosen([
        ['range', 'roundrobin'],
        ['roundrobin', 'range'],
      ]),
      'range',
    )
  })

  it('refuses members whose protocols or protocol type do not fit the group', async () => {
    const { gc } = setup()
    await joinNew(gc, { protocols: [proto('range'), proto('roundrobin')] })
    const noCommon = await gc.join(joinInput({ protocols: [proto('sticky')] }))
    assert.equal(noCommon.errorCode, KafkaErrors.INCONSISTENT_GROUP_PROTOCOL)
    const otherType = await gc.join(joinInput({ protocolType: 'connect' }))
    assert.equal(otherType.errorCode, KafkaErrors.INCONSISTENT_GROUP_PROTOCOL)
    const none = await gc.join(joinInput({ groupId: 'fresh', protocols: [] }))
    assert.equal(none.errorCode, KafkaErrors.INCONSISTENT_GROUP_PROTOCOL)
    const bad = await gc.join(joinInput({ sessionTimeoutMs: 10 }))
    assert.equal(bad.errorCode, KafkaErrors.INVALID_SESSION_TIMEOUT)
    assert.equal((await gc.join(joinInput({ groupId: '' }))).errorCode, KafkaErrors.INVALID_GROUP_ID)
  })

  it('initial rebalance delay waits for more members before the first generation', async () => {
    const { gc, scheduler } = setup({ initialRebalanceDelayMs: 3_000 })
    const { result: ja } = await joinNew(gc, { clientId: 'a' })
    scheduler.advance(1_000)
    const { result: jb } = await joinNew(gc, { clientId: 'b' })
    // The delay restarts while members keep arriving: 3 s, then another 3 s because B came.
    scheduler.advance(4_999)
    await tick()
    assert.ok(isPending(ja))
    scheduler.advance(1)
    await tick()
    assert.equal(ja.value?.generationId, 1)
    assert.equal(jb.value?.generationId, 1)
    assert.equal(ja.value?.members.length, 2)
  })

  it('static membership: a restarted follower takes its place without a rebalance', async () => {
    const { gc } = setup()
    // Static members skip MEMBER_ID_REQUIRED.
    const l1 = track(gc.join(joinInput({ clientId: 'l', groupInstanceId: 'leader-1' })))
    await tick()
    const leader = l1.value!.memberId
    const f1 = track(gc.join(joinInput({ clientId: 'f', groupInstanceId: 'follower-1' })))
    await tick()
    assert.equal(hb(gc, leader, 1), KafkaErrors.REBALANCE_IN_PROGRESS)
    const l2 = await gc.join(joinInput({ memberId: leader, clientId: 'l', groupInstanceId: 'leader-1' }))
    await tick()
    const oldFollower = f1.value!.memberId
    assert.equal(l2.generationId, 2)
    const leaderSync = gc.sync({
      ...syncInput(leader, 2, [
        [leader, 'L'],
        [oldFollower, 'F'],
      ]),
      groupInstanceId: 'leader-1',
    })
    assert.equal(
      (await gc.sync({ ...syncInput(oldFollower, 2), groupInstanceId: 'follower-1' })).assignment.toString(),
      'F',
    )
    await leaderSync
    // The follower restarts: same instance id, no member id.
    const rejoin = await gc.join(joinInput({ clientId: 'f', groupInstanceId: 'follower-1' }))
    assert.equal(rejoin.errorCode, KafkaErrors.NONE)
    assert.equal(rejoin.generationId, 2)
    assert.notEqual(rejoin.memberId, oldFollower)
    assert.equal(gc.groupState(G)?.state, 'Stable')
    const sync = await gc.sync({ ...syncInput(rejoin.memberId, 2), groupInstanceId: 'follower-1' })
    assert.equal(sync.assignment.toString(), 'F')
    // The old incarnation is fenced.
    assert.equal(
      gc.heartbeat({ groupId: G, memberId: oldFollower, generationId: 2, groupInstanceId: 'follower-1' }),
      KafkaErrors.FENCED_INSTANCE_ID,
    )
    // Removal by instance id alone.
    const left = gc.leave(G, [{ memberId: '', groupInstanceId: 'follower-1', reason: null }])
    assert.equal(left.members[0]?.errorCode, KafkaErrors.NONE)
    assert.equal(gc.groupState(G)?.state, 'PreparingRebalance')
  })

  it('describe and list', async () => {
    const { gc } = setup()
    assert.deepEqual(gc.describe(['nope']), [
      { errorCode: 0, groupId: 'nope', groupState: 'Dead', protocolType: '', protocolData: '', members: [] },
    ])
    const { memberId } = await joinNew(gc, { clientId: 'c1', protocols: [proto('range', 'subscription')] })
    const during = gc.describe([G])[0]!
    assert.equal(during.groupState, 'CompletingRebalance')
    assert.equal(during.protocolData, '')
    assert.equal(during.members[0]?.memberMetadata.length, 0)
    await gc.sync(syncInput(memberId, 1, [[memberId, 'assignment']]))
    const [d] = gc.describe([G])
    assert.equal(d?.groupState, 'Stable')
    assert.equal(d?.protocolType, 'consumer')
    assert.equal(d?.protocolData, 'range')
    assert.deepEqual(
      d?.members.map((m) => [
        m.memberId,
        m.clientId,
        m.clientHost,
        m.memberMetadata.toString(),
        m.memberAssignment.toString(),
      ]),
      [[memberId, 'c1', '/127.0.0.1', 'subscription', 'assignment']],
    )
    gc.validateOffsetCommit('offsets-only', '', -1)
    assert.deepEqual(gc.list(), [
      { groupId: G, protocolType: 'consumer', groupState: 'Stable' },
      { groupId: 'offsets-only', protocolType: '', groupState: 'Empty' },
    ])
    assert.deepEqual(
      gc.list(['empty']).map((g) => g.groupId),
      ['offsets-only'],
    )
    assert.deepEqual(
      gc.list(['Stable', 'PreparingRebalance']).map((g) => g.groupId),
      [G],
    )
  })

  it('close answers pending requests with NOT_COORDINATOR and cancels every timer', async () => {
    const { gc, scheduler } = setup()
    const { memberId: a, result: ja } = await joinNew(gc, { clientId: 'a' })
    await gc.sync(syncInput(a, 1, [[a, 'x']]))
    const { result: jb } = await joinNew(gc, { clientId: 'b' })
    assert.equal(ja.value?.generationId, 1)
    gc.close()
    await tick()
    assert.equal(jb.value?.errorCode, KafkaErrors.NOT_COORDINATOR)
    assert.equal(scheduler.pendingCount, 0)
    assert.equal(hb(gc, a, 1), KafkaErrors.COORDINATOR_NOT_AVAILABLE)
    assert.equal((await gc.join(joinInput())).errorCode, KafkaErrors.COORDINATOR_NOT_AVAILABLE)
    assert.deepEqual(gc.list(), [])
  })
})
