// Serves a running app's metrics to Prometheus: GET /metrics in the text exposition format,
// 404 for anything else. Bound to 127.0.0.1 unless told otherwise: metrics name topics and
// steps, which a host may not want to show the network.
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { EddyError } from '../core/errors.js'

/** What the server exposes: a registry's text and its content type (an `EddyMetrics`). */
export interface MetricsSource {
  readonly contentType: string
  metrics(): Promise<string>
}

export interface MetricsServerOptions {
  /** Called right before each scrape, to bring the metrics up to date. */
  readonly beforeScrape?: () => void
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
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname
    if (pathname !== '/metrics') {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('not found: metrics are at /metrics\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('use GET\n')
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
