// A stateful exactly-once pipeline for the scale-out tests, run as a child process per instance:
// page views are re-keyed by page (a repartition topic) and counted (a store with a changelog);
// every count update goes to `page-counts`. The instance's brokers, instance id and data dir come
// from the environment, as `eddy run --brokers … --instance-id …` passes them.
import { app, count, json } from '../../src/index.js'

interface View {
  readonly user: string
  readonly page: string
}

const counts = app({
  id: 'page-counter',
  commitIntervalMs: 100,
  // Short, so the test sees a killed instance's tasks move within seconds.
  sessionTimeoutMs: Number(process.env.SCALE_SESSION_TIMEOUT_MS ?? 2000),
  standbyReplicas: Number(process.env.SCALE_STANDBY_REPLICAS ?? 0),
  kafka: { transactionTimeoutMs: Number(process.env.SCALE_TRANSACTION_TIMEOUT_MS ?? 3000) },
  metricsPort: 0,
})
counts
  .stream<View>('views', json())
  .groupBy((v) => v.page, { name: 'by-page' })
  .aggregate(count(), { name: 'page-count' })
  .toStream()
  .to('page-counts')

// Lines the tests read: each assignment (with where this instance serves queries, and its pid),
// each store restore, and its progress about once a second.
await counts.run({
  onAssignment: (a) =>
    process.stderr.write(
      `assignment ${JSON.stringify({ ...a, url: counts.metricsUrl(), pid: process.pid })}\n`,
    ),
  onRestoreProgress: (p) => {
    if (p.done) process.stderr.write(`restored ${JSON.stringify(p)}\n`)
  },
  onStatus: (s) => process.stderr.write(`status ${JSON.stringify({ recordsIn: s.recordsIn, lag: s.lag })}\n`),
})
