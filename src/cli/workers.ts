// `eddy run APP.ts --workers N`: N worker processes run the same app and share its tasks through
// the app's consumer group, so one machine uses all its cores. On the embedded log the command
// serves the log over Eddy's broker on 127.0.0.1 (any free port) and the workers connect to it;
// with --brokers they connect to that cluster. Each worker is `eddy run` itself, with instance id
// worker-<i> (a stable transactional id, and its own state directory).
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
}

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

async function superviseWorkers(
  ctx: CliContext,
  file: string,
  opts: WorkersOptions,
  brokers: string,
): Promise<void> {
  const latest = new Map<number, WorkerStatus>()
  const children: ChildProcess[] = []
  const exits: Promise<number>[] = []
  for (let i = 1; i <= opts.workers; i++) {
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
    const child = fork(EDDY_BIN, args, {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, EDDY_RUN_WORKER: String(i) },
    })
    children.push(child)
    createInterface({ input: child.stderr! }).on('line', (line) =>
      ctx.stderr.write(`[worker ${i}] ${line}\n`),
    )
    child.on('message', (m: WorkerStatus) => {
      if (m?.type === 'status') latest.set(i, m)
    })
    exits.push(
      new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          // A worker that is gone runs no tasks and holds no lag: its last status would say it does.
          const last = latest.get(i)
          if (last !== undefined) latest.set(i, { ...last, lag: 0, tasks: 0, standbyTasks: 0 })
          resolve(code ?? (signal ? 1 : 0))
        }),
      ),
    )
  }
  // Stopping the command stops every worker, each with its final commit.
  const stop = () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM')
  }
  ctx.signal?.addEventListener('abort', stop, { once: true })
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  const tty = (ctx.stderr as { isTTY?: boolean }).isTTY === true
  const timer =
    opts.status && tty
      ? setInterval(() => ctx.stderr.write(`\r\x1b[2K${summary(latest, opts.workers)}`), 1000)
      : null
  try {
    const codes = await Promise.all(exits)
    const failed = codes.filter((c) => c !== 0).length
    if (timer !== null) ctx.stderr.write('\r\x1b[2K')
    if (opts.status) ctx.stderr.write(`eddy run: stopped; ${summary(latest, opts.workers)}\n`)
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

function summary(latest: ReadonlyMap<number, WorkerStatus>, workers: number): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US')
  let recordsIn = 0
  let recordsOut = 0
  let lag = 0
  let commits = 0
  for (const s of latest.values()) {
    recordsIn += s.recordsIn
    recordsOut += s.recordsOut
    lag += s.lag
    commits += s.commits
  }
  const tasks = [...latest.entries()].map(([i, s]) => `${i}:${s.tasks}`).join(' ')
  return `workers ${workers} (tasks ${tasks || '-'}) · in ${n(recordsIn)} · out ${n(recordsOut)} · lag ${n(lag)} · commits ${n(commits)}`
}
