// Interop: kcat (librdkafka) against the broker, in-process on a free port. Test names are the
// exact command lines, with $BROKER for 127.0.0.1:<port>. kcat comes from Debian (.ci/run
// installs it; locally: apt-get install -y kcat).
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createBrokerAuth } from '../../src/broker/auth/broker-auth.js'
import { parseUsers } from '../../src/broker/auth/users-file.js'
import { readBatchHeader } from '../../src/core/record-batch.js'
import { startBroker, type TestBroker } from './harness.js'

const kcatMissing =
  spawnSync('kcat', ['-V'], { encoding: 'utf8' }).status === 0
    ? false
    : 'kcat is not installed: apt-get install -y kcat (.ci/run installs it)'

const compressionModule = fileURLToPath(new URL('../../src/protocol/compression.ts', import.meta.url))
const compressionMissing = existsSync(compressionModule)
  ? false
  : 'src/protocol/compression.ts is absent: the broker cannot check compressed batches yet'

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs kcat with `$BROKER` replaced, asynchronously (the broker shares this process's event loop). */
function kcat(commandLine: readonly string[], broker: string, stdin = ''): Promise<Run> {
  const args = commandLine.map((a) => a.replaceAll('$BROKER', broker))
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(stdin)
  })
}

/** A test named by its kcat command line. */
function cmd(...args: string[]): { name: string; args: string[] } {
  const quoted = args.map((a) => (/[\s'\\%]/.test(a) ? `'${a.replaceAll('\n', '\\n')}'` : a))
  return { name: ['kcat', ...quoted].join(' '), args }
}

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const
/** The codec id in a batch's attributes (bits 0-2). */
const CODEC_IDS = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const
/**
 * Compressible values: librdkafka sends a batch uncompressed when compressing does not shrink it.
 * (It also sends gzip, snappy and lz4 uncompressed unless the broker's ranges include Produce v2
 * and Fetch v2, its MsgVer1 feature: these tests guard that.)
 */
const zippedValue = (codec: string, n: number) => `${codec}-${n}:${'compressible'.repeat(20)}`

describe('kcat against the broker', { skip: kcatMissing }, () => {
  let b: TestBroker
  let broker: string
  before(async () => {
    b = await startBroker()
    broker = `127.0.0.1:${b.port}`
    b.log.createTopic('plain', { partitions: 2 })
    b.log.createTopic('zipped')
    b.log.createTopic('grouped', { partitions: 3 })
    b.log.createTopic('tx')
  })
  after(async () => b?.stop())

  async function values(topic: string, partition: number): Promise<string[]> {
    const { records } = await b.log.read(topic, partition, 0, { maxBytes: 1024 * 1024 })
    return records.map((r) => r.value?.toString() ?? '<null>')
  }

  const list = cmd('-b', '$BROKER', '-L')
  it(list.name, async () => {
    const r = await kcat(list.args, broker)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /1 brokers:\n\s+broker 0 at 127\.0\.0\.1:\d+ \(controller\)/)
    assert.match(r.stdout, /topic "plain" with 2 partitions:\n\s+partition 0, leader 0, replicas: 0, isrs: 0/)
    assert.match(r.stdout, /topic "__consumer_offsets" with 1 partitions/)
  })

  const produce = cmd('-b', '$BROKER', '-P', '-t', 'plain', '-p', '0', '-K', ':')
  it(`${produce.name} (stdin: k1:one, k2:two, k3:three)`, async () => {
    const r = await kcat(produce.args, broker, 'k1:one\nk2:two\nk3:three\n')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(await values('plain', 0), ['one', 'two', 'three'])
    const { records } = await b.log.read('plain', 0, 0)
    assert.deepEqual(
      records.map((x) => x.key?.toString()),
      ['k1', 'k2', 'k3'],
    )
  })

  for (const codec of CODECS) {
    const zipped = cmd('-b', '$BROKER', '-P', '-t', 'zipped', '-z', codec)
    it(`${zipped.name} (stdin: ${codec}-1, ${codec}-2)`, { skip: compressionMissing }, async () => {
      const before = b.log.latestOffset('zipped', 0)
      const sent = [zippedValue(codec, 1), zippedValue(codec, 2)]
      const r = await kcat(zipped.args, broker, `${sent.join('\n')}\n`)
      assert.equal(r.code, 0, r.stderr)
      assert.equal(b.log.latestOffset('zipped', 0), before + 2)
      assert.deepEqual((await values('zipped', 0)).slice(-2), sent)
      // The stored batches are really compressed with this codec.
      const stored = b.log.partition('zipped', 0).fetch(before, 1024 * 1024, 'read_uncommitted').bytes
      const codecs: number[] = []
      for (let pos = 0; pos < stored.length; ) {
        const h = readBatchHeader(stored, pos)
        codecs.push(h.attributes & 7)
        pos += h.sizeBytes
      }
      assert.ok(codecs.length > 0)
      assert.deepEqual(
        codecs,
        codecs.map(() => CODEC_IDS[codec]),
        `${codec}: stored codecs ${codecs}`,
      )
    })
  }

  const consume = cmd(
    '-b',
    '$BROKER',
    '-C',
    '-t',
    'plain',
    '-p',
    '0',
    '-o',
    'beginning',
    '-e',
    '-f',
    '%o %k %s\n',
  )
  it(consume.name, async () => {
    const r = await kcat(consume.args, broker)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, '0 k1 one\n1 k2 two\n2 k3 three\n')
  })

  const consumeZipped = cmd('-b', '$BROKER', '-C', '-t', 'zipped', '-o', 'beginning', '-e', '-f', '%s\n')
  it(`${consumeZipped.name} (reads what every codec wrote)`, { skip: compressionMissing }, async () => {
    const r = await kcat(consumeZipped.args, broker)
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(
      r.stdout.trim().split('\n'),
      CODECS.flatMap((c) => [zippedValue(c, 1), zippedValue(c, 2)]),
    )
  })

  const group = cmd(
    '-b',
    '$BROKER',
    '-G',
    'kcat-group',
    '-X',
    'auto.offset.reset=earliest',
    '-e',
    '-f',
    '%p %s\n',
    'grouped',
  )
  it(`${group.name} (twice: the second run resumes from the committed offsets)`, async () => {
    for (let p = 0; p < 3; p++) await b.log.append('grouped', p, [{ value: Buffer.from(`g${p}`) }])
    const first = await kcat(group.args, broker)
    assert.equal(first.code, 0, first.stderr)
    assert.deepEqual(first.stdout.trim().split('\n').sort(), ['0 g0', '1 g1', '2 g2'])
    assert.match(first.stderr, /assigned: grouped \[0\], grouped \[1\], grouped \[2\]/)
    const committed = b.log.groups.fetch('kcat-group', ['grouped'])
    assert.deepEqual(
      committed.map((c) => c.offset),
      [1, 1, 1],
    )
    await b.log.append('grouped', 1, [{ value: Buffer.from('later') }])
    const second = await kcat(group.args, broker)
    assert.equal(second.code, 0, second.stderr)
    assert.equal(second.stdout, '1 later\n')
  })

  const txProduce = cmd('-b', '$BROKER', '-P', '-t', 'tx', '-X', 'transactional.id=kcat-tx')
  const txConsume = cmd(
    '-b',
    '$BROKER',
    '-C',
    '-t',
    'tx',
    '-o',
    'beginning',
    '-e',
    '-X',
    'isolation.level=read_committed',
    '-f',
    '%s\n',
  )
  it(`${txProduce.name} then ${txConsume.name}`, async () => {
    const p = await kcat(txProduce.args, broker, 'in-tx-1\nin-tx-2\n')
    assert.equal(p.code, 0, p.stderr)
    assert.match(p.stderr, /Transaction successfully committed/)
    const c = await kcat(txConsume.args, broker)
    assert.equal(c.code, 0, c.stderr)
    assert.equal(c.stdout, 'in-tx-1\nin-tx-2\n')
    assert.equal(b.log.transactions.describeTransaction('kcat-tx')?.state, 'CompleteCommit')
  })

  const idem = cmd('-b', '$BROKER', '-P', '-t', 'plain', '-p', '1', '-X', 'enable.idempotence=true')
  it(idem.name, async () => {
    const r = await kcat(idem.args, broker, 'i1\ni2\n')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(await values('plain', 1), ['i1', 'i2'])
  })

  it('no connection was closed with a warning or an error', () => {
    const problems = b.logger.lines.filter((l) => /^(warn|error):/.test(l))
    assert.deepEqual(problems, [])
  })
})

describe('kcat against the broker with SASL', { skip: kcatMissing }, () => {
  let b: TestBroker
  let broker: string
  before(async () => {
    const users = parseUsers(JSON.stringify({ users: [{ name: 'alice', password: 'alice-secret' }] }), 'test')
    b = await startBroker({ auth: createBrokerAuth({ users }) })
    broker = `127.0.0.1:${b.port}`
    b.log.createTopic('secured')
  })
  after(async () => b?.stop())

  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256']) {
    const sasl = ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.mechanisms=${mechanism}`]
    const ok = cmd(
      '-b',
      '$BROKER',
      ...sasl,
      '-X',
      'sasl.username=alice',
      '-X',
      'sasl.password=alice-secret',
      '-P',
      '-t',
      'secured',
    )
    // librdkafka 2.0.2 sends r=<client nonce><server's whole r> in client-final (Kafka accepts it).
    it(ok.name, async () => {
      const r = await kcat(ok.args, broker, `via ${mechanism}\n`)
      assert.equal(r.code, 0, r.stderr)
      const { records } = await b.log.read('secured', 0, 0)
      assert.ok(records.some((x) => x.value?.toString() === `via ${mechanism}`))
    })
    const bad = cmd(
      '-b',
      '$BROKER',
      ...sasl,
      '-X',
      'sasl.username=alice',
      '-X',
      'sasl.password=wrong',
      '-L',
      '-m',
      '3',
    )
    it(`${bad.name} (fails to authenticate)`, async () => {
      const r = await kcat(bad.args, broker)
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, /Authentication failed|SASL authentication error/i)
    })
  }
})
