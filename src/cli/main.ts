// The eddy command line: wiring only. Commands live in ./commands, printing in ./output.ts.
// `main` never calls process.exit: it returns the exit code, so it runs in-process in tests.
import path from 'node:path'
import { Command, CommanderError } from 'commander'
import { EddyError, isEddyError } from '../core/errors.js'
import { EventLog } from '../log/event-log.js'
import { register as registerBench } from './commands/bench.js'
import { register as registerBroker } from './commands/broker.js'
import { register as registerConsume } from './commands/consume.js'
import { register as registerProduce } from './commands/produce.js'
import { register as registerRun } from './commands/run.js'
import { register as registerTopics } from './commands/topics.js'
import { register as registerUsers } from './commands/users.js'
import { packageVersion, register as registerVersion } from './commands/version.js'
import { type CliContext, UsageError, type Writer } from './context.js'
import { errorLine } from './output.js'
// Registers the decompressors, so `eddy consume` reads batches Kafka clients compressed.
import '../protocol/compression.js'

export const EXIT_OK = 0
export const EXIT_ERROR = 1
export const EXIT_USAGE = 2

export const DATA_DIR_DEFAULT = './.eddy'

export interface CliIo {
  readonly stdout: Writer
  readonly stderr: Writer
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  readonly stdin: NodeJS.ReadableStream
  /** Stops long-running commands (`consume --follow`); without it they stop on SIGINT/SIGTERM. */
  readonly signal: AbortSignal
  /** An open log to use instead of opening the data directory; the caller keeps it open (tests, embedding). */
  readonly log: EventLog
}

const EXIT_ZERO_CODES = new Set(['commander.helpDisplayed', 'commander.version'])

/** Runs the CLI on `argv` (without node and script) and resolves to the process exit code. */
export async function main(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout
  const stderr = io.stderr ?? process.stderr
  const env = io.env ?? process.env
  const cwd = io.cwd ?? process.cwd()

  const program = new Command()
  let helpWrittenAsError = false
  // The command being parsed, for the `--help` hint of a usage error.
  let commandPath = 'eddy'
  program
    .name('eddy')
    .description('Real-time stream processing with an embedded, Kafka-compatible event log.')
    .version(packageVersion(), '-V, --version', 'print the version of eddy')
    .option('--data-dir <dir>', `data directory (default: $EDDY_DATA_DIR or ${DATA_DIR_DEFAULT})`)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => stdout.write(text),
      // Help shown because of an error (e.g. no command) is replaced by our one-line message.
      writeErr: () => {
        helpWrittenAsError = true
      },
      outputError: () => {},
    })

  const dataDir = () => resolveDataDir(program.opts().dataDir, env, cwd)
  const ctx: CliContext = {
    dataDir,
    withLog: async (use) => {
      if (io.log !== undefined) return use(io.log)
      const log = openLog(dataDir())
      try {
        return await use(log)
      } finally {
        await log.close()
      }
    },
    stdout,
    stderr,
    stdin: io.stdin ?? process.stdin,
    signal: io.signal,
  }
  registerVersion(program, ctx)
  registerTopics(program, ctx)
  registerProduce(program, ctx)
  registerRun(program, ctx)
  registerConsume(program, ctx)
  registerBroker(program, ctx)
  registerUsers(program, ctx)
  registerBench(program, ctx)
  trackCommandPath(program, (sub) => {
    commandPath = `${commandPath} ${sub.name()}`
  })

  try {
    await program.parseAsync([...argv], { from: 'user' })
    return EXIT_OK
  } catch (err) {
    const usageHint = `run \`${commandPath} --help\` for usage`
    if (err instanceof CommanderError) {
      if (EXIT_ZERO_CODES.has(err.code)) return EXIT_OK
      if (err.code === 'commander.help') {
        if (!helpWrittenAsError) return EXIT_OK
        stderr.write(errorLine(`missing command: ${usageHint}`))
        return EXIT_USAGE
      }
      stderr.write(errorLine(`${stripErrorPrefix(err.message)}: ${usageHint}`))
      return EXIT_USAGE
    }
    if (err instanceof UsageError) {
      stderr.write(errorLine(`${err.message}: ${usageHint}`))
      return EXIT_USAGE
    }
    if (isEddyError(err)) {
      stderr.write(errorLine(err.message))
      return EXIT_ERROR
    }
    const message = err instanceof Error ? err.message : String(err)
    stderr.write(errorLine(`unexpected error: ${message} (this is a bug in eddy; please report it)`))
    return EXIT_ERROR
  }
}

/** --data-dir, else $EDDY_DATA_DIR, else ./.eddy; made absolute against `cwd`. */
export function resolveDataDir(
  fromFlag: unknown,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): string {
  const dir =
    typeof fromFlag === 'string' && fromFlag !== '' ? fromFlag : env.EDDY_DATA_DIR || DATA_DIR_DEFAULT
  return path.resolve(cwd, dir)
}

/** Opens the log; a file-system failure (not a directory, no permission…) says which directory. */
function openLog(dir: string): EventLog {
  try {
    return EventLog.open({ dir })
  } catch (err) {
    if (err instanceof EddyError || !(err instanceof Error && 'code' in err)) throw err
    throw new EddyError(
      'IO',
      `cannot open the data directory ${dir} (${err.message}): give a writable directory with --data-dir or $EDDY_DATA_DIR`,
      { cause: err },
    )
  }
}

/** Calls `onEnter` as parsing enters each subcommand, at every level (`eddy topics create`). */
function trackCommandPath(command: Command, onEnter: (sub: Command) => void): void {
  if (command.commands.length === 0) return
  command.hook('preSubcommand', (_parent, sub) => onEnter(sub))
  for (const sub of command.commands) trackCommandPath(sub, onEnter)
}

function stripErrorPrefix(message: string): string {
  return message.replace(/^error:\s*/, '').replace(/\.$/, '')
}
