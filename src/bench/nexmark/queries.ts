// The Nexmark queries, written with Eddy's public DSL as a user would write them. Each takes the
// stream of all events (persons, auctions and bids in one stream, in event-time order per
// partition) and returns its results; the caller attaches the sink.
//
// Event time is the record timestamp, which is each event's `dateTime`. Windows close when the
// watermark passes their end; the runs give it 4 s of out-of-orderness, as the reference does.
import { aggregate, hopping, type Stream, session, tumbling, type WindowResult } from '../../index.js'
import { type Bid, isBid, type NexmarkEvent } from './model.js'

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
/** The reference's watermark: event time less 4 s. */
export const OUT_OF_ORDERNESS_MS = 4_000

export interface NexmarkQuery<V> {
  readonly name: string
  readonly title: string
  /** `append`: every result is final; `updating`: the last result per key is the answer. */
  readonly output: 'append' | 'updating'
  build(events: EventStream): Stream<unknown, V>
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

/** Queries that need joins, which the DSL does not have yet. */
export const PENDING_QUERIES: Readonly<Record<string, string>> = {
  q3: 'a stream-stream join of persons and auctions',
  q4: 'a join of bids to auctions within their open interval',
  q8: 'a windowed join of persons and auctions',
  q9: 'a join of bids to auctions within their open interval',
}

export const QUERIES: Readonly<Record<string, NexmarkQuery<unknown>>> = {
  q0,
  q1,
  q2,
  q5,
  q7,
  q11,
} as Record<string, NexmarkQuery<unknown>>

export function queryNamed(name: string): NexmarkQuery<unknown> | undefined {
  return QUERIES[name]
}
