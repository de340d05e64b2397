// `eddy bench nexmark` as users run it: `node bin/eddy …` in a child process, over the built dist/.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { NexmarkGenerator } from '../../src/bench/nexmark/generator.js'
import { QUERIES } from '../../src/bench/nexmark/queries.js'
import { runInMemory } from '../../src/bench/nexmark/run.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const bin = path.join(root, 'bin', 'eddy')

function eddy(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('eddy bench nexmark', () => {
  it('--json prints one object with the figures and the results of the in-memory run', () => {
    const r = eddy('bench', 'nexmark', '--query', 'q2', '--events', '20000', '--json')
    assert.equal(r.status, 0, r.stderr)
    const lines = r.stdout.trim().split('\n')
    assert.equal(lines.length, 1, r.stdout)
    const out = JSON.parse(lines[0]!) as Record<string, unknown>
    for (const field of ['eventsPerSecond', 'wallMs', 'cpuMs', 'peakRssBytes', 'outputs'])
      assert.equal(typeof out[field], 'number', `${field} in ${lines[0]}`)
    assert.ok((out.eventsPerSecond as number) > 0)
    assert.ok((out.peakRssBytes as number) > 1024 * 1024)
    // The same results as a run in this process over the same (default) events.
    const expected = runInMemory(QUERIES.q2!, new NexmarkGenerator(), 20_000)
    assert.equal(out.outputs, expected.outputs)
    assert.equal(out.checksum, expected.checksum)
  })

  it('prints a readable report by default', () => {
    const r = eddy('bench', 'nexmark', '--query', 'q0', '--events', '5000', '--generators', '2')
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /^nexmark q0 \(memory: /)
    assert.match(r.stdout, /events\/s +[\d,]+\n/)
    assert.match(r.stdout, /outputs +4,600\n/)
  })

  it('refuses unknown queries, pending ones and bad flags, saying what to do', () => {
    const unknown = eddy('bench', 'nexmark', '--query', 'q42', '--events', '10')
    assert.equal(unknown.status, 1)
    assert.match(unknown.stderr, /no Nexmark query "q42": run one of q0, q1, q2, q3, q4, q5, q7, q8, q9, q11/)
    const mode = eddy('bench', 'nexmark', '--query', 'q1', '--events', '10', '--mode', 'disk')
    assert.equal(mode.status, 2)
    assert.match(mode.stderr, /expected memory or log, got 'disk'/)
    const missing = eddy('bench', 'nexmark', '--query', 'q1')
    assert.equal(missing.status, 2)
    assert.match(missing.stderr, /--events/)
  })
})
