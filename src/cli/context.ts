import type { EventLog } from '../log/event-log.js'

/** Where a command writes: process.stdout/stderr when run, collectors in tests. */
export interface Writer {
  write(text: string): void
}

/** What every command gets besides its parsed arguments. */
export interface CliContext {
  /** The data directory: --data-dir, else $EDDY_DATA_DIR, else ./.eddy; absolute. */
  dataDir(): string
  /** Runs `use` over the log in the data directory, opened for it and closed after it. */
  withLog<T>(use: (log: EventLog) => Promise<T>): Promise<T>
  readonly stdout: Writer
  readonly stderr: Writer
  /** Where `eddy produce` reads records when no --file is given. */
  readonly stdin: NodeJS.ReadableStream
  /** Aborts when long-running commands (`consume --follow`) should stop: SIGINT/SIGTERM when run. */
  readonly signal: AbortSignal | undefined
}

/** A command line that parses but makes no sense (a bad flag value…): exit code 2, not 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}
