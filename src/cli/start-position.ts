// `eddy consume --from`: where to start reading each partition.
import { InvalidArgumentError } from 'commander'

export type StartPosition =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'offset'; readonly offset: number }
  | { readonly kind: 'timestamp'; readonly timestampMs: number }

// A date, optionally with a time: 2024-05-01, 2024-05-01T12:00, 2024-05-01T12:00:00.000Z, …+02:00.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/

/** Parses `earliest`, `latest`, an offset (an integer >= 0) or an ISO-8601 time; for commander's argParser. */
export function parseStartPosition(text: string): StartPosition {
  if (text === 'earliest' || text === 'latest') return { kind: text }
  if (/^\d+$/.test(text)) {
    const offset = Number(text)
    if (Number.isSafeInteger(offset)) return { kind: 'offset', offset }
  } else if (ISO_TIME.test(text)) {
    const timestampMs = Date.parse(text)
    if (Number.isFinite(timestampMs)) return { kind: 'timestamp', timestampMs }
  }
  throw new InvalidArgumentError(
    `expected earliest, latest, an offset (an integer >= 0) or an ISO-8601 time such as 2024-05-01T12:00:00Z, got '${text}'.`,
  )
}
