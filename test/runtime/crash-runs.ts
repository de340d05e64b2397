// What the crash tests share: run the child (eos-child.ts) once, killed with SIGKILL after a
// delay or let finish; and sequences of such runs on one data dir until a run finishes.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { LogRecord } from '../../src/core/record.js'
import type { ProcessingGuarantee } from '../../src/index.js'
import { readTopic, tmpDir } from './harness.js'

const CHILD = fileURLToPath(new URL('./eos-child.ts', import.meta.url))
const COMMIT_INTERVAL_MS = 50
/** Kills land within this share of an uninterrupted run: set-up, restore, processing, commits. */
const KILL_WINDOW_SHARE = 0.9

export type Outputs = Map<string, LogRecord[][]>

/** A pipeline of eos-pipeline.ts, as the crash tests run it. */
export interface CrashPipeline {
  /** eos-child.ts's name for it. */
  readonly name: 'payments' | 'joins'
  /** Writes the input into a fresh data dir. */
  writeInput(dataDir: string): Promise<void>
  readonly outputs: readonly string[]
  /** An output whose committed size shows how far a killed run had got. */
  readonly progressTopic: string
}

export async function outputsOf(dataDir: string, pipeline: CrashPipeline): Promise<Outputs> {
  const out: Outputs = new Map()
  for (const topic of pipeline.outputs) out.set(topic, await readTopic(dataDir, topic))
  return out
}

/**
 * Runs the child once; kills it `killAfterMs` after it says `running` (null: let it finish).
 * Resolves with how it ended and how long it ran from `running`.
 */
export function runChild(
  dataDir: string,
  pipeline: CrashPipeline,
  guarantee: ProcessingGuarantee,
  killAfterMs: number | null,
): Promise<{ end: 'killed' | 'done'; ms: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, dataDir, guarantee, String(COMMIT_INTERVAL_MS), pipeline.name],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    let timer: NodeJS.Timeout | undefined
    let runningAt = 0
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (d: string) => {
      out += d
      if (runningAt === 0 && out.includes('running\n')) {
        runningAt = Date.now()
        if (killAfterMs !== null) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
      }
    })
    child.stderr.on('data', (d: string) => {
      err += d
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const ms = runningAt === 0 ? 0 : Date.now() - runningAt
      if (signal === 'SIGKILL') resolve({ end: 'killed', ms })
      else if (code === 0 && out.includes('done\n')) resolve({ end: 'done', ms })
      else reject(new Error(`child failed (code ${code}, signal ${signal}):\n${out}\n${err.slice(-3000)}`))
    })
  })
}

/**
 * Sequences of rounds, each on a fresh copy of the input: kill and restart until a run finishes,
 * until `kills` kills in all. Returns the outputs of each sequence.
 */
export async function crashRuns(
  pipeline: CrashPipeline,
  guarantee: ProcessingGuarantee,
  kills: number,
  runMs: number,
  rand: () => number,
  log: (line: string) => void,
): Promise<Outputs[]> {
  const results: Outputs[] = []
  let killed = 0
  while (killed < kills) {
    const dataDir = tmpDir(`crash-${pipeline.name}-${guarantee}`)
    await pipeline.writeInput(dataDir)
    const progress: string[] = []
    for (;;) {
      // Past the budget, the run is let finish, so the test ends.
      const kill = killed < kills ? Math.floor(rand() * runMs * KILL_WINDOW_SHARE) : null
      const result = await runChild(dataDir, pipeline, guarantee, kill)
      if (result.end === 'done') break
      killed++
      // How far the committed output had got: kills must land all along the run.
      const committed = (await readTopic(dataDir, pipeline.progressTopic)).flat().length
      progress.push(`${kill} ms → ${committed}`)
    }
    log(
      `${guarantee}: finished after ${progress.length} kill(s) (kill delay → ${pipeline.progressTopic} records committed: ${progress.join(', ') || '-'})`,
    )
    results.push(await outputsOf(dataDir, pipeline))
  }
  return results
}
