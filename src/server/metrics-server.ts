// The HTTP server of a running app: its metrics for Prometheus (GET /metrics, in the text
// exposition format) and, when given the app's stores, interactive queries (GET /stores…, see
// store-routes.ts); 404 for anything else. Bound to 127.0.0.1 unless told otherwise: metrics and
// state name topics, steps and data, which a host may not want to show the network.
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { EddyError } from '../core/errors.js'
import type { StoreQueries } from '../runtime/store-queries.js'
import { answerStoreQuery } from './store-routes.js'

/** What the server exposes: a registry's text and its content type (an `EddyMetrics`). */
export interface MetricsSource {
  readonly contentType: string
  metrics(): Promise<string>
}

export interface MetricsServerOptions {
  /** Called right before each scrape, to bring the metrics up to date. */
  readonly beforeScrape?: () => void
  /** The app's stores, served under /stores. */
  readonly stores?: StoreQueries
}

export class MetricsServer {
  private server: http.Server | null = null

  constructor(
    private readonly source: MetricsSource,
    private readonly opts: MetricsServerOptions = {},
  ) {}

  /** Listens on `port` (0: any free port); resolves with the bound port. */
  async start(port: number, host = '127.0.0.1'): Promise<number> {
    if (this.server !== null) throw new EddyError('INVALID_ARGUMENT', 'the metrics server is already started')
    if (!Number.isInteger(port) || port < 0 || port > 65_535)
      throw new EddyError('INVALID_ARGUMENT', `metrics port ${port} is not a port number: use 0 to 65535`)
    const server = http.createServer((req, res) => void this.handle(req, res))
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new EddyError(
            'IO',
            `cannot serve metrics on ${host}:${port}: ${err.code ?? err.message}; choose another port (0 picks a free one)`,
            { cause: err },
          ),
        ),
      )
      server.listen(port, host, () => resolve())
    })
    this.server = server
    return (server.address() as AddressInfo).port
  }

  /** Stops listening and drops open connections (scrapers keep them alive). */
  async close(): Promise<void> {
    const server = this.server
    if (server === null) return
    this.server = null
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const pathname = url.pathname
    const stores = this.opts.stores
    const isStores = stores !== undefined && (pathname === '/stores' || pathname.startsWith('/stores/'))
    if (pathname !== '/metrics' && !isStores) {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end(`not found: metrics are at /metrics${stores === undefined ? '' : ', state at /stores'}\n`)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('use GET\n')
      return
    }
    if (isStores) {
      let answer = answerStoreQuery(stores, pathname, url.searchParams)!
      let body: string
      try {
        body = `${JSON.stringify(answer.body)}\n`
      } catch (err) {
        // A value JSON cannot write (a BigInt, a cycle): the store's data is fine, its answer is not.
        answer = { status: 500, body: null }
        body = `${JSON.stringify({ error: `the answer is not JSON: ${(err as Error).message}`, code: 'INTERNAL' })}\n`
      }
      res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...answer.headers })
      res.end(req.method === 'HEAD' ? undefined : body)
      return
    }
    try {
      this.opts.beforeScrape?.()
      const body = await this.source.metrics()
      res.writeHead(200, { 'content-type': this.source.contentType })
      res.end(req.method === 'HEAD' ? undefined : body)
    } catch (err) {
      res
        .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
        .end(`collecting metrics failed: ${err instanceof Error ? err.message : String(err)}\n`)
    }
  }
}
