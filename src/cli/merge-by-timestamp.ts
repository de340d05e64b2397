// Interleaves per-partition record lists by timestamp, keeping each list's own order.
import type { LogRecord } from '../core/record.js'

/** A k-way merge: repeatedly takes the head with the smallest timestamp (ties: the earlier list). */
export function mergeByTimestamp(lists: readonly (readonly LogRecord[])[]): LogRecord[] {
  const heads = lists.map(() => 0)
  const out: LogRecord[] = []
  for (;;) {
    let pick = -1
    for (let i = 0; i < lists.length; i++) {
      const head = lists[i]![heads[i]!]
      if (head !== undefined && (pick < 0 || head.timestamp < lists[pick]![heads[pick]!]!.timestamp)) pick = i
    }
    if (pick < 0) return out
    out.push(lists[pick]![heads[pick]!]!)
    heads[pick] = heads[pick]! + 1
  }
}
