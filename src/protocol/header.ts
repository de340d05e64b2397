// Request and response headers, and which version of each an API version uses.
//
//   request header v1: apiKey int16 | apiVersion int16 | correlationId int32 | clientId NULLABLE_STRING
//   request header v2: v1 + tagged fields                 (flexible API versions)
//   response header v0: correlationId int32
//   response header v1: correlationId int32 + tagged fields (flexible API versions, except ApiVersions)
//
// The client id stays a classic int16-length string even in v2, so that a broker can read the
// header of any ApiVersions request, whatever its version. (v0, without client id, was only used
// by ControlledShutdown v0, which Eddy does not speak.)

import { apiByKey } from './apis/index.js'
import type { Reader, Writer } from './codec.js'

export const API_VERSIONS_KEY = 18

export interface RequestHeader {
  readonly apiKey: number
  readonly apiVersion: number
  readonly correlationId: number
  readonly clientId: string | null
}

export interface ResponseHeader {
  readonly correlationId: number
}

function flexible(apiKey: number, apiVersion: number): boolean {
  const def = apiByKey(apiKey)
  // Versions past our max count as flexible when the API is flexible from some version on, as in
  // Kafka: the header of an ApiVersions v9 request is still v2.
  return def !== undefined && def.flexibleMin !== null && apiVersion >= def.flexibleMin
}

/** 1 or 2. An unknown API gets 1: its client id can still be read, enough to answer or log. */
export function requestHeaderVersion(apiKey: number, apiVersion: number): 1 | 2 {
  return flexible(apiKey, apiVersion) ? 2 : 1
}

/** 0 or 1; ApiVersions responses are always v0, so a client can read them before it knows our versions. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  return apiKey !== API_VERSIONS_KEY && flexible(apiKey, apiVersion) ? 1 : 0
}

export function writeRequestHeader(w: Writer, h: RequestHeader): void {
  w.int16(h.apiKey).int16(h.apiVersion).int32(h.correlationId).nullableString(h.clientId)
  if (requestHeaderVersion(h.apiKey, h.apiVersion) === 2) w.emptyTaggedFields()
}

export function readRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.int16()
  const apiVersion = r.int16()
  const correlationId = r.int32()
  const clientId = r.nullableString()
  if (requestHeaderVersion(apiKey, apiVersion) === 2) r.skipTaggedFields()
  return { apiKey, apiVersion, correlationId, clientId }
}

export function writeResponseHeader(
  w: Writer,
  apiKey: number,
  apiVersion: number,
  correlationId: number,
): void {
  w.int32(correlationId)
  if (responseHeaderVersion(apiKey, apiVersion) === 1) w.emptyTaggedFields()
}

export function readResponseHeader(r: Reader, apiKey: number, apiVersion: number): ResponseHeader {
  const correlationId = r.int32()
  if (responseHeaderVersion(apiKey, apiVersion) === 1) r.skipTaggedFields()
  return { correlationId }
}
