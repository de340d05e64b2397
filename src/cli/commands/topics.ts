// `eddy topics list|create|describe|delete`: topic administration over the embedded log.
import type { Command } from 'commander'
import { limits } from '../../core/limits.js'
import type { TopicConfig } from '../../log/types.js'
import { integerArg } from '../args.js'
import type { CliContext } from '../context.js'
import { printJson, printTable } from '../output.js'

interface CreateOptions {
  readonly partitions?: number
  readonly compact?: boolean
  readonly retentionMs?: number
  readonly retentionBytes?: number
}

/** Kafka's convention: -1 means "no limit" (kept forever, or no size bound). */
function limitOrNone(value: number): number | null {
  return value === -1 ? null : value
}

export function register(program: Command, ctx: CliContext): void {
  const topics = program.command('topics').description('create, list, describe and delete topics')

  topics
    .command('create')
    .description('create a topic')
    .argument('<name>', 'topic name: letters, digits, . _ and -')
    .option('--partitions <n>', 'number of partitions (default: 1)', integerArg(1, limits.partitionsMax))
    .option('--compact', 'keep only the latest record per key (a compacted topic)')
    .option('--retention-ms <ms>', 'delete segments older than this; -1 keeps them forever', integerArg(-1))
    .option(
      '--retention-bytes <bytes>',
      'delete the oldest segments past this size per partition; -1: no limit',
      integerArg(-1),
    )
    .action(async (name: string, opts: CreateOptions) => {
      const config: Partial<TopicConfig> = {
        ...(opts.partitions !== undefined ? { partitions: opts.partitions } : {}),
        ...(opts.compact ? { compact: true } : {}),
        ...(opts.retentionMs !== undefined ? { retentionMs: limitOrNone(opts.retentionMs) } : {}),
        ...(opts.retentionBytes !== undefined ? { retentionBytes: limitOrNone(opts.retentionBytes) } : {}),
      }
      const created = await ctx.withLog(async (log) => log.createTopic(name, config))
      ctx.stdout.write(`created topic ${created.name} with ${created.partitions.length} partition(s)\n`)
    })

  topics
    .command('list')
    .description('list topics, one name per line')
    .option('--json', 'print a JSON array of {name, partitions, compact, internal}')
    .option('--internal', 'include internal topics (consumer offsets, transaction state)')
    .action(async (opts: { json?: boolean; internal?: boolean }) => {
      const described = await ctx.withLog(async (log) =>
        log.listTopics({ internal: opts.internal === true }).map((name) => log.describeTopic(name)),
      )
      if (opts.json) {
        const rows = described.map((t) => ({
          name: t.name,
          partitions: t.partitions.length,
          compact: t.config.compact,
          internal: t.config.internal,
        }))
        printJson(ctx.stdout, rows)
      } else {
        for (const t of described) ctx.stdout.write(`${t.name}\n`)
      }
    })

  topics
    .command('describe')
    .description("show a topic's config and each partition's offsets and size")
    .argument('<name>', 'topic name')
    .option('--json', 'print the topic description as JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const topic = await ctx.withLog(async (log) => log.describeTopic(name))
      if (opts.json) {
        printJson(ctx.stdout, topic)
        return
      }
      const c = topic.config
      const none = (value: number | null, meaning: string) =>
        value === null ? `none (${meaning})` : String(value)
      const configLines: [string, string][] = [
        ['partitions', String(c.partitions)],
        ['compact', String(c.compact)],
        ['retention ms', none(c.retentionMs, 'kept forever')],
        ['retention bytes', none(c.retentionBytes, 'no limit')],
        ['segment bytes', String(c.segmentBytes)],
        ['segment ms', String(c.segmentMs)],
        ['delete retention ms', String(c.deleteRetentionMs)],
        ['internal', String(c.internal)],
      ]
      ctx.stdout.write(`topic ${topic.name}\n`)
      for (const [key, value] of configLines) ctx.stdout.write(`  ${`${key}:`.padEnd(21)}${value}\n`)
      ctx.stdout.write('\n')
      printTable(
        ctx.stdout,
        [
          { header: 'partition', value: (p) => p.partition, alignRight: true },
          { header: 'earliest', value: (p) => p.earliestOffset, alignRight: true },
          { header: 'latest', value: (p) => p.latestOffset, alignRight: true },
          { header: 'last stable', value: (p) => p.lastStableOffset, alignRight: true },
          { header: 'bytes', value: (p) => p.bytes, alignRight: true },
          { header: 'segments', value: (p) => p.segments, alignRight: true },
        ],
        topic.partitions,
      )
    })

  topics
    .command('delete')
    .description('delete a topic and all its records')
    .argument('<name>', 'topic name')
    .action(async (name: string) => {
      await ctx.withLog(async (log) => log.deleteTopic(name))
      ctx.stdout.write(`deleted topic ${name}\n`)
    })
}
