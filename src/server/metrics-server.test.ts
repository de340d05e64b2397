// The metrics endpoint: GET /metrics with the registry's content type, 404 elsewhere, refreshed
// before each scrape, bound to loopback, closed cleanly.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isEddyError } from '../core/errors.js'
import { EddyMetrics } from '../observe/metrics.js'
import { MetricsServer } from './metrics-server.js'

describe('MetricsServer', () => {
  it('serves /metrics, refreshed right before each scrape', async () => {
    const metrics = new EddyMetrics()
    let commits = 0
    const server = new MetricsServer(metrics, {
      beforeScrape: () => metrics.update({ commits: ++commits, steps: new Map(), partitions: [], tasks: [] }),
    })
    const port = await server.start(0)
    try {
      assert.ok(port > 0)
      const r1 = await fetch(`http://127.0.0.1:${port}/metrics`)
      assert.equal(r1.status, 200)
      assert.equal(r1.headers.get('content-type'), metrics.contentType)
      assert.match(await r1.text(), /^eddy_commits_total 1$/m)
      const r2 = await fetch(`http://127.0.0.1:${port}/metrics?x=1`)
      assert.match(await r2.text(), /^eddy_commits_total 2$/m)
    } finally {
      await server.close()
    }
  })

  it('answers 404 for other paths and 405 for other methods', async () => {
    const server = new MetricsServer(new EddyMetrics())
    const port = await server.start(0, '127.0.0.1')
    try {
      const other = await fetch(`http://127.0.0.1:${port}/`)
      assert.equal(other.status, 404)
      assert.match(await other.text(), /\/metrics/)
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics/x`)).status, 404)
      const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })
      assert.equal(post.status, 405)
      assert.equal(post.headers.get('allow'), 'GET, HEAD')
      await post.text()
    } finally {
      await server.close()
    }
  })

  it('closes with a scraper still connected, and frees the port', async () => {
    const server = new MetricsServer(new EddyMetrics())
    const port = await server.start(0)
    await (await fetch(`http://127.0.0.1:${port}/metrics`)).text() // keep-alive connection stays open
    await server.close()
    await server.close() // twice is fine
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`))
  })

  it('says which port is taken', async () => {
    const first = new MetricsServer(new EddyMetrics())
    const port = await first.start(0)
    const second = new MetricsServer(new EddyMetrics())
    try {
      await assert.rejects(second.start(port), (err) => {
        assert.ok(isEddyError(err, 'IO'))
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}: EADDRINUSE`))
        return true
      })
      await assert.rejects(new MetricsServer(new EddyMetrics()).start(70_000), /not a port number/)
    } finally {
      await first.close()
      await second.close()
    }
  })
})
