// Web analytics: page views per page per minute, and sessions per user (30 minutes of quiet
// ends a session). It writes its own input (generated page views) and then runs the pipeline:
//   eddy run examples/web-analytics.ts --until-idle 1000
import { app, count, EventLog, json, session, tumbling } from '../src/index.js'

interface PageView {
  readonly user: string
  readonly page: string
}

const dataDir = process.env.EDDY_DATA_DIR ?? '.eddy'
const PAGES = ['/', '/pricing', '/docs', '/docs/quickstart', '/blog', '/about']

async function seedViews(views: number): Promise<void> {
  const log = EventLog.open({ dir: dataDir })
  try {
    if (log.hasTopic('page-views')) return
    log.createTopic('page-views', { partitions: 2 })
    const producer = await log.producer()
    let seed = 11
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    let t = Date.UTC(2026, 10, 21, 8)
    const byPartition: { key: Buffer; value: Buffer; timestamp: number }[][] = [[], []]
    for (let i = 0; i < views; i++) {
      // Bursts of activity with long pauses, so sessions form and end.
      t += random() < 0.02 ? 40 * 60_000 : Math.floor(random() * 3_000)
      const user = `user-${Math.floor(random() * 50)}`
      const view: PageView = { user, page: PAGES[Math.floor(random() ** 2 * PAGES.length)]! }
      byPartition[i % 2]!.push({
        key: Buffer.from(user),
        value: Buffer.from(JSON.stringify(view)),
        timestamp: t,
      })
    }
    for (const [p, records] of byPartition.entries()) {
      for (let i = 0; i < records.length; i += 1000)
        await producer.send('page-views', p, records.slice(i, i + 1000))
    }
    await producer.close()
  } finally {
    await log.close()
  }
}

await seedViews(Number(process.env.ANALYTICS_VIEWS ?? 20_000))

const analytics = app({ id: 'web-analytics', dataDir })
const views = analytics.stream<PageView>('page-views', json())

views
  .groupBy((v) => v.page, { name: 'by-page' })
  .window(tumbling({ size: '1m' }))
  .aggregate(count(), { name: 'views-per-minute' })
  .final()
  .mapValues((w) => ({ page: w.key, minute: new Date(w.start).toISOString(), views: w.value }))
  .to('views-per-page-per-minute')

views
  .groupBy((v) => v.user, { name: 'by-user' })
  .window(session({ gap: '30m' }))
  .aggregate(count(), { name: 'user-sessions' })
  .final()
  .mapValues((w) => ({
    user: w.key,
    start: new Date(w.start).toISOString(),
    end: new Date(w.end).toISOString(),
    views: w.value,
  }))
  .to('user-sessions')

await analytics.run()
