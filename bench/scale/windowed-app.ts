// The windowed count of bench/engine.bench.ts ("end to end … count per key, 1 s tumbling
// windows"), as a file `eddy run` runs: payments keyed by user, counted per user per 1 s window,
// each window's final count to `counts`. The data dir (and, for workers, the brokers and instance
// id) come from `eddy run`. For bench/scale.bench.ts it prints each assignment with the wall clock.
import { app, tumbling } from '../../src/index.js'
import type { Payment } from '../support/payments.js'
import { OUT_OF_ORDERNESS_MS, WINDOW_MS } from '../support/payments.js'

const windowed = app({ id: 'bench-scale-windowed', outOfOrdernessMs: OUT_OF_ORDERNESS_MS })
windowed
  .stream<Payment>('payments')
  .groupByKey()
  .window(tumbling({ size: WINDOW_MS }))
  .count({ name: 'counts' })
  .final()
  .to('counts')

const timed = process.env.SCALE_BENCH_ASSIGNMENTS === '1'
await windowed.run({
  onAssignment: (a) => {
    if (timed) process.stderr.write(`assigned ${Date.now()} ${a.generation}\n`)
  },
})
