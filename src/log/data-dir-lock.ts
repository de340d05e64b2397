// One process owns a data directory at a time; a lock file names it. A lock left by a process
// that is gone (kill -9) is taken over.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { EddyError } from '../core/errors.js'

const LOCK_FILE = '.lock'
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

export class DataDirLock {
  private constructor(private readonly file: string) {}

  static acquire(dir: string): DataDirLock {
    const file = path.join(dir, LOCK_FILE)
    if (heldByThisProcess.has(file)) {
      throw new EddyError(
        'DATA_DIR_LOCKED',
        `data directory ${dir} is already open in this process: close it first`,
      )
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.writeFileSync(file, String(process.pid), { flag: 'wx' })
        heldByThisProcess.add(file)
        return new DataDirLock(file)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      const owner = Number.parseInt(fs.readFileSync(file, 'utf8'), 10)
      if (Number.isFinite(owner) && owner !== process.pid && processAlive(owner)) {
        throw new EddyError(
          'DATA_DIR_LOCKED',
          `data directory ${dir} is in use by process ${owner}: stop it, or give another --data-dir`,
        )
      }
      fs.rmSync(file, { force: true })
    }
    throw new EddyError(
      'DATA_DIR_LOCKED',
      `could not lock data directory ${dir}: remove ${file} if no Eddy runs there`,
    )
  }

  release(): void {
    heldByThisProcess.delete(this.file)
    try {
      if (fs.readFileSync(this.file, 'utf8') === String(process.pid)) fs.rmSync(this.file, { force: true })
    } catch {
      // Already gone.
    }
  }
}
