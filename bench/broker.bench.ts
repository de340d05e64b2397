// Benchmark of the Kafka-protocol broker against Redis Streams and NATS JetStream: the same
// records (count and size) produced with acknowledgements, then consumed from the beginning, over
// loopback. Every server runs as a process of its own: Eddy's broker as a child of this script (on
// a temporary data directory), redis-server and nats-server (Debian's; as root, installed with
// apt-get if missing) on free 127.0.0.1 ports. kcat runs as its own process; the Node clients
// (@platformatic/kafka, ioredis, nats) run in a worker thread, so every server and its client have
// a core each. Each row also reports the CPU seconds its server and its client used (Linux /proc).
// Writes its table to docs/benchmarks.md under "## Broker (npm run bench:broker)".
//   npm run bench:broker             1,000,000 records of 100 bytes
//   npm run bench:broker -- --quick  200,000 records
//   npm run bench:broker -- --runs 5 five runs per row (3 by default)
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process'
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { BENCHMARKS_DOC, median, writeDocsSection } from './support/report.js'

const quick = process.argv.includes('--quick')
const RECORDS = quick ? 200_000 : 1_000_000
const VALUE_BYTES = 100
/** Runs per row (`--runs N`); 3 unless asked. */
const RUNS = (() => {
  const i = process.argv.indexOf('--runs')
  const n = i >= 0 ? Number(process.argv[i + 1]) : 3
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--runs wants a whole number >= 1, got ${process.argv[i + 1]}`)
  return n
})()
/** Redis and JetStream, whose producers here get far fewer records/s, run on a fifth of the records in --quick. */
const TARGET_VS_REDIS = 3
const TARGET_VS_JETSTREAM = 10
/**
 * Young generation of every Node client's worker (V8's default semi-spaces are 16 MB, so about
 * 48 MB). A larger one is the usual Node tuning for allocation-heavy throughput; on a quiet run
 * here it raised both Node producers' rates (@platformatic/kafka by a sixth, ioredis by more than
 * a quarter). Rows marked "Node defaults" run without it.
 */
const CLIENT_YOUNG_GENERATION_MB = 128

const SECTION = '## Broker (npm run bench:broker)'

// ---- tasks run in the worker thread (Node clients) -------------------------------------------

type Task =
  | { kind: 'kafka-produce'; port: number; topic: string; records: number }
  | { kind: 'kafka-consume'; port: number; topic: string; records: number }
  | { kind: 'redis-produce'; port: number; key: string; records: number }
  | { kind: 'redis-consume'; port: number; key: string; records: number }
  | { kind: 'nats-produce'; port: number; subject: string; records: number }
  | { kind: 'nats-consume'; port: number; stream: string; records: number }

interface TaskResult {
  readonly seconds: number
  readonly records: number
  /** CPU seconds of the client's thread while timed (null off Linux). */
  readonly clientCpuS: number | null
}

// ---- CPU accounting: Linux /proc, null elsewhere --------------------------------------------

/** /proc reports CPU time in USER_HZ, 100 on Linux. */
const CLOCK_TICKS = 100

/** User + system CPU seconds from a /proc stat file; `children` reads those of reaped children. */
function statCpuS(file: string, children = false): number | null {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return null
  }
  // Fields after the command name (which may hold spaces): index 0 is field 3, utime is field 14.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const i = children ? 13 : 11
  return (Number(fields[i]) + Number(fields[i + 1])) / CLOCK_TICKS
}
/** The calling thread's CPU seconds (sync fs calls run on the calling thread). */
const threadCpuS = () => statCpuS('/proc/thread-self/stat')
const processCpuS = (pid: number = process.pid) => statCpuS(`/proc/${pid}/stat`)
/** CPU of this process's children that have exited (and theirs): kcat, redis-benchmark. */
const childrenCpuS = () => statCpuS('/proc/self/stat', true)
const cpuDelta = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a)

/** Times the measured part of a task in the worker, telling the main thread when it starts and ends. */
function timer(): { start(): void; stop(): { seconds: number; clientCpuS: number | null } } {
  let t0 = 0
  let cpu0: number | null = null
  return {
    start() {
      parentPort?.postMessage({ mark: 'start' })
      cpu0 = threadCpuS()
      t0 = performance.now()
    },
    stop() {
      const seconds = (performance.now() - t0) / 1000
      const clientCpuS = cpuDelta(cpu0, threadCpuS())
      parentPort?.postMessage({ mark: 'stop' })
      return { seconds, clientCpuS }
    },
  }
}

/** Distinct 100-byte values, cycled. */
function values(count = 1024): Buffer[] {
  const bytes = crypto.randomBytes(count * VALUE_BYTES)
  return Array.from({ length: count }, (_, i) => bytes.subarray(i * VALUE_BYTES, (i + 1) * VALUE_BYTES))
}

/** Runs `send(i)` for i in [0, total) chunk by chunk, `inFlight` chunks at a time. */
async function windowed(
  total: number,
  chunk: number,
  inFlight: number,
  send: (from: number, to: number) => Promise<unknown>,
): Promise<void> {
  let next = 0
  const lane = async () => {
    while (next < total) {
      const from = next
      next = Math.min(total, next + chunk)
      await send(from, next)
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane))
}

async function runTask(task: Task): Promise<TaskResult> {
  const pool = values()
  const timed = timer()
  switch (task.kind) {
    case 'kafka-produce': {
      const { Producer, ProduceAcks } = await import('@platformatic/kafka')
      const producer = new Producer({
        clientId: 'eddy-bench',
        bootstrapBrokers: [`127.0.0.1:${task.port}`],
        acks: ProduceAcks.ALL,
        autocreateTopics: false,
        // As many requests on the connection as sends in flight (its default is 5).
        maxInflights: 8,
      })
      await producer.send({ messages: [{ topic: `${task.topic}-warmup`, value: pool[0]! }] })
      timed.start()
      // One Produce request per send (one batch of 1,000 records), 8 in flight.
      await windowed(task.records, 1000, 8, (from, to) => {
        const messages = []
        for (let i = from; i < to; i++) messages.push({ topic: task.topic, value: pool[i % pool.length]! })
        return producer.send({ messages })
      })
      const { seconds, clientCpuS } = timed.stop()
      await producer.close()
      return { seconds, records: task.records, clientCpuS }
    }
    case 'kafka-consume': {
      const { Consumer } = await import('@platformatic/kafka')
      const consumer = new Consumer({
        clientId: 'eddy-bench',
        groupId: `bench-${task.topic}`,
        bootstrapBrokers: [`127.0.0.1:${task.port}`],
        maxWaitTime: 100,
        // The fastest of the settings tried (16 MB fetches were half as fast).
        maxBytes: 1024 * 1024,
        highWaterMark: 65536,
      })
      timed.start()
      const stream = await consumer.consume({ topics: [task.topic], mode: 'earliest', autocommit: false })
      let n = 0
      await new Promise<void>((resolve, reject) => {
        stream.on('error', reject)
        stream.on('data', () => {
          if (++n === task.records) resolve()
        })
      })
      const { seconds, clientCpuS } = timed.stop()
      await stream.close()
      await consumer.close()
      return { seconds, records: n, clientCpuS }
    }
    case 'redis-produce': {
      const { Redis } = await import('ioredis')
      const redis = new Redis({ port: task.port, host: '127.0.0.1' })
      await redis.ping()
      timed.start()
      // XADD pipelined: 1,000 commands per pipeline, 8 pipelines in flight.
      await windowed(task.records, 1000, 8, (from, to) => {
        const p = redis.pipeline()
        for (let i = from; i < to; i++) p.xadd(task.key, '*', 'v', pool[i % pool.length]!)
        return p.exec()
      })
      const { seconds, clientCpuS } = timed.stop()
      const length = await redis.xlen(task.key)
      redis.disconnect()
      if (length !== task.records) throw new Error(`XLEN ${length}, expected ${task.records}`)
      return { seconds, records: task.records, clientCpuS }
    }
    case 'redis-consume': {
      const { Redis } = await import('ioredis')
      const redis = new Redis({ port: task.port, host: '127.0.0.1' })
      await redis.ping()
      timed.start()
      let n = 0
      let last = '0-0'
      while (n < task.records) {
        const r = (await redis.xreadBuffer('COUNT', 10_000, 'STREAMS', task.key, last)) as
          | [Buffer, [Buffer, Buffer[]][]][]
          | null
        const entries = r?.[0]?.[1] ?? []
        if (entries.length === 0) break
        n += entries.length
        last = entries[entries.length - 1]![0].toString()
      }
      const { seconds, clientCpuS } = timed.stop()
      redis.disconnect()
      return { seconds, records: n, clientCpuS }
    }
    case 'nats-produce': {
      const { connect } = await import('nats')
      const nc = await connect({ servers: `127.0.0.1:${task.port}` })
      const js = nc.jetstream()
      timed.start()
      // Publish with acks: every publish waits for its PubAck; 1,000 in flight per lane, 8 lanes.
      await windowed(task.records, 1000, 8, (from, to) => {
        const acks = []
        for (let i = from; i < to; i++) acks.push(js.publish(task.subject, pool[i % pool.length]!))
        return Promise.all(acks)
      })
      const { seconds, clientCpuS } = timed.stop()
      await nc.close()
      return { seconds, records: task.records, clientCpuS }
    }
    case 'nats-consume': {
      const { AckPolicy, connect, DeliverPolicy } = await import('nats')
      const nc = await connect({ servers: `127.0.0.1:${task.port}` })
      const jsm = await nc.jetstreamManager()
      await jsm.consumers.add(task.stream, {
        durable_name: 'bench',
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.All,
      })
      const consumer = await nc.jetstream().consumers.get(task.stream, 'bench')
      timed.start()
      const messages = await consumer.consume({ max_messages: 10_000 })
      let n = 0
      for await (const _ of messages) {
        if (++n === task.records) break
      }
      const { seconds, clientCpuS } = timed.stop()
      // Leaving the loop stops the consumer; its close() would wait forever (nats.js 2.29).
      messages.stop()
      await nc.close()
      return { seconds, records: n, clientCpuS }
    }
  }
}

if (!isMainThread) {
  const result = await runTask(workerData as Task)
  parentPort?.postMessage(result)
}

interface WorkerResult extends TaskResult {
  /** `serverCpuS` read when the timed part started and stopped. */
  readonly serverCpuS: number | null
}

/**
 * Runs `task` in a worker thread (so the client has its own core and event loop) with a young
 * generation of `youngGenerationMb` (null: V8's default); `serverCpuS` is read when the worker
 * starts and stops timing.
 */
function inWorker(
  task: Task,
  serverCpuS: () => number | null,
  youngGenerationMb: number | null = CLIENT_YOUNG_GENERATION_MB,
): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    // Workers do not inherit `--import tsx` on Node 20: the worker registers tsx, then loads this file.
    const worker = new Worker(
      `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}) })`,
      {
        eval: true,
        workerData: task,
        ...(youngGenerationMb === null
          ? {}
          : { resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb } }),
      },
    )
    let result: TaskResult | undefined
    let cpuStart: number | null = null
    let cpuStop: number | null = null
    worker.on('message', (m: TaskResult | { mark: 'start' | 'stop' }) => {
      if (!('mark' in m)) result = m
      else if (m.mark === 'start') cpuStart = serverCpuS()
      else cpuStop = serverCpuS()
    })
    worker.on('error', reject)
    worker.on('exit', (code) =>
      result !== undefined
        ? resolve({ ...result, serverCpuS: cpuDelta(cpuStart, cpuStop) })
        : reject(new Error(`${task.kind} worker exited with ${code}`)),
    )
  })
}

// ---- servers and processes ------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0
}

/** Installs Debian's redis-server and nats-server when missing and this runs as root; else says why not. */
function ensureServers(): string | null {
  const missing = ['redis-server', 'nats-server'].filter((c) => !has(c))
  if (missing.length === 0) return null
  if (process.getuid?.() !== 0)
    return `${missing.join(' and ')} missing (apt-get install -y ${missing.join(' ')} as root)`
  process.stderr.write(`installing ${missing.join(', ')} with apt-get…\n`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  })
  return r.status === 0 ? null : `apt-get install ${missing.join(' ')} failed`
}

interface Server {
  readonly port: number
  readonly pid: number
  readonly version: string
  stop(): Promise<void>
}

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => {
        s.destroy()
        resolve(true)
      })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${what} did not listen on 127.0.0.1:${port}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Servers started here, killed if the benchmark is interrupted. */
const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

async function startProcess(command: string, args: string[], port: number, version: string): Promise<Server> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  children.add(child)
  child.on('exit', () => children.delete(child))
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  try {
    await waitForPort(port, child, command)
  } catch (err) {
    child.kill('SIGKILL')
    throw new Error(`${(err as Error).message}: ${stderr}`)
  }
  return {
    port,
    pid: child.pid!,
    version,
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}

function versionOf(command: string, args: string[], pattern: RegExp): string {
  const r = spawnSync(command, args, { encoding: 'utf8' })
  return pattern.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown version'
}

async function startRedis(dir: string, persistence: 'aof' | 'none'): Promise<Server> {
  const port = await freePort()
  const persist =
    persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'no'] : ['--appendonly', 'no']
  return startProcess(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      ...persist,
      '--daemonize',
      'no',
    ],
    port,
    versionOf('redis-server', ['--version'], /v=(\S+)/),
  )
}

async function startNats(dir: string): Promise<Server> {
  const port = await freePort()
  return startProcess(
    'nats-server',
    ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir],
    port,
    versionOf('nats-server', ['--version'], /v(\d\S*)/),
  )
}

async function createJetStream(port: number, stream: string, subject: string): Promise<void> {
  const { connect, StorageType } = await import('nats')
  const nc = await connect({ servers: `127.0.0.1:${port}` })
  const jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File })
  await nc.close()
}

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly seconds: number
  /** CPU seconds of the command line's processes (start-up included). */
  readonly clientCpuS: number | null
}

/** Runs a shell command line asynchronously, timing it. */
function sh(commandLine: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const cpu0 = childrenCpuS()
    const child = spawn('sh', ['-c', commandLine], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({
        code,
        stdout,
        stderr,
        seconds: (performance.now() - t0) / 1000,
        clientCpuS: cpuDelta(cpu0, childrenCpuS()),
      }),
    )
  })
}

// ---- Eddy's broker, in a child process of its own (as redis-server and nats-server are) --------

/** Set in the environment of the child process that serves Eddy's broker. */
const BROKER_CHILD = 'EDDY_BENCH_BROKER'

type BrokerOp = { op: 'createTopic'; topic: string } | { op: 'latestOffset'; topic: string } | { op: 'close' }
type BrokerRequest = BrokerOp & { id: number }
type BrokerReply = { id: number; value: number } | { port: number }

/** The child's side: a broker over a log in `dir` with fsync policy `fsync`, driven over IPC. */
async function serveBroker(dir: string, fsync: 'never' | 'always'): Promise<void> {
  const { Broker } = await import('../src/broker/broker.js')
  const { GroupCoordinator } = await import('../src/broker/group-coordinator.js')
  const { EventLog } = await import('../src/log/event-log.js')
  const log = EventLog.open({ dir, fsync: { kind: fsync }, maintenanceIntervalMs: 0 })
  const groups = new GroupCoordinator({ initialRebalanceDelayMs: 0 })
  const silent = { info() {}, warn() {}, error() {} }
  const broker = await Broker.start({ log, port: 0, logger: silent, groups })
  const reply = (m: BrokerReply) => process.send?.(m)
  process.on('message', async (m: BrokerRequest) => {
    switch (m.op) {
      case 'createTopic':
        log.createTopic(m.topic)
        return reply({ id: m.id, value: 0 })
      case 'latestOffset':
        return reply({ id: m.id, value: log.latestOffset(m.topic, 0) })
      case 'close':
        await broker.close()
        groups.close()
        await log.close()
        reply({ id: m.id, value: 0 })
        process.disconnect()
    }
  })
  // The parent gone (killed, interrupted): nothing to serve any more.
  process.on('disconnect', () => process.exit(0))
  reply({ port: broker.port })
}

interface EddyServer {
  readonly port: number
  readonly pid: number
  createTopic(topic: string): Promise<void>
  latestOffset(topic: string): Promise<number>
  stop(): Promise<void>
}

/** Forks this file as Eddy's broker (tsx comes with process.execArgv). */
function startEddy(dir: string, fsync: 'never' | 'always'): Promise<EddyServer> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [BROKER_CHILD]: JSON.stringify({ dir, fsync }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.add(child)
  child.on('exit', () => children.delete(child))
  let nextId = 0
  const pending = new Map<number, (value: number) => void>()
  const call = (req: BrokerOp) =>
    new Promise<number>((resolve, reject) => {
      const id = nextId++
      pending.set(id, resolve)
      child.send({ ...req, id }, (err) => {
        if (err) reject(err)
      })
    })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`Eddy's broker (fsync ${fsync}) exited with ${code}`)))
    child.on('message', (m: BrokerReply) => {
      if ('port' in m) {
        resolve({
          port: m.port,
          pid: child.pid!,
          createTopic: async (topic) => {
            await call({ op: 'createTopic', topic })
          },
          latestOffset: (topic) => call({ op: 'latestOffset', topic }),
          async stop() {
            const exited = new Promise<void>((r) => child.once('exit', () => r()))
            await call({ op: 'close' })
            await exited
          },
        })
        return
      }
      pending.get(m.id)?.(m.value)
      pending.delete(m.id)
    })
  })
}

// ---- measurements ---------------------------------------------------------------------------

interface Measure {
  readonly recordsPerS: number
  readonly seconds: number
  /** CPU seconds of the server while timed (Eddy: this process less the client's thread). */
  readonly serverCpuS: number | null
  /** CPU seconds of the client while timed (kcat, redis-benchmark: their processes, start-up included). */
  readonly clientCpuS: number | null
}

interface Row {
  readonly name: string
  readonly system: 'eddy' | 'redis' | 'jetstream'
  readonly op: 'produce' | 'consume'
  readonly client: string
  readonly runs: Measure[]
  note?: string
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US')
const fmtMB = (recordsPerS: number) => ((recordsPerS * VALUE_BYTES) / (1024 * 1024)).toFixed(1)

function measureOf(
  records: number,
  seconds: number,
  serverCpuS: number | null,
  clientCpuS: number | null,
): Measure {
  return { recordsPerS: records / seconds, seconds, serverCpuS, clientCpuS }
}

/** A worker's run against a server process. */
function workerMeasure(records: number, r: WorkerResult): Measure {
  return measureOf(records, r.seconds, r.serverCpuS, r.clientCpuS)
}

/** Runs a command line against the server process `pid`, reading that server's CPU around it. */
async function shWith(pid: number, commandLine: string): Promise<Run & { serverCpuS: number | null }> {
  const cpu0 = processCpuS(pid)
  const run = await sh(commandLine)
  return { ...run, serverCpuS: cpuDelta(cpu0, processCpuS(pid)) }
}

function check(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: ${got} records, expected ${want}`)
}

async function main(): Promise<void> {
  const started = performance.now()
  const say = (s: string) => process.stderr.write(`${s}\n`)
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-bench-broker-'))
  const cleanups: (() => Promise<void> | void)[] = [() => fs.rmSync(work, { recursive: true, force: true })]
  const unavailable: string[] = []
  try {
    if (!has('kcat')) unavailable.push('kcat (apt-get install -y kcat)')
    const serversMissing = ensureServers()
    if (serversMissing !== null) unavailable.push(serversMissing)
    let platformatic = true
    try {
      await import('@platformatic/kafka')
    } catch {
      platformatic = false
      unavailable.push('@platformatic/kafka (npm install)')
    }

    // The lines kcat produces: RECORDS values of 100 printable bytes.
    const linesFile = path.join(work, 'records.txt')
    {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
      const random = crypto.randomBytes(VALUE_BYTES * 1024)
      const lines = Array.from({ length: 1024 }, (_, l) => {
        let s = ''
        for (let i = 0; i < VALUE_BYTES; i++) s += alphabet[random[l * VALUE_BYTES + i]! % alphabet.length]
        return `${s}\n`
      }).join('')
      const fd = fs.openSync(linesFile, 'w')
      for (let i = 0; i < RECORDS; i += 1024)
        fs.writeSync(fd, i + 1024 <= RECORDS ? lines : lines.slice(0, (RECORDS - i) * (VALUE_BYTES + 1)))
      fs.closeSync(fd)
    }

    const eddy = await startEddy(path.join(work, 'eddy-never'), 'never')
    cleanups.unshift(() => eddy.stop())
    const eddyAlways = await startEddy(path.join(work, 'eddy-always'), 'always')
    cleanups.unshift(() => eddyAlways.stop())
    const kcatVersion = versionOf('kcat', ['-V'], /(Version \S+ .*?librdkafka \S+)/).replace(
      /Version (\S+) .*?librdkafka (\S+)/,
      '$1, librdkafka $2',
    )

    let redisAof: Server | null = null
    let redisMem: Server | null = null
    let nats: Server | null = null
    if (serversMissing === null) {
      redisAof = await startRedis(fs.mkdtempSync(path.join(work, 'redis-aof-')), 'aof')
      cleanups.unshift(() => redisAof?.stop())
      redisMem = await startRedis(fs.mkdtempSync(path.join(work, 'redis-mem-')), 'none')
      cleanups.unshift(() => redisMem?.stop())
      nats = await startNats(fs.mkdtempSync(path.join(work, 'nats-')))
      cleanups.unshift(() => nats?.stop())
    }

    const rows: Row[] = []
    const row = (r: Omit<Row, 'runs'>): Row => {
      const full = { ...r, runs: [] }
      rows.push(full)
      return full
    }
    const kcatProduce = row({
      name: 'Eddy broker, kcat -P (librdkafka, acks=all)',
      system: 'eddy',
      op: 'produce',
      client: 'kcat',
    })
    const kcatConsume = row({
      name: 'Eddy broker, kcat -C -e -c N',
      system: 'eddy',
      op: 'consume',
      client: 'kcat',
    })
    const kcatProduceSync = row({
      name: 'Eddy broker, kcat -P, log fsync always (the default)',
      system: 'eddy',
      op: 'produce',
      client: 'kcat',
    })
    const pltProduce = platformatic
      ? row({
          name: 'Eddy broker, @platformatic/kafka producer (acks=all)',
          system: 'eddy',
          op: 'produce',
          client: 'node',
        })
      : null
    const pltConsume = platformatic
      ? row({
          name: 'Eddy broker, @platformatic/kafka consumer',
          system: 'eddy',
          op: 'consume',
          client: 'node',
        })
      : null
    const pltProduceDefaults = platformatic
      ? row({
          name: 'Eddy broker, @platformatic/kafka producer (acks=all), Node defaults',
          system: 'eddy',
          op: 'produce',
          client: 'node',
        })
      : null
    const redisProduce = redisAof
      ? row({
          name: 'Redis Streams, XADD pipelined (ioredis), AOF appendfsync no',
          system: 'redis',
          op: 'produce',
          client: 'node',
        })
      : null
    const redisProduceDefaults = redisAof
      ? row({
          name: 'Redis Streams, XADD pipelined (ioredis), AOF appendfsync no, Node defaults',
          system: 'redis',
          op: 'produce',
          client: 'node',
        })
      : null
    const redisConsume = redisAof
      ? row({
          name: 'Redis Streams, XREAD COUNT 10000 (ioredis)',
          system: 'redis',
          op: 'consume',
          client: 'node',
        })
      : null
    const redisBenchProduce = redisAof
      ? row({
          name: 'Redis Streams, redis-benchmark -c 1 -P 100 XADD (C client), AOF appendfsync no',
          system: 'redis',
          op: 'produce',
          client: 'c',
        })
      : null
    const redisMemProduce = redisMem
      ? row({
          name: 'Redis Streams, XADD pipelined (ioredis), no persistence',
          system: 'redis',
          op: 'produce',
          client: 'node',
        })
      : null
    const natsProduce = nats
      ? row({
          name: 'NATS JetStream, publish with acks (nats.js), file storage',
          system: 'jetstream',
          op: 'produce',
          client: 'node',
        })
      : null
    const natsConsume = nats
      ? row({
          name: 'NATS JetStream, pull consumer (nats.js), no acks',
          system: 'jetstream',
          op: 'consume',
          client: 'node',
        })
      : null

    say(
      `bench:broker${quick ? ' --quick' : ''}: ${fmtInt(RECORDS)} records of ${VALUE_BYTES} bytes, ${RUNS} runs per row`,
    )
    const report = (r: Row, m: Measure) => {
      r.runs.push(m)
      say(`  ${r.name}: ${fmtInt(m.recordsPerS)} records/s (${m.seconds.toFixed(2)} s)`)
    }
    // Runs interleave (every row once, then again), so drift in the machine's speed hits every row alike.
    for (let run = 1; run <= RUNS; run++) {
      say(`run ${run}/${RUNS}`)
      const topic = `kcat-${run}`
      await eddy.createTopic(topic)
      const brokerAddress = `127.0.0.1:${eddy.port}`
      const p = await shWith(eddy.pid, `kcat -P -b ${brokerAddress} -t ${topic} -l ${linesFile}`)
      if (p.code !== 0) throw new Error(`kcat -P failed: ${p.stderr}`)
      check('kcat -P', await eddy.latestOffset(topic), RECORDS)
      report(kcatProduce, measureOf(RECORDS, p.seconds, p.serverCpuS, p.clientCpuS))

      // -c: exit at the last record, rather than after the empty long poll (fetch.wait.max.ms, 500 ms) that -e waits for.
      const c = await shWith(
        eddy.pid,
        `kcat -C -b ${brokerAddress} -t ${topic} -o beginning -e -c ${RECORDS} -q | wc -l`,
      )
      if (c.code !== 0) throw new Error(`kcat -C failed: ${c.stderr}`)
      check('kcat -C', Number(c.stdout.trim()), RECORDS)
      report(kcatConsume, measureOf(RECORDS, c.seconds, c.serverCpuS, c.clientCpuS))

      await eddyAlways.createTopic(topic)
      const ps = await shWith(
        eddyAlways.pid,
        `kcat -P -b 127.0.0.1:${eddyAlways.port} -t ${topic} -l ${linesFile}`,
      )
      if (ps.code !== 0) throw new Error(`kcat -P (fsync always) failed: ${ps.stderr}`)
      check('kcat -P (fsync always)', await eddyAlways.latestOffset(topic), RECORDS)
      report(kcatProduceSync, measureOf(RECORDS, ps.seconds, ps.serverCpuS, ps.clientCpuS))

      if (pltProduce !== null && pltConsume !== null) {
        const t = `platformatic-${run}`
        await eddy.createTopic(t)
        await eddy.createTopic(`${t}-warmup`)
        const r = await inWorker({ kind: 'kafka-produce', port: eddy.port, topic: t, records: RECORDS }, () =>
          processCpuS(eddy.pid),
        )
        check('@platformatic/kafka produce', await eddy.latestOffset(t), RECORDS)
        report(pltProduce, workerMeasure(RECORDS, r))
        const rc = await inWorker(
          { kind: 'kafka-consume', port: eddy.port, topic: t, records: RECORDS },
          () => processCpuS(eddy.pid),
        )
        check('@platformatic/kafka consume', rc.records, RECORDS)
        report(pltConsume, workerMeasure(RECORDS, rc))
        if (pltProduceDefaults !== null) {
          await eddy.createTopic(`${t}-defaults`)
          await eddy.createTopic(`${t}-defaults-warmup`)
          const rd = await inWorker(
            { kind: 'kafka-produce', port: eddy.port, topic: `${t}-defaults`, records: RECORDS },
            () => processCpuS(eddy.pid),
            null,
          )
          check(
            '@platformatic/kafka produce (Node defaults)',
            await eddy.latestOffset(`${t}-defaults`),
            RECORDS,
          )
          report(pltProduceDefaults, workerMeasure(RECORDS, rd))
        }
      }

      if (redisAof !== null && redisProduce !== null && redisConsume !== null) {
        const key = `bench-${run}`
        const redisCpu = () => processCpuS(redisAof.pid)
        const r = await inWorker(
          { kind: 'redis-produce', port: redisAof.port, key, records: RECORDS },
          redisCpu,
        )
        report(redisProduce, workerMeasure(RECORDS, r))
        const rc = await inWorker(
          { kind: 'redis-consume', port: redisAof.port, key, records: RECORDS },
          redisCpu,
        )
        check('XREAD', rc.records, RECORDS)
        report(redisConsume, workerMeasure(RECORDS, rc))
        if (redisProduceDefaults !== null) {
          const rd = await inWorker(
            { kind: 'redis-produce', port: redisAof.port, key: `${key}-defaults`, records: RECORDS },
            redisCpu,
            null,
          )
          report(redisProduceDefaults, workerMeasure(RECORDS, rd))
        }
      }
      if (redisAof !== null && redisBenchProduce !== null) {
        const key = `bench-c-${run}`
        const value = fs.readFileSync(linesFile, 'latin1').slice(0, VALUE_BYTES)
        const cpu0 = processCpuS(redisAof.pid)
        const r = await sh(
          `redis-benchmark -p ${redisAof.port} -n ${RECORDS} -c 1 -P 100 -q XADD ${key} '*' v ${value}`,
        )
        const serverCpu = cpuDelta(cpu0, processCpuS(redisAof.pid))
        const rps = [...r.stdout.matchAll(/([\d.]+) requests per second/g)].at(-1)?.[1]
        if (r.code !== 0 || rps === undefined)
          throw new Error(`redis-benchmark failed: ${r.stdout} ${r.stderr}`)
        const length = await sh(`redis-cli -p ${redisAof.port} XLEN ${key}`)
        check('redis-benchmark XADD', Number(length.stdout.trim()), RECORDS)
        // Its own rate; the CPU figures cover its whole run, start-up included.
        report(redisBenchProduce, measureOf(RECORDS, RECORDS / Number(rps), serverCpu, r.clientCpuS))
      }
      if (redisMem !== null && redisMemProduce !== null) {
        const r = await inWorker(
          { kind: 'redis-produce', port: redisMem.port, key: `bench-${run}`, records: RECORDS },
          () => processCpuS(redisMem.pid),
        )
        report(redisMemProduce, workerMeasure(RECORDS, r))
      }
      if (nats !== null && natsProduce !== null && natsConsume !== null) {
        const stream = `BENCH${run}`
        const subject = `bench.${run}`
        await createJetStream(nats.port, stream, subject)
        const natsCpu = () => processCpuS(nats.pid)
        const r = await inWorker(
          { kind: 'nats-produce', port: nats.port, subject, records: RECORDS },
          natsCpu,
        )
        report(natsProduce, workerMeasure(RECORDS, r))
        const rc = await inWorker(
          { kind: 'nats-consume', port: nats.port, stream, records: RECORDS },
          natsCpu,
        )
        check('JetStream consume', rc.records, RECORDS)
        report(natsConsume, workerMeasure(RECORDS, rc))
      }
    }

    // ---- report ----
    const med = (r: Row | null) =>
      r === null || r.runs.length === 0 ? null : median(r.runs.map((m) => m.recordsPerS))
    const eddyNode = med(pltProduce)
    const eddyKcat = med(kcatProduce)
    const redisNode = med(redisProduce)
    const redisC = med(redisBenchProduce)
    const jetstream = med(natsProduce)
    // Targets are judged client kind against client kind: Node against Node, C against C.
    const targets: string[] = []
    const ratio = (
      eddyName: string,
      eddyRate: number | null,
      otherName: string,
      otherRate: number | null,
      target?: number,
    ) => {
      if (eddyRate === null || otherRate === null) return
      const x = eddyRate / otherRate
      const verdict = target === undefined ? '' : ` (target >= ${target}×: ${x >= target ? 'pass' : 'MISS'})`
      targets.push(`- produce, Eddy (${eddyName}) / ${otherName}: **${x.toFixed(2)}×**${verdict}`)
    }
    ratio('@platformatic/kafka', eddyNode, 'Redis Streams (ioredis, AOF)', redisNode, TARGET_VS_REDIS)
    ratio('@platformatic/kafka', eddyNode, 'Redis Streams (ioredis, no persistence)', med(redisMemProduce))
    ratio(
      '@platformatic/kafka, Node defaults',
      med(pltProduceDefaults),
      'Redis Streams (ioredis, AOF, Node defaults)',
      med(redisProduceDefaults),
      TARGET_VS_REDIS,
    )
    ratio('@platformatic/kafka', eddyNode, 'NATS JetStream (nats.js)', jetstream, TARGET_VS_JETSTREAM)
    ratio('kcat', eddyKcat, 'Redis Streams (redis-benchmark, AOF)', redisC, TARGET_VS_REDIS)
    ratio('kcat', eddyKcat, 'NATS JetStream (nats.js; no C client here)', jetstream)
    const consumeRatio = (
      name: string,
      eddyRate: number | null,
      otherName: string,
      otherRate: number | null,
    ) => {
      if (eddyRate !== null && otherRate !== null)
        targets.push(`- consume, Eddy (${name}) / ${otherName}: ${(eddyRate / otherRate).toFixed(2)}×`)
    }
    consumeRatio('@platformatic/kafka', med(pltConsume), 'Redis Streams (ioredis XREAD)', med(redisConsume))
    consumeRatio('@platformatic/kafka', med(pltConsume), 'NATS JetStream (nats.js)', med(natsConsume))

    const medianOf = (xs: (number | null)[]) => {
      const known = xs.filter((x): x is number => x !== null)
      return known.length === 0 ? null : median(known)
    }
    const fmtCpu = (x: number | null) => (x === null ? '–' : x.toFixed(2))
    const header =
      '| system, client | operation | records | records/s | MB/s | s (median run) | records/s, runs (min–max) | server CPU s (median) | client CPU s (median) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|'
    const lines = rows
      .filter((r) => r.runs.length > 0)
      .map((r) => {
        const rates = r.runs.map((x) => x.recordsPerS)
        const m = median(rates)
        const s = median(r.runs.map((x) => x.seconds))
        const range = `${fmtInt(Math.min(...rates))}–${fmtInt(Math.max(...rates))}`
        const server = fmtCpu(medianOf(r.runs.map((x) => x.serverCpuS)))
        const client = fmtCpu(medianOf(r.runs.map((x) => x.clientCpuS)))
        return `| ${r.name} | ${r.op} | ${fmtInt(RECORDS)} | ${fmtInt(m)} | ${fmtMB(m)} | ${s.toFixed(2)} | ${range} | ${server} | ${client} |`
      })
    // Server CPU per produced record: what each server spends, whatever the client's speed.
    const serverCpu = (r: Row | null) => (r === null ? null : medianOf(r.runs.map((x) => x.serverCpuS)))
    const clientCpu = (r: Row | null) => (r === null ? null : medianOf(r.runs.map((x) => x.clientCpuS)))
    const perRecord = (r: Row | null) => {
      const cpu = serverCpu(r)
      return cpu === null ? null : (cpu / RECORDS) * 1e6
    }
    const cpuLines: string[] = []
    const cpuLine = (name: string, r: Row | null) => {
      const us = perRecord(r)
      if (us !== null) cpuLines.push(`${name} ${us.toFixed(2)} µs`)
    }
    cpuLine('Eddy (@platformatic/kafka)', pltProduce)
    cpuLine('Eddy (kcat)', kcatProduce)
    cpuLine('Redis (ioredis, AOF)', redisProduce)
    cpuLine('Redis (redis-benchmark, AOF)', redisBenchProduce)
    cpuLine('JetStream (nats.js)', natsProduce)
    const perRecordCpu = (cpu: number | null) =>
      cpu === null ? '–' : `${((cpu / RECORDS) * 1e6).toFixed(2)} µs`
    const times = (r: Row | null) => {
      const c = clientCpu(r)
      const sv = serverCpu(r)
      return c === null || sv === null || sv === 0 ? '–' : `${(c / sv).toFixed(1)}×`
    }
    const seconds = (performance.now() - started) / 1000
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
    const versions = [
      `kcat ${kcatVersion}`,
      redisAof ? `redis-server ${redisAof.version}` : null,
      nats ? `nats-server ${nats.version}` : null,
    ]
      .filter((v) => v !== null)
      .join(', ')
    const section = [
      SECTION,
      '',
      `Run ${new Date().toISOString().slice(0, 10)}${quick ? ' (--quick)' : ''} · Node ${process.version} · ${cpu} × ${os.cpus().length} · ${os.platform()} ${os.release()} · data in ${os.tmpdir()} · ${versions} · ${seconds.toFixed(0)} s`,
      '',
      `Workload: ${fmtInt(RECORDS)} records of ${VALUE_BYTES} bytes (value only, no key) into one partition / stream, then read back from the beginning, over 127.0.0.1. ` +
        "Every server is a process of its own: Eddy's broker a child of the script, on a temporary data directory, with the log's fsync policy `never` " +
        '(each append written to the OS, not fsynced), except the row that says `fsync always`; redis-server and nats-server started by the script: ' +
        'Redis with AOF and `appendfsync no` (every command written to the OS, not fsynced; also shown without persistence), JetStream with file storage (fsynced every 2 min by default). ' +
        'Producers wait for acknowledgements: kcat with its defaults (acks=all, batches of up to 10,000 records, linger 5 ms) reading a file of lines (`kcat -P -l`); ' +
        '@platformatic/kafka `send` of 1,000 records, 8 in flight (`maxInflights: 8`), acks=all; ioredis pipelines of 1,000 XADD, 8 in flight; redis-benchmark (C) with one connection, pipelines of 100 XADD, its own reported rate; nats.js `js.publish` awaiting every PubAck, 8,000 in flight. ' +
        'Consumers: `kcat -C -o beginning -e -c N -q | wc -l` (-c ends at the last record, before the empty 500 ms long poll that ends `-e`); a @platformatic/kafka consumer (1 MB fetches, stream highWaterMark 65,536; group join included; the broker has no initial rebalance delay); XREAD COUNT 10000 in a loop; a durable JetStream pull consumer with no acks. ' +
        'kcat rows time the kcat process (start-up included); the Node clients run in a worker thread (their own core) and time from the first send or the consume call, after connecting. ' +
        `Every Node client's worker has a ${CLIENT_YOUNG_GENERATION_MB} MB young generation (V8's default is about 48 MB), the usual tuning of a Node process for allocation-heavy throughput; the rows marked "Node defaults" run without it. ` +
        'Server CPU s is what the server process used while timed; client CPU s is the client thread (Node) or process (kcat, redis-benchmark, start-up included), from /proc. Every count is checked. Each row is the median of ' +
        `${RUNS} runs, interleaved; the range of the runs shows the noise (the machine is shared). Ratios are Eddy's records/s over the other system's, client kind against client kind (Node against Node, C against C).`,
      '',
      header,
      ...lines,
      '',
      ...targets,
      ...(cpuLines.length > 0
        ? ['', `Server CPU per record produced (median of the runs): ${cpuLines.join('; ')}.`]
        : []),
      ...(eddyKcat !== null && eddyNode !== null && redisNode !== null
        ? [
            '',
            `Where the limit is: producing through @platformatic/kafka, its thread spent ${perRecordCpu(clientCpu(pltProduce))} of CPU per record and the broker ${perRecordCpu(serverCpu(pltProduce))}; ` +
              `through ioredis, its thread ${perRecordCpu(clientCpu(redisProduce))} and redis-server ${perRecordCpu(serverCpu(redisProduce))}. ` +
              `The client threads used ${times(pltProduce)} and ${times(redisProduce)} the CPU of their servers: with a core each, the clients are the limit, and the ratio of those rows is mostly that of the two client libraries. ` +
              `The same broker took ${fmtInt(eddyKcat)} records/s from kcat ` +
              `(${fmtInt(eddyNode)} from @platformatic/kafka) and served ${fmtInt(med(kcatConsume) ?? 0)} records/s to kcat ` +
              `(${fmtInt(med(pltConsume) ?? 0)} to @platformatic/kafka), and Redis took ${fmtInt(redisC ?? 0)} XADD/s from redis-benchmark (${fmtInt(redisNode)} from ioredis).`,
          ]
        : []),
      ...(unavailable.length > 0 ? ['', `Not measured: ${unavailable.join('; ')}.`] : []),
      '',
    ].join('\n')
    writeDocsSection(SECTION, section)
    process.stdout.write(
      `${header}\n${lines.join('\n')}\n\n${targets.join('\n')}\n\n(${seconds.toFixed(0)} s; written to ${path.relative(process.cwd(), BENCHMARKS_DOC)})\n`,
    )
  } finally {
    for (const c of cleanups) await c()
  }
}

const brokerChild = process.env[BROKER_CHILD]
if (brokerChild !== undefined) {
  const { dir, fsync } = JSON.parse(brokerChild) as { dir: string; fsync: 'never' | 'always' }
  await serveBroker(dir, fsync)
} else if (isMainThread) await main()
