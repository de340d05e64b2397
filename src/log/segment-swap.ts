// Crash-safe replacement of sealed segments by compaction's output.
//
//   1. the cleaned segment is written in <partition>/.cleaned/ (its .log, .index, .timeindex) and fsynced
//   2. its .log is renamed to <partition>/<base>-<end>.swap           ← the commit point
//   3. the old segments covering [base, end) are deleted
//   4. the cleaned indexes are moved in, then the .swap becomes <base>.log
//
// A crash before 2 leaves the old segments and a stray .cleaned/ (deleted on open); a crash after 2
// leaves a .swap that open finishes: delete every segment file with a base in [base, end), rename.
// The end is in the swap's name because compaction may drop the last batches of the range.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fsyncDir } from './fs-util.js'
import { type Segment, segmentFileName } from './segment.js'

/** Directory of a partition where compaction writes segments before they are swapped in. */
export const CLEANED_DIR = '.cleaned'

const SWAP_FILE = /^(\d{20})-(\d{20})\.swap$/
const SEGMENT_FILE = /^(\d{20})\.(log|index|timeindex)$/
const INDEX_SUFFIXES = ['.index', '.timeindex'] as const

export function swapFileName(baseOffset: number, endOffset: number): string {
  return `${segmentFileName(baseOffset, '')}-${segmentFileName(endOffset, '.swap')}`
}

/**
 * Swaps the closed, fsynced segment `baseOffset` in `CLEANED_DIR` for `oldSegments`, which cover
 * [baseOffset, endOffset). Synchronous, so no reader sees a half-done swap; the caller then opens
 * the new segment and replaces the old ones in memory.
 */
export function swapInCleanedSegment(
  dir: string,
  baseOffset: number,
  endOffset: number,
  oldSegments: readonly Segment[],
): void {
  const cleanedDir = path.join(dir, CLEANED_DIR)
  const swap = path.join(dir, swapFileName(baseOffset, endOffset))
  fs.renameSync(path.join(cleanedDir, segmentFileName(baseOffset, '.log')), swap)
  fsyncDir(dir)
  for (const seg of oldSegments) seg.delete()
  for (const suffix of INDEX_SUFFIXES) {
    fs.renameSync(
      path.join(cleanedDir, segmentFileName(baseOffset, suffix)),
      path.join(dir, segmentFileName(baseOffset, suffix)),
    )
  }
  fs.renameSync(swap, path.join(dir, segmentFileName(baseOffset, '.log')))
  fsyncDir(dir)
}

/**
 * Finishes or undoes a swap that a crash interrupted (see the top of this file), given the
 * partition directory's listing. Returns the listing afterwards.
 */
export function recoverSegmentSwap(dir: string, files: readonly string[]): string[] {
  let changed = false
  if (files.includes(CLEANED_DIR)) {
    fs.rmSync(path.join(dir, CLEANED_DIR), { recursive: true, force: true })
    changed = true
  }
  for (const file of files) {
    const swap = SWAP_FILE.exec(file)
    if (swap === null) continue
    const base = Number(swap[1])
    const end = Number(swap[2])
    for (const other of files) {
      const seg = SEGMENT_FILE.exec(other)
      if (seg !== null && Number(seg[1]) >= base && Number(seg[1]) < end) {
        fs.rmSync(path.join(dir, other), { force: true })
      }
    }
    fs.renameSync(path.join(dir, file), path.join(dir, segmentFileName(base, '.log')))
    changed = true
  }
  if (!changed) return [...files]
  fsyncDir(dir)
  return fs.readdirSync(dir)
}
