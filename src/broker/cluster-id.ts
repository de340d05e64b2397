// The cluster id a broker reports in Metadata: made once per data directory and kept in it, so a
// restarted broker is the same cluster to its clients (Kafka keeps it in meta.properties).
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { EddyError } from '../core/errors.js'
import { replaceFile } from '../log/fs-util.js'

const CLUSTER_ID_FILE = 'cluster-id'
/** Kafka's form: 16 random bytes in URL-safe base64, 22 characters. */
const CLUSTER_ID = /^[A-Za-z0-9_-]{22}$/

/** The cluster id of the log in `dataDir`, created on first use. */
export function loadClusterId(dataDir: string): string {
  const file = path.join(dataDir, CLUSTER_ID_FILE)
  if (fs.existsSync(file)) {
    const id = fs.readFileSync(file, 'utf8').trim()
    if (!CLUSTER_ID.test(id)) {
      throw new EddyError(
        'CORRUPT_RECORD',
        `${file} holds '${id.slice(0, 40)}', not a cluster id: restore it, or delete it to give the data directory a new id`,
      )
    }
    return id
  }
  const id = randomBytes(16).toString('base64url')
  replaceFile(file, `${id}\n`, true)
  return id
}
