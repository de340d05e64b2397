// The Nexmark event generator, following the rules of the reference generator (see
// docs/benchmarks.md, "Nexmark"). Every event is a pure function of its id: a PRNG is seeded
// from the id, so any split of the id range across generators, processes or machines yields the
// same events, and a batch oracle can recompute them.
//
// Our choices where the reference leaves room: the first event id is 0 (so the stream opens
// with a person and three auctions before the first bid), the base time is fixed (results are
// reproducible from run to run), and strings are slices of one pool of random letters (cheap
// enough to generate millions of events a second).
import { EddyError } from '../../core/errors.js'
import type { Auction, Bid, NexmarkEvent, Person } from './model.js'

export interface GeneratorOptions {
  /** Events per second of event time over all generators (default 10,000,000, the reference's). */
  readonly rate?: number
  /** Generators sharing one timeline (default 8, as the reference runs): with `rate`, the spacing. */
  readonly generators?: number
  /** Event time of event 0 (default 2015-07-15T00:00:00Z). */
  readonly baseTimeMs?: number
  /** Mixed into every event's seed (default 0). */
  readonly seed?: number
}

export const DEFAULT_RATE = 10_000_000
export const DEFAULT_GENERATORS = 8
export const DEFAULT_BASE_TIME_MS = Date.UTC(2015, 6, 15)

/** Events come in cycles of 50 ids: 1 person, 3 auctions, 46 bids. */
const CYCLE = 50
const PERSONS_PER_CYCLE = 1
const AUCTIONS_PER_CYCLE = 3
const FIRST_PERSON_ID = 1000
const FIRST_AUCTION_ID = 1000
const FIRST_CATEGORY_ID = 10
const CATEGORIES = 5
/** Hot auctions and people: the latest id rounded down to a multiple of this. */
const HOT_ROUNDING = 100
const AUCTIONS_IN_FLIGHT = 100
const AUCTION_ID_LEAD = 10
const PEOPLE_ACTIVE = 1000
const PERSON_ID_LEAD = 10
const CHANNELS = 10_000
/** Events over which the auctions in flight are opened: an auction lasts about twice their span. */
const LN_1E6 = 6 * Math.LN10
const EVENTS_PER_AUCTION_SPAN = Math.floor((AUCTIONS_IN_FLIGHT * CYCLE) / AUCTIONS_PER_CYCLE)
/** Average sizes of each kind of event, in bytes of field data; `extra` pads to them. */
const PERSON_BYTES = 200
const AUCTION_BYTES = 500
const BID_BYTES = 100

const FIRST_NAMES = [
  'Peter',
  'Paul',
  'Luke',
  'John',
  'Saul',
  'Vicky',
  'Kate',
  'Julie',
  'Sarah',
  'Deiter',
  'Walter',
]
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris']
const CITIES = [
  'Phoenix',
  'Los Angeles',
  'San Francisco',
  'Boise',
  'Portland',
  'Bend',
  'Redmond',
  'Seattle',
  'Kent',
  'Cheyenne',
]
const STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY']
const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple']
const HOT_URLS = HOT_CHANNELS.map((c) => `https://www.nexmark.com/${c.toLowerCase()}/item.htm?query=1`)

/** mulberry32 from a seed: the generator of the fixed tables below (not of events). */
function tableRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Random lower-case letters; random strings are slices of it (a slice of a string is not a copy). */
const LETTERS_BYTES = 1 << 20
const LETTERS = (() => {
  const rnd = tableRandom(0x5eed)
  const codes = new Uint8Array(LETTERS_BYTES)
  for (let i = 0; i < codes.length; i++) codes[i] = 97 + Math.floor(rnd() * 26)
  return Buffer.from(codes).toString('latin1')
})()

/** Each of the channels `channel-<n>` has one fixed url. */
const CHANNEL_NAMES: string[] = []
const CHANNEL_URLS: string[] = []
{
  const rnd = tableRandom(0xc4a7)
  const word = () => LETTERS.substr(Math.floor(rnd() * (LETTERS_BYTES - 5)), 5)
  for (let n = 0; n < CHANNELS; n++) {
    CHANNEL_NAMES.push(`channel-${n}`)
    CHANNEL_URLS.push(
      `https://www.nexmark.com/${word()}/${word()}/${word()}/item.htm?query=1&channel_id=${n}`,
    )
  }
}

function mix32(x: number): number {
  let h = x | 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The id of the latest person at event `id` (0-based). */
function lastPersonBase0(id: number): number {
  return Math.floor(id / CYCLE)
}

/** The id of the latest auction at event `id` (0-based; -1 before the first). */
function lastAuctionBase0(id: number): number {
  const cycle = Math.floor(id / CYCLE)
  const offset = id % CYCLE
  if (offset < PERSONS_PER_CYCLE) return cycle * AUCTIONS_PER_CYCLE - 1
  if (offset < PERSONS_PER_CYCLE + AUCTIONS_PER_CYCLE)
    return cycle * AUCTIONS_PER_CYCLE + offset - PERSONS_PER_CYCLE
  return cycle * AUCTIONS_PER_CYCLE + AUCTIONS_PER_CYCLE - 1
}

export class NexmarkGenerator {
  readonly rate: number
  readonly generators: number
  readonly baseTimeMs: number
  readonly seed: number
  /** Microseconds of event time between consecutive events. */
  readonly interEventDelayUs: number
  /** The event time of the span over which the auctions in flight open (an auction lasts up to twice it). */
  readonly auctionSpanMs: number
  /** The current event's PRNG state (mulberry32). */
  private s = 0
  /** The seed's share of every event's seed (for ids below 2^32). */
  private readonly seedMix: number

  constructor(opts: GeneratorOptions = {}) {
    this.rate = opts.rate ?? DEFAULT_RATE
    this.generators = opts.generators ?? DEFAULT_GENERATORS
    this.baseTimeMs = opts.baseTimeMs ?? DEFAULT_BASE_TIME_MS
    this.seed = opts.seed ?? 0
    if (!(this.rate > 0) || !Number.isFinite(this.rate))
      throw new EddyError('INVALID_ARGUMENT', `the Nexmark event rate must be > 0, got ${this.rate}`)
    if (!Number.isSafeInteger(this.generators) || this.generators < 1)
      throw new EddyError(
        'INVALID_ARGUMENT',
        `the Nexmark generators must be an integer >= 1, got ${this.generators}`,
      )
    this.seedMix = mix32(Math.imul(this.seed, 0x9e3779b9))
    this.interEventDelayUs = (1e6 / this.rate) * this.generators
    this.auctionSpanMs = this.timestampOf(EVENTS_PER_AUCTION_SPAN) - this.baseTimeMs
  }

  /** The event time of event `id`. */
  timestampOf(id: number): number {
    return this.baseTimeMs + Math.floor((id * this.interEventDelayUs) / 1000)
  }

  /** The event with this id: the same for the same id and options, whoever asks. */
  event(id: number): NexmarkEvent {
    const high = Math.floor(id / 4294967296)
    const seedMix = high === 0 ? this.seedMix : mix32(high + Math.imul(this.seed, 0x9e3779b9))
    this.s = mix32((id >>> 0) ^ seedMix) | 0
    const offset = id % CYCLE
    if (offset < PERSONS_PER_CYCLE) return this.person(id)
    if (offset < PERSONS_PER_CYCLE + AUCTIONS_PER_CYCLE) return this.auction(id)
    return this.bid(id)
  }

  /** 32 random bits (as a non-negative integer) from the current event's PRNG (mulberry32). */
  private bits(): number {
    const a = (this.s + 0x6d2b79f5) | 0
    this.s = a
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** Uniform in [0, 1). */
  private next(): number {
    return this.bits() / 4294967296
  }

  /** Uniform integer in [0, n). */
  private int(n: number): number {
    return Math.floor(this.next() * n)
  }

  private letters(length: number): string {
    return LETTERS.substr(this.int(LETTERS_BYTES - length), length)
  }

  /** Padding so an event of `size` bytes reaches `target` on average (±20%). */
  private extra(size: number, target: number): string {
    if (size >= target) return ''
    const average = target - size
    const delta = Math.round(average * 0.2)
    return this.letters(average - delta + this.int(2 * delta + 1))
  }

  /** Log-uniform from 100 to 100,000,000 cents: 10^(6u) × 100, as e^(6u ln 10) (cheaper than a power). */
  private price(): number {
    return Math.round(Math.exp(this.next() * LN_1E6) * 100)
  }

  /** One of the ~1000 most recent people, or up to 10 not yet registered. */
  private recentPerson(id: number): number {
    const people = lastPersonBase0(id) + 1
    const active = Math.min(people, PEOPLE_ACTIVE)
    return people - active + this.int(active + PERSON_ID_LEAD)
  }

  private person(id: number): Person {
    const name = `${FIRST_NAMES[this.int(FIRST_NAMES.length)]} ${LAST_NAMES[this.int(LAST_NAMES.length)]}`
    const emailAddress = `${this.letters(7)}@${this.letters(5)}.com`
    const creditCard = `${this.digits4()} ${this.digits4()} ${this.digits4()} ${this.digits4()}`
    const city = CITIES[this.int(CITIES.length)]!
    const state = STATES[this.int(STATES.length)]!
    const size = 8 + name.length + emailAddress.length + creditCard.length + city.length + state.length + 8
    return {
      kind: 'person',
      id: FIRST_PERSON_ID + lastPersonBase0(id),
      name,
      emailAddress,
      creditCard,
      city,
      state,
      dateTime: this.timestampOf(id),
      extra: this.extra(size, PERSON_BYTES),
    }
  }

  private digits4(): string {
    return String(1000 + this.int(9000))
  }

  private auction(id: number): Auction {
    const dateTime = this.timestampOf(id)
    const seller =
      this.int(4) > 0 ? Math.floor(lastPersonBase0(id) / HOT_ROUNDING) * HOT_ROUNDING : this.recentPerson(id)
    const initialBid = this.price()
    const itemName = this.letters(20)
    const description = this.letters(100)
    const size = 8 + itemName.length + description.length + 8 + 8 + 8 + 8 + 8 + 8
    return {
      kind: 'auction',
      id: FIRST_AUCTION_ID + lastAuctionBase0(id),
      itemName,
      description,
      initialBid,
      reserve: initialBid + this.price(),
      dateTime,
      expires: dateTime + 1 + this.int(Math.max(2 * this.auctionSpanMs, 1)),
      seller: FIRST_PERSON_ID + seller,
      category: FIRST_CATEGORY_ID + this.int(CATEGORIES),
      extra: this.extra(size, AUCTION_BYTES),
    }
  }

  private bid(id: number): Bid {
    // One draw decides the coin flips: a hot auction (1 in 2), a hot bidder (3 in 4), a hot
    // channel (1 in 2) and which channel.
    const r = this.bits()
    const newest = lastAuctionBase0(id)
    let auction: number
    if ((r & 1) === 0) {
      auction = Math.floor(newest / HOT_ROUNDING) * HOT_ROUNDING
    } else {
      const oldest = Math.max(newest - AUCTIONS_IN_FLIGHT, 0)
      auction = oldest + this.int(newest - oldest + 1 + AUCTION_ID_LEAD)
    }
    const bidder =
      ((r >>> 1) & 3) !== 0
        ? Math.floor(lastPersonBase0(id) / HOT_ROUNDING) * HOT_ROUNDING + 1
        : this.recentPerson(id)
    const price = this.price()
    let channel: string
    let url: string
    if (((r >>> 3) & 1) === 0) {
      const c = (r >>> 4) & 3
      channel = HOT_CHANNELS[c]!
      url = HOT_URLS[c]!
    } else {
      const c = (r >>> 4) % CHANNELS
      channel = CHANNEL_NAMES[c]!
      url = CHANNEL_URLS[c]!
    }
    return {
      kind: 'bid',
      auction: FIRST_AUCTION_ID + auction,
      bidder: FIRST_PERSON_ID + bidder,
      price,
      channel,
      url,
      dateTime: this.timestampOf(id),
      extra: this.extra(8 + 8 + 8 + 8 + channel.length + url.length, BID_BYTES),
    }
  }
}
