// The immutable graph of a pipeline, its validation, and its split into sub-topologies.
import { EddyError } from '../core/errors.js'
import type { StoreSpec } from '../core/store.js'
import { validateTopicName } from '../core/topic-name.js'
import type { GlobalTableSpec, PlanNode, RepartitionNode } from './nodes.js'

/** The part of a plan between repartitions: one task per partition of its input topics. */
export interface SubTopology {
  readonly index: number
  /** Node ids, parents before children. */
  readonly nodes: readonly string[]
  /** External source topics. */
  readonly sourceTopics: readonly string[]
  /** Repartition nodes whose topic feeds this sub-topology. */
  readonly repartitionInputs: readonly string[]
  /** Repartition nodes this sub-topology writes to. */
  readonly repartitionOutputs: readonly string[]
  readonly stores: readonly StoreSpec[]
}

export class Plan {
  readonly nodes: ReadonlyMap<string, PlanNode>
  /** Node ids, parents before children. */
  readonly order: readonly string[]
  private readonly childrenOf: ReadonlyMap<string, readonly string[]>

  constructor(
    nodes: readonly PlanNode[],
    /** Global tables the steps may look up. */
    readonly globalTables: readonly GlobalTableSpec[] = [],
  ) {
    const map = new Map<string, PlanNode>()
    for (const n of nodes) {
      if (map.has(n.id)) {
        throw new EddyError(
          'INVALID_ARGUMENT',
          `two steps are named ${JSON.stringify(n.id)}: give each a unique name`,
        )
      }
      map.set(n.id, n)
    }
    const children = new Map<string, string[]>()
    for (const n of nodes) {
      for (const p of n.parents) {
        if (!map.has(p)) throw new EddyError('INVALID_ARGUMENT', `step ${n.id} reads from unknown step ${p}`)
        const list = children.get(p) ?? []
        list.push(n.id)
        children.set(p, list)
      }
    }
    this.nodes = map
    this.childrenOf = children
    this.order = topologicalOrder(map)
    this.validate()
  }

  node(id: string): PlanNode {
    const n = this.nodes.get(id)
    if (n === undefined) throw new EddyError('INVALID_ARGUMENT', `no step ${id} in the plan`)
    return n
  }

  children(id: string): readonly string[] {
    return this.childrenOf.get(id) ?? []
  }

  stores(): StoreSpec[] {
    const out: StoreSpec[] = []
    for (const id of this.order) {
      const n = this.nodes.get(id)!
      if (n.kind === 'process') out.push(...n.stores)
    }
    return out
  }

  private validate(): void {
    const globals = new Set<string>()
    for (const g of this.globalTables) {
      validateTopicName(g.topic)
      if (globals.has(g.name)) {
        throw new EddyError(
          'INVALID_ARGUMENT',
          `two global tables are named ${g.name}: give each a unique name`,
        )
      }
      globals.add(g.name)
    }
    const storeNames = new Set<string>()
    let sinks = 0
    for (const id of this.order) {
      const n = this.nodes.get(id)!
      if (n.kind === 'source') {
        if (n.parents.length > 0) throw new EddyError('INVALID_ARGUMENT', `source ${id} cannot have parents`)
        if (n.topics.length === 0) throw new EddyError('INVALID_ARGUMENT', `source ${id} names no topic`)
        for (const t of n.topics) validateTopicName(t)
      } else if (n.parents.length === 0) {
        throw new EddyError('INVALID_ARGUMENT', `step ${id} (${n.label}) reads from nothing`)
      }
      if (n.kind === 'sink') {
        sinks++
        if (n.target.type === 'topic') validateTopicName(n.target.topic)
      }
      if (n.kind === 'process') {
        for (const s of n.stores) {
          if (storeNames.has(s.name)) {
            throw new EddyError(
              'INVALID_ARGUMENT',
              `two stores are named ${s.name}: give the steps unique names`,
            )
          }
          storeNames.add(s.name)
        }
      }
      if (n.kind === 'side') {
        const parent = this.nodes.get(n.parents[0]!)
        if (parent?.kind !== 'process' || !parent.sideOutputs.includes(n.output)) {
          throw new EddyError(
            'INVALID_ARGUMENT',
            `step ${id} reads side output ${n.output} that its parent lacks`,
          )
        }
      }
    }
    for (const id of this.order) {
      const n = this.nodes.get(id)!
      if (n.kind !== 'process') continue
      for (const s of n.sharedStores ?? []) {
        if (!storeNames.has(s)) {
          throw new EddyError('INVALID_ARGUMENT', `step ${id} reads store ${s}, which no step declares`)
        }
      }
    }
    if (sinks === 0) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        'the pipeline has no sink: end at least one stream with .to(), .forEach() or .print()',
      )
    }
  }

  /** Splits the plan at repartitions: each part runs as its own tasks. */
  subTopologies(): SubTopology[] {
    // Union-find over edges that are not repartition → child edges.
    const parent = new Map<string, string>()
    const find = (x: string): string => {
      let r = x
      while (parent.get(r) !== r) r = parent.get(r)!
      parent.set(x, r)
      return r
    }
    for (const id of this.order) parent.set(id, id)
    // Readers of one topic (a topic read by two sources, or the steps after one repartition) are
    // one sub-topology: an app has one position, and one committed offset, per topic partition.
    const readerOf = new Map<string, string>()
    const reads = (id: string, topic: string) => {
      const other = readerOf.get(topic)
      if (other === undefined) readerOf.set(topic, id)
      else parent.set(find(id), find(other))
    }
    for (const id of this.order) {
      const n = this.nodes.get(id)!
      if (n.kind === 'source') for (const t of n.topics) reads(id, t)
      for (const p of n.parents) {
        if (this.nodes.get(p)!.kind === 'repartition') {
          reads(id, `\u0000${p}`)
          continue
        }
        parent.set(find(id), find(p))
      }
    }
    // A step that reads another's store runs in the same task as that step.
    const ownerOf = new Map<string, string>()
    for (const id of this.order) {
      const n = this.nodes.get(id)!
      if (n.kind === 'process') for (const s of n.stores) ownerOf.set(s.name, id)
    }
    for (const id of this.order) {
      const n = this.nodes.get(id)!
      if (n.kind !== 'process') continue
      for (const s of n.sharedStores ?? []) parent.set(find(id), find(ownerOf.get(s)!))
    }
    const groups = new Map<string, string[]>()
    for (const id of this.order) {
      const root = find(id)
      const g = groups.get(root) ?? []
      g.push(id)
      groups.set(root, g)
    }
    const out: SubTopology[] = []
    for (const ids of groups.values()) {
      const members = new Set(ids)
      const sourceTopics: string[] = []
      const repartitionInputs: string[] = []
      const repartitionOutputs: string[] = []
      const stores: StoreSpec[] = []
      for (const id of ids) {
        const n = this.nodes.get(id)!
        if (n.kind === 'source') for (const t of n.topics) if (!sourceTopics.includes(t)) sourceTopics.push(t)
        if (n.kind === 'repartition') repartitionOutputs.push(id)
        if (n.kind === 'process') stores.push(...n.stores)
        for (const p of n.parents) {
          if (
            !members.has(p) &&
            this.nodes.get(p)!.kind === 'repartition' &&
            !repartitionInputs.includes(p)
          ) {
            repartitionInputs.push(p)
          }
        }
      }
      out.push({ index: out.length, nodes: ids, sourceTopics, repartitionInputs, repartitionOutputs, stores })
    }
    return out
  }

  repartitionNodes(): RepartitionNode[] {
    const out: RepartitionNode[] = []
    for (const n of this.nodes.values()) if (n.kind === 'repartition') out.push(n)
    return out
  }
}

function topologicalOrder(nodes: ReadonlyMap<string, PlanNode>): string[] {
  const order: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (id: string, path: string[]) => {
    const s = state.get(id)
    if (s === 'done') return
    if (s === 'visiting') {
      throw new EddyError('INVALID_ARGUMENT', `the pipeline has a cycle: ${[...path, id].join(' → ')}`)
    }
    state.set(id, 'visiting')
    for (const p of nodes.get(id)!.parents) visit(p, [...path, id])
    state.set(id, 'done')
    order.push(id)
  }
  for (const id of nodes.keys()) visit(id, [])
  return order
}

/** How many tasks each sub-topology runs, and how many partitions each repartition topic gets. */
export interface TopicSizing {
  /** Sub-topology index → task count. */
  readonly tasks: Map<number, number>
  /** Repartition node id → partition count. */
  readonly repartitions: Map<string, number>
}

/**
 * Sizes a plan from its source topics' partition counts, as Kafka Streams does: a sub-topology
 * runs one task per partition of its inputs, which must all have the same count (co-partitioning);
 * a repartition topic gets the task count of the sub-topology that reads it (so it lines up with
 * that one's source topics), else of the one that writes it.
 */
export function sizeTopics(
  plan: Plan,
  subs: readonly SubTopology[],
  sourcePartitions: (topic: string) => number,
  topicName: (repartition: RepartitionNode) => string = (r) => r.topic,
): TopicSizing {
  const tasks = new Map<number, number>()
  const repartitions = new Map<string, number>()
  const readerOf = new Map<string, SubTopology>()
  const writerOf = new Map<string, SubTopology>()
  for (const sub of subs) {
    for (const r of sub.repartitionInputs) readerOf.set(r, sub)
    for (const r of sub.repartitionOutputs) writerOf.set(r, sub)
    if (sub.sourceTopics.length > 0) tasks.set(sub.index, sourcePartitions(sub.sourceTopics[0]!))
  }
  for (const r of plan.repartitionNodes())
    if (r.partitions !== undefined) repartitions.set(r.id, r.partitions)
  for (let changed = true; changed; ) {
    changed = false
    for (const r of plan.repartitionNodes()) {
      if (repartitions.has(r.id)) continue
      const reader = readerOf.get(r.id)
      const writer = writerOf.get(r.id)
      const n = (reader && tasks.get(reader.index)) ?? (writer && tasks.get(writer.index)) ?? undefined
      if (n !== undefined) {
        repartitions.set(r.id, n)
        changed = true
      }
    }
    for (const sub of subs) {
      if (tasks.has(sub.index)) continue
      const known = sub.repartitionInputs.map((r) => repartitions.get(r)).filter((n) => n !== undefined)
      if (known.length > 0) {
        tasks.set(sub.index, known[0]!)
        changed = true
      }
    }
  }
  for (const sub of subs) {
    if (!tasks.has(sub.index)) tasks.set(sub.index, 1)
    const inputs: [string, number][] = [
      ...sub.sourceTopics.map((t): [string, number] => [t, sourcePartitions(t)]),
      ...sub.repartitionInputs.map((r): [string, number] => {
        const node = plan.node(r) as RepartitionNode
        return [topicName(node), repartitions.get(r) ?? 1]
      }),
    ]
    if (new Set(inputs.map(([, n]) => n)).size > 1) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `topics read together must have the same partition count (co-partitioning): ${inputs
          .map(([t, n]) => `${t} has ${n}`)
          .join(', ')}; repartition one of them (e.g. with groupBy) or recreate it with the same count`,
      )
    }
  }
  for (const r of plan.repartitionNodes()) if (!repartitions.has(r.id)) repartitions.set(r.id, 1)
  return { tasks, repartitions }
}
