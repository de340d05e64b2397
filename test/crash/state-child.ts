// State crash-test child: restores the task's stores, then runs commit cycles until it is killed.
// Output, one line each (written synchronously, so a line is out before the next step):
//   ready <fingerprint of the restored state>
//   try <fingerprint>     the transaction carrying this state is about to commit
//   ok <fingerprint>      it committed
//   abort <fingerprint>   this cycle aborted on purpose; the state is back to the last commit
// Usage: node --import tsx test/crash/state-child.ts <dir> <seed> <round>
import * as fs from 'node:fs'
import * as path from 'node:path'
import { EventLog } from '../../src/log/event-log.js'
import { TaskState } from '../../src/state/task-state.js'
import { EmbeddedTransport } from '../../src/transport/embedded.js'
import { fingerprint, STATE_CRASH_TXN_ID, stateCrashOptions } from './state-workload.js'
import { prng } from './workload.js'

const [dir, seedArg, roundArg] = process.argv.slice(2)
if (dir === undefined || seedArg === undefined || roundArg === undefined) {
  throw new Error('usage: state-child.ts <dir> <seed> <round>')
}
const rand = prng(Number(seedArg) * 1000 + Number(roundArg))
const say = (line: string) => fs.writeSync(1, `${line}\n`)

// fsync 'never': a SIGKILL loses no written bytes, only a machine crash would.
const log = EventLog.open({ dir: path.join(dir, 'log'), fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
const transport = new EmbeddedTransport(log)
// Same transactional id every round: fences the killed child's producer and aborts its open transaction.
const producer = await transport.producer({ transactionalId: STATE_CRASH_TXN_ID })
const state = await TaskState.open(stateCrashOptions(dir, transport, Number(roundArg)))
say(`ready ${fingerprint(state)}`)

const kv = state.keyValueStore<string, { n: number; at: number }>('totals')
const win = state.windowStore<{ page: string }, number>('per-minute')

for (let cycle = 0; ; cycle++) {
  const ops = 1 + Math.floor(rand() * 60)
  for (let i = 0; i < ops; i++) {
    const r = rand()
    const key = `k${Math.floor(rand() * 300)}`
    const page = { page: `/p${Math.floor(rand() * 20)}` }
    const start = Math.floor(rand() * 10) * 60_000
    if (r < 0.5) kv.put(key, { n: (kv.get(key)?.n ?? 0) + 1, at: cycle })
    else if (r < 0.6) kv.delete(key)
    else if (r < 0.95) win.put(page, start, (win.get(page, start) ?? 0) + 1)
    else win.delete(page, start)
  }
  const fp = fingerprint(state)
  const batches = state.flushChangelog()
  producer.beginTransaction()
  for (const b of batches) await producer.send(b.topic, b.partition, b.records)
  if (rand() < 0.15) {
    await producer.abortTransaction()
    state.afterAbort()
    say(`abort ${fingerprint(state)}`)
    continue
  }
  say(`try ${fp}`)
  await producer.commitTransaction()
  say(`ok ${fp}`)
  await state.afterCommit()
}
