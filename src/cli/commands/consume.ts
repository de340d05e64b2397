import type { Command } from 'commander'
import type { CliContext } from '../context.js'

// TODO: `eddy consume TOPIC` (records to stdout), over the embedded log in ctx.dataDir().
export function register(_program: Command, _ctx: CliContext): void {}
