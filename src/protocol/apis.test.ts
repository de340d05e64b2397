// Every API, every advertised version, both directions: round trips of generated values, and
// malformed input (truncations, random bytes, corrupted encodings) that must fail with a
// ProtocolError and nothing else.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { type AnyApi, type ApiName, apis, isSupported, supportedApiVersions } from './apis/index.js'
import { Reader } from './codec.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from './frame.js'
import { ProtocolError } from './protocol-error.js'
import {
  type ArrayType,
  type Ctx,
  inVersions,
  type MessageSchema,
  type StructType,
  type Type,
} from './schema.js'

const all = Object.values(apis) as AnyApi[]

function versionsOf(def: AnyApi): number[] {
  const out: number[] = []
  for (let v = def.minVersion; v <= def.maxVersion; v++) out.push(v)
  return out
}

function ctxOf(schema: MessageSchema<unknown>, version: number): Ctx {
  return { version, flexible: schema.isFlexible(version) }
}

// ---------------------------------------------------------------------------------------------
// Values generated from the schemas themselves

const uuidArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => new Reader(Buffer.from(b)).uuid())

/** Any value of `t` valid at `ctx`; fields absent at this version get values too (they must be dropped). */
function arb(t: Type<unknown>, ctx: Ctx): fc.Arbitrary<unknown> {
  switch (t.kind) {
    case 'int8':
      return fc.integer({ min: -128, max: 127 })
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 })
    case 'uint16':
      return fc.integer({ min: 0, max: 0xffff })
    case 'int32':
      return fc.integer()
    case 'uint32':
      return fc.integer({ min: 0, max: 0xffffffff })
    case 'int64':
      return fc.oneof(fc.integer({ min: -2, max: 2 }), fc.maxSafeInteger())
    case 'float64':
      return fc.double()
    case 'bool':
      return fc.boolean()
    case 'uuid':
      return uuidArb
    case 'string':
      return fc.string({ unit: 'binary', maxLength: 8 })
    case 'bytes':
    case 'records':
      return fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b))
    case 'array':
      return fc.array(arb((t as ArrayType<unknown>).element, ctx), { maxLength: 3 })
    case 'struct': {
      const shape: Record<string, fc.Arbitrary<unknown>> = {}
      for (const f of (t as StructType<unknown>).fields) {
        const value = arb(f.type, ctx)
        const nullable = f.nullableVersions !== null && inVersions(f.nullableVersions, ctx.version)
        shape[f.name] = nullable ? fc.option(value, { nil: null, freq: 4 }) : value
      }
      return fc.record(shape)
    }
  }
}

/** What `v` decodes to at `ctx`: fields absent at this version become their defaults. */
function expected(t: Type<unknown>, v: unknown, ctx: Ctx): unknown {
  if (v === null) return null
  if (t.kind === 'array')
    return (v as unknown[]).map((e) => expected((t as ArrayType<unknown>).element, e, ctx))
  if (t.kind !== 'struct') return v
  const obj = v as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const f of (t as StructType<unknown>).fields) {
    const value = obj[f.name] === undefined ? f.makeDefault() : obj[f.name]
    out[f.name] = inVersions(f.versions, ctx.version) ? expected(f.type, value, ctx) : f.makeDefault()
  }
  return out
}

const directions = ['request', 'response'] as const

// ---------------------------------------------------------------------------------------------

describe('api registry', () => {
  it('advertises these versions (api: [key, min, max, first flexible])', () => {
    const table = Object.fromEntries(
      all.map((d) => [d.name, [d.apiKey, d.minVersion, d.maxVersion, d.flexibleMin]]),
    )
    assert.deepEqual(table, {
      Produce: [0, 0, 11, 9],
      Fetch: [1, 0, 17, 12],
      ListOffsets: [2, 0, 9, 6],
      Metadata: [3, 0, 12, 9],
      OffsetCommit: [8, 0, 9, 8],
      OffsetFetch: [9, 0, 9, 6],
      FindCoordinator: [10, 0, 6, 3],
      JoinGroup: [11, 0, 9, 6],
      Heartbeat: [12, 0, 4, 4],
      LeaveGroup: [13, 0, 5, 4],
      SyncGroup: [14, 0, 5, 4],
      DescribeGroups: [15, 0, 5, 5],
      ListGroups: [16, 0, 5, 3],
      SaslHandshake: [17, 0, 1, null],
      ApiVersions: [18, 0, 4, 3],
      CreateTopics: [19, 0, 7, 5],
      DeleteTopics: [20, 0, 6, 4],
      DeleteRecords: [21, 0, 2, 2],
      InitProducerId: [22, 0, 5, 2],
      AddPartitionsToTxn: [24, 0, 5, 3],
      AddOffsetsToTxn: [25, 0, 4, 3],
      EndTxn: [26, 0, 4, 3],
      TxnOffsetCommit: [28, 0, 4, 3],
      DescribeConfigs: [32, 0, 4, 4],
      SaslAuthenticate: [36, 0, 2, 2],
    })
    assert.deepEqual(
      supportedApiVersions().map((r) => r.apiKey),
      all.map((d) => d.apiKey).sort((a, b) => a - b),
    )
  })

  // The versions each client implements (from their sources). A client uses the highest version
  // both sides implement; it must land inside our range.
  const clients: Record<string, Partial<Record<ApiName, readonly number[]>>> = {
    'librdkafka 2.0.2 (kcat 1.7.1)': {
      Produce: [0, 7],
      Fetch: [0, 11],
      ListOffsets: [0, 2],
      Metadata: [0, 4],
      OffsetCommit: [0, 7],
      OffsetFetch: [0, 7],
      FindCoordinator: [0, 2],
      JoinGroup: [0, 5],
      Heartbeat: [0, 3],
      LeaveGroup: [0, 1],
      SyncGroup: [0, 3],
      DescribeGroups: [0, 4],
      ListGroups: [0, 4],
      SaslHandshake: [0, 1],
      SaslAuthenticate: [0, 0],
      ApiVersions: [0, 3],
      CreateTopics: [0, 4],
      DeleteTopics: [0, 1],
      DescribeConfigs: [0, 1],
      InitProducerId: [0, 4],
      AddPartitionsToTxn: [0, 0],
      AddOffsetsToTxn: [0, 0],
      EndTxn: [0, 1],
      TxnOffsetCommit: [0, 3],
    },
    'kafkajs 2.2.4': {
      Produce: [0, 7],
      Fetch: [0, 11],
      ListOffsets: [0, 3],
      Metadata: [0, 6],
      OffsetCommit: [0, 5],
      OffsetFetch: [1, 4],
      FindCoordinator: [0, 2],
      JoinGroup: [0, 5],
      Heartbeat: [0, 3],
      LeaveGroup: [0, 3],
      SyncGroup: [0, 3],
      DescribeGroups: [0, 2],
      ListGroups: [0, 2],
      SaslHandshake: [0, 1],
      SaslAuthenticate: [0, 1],
      ApiVersions: [0, 2],
      CreateTopics: [0, 3],
      DeleteTopics: [0, 1],
      DeleteRecords: [0, 1],
      DescribeConfigs: [0, 2],
      InitProducerId: [0, 1],
      AddPartitionsToTxn: [0, 1],
      AddOffsetsToTxn: [0, 1],
      EndTxn: [0, 1],
      TxnOffsetCommit: [0, 1],
    },
    '@platformatic/kafka 1.x': {
      Produce: [7, 11],
      Fetch: [12, 17],
      ListOffsets: [5, 9],
      Metadata: [9, 12],
      OffsetCommit: [8, 9],
      OffsetFetch: [8, 9],
      FindCoordinator: [4, 6],
      JoinGroup: [6, 9],
      Heartbeat: [4, 4],
      LeaveGroup: [4, 5],
      SyncGroup: [4, 5],
      DescribeGroups: [5, 5],
      ListGroups: [4, 5],
      SaslHandshake: [1, 1],
      SaslAuthenticate: [2, 2],
      ApiVersions: [3, 3],
      CreateTopics: [7, 7],
      DeleteTopics: [6, 6],
      DeleteRecords: [2, 2],
      DescribeConfigs: [2, 4],
      InitProducerId: [3, 5],
      AddPartitionsToTxn: [3, 5],
      AddOffsetsToTxn: [1, 4],
      EndTxn: [3, 4],
      TxnOffsetCommit: [3, 4],
    },
  }

  for (const [client, ranges] of Object.entries(clients)) {
    it(`serves every API ${client} uses at the version it will pick`, () => {
      for (const [name, range] of Object.entries(ranges) as [ApiName, readonly number[]][]) {
        const picked = Math.min(range[1]!, apis[name].maxVersion)
        assert.ok(
          picked >= range[0]! && isSupported(apis[name].apiKey, picked),
          `${client}: ${name} v${picked}`,
        )
      }
    })
  }

  it('librdkafka still picks Produce v7 and Fetch v11 (the highest both sides know)', () => {
    const rd = clients['librdkafka 2.0.2 (kcat 1.7.1)']!
    assert.equal(Math.min(rd.Produce![1]!, apis.Produce.maxVersion), 7)
    assert.equal(Math.min(rd.Fetch![1]!, apis.Fetch.maxVersion), 11)
  })

  it('overlaps v0 where librdkafka 2.0.2 gates features on it (groups, SASL, idempotence)', () => {
    for (const name of [
      'FindCoordinator',
      'JoinGroup',
      'SyncGroup',
      'Heartbeat',
      'LeaveGroup',
      'SaslHandshake',
      'SaslAuthenticate',
      'InitProducerId',
      'ApiVersions',
    ] as const) {
      assert.equal(apis[name].minVersion, 0, name)
    }
    // rdkafka_feature.c: MsgVer1 needs Produce 2..2 and Fetch 2..2; the gzip, snappy and lz4
    // features need MsgVer1. Without them librdkafka silently sends those batches uncompressed.
    assert.ok(
      isSupported(0, 2) && isSupported(1, 2),
      'MsgVer1 (and with it gzip/snappy/lz4): Produce v2, Fetch v2',
    )
    assert.ok(isSupported(0, 3) && isSupported(1, 4), 'MsgVer2: Produce v3, Fetch v4')
    assert.ok(isSupported(0, 7) && isSupported(1, 10), 'ZSTD: Produce v7, Fetch v10')
    assert.ok(
      isSupported(8, 2) && isSupported(9, 1) && isSupported(2, 1),
      'OffsetCommit v2, OffsetFetch v1, ListOffsets v1',
    )
  })
})

describe('round trips in every advertised version', () => {
  for (const def of all) {
    it(`${def.name} v${def.minVersion}-v${def.maxVersion}`, () => {
      for (const version of versionsOf(def)) {
        for (const dir of directions) {
          const schema = def[dir]
          const ctx = ctxOf(schema, version)
          // An empty input is every field at its default.
          assert.deepEqual(schema.decode(schema.encode({}, version), version), expected(schema.body, {}, ctx))
          fc.assert(
            fc.property(arb(schema.body, ctx), (value) => {
              const encoded = schema.encode(value, version)
              assert.deepEqual(schema.decode(encoded, version), expected(schema.body, value, ctx))
            }),
            { numRuns: 25, seed: def.apiKey * 100 + version, endOnFailure: true },
          )
        }
      }
    })
  }

  it('round-trips whole frames, headers included', () => {
    for (const def of all) {
      for (const version of versionsOf(def)) {
        const header = {
          apiVersion: version,
          correlationId: 42 + version,
          clientId: version % 2 ? null : 'eddy-test',
        }
        const [req] = fc.sample(arb(def.request.body, ctxOf(def.request, version)), {
          numRuns: 1,
          seed: version,
        })
        const frame = encodeRequest(def.name, header, req as never)
        const decoded = decodeRequest(frame.subarray(4))
        assert.equal(decoded.api, def.name)
        assert.deepEqual(decoded.header, { apiKey: def.apiKey, ...header })
        assert.deepEqual(decoded.body, expected(def.request.body, req, ctxOf(def.request, version)))

        const [res] = fc.sample(arb(def.response.body, ctxOf(def.response, version)), {
          numRuns: 1,
          seed: version,
        })
        const out = decodeResponse(
          def.name,
          version,
          encodeResponse(def.name, version, 7, res as never).subarray(4),
        )
        assert.equal(out.correlationId, 7)
        assert.deepEqual(out.body, expected(def.response.body, res, ctxOf(def.response, version)))
      }
    }
  })
})

// ---------------------------------------------------------------------------------------------

/** Decodes, and fails the test if anything but a ProtocolError comes out. */
function decodeOrProtocolError(
  schema: MessageSchema<unknown>,
  bytes: Buffer,
  version: number,
): 'ok' | 'error' {
  try {
    schema.decode(bytes, version)
    return 'ok'
  } catch (err) {
    if (err instanceof ProtocolError) return 'error'
    throw err
  }
}

interface Sample {
  readonly schema: MessageSchema<unknown>
  readonly version: number
  readonly bytes: Buffer
}

/** One valid encoding (with lists filled in) of every message in every version. */
function samples(): Sample[] {
  const out: Sample[] = []
  for (const def of all) {
    for (const version of versionsOf(def)) {
      for (const dir of directions) {
        const schema = def[dir]
        const values = fc.sample(arb(schema.body, ctxOf(schema, version)), { numRuns: 3, seed: version })
        for (const v of values) out.push({ schema, version, bytes: Buffer.from(schema.encode(v, version)) })
      }
    }
  }
  return out
}

describe('malformed input', () => {
  const all_samples = samples()

  it('fails with a ProtocolError when cut short at any byte', () => {
    let cuts = 0
    for (const s of all_samples) {
      for (let cut = 0; cut < s.bytes.length; cut++) {
        const r = decodeOrProtocolError(s.schema, s.bytes.subarray(0, cut), s.version)
        assert.equal(r, 'error', `${s.schema.name} v${s.version} cut at ${cut} of ${s.bytes.length} decoded`)
        cuts++
      }
    }
    assert.ok(cuts > 10_000, `${cuts} truncations`)
  })

  it('throws nothing but ProtocolError on random bytes (10k cases)', () => {
    const targets = all_samples.map(({ schema, version }) => ({ schema, version }))
    fc.assert(
      fc.property(fc.nat(targets.length - 1), fc.uint8Array({ maxLength: 96 }), (i, bytes) => {
        const t = targets[i]!
        decodeOrProtocolError(t.schema, Buffer.from(bytes), t.version)
      }),
      { numRuns: 10_000, seed: 1 },
    )
  })

  it('throws nothing but ProtocolError on corrupted valid encodings (10k cases)', () => {
    const corruption = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.nat(255) }),
      fc.record({ kind: fc.constant('max' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('drop' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }),
      }),
    )
    fc.assert(
      fc.property(
        fc.nat(all_samples.length - 1),
        fc.array(corruption, { minLength: 1, maxLength: 3 }),
        (i, edits) => {
          const s = all_samples[i]!
          let b = Buffer.from(s.bytes)
          for (const e of edits) {
            const at = b.length === 0 ? 0 : e.at % b.length
            if (e.kind === 'set' && b.length > 0) b[at] = e.byte
            else if (e.kind === 'max' && b.length >= at + 4) b.writeInt32BE(0x7fffffff, at)
            else if (e.kind === 'drop') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.n)])
            else if (e.kind === 'insert')
              b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)])
          }
          decodeOrProtocolError(s.schema, b, s.version)
        },
      ),
      { numRuns: 10_000, seed: 2 },
    )
  })

  it('refuses huge counts and lengths before allocating for them', () => {
    const produce = apis.Produce.request
    const before = process.memoryUsage().arrayBuffers
    const hostile = [
      // v3: transactionalId null, acks, timeout, topicData count 2^31-1
      {
        version: 3,
        bytes: [0xff, 0xff, 0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff],
        match: /array of 2147483647 elements/,
      },
      // v9 (flexible): compact array count 2^32-2
      {
        version: 9,
        bytes: [0x00, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f],
        match: /array count 4294967294 is over int32/,
      },
      // v3: one topic 'a', one partition, records of 2^31-1 bytes
      {
        version: 3,
        bytes: [
          0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0x61, 0, 0, 0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff,
          0xff,
        ],
        match: /2147483647 bytes run past the end/,
      },
    ]
    for (let i = 0; i < 2000; i++) {
      for (const h of hostile) {
        assert.throws(
          () => produce.decode(Buffer.from(h.bytes), h.version),
          (err) => err instanceof ProtocolError && h.match.test(err.message),
        )
      }
    }
    const grownBytes = process.memoryUsage().arrayBuffers - before
    assert.ok(grownBytes < 64 * 1024 * 1024, `array buffers grew by ${grownBytes} bytes`)
  })
})
