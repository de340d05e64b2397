// The import rules of DESIGN.md §1, as a checker the layers test runs over src/.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'

/** Each layer and the layers it may import; '*' means anything. Same-layer imports are always allowed. */
export const LAYER_RULES: Readonly<Record<string, readonly string[] | '*'>> = {
  core: [],
  log: ['core'],
  protocol: ['core'],
  broker: ['core', 'log', 'protocol'],
  transport: ['core', 'log', 'protocol'],
  state: ['core', 'transport'],
  plan: ['core'],
  dsl: ['core', 'plan'],
  runtime: ['core', 'plan', 'state', 'transport'],
  connectors: ['core'],
  observe: ['core'],
  server: ['core', 'plan', 'runtime', 'observe'],
  cli: '*',
  testing: '*',
  // Benchmarks shipped with the package (`eddy bench`): they drive the runtime directly.
  bench: '*',
  // src/index.ts, the public API.
  index: '*',
}

/** Layers only the listed layers may import (besides themselves), whatever the others' rules say. */
export const IMPORTED_ONLY_BY: Readonly<Record<string, readonly string[]>> = {
  // The public API and the product never depend on benchmark code; only the CLI runs it.
  bench: ['cli'],
}

export interface LayerViolation {
  readonly file: string
  readonly specifier: string
  readonly message: string
}

/** The layer of a path relative to src/ ('core/x.ts' → 'core', 'index.ts' → 'index'), or null. */
export function layerOf(srcRelative: string): string | null {
  const parts = srcRelative.split('/')
  if (parts.length === 1) return parts[0] === 'index.ts' ? 'index' : null
  return parts[0]!
}

/** Module specifiers of static imports, `export … from` and `import()` in a TypeScript source. */
export function importSpecifiers(source: string): string[] {
  const info = ts.preProcessFile(source, true, true)
  return info.importedFiles.map((f) => f.fileName)
}

/**
 * Violations of the layer rules by one file. `file` is relative to the project root with '/'
 * separators (e.g. 'src/core/varint.ts'); only relative specifiers can reach our own layers.
 */
export function checkFile(file: string, source: string): LayerViolation[] {
  const fromRelative = path.posix.relative('src', file)
  const from = layerOf(fromRelative)
  const violations: LayerViolation[] = []
  const report = (specifier: string, rule: string) =>
    violations.push({ file, specifier, message: `${file} imports '${specifier}': ${rule} (DESIGN.md §1)` })

  if (from === null || !(from in LAYER_RULES)) {
    report(
      '',
      `'${fromRelative}' is in no known layer; put it in a layer folder or add the layer to test/layers.ts`,
    )
    return violations
  }
  const allowed = LAYER_RULES[from]!
  for (const specifier of importSpecifiers(source)) {
    if (!specifier.startsWith('.')) continue // packages and node: builtins
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier))
    if (!target.startsWith('src/')) {
      report(specifier, `src/ may not import from outside src/ (${target})`)
      continue
    }
    const to = layerOf(path.posix.relative('src', target))
    const onlyBy = to === null ? undefined : IMPORTED_ONLY_BY[to]
    if (to !== from && onlyBy !== undefined && !onlyBy.includes(from)) {
      report(specifier, `layer '${to}' may be imported only by ${onlyBy.join(', ')}`)
      continue
    }
    if (to === from || allowed === '*') continue
    if (to === null || !allowed.includes(to)) {
      const may = allowed.length === 0 ? 'nothing of ours' : allowed.join(', ')
      report(specifier, `layer '${from}' may not import layer '${to ?? target}'; it may import ${may}`)
    }
  }
  return violations
}

/** Every .ts file under `srcDir`, as paths relative to `root` with '/' separators. */
export function sourceFiles(root: string, srcDir = 'src'): string[] {
  const files: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`
      if (entry.isDirectory()) walk(rel)
      else if (entry.isFile() && /\.(ts|mts|cts|tsx)$/.test(entry.name)) files.push(rel)
    }
  }
  walk(srcDir)
  return files.sort()
}

export function checkProject(root: string): LayerViolation[] {
  return sourceFiles(root).flatMap((file) => checkFile(file, readFileSync(path.join(root, file), 'utf8')))
}
