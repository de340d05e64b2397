// The stateful app of the failover runs of bench/scale.bench.ts, one child process per instance:
// events keyed by id, counted per key (a store with a changelog), every count update to
// `event-counts`. Brokers, instance id and data dir come from the environment, as `eddy run
// --brokers … --instance-id …` passes them; timings from the bench (SCALE_* variables).
// It prints what the bench times, with the wall clock: each assignment, and the start and end of
// each store restore.
import { app } from '../../src/index.js'

const counts = app({
  id: 'bench-scale-failover',
  commitIntervalMs: 100,
  sessionTimeoutMs: Number(process.env.SCALE_SESSION_TIMEOUT_MS ?? 2000),
  standbyReplicas: Number(process.env.SCALE_STANDBY_REPLICAS ?? 0),
  kafka: { transactionTimeoutMs: Number(process.env.SCALE_TRANSACTION_TIMEOUT_MS ?? 2000) },
})
counts.stream<number>('events').groupByKey().count({ name: 'counts' }).toStream().to('event-counts')

const line = (what: string, data: unknown) =>
  process.stderr.write(`${what} ${Date.now()} ${JSON.stringify(data)}\n`)
await counts.run({
  onAssignment: (a) => line('assignment', a),
  onRestoreProgress: (p) => {
    if (p.done || p.position === 0) line('restore', p)
  },
})
