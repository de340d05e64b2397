// `eddy produce TOPIC`: appends one record per input line (stdin, or --file), batched per partition.
import { createReadStream, statSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { WriteStream } from 'node:tty'
import { Presets, SingleBar } from 'cli-progress'
import type { Command } from 'commander'
import { EddyError } from '../../core/errors.js'
import { partitionForKey } from '../../core/murmur2.js'
import type { RecordInput } from '../../core/record.js'
import type { EventLog } from '../../log/event-log.js'
import { checkPartitionFlag, integerArg } from '../args.js'
import type { CliContext, Writer } from '../context.js'
import { type KeyFieldPath, keyFromLine, parseKeyFieldPath } from '../key-field.js'

/** A batch is sent when it has this many records… */
const BATCH_RECORDS_MAX = 1000
/** …or this many bytes of keys and values. */
const BATCH_BYTES_MAX = 1024 * 1024
/** Batches appended but not yet acknowledged (fsync); reading waits beyond this. */
const IN_FLIGHT_BATCHES_MAX = 8

interface ProduceOptions {
  readonly file?: string
  readonly keyField?: KeyFieldPath
  readonly partition?: number
}

interface PendingBatch {
  readonly records: RecordInput[]
  bytes: number
  readonly firstLine: number
  lastLine: number
}

/** Collects records into one batch per partition and appends them with a bounded number in flight. */
class BatchWriter {
  /** Records acknowledged by the log. */
  written = 0
  private readonly pending = new Map<number, PendingBatch>()
  private readonly inFlight: Promise<void>[] = []
  private failure: EddyError | null = null

  constructor(
    private readonly log: EventLog,
    private readonly topic: string,
    private readonly source: string,
  ) {}

  /** Adds a record read from `line`; resolves to true when this sent the partition's batch. */
  async add(partition: number, record: RecordInput, bytes: number, line: number): Promise<boolean> {
    let batch = this.pending.get(partition)
    if (batch !== undefined && batch.bytes + bytes > BATCH_BYTES_MAX) {
      await this.send(partition, batch)
      batch = undefined
    }
    if (batch === undefined) {
      batch = { records: [], bytes: 0, firstLine: line, lastLine: line }
      this.pending.set(partition, batch)
    }
    batch.records.push(record)
    batch.bytes += bytes
    batch.lastLine = line
    if (batch.records.length < BATCH_RECORDS_MAX && batch.bytes < BATCH_BYTES_MAX) return false
    await this.send(partition, batch)
    return true
  }

  /** Sends every partial batch and waits for all appends; throws the first append failure. */
  async finish(): Promise<void> {
    for (const [partition, batch] of this.pending) this.dispatch(partition, batch)
    this.pending.clear()
    await Promise.all(this.inFlight.splice(0))
    if (this.failure !== null) {
      throw new EddyError(
        this.failure.code,
        `${this.failure.message}; ${this.written} record(s) were written`,
        {
          cause: this.failure,
        },
      )
    }
  }

  private async send(partition: number, batch: PendingBatch): Promise<void> {
    this.pending.delete(partition)
    this.dispatch(partition, batch)
    while (this.inFlight.length >= IN_FLIGHT_BATCHES_MAX) await this.inFlight.shift()
    if (this.failure !== null) await this.finish()
  }

  private dispatch(partition: number, batch: PendingBatch): void {
    if (this.failure !== null) return
    const where = `lines ${batch.firstLine}-${batch.lastLine} of ${this.source} to partition ${partition}`
    this.inFlight.push(
      this.log.append(this.topic, partition, batch.records).then(
        () => {
          this.written += batch.records.length
        },
        (err: unknown) => {
          if (!(err instanceof EddyError)) throw err
          this.failure ??= new EddyError(err.code, `writing ${where} failed: ${err.message}`, { cause: err })
        },
      ),
    )
  }
}

function progressBar(stderr: Writer, totalBytes: number): SingleBar | null {
  if (!(stderr instanceof WriteStream) || !stderr.isTTY || totalBytes === 0) return null
  const bar = new SingleBar(
    { stream: stderr, format: 'producing {bar} {percentage}% | {value}/{total} bytes | {records} records' },
    Presets.shades_classic,
  )
  bar.start(totalBytes, 0, { records: 0 })
  return bar
}

/** The size of `file`, checking first that it can be read. */
function fileSize(file: string): number {
  try {
    const stat = statSync(file)
    if (!stat.isFile()) throw new Error('not a regular file')
    return stat.size
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new EddyError('IO', `cannot read --file ${file} (${reason}): give the path of a readable file`)
  }
}

async function produce(ctx: CliContext, topic: string, opts: ProduceOptions): Promise<void> {
  const source = opts.file ?? 'stdin'
  const totalBytes = opts.file !== undefined ? fileSize(opts.file) : 0
  const written = await ctx.withLog(async (log) => {
    const partitions = log.partitionCount(topic)
    if (opts.partition !== undefined) checkPartitionFlag(topic, opts.partition, partitions)
    const fileStream = opts.file !== undefined ? createReadStream(opts.file) : null
    const input = fileStream ?? ctx.stdin
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })
    const writer = new BatchWriter(log, topic, source)
    const bar = fileStream !== null ? progressBar(ctx.stderr, totalBytes) : null
    fileStream?.on('data', () => bar?.update(fileStream.bytesRead, { records: writer.written }))
    // Keyless records go to one partition per batch, round-robin (like Kafka's sticky partitioner).
    let sticky = Math.floor(Math.random() * partitions)
    let lineNumber = 0
    try {
      for await (const line of lines) {
        lineNumber++
        if (line === '') continue
        let key: Buffer | null = null
        if (opts.keyField !== undefined) {
          const found = keyFromLine(line, opts.keyField)
          if (!found.ok) {
            await writer.finish()
            const field = opts.keyField.join('.')
            throw new EddyError(
              'INVALID_RECORD',
              `line ${lineNumber} of ${source} ${found.problem}: --key-field ${field} needs a JSON object with that field on every line; ${writer.written} record(s) before it were written, so fix the line and produce from line ${lineNumber} on`,
            )
          }
          key = found.key
        }
        const value = Buffer.from(line, 'utf8')
        const partition = opts.partition ?? (key !== null ? partitionForKey(key, partitions) : sticky)
        const sent = await writer.add(
          partition,
          { key, value },
          value.length + (key?.length ?? 0),
          lineNumber,
        )
        if (sent && key === null && opts.partition === undefined) sticky = (sticky + 1) % partitions
      }
      await writer.finish()
      bar?.update(totalBytes, { records: writer.written })
    } finally {
      bar?.stop()
      lines.close()
      fileStream?.destroy()
    }
    return writer.written
  })
  ctx.stdout.write(`wrote ${written} ${written === 1 ? 'record' : 'records'} to ${topic}\n`)
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('produce')
    .description('append one record per input line (stdin, or --file); the line is the value')
    .argument('<topic>', 'topic to write to')
    .option('--file <path>', 'read lines from this file instead of stdin')
    .option(
      '--key-field <path>',
      "key each record by this field of the line's JSON (a dotted path such as user.id)",
      parseKeyFieldPath,
    )
    .option(
      '--partition <p>',
      'write every record to this partition (default: by key hash, or round-robin per batch)',
      integerArg(0),
    )
    .action(async (topic: string, opts: ProduceOptions) => produce(ctx, topic, opts))
}
