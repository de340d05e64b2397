// A minimal Kafka client for the broker's tests: the protocol layer's codecs over a socket, one
// request at a time or pipelined, with responses matched by correlation id.
import * as net from 'node:net'
import {
  type ApiName,
  decodeResponse,
  encodeRequest,
  FRAME_SIZE_BYTES,
  type Input,
  type RequestOf,
  type ResponseOf,
} from '../../src/protocol/index.js'

interface Pending {
  readonly api: ApiName
  readonly version: number
  resolve(frame: Buffer): void
  reject(err: Error): void
}

export class KafkaTestClient {
  private nextCorrelationId = 1
  private readonly pending = new Map<number, Pending>()
  private buffered: Buffer = Buffer.alloc(0)
  /** Resolves when the broker (or we) closed the connection. */
  readonly closed: Promise<void>
  isClosed = false

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', () => {})
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true
        for (const p of this.pending.values()) p.reject(new Error('connection closed'))
        this.pending.clear()
        resolve()
      }),
    )
  }

  static connect(port: number, host = '127.0.0.1'): Promise<KafkaTestClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => {
        socket.off('error', reject)
        resolve(new KafkaTestClient(socket))
      })
      socket.once('error', reject)
    })
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk])
    while (this.buffered.length >= FRAME_SIZE_BYTES) {
      const size = this.buffered.readInt32BE(0)
      if (this.buffered.length < FRAME_SIZE_BYTES + size) return
      const frame = this.buffered.subarray(FRAME_SIZE_BYTES, FRAME_SIZE_BYTES + size)
      this.buffered = this.buffered.subarray(FRAME_SIZE_BYTES + size)
      const correlationId = frame.readInt32BE(0)
      const p = this.pending.get(correlationId)
      if (p === undefined) throw new Error(`response with unknown correlation id ${correlationId}`)
      this.pending.delete(correlationId)
      p.resolve(frame)
    }
  }

  /** Sends a request and resolves with the decoded response body. */
  request<N extends ApiName>(api: N, version: number, body: Input<RequestOf<N>>): Promise<ResponseOf<N>> {
    return this.requestWithId(api, version, body).then((r) => r.body)
  }

  /** As `request`, with the correlation id the response carried. */
  requestWithId<N extends ApiName>(
    api: N,
    version: number,
    body: Input<RequestOf<N>>,
  ): Promise<{ correlationId: number; body: ResponseOf<N> }> {
    const correlationId = this.nextCorrelationId++
    const frame = encodeRequest(api, { apiVersion: version, correlationId, clientId: 'eddy-test' }, body)
    return new Promise((resolve, reject) => {
      this.pending.set(correlationId, {
        api,
        version,
        resolve: (f) => {
          try {
            resolve(decodeResponse(api, version, f))
          } catch (err) {
            reject(err as Error)
          }
        },
        reject,
      })
      this.socket.write(frame)
    })
  }

  /** Sends a request that gets no response (Produce with acks=0). */
  send<N extends ApiName>(api: N, version: number, body: Input<RequestOf<N>>): void {
    const correlationId = this.nextCorrelationId++
    this.socket.write(encodeRequest(api, { apiVersion: version, correlationId, clientId: 'eddy-test' }, body))
  }

  /** Sends raw bytes and expects one response frame for `correlationId`, returned undecoded. */
  raw(bytes: Buffer, correlationId: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.pending.set(correlationId, { api: 'ApiVersions', version: 0, resolve, reject })
      this.socket.write(bytes)
    })
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes)
  }

  close(): Promise<void> {
    this.socket.end()
    return this.closed
  }
}
