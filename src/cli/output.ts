// Printing helpers: commands format through these so output stays uniform and scriptable.
import { Writable } from 'node:stream'
import type { Writer } from './context.js'

export type Cell = string | number | bigint | boolean | null | undefined

export interface TableColumn<Row> {
  readonly header: string
  readonly value: (row: Row) => Cell
  /** Right-align (numbers). */
  readonly alignRight?: boolean
}

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '-'
  return String(cell)
}

/** Prints rows as an aligned, space-separated table with a header line. */
export function printTable<Row>(
  out: Writer,
  columns: readonly TableColumn<Row>[],
  rows: readonly Row[],
): void {
  const cells = rows.map((row) => columns.map((c) => cellText(c.value(row))))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)))
  const line = (texts: readonly string[]) =>
    texts
      .map((t, i) => (columns[i]!.alignRight ? t.padStart(widths[i]!) : t.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  out.write(`${line(columns.map((c) => c.header))}\n`)
  for (const r of cells) out.write(`${line(r)}\n`)
}

/** Prints one JSON document per line (JSON Lines), for piping into jq and friends. */
export function printJsonLine(out: Writer, value: unknown): void {
  out.write(`${JSON.stringify(value)}\n`)
}

/** Prints one JSON document, indented, for `--json` output of a whole answer. */
export function printJson(out: Writer, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`)
}

/**
 * Waits while a stream writer's buffer is full (a slow pipe), so output never piles up in memory.
 * Resolves to false once the writer is closed (`eddy consume | head` after head exits): stop writing.
 */
export async function drained(out: Writer): Promise<boolean> {
  if (!(out instanceof Writable)) return true
  if (out.writableNeedDrain && !out.destroyed) {
    await new Promise<void>((resolve) => {
      const done = () => {
        for (const event of ['drain', 'close', 'error']) out.off(event, done)
        resolve()
      }
      for (const event of ['drain', 'close', 'error']) out.on(event, done)
    })
  }
  return !out.destroyed && out.writable
}

export function printJsonLines(out: Writer, values: Iterable<unknown>): void {
  for (const v of values) printJsonLine(out, v)
}

/** An error as the one line the CLI prints to stderr: `eddy: <message>`. */
export function errorLine(message: string): string {
  return `eddy: ${message.replace(/\s*\n\s*/g, ' ').trim()}\n`
}
