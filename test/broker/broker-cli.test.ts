// `eddy broker`: in process (main() with an abort signal) and as a child process stopped by
// SIGINT/SIGTERM, which must close the sockets and the log and exit 0.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Writer } from '../../src/cli/context.js'
import { main } from '../../src/cli/main.js'
import { EventLog } from '../../src/log/event-log.js'
import { tmpDir } from './harness.js'
import { KafkaTestClient } from './kafka-test-client.js'

const LISTENING = /^eddy broker listening on 127\.0\.0\.1:(\d+) \(data dir (.+)\)$/m

class Collector implements Writer {
  text = ''
  write(text: string): void {
    this.text += text
  }
}

async function waitFor<T>(probe: () => T | null, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = probe()
    if (v !== null) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('eddy broker', () => {
  it('in process: listens, serves, stops on the signal with exit code 0 and the log closed', async () => {
    const dir = tmpDir()
    try {
      const stderr = new Collector()
      const stop = new AbortController()
      const done = main(['--data-dir', dir, 'broker', '--port', '0'], {
        stdout: new Collector(),
        stderr,
        signal: stop.signal,
      })
      const m = await waitFor(() => LISTENING.exec(stderr.text), 'the listening line')
      assert.equal(m[2], dir)
      const client = await KafkaTestClient.connect(Number(m[1]))
      assert.equal((await client.request('ApiVersions', 3, {})).errorCode, 0)
      stop.abort()
      assert.equal(await done, 0)
      await client.closed
      // The data directory's lock is released: the log can be opened again.
      const log = EventLog.open({ dir })
      await log.close()
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('rejects a bad --port as a usage error', async () => {
    const stderr = new Collector()
    assert.equal(await main(['broker', '--port', '70000'], { stderr, stdout: new Collector() }), 2)
    assert.match(stderr.text, /--port/)
  })

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`child process: shuts down cleanly on ${signal} and exits 0`, async () => {
      const dir = tmpDir()
      try {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            fileURLToPath(new URL('./cli-child.ts', import.meta.url)),
            '--data-dir',
            dir,
            'broker',
            '--port',
            '0',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        )
        let stderr = ''
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString()
        })
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
        const m = await waitFor(() => LISTENING.exec(stderr), `the listening line (stderr: ${stderr})`)
        const client = await KafkaTestClient.connect(Number(m[1]))
        assert.equal((await client.request('Metadata', 9, { topics: null })).topics.length, 2)
        child.kill(signal)
        assert.equal(await exited, 0, stderr)
        await client.closed
        assert.match(stderr, /eddy broker: shutting down/)
        const log = EventLog.open({ dir })
        await log.close()
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  }
})
