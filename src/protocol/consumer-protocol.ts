// The "consumer" protocol type's payloads, carried as opaque bytes by JoinGroup (a member's
// subscription) and SyncGroup (its assignment). Kafka: ConsumerProtocolSubscription.json and
// ConsumerProtocolAssignment.json. Each is an int16 version followed by the struct, never
// flexible. Newer versions only append fields, so a newer payload is read with the newest layout
// known here and the rest ignored, as Kafka's own clients do; Kafka's tools (kafka-consumer-groups,
// kafkajs' AssignerProtocol) decode what is written here.
import { Reader, Writer } from './codec.js'
import { ProtocolError } from './protocol-error.js'
import { array, bytes, type Ctx, field, int32, string, struct } from './schema.js'

const TopicPartitions = array(struct([field('topic', string), field('partitions', array(int32))]))

const Subscription = struct([
  field('topics', array(string)),
  field('userData', bytes, { nullable: '0+', default: null }),
  field('ownedPartitions', TopicPartitions, { versions: '1+' }),
  field('generationId', int32, { versions: '2+', default: -1 }),
])

const Assignment = struct([
  field('assignedPartitions', TopicPartitions),
  field('userData', bytes, { nullable: '0+', default: null }),
])

/** The versions written: 1 (owned partitions) for subscriptions, 0 for assignments (v1 is the same layout). */
const SUBSCRIPTION_VERSION = 1
const SUBSCRIPTION_VERSION_MAX = 2
const ASSIGNMENT_VERSION = 0
const ASSIGNMENT_VERSION_MAX = 2

export interface TopicPartitionList {
  readonly topic: string
  readonly partitions: readonly number[]
}

export interface ConsumerSubscription {
  readonly topics: readonly string[]
  readonly userData: Buffer | null
  /** What the member held before this rebalance (v1+; [] in v0). */
  readonly ownedPartitions: readonly TopicPartitionList[]
}

export interface ConsumerAssignment {
  readonly assignedPartitions: readonly TopicPartitionList[]
  readonly userData: Buffer | null
}

const ctxOf = (version: number): Ctx => ({ version, flexible: false })

function encodeVersioned<T>(type: { write(w: Writer, v: T, ctx: Ctx): void }, version: number, v: T): Buffer {
  const w = new Writer(128)
  w.int16(version)
  type.write(w, v, ctxOf(version))
  return w.finish()
}

function decodeVersioned<T>(
  type: { read(r: Reader, ctx: Ctx): T },
  what: string,
  maxVersion: number,
  buf: Buffer,
): T {
  const r = new Reader(buf)
  const version = r.int16()
  if (version < 0) throw new ProtocolError(`${what}: version ${version} is negative`, 0)
  try {
    return type.read(r, ctxOf(Math.min(version, maxVersion)))
  } catch (err) {
    throw err instanceof ProtocolError ? err.inMessage(`${what} v${version}`) : err
  }
}

export function encodeConsumerSubscription(s: ConsumerSubscription): Buffer {
  return encodeVersioned(Subscription, SUBSCRIPTION_VERSION, {
    topics: [...s.topics],
    userData: s.userData,
    ownedPartitions: s.ownedPartitions.map((t) => ({ topic: t.topic, partitions: [...t.partitions] })),
    generationId: -1,
  })
}

export function decodeConsumerSubscription(buf: Buffer): ConsumerSubscription {
  const s = decodeVersioned(Subscription, 'ConsumerProtocolSubscription', SUBSCRIPTION_VERSION_MAX, buf)
  return { topics: s.topics, userData: s.userData, ownedPartitions: s.ownedPartitions }
}

export function encodeConsumerAssignment(a: ConsumerAssignment): Buffer {
  return encodeVersioned(Assignment, ASSIGNMENT_VERSION, {
    assignedPartitions: a.assignedPartitions.map((t) => ({ topic: t.topic, partitions: [...t.partitions] })),
    userData: a.userData,
  })
}

/** An empty buffer is no assignment (what a coordinator hands a member its leader left out). */
export function decodeConsumerAssignment(buf: Buffer): ConsumerAssignment {
  if (buf.length === 0) return { assignedPartitions: [], userData: null }
  return decodeVersioned(Assignment, 'ConsumerProtocolAssignment', ASSIGNMENT_VERSION_MAX, buf)
}
