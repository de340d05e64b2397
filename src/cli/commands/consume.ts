// `eddy consume TOPIC`: prints records as JSON lines, from every partition (or one), merged.
import { type Command, Option } from 'commander'
import type { LogRecord } from '../../core/record.js'
import type { EventLog } from '../../log/event-log.js'
import type { IsolationLevel } from '../../log/types.js'
import { checkPartitionFlag, integerArg } from '../args.js'
import type { CliContext } from '../context.js'
import { mergeByTimestamp } from '../merge-by-timestamp.js'
import { drained, printJsonLine } from '../output.js'
import { recordJson } from '../record-json.js'
import { parseStartPosition, type StartPosition } from '../start-position.js'

/** How long one long poll waits for new records (--follow); a stop signal ends it at once. */
const POLL_WAIT_MS = 10_000
/** Bytes fetched per partition per round. */
const FETCH_BYTES_MAX = 1024 * 1024
/** --group: offsets are committed at least this often while records flow, and at exit. */
const COMMIT_INTERVAL_MS = 5_000

interface ConsumeOptions {
  readonly from?: StartPosition
  readonly group?: string
  readonly max?: number
  readonly follow?: boolean
  readonly isolation: IsolationLevel
  readonly partition?: number
}

interface Cursor {
  readonly partition: number
  /** The next offset to fetch. */
  position: number
  /** Stop before this offset (the end of the log at start); Infinity with --follow. */
  readonly end: number
  /** The offset after the last record printed (or skipped as a marker or aborted record). */
  consumed: number
  /** What the group has committed; -1 for none. */
  committed: number
}

/** Aborts on the context's signal, or else on SIGINT/SIGTERM while the command runs. */
function stopSignal(ctx: CliContext): { signal: AbortSignal; dispose(): void } {
  if (ctx.signal !== undefined) return { signal: ctx.signal, dispose: () => {} }
  const controller = new AbortController()
  const stop = () => controller.abort()
  // `once`: a second Ctrl-C, should the clean stop hang, kills the process as usual.
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    },
  }
}

/** Where a partition starts: --from, else the group's committed offset, else the earliest. */
function startOffset(
  log: EventLog,
  topic: string,
  partition: number,
  from: StartPosition | undefined,
  committed: number,
  isolation: IsolationLevel,
): number {
  const earliest = log.earliestOffset(topic, partition)
  const clamp = (offset: number) => Math.min(Math.max(offset, earliest), log.latestOffset(topic, partition))
  if (from === undefined) return committed >= 0 ? clamp(committed) : earliest
  switch (from.kind) {
    case 'earliest':
      return earliest
    case 'latest':
      return log.latestOffset(topic, partition, isolation)
    case 'offset':
      return clamp(from.offset)
    case 'timestamp':
      return log.offsetForTimestamp(topic, partition, from.timestampMs)
  }
}

async function consume(ctx: CliContext, topic: string, opts: ConsumeOptions): Promise<void> {
  const stop = stopSignal(ctx)
  try {
    await ctx.withLog(async (log) => {
      const count = log.partitionCount(topic)
      if (opts.partition !== undefined) checkPartitionFlag(topic, opts.partition, count)
      const partitions = opts.partition !== undefined ? [opts.partition] : [...Array(count).keys()]
      const group = opts.group
      const committed = new Map<number, number>()
      if (group !== undefined) {
        for (const o of log.groups.fetch(group, [topic])) committed.set(o.partition, o.offset)
      }
      const cursors: Cursor[] = partitions.map((partition) => {
        const start = startOffset(
          log,
          topic,
          partition,
          opts.from,
          committed.get(partition) ?? -1,
          opts.isolation,
        )
        const end = opts.follow
          ? Number.POSITIVE_INFINITY
          : log.latestOffset(topic, partition, opts.isolation)
        return { partition, position: start, end, consumed: start, committed: committed.get(partition) ?? -1 }
      })
      const commit = async () => {
        const changed = cursors.filter((c) => c.consumed !== c.committed)
        if (group === undefined || changed.length === 0) return
        await log.groups.commit(
          group,
          changed.map((c) => ({ topic, partition: c.partition, offset: c.consumed })),
        )
        for (const c of changed) c.committed = c.consumed
      }
      let ok = false
      try {
        await readLoop(ctx, log, topic, cursors, opts, stop.signal, group !== undefined ? commit : null)
        ok = true
      } finally {
        // The offsets of what was printed, even when stopping on an error; that error wins.
        await commit().catch((err: unknown) => {
          if (ok) throw err
        })
      }
    })
  } finally {
    stop.dispose()
  }
}

async function readLoop(
  ctx: CliContext,
  log: EventLog,
  topic: string,
  cursors: readonly Cursor[],
  opts: ConsumeOptions,
  stop: AbortSignal,
  commit: (() => Promise<void>) | null,
): Promise<void> {
  let remaining = opts.max ?? Number.POSITIVE_INFINITY
  let lastCommitMs = Date.now()
  while (!stop.aborted && remaining > 0) {
    const active = cursors.filter((c) => c.position < c.end)
    if (active.length === 0) return
    for (const c of active) {
      // Retention may have deleted what we were about to read: go on from the earliest left.
      c.position = Math.max(c.position, log.earliestOffset(topic, c.partition))
    }
    const caughtUp = active.every((c) => c.position >= log.latestOffset(topic, c.partition, opts.isolation))
    const fetched = await fetchRound(
      log,
      topic,
      active,
      opts.isolation,
      opts.follow && caughtUp ? POLL_WAIT_MS : 0,
      stop,
    )

    const lists = active.map((c, i) => {
      const { records, nextOffset } = fetched[i]!
      c.position = Math.min(nextOffset, c.end)
      return records.filter((r) => r.offset < c.end)
    })
    const byPartition = new Map(active.map((c) => [c.partition, c]))
    const merged = mergeByTimestamp(lists)
    const printed = merged.slice(0, Math.min(merged.length, remaining))
    for (const r of printed) {
      printJsonLine(ctx.stdout, recordJson(r))
      byPartition.get(r.partition)!.consumed = r.offset + 1
    }
    remaining -= printed.length
    if (printed.length === merged.length) for (const c of active) c.consumed = c.position
    if (!(await drained(ctx.stdout))) return
    if (commit !== null && Date.now() - lastCommitMs >= COMMIT_INTERVAL_MS) {
      await commit()
      lastCommitMs = Date.now()
    }
  }
}

/**
 * One fetch per partition, together. With a wait, the first partition that gets data (or the
 * stop signal) ends the others' waits, so new records print at once.
 */
async function fetchRound(
  log: EventLog,
  topic: string,
  cursors: readonly Cursor[],
  isolation: IsolationLevel,
  maxWaitMs: number,
  stop: AbortSignal,
): Promise<{ records: LogRecord[]; nextOffset: number }[]> {
  const round = new AbortController()
  const endRound = () => round.abort()
  stop.addEventListener('abort', endRound)
  try {
    return await Promise.all(
      cursors.map(async (c) => {
        const result = await log.read(topic, c.partition, c.position, {
          isolation,
          maxBytes: FETCH_BYTES_MAX,
          maxWaitMs,
          signal: round.signal,
        })
        if (result.nextOffset > c.position) round.abort()
        return result
      }),
    )
  } finally {
    stop.removeEventListener('abort', endRound)
  }
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('consume')
    .description('print records as JSON lines, from every partition (or --partition), merged by timestamp')
    .argument('<topic>', 'topic to read')
    .option(
      '--from <position>',
      "earliest, latest, an offset, or an ISO-8601 time (default: the group's committed offset, else earliest)",
      parseStartPosition,
    )
    .option(
      '--group <group>',
      'start from the offsets this consumer group committed, and commit what is printed',
    )
    .option('--max <n>', 'stop after printing this many records', integerArg(1))
    .option('--follow', 'keep waiting for new records until interrupted (SIGINT/SIGTERM)')
    .addOption(
      new Option('--isolation <level>', 'read_committed skips open and aborted transactions')
        .choices(['read_uncommitted', 'read_committed'])
        .default('read_uncommitted'),
    )
    .option('--partition <p>', 'read only this partition', integerArg(0))
    .action(async (topic: string, opts: ConsumeOptions) => consume(ctx, topic, opts))
}
