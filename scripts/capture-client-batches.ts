// Captures compressed record batches from real Kafka clients, as test fixtures for
// src/protocol/compression.test.ts: kcat (librdkafka) with each codec, and kafkajs with gzip.
// A throwaway Kafka-protocol listener on 127.0.0.1 answers ApiVersions, Metadata and Produce just
// enough for a producer, and saves each produced batch byte for byte.
//
// Run: node --import tsx scripts/capture-client-batches.ts   (needs kcat; kafkajs is a devDependency)
// Writes src/protocol/testdata/<client>-<codec>.bin (one produced batch each) and cli-*.bin (a
// plaintext compressed by the reference lz4, zstd and gzip tools, so by code other than the
// libraries Eddy decodes with); testdata/fixtures.ts says what they hold.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { decodeRequest, encodeResponse, supportedApiVersions } from '../src/protocol/index.js'
import { CLI_SPLIT, CLIENT_MESSAGES, cliPlaintext } from '../src/protocol/testdata/fixtures.js'

const OUT_DIR = path.join(import.meta.dirname, '../src/protocol/testdata')
const TOPIC = 'compressed'

const captured: Buffer[] = []

function serve(port: () => number): net.Server {
  return net.createServer((socket) => {
    let pending = Buffer.alloc(0)
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = pending.readInt32BE(0)
        const frame = pending.subarray(4, 4 + size)
        pending = pending.subarray(4 + size)
        const reply = answer(frame, port())
        if (reply) socket.write(reply)
      }
    })
    socket.on('error', () => {})
  })
}

function answer(frame: Buffer, port: number): Buffer | null {
  const req = decodeRequest(frame)
  const { apiVersion, correlationId } = req.header
  switch (req.api) {
    case 'ApiVersions':
      // librdkafka (2.0) compresses with gzip, snappy or lz4 only if the broker has its "MsgVer1"
      // feature, which it infers from Produce v2 and Fetch v2 being advertised; Eddy starts at
      // v3/v4 (as Kafka 4 does), so it would send those uncompressed. Advertise from v0 here.
      return encodeResponse('ApiVersions', apiVersion, correlationId, {
        errorCode: 0,
        apiKeys: supportedApiVersions().map((r) => (r.apiKey <= 1 ? { ...r, minVersion: 0 } : r)),
        throttleTimeMs: 0,
      })
    case 'Metadata':
      return encodeResponse('Metadata', apiVersion, correlationId, {
        throttleTimeMs: 0,
        brokers: [{ nodeId: 0, host: '127.0.0.1', port }],
        clusterId: 'capture',
        controllerId: 0,
        topics: [
          {
            errorCode: 0,
            name: TOPIC,
            partitions: [
              {
                errorCode: 0,
                partitionIndex: 0,
                leaderId: 0,
                replicaNodes: [0],
                isrNodes: [0],
                offlineReplicas: [],
              },
            ],
          },
        ],
      })
    case 'Produce': {
      for (const t of req.body.topicData) {
        for (const p of t.partitionData) if (p.records) captured.push(Buffer.from(p.records))
      }
      return encodeResponse('Produce', apiVersion, correlationId, {
        responses: req.body.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: 0 })),
        })),
      })
    }
    default:
      throw new Error(`capture listener does not answer ${req.api}`)
  }
}

const MESSAGES = CLIENT_MESSAGES

function takeOne(label: string): Buffer {
  if (captured.length !== 1) throw new Error(`${label}: expected one batch, captured ${captured.length}`)
  return captured.pop()!
}

async function main(): Promise<void> {
  let port = 0
  const server = serve(() => port)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as net.AddressInfo).port
  fs.mkdirSync(OUT_DIR, { recursive: true })
  const input = `${MESSAGES.map((m) => `${m.key}\t${m.value}`).join('\n')}\n`

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
    await new Promise<void>((resolve, reject) => {
      // execFileSync would block the listener: run kcat asynchronously.
      import('node:child_process').then(({ execFile }) => {
        const child = execFile(
          'kcat',
          [
            '-P',
            ...[
              '-b',
              `127.0.0.1:${port}`,
              '-t',
              TOPIC,
              '-p',
              '0',
              '-z',
              codec,
              '-K',
              '\t',
              '-H',
              'origin=kcat',
            ],
            ...['-X', 'linger.ms=200', '-X', 'api.version.request=true'],
          ],
          (err) => (err ? reject(err) : resolve()),
        )
        child.stdin!.end(input)
      }, reject)
    })
    fs.writeFileSync(path.join(OUT_DIR, `kcat-${codec}.bin`), takeOne(`kcat ${codec}`))
  }

  const { Kafka, CompressionTypes, logLevel } = await import('kafkajs')
  const kafka = new Kafka({ clientId: 'capture', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  await producer.send({
    topic: TOPIC,
    compression: CompressionTypes.GZIP,
    messages: MESSAGES.map((m) => ({
      key: m.key,
      value: m.value,
      partition: 0,
      headers: { origin: 'kafkajs' },
    })),
  })
  await producer.disconnect()
  fs.writeFileSync(path.join(OUT_DIR, 'kafkajs-gzip.bin'), takeOne('kafkajs gzip'))
  server.close()
  writeCliFixtures()
  const kcat = execFileSync('kcat', ['-V']).toString().split('\n')[3]?.trim() ?? ''
  process.stdout.write(`captured into ${OUT_DIR}\n${kcat}\n`)
}

/** The plaintext compressed by the reference command-line tools, with their less common options. */
function writeCliFixtures(): void {
  const plain = cliPlaintext()
  const tmp = fs.mkdtempSync(path.join(OUT_DIR, '.tmp-'))
  try {
    const file = (name: string, data: Buffer) => {
      const p = path.join(tmp, name)
      fs.writeFileSync(p, data)
      return p
    }
    const all = file('all', plain)
    const first = file('first', plain.subarray(0, CLI_SPLIT))
    const second = plain.subarray(CLI_SPLIT)
    const run = (cmd: string, args: string[], input?: Buffer) => execFileSync(cmd, args, { input })
    // LZ4: 64 KiB linked blocks, block checksums, content size, content checksum.
    fs.writeFileSync(
      path.join(OUT_DIR, 'cli-lz4-linked.bin'),
      run('lz4', ['-q', '-c', '-B4', '-BD', '-BX', '--content-size', all]),
    )
    // zstd: a frame with content size and checksum, a skippable frame, a streamed frame (no size).
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4])
    fs.writeFileSync(
      path.join(OUT_DIR, 'cli-zstd-frames.bin'),
      Buffer.concat([
        run('zstd', ['-q', '-c', '-19', '--check', first]),
        skippable,
        run('zstd', ['-q', '-c', '--no-check'], second),
      ]),
    )
    // gzip: two members, as concatenated gzip files are.
    fs.writeFileSync(
      path.join(OUT_DIR, 'cli-gzip-members.bin'),
      Buffer.concat([run('gzip', ['-9', '-c', '-n', first]), run('gzip', ['-1', '-c', '-n'], second)]),
    )
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

await main()
