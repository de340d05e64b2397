// What the real-client interop tests (kafkajs.test.ts, platformatic.test.ts) share: a broker whose
// group coordinator waits a little for members to gather, bounded polling, and Kafka's default
// (Java) key partitioner to check where keyed records landed.
import type { BrokerOptions } from '../../src/broker/broker.js'
import { GroupCoordinator } from '../../src/broker/group-coordinator.js'
import { startBroker, type TestBroker } from './harness.js'

export async function startInteropBroker(opts: Partial<BrokerOptions> = {}): Promise<TestBroker> {
  // A short initial delay lets consumers started together join one generation.
  const groups = new GroupCoordinator({ initialRebalanceDelayMs: 100 })
  const b = await startBroker({ groups, transactionCheckIntervalMs: 0, ...opts })
  return {
    ...b,
    async stop() {
      await b.stop()
      groups.close()
    },
  }
}

/** Polls `check` until it returns a value other than undefined/false; throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined && v !== false) return v
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError })
    }
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2). */
function murmur2(data: Buffer): number {
  const m = 0x5bd1e995
  const r = 24
  const len = data.length
  let h = (0x9747b28c ^ len) | 0
  const whole = len >> 2
  for (let i = 0; i < whole; i++) {
    let k = data.readInt32LE(i * 4)
    k = Math.imul(k, m)
    k ^= k >>> r
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  const tail = whole * 4
  switch (len & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: murmur2 falls through on purpose
    case 3:
      h ^= data[tail + 2]! << 16
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: murmur2 falls through on purpose
    case 2:
      h ^= data[tail + 1]! << 8
    case 1:
      h ^= data[tail]!
      h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h
}

/** The partition Kafka's default partitioner picks for a key. */
export function javaPartition(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key)) & 0x7fffffff) % partitions
}
