// The broker's users, from a JSON file:
//   { "users": [ { "name": "alice", "password": "…" },
//                { "name": "bob", "scram-sha-256": { "salt": "<base64>", "iterations": 4096,
//                                                    "storedKey": "<base64>", "serverKey": "<base64>" } } ] }
// A plain password also gets a SCRAM credential, derived at load; a stored credential (made with
// scramCredential(), so the file need not hold the password) serves both SCRAM and PLAIN.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { EddyError } from '../../core/errors.js'
import type { User } from './exchange.js'
import {
  decodeBase64,
  deriveScramCredential,
  SCRAM_ITERATIONS_MAX,
  SCRAM_ITERATIONS_MIN,
  SCRAM_KEY_BYTES,
  type ScramCredential,
} from './scram.js'

export type UserStore = ReadonlyMap<string, User>

export interface UsersFileOptions {
  /** Iterations of the SCRAM credentials derived from plain passwords. Default 4096. */
  readonly scramIterations?: number
}

const SCRAM_KEY = 'scram-sha-256'
const ENTRY_KEYS = ['name', 'password', SCRAM_KEY]
const CREDENTIAL_KEYS = ['salt', 'iterations', 'storedKey', 'serverKey']
/** Longest user name accepted (Kafka principals are short; this bounds what a client's lookup touches). */
const USER_NAME_CHARS_MAX = 255

export function loadUsersFile(path: string, options: UsersFileOptions = {}): UserStore {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw new EddyError(
      'IO',
      `users file ${path}: cannot read it (${code}); check the path and its permissions`,
      {
        cause: err,
      },
    )
  }
  return parseUsers(text, path, options)
}

/** Parses a users file's text; `source` names the file in errors. */
export function parseUsers(text: string, source: string, options: UsersFileOptions = {}): UserStore {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw invalid(source, `is not valid JSON (${(err as Error).message})`)
  }
  if (!isObject(doc) || !Array.isArray(doc.users)) {
    throw invalid(
      source,
      'must be a JSON object with a "users" array, e.g. {"users":[{"name":"alice","password":"…"}]}',
    )
  }
  const extra = Object.keys(doc).filter((k) => k !== 'users')
  if (extra.length > 0)
    throw invalid(source, `has unknown top-level field "${extra[0]}" (only "users" is allowed)`)
  const iterations = options.scramIterations ?? SCRAM_ITERATIONS_MIN
  const users = new Map<string, User>()
  const indexOf = new Map<string, number>()
  doc.users.forEach((entry: unknown, i: number) => {
    const user = parseEntry(entry, `users file ${source}, users[${i}]`, iterations)
    const previous = indexOf.get(user.name)
    if (previous !== undefined) {
      throw invalid(source, `users[${i}] repeats the name "${user.name}" of users[${previous}]`)
    }
    indexOf.set(user.name, i)
    users.set(user.name, user)
  })
  return users
}

function parseEntry(entry: unknown, where: string, iterations: number): User {
  if (!isObject(entry))
    throw new EddyError('INVALID_ARGUMENT', `${where}: must be an object with "name" and a credential`)
  const name = entry.name
  if (
    typeof name !== 'string' ||
    name === '' ||
    name.length > USER_NAME_CHARS_MAX ||
    hasControlCharacter(name)
  ) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `${where}: "name" must be a non-empty string of at most ${USER_NAME_CHARS_MAX} characters, without control characters`,
    )
  }
  const at = `${where} ("${name}")`
  const unknown = Object.keys(entry).find((k) => !ENTRY_KEYS.includes(k))
  if (unknown !== undefined) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `${at}: unknown field "${unknown}" (expected "name", "password" or "${SCRAM_KEY}")`,
    )
  }
  const hasPassword = 'password' in entry
  const hasScram = SCRAM_KEY in entry
  if (hasPassword === hasScram) {
    throw new EddyError('INVALID_ARGUMENT', `${at}: give exactly one of "password" and "${SCRAM_KEY}"`)
  }
  if (hasPassword) {
    const password = entry.password
    if (typeof password !== 'string' || password === '') {
      throw new EddyError('INVALID_ARGUMENT', `${at}: "password" must be a non-empty string`)
    }
    return { name, password, scramSha256: deriveScramCredential(password, randomBytes(32), iterations) }
  }
  return { name, password: null, scramSha256: parseCredential(entry[SCRAM_KEY], `${at}: "${SCRAM_KEY}"`) }
}

function parseCredential(value: unknown, at: string): ScramCredential {
  if (!isObject(value)) {
    throw new EddyError('INVALID_ARGUMENT', `${at} must be an object with ${CREDENTIAL_KEYS.join(', ')}`)
  }
  const unknown = Object.keys(value).find((k) => !CREDENTIAL_KEYS.includes(k))
  if (unknown !== undefined) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `${at}: unknown field "${unknown}" (expected ${CREDENTIAL_KEYS.join(', ')})`,
    )
  }
  const { iterations } = value
  if (
    typeof iterations !== 'number' ||
    !Number.isInteger(iterations) ||
    iterations < SCRAM_ITERATIONS_MIN ||
    iterations > SCRAM_ITERATIONS_MAX
  ) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `${at}.iterations must be an integer from ${SCRAM_ITERATIONS_MIN} to ${SCRAM_ITERATIONS_MAX} (Kafka's range), got ${JSON.stringify(iterations)}`,
    )
  }
  const salt = base64Field(value, 'salt', at)
  if (salt.length === 0) throw new EddyError('INVALID_ARGUMENT', `${at}.salt must not be empty`)
  const storedKey = base64Field(value, 'storedKey', at)
  const serverKey = base64Field(value, 'serverKey', at)
  for (const [field, key] of [
    ['storedKey', storedKey],
    ['serverKey', serverKey],
  ] as const) {
    if (key.length !== SCRAM_KEY_BYTES) {
      throw new EddyError(
        'INVALID_ARGUMENT',
        `${at}.${field} must be ${SCRAM_KEY_BYTES} bytes (SHA-256), got ${key.length}; create entries with scramCredential()`,
      )
    }
  }
  return { salt, iterations, storedKey, serverKey }
}

function base64Field(value: Record<string, unknown>, field: string, at: string): Buffer {
  const text = value[field]
  const bytes = typeof text === 'string' ? decodeBase64(text) : null
  if (bytes === null) throw new EddyError('INVALID_ARGUMENT', `${at}.${field} must be a base64 string`)
  return bytes
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++)
    if (text.charCodeAt(i) < 0x20 || text.charCodeAt(i) === 0x7f) return true
  return false
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function invalid(source: string, what: string): EddyError {
  return new EddyError('INVALID_ARGUMENT', `users file ${source} ${what}`)
}
