// `eddy produce --key-field a.b`: the record key, read from a field of each line's JSON.
import { InvalidArgumentError } from 'commander'

/** A dotted path into a JSON object, split: `user.id` → ['user', 'id']. */
export type KeyFieldPath = readonly string[]

/** Parses `--key-field`; for commander's argParser. */
export function parseKeyFieldPath(text: string): KeyFieldPath {
  const path = text.split('.')
  if (path.some((part) => part === '')) {
    throw new InvalidArgumentError(`expected a field name or a dotted path such as user.id, got '${text}'.`)
  }
  return path
}

export type KeyFromLine =
  | { readonly ok: true; readonly key: Buffer }
  | { readonly ok: false; readonly problem: string }

/**
 * The key of a line: a string field's UTF-8 bytes, or any other JSON value's JSON text
 * (42 → "42", {"a":1} → '{"a":1}', null → "null"). A problem names why there is none.
 */
export function keyFromLine(line: string, path: KeyFieldPath): KeyFromLine {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (err) {
    return { ok: false, problem: `is not JSON (${err instanceof Error ? err.message : String(err)})` }
  }
  for (const part of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, part)) {
      return { ok: false, problem: `has no field ${path.join('.')}` }
    }
    value = (value as Record<string, unknown>)[part]
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return { ok: true, key: Buffer.from(text, 'utf8') }
}
