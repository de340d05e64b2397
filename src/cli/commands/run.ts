// `eddy run APP.ts`: runs a pipeline file (TypeScript through tsx, no build step) with a live
// status line. The file builds an app and calls `app.run()` (or exports it as default).
import * as fs from 'node:fs'
import * as path from 'node:path'
import { pathToFileURL } from 'node:url'
import { Presets, SingleBar } from 'cli-progress'
import type { Command } from 'commander'
import { EddyError } from '../../core/errors.js'
import type { RunnerStatus } from '../../runtime/app-runner.js'
import { integerArg } from '../args.js'
import { type CliContext, UsageError } from '../context.js'
import { runWorkers, type WorkerStatus } from '../workers.js'

export const STATUS_EVENT = 'eddy:status'
export const RESTORE_EVENT = 'eddy:restore'
export const ASSIGNMENT_EVENT = 'eddy:assignment'

interface RestoreEvent {
  readonly taskId: string
  readonly store: string
  readonly restored: number
  readonly position: number
  readonly total: number
  readonly done: boolean
}

/** Restoring a store from its changelog: a progress bar on a terminal, a line when done. */
function restoreReporter(
  ctx: CliContext,
  bar: boolean,
): { onProgress: (p: RestoreEvent) => void; stop: () => void } {
  let current: { key: string; bar: SingleBar; started: number } | null = null
  const finish = () => {
    current?.bar.stop()
    current = null
  }
  return {
    onProgress: (p) => {
      const key = `${p.taskId}/${p.store}`
      if (bar && current?.key !== key) {
        finish()
        if (!p.done) {
          const b = new SingleBar(
            {
              stream: ctx.stderr as unknown as NodeJS.WritableStream,
              format: `restoring ${p.store} (task ${p.taskId}) [{bar}] {percentage}% {value}/{total} offsets`,
              hideCursor: true,
              clearOnComplete: true,
            },
            Presets.shades_classic,
          )
          b.start(Math.max(1, p.total), p.position)
          current = { key, bar: b, started: Date.now() }
        }
      }
      current?.bar.update(p.position)
      if (p.done) {
        finish()
        if (p.restored > 0)
          ctx.stderr.write(
            `eddy run: restored ${p.store} (task ${p.taskId}): ${p.restored.toLocaleString('en-US')} records\n`,
          )
      }
    },
    stop: finish,
  }
}
/** Emitted once by `App.run` with the URL of its metrics, when it serves them. */
export const METRICS_EVENT = 'eddy:metrics'

interface RunnableApp {
  run(): Promise<void>
  status(): RunnerStatus | null
}

function isRunnable(x: unknown): x is RunnableApp {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as RunnableApp).run === 'function' &&
    typeof (x as RunnableApp).status === 'function'
  )
}

function formatTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : '-'
}

export function statusLine(s: RunnerStatus, perSecondIn: number, perSecondOut: number): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US')
  return `in ${n(s.recordsIn)} (${n(perSecondIn)}/s) · out ${n(s.recordsOut)} (${n(perSecondOut)}/s) · lag ${n(s.lag)} · event time ${formatTime(s.eventTime)} · commits ${n(s.commits)}`
}

interface RunFlags {
  readonly untilIdle?: number
  readonly status: boolean
  readonly metricsPort?: number
  readonly brokers?: string
  readonly instanceId?: string
  readonly workers?: number
  readonly maxRestarts?: number
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('run <app>')
    .description(
      'run a pipeline file (.ts or .js) on the embedded log or a Kafka cluster, with a live status line',
    )
    .option('--until-idle <ms>', 'stop once every input has been idle this long', integerArg(0))
    .option('--no-status', 'do not print the status line')
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics at http://127.0.0.1:PORT/metrics and state queries at /stores (0: any free port)',
      integerArg(0, 65_535),
    )
    .option(
      '--brokers <list>',
      'run on a Kafka cluster (host:port[,host:port…]) instead of the embedded log; instances of one app share its tasks',
    )
    .option(
      '--instance-id <id>',
      'names this instance of the app on Kafka: its transactional id and its state directory',
    )
    .option(
      '--workers <n>',
      'run N worker processes that share the tasks (on the embedded log, through a broker on 127.0.0.1)',
      integerArg(1, 64),
    )
    .option(
      '--max-restarts <n>',
      'with --workers: restart a worker that dies, up to N times in a row (default 5; 0: never)',
      integerArg(0, 1000),
    )
    .action(async (file: string, opts: RunFlags) => {
      const abs = path.resolve(file)
      if (!fs.existsSync(abs)) throw new EddyError('INVALID_ARGUMENT', `no such file: ${file}`)
      if (opts.maxRestarts !== undefined && opts.workers === undefined)
        throw new UsageError('--max-restarts goes with --workers')
      if (opts.workers !== undefined) {
        if (opts.instanceId !== undefined)
          throw new UsageError('--instance-id names one instance: with --workers they are named worker-1…N')
        await runWorkers(ctx, abs, { ...opts, workers: opts.workers })
        return
      }
      process.env.EDDY_DATA_DIR = ctx.dataDir()
      if (opts.untilIdle !== undefined) process.env.EDDY_RUN_UNTIL_IDLE_MS = String(opts.untilIdle)
      if (opts.metricsPort !== undefined) process.env.EDDY_RUN_METRICS_PORT = String(opts.metricsPort)
      if (opts.brokers !== undefined) process.env.EDDY_RUN_BROKERS = opts.brokers
      if (opts.instanceId !== undefined) process.env.EDDY_RUN_INSTANCE_ID = opts.instanceId
      process.env.EDDY_RUN_STATUS = '1'
      // A worker of `eddy run --workers`: its status goes to the command that started it.
      const toSupervisor = process.env.EDDY_RUN_WORKER !== undefined && process.send !== undefined
      const tty = (ctx.stderr as { isTTY?: boolean }).isTTY === true
      let last: { at: number; in: number; out: number } | null = null
      let latest: RunnerStatus | null = null
      const onStatus = (s: RunnerStatus) => {
        latest = s
        const now = Date.now()
        const dt = last === null ? 1 : Math.max(0.001, (now - last.at) / 1000)
        const rateIn = last === null ? 0 : (s.recordsIn - last.in) / dt
        const rateOut = last === null ? 0 : (s.recordsOut - last.out) / dt
        last = { at: now, in: s.recordsIn, out: s.recordsOut }
        if (toSupervisor) {
          const report: WorkerStatus = {
            type: 'status',
            recordsIn: s.recordsIn,
            recordsOut: s.recordsOut,
            lag: s.lag,
            commits: s.commits,
            eventTime: s.eventTime,
            tasks: s.tasks.length,
            standbyTasks: s.standbyTasks.length,
            generation: s.generation,
          }
          process.send?.(report)
        }
        if (opts.status && tty) ctx.stderr.write(`\r\x1b[2K${statusLine(s, rateIn, rateOut)}`)
      }
      const onMetrics = (url: string) =>
        ctx.stderr.write(`eddy run: metrics at ${url}, state at ${url.replace(/\/metrics$/, '/stores')}\n`)
      // On Kafka, each rebalance: which tasks this instance runs now.
      const onAssignment = (a: { generation: number; active: string[]; standby: string[] }) => {
        if (a.generation < 0) return
        const standby = a.standby.length === 0 ? '' : `; standby ${a.standby.join(' ')}`
        ctx.stderr.write(
          `${tty ? '\r\x1b[2K' : ''}eddy run: generation ${a.generation}: tasks ${a.active.join(' ') || 'none'}${standby}\n`,
        )
      }
      const restore = restoreReporter(ctx, tty && opts.status)
      ;(process as NodeJS.EventEmitter).on(RESTORE_EVENT, restore.onProgress)
      ;(process as NodeJS.EventEmitter).on(STATUS_EVENT, onStatus)
      ;(process as NodeJS.EventEmitter).once(METRICS_EVENT, onMetrics)
      ;(process as NodeJS.EventEmitter).on(ASSIGNMENT_EVENT, onAssignment)
      const { register: registerTsx } = await import('tsx/esm/api')
      const unregister = registerTsx()
      try {
        const mod = (await import(pathToFileURL(abs).href)) as { default?: unknown }
        // A file that exports its app without running it: run it here.
        if (isRunnable(mod.default) && latest === null) await mod.default.run()
      } finally {
        await unregister()
        ;(process as NodeJS.EventEmitter).off(RESTORE_EVENT, restore.onProgress)
        restore.stop()
        ;(process as NodeJS.EventEmitter).off(STATUS_EVENT, onStatus)
        ;(process as NodeJS.EventEmitter).off(METRICS_EVENT, onMetrics)
        ;(process as NodeJS.EventEmitter).off(ASSIGNMENT_EVENT, onAssignment)
      }
      if (opts.status) {
        const s = latest as RunnerStatus | null
        if (tty) ctx.stderr.write('\r\x1b[2K')
        if (s !== null)
          ctx.stderr.write(`eddy run: stopped; ${statusLine(s, 0, 0).replace(/ \(0\/s\)/g, '')}\n`)
      }
    })
}
