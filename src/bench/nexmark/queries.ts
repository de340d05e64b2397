// The Nexmark queries, written with Eddy's public DSL as a user would write them. Each takes the
// stream of all events (persons, auctions and bids in one stream, in event-time order per
// partition) and returns its results; the caller attaches the sink.
//
// Event time is the record timestamp, which is each event's `dateTime`. Windows close when the
// watermark passes their end; the runs give it 4 s of out-of-orderness, as the reference does.
import { aggregate, hopping, reduce, type Stream, session, tumbling, type WindowResult } from '../../index.js'
import { type Auction, type Bid, isAuction, isBid, isPerson, type NexmarkEvent } from './model.js'

export type EventStream = Stream<null, NexmarkEvent>

/** q1: a bid with its price in euros. */
export interface EuroBid {
  readonly auction: number
  readonly bidder: number
  readonly price: number
  readonly dateTime: number
  readonly extra: string
}

/** q2: the auction and price of a bid on a selected auction. */
export interface SelectedBid {
  readonly auction: number
  readonly price: number
}

/** q3: a seller in OR, ID or CA and an auction of theirs in category 10. */
export interface LocalItem {
  readonly name: string
  readonly city: string
  readonly state: string
  readonly id: number
}

/** q4: per category, the average winning price of its auctions so far. */
export interface CategoryAverage {
  readonly category: number
  readonly average: number
}

/** q8: a person who registered and opened an auction in the same 10 s window. */
export interface NewSeller {
  readonly id: number
  readonly name: string
  readonly start: number
}

/** q9: an auction's winning bid so far (highest price in its open interval; ties: earliest, then lowest bidder). */
export interface WinningBid {
  readonly auction: number
  readonly seller: number
  readonly category: number
  readonly expires: number
  readonly bidder: number
  readonly price: number
  readonly dateTime: number
}

/** q5: an auction with the most bids in a hopping window [start, end), and how many. */
export interface HotItem {
  readonly auction: number
  readonly bids: number
  readonly start: number
  readonly end: number
}

/** q7: a bid with the highest price in its tumbling window. */
export interface HighestBid {
  readonly auction: number
  readonly price: number
  readonly bidder: number
  readonly dateTime: number
  readonly extra: string
}

/** q11: a bidder's session (bids no more than 10 s apart), [start, end] its first and last bid. */
export interface BidderSession {
  readonly bidder: number
  readonly bids: number
  readonly start: number
  readonly end: number
}

export const Q5_WINDOW_MS = 10_000
export const Q5_EVERY_MS = 2_000
export const Q7_WINDOW_MS = 10_000
export const Q11_GAP_MS = 10_000
export const Q8_WINDOW_MS = 10_000
/**
 * The DSL's stream–stream joins are windowed; q3, q4 and q9 join without a time bound (as Flink's
 * regular joins do), so a window far longer than any run's event time stands in for none.
 */
export const UNBOUNDED_JOIN_WINDOW = '1d'
/** The reference's watermark: event time less 4 s. */
export const OUT_OF_ORDERNESS_MS = 4_000

export interface NexmarkQuery<V> {
  readonly name: string
  readonly title: string
  /** `append`: every result is final; `updating`: the last result per key is the answer. */
  readonly output: 'append' | 'updating'
  build(events: EventStream): Stream<unknown, V>
  /** Updating queries: the key of a result (its last value per key is the answer). */
  keyOf?(result: V): number
  /**
   * A small integer per result; the sum over results (any order) lets runs of different systems
   * be compared without keeping their outputs.
   */
  tally(result: V): number
}

/** Folds a number (an integer below 2^53) into a hash state (cheap: no floating-point modulo). */
const mix = (h: number, x: number): number => Math.imul(h ^ (x | 0) ^ ((x / 4294967296) | 0), 0x9e3779b1)
/** The tally of a hash state: below 2^20, so sums over millions of results stay exact. */
const tallyOf = (h: number): number => (h ^ (h >>> 16)) >>> 12
const tally2 = (a: number, b: number): number => tallyOf(mix(mix(0x2545f491, a), b))
const tally3 = (a: number, b: number, c: number): number => tallyOf(mix(mix(mix(0x2545f491, a), b), c))
const tally4 = (a: number, b: number, c: number, d: number): number =>
  tallyOf(mix(mix(mix(mix(0x2545f491, a), b), c), d))

const q0: NexmarkQuery<Bid> = {
  name: 'q0',
  title: 'pass-through: every bid',
  output: 'append',
  build: (events) => events.filter(isBid),
  tally: (b) => tally4(b.auction, b.bidder, b.price, b.dateTime),
}

const q1: NexmarkQuery<EuroBid> = {
  name: 'q1',
  title: 'currency conversion: bid prices in euros',
  output: 'append',
  build: (events) =>
    events.filter(isBid).mapValues((b) => ({
      auction: b.auction,
      bidder: b.bidder,
      price: b.price * 0.908,
      dateTime: b.dateTime,
      extra: b.extra,
    })),
  tally: (b) => tally4(b.auction, b.bidder, Math.round(b.price * 1000), b.dateTime),
}

const q2: NexmarkQuery<SelectedBid> = {
  name: 'q2',
  title: 'selection: bids on auctions whose id is a multiple of 123',
  output: 'append',
  build: (events) =>
    events
      .filter(isBid)
      .filter((b) => b.auction % 123 === 0)
      .mapValues((b) => ({ auction: b.auction, price: b.price })),
  tally: (b) => tally2(b.auction, b.price),
}

/** The most bids in a window, and the auctions that have that many. */
interface Hottest {
  readonly bids: number
  readonly auctions: readonly number[]
}

const q5: NexmarkQuery<HotItem> = {
  name: 'q5',
  title: 'hot items: per 10 s window every 2 s, the auction(s) with the most bids',
  output: 'append',
  build: (events) =>
    events
      .filter(isBid)
      .groupBy((b) => b.auction, { name: 'q5-by-auction' })
      .window(hopping({ size: Q5_WINDOW_MS, every: Q5_EVERY_MS }))
      .count({ name: 'q5-bids' })
      .final()
      // A window's final count carries the time of its last ms, so a tumbling window of the hop
      // gathers the counts of exactly one hopping window (the key says which).
      .groupBy((c) => c.start, { name: 'q5-by-window' })
      .window(tumbling({ size: Q5_EVERY_MS }))
      .aggregate(
        aggregate<WindowResult<number, number>, Hottest>({
          init: () => ({ bids: 0, auctions: [] }),
          add: (top, c) =>
            c.value > top.bids
              ? { bids: c.value, auctions: [c.key] }
              : c.value === top.bids
                ? { bids: top.bids, auctions: [...top.auctions, c.key] }
                : top,
        }),
        { name: 'q5-hottest' },
      )
      .final()
      .flatMap((w) =>
        w.value.auctions.map((auction) => ({
          key: auction,
          value: { auction, bids: w.value.bids, start: w.key, end: w.key + Q5_WINDOW_MS },
        })),
      ),
  tally: (h) => tally3(h.auction, h.bids, h.start / 1000),
}

/** The highest price in a window, and the bids that offered it. */
interface Highest {
  readonly price: number
  readonly bids: readonly Bid[]
}

const q7: NexmarkQuery<HighestBid> = {
  name: 'q7',
  title: 'highest bid: per 10 s tumbling window, the bid(s) with the highest price',
  output: 'append',
  build: (events) =>
    events
      .filter(isBid)
      // One group: the maximum is over all bids, whichever partition they came from.
      .groupBy(() => 0, { name: 'q7-all' })
      .window(tumbling({ size: Q7_WINDOW_MS }))
      .aggregate(
        aggregate<Bid, Highest>({
          init: () => ({ price: -1, bids: [] }),
          add: (top, b) =>
            b.price > top.price
              ? { price: b.price, bids: [b] }
              : b.price === top.price
                ? { price: top.price, bids: [...top.bids, b] }
                : top,
        }),
        { name: 'q7-highest' },
      )
      .final()
      .flatMap((w) =>
        w.value.bids.map((b) => ({
          key: b.auction,
          value: {
            auction: b.auction,
            price: b.price,
            bidder: b.bidder,
            dateTime: b.dateTime,
            extra: b.extra,
          },
        })),
      ),
  tally: (b) => tally4(b.auction, b.price, b.bidder, b.dateTime),
}

const q11: NexmarkQuery<BidderSession> = {
  name: 'q11',
  title: 'user sessions: per bidder, the bids in each session (gap 10 s)',
  output: 'append',
  build: (events) =>
    events
      .filter(isBid)
      .groupBy((b) => b.bidder, { name: 'q11-by-bidder' })
      .window(session({ gap: Q11_GAP_MS }))
      .count({ name: 'q11-sessions' })
      .final()
      .mapValues((s) => ({ bidder: s.key, bids: s.value, start: s.start, end: s.end })),
  tally: (s) => tally4(s.bidder, s.bids, s.start, s.end),
}

const q3: NexmarkQuery<LocalItem> = {
  name: 'q3',
  title: 'local item suggestion: sellers in OR, ID or CA and their auctions in category 10',
  output: 'append',
  build: (events) => {
    const sellers = events
      .filter(isPerson)
      .filter((p) => p.state === 'OR' || p.state === 'ID' || p.state === 'CA')
      .selectKey((p) => p.id)
    return events
      .filter(isAuction)
      .filter((a) => a.category === 10)
      .selectKey((a) => a.seller)
      .join(sellers, (a, p) => ({ name: p.name, city: p.city, state: p.state, id: a.id }), {
        within: UNBOUNDED_JOIN_WINDOW,
        name: 'q3-join',
      })
  },
  tally: (r) => tally2(r.id, r.name.length * 1000 + r.city.length * 10 + r.state.charCodeAt(0)),
}

/** Bids joined with their auction, kept when inside the auction's open interval (q4, q9). */
function bidsInAuctions(events: EventStream, name: string): Stream<number, { bid: Bid; auction: Auction }> {
  const auctions = events.filter(isAuction).selectKey((a) => a.id)
  return (
    events
      .filter(isBid)
      .selectKey((b) => b.auction)
      // A bid at t meets the auctions opened at or before t (and not after).
      .join(auctions, (bid, auction) => ({ bid, auction }), {
        before: UNBOUNDED_JOIN_WINDOW,
        after: 0,
        name,
      })
      .filter((j) => j.bid.dateTime <= j.auction.expires)
  )
}

/** An auction's highest price so far, and the one before it (so a later step can correct a sum). */
interface Winning {
  readonly category: number
  readonly price: number
  readonly previous: number | null
}

const q4: NexmarkQuery<CategoryAverage> = {
  name: 'q4',
  title: 'average price per category: the mean winning bid of the auctions of each category',
  output: 'updating',
  build: (events) =>
    bidsInAuctions(events, 'q4-join')
      .groupByKey()
      .aggregate(
        aggregate<{ bid: Bid; auction: Auction }, Winning | null>({
          init: () => null,
          add: (w, j) =>
            w === null
              ? { category: j.auction.category, price: j.bid.price, previous: null }
              : { category: w.category, price: Math.max(w.price, j.bid.price), previous: w.price },
        }),
        { name: 'q4-winning' },
      )
      .toStream()
      // The DSL has no re-grouping of a table (with a subtractor): each update carries the
      // auction's previous price, and the sum per category is corrected by the difference.
      .filter((w): w is Winning => w !== null)
      .groupBy((w) => w.category, { name: 'q4-by-category' })
      .aggregate(
        aggregate<Winning, { sum: number; auctions: number }>({
          init: () => ({ sum: 0, auctions: 0 }),
          add: (acc, w) => ({
            sum: acc.sum + w.price - (w.previous ?? 0),
            auctions: acc.auctions + (w.previous === null ? 1 : 0),
          }),
        }),
        { name: 'q4-average' },
      )
      .toStream()
      .map((acc, r) => ({ key: r.key, value: { category: r.key, average: acc.sum / acc.auctions } })),
  keyOf: (r) => r.category,
  tally: (r) => tally2(r.category, Math.round(r.average * 1000)),
}

const q8: NexmarkQuery<NewSeller> = {
  name: 'q8',
  title: 'monitor new users: people who registered and opened an auction in the same 10 s window',
  output: 'append',
  build: (events) => {
    const registered = events
      .filter(isPerson)
      .groupBy((p) => p.id, { name: 'q8-by-person' })
      .window(tumbling({ size: Q8_WINDOW_MS }))
      .aggregate(aggregate<{ name: string }, string>({ init: () => '', add: (_name, p) => p.name }), {
        name: 'q8-registered',
      })
      .final()
    const sold = events
      .filter(isAuction)
      .groupBy((a) => a.seller, { name: 'q8-by-seller' })
      .window(tumbling({ size: Q8_WINDOW_MS }))
      .count({ name: 'q8-sold' })
      .final()
    // A window's final results carry the time of its last ms: the same window, the same time.
    return registered
      .join(
        sold,
        (p, a, id) => ({ id, name: p.value, start: p.start, sameWindow: p.start === a.start }),
        // The grace lets each side wait for the other to come through its repartition.
        { within: 0, grace: Q8_WINDOW_MS, name: 'q8-join' },
      )
      .filter((r) => r.sameWindow)
      .mapValues((r) => ({ id: r.id, name: r.name, start: r.start }))
  },
  tally: (r) => tally3(r.id, r.start, r.name.length),
}

/** The better of two bids: higher price, then earlier, then the lower bidder id. */
function better(a: Bid, b: Bid): Bid {
  if (a.price !== b.price) return a.price > b.price ? a : b
  if (a.dateTime !== b.dateTime) return a.dateTime < b.dateTime ? a : b
  return a.bidder <= b.bidder ? a : b
}

const q9: NexmarkQuery<WinningBid> = {
  name: 'q9',
  title: 'winning bids: every auction with its highest bid inside its open interval',
  output: 'updating',
  build: (events) =>
    bidsInAuctions(events, 'q9-join')
      .groupByKey()
      .aggregate(
        reduce<{ bid: Bid; auction: Auction }>((x, y) => (better(x.bid, y.bid) === x.bid ? x : y)),
        { name: 'q9-winning' },
      )
      .toStream()
      .filter((w): w is { bid: Bid; auction: Auction } => w !== null)
      .mapValues((w) => ({
        auction: w.auction.id,
        seller: w.auction.seller,
        category: w.auction.category,
        expires: w.auction.expires,
        bidder: w.bid.bidder,
        price: w.bid.price,
        dateTime: w.bid.dateTime,
      })),
  keyOf: (r) => r.auction,
  tally: (r) => tally4(r.auction, r.price, r.bidder, r.dateTime),
}

/** Queries the DSL cannot express yet (none since joins landed). */
export const PENDING_QUERIES: Readonly<Record<string, string>> = {}

export const QUERIES: Readonly<Record<string, NexmarkQuery<unknown>>> = {
  q0,
  q1,
  q2,
  q3,
  q4,
  q5,
  q7,
  q8,
  q9,
  q11,
} as Record<string, NexmarkQuery<unknown>>

export function queryNamed(name: string): NexmarkQuery<unknown> | undefined {
  return QUERIES[name]
}
