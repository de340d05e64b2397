// Which instance runs which task, computed by the group's leader (Kafka Streams' sticky task
// assignor, simplified). Each sub-topology's tasks are spread evenly over the instances, so the
// work of every stage is shared; a task stays where it ran before while that keeps the balance,
// else it prefers an instance that already has its state on disk (a standby); standby replicas go
// to other instances, again preferring those with the state. Pure: the same input gives the same
// assignment on any instance.

/** An instance as the leader sees it, from its join. */
export interface InstanceInfo {
  /** The group member id: the key of the assignment. */
  readonly memberId: string
  /** Tasks it ran as active tasks in the last generation. */
  readonly previousActive: readonly string[]
  /** Tasks whose state it has locally (standbys, or state left from earlier runs). */
  readonly localState: readonly string[]
}

export interface TaskInfo {
  readonly id: string
  /** Tasks of one sub-topology are balanced among themselves. */
  readonly subTopology: number
  /** Only tasks with state get standby replicas. */
  readonly stateful: boolean
}

export interface InstanceAssignment {
  readonly active: string[]
  readonly standby: string[]
}

export function assignTasks(
  tasks: readonly TaskInfo[],
  instances: readonly InstanceInfo[],
  standbyReplicas = 0,
): Map<string, InstanceAssignment> {
  const out = new Map<string, InstanceAssignment>()
  // Member order decides ties: sort so that every leader decides the same way.
  const members = [...instances].sort((a, b) =>
    a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0,
  )
  for (const m of members) out.set(m.memberId, { active: [], standby: [] })
  if (members.length === 0) return out
  const previous = new Map<string, string>()
  const hasState = new Map<string, Set<string>>()
  for (const m of members) {
    for (const t of m.previousActive) if (!previous.has(t)) previous.set(t, m.memberId)
    hasState.set(m.memberId, new Set([...m.localState, ...m.previousActive]))
  }
  const load = (id: string) => out.get(id)!.active.length
  const owner = new Map<string, string>()

  const bySub = new Map<number, TaskInfo[]>()
  for (const t of tasks) {
    const list = bySub.get(t.subTopology)
    if (list === undefined) bySub.set(t.subTopology, [t])
    else list.push(t)
  }
  for (const subTasks of [...bySub.entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l)) {
    const base = Math.floor(subTasks.length / members.length)
    let extra = subTasks.length % members.length
    // The instances that take one task more: those that ran most of this stage before (less
    // movement), then the least loaded overall (so the stages' remainders spread).
    const ranSub = (m: InstanceInfo) => subTasks.filter((t) => previous.get(t.id) === m.memberId).length
    const ranked = [...members].sort((a, b) => ranSub(b) - ranSub(a) || load(a.memberId) - load(b.memberId))
    const target = new Map<string, number>()
    for (const m of ranked) target.set(m.memberId, base + (extra-- > 0 ? 1 : 0))
    const taken = new Map<string, number>(members.map((m) => [m.memberId, 0]))
    const give = (task: TaskInfo, memberId: string) => {
      out.get(memberId)!.active.push(task.id)
      owner.set(task.id, memberId)
      taken.set(memberId, taken.get(memberId)! + 1)
    }
    const room = (memberId: string) => taken.get(memberId)! < target.get(memberId)!
    const rest: TaskInfo[] = []
    for (const t of subTasks) {
      const prev = previous.get(t.id)
      if (prev !== undefined && room(prev)) give(t, prev)
      else rest.push(t)
    }
    // Tasks whose state some instance holds go first, before others fill that instance up.
    const warmSomewhere = (t: TaskInfo) => members.some((m) => hasState.get(m.memberId)!.has(t.id))
    rest.sort((a, b) => Number(warmSomewhere(b)) - Number(warmSomewhere(a)))
    for (const t of rest) {
      const open = members.filter((m) => room(m.memberId))
      const warm = open.filter((m) => hasState.get(m.memberId)!.has(t.id))
      const pick = leastLoaded(warm.length > 0 ? warm : open, load)
      give(t, pick.memberId)
    }
  }

  const replicas = Math.min(standbyReplicas, members.length - 1)
  for (let r = 0; r < replicas; r++) {
    for (const t of tasks) {
      if (!t.stateful) continue
      const candidates = members.filter(
        (m) => m.memberId !== owner.get(t.id) && !out.get(m.memberId)!.standby.includes(t.id),
      )
      const warm = candidates.filter((m) => hasState.get(m.memberId)!.has(t.id))
      const standbyLoad = (id: string) => out.get(id)!.standby.length
      const pick = leastLoaded(warm.length > 0 ? warm : candidates, standbyLoad)
      out.get(pick.memberId)!.standby.push(t.id)
    }
  }
  return out
}

function leastLoaded(members: readonly InstanceInfo[], load: (id: string) => number): InstanceInfo {
  let best = members[0]!
  for (const m of members) if (load(m.memberId) < load(best.memberId)) best = m
  return best
}
