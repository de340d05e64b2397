// Child of the exactly-once crash tests: runs an app on <dataDir> until its inputs are idle.
// It says `running` just before app.run(), so the parent can time its SIGKILL from there.
// Usage: node --import tsx test/runtime/eos-child.ts <dataDir> <exactly_once|at_least_once> <commitIntervalMs> [payments|joins]
import * as fs from 'node:fs'
import type { ProcessingGuarantee } from '../../src/index.js'
import { eosApp, joinApp } from './eos-pipeline.js'

const [dataDir, guarantee, interval, pipeline = 'payments'] = process.argv.slice(2)
if (dataDir === undefined || guarantee === undefined || interval === undefined) {
  throw new Error('usage: eos-child.ts <dataDir> <guarantee> <commitIntervalMs> [payments|joins]')
}
const build = pipeline === 'joins' ? joinApp : eosApp
const app = build(dataDir, guarantee as ProcessingGuarantee, Number(interval))
fs.writeSync(1, 'running\n')
await app.run({ untilIdleMs: 200 })
fs.writeSync(1, 'done\n')
