import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import type { CliContext } from '../context.js'

/** The version in package.json; the same relative path from src/cli/commands and dist/cli/commands. */
export function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'))
  const version = (pkg as { version?: unknown }).version
  return typeof version === 'string' ? version : 'unknown'
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('version')
    .description('print the version of eddy')
    .action(() => {
      ctx.stdout.write(`${packageVersion()}\n`)
    })
}
