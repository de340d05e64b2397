// `eddy bench nexmark`: one Nexmark query over generated events, in memory or through the log,
// with its throughput, wall and CPU time and peak memory.
import { type Command, InvalidArgumentError } from 'commander'
import { QUERIES } from '../../bench/nexmark/queries.js'
import { type NexmarkMode, type NexmarkResult, runNexmark } from '../../bench/nexmark/run.js'
import { integerArg } from '../args.js'
import type { CliContext } from '../context.js'
import { printJsonLine } from '../output.js'

function modeArg(text: string): NexmarkMode {
  if (text === 'memory' || text === 'log') return text
  throw new InvalidArgumentError(`expected memory or log, got '${text}'.`)
}

const n = (x: number) => Math.round(x).toLocaleString('en-US')

function describe(r: NexmarkResult): string {
  const how =
    r.mode === 'memory'
      ? 'generator → query → discarding sink, in process'
      : 'read from the embedded log, results written back, exactly-once'
  return [
    `nexmark ${r.query} (${r.mode}: ${how})`,
    `  events       ${n(r.events)} (${r.generators} generators, ${n(r.rate)} events/s of event time)`,
    `  events/s     ${n(r.eventsPerSecond)}`,
    `  wall time    ${n(r.wallMs)} ms`,
    `  CPU time     ${n(r.cpuMs)} ms`,
    `  peak memory  ${n(r.peakRssBytes / 1024 / 1024)} MiB (resident)`,
    `  outputs      ${n(r.outputs)}`,
    '',
  ].join('\n')
}

export function register(program: Command, ctx: CliContext): void {
  const bench = program.command('bench').description('run benchmarks of the stream processor')
  bench
    .command('nexmark')
    .description(
      `run a Nexmark query (${Object.keys(QUERIES).join(', ')}) over generated auction events and report its throughput`,
    )
    .requiredOption('--query <q>', 'the query, e.g. q5')
    .requiredOption('--events <n>', 'how many events to generate', integerArg(1))
    .option(
      '--generators <n>',
      'generators sharing the event timeline (sets event-time density; in log mode also the input partitions)',
      integerArg(1, 1024),
      8,
    )
    .option('--rate <n>', 'events per second of event time', integerArg(1), 10_000_000)
    .option(
      '--mode <mode>',
      'memory (in process, no log) or log (embedded log in a temporary directory, exactly-once)',
      modeArg,
      'memory' as NexmarkMode,
    )
    .option('--json', 'print one JSON object')
    .action(
      async (opts: {
        query: string
        events: number
        generators: number
        rate: number
        mode: NexmarkMode
        json?: boolean
      }) => {
        const r = await runNexmark({
          query: opts.query,
          events: opts.events,
          generators: opts.generators,
          rate: opts.rate,
          mode: opts.mode,
        })
        if (opts.json) printJsonLine(ctx.stdout, r)
        else ctx.stdout.write(describe(r))
      },
    )
}
