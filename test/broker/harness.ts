// A broker over a fresh log in a temporary directory, on a free port, logging to memory.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Broker, type BrokerOptions } from '../../src/broker/broker.js'
import { GroupCoordinator } from '../../src/broker/group-coordinator.js'
import type { BrokerLogger } from '../../src/broker/handlers/context.js'
import { EventLog } from '../../src/log/event-log.js'
import type { LogOptions } from '../../src/log/types.js'
import { KafkaTestClient } from './kafka-test-client.js'

export class MemoryLogger implements BrokerLogger {
  readonly lines: string[] = []
  info(msg: string): void {
    this.lines.push(`info: ${msg}`)
  }
  warn(msg: string): void {
    this.lines.push(`warn: ${msg}`)
  }
  error(msg: string): void {
    this.lines.push(`error: ${msg}`)
  }
  /** Resolves once a line matches (polls: lines come from the broker's own event handlers). */
  async waitFor(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const line = this.lines.find((l) => pattern.test(l))
      if (line !== undefined) return line
      if (Date.now() > deadline)
        throw new Error(`no log line matches ${pattern}; got:\n${this.lines.join('\n')}`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }
}

export interface TestBroker {
  readonly dir: string
  readonly log: EventLog
  readonly broker: Broker
  readonly logger: MemoryLogger
  /** The broker's group coordinator. */
  readonly groups: GroupCoordinator
  readonly port: number
  connect(): Promise<KafkaTestClient>
  /** Closes clients, the broker, the log, and removes the directory. */
  stop(): Promise<void>
}

export function tmpDir(prefix = 'eddy-broker-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

export async function startBroker(
  opts: Partial<BrokerOptions> = {},
  logOpts: Partial<LogOptions> & { dir?: string } = {},
): Promise<TestBroker> {
  const dir = logOpts.dir ?? tmpDir()
  const log = EventLog.open({ fsync: { kind: 'never' }, maintenanceIntervalMs: 0, ...logOpts, dir })
  const logger = new MemoryLogger()
  const groups =
    opts.groups instanceof GroupCoordinator
      ? opts.groups
      : new GroupCoordinator({ initialRebalanceDelayMs: 0 })
  // A coordinator in `opts` wins (tests pass failing ones); `groups` is it when it is a real one.
  const broker = await Broker.start({ log, port: 0, logger, groups, ...opts })
  const clients: KafkaTestClient[] = []
  return {
    dir,
    log,
    broker,
    logger,
    groups,
    port: broker.port,
    async connect() {
      const c = await KafkaTestClient.connect(broker.port)
      clients.push(c)
      return c
    },
    async stop() {
      for (const c of clients) c.socket.destroy()
      await broker.close()
      groups.close()
      await log.close()
      if (logOpts.dir === undefined) fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}
