// Global tables: every task of a worker sees the whole of a topic (all partitions), as a map of
// the latest value per key. They are held in memory and read again from their topic at start
// (the topic is their changelog, as a Kafka Streams global store's source topic is), and kept up
// to date between batches. A lookup sees what has been read so far: no event-time alignment.
import { EddyError } from '../core/errors.js'
import type { LogRecord } from '../core/record.js'
import { keyFromIdentity, keyIdentity } from '../core/store.js'
import type { GlobalTableSpec } from '../plan/nodes.js'
import type { GlobalTableView } from '../plan/processor.js'

export class GlobalTable implements GlobalTableView<unknown, unknown> {
  private readonly rows = new Map<unknown, unknown>()

  constructor(readonly spec: GlobalTableSpec) {}

  get(key: unknown): unknown {
    return this.rows.get(keyIdentity(key))
  }

  get size(): number {
    return this.rows.size
  }

  /** Every row, with its key (for interactive queries). */
  *entries(): IterableIterator<[unknown, unknown]> {
    for (const [id, value] of this.rows) yield [keyFromIdentity(id), value]
  }

  /** Applies a record of the table's topic: an upsert, or a delete for a null value. */
  apply(raw: LogRecord): void {
    if (raw.key === null) return
    let key: unknown
    let value: unknown
    try {
      key = keyIdentity(this.spec.keySerde.deserialize(raw.key))
      value = raw.value === null ? null : this.spec.valueSerde.deserialize(raw.value)
    } catch (err) {
      throw new EddyError(
        'INVALID_RECORD',
        `global table ${this.spec.name} cannot read the record at ${raw.topic}-${raw.partition} offset ${raw.offset}: ${
          (err as Error).message
        }. Fix or delete the record (a tombstone for its key), or give the table the right serdes`,
        { cause: err },
      )
    }
    if (value === null) this.rows.delete(key)
    else this.rows.set(key, value)
  }
}

/** The global tables of a plan, by name and by topic. */
export class GlobalTables {
  private readonly byName = new Map<string, GlobalTable>()
  private readonly byTopic = new Map<string, GlobalTable[]>()

  constructor(specs: readonly GlobalTableSpec[]) {
    for (const spec of specs) {
      const table = new GlobalTable(spec)
      this.byName.set(spec.name, table)
      const list = this.byTopic.get(spec.topic) ?? []
      list.push(table)
      this.byTopic.set(spec.topic, list)
    }
  }

  get topics(): string[] {
    return [...this.byTopic.keys()]
  }

  table(name: string): GlobalTable | undefined {
    return this.byName.get(name)
  }

  /** Applies a record read from a global table's topic; false when no global table reads it. */
  apply(raw: LogRecord): boolean {
    const tables = this.byTopic.get(raw.topic)
    if (tables === undefined) return false
    for (const t of tables) t.apply(raw)
    return true
  }
}
