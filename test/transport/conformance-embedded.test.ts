// The transport conformance suite on the embedded transport: a log in a temporary directory.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { EventLog } from '../../src/log/event-log.js'
import { EmbeddedTransport } from '../../src/transport/embedded.js'
import { transportConformance } from './conformance.js'

transportConformance('embedded', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-transport-'))
  const log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
  const transport = new EmbeddedTransport(log, true)
  return {
    transport,
    applyRetention: () => {
      for (const p of log.allPartitions()) p.applyRetention(log.clock.nowMs())
    },
    async close() {
      await transport.close()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
})
