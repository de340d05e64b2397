// One process owns a data directory at a time; a lock file names it. A lock left by a process
// that is gone (kill -9) is taken over.
//
// The lock appears whole or not at all: the owner's "pid nonce" is written to a temp file that is
// then hard-linked to `.lock` (link fails with EEXIST when it is taken). A stale lock is removed
// only by the one process holding its reap marker (`.lock.reap-<hash of its content>`), after
// re-reading it: since no other process removes a lock with that content, it cannot change between
// that read and the unlink.
import { createHash, randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { EddyError } from '../core/errors.js'

const LOCK_FILE = '.lock'
/** Link attempts before giving up; each one that loses to another process backs off a little. */
const ATTEMPTS_MAX = 20
const BACKOFF_MS_MAX = 20
/** A reaper that died holding its marker is reaped in turn, to this depth. */
const REAP_DEPTH_MAX = 3
/** Lock files this process holds: the pid check below cannot tell two opens in one process apart. */
const heldByThisProcess = new Set<string>()

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code
}

/** The file's content, or null when it is gone. */
function readContent(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null
    throw err
  }
}

/** The live process that wrote `content`, or null (dead, this process, or not a pid at all). */
function liveOwner(content: string): number | null {
  const pid = Number.parseInt(content, 10)
  // pid <= 0 would signal a process group.
  if (!(Number.isInteger(pid) && pid > 0) || pid === process.pid) return null
  return processAlive(pid) ? pid : null
}

function reapMarker(file: string, content: string): string {
  return `${file}.reap-${createHash('sha256').update(content).digest('hex').slice(0, 16)}`
}

/** Removes `file` if it still holds `content` (a dead owner's) and no other process is reaping it. */
function reap(file: string, content: string, tmp: string, depth: number): void {
  const marker = reapMarker(file, content)
  try {
    fs.linkSync(tmp, marker)
  } catch (err) {
    if (errCode(err) !== 'EEXIST') throw err
    const reaper = readContent(marker)
    if (reaper !== null && depth < REAP_DEPTH_MAX && liveOwner(reaper) === null) {
      reap(marker, reaper, tmp, depth + 1)
    }
    return
  }
  try {
    if (readContent(file) === content) fs.unlinkSync(file)
  } finally {
    fs.rmSync(marker, { force: true })
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

export class DataDirLock {
  private constructor(
    private readonly file: string,
    private readonly content: string,
  ) {}

  static acquire(dir: string): DataDirLock {
    const file = path.join(dir, LOCK_FILE)
    if (heldByThisProcess.has(file)) {
      throw new EddyError(
        'DATA_DIR_LOCKED',
        `data directory ${dir} is already open in this process: close it first`,
      )
    }
    const nonce = randomBytes(8).toString('hex')
    const content = `${process.pid} ${nonce}`
    const tmp = `${file}.${process.pid}.${nonce}.tmp`
    fs.writeFileSync(tmp, content, { flag: 'wx' })
    try {
      for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
        try {
          fs.linkSync(tmp, file)
          heldByThisProcess.add(file)
          return new DataDirLock(file, content)
        } catch (err) {
          if (errCode(err) !== 'EEXIST') throw err
        }
        const current = readContent(file)
        if (current === null) continue // released meanwhile: try again
        const owner = liveOwner(current)
        if (owner !== null) {
          throw new EddyError(
            'DATA_DIR_LOCKED',
            `data directory ${dir} is in use by process ${owner}: stop it, or give another --data-dir`,
          )
        }
        reap(file, current, tmp, 0)
        if (attempt > 0) sleepSync(Math.min(attempt, BACKOFF_MS_MAX))
      }
    } finally {
      fs.rmSync(tmp, { force: true })
    }
    throw new EddyError(
      'DATA_DIR_LOCKED',
      `could not lock data directory ${dir}: remove ${file} if no Eddy runs there`,
    )
  }

  release(): void {
    heldByThisProcess.delete(this.file)
    try {
      // Only ours: a lock we lost (its file removed by hand) may belong to another process now.
      if (readContent(this.file) === this.content) fs.rmSync(this.file, { force: true })
    } catch {
      // The directory is gone.
    }
  }
}
