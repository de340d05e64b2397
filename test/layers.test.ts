import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { checkFile, checkProject, importSpecifiers, LAYER_RULES, layerOf, sourceFiles } from './layers.js'

const root = fileURLToPath(new URL('..', import.meta.url))

describe('layers (DESIGN.md §1)', () => {
  it('every file under src/ imports only the layers its layer may import', () => {
    const violations = checkProject(root)
    assert.deepEqual(
      violations.map((v) => v.message),
      [],
      `layer rules broken:\n${violations.map((v) => `  ${v.message}`).join('\n')}`,
    )
  })

  it('sees the files of src/', () => {
    const files = sourceFiles(root)
    assert.ok(files.includes('src/core/record-batch.ts'), 'src/core/record-batch.ts not found')
    for (const file of files) assert.ok(file.startsWith('src/'), file)
  })

  it('finds static imports, export-from and dynamic imports, not comments or strings', () => {
    const source = `
      import { a } from '../log/a.js'
      import type { B } from "../log/b.js"
      import '../log/side-effect.js'
      export { c } from '../log/c.js'
      export * from '../log/d.js'
      export type { E } from '../log/e.js'
      const f = await import('../log/f.js')
      type G = typeof import('../log/g.js')
      import {
        h,
        i,
      } from '../log/h.js'
      // import { x } from '../log/commented.js'
      /* export * from '../log/block-comment.js' */
      const s = "import { y } from '../log/in-a-string.js'"
      import fs from 'node:fs'
    `
    const found = importSpecifiers(source)
    for (const name of ['a', 'b', 'side-effect', 'c', 'd', 'e', 'f', 'g', 'h']) {
      assert.ok(found.includes(`../log/${name}.js`), `missed ../log/${name}.js in ${JSON.stringify(found)}`)
    }
    for (const name of ['commented', 'block-comment', 'in-a-string']) {
      assert.ok(!found.includes(`../log/${name}.js`), `wrongly found ../log/${name}.js`)
    }
    assert.ok(found.includes('node:fs'))
  })

  it('reports a violating file, naming file, import and rule', () => {
    const violations = checkFile(
      'src/core/bad.ts',
      `import { x } from './ok.js'\nimport { Log } from '../log/log.js'\nexport * from '../runtime/task.js'\nconst m = import('../dsl/stream.js')\n`,
    )
    assert.equal(violations.length, 3)
    assert.deepEqual(
      violations.map((v) => v.specifier),
      ['../log/log.js', '../runtime/task.js', '../dsl/stream.js'],
    )
    const first = violations[0]!.message
    assert.match(first, /src\/core\/bad\.ts/)
    assert.match(first, /'\.\.\/log\/log\.js'/)
    assert.match(first, /layer 'core' may not import layer 'log'; it may import nothing of ours/)
  })

  it('applies the table: allowed imports pass, others fail', () => {
    const ok = (file: string, spec: string) =>
      assert.deepEqual(checkFile(file, `import '${spec}'`), [], `${file} → ${spec}`)
    const bad = (file: string, spec: string) =>
      assert.equal(checkFile(file, `import '${spec}'`).length, 1, `${file} → ${spec}`)
    ok('src/log/segment.ts', '../core/errors.js')
    ok('src/log/segment.ts', './index.js')
    ok('src/log/deep/a.ts', '../segment.js')
    bad('src/log/segment.ts', '../protocol/api.js')
    ok('src/broker/server.ts', '../protocol/api.js')
    ok('src/broker/server.ts', '../log/log.js')
    bad('src/broker/server.ts', '../transport/x.js')
    ok('src/state/store.ts', '../transport/contract.js')
    bad('src/state/store.ts', '../log/log.js')
    ok('src/runtime/task.ts', '../state/store.js')
    bad('src/runtime/task.ts', '../dsl/stream.js')
    bad('src/runtime/task.ts', '../index.js')
    ok('src/connectors/http/sink.ts', '../../core/record.js')
    ok('src/connectors/http/sink.ts', '../files/source.js')
    bad('src/connectors/http/sink.ts', '../../runtime/task.js')
    ok('src/server/app.ts', '../observe/metrics.js')
    bad('src/server/app.ts', '../state/store.js')
    ok('src/cli/main.ts', '../broker/server.js')
    ok('src/testing/driver.ts', '../runtime/task.js')
    ok('src/index.ts', './dsl/stream.js')
    ok('src/bench/nexmark/run.ts', '../../runtime/task-executor.js')
    ok('src/bench/nexmark/run.ts', '../../index.js')
    ok('src/cli/commands/bench.ts', '../../bench/nexmark/run.js')
    bad('src/index.ts', './bench/nexmark/run.js')
    bad('src/testing/driver.ts', '../bench/nexmark/run.js')
    bad('src/dsl/stream.ts', '../bench/nexmark/queries.js')
    ok('src/core/x.ts', 'fast-check')
    bad('src/core/x.ts', '../../test/layers.js')
    bad('src/core/x.ts', '../index.js')
  })

  it('rejects files outside any known layer', () => {
    assert.equal(checkFile('src/helpers.ts', '').length, 1)
    assert.equal(checkFile('src/misc/a.ts', '').length, 1)
    assert.equal(layerOf('index.ts'), 'index')
    assert.equal(layerOf('connectors/pg/source.ts'), 'connectors')
    assert.ok('connectors' in LAYER_RULES)
  })
})
