// Runs every *.test.ts under src/ and test/ with node:test + tsx.
// Node 20's test runner does not expand globs, so the files are found here.
// Usage: npm test [-- <node --test flags>] [-- <files or folders>]
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'

const args = process.argv.slice(2)
const flags = args.filter((a) => a.startsWith('-'))
const roots = args.filter((a) => !a.startsWith('-'))

function testFiles(root) {
  if (statSync(root).isFile()) return [root]
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
}

const files = (roots.length > 0 ? roots : ['src', 'test']).flatMap(testFiles).sort()
if (files.length === 0) {
  process.stderr.write(`no *.test.ts files under ${roots.join(', ')}\n`)
  process.exit(1)
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...files],
  { stdio: 'inherit' },
)
process.exit(result.status ?? 1)
