// The Nexmark queries on other stream libraries for Node.js, run in memory over the same
// generated events, each written as that library's users would write it. Every sink gets the
// same result rows as Eddy's queries produce, so outputs and checksums can be compared.
//
// What each cannot express (so is not run):
// - RxJS: no event time, watermarks, keyed event-time windows (windowTime/bufferTime run on the
//   scheduler's clock) or keyed state for joins: q3, q4, q5, q7, q8, q9, q11 would be the
//   hand-written loop inside a `scan`.
// - kafka-streams (nodefluent): stateless operators on most.js, per-key counters, one
//   `window(from, to)` over a fixed time range, and an `innerJoin` without windows or event
//   time: no keyed tumbling, hopping or session windows, no interval joins (q3, q4, q5, q7, q8,
//   q9, q11).
// - @kafkats/flow: q0, q1, q2, q5, q7, q11. Its windows never close (an updating table per
//   window, as Kafka Streams without suppress), so its answer is the final state of that table.
//   Its stream–stream join needs key and value codecs on both sides, and a re-keyed stream
//   (selectKey, map) has lost its key codec, so every Nexmark join (by seller, by auction) would
//   have to go through a topic, which its TestDriver does not feed back ("Stream-stream join
//   requires key and value codecs"): q3, q4, q8, q9.
import { codec, TimeWindows as KafkatsTimeWindows, SessionWindows } from '@kafkats/flow'
import { TestDriver } from '@kafkats/flow/testing'
import { KafkaStreams } from 'kafka-streams'
import { filter, map, Subject } from 'rxjs'
import type { NexmarkGenerator } from '../../src/bench/nexmark/generator.js'
import { type Bid, isBid, type NexmarkEvent } from '../../src/bench/nexmark/model.js'
import {
  type BidderSession,
  type EuroBid,
  type HighestBid,
  type HotItem,
  Q5_EVERY_MS,
  Q5_WINDOW_MS,
  Q7_WINDOW_MS,
  Q11_GAP_MS,
  type SelectedBid,
} from '../../src/bench/nexmark/queries.js'
import type { Sink } from './loop.js'

export type PeerQuery = (gen: NexmarkGenerator, events: number, sink: Sink) => Promise<void>

const toEuros = (b: Bid): EuroBid => ({
  auction: b.auction,
  bidder: b.bidder,
  price: b.price * 0.908,
  dateTime: b.dateTime,
  extra: b.extra,
})
const toSelected = (b: Bid): SelectedBid => ({ auction: b.auction, price: b.price })
const isSelected = (b: Bid): boolean => b.auction % 123 === 0

// ---- RxJS ---------------------------------------------------------------------------------

function rxjs(build: (events: Subject<NexmarkEvent>) => { subscribe(sink: Sink): unknown }): PeerQuery {
  return async (gen, events, sink) => {
    const subject = new Subject<NexmarkEvent>()
    build(subject).subscribe(sink)
    for (let id = 0; id < events; id++) subject.next(gen.event(id))
    subject.complete()
  }
}

export const RXJS_QUERIES: Readonly<Record<string, PeerQuery>> = {
  q0: rxjs((s) => s.pipe(filter(isBid))),
  q1: rxjs((s) => s.pipe(filter(isBid), map(toEuros))),
  q2: rxjs((s) => s.pipe(filter(isBid), filter(isSelected), map(toSelected))),
}

// ---- kafka-streams (nodefluent) -----------------------------------------------------------

interface KStreamLike {
  filter(pred: (v: never) => boolean): KStreamLike
  map(fn: (v: never) => unknown): KStreamLike
  forEach(fn: (v: never) => void): Promise<void>
}

/** A KStream without a topic (fed with writeToStream), so nothing connects to Kafka. */
function kafkaStreams(build: (events: KStreamLike) => KStreamLike): PeerQuery {
  return async (gen, events, sink) => {
    const factory = new KafkaStreams({ kafkaHost: '127.0.0.1:9', clientName: 'nexmark' })
    const stream = factory.getKStream(undefined)
    void build(stream as unknown as KStreamLike).forEach(sink as (v: never) => void)
    await stream.start()
    // most.js delivers on its scheduler: write a batch, then let it drain.
    const batch = 10_000
    for (let from = 0; from < events; from += batch) {
      const to = Math.min(events, from + batch)
      for (let id = from; id < to; id++) stream.writeToStream(gen.event(id))
      await new Promise((resolve) => setImmediate(resolve))
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
}

export const KAFKA_STREAMS_QUERIES: Readonly<Record<string, PeerQuery>> = {
  q0: kafkaStreams((s) => s.filter(isBid as (v: never) => boolean)),
  q1: kafkaStreams((s) => s.filter(isBid as (v: never) => boolean).map(toEuros as (v: never) => unknown)),
  q2: kafkaStreams((s) =>
    s
      .filter(isBid as (v: never) => boolean)
      .filter(isSelected as (v: never) => boolean)
      .map(toSelected as (v: never) => unknown),
  ),
}

// ---- @kafkats/flow ------------------------------------------------------------------------

/** Values stay objects (as in Eddy's in-memory runs): no bytes between the driver and the flow. */
const objects = { encode: (v: unknown) => v as Buffer, decode: (b: Buffer) => b as unknown }

type KafkatsInput = ReturnType<TestDriver['input']>

/**
 * A flow built on the library's TestDriver (its mocked consumer and producer), each event sent
 * with its event time as the record timestamp, awaited one by one as the driver requires.
 */
function kafkats(build: (events: KafkatsInput, sink: Sink) => (() => void) | undefined): PeerQuery {
  return async (gen, events, sink) => {
    const driver = new TestDriver({ applicationId: 'nexmark' })
    const finish = build(driver.input('nexmark-events', { value: objects as never }), sink)
    const ctx = await driver.start()
    const opts = { codec: objects as never, timestamp: 0n }
    for (let id = 0; id < events; id++) {
      const e = gen.event(id)
      opts.timestamp = BigInt(e.dateTime)
      await ctx.send('nexmark-events', e, opts)
    }
    finish?.()
    await driver.stop()
  }
}

interface Windowed<K> {
  readonly key: K
  readonly window: { readonly start: number; readonly end: number }
}

export const KAFKATS_QUERIES: Readonly<Record<string, PeerQuery>> = {
  q0: kafkats((s, sink) => {
    s.filter((_k, e) => isBid(e as NexmarkEvent)).peek((_k, b) => sink(b))
    return undefined
  }),
  q1: kafkats((s, sink) => {
    s.filter((_k, e) => isBid(e as NexmarkEvent))
      .mapValues((b) => toEuros(b as unknown as Bid))
      .peek((_k, v) => sink(v))
    return undefined
  }),
  q2: kafkats((s, sink) => {
    s.filter((_k, e) => isBid(e as NexmarkEvent) && isSelected(e as unknown as Bid))
      .mapValues((b) => toSelected(b as unknown as Bid))
      .peek((_k, v) => sink(v))
    return undefined
  }),
  q5: kafkats((s, sink) => {
    // Counts per auction and hopping window (updated per bid), then per window the most bids and
    // the auctions that have them; counts only grow by one, so the running maximum is exact.
    const hottest = new Map<number, { bids: number; auctions: number[] }>()
    s.filter((_k, e) => isBid(e as NexmarkEvent))
      .groupBy((_k, b) => (b as unknown as Bid).auction, {
        key: codec.json<number>(),
        value: objects as never,
      })
      .windowedBy(KafkatsTimeWindows.of(Q5_WINDOW_MS).advanceBy(Q5_EVERY_MS))
      .count()
      .toStream()
      .map((w, n) => {
        const k = w as unknown as Windowed<number>
        return [k.window.start, { auction: k.key, bids: n as number }] as const
      })
      .groupByKey({ key: codec.json<number>(), value: objects as never })
      .aggregate(
        () => ({ bids: 0, auctions: [] as number[] }),
        (_start, c, top) => {
          const { auction, bids } = c as unknown as { auction: number; bids: number }
          if (bids > top.bids) return { bids, auctions: [auction] }
          if (bids === top.bids) return { bids, auctions: [...top.auctions, auction] }
          return top
        },
        { value: objects as never },
      )
      .toStream()
      .peek((start, top) => hottest.set(start as number, top as { bids: number; auctions: number[] }))
    return () => {
      for (const [start, top] of hottest) {
        for (const auction of top.auctions) {
          const out: HotItem = { auction, bids: top.bids, start, end: start + Q5_WINDOW_MS }
          sink(out)
        }
      }
    }
  }),
  q7: kafkats((s, sink) => {
    const highest = new Map<number, { price: number; bids: Bid[] }>()
    s.filter((_k, e) => isBid(e as NexmarkEvent))
      .groupBy(() => 0, { key: codec.json<number>(), value: objects as never })
      .windowedBy(KafkatsTimeWindows.of(Q7_WINDOW_MS))
      .aggregate(
        () => ({ price: -1, bids: [] as Bid[] }),
        (_k, v, top) => {
          const b = v as unknown as Bid
          if (b.price > top.price) return { price: b.price, bids: [b] }
          if (b.price === top.price) return { price: top.price, bids: [...top.bids, b] }
          return top
        },
        { value: objects as never },
      )
      .toStream()
      .peek((w, top) =>
        highest.set((w as unknown as Windowed<number>).window.start, top as { price: number; bids: Bid[] }),
      )
    return () => {
      for (const top of highest.values()) {
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
    }
  }),
  q11: kafkats((s, sink) => {
    // Sessions per bidder; a merged session's old key gets a null (a tombstone).
    const sessions = new Map<string, { bidder: number; start: number; end: number; bids: number }>()
    s.filter((_k, e) => isBid(e as NexmarkEvent))
      .groupBy((_k, b) => (b as unknown as Bid).bidder, {
        key: codec.json<number>(),
        value: objects as never,
      })
      .windowedBy(SessionWindows.withInactivityGap(Q11_GAP_MS))
      .count()
      .toStream()
      .peek((w, n) => {
        const k = w as unknown as Windowed<number>
        const id = `${k.key}/${k.window.start}/${k.window.end}`
        if (n === null) sessions.delete(id)
        else sessions.set(id, { bidder: k.key, start: k.window.start, end: k.window.end, bids: n as number })
      })
    return () => {
      for (const s of sessions.values()) {
        const out: BidderSession = { bidder: s.bidder, bids: s.bids, start: s.start, end: s.end }
        sink(out)
      }
    }
  }),
}
