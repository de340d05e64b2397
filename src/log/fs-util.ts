// File-system steps the log needs to be crash-safe: a new or renamed directory entry is durable
// only once its directory is fsynced, and a renamed file only once its data was.
import * as fs from 'node:fs'
import * as path from 'node:path'

/** Makes creations, renames and deletions in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r')
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Replaces `file` by `data` atomically (a temp file renamed over it). With `durable`, the data is
 * fsynced before the rename and the directory after it, so a crash leaves the old or the new file.
 */
export function replaceFile(file: string, data: string, durable: boolean): void {
  const tmp = `${file}.tmp`
  const fd = fs.openSync(tmp, 'w')
  try {
    fs.writeFileSync(fd, data)
    if (durable) fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
  if (durable) fsyncDir(path.dirname(file))
}
