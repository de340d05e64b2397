// The Nexmark queries as hand-written loops over the generator: no framework, the least work
// this machine can do for the same results (the limit Eddy is measured against). Same
// semantics as Eddy's queries: the watermark is the newest event time less 4 s; a window closes
// (emits, and is forgotten) when the watermark reaches its end; the end of input closes the rest.
import type { NexmarkGenerator } from '../../src/bench/nexmark/generator.js'
import type { Auction, Bid } from '../../src/bench/nexmark/model.js'
import {
  type BidderSession,
  type EuroBid,
  type HighestBid,
  type HotItem,
  type LocalItem,
  type NewSeller,
  OUT_OF_ORDERNESS_MS,
  Q5_EVERY_MS,
  Q5_WINDOW_MS,
  Q7_WINDOW_MS,
  Q8_WINDOW_MS,
  Q11_GAP_MS,
  type SelectedBid,
  type WinningBid,
} from '../../src/bench/nexmark/queries.js'

export type Sink = (result: unknown) => void

function q0(gen: NexmarkGenerator, events: number, sink: Sink): void {
  for (let id = 0; id < events; id++) {
    const e = gen.event(id)
    if (e.kind === 'bid') sink(e)
  }
}

function q1(gen: NexmarkGenerator, events: number, sink: Sink): void {
  for (let id = 0; id < events; id++) {
    const e = gen.event(id)
    if (e.kind === 'bid') {
      const out: EuroBid = {
        auction: e.auction,
        bidder: e.bidder,
        price: e.price * 0.908,
        dateTime: e.dateTime,
        extra: e.extra,
      }
      sink(out)
    }
  }
}

function q2(gen: NexmarkGenerator, events: number, sink: Sink): void {
  for (let id = 0; id < events; id++) {
    const e = gen.event(id)
    if (e.kind === 'bid' && e.auction % 123 === 0) {
      const out: SelectedBid = { auction: e.auction, price: e.price }
      sink(out)
    }
  }
}

/** Open windows by start, oldest first; each closes once the watermark reaches start + size. */
class OpenWindows<S> {
  readonly starts: number[] = []
  readonly state = new Map<number, S>()

  /** The window's state, created when new (`null` if it has already closed). */
  get(start: number, watermark: number, size: number, create: () => S): S | null {
    let s = this.state.get(start)
    if (s !== undefined) return s
    if (start + size <= watermark) return null
    s = create()
    this.state.set(start, s)
    this.starts.push(start)
    if (this.starts.length > 1 && this.starts[this.starts.length - 2]! > start)
      this.starts.sort((a, b) => a - b)
    return s
  }

  closeUpTo(watermark: number, size: number, emit: (start: number, s: S) => void): void {
    while (this.starts.length > 0 && this.starts[0]! + size <= watermark) {
      const start = this.starts.shift()!
      emit(start, this.state.get(start)!)
      this.state.delete(start)
    }
  }
}

function q5(gen: NexmarkGenerator, events: number, sink: Sink): void {
  const windows = new OpenWindows<Map<number, number>>()
  const newCounts = () => new Map<number, number>()
  const emit = (start: number, counts: Map<number, number>) => {
    let top = 0
    for (const n of counts.values()) if (n > top) top = n
    for (const [auction, n] of counts) {
      if (n === top) {
        const out: HotItem = { auction, bids: n, start, end: start + Q5_WINDOW_MS }
        sink(out)
      }
    }
  }
  let maxTs = Number.NEGATIVE_INFINITY
  let watermark = Number.NEGATIVE_INFINITY
  for (let id = 0; id < events; id++) {
    const e = gen.event(id)
    const t = e.dateTime
    if (e.kind === 'bid') {
      const last = Math.floor(t / Q5_EVERY_MS) * Q5_EVERY_MS
      for (let start = last - Q5_WINDOW_MS + Q5_EVERY_MS; start <= last; start += Q5_EVERY_MS) {
        const counts = windows.get(start, watermark, Q5_WINDOW_MS, newCounts)
        if (counts !== null) counts.set(e.auction, (counts.get(e.auction) ?? 0) + 1)
      }
    }
    if (t > maxTs) {
      maxTs = t
      watermark = t - OUT_OF_ORDERNESS_MS
      windows.closeUpTo(watermark, Q5_WINDOW_MS, emit)
    }
  }
  windows.closeUpTo(Number.POSITIVE_INFINITY, Q5_WINDOW_MS, emit)
}

function q7(gen: NexmarkGenerator, events: number, sink: Sink): void {
  const windows = new OpenWindows<{ price: number; bids: Bid[] }>()
  const newTop = () => ({ price: -1, bids: [] as Bid[] })
  const emit = (_start: number, top: { price: number; bids: Bid[] }) => {
    for (const b of top.bids) {
      const out: HighestBid = {
        auction: b.auction,
        price: b.price,
        bidder: b.bidder,
        dateTime: b.dateTime,
        extra: b.extra,
      }
      sink(out)
    }
  }
  let maxTs = Number.NEGATIVE_INFINITY
  let watermark = Number.NEGATIVE_INFINITY
  for (let id = 0; id < events; id++) {
    const e = gen.event(id)
    const t = e.dateTime
    if (e.kind === 'bid') {
      const top = windows.get(Math.floor(t / Q7_WINDOW_MS) * Q7_WINDOW_MS, watermark, Q7_WINDOW_MS, newTop)
      if (top !== null) {
        if (e.price > top.price) {
          top.price = e.price
          top.bids = [e]
        } else if (e.price === top.price) top.bids.push(e)
      }
    }
    if (t > maxTs) {
      maxTs = t
      watermark = t - OUT_OF_ORDERNESS_MS
      windows.closeUpTo(watermark, Q7_WINDOW_MS, emit)
    }
  }
  windows.closeUpTo(Number.POSITIVE_INFINITY, Q7_WINDOW_MS, emit)
}

interface Session {
  start: number
  end: number
  bids: number
}

function q11(gen: NexmarkGenerator, events: number, sink: Sink): void {
  // Each bidder's open sessions; a queue of (close time, bidder) checked as the watermark moves
  // (an entry whose session has since grown is skipped).
  const open = new Map<number, Session[]>()
  const closeAt: number[] = []
  const closeBidder: number[] = []
  let head = 0
  const emit = (bidder: number, s: Session) => {
    const out: BidderSession = { bidder, bids: s.bids, start: s.start, end: s.end }
    sink(out)
  }
  const closeUpTo = (watermark: number) => {
    while (head < closeAt.length && closeAt[head]! <= watermark) {
      const bidder = closeBidder[head]!
      const at = closeAt[head]!
      head++
      const sessions = open.get(bidder)
      if (sessions === undefined) continue
      for (let i = 0; i < sessions.length; i++) {
        const s = sessions[i]!
        if (s.end + Q11_GAP_MS === at) {
          emit(bidder, s)
          sessions.splice(i, 1)
          break
        }
      }
      if (sessions.length === 0) open.delete(bidder)
    }
    if (head > 65_536 && head * 2 > closeAt.length) {
      closeAt.splice(0, head)
      closeBidder.splice(0, head)
      head = 0
    }
  }
  let maxTs = Number.NEGATIVE_INFINITY
  let watermark = Number.NEGATIVE_INFINITY
  for (let id = 0; id < events; id++) {
    const e = gen.event(id)
    const t = e.dateTime
    if (e.kind === 'bid') {
      let sessions = open.get(e.bidder)
      if (sessions === undefined) {
        sessions = []
        open.set(e.bidder, sessions)
      }
      // Merge every session the bid is within the gap of.
      let merged: Session | null = null
      for (let i = 0; i < sessions.length; i++) {
        const s = sessions[i]!
        if (t < s.start - Q11_GAP_MS || t > s.end + Q11_GAP_MS) continue
        if (merged === null) merged = s
        else {
          merged.start = Math.min(merged.start, s.start)
          merged.end = Math.max(merged.end, s.end)
          merged.bids += s.bids
          sessions.splice(i--, 1)
        }
      }
      if (merged === null) {
        if (t + Q11_GAP_MS > watermark) {
          merged = { start: t, end: t, bids: 0 }
          sessions.push(merged)
        }
      } else if (merged.end + Q11_GAP_MS <= watermark) merged = null
      if (merged !== null) {
        const before = merged.end
        merged.bids++
        if (t < merged.start) merged.start = t
        if (t > merged.end) merged.end = t
        if (merged.end !== before || merged.bids === 1) {
          closeAt.push(merged.end + Q11_GAP_MS)
          closeBidder.push(e.bidder)
          // Out of order close times would need a heap; in-order input never makes them.
          if (closeAt.length - head > 1 && closeAt[closeAt.length - 2]! > closeAt[closeAt.length - 1]!) {
            throw new Error('q11 loop: close times out of order (the input is out of order)')
          }
        }
      }
    }
    if (t > maxTs) {
      maxTs = t
      watermark = t - OUT_OF_ORDERNESS_MS
      closeUpTo(watermark)
    }
  }
  closeUpTo(Number.POSITIVE_INFINITY)
}

function q3(gen: NexmarkGenerator, events: number, sink: Sink): void {
  // An unbounded join: every seller and every auction kept, each pair emitted when both are in.
  const sellers = new Map<number, { name: string; city: string; state: string }>()
  const auctionsBySeller = new Map<number, number[]>()
  for (let id = 0; id < events; id++) {
    const e = gen.event(id)
    if (e.kind === 'person') {
      if (e.state !== 'OR' && e.state !== 'ID' && e.state !== 'CA') continue
      sellers.set(e.id, e)
      for (const a of auctionsBySeller.get(e.id) ?? []) {
        const out: LocalItem = { name: e.name, city: e.city, state: e.state, id: a }
        sink(out)
      }
    } else if (e.kind === 'auction' && e.category === 10) {
      const list = auctionsBySeller.get(e.seller)
      if (list === undefined) auctionsBySeller.set(e.seller, [e.id])
      else list.push(e.id)
      const p = sellers.get(e.seller)
      if (p !== undefined) {
        const out: LocalItem = { name: p.name, city: p.city, state: p.state, id: e.id }
        sink(out)
      }
    }
  }
}

/**
 * Bids in their auction's open interval, in event order (q4, q9). A bid may name an auction not
 * opened yet: it waits (until the watermark passes it) in case the auction opens at its very time.
 */
function bidsInAuctions(gen: NexmarkGenerator, events: number, onBid: (b: Bid, a: Auction) => void): void {
  const auctions = new Map<number, Auction>()
  const waiting = new Map<number, Bid[]>()
  const waitingOrder: Bid[] = []
  let head = 0
  let maxTs = Number.NEGATIVE_INFINITY
  for (let id = 0; id < events; id++) {
    const e = gen.event(id)
    const t = e.dateTime
    if (e.kind === 'auction') {
      auctions.set(e.id, e)
      const bids = waiting.get(e.id)
      if (bids !== undefined) {
        waiting.delete(e.id)
        for (const b of bids) if (b.dateTime >= e.dateTime && b.dateTime <= e.expires) onBid(b, e)
      }
    } else if (e.kind === 'bid') {
      const a = auctions.get(e.auction)
      if (a !== undefined) {
        if (t >= a.dateTime && t <= a.expires) onBid(e, a)
      } else {
        const list = waiting.get(e.auction)
        if (list === undefined) waiting.set(e.auction, [e])
        else list.push(e)
        waitingOrder.push(e)
      }
    }
    if (t > maxTs) {
      maxTs = t
      const watermark = t - OUT_OF_ORDERNESS_MS
      while (head < waitingOrder.length && waitingOrder[head]!.dateTime <= watermark) {
        const b = waitingOrder[head++]!
        const list = waiting.get(b.auction)
        if (list !== undefined) {
          const i = list.indexOf(b)
          if (i >= 0) list.splice(i, 1)
          if (list.length === 0) waiting.delete(b.auction)
        }
      }
      if (head > 65_536) {
        waitingOrder.splice(0, head)
        head = 0
      }
    }
  }
}

function q4(gen: NexmarkGenerator, events: number, sink: Sink): void {
  const winning = new Map<number, number>()
  const byCategory = new Map<number, { sum: number; auctions: number }>()
  bidsInAuctions(gen, events, (b, a) => {
    const previous = winning.get(a.id)
    const price = previous === undefined ? b.price : Math.max(previous, b.price)
    winning.set(a.id, price)
    let c = byCategory.get(a.category)
    if (c === undefined) {
      c = { sum: 0, auctions: 0 }
      byCategory.set(a.category, c)
    }
    c.sum += price - (previous ?? 0)
    if (previous === undefined) c.auctions++
    sink({ category: a.category, average: c.sum / c.auctions })
  })
}

function q8(gen: NexmarkGenerator, events: number, sink: Sink): void {
  // Per open window: who registered (id → name), and who sold.
  const windows = new OpenWindows<{ registered: Map<number, string>; sellers: Set<number> }>()
  const create = () => ({ registered: new Map<number, string>(), sellers: new Set<number>() })
  const emit = (start: number, w: { registered: Map<number, string>; sellers: Set<number> }) => {
    for (const [id, name] of w.registered) {
      if (w.sellers.has(id)) {
        const out: NewSeller = { id, name, start }
        sink(out)
      }
    }
  }
  let maxTs = Number.NEGATIVE_INFINITY
  let watermark = Number.NEGATIVE_INFINITY
  for (let id = 0; id < events; id++) {
    const e = gen.event(id)
    const t = e.dateTime
    if (e.kind !== 'bid') {
      const w = windows.get(Math.floor(t / Q8_WINDOW_MS) * Q8_WINDOW_MS, watermark, Q8_WINDOW_MS, create)
      if (w !== null) {
        if (e.kind === 'person') w.registered.set(e.id, e.name)
        else w.sellers.add(e.seller)
      }
    }
    if (t > maxTs) {
      maxTs = t
      watermark = t - OUT_OF_ORDERNESS_MS
      windows.closeUpTo(watermark, Q8_WINDOW_MS, emit)
    }
  }
  windows.closeUpTo(Number.POSITIVE_INFINITY, Q8_WINDOW_MS, emit)
}

function q9(gen: NexmarkGenerator, events: number, sink: Sink): void {
  const winning = new Map<number, Bid>()
  bidsInAuctions(gen, events, (b, a) => {
    const w = winning.get(a.id)
    let best = b
    if (w !== undefined) {
      if (w.price !== b.price) best = w.price > b.price ? w : b
      else if (w.dateTime !== b.dateTime) best = w.dateTime < b.dateTime ? w : b
      else best = w.bidder <= b.bidder ? w : b
    }
    winning.set(a.id, best)
    const out: WinningBid = {
      auction: a.id,
      seller: a.seller,
      category: a.category,
      expires: a.expires,
      bidder: best.bidder,
      price: best.price,
      dateTime: best.dateTime,
    }
    sink(out)
  })
}

export const LOOP_QUERIES: Readonly<
  Record<string, (gen: NexmarkGenerator, events: number, sink: Sink) => void>
> = {
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
}
