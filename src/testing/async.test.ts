import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { count } from '../dsl/aggregators.js'
import { Topology } from '../dsl/stream.js'
import { tumbling } from '../dsl/windows.js'
import { ProcessingError } from '../runtime/task-executor.js'
import { TestDriver } from './test-driver.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('mapAsync', () => {
  it('keeps input order by default, however the calls finish', async () => {
    const t = new Topology('async')
    t.stream<number>('in')
      .mapAsync(async (n) => {
        await sleep((5 - n) * 3)
        return n * 10
      })
      .to('out')
    const d = new TestDriver(t)
    for (const n of [1, 2, 3, 4]) d.pipe('in', n)
    await d.settle()
    assert.deepEqual(d.values('out'), [10, 20, 30, 40])
  })

  it('emits as calls finish with ordered: false', async () => {
    const t = new Topology('async')
    t.stream<number>('in')
      .mapAsync(
        async (n) => {
          await sleep(n === 1 ? 30 : 1)
          return n
        },
        { ordered: false },
      )
      .to('out')
    const d = new TestDriver(t)
    for (const n of [1, 2, 3]) d.pipe('in', n)
    await d.settle()
    assert.deepEqual(d.values('out'), [2, 3, 1])
  })

  it('has at most `concurrency` calls in flight', async () => {
    let inFlight = 0
    let peak = 0
    const t = new Topology('async')
    t.stream<number>('in')
      .mapAsync(
        async (n) => {
          inFlight++
          peak = Math.max(peak, inFlight)
          await sleep(2)
          inFlight--
          return n
        },
        { concurrency: 3 },
      )
      .to('out')
    const d = new TestDriver(t)
    for (let n = 0; n < 20; n++) d.pipe('in', n)
    await d.settle()
    assert.equal(peak, 3)
    assert.equal(d.values('out').length, 20)
  })

  it('a call past its timeout fails the record under the step policy', async () => {
    const t = new Topology('async')
    t.stream<number>('in')
      .mapAsync(
        async (n, _r, signal) => {
          await new Promise((resolve) => {
            const timer = setTimeout(resolve, n === 2 ? 1_000 : 1)
            signal.addEventListener('abort', () => clearTimeout(timer))
          })
          return n
        },
        { timeoutMs: 20, onError: { deadLetter: 'dlq' } },
      )
      .to('out')
    const d = new TestDriver(t)
    for (const n of [1, 2, 3]) d.pipe('in', n)
    await d.settle()
    assert.deepEqual(d.values('out'), [1, 3])
    const dead = d.rawOutput('dlq')
    assert.equal(dead.length, 1)
    assert.match(
      dead[0]!.headers.find((h) => h.key === 'eddy.error')!.value!.toString(),
      /timed out after 20 ms/,
    )
    assert.equal(dead[0]!.headers.find((h) => h.key === 'eddy.source.offset')!.value!.toString(), '1')
  })

  it("with the default policy a failed call fails settle() with the step's ProcessingError", async () => {
    const t = new Topology('async')
    t.stream<number>('in')
      .mapAsync(async (n) => {
        if (n === 2) throw new Error('lookup service said no')
        return n
      })
      .to('out')
    const d = new TestDriver(t)
    for (const n of [1, 2, 3]) d.pipe('in', n)
    await assert.rejects(
      d.settle(),
      (err: unknown) => err instanceof ProcessingError && /mapAsync-1.*offset 1.*said no/.test(err.message),
    )
  })

  it('windows after an async step close only once earlier results are in', async () => {
    const t = new Topology('async')
    t.stream<{ k: string }>('in')
      .mapAsync(async (v) => {
        await sleep(5)
        return v
      })
      .groupBy((v) => v.k)
      .window(tumbling({ size: 100 }))
      .aggregate(count())
      .final()
      .to('counts')
    const d = new TestDriver(t)
    d.pipe('in', { k: 'a' }, { timestamp: 10 })
    d.pipe('in', { k: 'a' }, { timestamp: 20 })
    d.pipe('in', { k: 'a' }, { timestamp: 250 })
    await d.settle()
    assert.deepEqual(
      d.values('counts').map((w) => (w as { value: number }).value),
      [2],
    )
  })
})
