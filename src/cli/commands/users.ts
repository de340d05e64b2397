// `eddy users add FILE NAME --password-stdin`: writes a SCRAM-SHA-256 credential for NAME into the
// broker's users file (created when missing), so the file never holds the password itself.
import { randomBytes } from 'node:crypto'
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import { SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, scramCredential } from '../../broker/auth/scram.js'
import { parseUsers } from '../../broker/auth/users-file.js'
import { EddyError } from '../../core/errors.js'
import { integerArg } from '../args.js'
import { type CliContext, UsageError } from '../context.js'

interface AddFlags {
  readonly passwordStdin?: boolean
  readonly iterations: number
}

/** Longest password read from stdin; a longer first line is an error, not silently cut. */
const PASSWORD_BYTES_MAX = 1024

/** The first line of stdin, without its line ending. */
async function readPassword(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    chunks.push(buf)
    bytes += buf.length
    if (buf.includes(0x0a) || bytes > PASSWORD_BYTES_MAX) break
  }
  const text = Buffer.concat(chunks).toString('utf8')
  const newline = text.indexOf('\n')
  const line = (newline < 0 ? text : text.slice(0, newline)).replace(/\r$/, '')
  if (line === '') {
    throw new EddyError(
      'INVALID_ARGUMENT',
      'no password on stdin: pipe it in, e.g. `printf %s "$PW" | eddy users add …`',
    )
  }
  if (Buffer.byteLength(line) > PASSWORD_BYTES_MAX) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `the password on stdin is longer than ${PASSWORD_BYTES_MAX} bytes`,
    )
  }
  return line
}

/** The users file's entries, checked as the broker would load them; [] when it does not exist. */
function readEntries(file: string): unknown[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return []
    throw new EddyError(
      'IO',
      `users file ${file}: cannot read it (${code ?? 'error'}); check the path and its permissions`,
      {
        cause: err,
      },
    )
  }
  parseUsers(text, file)
  return (JSON.parse(text) as { users: unknown[] }).users
}

/** Replaces `file` by `text` atomically (a temporary file renamed over it), keeping its mode; new files are 0600. */
function writeAtomically(file: string, text: string): void {
  let mode = 0o600
  try {
    mode = statSync(file).mode & 0o777
  } catch {
    // A new file: owner-only, it holds credentials.
  }
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)
  try {
    writeFileSync(tmp, text, { mode, flag: 'w' })
    chmodSync(tmp, mode)
    renameSync(tmp, file)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw new EddyError(
      'IO',
      `users file ${file}: cannot write it (${code}); check the directory and its permissions`,
      {
        cause: err,
      },
    )
  }
}

export function register(program: Command, ctx: CliContext): void {
  const users = program
    .command('users')
    .description("manage the broker's SASL users file (eddy broker --users)")
  users
    .command('add')
    .description(
      'add a user (or replace its password) with a SCRAM-SHA-256 credential; the file is created if missing',
    )
    .argument('<file>', 'users file (JSON)')
    .argument('<name>', 'user name')
    .option('--password-stdin', 'read the password from the first line of stdin (required)')
    .option(
      '--iterations <n>',
      `SCRAM iterations, ${SCRAM_ITERATIONS_MIN} to ${SCRAM_ITERATIONS_MAX}`,
      integerArg(SCRAM_ITERATIONS_MIN, SCRAM_ITERATIONS_MAX),
      SCRAM_ITERATIONS_MIN,
    )
    .action(async (file: string, name: string, flags: AddFlags) => {
      if (flags.passwordStdin !== true) {
        throw new UsageError(
          'give --password-stdin and pipe the password in (it is never taken as an argument)',
        )
      }
      const entries = readEntries(file)
      const password = await readPassword(ctx.stdin)
      const entry = { name, 'scram-sha-256': scramCredential(password, flags.iterations, randomBytes(32)) }
      const at = entries.findIndex((e) => (e as { name?: unknown }).name === name)
      if (at >= 0) entries[at] = entry
      else entries.push(entry)
      const text = `${JSON.stringify({ users: entries }, null, 2)}\n`
      // The name and the whole file are checked as `eddy broker --users` will load them.
      parseUsers(text, file)
      writeAtomically(file, text)
      ctx.stdout.write(`${at >= 0 ? 'updated' : 'added'} user ${name} (SCRAM-SHA-256) in ${file}\n`)
    })
}
