// `eddy run APP.ts --workers N`: N worker processes run the same app and share its tasks through
// the app's consumer group, so one machine uses all its cores. On the embedded log the command
// serves the log over Eddy's broker on 127.0.0.1 (any free port) and the workers connect to it;
// with --brokers they connect to that cluster. Each worker is `eddy run` itself, with instance id
// worker-<i> (a stable transactional id, and its own state directory).
//
// A worker that dies (a crash, an OOM kill, kill -9) is started again under the same instance id,
// as a process supervisor would: its transactional id fences what the dead one left open, and it
// finds its state directory where it was. Restarts back off (1 s, doubling to 30 s); after
// `maxRestarts` in a row, each within a minute of its start, the command gives up and fails.
import { type ChildProcess, fork } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Broker } from '../broker/broker.js'
import { GroupCoordinator } from '../broker/group-coordinator.js'
import { EddyError } from '../core/errors.js'
import type { CliContext } from './context.js'

/** What a worker reports to the command about once a second (over its IPC channel). */
export interface WorkerStatus {
  readonly type: 'status'
  readonly recordsIn: number
  readonly recordsOut: number
  readonly lag: number
  readonly commits: number
  readonly eventTime: number
  readonly tasks: number
  readonly standbyTasks: number
  readonly generation: number
}

export interface WorkersOptions {
  readonly workers: number
  readonly brokers?: string
  readonly untilIdle?: number
  readonly metricsPort?: number
  readonly status: boolean
  /** Restarts of a worker that keeps dying before the command gives up (default 5; 0: none). */
  readonly maxRestarts?: number
}

const DEFAULT_MAX_RESTARTS = 5
const RESTART_BACKOFF_FIRST_MS = 1000
const RESTART_BACKOFF_MAX_MS = 30_000
/** A worker that ran this long before it died starts its restart count over. */
const RESTART_RESET_AFTER_MS = 60_000

const EDDY_BIN = fileURLToPath(new URL('../../bin/eddy', import.meta.url))
/** How often the workers' broker looks for transactions past their timeout. */
const TRANSACTION_CHECK_MS = 1000

export async function runWorkers(ctx: CliContext, file: string, opts: WorkersOptions): Promise<void> {
  if (opts.brokers !== undefined) {
    await superviseWorkers(ctx, file, opts, opts.brokers)
    return
  }
  await ctx.withLog(async (log) => {
    // The workers start together: wait a moment for all of them before the first assignment,
    // rather than Kafka's 3 s (group.initial.rebalance.delay.ms) or a rebalance per worker.
    // Sessions from 1 s: the workers are local, a short session moves a dead one's tasks sooner.
    // For the same reason a dead worker's open transaction is aborted within a second of its
    // timeout, rather than Kafka's 10 s check interval (until then it hides the others' output).
    const groups = new GroupCoordinator({ initialRebalanceDelayMs: 300, sessionTimeoutMsMin: 1000 })
    const broker = await Broker.start({
      log,
      host: '127.0.0.1',
      port: 0,
      groups,
      transactionCheckIntervalMs: TRANSACTION_CHECK_MS,
    })
    ctx.stderr.write(
      `eddy run: ${opts.workers} workers share the embedded log through 127.0.0.1:${broker.port}\n`,
    )
    try {
      await superviseWorkers(ctx, file, opts, `127.0.0.1:${broker.port}`)
    } finally {
      await broker.close()
      groups.close()
    }
  })
}

/** One worker's place: the process running now and how often it has been restarted in a row. */
interface WorkerSlot {
  readonly index: number
  child: ChildProcess | null
  startedAt: number
  restarts: number
}

async function superviseWorkers(
  ctx: CliContext,
  file: string,
  opts: WorkersOptions,
  brokers: string,
): Promise<void> {
  const latest = new Map<number, WorkerStatus>()
  /** Counters of worker processes that are gone, so the totals do not drop when one restarts. */
  const retired = { recordsIn: 0, recordsOut: 0, commits: 0 }
  const maxRestarts = opts.maxRestarts ?? DEFAULT_MAX_RESTARTS
  let stopping = false
  const slots: WorkerSlot[] = []
  /** Restarts waiting out their backoff, each with what ends its slot if the command stops first. */
  const pendingRestarts = new Map<NodeJS.Timeout, () => void>()

  const argsOf = (i: number): string[] => {
    const args = [
      '--data-dir',
      ctx.dataDir(),
      'run',
      file,
      '--brokers',
      brokers,
      '--instance-id',
      `worker-${i}`,
    ]
    args.push('--no-status')
    if (opts.untilIdle !== undefined) args.push('--until-idle', String(opts.untilIdle))
    if (opts.metricsPort !== undefined)
      args.push('--metrics-port', String(opts.metricsPort === 0 ? 0 : opts.metricsPort + i - 1))
    return args
  }

  /** Runs slot `slot` until one of its processes exits 0, or it fails for good; resolves to that exit code. */
  const runSlot = (slot: WorkerSlot): Promise<number> =>
    new Promise((resolve) => {
      const start = (): void => {
        const i = slot.index
        const child = fork(EDDY_BIN, argsOf(i), {
          stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
          env: { ...process.env, EDDY_RUN_WORKER: String(i) },
        })
        slot.child = child
        slot.startedAt = Date.now()
        createInterface({ input: child.stderr! }).on('line', (line) =>
          ctx.stderr.write(`[worker ${i}] ${line}\n`),
        )
        child.on('message', (m: WorkerStatus) => {
          // A report that comes after its process has exited is old news (its counters are retired).
          if (m?.type === 'status' && slot.child === child) latest.set(i, m)
        })
        child.once('exit', (code, signal) => {
          slot.child = null
          // A worker that is gone runs no tasks and holds no lag: its last status would say it does.
          const last = latest.get(i)
          if (last !== undefined) {
            retired.recordsIn += last.recordsIn
            retired.recordsOut += last.recordsOut
            retired.commits += last.commits
            latest.set(i, {
              ...last,
              recordsIn: 0,
              recordsOut: 0,
              commits: 0,
              lag: 0,
              tasks: 0,
              standbyTasks: 0,
            })
          }
          const exitCode = code ?? (signal ? 1 : 0)
          if (exitCode === 0 || stopping) {
            resolve(exitCode)
            return
          }
          if (Date.now() - slot.startedAt >= RESTART_RESET_AFTER_MS) slot.restarts = 0
          const how = signal ? `was killed (${signal})` : `exited with code ${code}`
          if (slot.restarts >= maxRestarts) {
            ctx.stderr.write(
              `eddy run: worker ${i} ${how}; not restarted (${maxRestarts === 0 ? 'restarts are off' : `it failed ${slot.restarts + 1} times in a row`}: --max-restarts)\n`,
            )
            resolve(exitCode)
            return
          }
          const delayMs = Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_FIRST_MS * 2 ** slot.restarts)
          slot.restarts++
          ctx.stderr.write(
            `eddy run: worker ${i} ${how}; restarting it in ${delayMs / 1000} s (restart ${slot.restarts} of at most ${maxRestarts} in a row)\n`,
          )
          const timer = setTimeout(() => {
            pendingRestarts.delete(timer)
            start()
          }, delayMs)
          pendingRestarts.set(timer, () => resolve(exitCode))
        })
      }
      start()
    })

  const exits: Promise<number>[] = []
  for (let i = 1; i <= opts.workers; i++) {
    const slot: WorkerSlot = { index: i, child: null, startedAt: 0, restarts: 0 }
    slots.push(slot)
    exits.push(runSlot(slot))
  }
  // Stopping the command stops every worker, each with its final commit.
  const stop = () => {
    stopping = true
    for (const [t, giveUp] of pendingRestarts) {
      clearTimeout(t)
      giveUp()
    }
    pendingRestarts.clear()
    for (const { child } of slots) if (child !== null && child.exitCode === null) child.kill('SIGTERM')
  }
  ctx.signal?.addEventListener('abort', stop, { once: true })
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  const tty = (ctx.stderr as { isTTY?: boolean }).isTTY === true
  const timer =
    opts.status && tty
      ? setInterval(() => ctx.stderr.write(`\r\x1b[2K${summary(latest, retired, opts.workers)}`), 1000)
      : null
  try {
    const codes = await Promise.all(exits)
    const failed = codes.filter((c) => c !== 0).length
    if (timer !== null) ctx.stderr.write('\r\x1b[2K')
    if (opts.status) ctx.stderr.write(`eddy run: stopped; ${summary(latest, retired, opts.workers)}\n`)
    if (failed > 0) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `${failed} of ${opts.workers} workers failed (their errors are above, marked [worker N])`,
      )
    }
  } finally {
    if (timer !== null) clearInterval(timer)
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    ctx.signal?.removeEventListener('abort', stop)
  }
}

function summary(
  latest: ReadonlyMap<number, WorkerStatus>,
  retired: { readonly recordsIn: number; readonly recordsOut: number; readonly commits: number },
  workers: number,
): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US')
  let { recordsIn, recordsOut, commits } = retired
  let lag = 0
  for (const s of latest.values()) {
    recordsIn += s.recordsIn
    recordsOut += s.recordsOut
    lag += s.lag
    commits += s.commits
  }
  const tasks = [...latest.entries()].map(([i, s]) => `${i}:${s.tasks}`).join(' ')
  return `workers ${workers} (tasks ${tasks || '-'}) · in ${n(recordsIn)} · out ${n(recordsOut)} · lag ${n(lag)} · commits ${n(commits)}`
}
