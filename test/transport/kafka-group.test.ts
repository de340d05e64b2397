// Consumer-group membership over the Kafka transport, against Eddy's broker in this process:
// members join and the leader assigns, rebalances when a member joins, leaves or goes silent,
// zombie fencing of offsets committed with an old generation, a broker restart, the oldest API
// versions, and the group as kafkajs' admin client decodes it.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Admin, AssignerProtocol, Kafka, logLevel } from 'kafkajs'
import { Broker } from '../../src/broker/broker.js'
import { GroupCoordinator } from '../../src/broker/group-coordinator.js'
import { isEddyError } from '../../src/core/errors.js'
import { KafkaTransport, type KafkaTransportOptions } from '../../src/transport/kafka.js'
import type {
  GroupAssignment,
  GroupAssignmentOut,
  GroupJoinOptions,
  GroupMemberInfo,
  GroupMembership,
} from '../../src/transport/transport.js'
import { startBroker, type TestBroker } from '../broker/harness.js'

const TOPIC = 'clicks'
const PARTITIONS = 6
const SESSION_MS = 1500
const HEARTBEAT_MS = 100
const REBALANCE_MS = 10_000

/** Polls `check` until it returns a value (not undefined); throws what it throws, or after the deadline. */
async function until<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = check()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The leader's assignment: partitions round-robin over the members by id, userData naming each. */
function roundRobin(members: readonly GroupMemberInfo[]): Map<string, GroupAssignmentOut> {
  const ids = members.map((m) => m.memberId).sort()
  const out = new Map<string, GroupAssignmentOut>()
  ids.forEach((id, i) => {
    const partitions = []
    for (let p = i; p < PARTITIONS; p += ids.length) partitions.push({ topic: TOPIC, partition: p })
    out.set(id, { partitions, userData: Buffer.from(`for ${id}`) })
  })
  return out
}

/** One app instance: its own transport (a process of its own), joining and rejoining when asked. */
class Instance {
  readonly membership: GroupMembership
  /** What this instance's assign saw, each time it led. */
  readonly assignCalls: GroupMemberInfo[][] = []
  last: GroupAssignment | null = null
  private pending: Promise<void> | null = null
  private error: unknown = null

  constructor(
    readonly name: string,
    readonly transport: KafkaTransport,
    group: string,
    over: Partial<GroupJoinOptions> = {},
  ) {
    this.membership = transport.joinGroup({
      group,
      topics: [TOPIC],
      userData: () => Buffer.from(`instance ${name}`),
      assign: (members) => {
        this.assignCalls.push([...members])
        return roundRobin(members)
      },
      sessionTimeoutMs: SESSION_MS,
      heartbeatIntervalMs: HEARTBEAT_MS,
      rebalanceTimeoutMs: REBALANCE_MS,
      ...over,
    })
  }

  /** Starts a join unless one is running (the runtime's reaction to `rebalancing`). */
  joinNow(): void {
    if (this.pending !== null) return
    this.pending = this.membership
      .join()
      .then(
        (a) => {
          this.last = a
        },
        (err: unknown) => {
          this.error = err
        },
      )
      .finally(() => {
        this.pending = null
      })
  }

  /** Joins when it has no assignment or the group asks; throws a join's failure. */
  step(): void {
    if (this.error !== null) throw this.error
    if (this.pending === null && (this.last === null || this.membership.rebalancing)) this.joinNow()
  }

  get settled(): boolean {
    return this.pending === null && this.last !== null && !this.membership.rebalancing
  }

  get partitions(): number[] {
    return (this.last?.partitions ?? []).map((p) => p.partition).sort((a, b) => a - b)
  }
}

describe('Kafka transport: consumer-group membership', () => {
  let b: TestBroker
  let groups: GroupCoordinator
  let brokers: string[]
  const transports: KafkaTransport[] = []
  let seq = 0
  const unique = (prefix: string) => `${prefix}-${++seq}`

  async function transport(extra: Partial<KafkaTransportOptions> = {}): Promise<KafkaTransport> {
    const t = await KafkaTransport.connect({ brokers, ...extra })
    transports.push(t)
    return t
  }

  async function instance(
    name: string,
    group: string,
    over: Partial<GroupJoinOptions> = {},
    extra: Partial<KafkaTransportOptions> = {},
  ): Promise<Instance> {
    return new Instance(name, await transport(extra), group, over)
  }

  /** Lets every instance rejoin as asked until all hold one generation and the group is Stable in it. */
  async function settle(group: string, members: readonly Instance[]): Promise<number> {
    return until(`group ${group} settled with ${members.map((m) => m.name).join(', ')}`, () => {
      for (const m of members) m.step()
      if (!members.every((m) => m.settled)) return undefined
      const gens = new Set(members.map((m) => m.last!.generationId))
      const state = groups.groupState(group)
      if (gens.size !== 1 || state?.state !== 'Stable' || !gens.has(state.generationId)) return undefined
      return state.generationId
    })
  }

  /** Every partition is assigned once, over the members, each with the userData the leader meant for it. */
  function checkAssignments(members: readonly Instance[]): void {
    const all = members.flatMap((m) => m.partitions).sort((x, y) => x - y)
    assert.deepEqual(
      all,
      Array.from({ length: PARTITIONS }, (_, i) => i),
    )
    for (const m of members) {
      assert.equal(m.last!.userData.toString(), `for ${m.last!.memberId}`)
      assert.equal(m.membership.generation?.memberId, m.last!.memberId)
      assert.equal(m.membership.generation?.generationId, m.last!.generationId)
    }
    assert.equal(members.filter((m) => m.last!.leader).length, 1, 'one leader')
  }

  before(async () => {
    // Short sessions for the tests; no initial delay, so each join starts a rebalance at once.
    groups = new GroupCoordinator({ initialRebalanceDelayMs: 0, sessionTimeoutMsMin: 500 })
    b = await startBroker({ groups, transactionCheckIntervalMs: 0 })
    brokers = [`127.0.0.1:${b.port}`]
    const admin = await transport()
    await admin.ensureTopic(TOPIC, { partitions: PARTITIONS })
    await admin.ensureTopic('out', { partitions: 1 })
  })

  after(async () => {
    for (const t of transports) await t.close()
    await b.stop()
    groups.close()
  })

  it('members join, rebalance when one joins, leaves or goes silent, and get its partitions', async () => {
    const group = unique('app')
    const a = await instance('a', group)
    const c = await instance('b', group)
    const members = [a, c]
    const g1 = await settle(group, members)
    checkAssignments(members)
    assert.deepEqual(
      members.map((m) => m.partitions.length),
      [3, 3],
    )
    // The leader's last assign saw both members and what each sent with its join.
    const leader = members.find((m) => m.last!.leader)!
    const seen = leader.assignCalls.at(-1)!
    assert.deepEqual(seen.map((m) => m.userData.toString()).sort(), ['instance a', 'instance b'])
    assert.deepEqual(seen.map((m) => m.memberId).sort(), members.map((m) => m.last!.memberId).sort())

    // A third member: the others are told to rebalance, rejoin, and all three share generation g1+1.
    const third = await instance('c', group)
    third.joinNow()
    await until('a and b told to rebalance', () =>
      a.membership.rebalancing && c.membership.rebalancing ? true : undefined,
    )
    // Their generation lives on until they rejoin.
    assert.equal(a.membership.generation?.generationId, g1)
    const g2 = await settle(group, [a, c, third])
    assert.equal(g2, g1 + 1)
    checkAssignments([a, c, third])
    assert.deepEqual(
      [a, c, third].map((m) => m.partitions.length),
      [2, 2, 2],
    )

    // The third leaves: the other two get its partitions at once (no session timeout to wait for).
    const leftWith = third.partitions
    await third.membership.leave()
    await third.membership.leave()
    await until('a and b told to rebalance after the leave', () =>
      a.membership.rebalancing && c.membership.rebalancing ? true : undefined,
    )
    const g3 = await settle(group, [a, c])
    assert.equal(g3, g2 + 1)
    checkAssignments([a, c])
    for (const p of leftWith) assert.ok([...a.partitions, ...c.partitions].includes(p))
    await assert.rejects(third.membership.join(), (err) => isEddyError(err, 'INVALID_ARGUMENT'))

    // A fourth joins, then crashes (its transport closes without leave): after its session
    // timeout the coordinator drops it and the other two rebalance.
    const crashing = await instance('d', group)
    const g4 = await settle(group, [a, c, crashing])
    checkAssignments([a, c, crashing])
    const crashedAt = Date.now()
    await crashing.transport.close()
    await until('a and b told to rebalance after the crash', () =>
      a.membership.rebalancing && c.membership.rebalancing ? true : undefined,
    )
    assert.ok(Date.now() - crashedAt >= SESSION_MS - 200, 'not before the session timeout')
    const g5 = await settle(group, [a, c])
    assert.ok(g5 > g4)
    checkAssignments([a, c])
    await assert.rejects(crashing.membership.join(), (err) => isEddyError(err, 'INVALID_ARGUMENT'))

    await a.membership.leave()
    await until('b told to rebalance', () => (c.membership.rebalancing ? true : undefined))
    await settle(group, [c])
    assert.deepEqual(c.partitions, [0, 1, 2, 3, 4, 5])
    assert.equal(c.last!.leader, true)
    await c.membership.leave()
    await until('the group empty', () => (groups.groupState(group)?.state === 'Empty' ? true : undefined))
  })

  it('fences a zombie: offsets sent with a generation that is over are refused (REBALANCED)', async () => {
    const group = unique('fenced')
    // Each member's producer is on a transport of its own, so "crashing" a member's membership
    // (its heartbeats) leaves its producer running, as a zombie's would be.
    const a = await instance('a', group)
    const c = await instance('b', group)
    const gen = await settle(group, [a, c])
    const zombie = a.membership.generation!
    const live = c.membership.generation!
    assert.equal(zombie.generationId, gen)
    const zombieProducer = await (await transport()).producer({ transactionalId: `${group}-a` })
    const liveProducer = await (await transport()).producer({ transactionalId: `${group}-b` })
    const offset = (partition: number, o: number) => [{ topic: TOPIC, partition, offset: o, metadata: 'm' }]

    // A commit with the current generation is allowed while the group prepares a rebalance.
    const joining = await instance('c', group)
    joining.joinNow()
    await until('a told to rebalance', () => (a.membership.rebalancing ? true : undefined))
    const owned = a.partitions[0]!
    await a.transport.commitOffsets(group, offset(owned, 3), zombie)
    assert.equal(
      (await c.transport.committedOffsets(group, [{ topic: TOPIC, partition: owned }]))[0]!.offset,
      3,
    )
    zombieProducer.beginTransaction()
    await zombieProducer.sendOffsets(group, offset(owned, 4), zombie)
    await zombieProducer.commitTransaction()
    await settle(group, [a, c, joining])
    assert.equal(
      (await c.transport.committedOffsets(group, [{ topic: TOPIC, partition: owned }]))[0]!.offset,
      4,
    )

    // The old generation is over now: a member that is still in the group but did not finish
    // with it is refused (ILLEGAL_GENERATION), in and out of transactions.
    await assert.rejects(
      c.transport.commitOffsets(group, offset(0, 9), live),
      (err) => isEddyError(err, 'REBALANCED') && /rebalanced/.test(err.message),
    )
    liveProducer.beginTransaction()
    await assert.rejects(liveProducer.sendOffsets(group, offset(0, 9), live), (err) =>
      isEddyError(err, 'REBALANCED'),
    )
    await liveProducer.abortTransaction()

    // a goes silent: its session ends, the others rebalance without it.
    const stale = a.membership.generation!
    await a.transport.close()
    await until('b and c told to rebalance', () =>
      c.membership.rebalancing && joining.membership.rebalancing ? true : undefined,
    )
    const next = await settle(group, [c, joining])
    // a's producer, a zombie of generation `stale`, writes and sends offsets: refused.
    zombieProducer.beginTransaction()
    await zombieProducer.send('out', 0, [{ value: Buffer.from('zombie') }])
    await assert.rejects(
      zombieProducer.sendOffsets(group, offset(0, 100), stale),
      (err) =>
        isEddyError(err, 'REBALANCED') &&
        err.message.includes(`member ${stale.memberId} (generation ${stale.generationId})`) &&
        /work since its last commit is dropped/.test(err.message),
    )
    await assert.rejects(zombieProducer.commitTransaction(), (err) => isEddyError(err, 'INVALID_TXN_STATE'))
    await zombieProducer.abortTransaction()
    // A live member with the current generation commits.
    const current = c.membership.generation!
    assert.equal(current.generationId, next)
    liveProducer.beginTransaction()
    await liveProducer.send('out', 0, [{ value: Buffer.from('live') }])
    await liveProducer.sendOffsets(group, offset(0, 42), current)
    await liveProducer.commitTransaction()
    const [committed] = await c.transport.committedOffsets(group, [{ topic: TOPIC, partition: 0 }])
    assert.equal(committed!.offset, 42)
    const out = await c.transport.fetch('out', 0, 0, { isolation: 'read_committed', maxWaitMs: 0 })
    assert.deepEqual(
      out.records.map((r) => r.value?.toString()),
      ['live'],
    )
    await zombieProducer.close()
    await liveProducer.close()
    await c.membership.leave()
    await joining.membership.leave()
  })

  it('kafkajs decodes the group: protocol type consumer, subscriptions and assignments', async () => {
    const group = unique('visible')
    const a = await instance('a', group)
    const c = await instance('b', group)
    await settle(group, [a, c])
    const kafka = new Kafka({ clientId: 'eddy-group-test', brokers, logLevel: logLevel.NOTHING })
    const admin: Admin = kafka.admin()
    await admin.connect()
    try {
      const { groups: described } = await admin.describeGroups([group])
      const g = described[0]!
      assert.equal(g.state, 'Stable')
      assert.equal(g.protocolType, 'consumer')
      assert.equal(g.protocol, 'eddy')
      assert.equal(g.members.length, 2)
      for (const m of g.members) {
        const mine = [a, c].find((x) => x.last!.memberId === m.memberId)!
        const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata)!
        assert.deepEqual(meta.topics, [TOPIC])
        assert.equal(meta.userData.toString(), `instance ${mine.name}`)
        const assigned = AssignerProtocol.MemberAssignment.decode(m.memberAssignment)!
        assert.deepEqual([...assigned.assignment[TOPIC]!].sort(), mine.partitions)
        assert.equal(assigned.userData.toString(), `for ${m.memberId}`)
      }
      // kafkajs' own encodings decode with Eddy's codec too (the leader reads foreign members).
      const { decodeConsumerSubscription, decodeConsumerAssignment } = await import(
        '../../src/protocol/consumer-protocol.js'
      )
      const sub = decodeConsumerSubscription(
        AssignerProtocol.MemberMetadata.encode({
          version: 0,
          topics: ['x', 'y'],
          userData: Buffer.from('u'),
        }),
      )
      assert.deepEqual(sub.topics, ['x', 'y'])
      assert.equal(sub.userData?.toString(), 'u')
      const asg = decodeConsumerAssignment(
        AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: { x: [0, 2] },
          userData: Buffer.from('v'),
        }),
      )
      assert.deepEqual(asg.assignedPartitions, [{ topic: 'x', partitions: [0, 2] }])
      assert.equal(asg.userData?.toString(), 'v')
    } finally {
      await admin.disconnect()
    }
    await a.membership.leave()
    await c.membership.leave()
  })

  it('works at the oldest API versions (JoinGroup v1, SyncGroup/Heartbeat/LeaveGroup v0)', async () => {
    const group = unique('old')
    const oldest: Partial<KafkaTransportOptions> = {
      maxApiVersions: {
        JoinGroup: 1,
        SyncGroup: 0,
        Heartbeat: 0,
        LeaveGroup: 0,
        OffsetCommit: 2,
        TxnOffsetCommit: 3,
        FindCoordinator: 1,
      },
    }
    const a = await instance('a', group, {}, oldest)
    const c = await instance('b', group, {}, oldest)
    const g = await settle(group, [a, c])
    checkAssignments([a, c])
    await assert.rejects(
      a.transport.commitOffsets(group, [{ topic: TOPIC, partition: 0, offset: 1 }], {
        generationId: g - 1,
        memberId: a.last!.memberId,
      }),
      (err) => isEddyError(err, 'REBALANCED'),
    )
    await a.transport.commitOffsets(
      group,
      [{ topic: TOPIC, partition: 0, offset: 1 }],
      a.membership.generation!,
    )
    await a.membership.leave()
    await until('b told to rebalance', () => (c.membership.rebalancing ? true : undefined))
    await settle(group, [c])
    assert.deepEqual(c.partitions, [0, 1, 2, 3, 4, 5])
    await c.membership.leave()

    // TxnOffsetCommit before v3 cannot carry the generation: refused rather than unfenced.
    const t = await transport({ maxApiVersions: { TxnOffsetCommit: 2 } })
    const p = await t.producer({ transactionalId: `${group}-old` })
    p.beginTransaction()
    await assert.rejects(
      p.sendOffsets(group, [{ topic: TOPIC, partition: 0, offset: 1 }], { generationId: 1, memberId: 'm' }),
      (err) => isEddyError(err, 'UNSUPPORTED_VERSION'),
    )
    await p.abortTransaction()
    await p.close()
  })

  it('refuses bad options with clear errors', async () => {
    const t = await transport()
    const base = { group: 'g', topics: [TOPIC], userData: () => Buffer.alloc(0), assign: roundRobin }
    assert.throws(
      () => t.joinGroup({ ...base, group: '' }),
      (err) => isEddyError(err, 'INVALID_ARGUMENT'),
    )
    assert.throws(
      () => t.joinGroup({ ...base, sessionTimeoutMs: 1000, heartbeatIntervalMs: 1000 }),
      /heartbeatIntervalMs \(1000\) must be below sessionTimeoutMs/,
    )
    assert.throws(
      () => t.joinGroup({ ...base, topics: ['bad topic'] }),
      (err) => isEddyError(err, 'INVALID_TOPIC_NAME'),
    )
    // Below the broker's group.min.session.timeout.ms.
    const m = t.joinGroup({ ...base, group: unique('short'), sessionTimeoutMs: 100, heartbeatIntervalMs: 10 })
    await assert.rejects(m.join(), /INVALID_SESSION_TIMEOUT/)
  })
})

describe('Kafka transport: group membership across a broker restart', () => {
  it('members count their session lost while the broker is down, then rejoin the restarted one', async () => {
    const b = await startBroker({ transactionCheckIntervalMs: 0 })
    const before = new GroupCoordinator({ initialRebalanceDelayMs: 0, sessionTimeoutMsMin: 500 })
    const afterRestart = new GroupCoordinator({ initialRebalanceDelayMs: 0, sessionTimeoutMsMin: 500 })
    // The harness's broker has a coordinator of its own; run this test's on the same log and port.
    await b.broker.close()
    let broker = await Broker.start({
      log: b.log,
      port: b.port,
      logger: b.logger,
      groups: before,
      transactionCheckIntervalMs: 0,
    })
    const brokers = [`127.0.0.1:${b.port}`]
    const ts = [
      await KafkaTransport.connect({ brokers, retryTimeoutMs: 20_000 }),
      await KafkaTransport.connect({ brokers, retryTimeoutMs: 20_000 }),
    ]
    try {
      await ts[0]!.ensureTopic(TOPIC, { partitions: PARTITIONS })
      const members = ts.map((t, i) => new Instance(`m${i}`, t, 'restarted'))
      const step = (gc: GroupCoordinator) =>
        until('members settled', () => {
          for (const m of members) m.step()
          const state = gc.groupState('restarted')
          return members.every((m) => m.settled && m.last!.generationId === state?.generationId) &&
            state?.state === 'Stable'
            ? state.generationId
            : undefined
        })
      await step(before)
      const oldIds = members.map((m) => m.last!.memberId)
      await broker.close()
      const downAt = Date.now()
      // No answer to any heartbeat for a whole session: each member counts itself out.
      await until('members count their sessions lost', () =>
        members.every((m) => m.membership.rebalancing) ? true : undefined,
      )
      assert.ok(Date.now() - downAt >= SESSION_MS - 200, 'not before the session timeout')
      broker = await Broker.start({
        log: b.log,
        port: b.port,
        logger: b.logger,
        groups: afterRestart,
        transactionCheckIntervalMs: 0,
      })
      await step(afterRestart)
      checkAll(members)
      for (const [i, m] of members.entries()) assert.notEqual(m.last!.memberId, oldIds[i])
      for (const m of members) await m.membership.leave()
    } finally {
      for (const t of ts) await t.close()
      await broker.close()
      before.close()
      afterRestart.close()
      await b.stop()
    }
  })
})

function checkAll(members: readonly Instance[]): void {
  const all = members.flatMap((m) => m.partitions).sort((x, y) => x - y)
  assert.deepEqual(
    all,
    Array.from({ length: PARTITIONS }, (_, i) => i),
  )
}
