// Pictures of a plan: JSON for tools and the dashboard, Mermaid for people.
import type { PlanNode } from './nodes.js'
import type { Plan } from './plan.js'

export interface NodeDescription {
  readonly id: string
  readonly kind: PlanNode['kind']
  readonly label: string
  readonly parents: readonly string[]
  readonly topics?: readonly string[]
  readonly stores?: readonly string[]
}

export function describePlan(plan: Plan): { nodes: NodeDescription[]; subTopologies: number } {
  const nodes = plan.order.map((id) => {
    const n = plan.node(id)
    const d: NodeDescription = { id, kind: n.kind, label: n.label, parents: n.parents }
    if (n.kind === 'source') return { ...d, topics: n.topics }
    if (n.kind === 'sink' && n.target.type === 'topic') return { ...d, topics: [n.target.topic] }
    if (n.kind === 'repartition') return { ...d, topics: [n.topic] }
    if (n.kind === 'process') return { ...d, stores: n.stores.map((s) => s.name) }
    return d
  })
  return { nodes, subTopologies: plan.subTopologies().length }
}

function mermaidId(id: string): string {
  return id.replace(/[^a-zA-Z0-9_]/g, '_')
}

export function planToMermaid(plan: Plan): string {
  const lines = ['flowchart LR']
  for (const d of describePlan(plan).nodes) {
    const text = d.topics
      ? `${d.label}: ${d.topics.join(', ')}`
      : d.stores?.length
        ? `${d.label} [${d.stores.join(', ')}]`
        : d.label
    const shape =
      d.kind === 'source' || d.kind === 'sink'
        ? `[/"${text}"/]`
        : d.kind === 'repartition'
          ? `[("${text}")]`
          : `["${text}"]`
    lines.push(`  ${mermaidId(d.id)}${shape}`)
    for (const p of d.parents) lines.push(`  ${mermaidId(p)} --> ${mermaidId(d.id)}`)
  }
  return lines.join('\n')
}
