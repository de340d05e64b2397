// `eddy run examples/page-counts.ts --workers 2` on the embedded log: two worker processes share the app's tasks
// through a broker the command serves on 127.0.0.1, and the output is exactly one run's.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { partitionForKey } from '../../src/core/murmur2.js'
import type { RecordInput } from '../../src/core/record.js'
import { EventLog } from '../../src/log/event-log.js'
import { readCommitted, tmpDir } from '../runtime/harness.js'

const EDDY = path.resolve(import.meta.dirname, '../../bin/eddy')
const APP = path.resolve(import.meta.dirname, '../../examples/page-counts.ts')

describe('eddy run --workers', { timeout: 120_000 }, () => {
  it('two workers share the tasks of an app on the embedded log, exactly once', async () => {
    const dir = tmpDir('eddy-workers-')
    try {
      const expected = new Map<string, number>()
      const log = EventLog.open({ dir })
      log.createTopic('views', { partitions: 4 })
      const producer = await log.producer()
      const byPartition: RecordInput[][] = [[], [], [], []]
      for (let i = 0; i < 4000; i++) {
        const user = `user-${i % 31}`
        const page = `/page-${i % 13}`
        expected.set(page, (expected.get(page) ?? 0) + 1)
        const key = Buffer.from(user)
        byPartition[partitionForKey(key, 4)]!.push({
          key,
          value: Buffer.from(JSON.stringify({ user, page })),
          timestamp: 1_700_000_000_000 + i,
        })
      }
      for (const [p, records] of byPartition.entries()) await producer.send('views', p, records)
      await producer.close()
      await log.close()

      const child = spawn(
        process.execPath,
        [EDDY, '--data-dir', dir, 'run', APP, '--workers', '2', '--until-idle', '1500'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString()
      })
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
      assert.equal(code, 0, stderr)
      assert.match(stderr, /2 workers share the embedded log through 127\.0\.0\.1:\d+/)
      // Each worker reported tasks of one generation, and between them they ran all 8.
      // `[worker 1] eddy run: generation 2: tasks 0_0 0_2 1_0 1_2`
      const tasks = (w: number) =>
        stderr
          .split('\n')
          .filter((l) => l.startsWith(`[worker ${w}] eddy run: generation `))
          .at(-1)
          ?.replace(/.*: tasks /, '')
          .split(' ') ?? []
      assert.ok(tasks(1).length > 0 && tasks(2).length > 0, stderr)
      assert.equal(new Set([...tasks(1), ...tasks(2)]).size, 8, stderr)
      assert.match(stderr, /eddy run: stopped; workers 2 /)

      const counts = new Map<string, number[]>()
      const reopened = EventLog.open({ dir })
      try {
        for (const records of await readCommitted(reopened, 'page-counts')) {
          for (const r of records) {
            const page = r.key!.toString()
            counts.set(page, [...(counts.get(page) ?? []), JSON.parse(r.value!.toString()) as number])
          }
        }
      } finally {
        await reopened.close()
      }
      for (const [page, n] of expected) {
        assert.deepEqual(
          counts.get(page),
          Array.from({ length: n }, (_, i) => i + 1),
          page,
        )
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
