// Which keys may cross a task as the bytes they were read as.
//
// A stateless chain such as `stream('payments').filter(p => …).mapValues(p => …).to('charges')`
// never looks at a key: it decodes each one at the source and encodes it again at the sink, to
// the same bytes. When no step between reads or sets the key, and the source's key serde and the
// sink's map bytes alike (Serde.bytesFormat), the source hands the key on undecoded and the sink
// writes those bytes: a UTF-8 decode and encode less per record (docs/ARCHITECTURE.md, "Keys no
// step reads stay bytes", has the figures). It also keeps a key that is not valid UTF-8 byte for
// byte, where a decode and encode would have replaced its bad bytes.
//
// The rule is by connected parts of the task's graph: keys travel as bytes only in a part where
// every node can carry them (a source with such a serde and no timestamp function, steps that
// keep keys unread, merges, topic sinks of the same format). One node that needs the decoded key,
// or a sink of another format, and the whole part decodes as usual: a sink then never receives
// bytes from one parent and a decoded key from another.
import type { Plan, SubTopology } from './plan.js'

/** The ids of the nodes of `sub` whose keys travel as bytes (sources, steps and sinks). */
export function keysKeptAsBytes(plan: Plan, sub: SubTopology): ReadonlySet<string> {
  const members = new Set(sub.nodes)
  /** The bytes format a node's keys would have, or null where the decoded key is needed. */
  const format = new Map<string, string | null>()
  const ofParents = (parents: readonly string[]): string | null => {
    let f: string | null = null
    for (const p of parents) {
      const pf = members.has(p) ? (format.get(p) ?? null) : null
      if (pf === null || (f !== null && pf !== f)) return null
      f = pf
    }
    return f
  }
  for (const id of sub.nodes) {
    const n = plan.node(id)
    let f: string | null = null
    if (n.kind === 'source') f = n.timestampOf === undefined ? (n.keySerde.bytesFormat ?? null) : null
    else if (n.kind === 'map') f = n.keyPassesThrough === true ? ofParents(n.parents) : null
    else if (n.kind === 'merge') f = ofParents(n.parents)
    else if (n.kind === 'sink' && n.target.type === 'topic') {
      const own = n.target.keySerde.bytesFormat
      f = own !== undefined && ofParents(n.parents) === own ? own : null
    }
    format.set(id, f)
  }
  const kept = new Set<string>()
  const seen = new Set<string>()
  for (const start of sub.nodes) {
    if (seen.has(start)) continue
    // One connected part (parents and children within the task), all kept or none.
    const part: string[] = []
    const todo = [start]
    seen.add(start)
    let ok = true
    while (todo.length > 0) {
      const id = todo.pop()!
      part.push(id)
      if (format.get(id) === null) ok = false
      for (const next of [...plan.node(id).parents, ...plan.children(id)]) {
        if (members.has(next) && !seen.has(next)) {
          seen.add(next)
          todo.push(next)
        }
      }
    }
    if (ok) for (const id of part) kept.add(id)
  }
  return kept
}
