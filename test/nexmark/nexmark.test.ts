// Nexmark correctness: every query runs on a small data set (50,000 events) and its results must
// equal, as a multiset, what DuckDB computes in batch over the same generated events. Also: the
// generator is a pure function of the event id, and the log mode (embedded log, exactly-once,
// several partitions) gives the in-memory results.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api'
import { NexmarkGenerator } from '../../src/bench/nexmark/generator.js'
import type { Auction, Bid, NexmarkEvent, Person } from '../../src/bench/nexmark/model.js'
import { QUERIES } from '../../src/bench/nexmark/queries.js'
import { runInMemory, runOnLog } from '../../src/bench/nexmark/run.js'

const EVENTS = 50_000
const DAY_MS = 86_400_000
// 5 ms of event time per event: 250 s in all, so there are many windows and sessions. Recent
// (yesterday), because the log deletes records older than its 7-day retention.
const generator = new NexmarkGenerator({
  rate: 1_600,
  generators: 8,
  baseTimeMs: Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS,
})

/** The SQL of each query over tables person, auction, bid: the same columns as Eddy's results. */
const ORACLE: Readonly<Record<string, string>> = {
  q0: 'SELECT auction, bidder, price, channel, url, dateTime, extra FROM bid',
  // Exact decimal arithmetic: price × 0.908 in thousandths of a cent is price × 908.
  q1: 'SELECT auction, bidder, price * 908 AS price, dateTime, extra FROM bid',
  q2: 'SELECT auction, price FROM bid WHERE auction % 123 = 0',
  q3: `
    SELECT P.name, P.city, P.state, A.id FROM auction A JOIN person P ON A.seller = P.id
    WHERE A.category = 10 AND P.state IN ('OR', 'ID', 'CA')`,
  // The final state: per category, the mean of each auction's highest bid inside its interval.
  q4: `
    WITH winning AS (
      SELECT A.id, A.category, max(B.price) AS price
      FROM auction A JOIN bid B ON A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
      GROUP BY A.id, A.category
    )
    SELECT category, round(avg(price) * 1000) FROM winning GROUP BY category`,
  q8: `
    WITH p AS (SELECT id, name, (dateTime // 10000) * 10000 AS start FROM person),
    a AS (SELECT DISTINCT seller, (dateTime // 10000) * 10000 AS start FROM auction)
    SELECT p.id, p.name, p.start FROM p JOIN a ON p.id = a.seller AND p.start = a.start`,
  q9: `
    WITH ranked AS (
      SELECT A.id, A.seller, A.category, A.expires, B.bidder, B.price, B.dateTime,
        row_number() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.dateTime, B.bidder) AS rank
      FROM auction A JOIN bid B ON A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
    )
    SELECT id, seller, category, expires, bidder, price, dateTime FROM ranked WHERE rank = 1`,
  q5: `
    WITH hops AS (
      SELECT auction, (dateTime // 2000) * 2000 - k * 2000 AS start FROM bid, range(0, 5) r(k)
    ), counts AS (
      SELECT auction, start, count(*) AS bids FROM hops GROUP BY auction, start
    ), top AS (
      SELECT start, max(bids) AS bids FROM counts GROUP BY start
    )
    SELECT auction, bids, start, start + 10000 AS "end" FROM counts JOIN top USING (start, bids)`,
  q7: `
    WITH b AS (SELECT *, (dateTime // 10000) * 10000 AS start FROM bid),
    top AS (SELECT start, max(price) AS price FROM b GROUP BY start)
    SELECT auction, price, bidder, dateTime, extra FROM b JOIN top USING (start, price)`,
  // Sessions: a bid more than 10 s after the bidder's previous one starts a new session.
  q11: `
    WITH gaps AS (
      SELECT bidder, dateTime,
        CASE WHEN dateTime - lag(dateTime) OVER (PARTITION BY bidder ORDER BY dateTime) <= 10000
          THEN 0 ELSE 1 END AS starts
      FROM bid
    ), numbered AS (
      SELECT bidder, dateTime,
        sum(starts) OVER (PARTITION BY bidder ORDER BY dateTime ROWS UNBOUNDED PRECEDING) AS session
      FROM gaps
    )
    SELECT bidder, count(*) AS bids, min(dateTime) AS start, max(dateTime) AS "end"
    FROM numbered GROUP BY bidder, session`,
}

/** Eddy's result as the oracle's row: the same columns in the same order. */
const ROW_OF: Readonly<Record<string, (r: never) => unknown[]>> = {
  q0: (b: Bid) => [b.auction, b.bidder, b.price, b.channel, b.url, b.dateTime, b.extra],
  q1: (b: { auction: number; bidder: number; price: number; dateTime: number; extra: string }) => [
    b.auction,
    b.bidder,
    Math.round(b.price * 1000),
    b.dateTime,
    b.extra,
  ],
  q2: (b: { auction: number; price: number }) => [b.auction, b.price],
  q3: (r: { name: string; city: string; state: string; id: number }) => [r.name, r.city, r.state, r.id],
  q4: (r: { category: number; average: number }) => [r.category, Math.round(r.average * 1000)],
  q8: (r: { id: number; name: string; start: number }) => [r.id, r.name, r.start],
  q9: (r: {
    auction: number
    seller: number
    category: number
    expires: number
    bidder: number
    price: number
    dateTime: number
  }) => [r.auction, r.seller, r.category, r.expires, r.bidder, r.price, r.dateTime],
  q5: (h: { auction: number; bids: number; start: number; end: number }) => [
    h.auction,
    h.bids,
    h.start,
    h.end,
  ],
  q7: (b: { auction: number; price: number; bidder: number; dateTime: number; extra: string }) => [
    b.auction,
    b.price,
    b.bidder,
    b.dateTime,
    b.extra,
  ],
  q11: (s: { bidder: number; bids: number; start: number; end: number }) => [
    s.bidder,
    s.bids,
    s.start,
    s.end,
  ],
}

/** Rows as sorted JSON lines: equal arrays are equal multisets. */
function multiset(rows: readonly unknown[][]): string[] {
  return rows.map((r) => JSON.stringify(r)).sort()
}

async function load(db: DuckDBConnection, events: readonly NexmarkEvent[]): Promise<void> {
  await db.run(`CREATE TABLE person (id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR,
    city VARCHAR, state VARCHAR, dateTime BIGINT, extra VARCHAR)`)
  await db.run(`CREATE TABLE auction (id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT,
    reserve BIGINT, dateTime BIGINT, expires BIGINT, seller BIGINT, category BIGINT, extra VARCHAR)`)
  await db.run(`CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
    dateTime BIGINT, extra VARCHAR)`)
  const persons = await db.createAppender('person')
  const auctions = await db.createAppender('auction')
  const bids = await db.createAppender('bid')
  const big = (x: number) => BigInt(x)
  for (const e of events) {
    if (e.kind === 'person') {
      const p: Person = e
      persons.appendBigInt(big(p.id))
      for (const s of [p.name, p.emailAddress, p.creditCard, p.city, p.state]) persons.appendVarchar(s)
      persons.appendBigInt(big(p.dateTime))
      persons.appendVarchar(p.extra)
      persons.endRow()
    } else if (e.kind === 'auction') {
      const a: Auction = e
      auctions.appendBigInt(big(a.id))
      auctions.appendVarchar(a.itemName)
      auctions.appendVarchar(a.description)
      for (const x of [a.initialBid, a.reserve, a.dateTime, a.expires, a.seller, a.category])
        auctions.appendBigInt(big(x))
      auctions.appendVarchar(a.extra)
      auctions.endRow()
    } else {
      bids.appendBigInt(big(e.auction))
      bids.appendBigInt(big(e.bidder))
      bids.appendBigInt(big(e.price))
      bids.appendVarchar(e.channel)
      bids.appendVarchar(e.url)
      bids.appendBigInt(big(e.dateTime))
      bids.appendVarchar(e.extra)
      bids.endRow()
    }
  }
  for (const a of [persons, auctions, bids]) a.closeSync()
}

/** The oracle's rows, with integers as numbers (every value here fits a double exactly). */
async function oracle(db: DuckDBConnection, sql: string): Promise<unknown[][]> {
  const reader = await db.runAndReadAll(sql)
  return reader.getRows().map((row) => row.map((v) => (typeof v === 'bigint' ? Number(v) : v)))
}

describe('Nexmark', () => {
  let instance: DuckDBInstance
  let db: DuckDBConnection
  const events: NexmarkEvent[] = []

  before(async () => {
    for (let id = 0; id < EVENTS; id++) events.push(generator.event(id))
    instance = await DuckDBInstance.create(':memory:')
    db = await instance.connect()
    await load(db, events)
  })

  after(() => {
    db?.closeSync()
    instance?.closeSync()
  })

  it('generates each event from its id alone, in the reference proportions', async () => {
    const again = new NexmarkGenerator({
      rate: generator.rate,
      generators: generator.generators,
      baseTimeMs: generator.baseTimeMs,
    })
    // Backwards and in strides: the same events as in order.
    for (let id = EVENTS - 1; id >= 0; id -= 7) assert.deepEqual(again.event(id), events[id])
    const counts = await oracle(
      db,
      'SELECT (SELECT count(*) FROM person), (SELECT count(*) FROM auction), (SELECT count(*) FROM bid)',
    )
    assert.deepEqual(counts[0], [EVENTS / 50, (EVENTS / 50) * 3, (EVENTS / 50) * 46])
    const [[minPrice, maxPrice, categories, states, hot]] = (await oracle(
      db,
      `SELECT (SELECT min(price) FROM bid), (SELECT max(price) FROM bid),
        (SELECT string_agg(DISTINCT category::VARCHAR, ',' ORDER BY category::VARCHAR) FROM auction),
        (SELECT string_agg(DISTINCT state, ',' ORDER BY state) FROM person),
        (SELECT count(*) FILTER (WHERE auction % 100 = 0) / count(*) FROM bid)`,
    )) as [[number, number, string, string, number]]
    assert.ok(minPrice >= 100 && maxPrice <= 100_000_000, `prices ${minPrice}..${maxPrice}`)
    assert.equal(categories, '10,11,12,13,14')
    assert.equal(states, 'AZ,CA,ID,OR,WA,WY')
    // Half the bids go to a hot auction (a multiple of 100 above 1000), some others by chance.
    assert.ok(hot > 0.5 && hot < 0.53, `share of bids on hot auctions: ${hot}`)
    // Event time advances by the inter-event delay (5 ms here).
    assert.equal(events[EVENTS - 1]!.dateTime - events[0]!.dateTime, (EVENTS - 1) * 5)
  })

  for (const name of Object.keys(QUERIES)) {
    it(`${name}: Eddy's results equal DuckDB's over the same events`, async () => {
      const query = QUERIES[name]!
      const toRow = ROW_OF[name] as (r: unknown) => unknown[]
      // Append-only: every result; updating: the last result per key (the final state).
      const results: unknown[] = []
      runInMemory(query, generator, EVENTS, (v) => results.push(v))
      const eddy =
        query.keyOf === undefined
          ? results.map(toRow)
          : [...new Map(results.map((v) => [query.keyOf!(v), v])).values()].map(toRow)
      const expected = await oracle(db, ORACLE[name]!)
      assert.ok(expected.length > 0, `${name}: the oracle has no rows`)
      const a = multiset(eddy)
      const b = multiset(expected)
      if (a.length !== b.length) assert.fail(`${name}: Eddy has ${a.length} results, DuckDB ${b.length}`)
      assert.deepEqual(a, b)
    })
  }

  it('log mode (embedded log, exactly-once, 4 partitions) gives the in-memory results', async () => {
    const small = new NexmarkGenerator({
      rate: generator.rate,
      generators: 4,
      baseTimeMs: generator.baseTimeMs,
    })
    for (const name of ['q2', 'q5', 'q9', 'q11']) {
      const query = QUERIES[name]!
      const memory = runInMemory(query, small, 10_000)
      const log = await runOnLog(query, small, 10_000)
      assert.ok(memory.outputs > 0, `${name}: no results`)
      assert.deepEqual(
        { rows: log.rows, checksum: log.checksum },
        { rows: memory.rows, checksum: memory.checksum },
        name,
      )
    }
  })
})
