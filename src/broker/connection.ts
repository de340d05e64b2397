// One client connection: cuts the byte stream into frames, serves requests one at a time in
// arrival order (so responses go out in request order, as Kafka requires), and stops reading
// while too many requests wait. Whatever goes wrong here closes this connection only.
//
// Idle and partial-frame timeouts share one timer per connection, re-armed only from its own
// callback: reading stores a timestamp and nothing more. The timer wakes at least every
// min(connectionIdleMsMax, partialFrameMsMax), so a limit is enforced within twice its value at worst.
import type * as net from 'node:net'
import { isEddyError } from '../core/errors.js'
import {
  type ApiName,
  decodeRequest,
  encodeApiVersionsUnsupported,
  encodeResponse,
  errorCodeForVersion,
  FRAME_SIZE_BYTES,
  frameSize,
  type Input,
  type KafkaRequest,
  kafkaErrorCodeOf,
  type ResponseOf,
  UnsupportedRequestError,
} from '../protocol/index.js'
import { saslRequired } from './auth/types.js'
import type { ApiHandler, BrokerState, ConnectionState, RequestContext } from './handlers/context.js'
import { handlers, PRE_AUTH_APIS } from './handlers/index.js'
import { rawSaslToken } from './handlers/sasl.js'

const API_VERSIONS_KEY = 18

export interface ConnectionLimits {
  readonly frameBytesMax: number
  readonly inFlightRequestsPerConnectionMax: number
  readonly connectionIdleMsMax: number
  readonly partialFrameMsMax: number
}

/** After a request: go on, close once written (`end`), or drop the connection now (`destroy`). */
type Next = 'continue' | 'end' | 'destroy'

/** '::ffff:127.0.0.1' → '127.0.0.1'. */
function plainAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown'
  return address.startsWith('::ffff:') ? address.slice(7) : address
}

export class Connection {
  readonly name: string
  readonly state: ConnectionState
  private chunks: Buffer[] = []
  private bufferedBytes = 0
  private readonly queue: Buffer[] = []
  private pumping: Promise<void> | null = null
  private paused = false
  private closed = false
  private readonly abort = new AbortController()
  /** Last bytes read or last request answered (Date.now()). */
  private lastActivity = Date.now()
  /** When the first bytes of the frame now buffered arrived (meaningful while bufferedBytes > 0). */
  private partialSince = 0
  private timer: NodeJS.Timeout | null = null

  constructor(
    readonly id: number,
    private readonly socket: net.Socket,
    private readonly broker: BrokerState,
    private readonly limits: ConnectionLimits,
    advertisedHost: string | undefined,
    private readonly onClosed: (c: Connection) => void,
  ) {
    const remote = plainAddress(socket.remoteAddress)
    this.name = `connection ${id} from ${remote}:${socket.remotePort ?? '?'}`
    this.state = {
      clientHost: `/${remote}`,
      advertisedHost: advertisedHost ?? plainAddress(socket.localAddress),
      sasl: { stage: 'none' },
      closeAfterResponse: false,
    }
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A client going away mid-write is ordinary; anything else is worth a line.
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE')
        broker.logger.warn(`${this.name}: ${err.message}`)
    })
    socket.on('close', () => this.finish())
    this.arm(Math.min(limits.connectionIdleMsMax, limits.partialFrameMsMax))
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.checkTimeouts(), Math.max(ms, 1))
    this.timer.unref()
  }

  /** Closes the connection if a frame is overdue or it sat idle too long; else re-arms. */
  private checkTimeouts(): void {
    this.timer = null
    if (this.closed) return
    const { connectionIdleMsMax, partialFrameMsMax } = this.limits
    const now = Date.now()
    let next = now + Math.min(connectionIdleMsMax, partialFrameMsMax)
    if (this.bufferedBytes > 0) {
      // While paused the broker, not the client, holds the rest of the frame back.
      const deadline = this.partialSince + partialFrameMsMax
      if (!this.paused && now >= deadline) {
        this.drop(
          `partial frame: ${this.partialFrameProgress()} arrived, the rest not within ${partialFrameMsMax} ms (partialFrameMsMax)`,
        )
        return
      }
      if (!this.paused) next = Math.min(next, deadline)
    } else if (this.pumping === null && this.queue.length === 0) {
      const deadline = this.lastActivity + connectionIdleMsMax
      if (now >= deadline) {
        this.drop(
          `idle for ${now - this.lastActivity} ms (connectionIdleMsMax ${connectionIdleMsMax} ms)`,
          'info',
        )
        return
      }
      next = Math.min(next, deadline)
    }
    this.arm(next - now)
  }

  /** "12 of 104 bytes of a frame" (size prefix included) or "2 of the 4 size bytes of a frame". */
  private partialFrameProgress(): string {
    if (this.bufferedBytes < FRAME_SIZE_BYTES)
      return `${this.bufferedBytes} of the ${FRAME_SIZE_BYTES} size bytes of a frame`
    // cutFrames left the size prefix whole in the first chunk.
    const total = FRAME_SIZE_BYTES + this.chunks[0]!.readInt32BE(0)
    return `${this.bufferedBytes} of ${total} bytes of a frame`
  }

  /** Stops serving: long polls end, the current request finishes (up to `graceMs`), the socket closes. */
  async close(graceMs: number): Promise<void> {
    this.closed = true
    this.stopTimer()
    this.abort.abort()
    const current = this.pumping
    if (current !== null) {
      let timer: NodeJS.Timeout | undefined
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs)
      })
      await Promise.race([current, grace])
      clearTimeout(timer)
    }
    this.socket.destroy()
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private finish(): void {
    this.closed = true
    this.stopTimer()
    this.abort.abort()
    this.queue.length = 0
    this.chunks = []
    this.onClosed(this)
  }

  private drop(reason: string, level: 'info' | 'warn' | 'error' = 'warn'): void {
    if (this.closed) return
    this.broker.logger[level](`closing ${this.name}: ${reason}`)
    this.closed = true
    this.socket.destroy()
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return
    const now = Date.now()
    this.lastActivity = now
    if (this.bufferedBytes === 0) this.partialSince = now
    this.chunks.push(chunk)
    this.bufferedBytes += chunk.length
    try {
      this.cutFrames()
    } catch (err) {
      this.drop(err instanceof Error ? err.message : String(err))
      return
    }
    if (this.queue.length >= this.limits.inFlightRequestsPerConnectionMax && !this.paused) {
      this.paused = true
      this.socket.pause()
    }
    if (this.pumping === null && this.queue.length > 0) {
      this.pumping = this.pump().finally(() => {
        this.pumping = null
        // Idleness counts from the last answer: a long poll longer than the idle limit is not cut.
        this.lastActivity = Date.now()
      })
    }
  }

  /** Moves every complete frame from the buffered chunks to the queue; throws for a bad size. */
  private cutFrames(): void {
    while (this.bufferedBytes >= FRAME_SIZE_BYTES) {
      if (this.chunks[0]!.length < FRAME_SIZE_BYTES) this.merge()
      const size = frameSize(this.chunks[0]!, 0, this.limits.frameBytesMax)!
      const total = FRAME_SIZE_BYTES + size
      if (this.bufferedBytes < total) return
      if (this.chunks[0]!.length < total) this.merge()
      const buf = this.chunks[0]!
      this.queue.push(buf.subarray(FRAME_SIZE_BYTES, total))
      if (buf.length === total) this.chunks.shift()
      else this.chunks[0] = buf.subarray(total)
      this.bufferedBytes -= total
      // What remains began with the chunk just read.
      this.partialSince = this.lastActivity
    }
  }

  private merge(): void {
    this.chunks = [Buffer.concat(this.chunks, this.bufferedBytes)]
  }

  private async pump(): Promise<void> {
    while (!this.closed && this.queue.length > 0) {
      const frame = this.queue.shift()!
      if (this.paused && this.queue.length < this.limits.inFlightRequestsPerConnectionMax) {
        this.paused = false
        this.socket.resume()
        // A frame held back while paused gets its full time from now.
        this.partialSince = Date.now()
      }
      let next: Next
      try {
        next = await this.serve(frame)
      } catch (err) {
        // A bug (not an operating error): this connection goes, the broker stays.
        const detail = err instanceof Error ? (err.stack ?? err.message) : String(err)
        this.drop(`unexpected error, this is a bug in eddy: ${detail}`, 'error')
        return
      }
      if (next === 'destroy') {
        this.socket.destroy()
        this.closed = true
        return
      }
      if (next === 'end') {
        // The response is flushed, then the socket destroyed: waiting for the client's FIN could
        // wait forever on a socket paused for too many requests in flight (it reads nothing more),
        // holding the socket and its queued frames.
        this.closed = true
        this.queue.length = 0
        this.socket.end(() => this.socket.destroy())
        return
      }
    }
  }

  /** Serves one frame (without its size prefix). */
  private async serve(frame: Buffer): Promise<Next> {
    const sasl = this.state.sasl
    if (sasl.stage === 'handshaken' && sasl.raw) {
      const reply = await rawSaslToken(frame, this.state, this.broker)
      if (reply === null) return 'destroy'
      const framed = Buffer.alloc(FRAME_SIZE_BYTES + reply.length)
      framed.writeInt32BE(reply.length, 0)
      reply.copy(framed, FRAME_SIZE_BYTES)
      await this.write(framed)
      return 'continue'
    }
    let req: KafkaRequest
    try {
      req = decodeRequest(frame)
    } catch (err) {
      if (err instanceof UnsupportedRequestError && err.header.apiKey === API_VERSIONS_KEY) {
        // KIP-511: a newer client's ApiVersions gets our versions, so it can retry with one of them.
        await this.write(encodeApiVersionsUnsupported(err.header.correlationId))
        return 'continue'
      }
      if (!isEddyError(err)) throw err
      this.drop(err.message)
      return 'destroy'
    }
    if (
      saslRequired(this.broker.auth) &&
      this.state.sasl.stage !== 'authenticated' &&
      !PRE_AUTH_APIS.has(req.api)
    ) {
      this.drop(`${req.api} request before SASL authentication`)
      return 'destroy'
    }
    this.broker.testHooks?.onRequest?.(req)
    const body = await this.handle(req)
    if (req.api === 'Produce' && this.broker.testHooks?.beforeProduceResponse?.(req.body as never) === true) {
      this.drop('test hook: dropping the connection instead of the Produce response')
      return 'destroy'
    }
    if (body !== null) {
      const bytes = encodeResponse(req.api, req.header.apiVersion, req.header.correlationId, body as never)
      await this.write(bytes)
    }
    return this.state.closeAfterResponse ? 'end' : 'continue'
  }

  private async handle(req: KafkaRequest): Promise<Input<ResponseOf<ApiName>> | null> {
    const handler = handlers[req.api] as unknown as ApiHandler<ApiName>
    const ctx: RequestContext = {
      broker: this.broker,
      connection: this.state,
      header: req.header,
      apiVersion: req.header.apiVersion,
      signal: this.abort.signal,
    }
    try {
      return await handler.handle(req.body as never, ctx)
    } catch (err) {
      if (!isEddyError(err)) throw err
      // An operating error the handler did not place: the whole request fails with it.
      const code = errorCodeForVersion(req.header.apiKey, req.header.apiVersion, kafkaErrorCodeOf(err))
      this.broker.logger.warn(`${this.name}: ${req.api} v${req.header.apiVersion} failed: ${err.message}`)
      return handler.errorResponse(req.body as never, code, ctx)
    }
  }

  /** Writes, then waits while the socket's buffer is full (or until it closes). */
  private write(bytes: Buffer): Promise<void> {
    if (this.socket.destroyed || this.socket.write(bytes)) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done)
        this.socket.off('close', done)
        resolve()
      }
      this.socket.on('drain', done)
      this.socket.on('close', done)
    })
  }
}
