// Idle-connection and partial-frame timeouts (Kafka's connections.max.idle.ms), with small limits.
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import { describe, it } from 'node:test'
import { Broker } from '../../src/broker/broker.js'
import { EventLog } from '../../src/log/event-log.js'
import { decodeResponse, encodeRequest } from '../../src/protocol/index.js'
import { startBroker, tmpDir } from './harness.js'
import type { KafkaTestClient } from './kafka-test-client.js'

/** Resolves once the broker closed `c`; fails after `ms`. */
async function closedWithin(c: KafkaTestClient, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`connection still open after ${ms} ms`)), ms)
  })
  try {
    await Promise.race([c.closed, timeout])
  } finally {
    clearTimeout(timer)
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('broker connection timeouts', () => {
  it('closes an idle connection with an info line; one sending requests stays', async () => {
    const b = await startBroker({ limits: { connectionIdleMsMax: 150, partialFrameMsMax: 10_000 } })
    try {
      const idle = await b.connect()
      const active = await b.connect()
      const started = Date.now()
      // The active client asks every 30 ms until the idle one is gone, and a while after.
      let stop = false
      const pinging = (async () => {
        while (!stop) {
          assert.equal((await active.request('ApiVersions', 2, {})).errorCode, 0)
          await pause(30)
        }
      })()
      await closedWithin(idle, 2000)
      assert.ok(Date.now() - started >= 140, `closed after ${Date.now() - started} ms`)
      await pause(300)
      stop = true
      await pinging
      assert.equal(active.isClosed, false)
      const line = await b.logger.waitFor(/closing connection \d+ from 127\.0\.0\.1:\d+: idle for \d+ ms/)
      assert.match(line, /^info: /)
      assert.equal(b.broker.connectionCount, 1)
      // Once quiet, the active one goes too.
      await closedWithin(active, 2000)
    } finally {
      await b.stop()
    }
  })

  it('closes a connection whose frame stops halfway, naming the bytes that arrived', async () => {
    const b = await startBroker({ limits: { connectionIdleMsMax: 60_000, partialFrameMsMax: 100 } })
    try {
      const c = await b.connect()
      const head = Buffer.alloc(4 + 10)
      head.writeInt32BE(100, 0)
      const started = Date.now()
      c.write(head)
      await closedWithin(c, 2000)
      assert.ok(Date.now() - started >= 90, `closed after ${Date.now() - started} ms`)
      const line = await b.logger.waitFor(/partial frame/)
      assert.match(
        line,
        /^warn: closing connection \d+ from 127\.0\.0\.1:\d+: partial frame: 14 of 104 bytes of a frame arrived, the rest not within 100 ms/,
      )
      // Two bytes of a size prefix count as a partial frame too.
      const d = await b.connect()
      d.write(Buffer.from([0, 0]))
      await closedWithin(d, 2000)
      await b.logger.waitFor(/partial frame: 2 of the 4 size bytes of a frame arrived/)
      // A request split over writes well within the limit is served.
      const ok = await b.connect()
      const frame = encodeRequest(
        'ApiVersions',
        { apiVersion: 2, correlationId: 7, clientId: 'eddy-test' },
        {},
      )
      const reply = ok.raw(frame.subarray(0, 6), 7)
      await pause(30)
      ok.write(frame.subarray(6))
      assert.equal(decodeResponse('ApiVersions', 2, await reply).body.errorCode, 0)
    } finally {
      await b.stop()
    }
  })

  it('does not cut a long poll longer than the idle limit; it is answered', async () => {
    const b = await startBroker({ limits: { connectionIdleMsMax: 100, partialFrameMsMax: 100 } })
    try {
      b.log.createTopic('w')
      const c = await b.connect()
      const started = Date.now()
      const r = await c.request('Fetch', 11, {
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          { topic: 'w', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 * 1024 }] },
        ],
      })
      assert.ok(Date.now() - started >= 450, `answered after ${Date.now() - started} ms`)
      assert.equal(r.errorCode, 0)
      assert.equal(r.responses[0]!.partitions[0]!.errorCode, 0)
      assert.equal(c.isClosed, false)
      // Idleness counts from the answer: the connection goes a limit after it, not at once.
      const answered = Date.now()
      await closedWithin(c, 2000)
      assert.ok(Date.now() - answered >= 90, `closed ${Date.now() - answered} ms after the answer`)
    } finally {
      await b.stop()
    }
  })

  it('refuses timeouts a Node timer cannot hold', async () => {
    const dir = tmpDir()
    const log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
    try {
      await assert.rejects(
        Broker.start({ log, port: 0, limits: { connectionIdleMsMax: 2 ** 31 } }),
        /connectionIdleMsMax must be at most 2147483647 ms/,
      )
    } finally {
      await log.close()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
