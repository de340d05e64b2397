// The DSL's type inference, checked by the compiler itself: one `tsc` run over
// test/types-fixtures/, where plain lines must compile and each `@ts-expect-error` line must not.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const fixtures = fileURLToPath(new URL('../../test/types-fixtures/tsconfig.json', import.meta.url))

test('the DSL infers types from source to sink and rejects misuse (tsc over test/types-fixtures)', () => {
  const tsc = require.resolve('typescript/bin/tsc')
  const run = spawnSync(process.execPath, [tsc, '-p', fixtures, '--pretty', 'false'], { encoding: 'utf8' })
  assert.equal(run.error, undefined)
  assert.equal(
    run.status,
    0,
    `tsc found type errors (or unused @ts-expect-error):\n${run.stdout}${run.stderr}`,
  )
})
