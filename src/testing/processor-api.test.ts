// The low-level processor API through the TestDriver: declared stores, event-time and
// processing-time timers.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { json } from '../core/serde.js'
import type { StoreSpec } from '../core/store.js'
import type { StreamRecord } from '../core/stream-record.js'
import { Topology } from '../dsl/stream.js'
import type { Processor, ProcessorContext, Timer } from '../plan/processor.js'
import { TestDriver } from './test-driver.js'

const kv = (name: string): StoreSpec => ({ name, kind: 'kv', keySerde: json(), valueSerde: json() })

type Ctx = ProcessorContext<string | null, string>

/** A record the processor makes itself (from a timer): no source position. */
function made(key: string | null, value: string, timestamp: number): StreamRecord<string | null, string> {
  return { key, value, timestamp, headers: [], topic: '', partition: -1, offset: -1 }
}

/** Drops a key's repeats: remembers each key's first value in a store. */
class Deduplicate implements Processor<string | null, string, string | null, string> {
  process(r: StreamRecord<string | null, string>, ctx: Ctx): void {
    const seen = ctx.keyValueStore<string | null, string>('seen')
    if (seen.get(r.key) !== undefined) return
    seen.put(r.key, r.value)
    ctx.forward(r)
  }
}

/** Runs a processor over the 'in' topic, writing what it forwards to 'out'. */
function run(
  create: () => Processor<string | null, string, string | null, string>,
  stores: StoreSpec[] = [],
) {
  const t = new Topology('app')
  t.stream<string>('in').process(create, { name: 'p', stores }).to('out')
  const d = new TestDriver(t)
  const send = (key: string, value: string, timestamp: number) => d.pipe('in', value, { key, timestamp })
  return { d, send, out: () => d.values<string>('out') }
}

describe('processor API', () => {
  it('a processor that borrows records gets one refilled object; others get a new record each time', () => {
    const seen: [boolean, StreamRecord<string | null, string>][] = []
    class Recorder implements Processor<string | null, string, string | null, string> {
      constructor(readonly borrowsRecords: boolean) {}
      process(r: StreamRecord<string | null, string>, ctx: Ctx): void {
        seen.push([this.borrowsRecords, r])
        // What it sees is the record of this call, source position included.
        assert.equal(r.value, `v${r.timestamp}`)
        assert.equal(r.offset, r.timestamp - 1)
        ctx.forward(r)
      }
    }
    for (const borrows of [true, false]) {
      const { send, out } = run(() => new Recorder(borrows))
      send('a', 'v1', 1)
      send('b', 'v2', 2)
      assert.deepEqual(out(), ['v1', 'v2'], 'forwarding the borrowed record sends its values')
    }
    const [b1, b2, n1, n2] = seen
    assert.equal(b1![1], b2![1], 'the same object, refilled')
    assert.equal(b2![1].value, 'v2')
    assert.notEqual(n1![1], n2![1], 'a new object each time')
    assert.equal(n1![1].value, 'v1', 'and it keeps its values')
  })

  it('a processor keeps state in a declared key-value store', () => {
    const { d, send, out } = run(() => new Deduplicate(), [kv('seen')])
    send('a', 'first', 1)
    send('a', 'again', 2)
    send('b', 'other', 3)
    assert.deepEqual(out(), ['first', 'other'])
    assert.deepEqual(d.keyValueStore('seen').sort(), [
      ['a', 'first'],
      ['b', 'other'],
    ])
  })

  it('a store it did not declare is an error that names the step and its stores', () => {
    const { send } = run(() => new Deduplicate(), [kv('other')])
    assert.throws(() => send('a', 'x', 1), /step p uses store seen but declares only \[other, p-timers\]/)
  })

  it('an event-time timer fires once the watermark reaches its time', () => {
    const { send, out } = run(() => ({
      process(r, ctx) {
        ctx.registerEventTimer(r.key, r.timestamp + 100)
      },
      onTimer(timer: Timer<string | null>, ctx: Ctx) {
        ctx.forward(made(timer.key, `timer ${timer.key}@${timer.time} wm ${ctx.watermark}`, timer.time))
      },
    }))
    send('a', 'x', 1000)
    send('b', 'x', 1050)
    send('c', 'x', 1099)
    assert.deepEqual(out(), [])
    send('c', 'x', 1100)
    assert.deepEqual(out(), ['timer a@1100 wm 1100'])
    send('c', 'x', 5000)
    assert.deepEqual(out(), [
      'timer a@1100 wm 1100',
      'timer b@1150 wm 5000',
      'timer c@1199 wm 5000',
      'timer c@1200 wm 5000',
    ])
  })

  it('a processing-time timer fires when the wall clock reaches it', () => {
    const { d, send, out } = run(() => ({
      process(r, ctx) {
        ctx.registerProcessingTimer(r.key, ctx.wallClockMs + 1000, 'flush')
      },
      onTimer(timer: Timer<string | null>, ctx: Ctx) {
        ctx.forward(made(timer.key, `${timer.domain} ${timer.tag} ${timer.key} at ${ctx.wallClockMs}`, 0))
      },
    }))
    send('a', 'x', 999_999) // event time does not fire processing timers
    assert.deepEqual(out(), [])
    d.advanceWallClock(999)
    assert.deepEqual(out(), [])
    d.advanceWallClock(1)
    assert.deepEqual(out(), ['processing flush a at 1000'])
    d.advanceWallClock(10_000)
    assert.equal(out().length, 1, 'a timer fires once')
  })

  it('deleteTimer cancels a timer', () => {
    const { send, out } = run(() => ({
      process(r, ctx) {
        if (r.value === 'cancel') ctx.deleteTimer(r.key, 2000, 'event')
        else if (r.value === 'arm') ctx.registerEventTimer(r.key, 2000)
      },
      onTimer(timer: Timer<string | null>, ctx: Ctx) {
        ctx.forward(made(timer.key, `fired ${timer.key}`, timer.time))
      },
    }))
    send('a', 'arm', 1000)
    send('b', 'arm', 1000)
    send('a', 'cancel', 1500)
    send('z', 'x', 3000)
    assert.deepEqual(out(), ['fired b'])
  })

  it('timers fire in time order, and a (key, time, tag) is one timer however often it is set', () => {
    const { send, out } = run(() => ({
      process(r, ctx) {
        if (r.value !== 'arm') return
        ctx.registerEventTimer('k', 3000, 'late')
        ctx.registerEventTimer('k', 2000)
        ctx.registerEventTimer('k', 2000) // the same timer
        ctx.registerEventTimer('k', 2000, 'other-tag')
        ctx.registerEventTimer('j', 2000)
        ctx.registerEventTimer('k', 1500)
      },
      onTimer(timer: Timer<string | null>, ctx: Ctx) {
        ctx.forward(
          made(timer.key, `${timer.key}@${timer.time}${timer.tag ? `#${timer.tag}` : ''}`, timer.time),
        )
      },
    }))
    send('a', 'arm', 1000)
    send('a', 'arm', 1001) // registering again changes nothing
    send('z', 'x', 9000)
    assert.deepEqual(out(), ['k@1500', 'k@2000', 'k@2000#other-tag', 'j@2000', 'k@3000#late'])
  })

  it('a timer may set a timer that is already due; it fires in the same advance', () => {
    const { send, out } = run(() => ({
      process(r, ctx) {
        ctx.registerEventTimer(r.key, 100, 'first')
      },
      onTimer(timer: Timer<string | null>, ctx: Ctx) {
        ctx.forward(made(timer.key, timer.tag, timer.time))
        if (timer.tag === 'first') ctx.registerEventTimer(timer.key, 150, 'second')
      },
    }))
    send('a', 'x', 50)
    send('a', 'x', 1000)
    assert.deepEqual(out(), ['first', 'second'])
  })

  it('onWatermark sees each advance of event time, after due timers', () => {
    const seen: string[] = []
    const { send } = run(() => ({
      process(r, ctx) {
        ctx.registerEventTimer(r.key, 150)
      },
      onTimer(timer: Timer<string | null>) {
        seen.push(`timer ${timer.time}`)
      },
      onWatermark(wm: number) {
        seen.push(`wm ${wm}`)
      },
    }))
    send('a', 'x', 100)
    send('a', 'x', 100) // no advance
    send('a', 'x', 200)
    assert.deepEqual(seen, ['wm 100', 'timer 150', 'wm 200'])
  })

  it('init runs once per task before any record', () => {
    const events: string[] = []
    const { send } = run(() => ({
      init(ctx: Ctx) {
        events.push(`init ${ctx.step}`)
      },
      process(r) {
        events.push(`process ${r.value}`)
      },
    }))
    send('a', 'x', 1)
    assert.deepEqual(events, ['init p', 'process x'])
  })

  it('a side output carries records apart from the main output', () => {
    const t = new Topology('app')
    t.stream<number>('in')
      .process<string | null, number>(
        () => ({
          process(r, ctx) {
            if (r.value < 0) ctx.forwardTo('negative', r)
            else ctx.forward(r)
          },
        }),
        { name: 'sign', sideOutputs: ['negative'] },
      )
      .to('out')
    const d = new TestDriver(t)
    d.pipe('in', 1, { timestamp: 1 })
    d.pipe('in', -1, { timestamp: 2 })
    assert.deepEqual(d.values('out'), [1])
  })
})
