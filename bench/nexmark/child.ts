// One measured run of one system on one Nexmark query, in its own process (so each system has
// a fresh heap and JIT, and its own peak memory). Prints one JSON line.
//   node --import tsx bench/nexmark/child.ts --system eddy|eddy-log|loop|rxjs|kafkats|kafka-streams \
//     --query q5 --events 1000000 [--rate N] [--generators N]
import { DEFAULT_GENERATORS, DEFAULT_RATE, NexmarkGenerator } from '../../src/bench/nexmark/generator.js'
import { QUERIES } from '../../src/bench/nexmark/queries.js'
import { runInMemory, runNexmark, Tally } from '../../src/bench/nexmark/run.js'
import { PEERS } from './systems.js'

/** What a child prints. */
export interface ChildResult {
  readonly system: string
  readonly query: string
  readonly events: number
  readonly eventsPerSecond: number
  readonly wallMs: number
  readonly cpuMs: number
  readonly peakRssBytes: number
  readonly outputs: number
  readonly rows: number
  readonly checksum: number
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

async function main(): Promise<void> {
  const system = arg('system') ?? 'eddy'
  const queryName = arg('query') ?? 'q0'
  const events = Number(arg('events') ?? 1_000_000)
  const gen = new NexmarkGenerator({
    rate: Number(arg('rate') ?? DEFAULT_RATE),
    generators: Number(arg('generators') ?? DEFAULT_GENERATORS),
  })
  const query = QUERIES[queryName]
  if (query === undefined) throw new Error(`no query ${queryName}`)
  let out: ChildResult
  if (system === 'eddy') {
    const r = runInMemory(query, gen, events)
    out = { system, ...r }
  } else if (system === 'eddy-log') {
    const r = await runNexmark({
      query: queryName,
      events,
      mode: 'log',
      rate: gen.rate,
      generators: gen.generators,
    })
    out = { system, ...r }
  } else {
    const run = PEERS[system]?.[queryName]
    if (run === undefined) throw new Error(`${system} does not run ${queryName}`)
    const tally = new Tally(query)
    const sink = (v: unknown) => tally.add(v)
    const cpu = process.cpuUsage()
    const start = performance.now()
    await run(gen, events, sink)
    const wallMs = performance.now() - start
    const c = process.cpuUsage(cpu)
    out = {
      system,
      query: queryName,
      events,
      eventsPerSecond: events / (wallMs / 1000),
      wallMs,
      cpuMs: (c.user + c.system) / 1000,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      outputs: tally.n,
      rows: tally.rows,
      checksum: tally.sum,
    }
  }
  process.stdout.write(`${JSON.stringify(out)}\n`)
}

await main()
