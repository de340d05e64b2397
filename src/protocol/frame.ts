// Whole frames: an int32 size, a header, a body. Typed entry points for the broker (decode
// requests, encode responses) and for clients and tests (the other way round).

import { EddyError } from '../core/errors.js'
import {
  type AnyApi,
  type ApiName,
  type ApiVersionRange,
  apiByKey,
  apis,
  type RequestOf,
  type ResponseOf,
} from './apis/index.js'
import { Reader, Writer } from './codec.js'
import { KafkaErrors } from './errors.js'
import {
  API_VERSIONS_KEY,
  type RequestHeader,
  readRequestHeader,
  readResponseHeader,
  writeRequestHeader,
  writeResponseHeader,
} from './header.js'
import { ProtocolError } from './protocol-error.js'
import type { Input } from './schema.js'

export const FRAME_SIZE_BYTES = 4

/**
 * The size of the frame at `offset` (after its 4-byte prefix), or null while fewer than 4 bytes
 * have arrived. A negative size or one over `frameBytesMax` is a ProtocolError: the connection
 * cannot be trusted after it.
 */
export function frameSize(buf: Buffer, offset: number, frameBytesMax: number): number | null {
  if (buf.length - offset < FRAME_SIZE_BYTES) return null
  const size = buf.readInt32BE(offset)
  if (size < 0 || size > frameBytesMax) {
    throw new ProtocolError(`frame size ${size} is outside 0..${frameBytesMax}`, offset)
  }
  return size
}

/** A decoded request, discriminated by `api`: `switch (req.api)` narrows `body`. */
export type KafkaRequest = {
  [N in ApiName]: { readonly api: N; readonly header: RequestHeader; readonly body: RequestOf<N> }
}[ApiName]

/**
 * A request for an API or version Eddy does not implement. The header is valid: answer an
 * ApiVersions request with `encodeApiVersionsUnsupported`, close the connection otherwise (as
 * Kafka does).
 */
export class UnsupportedRequestError extends EddyError {
  readonly header: RequestHeader
  constructor(header: RequestHeader) {
    const def = apiByKey(header.apiKey)
    super(
      'UNSUPPORTED_VERSION',
      def === undefined
        ? `api key ${header.apiKey} is not supported (client '${header.clientId}')`
        : `${def.name} v${header.apiVersion} is not supported, only v${def.minVersion}-v${def.maxVersion} (client '${header.clientId}')`,
    )
    this.name = 'UnsupportedRequestError'
    this.header = header
  }
}

/** Decodes one request frame, without its size prefix. */
export function decodeRequest(frame: Buffer): KafkaRequest {
  const r = new Reader(frame)
  const header = readRequestHeader(r)
  const def = apiByKey(header.apiKey)
  if (def === undefined || header.apiVersion < def.minVersion || header.apiVersion > def.maxVersion) {
    throw new UnsupportedRequestError(header)
  }
  const body = def.request.read(r, header.apiVersion)
  if (r.pos !== r.end) {
    throw new ProtocolError(`${r.end - r.pos} unexpected bytes after the body`, r.pos).inMessage(
      `${def.request.name} v${header.apiVersion}`,
    )
  }
  return { api: def.name, header, body } as KafkaRequest
}

function framed(write: (w: Writer) => void, sizeHint: number): Buffer {
  const w = new Writer(sizeHint)
  const at = w.reserveInt32()
  write(w)
  w.patchInt32(at, w.length - FRAME_SIZE_BYTES)
  return w.finish()
}

/** Encodes a response frame, size prefix included. Fields left out are their defaults. */
export function encodeResponse<N extends ApiName>(
  api: N,
  apiVersion: number,
  correlationId: number,
  body: Input<ResponseOf<N>>,
): Buffer {
  const def: AnyApi = apis[api]
  return framed((w) => {
    writeResponseHeader(w, def.apiKey, apiVersion, correlationId)
    def.response.write(w, body, apiVersion)
  }, 256)
}

export interface RequestHeaderInput {
  readonly apiVersion: number
  readonly correlationId: number
  readonly clientId: string | null
}

/** Encodes a request frame, size prefix included. */
export function encodeRequest<N extends ApiName>(
  api: N,
  header: RequestHeaderInput,
  body: Input<RequestOf<N>>,
): Buffer {
  const def: AnyApi = apis[api]
  return framed((w) => {
    writeRequestHeader(w, { apiKey: def.apiKey, ...header })
    def.request.write(w, body, header.apiVersion)
  }, 256)
}

/** Decodes a response frame, without its size prefix, for a request of `api` at `apiVersion`. */
export function decodeResponse<N extends ApiName>(
  api: N,
  apiVersion: number,
  frame: Buffer,
): { correlationId: number; body: ResponseOf<N> } {
  const def: AnyApi = apis[api]
  const r = new Reader(frame)
  const { correlationId } = readResponseHeader(r, def.apiKey, apiVersion)
  const body = def.response.read(r, apiVersion) as ResponseOf<N>
  if (r.pos !== r.end) {
    throw new ProtocolError(`${r.end - r.pos} unexpected bytes after the body`, r.pos).inMessage(
      `${def.response.name} v${apiVersion}`,
    )
  }
  return { correlationId, body }
}

/**
 * The answer to an ApiVersions request of a version we do not know: UNSUPPORTED_VERSION, encoded
 * as a v0 response (header v0) that lists the ApiVersions versions we do know, so the client can
 * retry with one of them. This is what Kafka does (KIP-511); pass `ranges` to list more.
 */
export function encodeApiVersionsUnsupported(
  correlationId: number,
  ranges: readonly ApiVersionRange[] = [
    {
      apiKey: API_VERSIONS_KEY,
      minVersion: apis.ApiVersions.minVersion,
      maxVersion: apis.ApiVersions.maxVersion,
    },
  ],
): Buffer {
  return encodeResponse('ApiVersions', 0, correlationId, {
    errorCode: KafkaErrors.UNSUPPORTED_VERSION,
    apiKeys: ranges,
  })
}
