// Repartition topics keep their records until they are read and committed (Kafka Streams'
// semantics): a backfill of events far older than the log's default 7-day time retention, with
// the log's retention run after every commit, loses nothing across a groupBy; and what the
// downstream tasks committed is purged (DeleteRecords), so the topics' earliest offsets move.
import assert from 'node:assert/strict'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { systemClock } from '../../src/core/clock.js'
import { partitionForKey } from '../../src/core/murmur2.js'
import { app, json } from '../../src/index.js'
import { EventLog } from '../../src/log/event-log.js'
import { AppRunner } from '../../src/runtime/app-runner.js'
import { RepartitionPurge } from '../../src/runtime/purge.js'
import { taskStateFactory } from '../../src/state/task-state.js'
import { EmbeddedTransport } from '../../src/transport/embedded.js'
import { cleanup, prng, readCommitted, tmpDir } from './harness.js'

interface Visit {
  readonly user: string
  readonly page: string
}

const PARTITIONS = 3
const DAY_MS = 24 * 3600_000

describe('repartition topics: retention and purging', () => {
  after(cleanup)

  for (const guarantee of ['exactly_once', 'at_least_once'] as const) {
    it(`a backfill of 30-day-old events through a groupBy loses nothing, and consumed repartition records are purged (${guarantee})`, async () => {
      const dataDir = tmpDir('backfill')
      const log = EventLog.open({
        dir: dataDir,
        fsync: { kind: 'never' },
        maintenanceIntervalMs: 0,
        // Small segments: they roll inside transactions, so some hold only old records (a
        // transaction's commit marker, stamped with the wall clock, keeps its segment young).
        topicDefaults: { segmentBytes: 4096 },
      })
      const transport = new EmbeddedTransport(log, true)
      try {
        // The user's own topics keep old records (their retention is theirs to choose).
        log.createTopic('visits', { partitions: PARTITIONS, retentionMs: null })
        log.createTopic('page-counts', { partitions: PARTITIONS, retentionMs: null })
        const rand = prng(30)
        const start = Date.now() - 30 * DAY_MS
        const expected = new Map<string, number>()
        const producer = await log.producer()
        for (let i = 0; i < 3_000; i++) {
          const visit: Visit = { user: `u${Math.floor(rand() * 200)}`, page: `/p${Math.floor(rand() * 25)}` }
          expected.set(visit.page, (expected.get(visit.page) ?? 0) + 1)
          const p = partitionForKey(Buffer.from(visit.user), PARTITIONS)
          await producer.send('visits', p, [
            {
              key: Buffer.from(visit.user),
              value: Buffer.from(JSON.stringify(visit)),
              timestamp: start + i * 1_000,
            },
          ])
        }
        await producer.close()

        const a = app({ id: 'backfill', dataDir })
        a.stream<Visit, string>('visits', json<Visit>())
          .groupBy((v) => v.page, { name: 'by-page' })
          .count({ name: 'page-count' })
          .toStream()
          .to('page-counts')
        const taskState = taskStateFactory({
          dir: path.join(dataDir, 'state'),
          appId: 'backfill',
          transport,
          clock: systemClock,
        })
        let commits = 0
        const runner = new AppRunner(a.plan(), {
          appId: 'backfill',
          transport,
          taskState,
          guarantee,
          commitIntervalMs: 10,
          // Small batches: many commits, each followed by a retention pass, while records are in flight.
          maxBatchRecords: 1000,
          untilIdleMs: 300,
          purgeIntervalMs: 0,
          onCommit: () => {
            commits++
            // What the log's background maintenance does every 30 s, here after every commit.
            log.maintain()
          },
        })
        await runner.run()
        assert.ok(commits > 1, `commits ${commits}`)

        // Every visit was counted: the last count per page is its number of visits.
        const last = new Map<string, number>()
        for (const r of (await readCommitted(log, 'page-counts')).flat()) {
          last.set(r.key!.toString(), JSON.parse(r.value!.toString()) as number)
        }
        assert.deepEqual(new Map([...last].sort()), new Map([...expected].sort()))

        // The repartition topic has no time retention, and its consumed records are gone.
        const repartition = log.listTopics().find((t) => t.startsWith('backfill-') && t.includes('by-page'))
        assert.ok(repartition !== undefined, `topics: ${log.listTopics()}`)
        assert.equal(log.describeTopic(repartition).config.retentionMs, null)
        const committed = log.groups.fetch(
          'backfill',
          Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: repartition, partition })),
        )
        assert.equal(committed.length, PARTITIONS)
        for (const c of committed) {
          assert.ok(c.offset > 0, `${repartition}-${c.partition} committed ${c.offset}`)
          assert.equal(
            log.earliestOffset(repartition, c.partition),
            c.offset,
            `${repartition}-${c.partition}`,
          )
        }
      } finally {
        await transport.close()
      }
    })
  }

  it('purges at most once per interval, only repartition topics, only past what it purged', async () => {
    const log = EventLog.open({ dir: tmpDir('purge'), fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
    const transport = new EmbeddedTransport(log, true)
    try {
      const a = app({ id: 'purging', dataDir: '.' })
      a.stream<Visit, string>('visits', json<Visit>())
        .groupBy((v) => v.page, { name: 'by-page' })
        .count({ name: 'page-count' })
        .toStream()
        .to('page-counts')
      const plan = a.plan()
      const repartition = plan.order
        .map((id) => plan.node(id))
        .flatMap((n) => (n.kind === 'repartition' ? [`purging-${n.topic}`] : []))
      assert.equal(repartition.length, 1)
      const topic = repartition[0]!
      for (const t of [topic, 'visits']) {
        log.createTopic(t, { partitions: 1 })
        await log.append(
          t,
          0,
          Array.from({ length: 10 }, (_, i) => ({ value: Buffer.from(String(i)) })),
        )
      }
      let deletes = 0
      const counting = new Proxy(transport, {
        get(target, prop, receiver) {
          if (prop === 'deleteRecordsBefore') {
            return (t: string, p: number, o: number) => {
              deletes++
              return target.deleteRecordsBefore(t, p, o)
            }
          }
          return Reflect.get(target, prop, receiver)
        },
      })
      const purge = new RepartitionPurge(plan, (n) => `purging-${n}`, counting, 30_000, 1_000_000)
      const offsets = (o: number) => [
        { topic, partition: 0, offset: o },
        { topic: 'visits', partition: 0, offset: o },
      ]
      await purge.afterCommit(offsets(4), 1_010_000) // 10 s after start: too soon
      assert.equal(log.earliestOffset(topic, 0), 0)
      await purge.afterCommit(offsets(4), 1_030_000)
      assert.equal(log.earliestOffset(topic, 0), 4)
      assert.equal(log.earliestOffset('visits', 0), 0, 'a source topic is never purged')
      await purge.afterCommit(offsets(7), 1_040_000) // 10 s after the last purge: too soon
      assert.equal(log.earliestOffset(topic, 0), 4)
      await purge.afterCommit(offsets(4), 1_060_000) // nothing past what was purged: no call
      assert.equal(deletes, 1)
      await purge.afterCommit(offsets(7), 1_090_000)
      assert.equal(log.earliestOffset(topic, 0), 7)
      assert.equal(deletes, 2)
      assert.equal(purge.lastError, null)
    } finally {
      await transport.close()
    }
  })
})
