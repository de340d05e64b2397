/** Where a command writes: process.stdout/stderr when run, collectors in tests. */
export interface Writer {
  write(text: string): void
}

/** What every command gets besides its parsed arguments. */
export interface CliContext {
  /** The data directory: --data-dir, else $EDDY_DATA_DIR, else ./.eddy; absolute. */
  dataDir(): string
  readonly stdout: Writer
  readonly stderr: Writer
}

/** A command line that parses but makes no sense (a bad flag value…): exit code 2, not 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}
