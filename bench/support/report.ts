// What every benchmark does with its figures: medians, and its section of docs/benchmarks.md
// replaced (or added) by the newest run.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

export const BENCHMARKS_DOC = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url))

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Replaces the section that starts with `heading` (up to the next `## `) with `section`, or appends it. */
export function writeDocsSection(heading: string, section: string, file = BENCHMARKS_DOC): void {
  let doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n'
  const start = doc.indexOf(heading)
  if (start >= 0) {
    const next = doc.indexOf('\n## ', start + heading.length)
    doc = doc.slice(0, start) + section + (next >= 0 ? doc.slice(next + 1) : '')
  } else {
    doc = `${doc.trimEnd()}\n\n${section}`
  }
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, doc.endsWith('\n') ? doc : `${doc}\n`)
}
