// The compactor's memory of a partition: each cleaning pass that covered new offsets, with its
// time. It gives the clean/dirty boundary (for the dirty ratio) and the tombstone delete horizon:
// a tombstone may go once a pass that covered it is at least deleteRetentionMs old (the rule of
// Kafka >= 3.1, KIP-534, which measures against the cleaner's clock, not record timestamps).
// Kept in <partition>/cleaner-checkpoint.json; losing it only makes compaction more conservative.
import * as fs from 'node:fs'
import * as path from 'node:path'

export const CHECKPOINT_FILE = 'cleaner-checkpoint.json'
/** Passes remembered; the oldest two merge beyond this, which only delays tombstone removal. */
const PASSES_MAX = 64

export interface CleaningPass {
  /** Offsets below this were covered by the pass. */
  readonly endOffset: number
  readonly timeMs: number
}

/** The passes of a partition, oldest first; [] when the file is missing or unreadable. */
export function readPasses(dir: string): CleaningPass[] {
  try {
    const data = JSON.parse(fs.readFileSync(path.join(dir, CHECKPOINT_FILE), 'utf8')) as { passes?: unknown }
    if (!Array.isArray(data.passes)) return []
    const passes: CleaningPass[] = []
    for (const p of data.passes as { endOffset?: unknown; timeMs?: unknown }[]) {
      if (typeof p.endOffset !== 'number' || typeof p.timeMs !== 'number') return []
      const last = passes[passes.length - 1]
      if (last !== undefined && (p.endOffset <= last.endOffset || p.timeMs < last.timeMs)) return []
      passes.push({ endOffset: p.endOffset, timeMs: p.timeMs })
    }
    return passes
  } catch {
    return []
  }
}

export function writePasses(dir: string, passes: readonly CleaningPass[]): void {
  const file = path.join(dir, CHECKPOINT_FILE)
  const fd = fs.openSync(`${file}.tmp`, 'w')
  try {
    fs.writeSync(fd, JSON.stringify({ passes }))
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(`${file}.tmp`, file)
}

/** Where the clean part of the log ends: offsets at or past it have not been compacted yet. */
export function cleanedEndOffset(passes: readonly CleaningPass[], logStartOffset: number): number {
  return Math.max(passes[passes.length - 1]?.endOffset ?? 0, logStartOffset)
}

/** Tombstones below the returned offset are past their delete horizon at `nowMs`. */
export function tombstoneHorizonOffset(
  passes: readonly CleaningPass[],
  nowMs: number,
  deleteRetentionMs: number,
): number {
  let horizon = 0
  for (const p of passes) if (p.timeMs + deleteRetentionMs <= nowMs) horizon = p.endOffset
  return horizon
}

/** The passes after one that covered offsets below `pass.endOffset`; forgets those before the log start. */
export function addPass(
  passes: readonly CleaningPass[],
  pass: CleaningPass,
  logStartOffset: number,
): CleaningPass[] {
  const out = passes.filter((p) => p.endOffset > logStartOffset)
  const last = out[out.length - 1]
  if (last !== undefined && pass.endOffset <= last.endOffset) return out
  // A clock that stepped back must not make a later pass look older.
  out.push({ endOffset: pass.endOffset, timeMs: Math.max(pass.timeMs, last?.timeMs ?? pass.timeMs) })
  // Merging keeps the later time for the union: tombstones only ever stay longer.
  if (out.length > PASSES_MAX) out.splice(0, 1)
  return out
}
