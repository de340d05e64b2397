// The payments workload of bench/engine.bench.ts and bench/scale.bench.ts (one definition) so their
// windowed figures are comparable: 10k user keys, event time advancing 1 ms per 100 records,
// up to 50 ms out of order, counted per user in 1 s tumbling windows.

export interface Payment {
  readonly id: number
  readonly user: string
  readonly amount: number
  /** Wall-clock ms the record was appended (latency runs), else 0. */
  readonly at: number
}

export const KEYS = 10_000
/** Event time advances 1 ms per 100 records: ~10 records per key per 1 s window. */
export const RECORDS_PER_EVENT_MS = 100
/** Timestamps run up to this far behind the newest one; the watermark allows it, so none is late. */
export const DISORDER_MS = 50
export const OUT_OF_ORDERNESS_MS = 100
export const WINDOW_MS = 1000
export const T0 = 1_700_000_000_000

/** Deterministic PRNG (mulberry32), the log tests' own. */
import { prng } from '../../src/log/testdata/test-helpers.js'

export { prng }

export const users = Array.from({ length: KEYS }, (_, i) => `user-${String(i).padStart(5, '0')}`)

export interface Generated {
  readonly payments: Payment[]
  readonly timestamps: Float64Array
}

/** n payments over 10k users; timestamps increase 1 ms per 100 records, up to 50 ms out of order. */
export function generate(n: number, seed = 42): Generated {
  const rnd = prng(seed)
  const payments: Payment[] = new Array(n)
  const timestamps = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    payments[i] = {
      id: i,
      user: users[Math.floor(rnd() * KEYS)]!,
      amount: Math.round(rnd() * 10_000) / 100,
      at: 0,
    }
    timestamps[i] = T0 + Math.floor(i / RECORDS_PER_EVENT_MS) - Math.floor(rnd() * DISORDER_MS)
  }
  return { payments, timestamps }
}

/**
 * The windowed count written by hand, over records in the order given (one partition): key →
 * window start → count; the watermark is the newest timestamp less the allowed out-of-orderness;
 * a window closes (is emitted, and dropped) when the watermark reaches its end; a record whose
 * window has closed is late and dropped. The engine bench times it against Eddy; the scale bench
 * uses it for the outputs a run must commit.
 */
export function windowedCountLoop(
  records: readonly { readonly key: unknown; readonly timestamp: number }[],
  emit: (key: string, start: number, count: number) => void,
): void {
  const byKey = new Map<string, Map<number, number>>()
  const open: number[] = []
  const isOpen = new Set<number>()
  let maxTs = Number.NEGATIVE_INFINITY
  let watermark = Number.NEGATIVE_INFINITY
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    const key = r.key as string
    const t = r.timestamp
    const ws = Math.floor(t / WINDOW_MS) * WINDOW_MS
    if (ws + WINDOW_MS > watermark) {
      let windows = byKey.get(key)
      if (windows === undefined) {
        windows = new Map()
        byKey.set(key, windows)
      }
      windows.set(ws, (windows.get(ws) ?? 0) + 1)
      if (!isOpen.has(ws)) {
        isOpen.add(ws)
        open.push(ws)
        if (open.length > 1 && open[open.length - 2]! > ws) open.sort((a, b) => a - b)
      }
    }
    if (t > maxTs) {
      maxTs = t
      if (maxTs - OUT_OF_ORDERNESS_MS > watermark) {
        watermark = maxTs - OUT_OF_ORDERNESS_MS
        while (open.length > 0 && open[0]! + WINDOW_MS <= watermark) {
          const closing = open.shift()!
          isOpen.delete(closing)
          for (const [k, windows] of byKey) {
            const count = windows.get(closing)
            if (count === undefined) continue
            windows.delete(closing)
            emit(k, closing, count)
          }
        }
      }
    }
  }
}

/** How many final window counts `windowedCountLoop` emits over these records, and their sum. */
export function windowedOutputs(
  keys: readonly string[],
  timestamps: ArrayLike<number>,
): { outputs: number; sum: number } {
  let outputs = 0
  let sum = 0
  windowedCountLoop(
    keys.map((key, i) => ({ key, timestamp: timestamps[i]! })),
    (_key, _start, count) => {
      outputs++
      sum += count
    },
  )
  return { outputs, sum }
}
