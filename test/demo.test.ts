// The README's main command must always work: run the demo small and check its own verdict.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { test } from 'node:test'

test('the log demo counts every page view exactly once', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-demo-'))
  try {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'examples/log-demo.ts'], {
      env: { ...process.env, EDDY_DEMO_DIR: path.join(dir, 'data'), EDDY_DEMO_VIEWS: '30000' },
      encoding: 'utf8',
      timeout: 60_000,
    })
    assert.equal(run.status, 0, run.stderr)
    assert.match(run.stdout, /aborted on purpose/)
    assert.match(run.stdout, /every count is exact: 30,000 views/)
    assert.doesNotMatch(run.stdout, /WRONG/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
