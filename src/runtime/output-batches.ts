// Output records waiting to be sent, encoded into record batches as they come (as Kafka's
// producer accumulates them): a record's key and value bytes are copied into its partition's batch
// at once, so no object per record lives until the send, and the sender has no encoding left to do.
import type { RecordHeader } from '../core/record.js'
import { RecordBatchBuilder } from '../core/record-batch.js'
import type { Encoded } from '../core/serde.js'

export interface PendingBatches {
  readonly topic: string
  readonly partition: number
  /** In order; each one batch. */
  readonly batches: readonly RecordBatchBuilder[]
}

export class OutputBatches {
  /** topic → partition → batches, the last one still open. */
  private byTopic = new Map<string, RecordBatchBuilder[][]>()
  private added = 0
  private data = 0

  /** `batchBytesMax` bounds each batch: past it a partition's records go on in a new one. */
  constructor(private readonly batchBytesMax: number) {}

  /** Records added since the last `take`. */
  get count(): number {
    return this.added
  }

  /** Of those, the ones that are not watermark markers. */
  get dataCount(): number {
    return this.data
  }

  /** Adds a record; throws (adding nothing) when it breaks a record limit. */
  add(
    topic: string,
    partition: number,
    key: Encoded,
    value: Encoded,
    timestamp: number,
    headers: readonly RecordHeader[],
    marker: boolean,
  ): void {
    let byPartition = this.byTopic.get(topic)
    if (byPartition === undefined) {
      byPartition = []
      this.byTopic.set(topic, byPartition)
    }
    let batches = byPartition[partition]
    if (batches === undefined) {
      batches = [new RecordBatchBuilder(this.batchBytesMax, 64 * 1024)]
      byPartition[partition] = batches
    }
    if (!batches[batches.length - 1]!.add(key, value, timestamp, headers)) {
      const next = new RecordBatchBuilder(this.batchBytesMax, 64 * 1024)
      next.add(key, value, timestamp, headers)
      batches.push(next)
    }
    this.added++
    if (!marker) this.data++
  }

  /** Everything added, by topic and partition; the buffer is empty afterwards. */
  take(): PendingBatches[] {
    const out: PendingBatches[] = []
    for (const [topic, byPartition] of this.byTopic) {
      byPartition.forEach((batches, partition) => {
        out.push({ topic, partition, batches })
      })
    }
    this.clear()
    return out
  }

  /** Drops what was added (its transaction is being aborted). */
  clear(): void {
    this.byTopic = new Map()
    this.added = 0
    this.data = 0
  }
}
