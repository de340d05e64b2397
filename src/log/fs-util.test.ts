import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { fsyncDir, replaceFile } from './fs-util.js'

const roots: string[] = []
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-fs-util-test-'))
  roots.push(dir)
  return dir
}

describe('fsyncDir', () => {
  it('fsyncs a directory, and fails on one that does not exist', () => {
    const dir = tmpDir()
    fs.writeFileSync(path.join(dir, 'f'), 'x')
    fsyncDir(dir)
    assert.throws(() => fsyncDir(path.join(dir, 'missing')), { code: 'ENOENT' })
  })
})

describe('replaceFile', () => {
  for (const durable of [true, false]) {
    it(`writes, then replaces a file whole, leaving no temp file (durable: ${durable})`, () => {
      const dir = tmpDir()
      const file = path.join(dir, 'config.json')
      replaceFile(file, 'first', durable)
      assert.equal(fs.readFileSync(file, 'utf8'), 'first')
      replaceFile(file, 'second, longer', durable)
      assert.equal(fs.readFileSync(file, 'utf8'), 'second, longer')
      assert.deepEqual(fs.readdirSync(dir), ['config.json'])
    })
  }
})
