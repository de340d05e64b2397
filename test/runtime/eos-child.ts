// Child of the exactly-once crash test: runs the app on <dataDir> until its inputs are idle.
// It says `running` just before app.run(), so the parent can time its SIGKILL from there.
// Usage: node --import tsx test/runtime/eos-child.ts <dataDir> <exactly_once|at_least_once> <commitIntervalMs>
import * as fs from 'node:fs'
import type { ProcessingGuarantee } from '../../src/index.js'
import { eosApp } from './eos-pipeline.js'

const [dataDir, guarantee, interval] = process.argv.slice(2)
if (dataDir === undefined || guarantee === undefined || interval === undefined) {
  throw new Error('usage: eos-child.ts <dataDir> <guarantee> <commitIntervalMs>')
}
const app = eosApp(dataDir, guarantee as ProcessingGuarantee, Number(interval))
fs.writeSync(1, 'running\n')
await app.run({ untilIdleMs: 200 })
fs.writeSync(1, 'done\n')
