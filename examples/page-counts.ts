// Page views counted per page, by as many workers as you start: the scale-out example. Its input
// is the `views` topic (JSON page views), which you write first:
//   eddy topics create views --partitions 6
//   node -e 'for (let i = 0; i < 100000; i++) console.log(JSON.stringify({ user: `u${i % 97}`, page: `/p${i % 13}` }))' | eddy produce views --key-field user
//   eddy run examples/page-counts.ts --workers 2 --until-idle 2000
// or, on a Kafka cluster, one instance per terminal or machine:
//   eddy run examples/page-counts.ts --brokers host:9092 --instance-id one
import { app, count, json } from '../src/index.js'

interface View {
  readonly user: string
  readonly page: string
}

const counts = app({ id: 'page-counts' })
counts
  .stream<View>('views', json())
  .groupBy((v) => v.page, { name: 'by-page' })
  .aggregate(count(), { name: 'views-per-page' })
  .toStream()
  .to('page-counts')

await counts.run()
