import { EddyError } from './errors.js'

/** A duration: milliseconds, or a string such as '250ms', '10s', '5m', '1h', '2d', '1h30m'. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}` | `${number}h${number}m`

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y

/** Milliseconds of a duration; throws INVALID_ARGUMENT naming `what` when it does not parse. */
export function toMs(d: Duration, what = 'duration'): number {
  if (typeof d === 'number') {
    if (!Number.isFinite(d) || d < 0) {
      throw new EddyError('INVALID_ARGUMENT', `${what} must be a non-negative number of ms, got ${d}`)
    }
    return d
  }
  const text = d.trim()
  let total = 0
  PART.lastIndex = 0
  let matched = 0
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex
    const m = PART.exec(text)
    if (m === null || m.index !== at) break
    total += Number(m[1]) * UNIT_MS[m[2]!]!
    matched = PART.lastIndex
  }
  if (text.length === 0 || matched !== text.length) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `${what} ${JSON.stringify(d)} is not a duration: use a number of ms or e.g. '500ms', '10s', '5m', '1h', '1d'`,
    )
  }
  return Math.round(total)
}
