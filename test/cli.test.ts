// The eddy command as users run it: `node bin/eddy …` in a child process, over the built dist/.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Writer } from '../src/cli/context.js'
import { DATA_DIR_DEFAULT, EXIT_USAGE, main, resolveDataDir } from '../src/cli/main.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = path.join(root, 'bin', 'eddy')
const version: string = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version

function eddy(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, EDDY_DATA_DIR: '' },
    timeout: 30_000,
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

function assertOneErrorLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.split('\n')
  assert.equal(lines.length, 2, `expected one line on stderr, got ${JSON.stringify(stderr)}`)
  assert.equal(lines[1], '')
  assert.match(lines[0]!, /^eddy: /)
  assert.match(lines[0]!, pattern)
}

class Collector implements Writer {
  text = ''
  write(text: string): void {
    this.text += text
  }
}

describe('eddy (child process)', () => {
  before(() => {
    assert.ok(
      existsSync(path.join(root, 'dist', 'cli', 'main.js')),
      'dist/cli/main.js is missing: run `npm run build` before the CLI tests',
    )
  })

  it('--help prints usage and exits 0', () => {
    const r = eddy('--help')
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /^Usage: eddy /)
    assert.match(r.stdout, /--data-dir/)
    assert.match(r.stdout, /version/)
    assert.equal(r.stderr, '')
  })

  it('version prints the package version', () => {
    const r = eddy('version')
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, `${version}\n`)
    assert.equal(eddy('--version').stdout, `${version}\n`)
  })

  it('an unknown command exits 2 with one line on stderr that points to --help', () => {
    const r = eddy('frobnicate')
    assert.equal(r.status, 2)
    assert.equal(r.stdout, '')
    assertOneErrorLine(r.stderr, /unknown command 'frobnicate'.*`eddy --help`/)
  })

  it('a bad flag exits 2 with one line on stderr', () => {
    const r = eddy('--bogus', 'version')
    assert.equal(r.status, 2)
    assertOneErrorLine(r.stderr, /unknown option '--bogus'.*--help/)
    const sub = eddy('version', '--bogus')
    assert.equal(sub.status, 2)
    assertOneErrorLine(sub.stderr, /unknown option '--bogus'.*`eddy version --help`/)
  })

  it('run: --max-restarts without --workers exits 2 and says what it goes with', () => {
    const r = eddy('run', 'examples/page-counts.ts', '--max-restarts', '3')
    assert.equal(r.status, 2)
    assertOneErrorLine(r.stderr, /--max-restarts goes with --workers/)
  })

  it('a flag without its value, or no command at all, exits 2', () => {
    const missing = eddy('--data-dir')
    assert.equal(missing.status, 2)
    assertOneErrorLine(missing.stderr, /--data-dir.*missing.*--help/)
    const none = eddy()
    assert.equal(none.status, 2)
    assertOneErrorLine(none.stderr, /missing command.*`eddy --help`/)
  })

  describe('when not built', () => {
    let dir = ''
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'eddy-cli-'))
      mkdirSync(path.join(dir, 'bin'))
      copyFileSync(bin, path.join(dir, 'bin', 'eddy'))
      copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'))
    })
    after(() => rmSync(dir, { recursive: true, force: true }))

    it('says how to build, in one line, and exits 1', () => {
      const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'eddy'), '--help'], { encoding: 'utf8' })
      assert.equal(r.status, 1)
      assert.equal(r.stdout, '')
      assert.equal(r.stderr, 'eddy is not built: run `npm ci` (or `npm run build`) first\n')
    })
  })
})

describe('main (in process)', () => {
  it('returns the exit code instead of exiting, and writes to the given writers', async () => {
    const stdout = new Collector()
    const stderr = new Collector()
    assert.equal(await main(['version'], { stdout, stderr }), 0)
    assert.equal(stdout.text, `${version}\n`)
    assert.equal(await main(['nope'], { stdout, stderr }), EXIT_USAGE)
    assertOneErrorLine(stderr.text, /unknown command 'nope'/)
    assert.equal(process.exitCode, undefined)
  })

  it('resolves the data dir from --data-dir, then $EDDY_DATA_DIR, then ./.eddy', () => {
    assert.equal(resolveDataDir('/data', { EDDY_DATA_DIR: '/env' }, '/cwd'), '/data')
    assert.equal(resolveDataDir('rel', {}, '/cwd'), '/cwd/rel')
    assert.equal(resolveDataDir(undefined, { EDDY_DATA_DIR: '/env' }, '/cwd'), '/env')
    assert.equal(
      resolveDataDir(undefined, { EDDY_DATA_DIR: '' }, '/cwd'),
      path.resolve('/cwd', DATA_DIR_DEFAULT),
    )
    assert.equal(resolveDataDir(undefined, {}, '/cwd'), '/cwd/.eddy')
  })
})
