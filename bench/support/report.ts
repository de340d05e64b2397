// What every benchmark does with its figures: medians, and its section of docs/benchmarks.md
// replaced (or added) by the newest run.
import * as fs from 'node:fs'
import * as os from 'node:os'
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

/**
 * The line under a section's heading: the date, Node, the CPU, the OS, where the data went, how
 * long the run took and how loaded the machine was (other work skews every row).
 */
export function runLine(o: {
  readonly quick: boolean
  readonly seconds: number
  readonly loadAtStart: number
  /** What --quick changes, when more than its name says. */
  readonly quickNote?: string
  /** Said after the CPU count (e.g. that the machine is shared). */
  readonly cpuNote?: string
  /** Whether the bench writes data to disk (then the temp dir is named). */
  readonly dataOnDisk?: boolean
}): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  const load = `load average ${o.loadAtStart.toFixed(1)} at start, ${os.loadavg()[0]!.toFixed(1)} at end`
  return [
    `Run ${new Date().toISOString().slice(0, 10)}${o.quick ? (o.quickNote ?? ' (--quick)') : ''}`,
    `Node ${process.version}`,
    `${cpu} × ${os.cpus().length}${o.cpuNote ?? ''}`,
    `${os.platform()} ${os.release()}`,
    ...(o.dataOnDisk === false ? [] : [`data in ${os.tmpdir()}`]),
    `${o.seconds.toFixed(0)} s`,
    load,
  ].join(' · ')
}

/** Writes a bench's section into docs/benchmarks.md and prints its table with where it went. */
export function publishSection(heading: string, section: string, text: string, seconds: number): void {
  writeDocsSection(heading, section)
  process.stdout.write(
    `${text}\n\n(${seconds.toFixed(0)} s; written to ${path.relative(process.cwd(), BENCHMARKS_DOC)})\n`,
  )
}
