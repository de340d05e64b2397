// Interactive queries over HTTP, on the app's server next to /metrics:
//   GET /stores                                  the stores: name, kind, step, approximate count
//   GET /stores/:name?from=&to=&limit=           a key-value store's entries with from <= key <= to
//                                                (a window store: every key's windows whose start is in [from, to])
//   GET /stores/:name/keys/:key                  a key's value (404 when it has none)
//   GET /stores/:name/keys/:key/windows?from=&to=  a key's windows whose start is in [from, to]
// Keys in paths and in from/to are strings; with `keyFormat=json` they are JSON (`42`, `{"id":1}`),
// for keys of other types. Times are epoch milliseconds or ISO 8601 dates. Answers are JSON.
import { EddyError, isEddyError } from '../core/errors.js'
import { limits } from '../core/limits.js'
import type { ReadOnlyStore } from '../core/store.js'
import { NotOwnerError, type StoreQueries } from '../runtime/store-queries.js'

export interface HttpAnswer {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>>
}

const LIMIT_DEFAULT = 1000

/** Answers a request for a path under /stores; null for any other path. */
export function answerStoreQuery(
  queries: StoreQueries,
  pathname: string,
  params: URLSearchParams,
): HttpAnswer | null {
  const parts = pathname.split('/').slice(1)
  if (parts[0] !== 'stores') return null
  if (parts.at(-1) === '' && parts.length > 1) parts.pop() // a trailing slash
  try {
    const segments = parts.slice(1).map(decodeSegment)
    if (segments.length === 0) return listStores(queries)
    const store = queries.store(segments[0]!)
    if (segments.length === 1) return scan(store, params)
    if (segments[1] === 'keys' && segments.length === 3)
      return getKey(store, parseKey(segments[2]!, params), params)
    if (segments[1] === 'keys' && segments.length === 4 && segments[3] === 'windows')
      return windowsOfKey(store, parseKey(segments[2]!, params), params)
    return {
      status: 404,
      body: {
        error: `no such query: ${pathname}; use /stores, /stores/NAME, /stores/NAME/keys/KEY or /stores/NAME/keys/KEY/windows`,
        code: 'NOT_FOUND',
      },
    }
  } catch (err) {
    return errorAnswer(err, pathname, params)
  }
}

function listStores(queries: StoreQueries): HttpAnswer {
  const stores = queries.stores()
  try {
    const counted = stores.map((s) => ({ ...s, approximateCount: queries.store(s.name).approximateCount() }))
    return { status: 200, body: { ready: true, stores: counted } }
  } catch (err) {
    if (!isEddyError(err, 'STORE_NOT_READY')) throw err
    // Names and kinds come from the plan: listed while the app starts, without counts.
    return {
      status: 200,
      body: { ready: false, stores: stores.map((s) => ({ ...s, approximateCount: null })) },
    }
  }
}

function scan(store: ReadOnlyStore, params: URLSearchParams): HttpAnswer {
  const limit = parseLimit(params)
  if (store.kind === 'kv') {
    const from = params.has('from') ? parseKey(params.get('from')!, params) : undefined
    const to = params.has('to') ? parseKey(params.get('to')!, params) : undefined
    const entries = store.range(from, to)
    return {
      status: 200,
      body: {
        entries: entries.slice(0, limit).map(([key, value]) => ({ key, value })),
        truncated: entries.length > limit,
      },
    }
  }
  const windows = store.fetchAll(parseTime(params, 'from'), parseTime(params, 'to'))
  return { status: 200, body: { windows: windows.slice(0, limit), truncated: windows.length > limit } }
}

function getKey(store: ReadOnlyStore, key: unknown, params: URLSearchParams): HttpAnswer {
  if (store.kind === 'window') {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `store ${store.name} holds windows: ask for a key's windows at /stores/${encodeURIComponent(store.name)}/keys/KEY/windows`,
    )
  }
  const value = store.get(key)
  if (value === undefined) {
    return {
      status: 404,
      body: {
        error: `store ${store.name} has no value for key ${describeKey(key, params)}`,
        code: 'NOT_FOUND',
      },
    }
  }
  return { status: 200, body: { key, value } }
}

function windowsOfKey(store: ReadOnlyStore, key: unknown, params: URLSearchParams): HttpAnswer {
  if (store.kind === 'kv') {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `store ${store.name} is a key-value store: ask for the key at /stores/${encodeURIComponent(store.name)}/keys/KEY`,
    )
  }
  const limit = parseLimit(params)
  const windows = store.fetch(key, parseTime(params, 'from'), parseTime(params, 'to'))
  return { status: 200, body: { windows: windows.slice(0, limit), truncated: windows.length > limit } }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new EddyError('INVALID_ARGUMENT', `${segment} is not a valid percent-encoded path segment`)
  }
}

function parseKey(text: string, params: URLSearchParams): unknown {
  const format = params.get('keyFormat') ?? 'string'
  if (format === 'string') return text
  if (format !== 'json') {
    throw new EddyError('INVALID_ARGUMENT', `keyFormat ${format} is not string or json`)
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `key ${text} is not JSON (keyFormat=json): write strings with quotes ("a"), numbers and objects as JSON`,
    )
  }
}

function describeKey(key: unknown, params: URLSearchParams): string {
  return params.get('keyFormat') === 'json' ? JSON.stringify(key) : String(key)
}

function parseTime(params: URLSearchParams, name: 'from' | 'to'): number | undefined {
  const text = params.get(name)
  if (text === null) return undefined
  const ms = /^-?\d+$/.test(text) ? Number(text) : Date.parse(text)
  if (!Number.isSafeInteger(ms)) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `${name}=${text} is not a time: give epoch milliseconds or an ISO 8601 date (2026-01-01T00:00:00Z)`,
    )
  }
  return ms
}

function parseLimit(params: URLSearchParams): number {
  const text = params.get('limit')
  if (text === null) return LIMIT_DEFAULT
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > limits.queryEntriesMax) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `limit=${text} is not an integer from 1 to ${limits.queryEntriesMax}`,
    )
  }
  return n
}

function errorAnswer(err: unknown, pathname: string, params: URLSearchParams): HttpAnswer {
  if (err instanceof NotOwnerError) {
    // 421 Misdirected Request: the same request, sent to the owner, answers it.
    const query = params.toString()
    const url = `${err.owner}${pathname}${query === '' ? '' : `?${query}`}`
    return { status: 421, body: { error: err.message, code: err.code, owner: err.owner, url } }
  }
  if (isEddyError(err, 'UNKNOWN_STORE')) return { status: 404, body: { error: err.message, code: err.code } }
  if (isEddyError(err, 'STORE_NOT_READY'))
    return { status: 503, body: { error: err.message, code: err.code }, headers: { 'retry-after': '1' } }
  if (isEddyError(err, 'INVALID_ARGUMENT') || isEddyError(err, 'RECORD_TOO_LARGE'))
    return { status: 400, body: { error: err.message, code: err.code } }
  return {
    status: 500,
    body: {
      error: `the query failed: ${err instanceof Error ? err.message : String(err)}`,
      code: 'INTERNAL',
    },
  }
}
