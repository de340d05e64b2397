// `eddy topics`, `eddy produce` and `eddy consume` end to end: `node bin/eddy …` children over the
// built dist/, on temporary data directories. A few tests run `main` in process over an open log,
// where a second process could not follow along (one process owns a data directory at a time).
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { Writer } from '../src/cli/context.js'
import { main } from '../src/cli/main.js'
import { decodeJsonBytes, type RecordJson } from '../src/cli/record-json.js'
import { partitionForKey } from '../src/core/murmur2.js'
import { EventLog } from '../src/log/event-log.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = path.join(root, 'bin', 'eddy')

interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `eddy --data-dir dir …` to completion, with `input` on stdin. */
function eddy(dir: string, args: readonly string[], input = ''): Run {
  const r = spawnSync(process.execPath, [bin, '--data-dir', dir, ...args], {
    encoding: 'utf8',
    input,
    env: { ...process.env, EDDY_DATA_DIR: '' },
    timeout: 30_000,
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Runs and expects exit 0 and nothing on stderr; returns stdout. */
function ok(dir: string, args: readonly string[], input = ''): string {
  const r = eddy(dir, args, input)
  assert.equal(r.status, 0, `eddy ${args.join(' ')} failed: ${r.stderr}`)
  assert.equal(r.stderr, '')
  return r.stdout
}

function records(stdout: string): RecordJson[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as RecordJson)
}

function assertOneErrorLine(r: Run, status: number, pattern: RegExp): void {
  assert.equal(r.status, status, `expected exit ${status}, got ${r.status}: ${r.stderr}`)
  const lines = r.stderr.split('\n')
  assert.equal(lines.length, 2, `expected one line on stderr, got ${JSON.stringify(r.stderr)}`)
  assert.match(lines[0]!, /^eddy: /)
  assert.match(lines[0]!, pattern)
}

class Collector implements Writer {
  text = ''
  write(text: string): void {
    this.text += text
  }
  get lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '')
  }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

const dirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'eddy-cli-log-'))
  dirs.push(dir)
  return dir
}

before(() => {
  assert.ok(
    existsSync(path.join(root, 'dist', 'cli', 'main.js')),
    'dist/cli/main.js is missing: run `npm run build` before the CLI tests',
  )
})
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('eddy topics', () => {
  it('creates, lists, describes and deletes topics', () => {
    const dir = tempDir()
    assert.equal(
      ok(dir, ['topics', 'create', 'orders', '--partitions', '3']),
      'created topic orders with 3 partition(s)\n',
    )
    assert.equal(
      ok(dir, [
        'topics',
        'create',
        'users',
        '--compact',
        '--retention-ms',
        '-1',
        '--retention-bytes',
        '1048576',
      ]),
      'created topic users with 1 partition(s)\n',
    )
    assert.equal(ok(dir, ['topics', 'list']), 'orders\nusers\n')

    const orders = ok(dir, ['topics', 'describe', 'orders']).split('\n')
    assert.equal(orders[0], 'topic orders')
    assert.match(orders.find((l) => l.includes('partitions:'))!, /partitions:\s+3$/)
    const header = orders.findIndex((l) =>
      /^partition\s+earliest\s+latest\s+last stable\s+bytes\s+segments$/.test(l),
    )
    assert.ok(header > 0, orders.join('\n'))
    assert.deepEqual(
      orders.slice(header + 1, header + 4).map((l) => l.trim().split(/\s+/)),
      [0, 1, 2].map((p) => [String(p), '0', '0', '0', '0', '1']),
    )
    const users = ok(dir, ['topics', 'describe', 'users'])
    assert.match(users, /compact:\s+true/)
    assert.match(users, /retention ms:\s+none \(kept forever\)/)
    assert.match(users, /retention bytes:\s+1048576/)

    assert.equal(ok(dir, ['topics', 'delete', 'users']), 'deleted topic users\n')
    assert.equal(ok(dir, ['topics', 'list']), 'orders\n')
  })

  it('prints --json for list and describe', () => {
    const dir = tempDir()
    ok(dir, ['topics', 'create', 'a', '--partitions', '2'])
    ok(dir, ['topics', 'create', 'b', '--compact'])
    assert.deepEqual(JSON.parse(ok(dir, ['topics', 'list', '--json'])), [
      { name: 'a', partitions: 2, compact: false, internal: false },
      { name: 'b', partitions: 1, compact: true, internal: false },
    ])
    ok(dir, ['produce', 'a', '--partition', '1'], 'x\ny\n')
    const described = JSON.parse(ok(dir, ['topics', 'describe', 'a', '--json']))
    assert.equal(described.name, 'a')
    assert.equal(described.config.partitions, 2)
    assert.equal(described.config.compact, false)
    assert.deepEqual(
      described.partitions.map((p: { partition: number; earliestOffset: number; latestOffset: number }) => [
        p.partition,
        p.earliestOffset,
        p.latestOffset,
      ]),
      [
        [0, 0, 0],
        [1, 0, 2],
      ],
    )
  })

  it('errors: existing, unknown and invalid topics exit 1; bad flags and values exit 2', () => {
    const dir = tempDir()
    ok(dir, ['topics', 'create', 't'])
    assertOneErrorLine(
      eddy(dir, ['topics', 'create', 't']),
      1,
      /topic t already exists: use it, or delete it first/,
    )
    assertOneErrorLine(
      eddy(dir, ['topics', 'describe', 'nope']),
      1,
      /topic nope does not exist: create it with `eddy topics create nope`/,
    )
    assertOneErrorLine(eddy(dir, ['topics', 'delete', 'nope']), 1, /topic nope does not exist/)
    assertOneErrorLine(
      eddy(dir, ['topics', 'create', 'bad/name']),
      1,
      /"bad\/name" is invalid: use only letters/,
    )
    for (const bad of [
      ['--partitions', 'three'],
      ['--partitions', '0'],
      ['--partitions', '1.5'],
      ['--retention-ms', 'soon'],
      ['--retention-bytes', '-2'],
    ]) {
      const r = eddy(dir, ['topics', 'create', 'x', ...bad])
      assertOneErrorLine(r, 2, /is invalid\. expected an integer.*`eddy topics create --help`/)
    }
    assertOneErrorLine(eddy(dir, ['topics', 'create', 'x', '--bogus']), 2, /unknown option '--bogus'/)
    assertOneErrorLine(eddy(dir, ['topics', 'create']), 2, /missing required argument 'name'/)
    assert.equal(ok(dir, ['topics', 'list']), 't\n', 'no failed command created a topic')
    const file = path.join(dir, 'not-a-dir')
    writeFileSync(file, '')
    assertOneErrorLine(
      eddy(file, ['topics', 'list']),
      1,
      /cannot open the data directory .*not-a-dir \(ENOTDIR.*\): give a writable directory with --data-dir/,
    )
  })
})

describe('eddy produce and consume', () => {
  it('keys records by --key-field into the partition murmur2 picks, and round-trips them', () => {
    const dir = tempDir()
    ok(dir, ['topics', 'create', 'events', '--partitions', '4'])
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ user: { id: users[i % users.length] }, n: i }),
    )
    // An empty line is skipped; a number key is keyed by its JSON text.
    const input = `${lines.slice(0, 20).join('\n')}\n\n${lines.slice(20).join('\n')}\n{"user":{"id":42},"n":40}\n`
    assert.equal(
      ok(dir, ['produce', 'events', '--key-field', 'user.id'], input),
      'wrote 41 records to events\n',
    )

    const out = records(ok(dir, ['consume', 'events']))
    assert.equal(out.length, 41)
    for (const r of out) {
      assert.equal(r.partition, partitionForKey(Buffer.from(r.key!, 'utf8'), 4), `key ${r.key}`)
      assert.equal(r.topic, 'events')
      assert.deepEqual(r.headers, [])
      assert.equal(r.keyEncoding, undefined)
      const value = JSON.parse(r.value!) as { user: { id: string | number } }
      assert.equal(r.key, String(value.user.id))
    }
    assert.deepEqual(out.map((r) => r.value).sort(), [...lines, '{"user":{"id":42},"n":40}'].sort())
    for (const p of [0, 1, 2, 3]) {
      const offsets = out.filter((r) => r.partition === p).map((r) => r.offset)
      assert.deepEqual(
        offsets,
        offsets.map((_, i) => i),
        `partition ${p} in order`,
      )
    }
  })

  it('reads --file, writes to --partition, and consumes one --partition', () => {
    const dir = tempDir()
    ok(dir, ['topics', 'create', 't', '--partitions', '3'])
    const file = path.join(dir, 'in.jsonl')
    writeFileSync(file, 'one\r\ntwo\r\nthree')
    assert.equal(ok(dir, ['produce', 't', '--file', file, '--partition', '2']), 'wrote 3 records to t\n')
    const out = records(ok(dir, ['consume', 't', '--partition', '2']))
    assert.deepEqual(
      out.map((r) => [r.partition, r.offset, r.key, r.value]),
      [
        [2, 0, null, 'one'],
        [2, 1, null, 'two'],
        [2, 2, null, 'three'],
      ],
    )
    assert.equal(ok(dir, ['consume', 't', '--partition', '0']), '')
  })

  it('spreads keyless records round-robin, one whole batch (1,000 records) per partition', () => {
    const dir = tempDir()
    ok(dir, ['topics', 'create', 't', '--partitions', '3'])
    const input = `${Array.from({ length: 2500 }, (_, i) => `line ${i}`).join('\n')}\n`
    assert.equal(ok(dir, ['produce', 't'], input), 'wrote 2500 records to t\n')
    const described = JSON.parse(ok(dir, ['topics', 'describe', 't', '--json'])) as {
      partitions: { latestOffset: number }[]
    }
    assert.deepEqual(described.partitions.map((p) => p.latestOffset).sort(), [1000, 1000, 500])
  })

  it('consumes --from earliest, latest, an offset and an ISO time, and stops at --max', async () => {
    const dir = tempDir()
    ok(dir, ['topics', 'create', 't'])
    ok(dir, ['produce', 't'], 'a0\na1\na2\na3\n')
    await sleep(5)
    const between = new Date().toISOString()
    await sleep(5)
    ok(dir, ['produce', 't'], 'b4\nb5\n')

    const values = (args: string[]) => records(ok(dir, ['consume', 't', ...args])).map((r) => r.value)
    assert.deepEqual(values([]), ['a0', 'a1', 'a2', 'a3', 'b4', 'b5'])
    assert.deepEqual(values(['--from', 'earliest']), ['a0', 'a1', 'a2', 'a3', 'b4', 'b5'])
    assert.deepEqual(values(['--from', 'latest']), [])
    assert.deepEqual(values(['--from', '3']), ['a3', 'b4', 'b5'])
    assert.deepEqual(values(['--from', '99']), [], 'past the end: nothing yet')
    assert.deepEqual(values(['--from', between]), ['b4', 'b5'])
    assert.deepEqual(values(['--from', '2999-01-01']), [])
    assert.deepEqual(values(['--from', '1', '--max', '2']), ['a1', 'a2'])
    assertOneErrorLine(
      eddy(dir, ['consume', 't', '--from', 'yesterday']),
      2,
      /expected earliest, latest, an offset/,
    )
    assertOneErrorLine(eddy(dir, ['consume', 't', '--max', '0']), 2, /--max/)
  })

  it('--isolation read_committed hides aborted transactions; bytes that are not UTF-8 print as base64', async () => {
    const dir = tempDir()
    const log = EventLog.open({ dir })
    try {
      log.createTopic('tx')
      const value = (text: string) => ({ value: Buffer.from(text) })
      await log.append('tx', 0, [value('before')])
      const aborting = await log.producer({ transactionalId: 'aborting' })
      aborting.beginTransaction()
      await aborting.send('tx', 0, [value('aborted')])
      await aborting.abortTransaction()
      await log.append('tx', 0, [value('middle')])
      const committing = await log.producer({ transactionalId: 'committing' })
      committing.beginTransaction()
      await committing.send('tx', 0, [value('committed')])
      await committing.commitTransaction()
      await log.append('tx', 0, [value('after')])
      log.createTopic('bin')
      await log.append('bin', 0, [
        {
          key: Buffer.from([0xff, 0x00, 0xfe]),
          value: Buffer.from([0xc3, 0x28]),
          headers: [
            { key: 'trace', value: Buffer.from('abc') },
            { key: 'raw', value: Buffer.from([0x80]) },
            { key: 'none', value: null },
          ],
        },
        { key: null, value: null },
      ])
    } finally {
      await log.close()
    }
    const values = (args: string[]) => records(ok(dir, ['consume', 'tx', ...args])).map((r) => r.value)
    const all = ['before', 'aborted', 'middle', 'committed', 'after']
    assert.deepEqual(values([]), all)
    assert.deepEqual(values(['--isolation', 'read_uncommitted']), all)
    assert.deepEqual(values(['--isolation', 'read_committed']), ['before', 'middle', 'committed', 'after'])
    assertOneErrorLine(
      eddy(dir, ['consume', 'tx', '--isolation', 'dirty']),
      2,
      /Allowed choices are read_uncommitted, read_committed/,
    )

    const [binary, tombstone] = records(ok(dir, ['consume', 'bin']))
    assert.deepEqual(
      { ...binary!, timestamp: 0 },
      {
        topic: 'bin',
        partition: 0,
        offset: 0,
        timestamp: 0,
        key: '/wD+',
        keyEncoding: 'base64',
        value: 'wyg=',
        valueEncoding: 'base64',
        headers: [
          { key: 'trace', value: 'abc' },
          { key: 'raw', value: 'gA==', valueEncoding: 'base64' },
          { key: 'none', value: null },
        ],
      },
    )
    assert.deepEqual(decodeJsonBytes(binary!.key, binary!.keyEncoding), Buffer.from([0xff, 0x00, 0xfe]))
    assert.equal(tombstone!.key, null)
    assert.equal(tombstone!.value, null)
  })

  it('--group resumes where the last consume of the group stopped', () => {
    const dir = tempDir()
    ok(dir, ['topics', 'create', 't'])
    ok(dir, ['produce', 't'], `${Array.from({ length: 8 }, (_, i) => `v${i}`).join('\n')}\n`)
    const offsets = (stdout: string) => records(stdout).map((r) => r.offset)
    assert.deepEqual(offsets(ok(dir, ['consume', 't', '--group', 'g', '--max', '3'])), [0, 1, 2])
    assert.deepEqual(offsets(ok(dir, ['consume', 't', '--group', 'g', '--max', '3'])), [3, 4, 5])
    assert.deepEqual(offsets(ok(dir, ['consume', 't', '--group', 'g'])), [6, 7])
    assert.deepEqual(offsets(ok(dir, ['consume', 't', '--group', 'g'])), [])
    assert.deepEqual(offsets(ok(dir, ['consume', 't', '--group', 'other', '--max', '1'])), [0])
    assert.deepEqual(offsets(ok(dir, ['consume', 't', '--group', 'g', '--from', '6'])), [6, 7], '--from wins')
  })

  it('--follow prints what is there, waits, and exits 0 on SIGTERM (releasing the data directory)', async () => {
    const dir = tempDir()
    ok(dir, ['topics', 'create', 't', '--partitions', '2'])
    ok(dir, ['produce', 't', '--partition', '1'], 'x\ny\n')
    const child = spawn(process.execPath, [bin, '--data-dir', dir, 'consume', 't', '--follow'], {
      env: { ...process.env, EDDY_DATA_DIR: '' },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    await waitFor('the records on the log', () => stdout.split('\n').length === 3)
    await sleep(100) // now in its long poll
    child.kill('SIGTERM')
    assert.equal(await exited, 0, stderr)
    assert.equal(stderr, '')
    assert.deepEqual(
      records(stdout).map((r) => r.value),
      ['x', 'y'],
    )
    assert.equal(ok(dir, ['topics', 'list']), 't\n')
  })

  it('stops quietly when the reader of its output goes away (`| head -n 1`)', () => {
    const dir = tempDir()
    ok(dir, ['topics', 'create', 't'])
    ok(dir, ['produce', 't'], `${Array.from({ length: 5000 }, (_, i) => `record number ${i}`).join('\n')}\n`)
    const script = `"${process.execPath}" "${bin}" --data-dir "${dir}" consume t | head -n 1; echo "status=\${PIPESTATUS[0]}" >&2`
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 30_000 })
    assert.equal(records(r.stdout).length, 1)
    assert.equal(r.stderr, 'status=0\n')
  })

  it('errors: unknown topic or partition exit 1, bad flags exit 2, a malformed --key-field line exits 1 keeping earlier lines', () => {
    const dir = tempDir()
    ok(dir, ['topics', 'create', 't', '--partitions', '2'])
    const fix = /topic nope does not exist: create it with `eddy topics create nope`/
    assertOneErrorLine(eddy(dir, ['consume', 'nope']), 1, fix)
    assertOneErrorLine(eddy(dir, ['produce', 'nope'], 'x\n'), 1, fix)
    assertOneErrorLine(
      eddy(dir, ['consume', 't', '--partition', '2']),
      1,
      /no partition 2: give --partition from 0 to 1/,
    )
    assertOneErrorLine(eddy(dir, ['produce', 't', '--partition', '7'], 'x\n'), 1, /no partition 7/)
    assertOneErrorLine(
      eddy(dir, ['produce', 't', '--bogus'], 'x\n'),
      2,
      /unknown option '--bogus'.*`eddy produce --help`/,
    )
    assertOneErrorLine(eddy(dir, ['consume', 't', '--max', 'ten']), 2, /expected an integer/)
    assertOneErrorLine(eddy(dir, ['produce', 't', '--key-field', 'a..b'], 'x\n'), 2, /dotted path/)
    assertOneErrorLine(
      eddy(dir, ['produce', 't', '--file', path.join(dir, 'missing.txt')]),
      1,
      /cannot read --file .*missing\.txt/,
    )

    const input = '{"id":"a","n":1}\n{"id":"b","n":2}\n\n{"id": oops}\n{"id":"c","n":4}\n'
    const r = eddy(dir, ['produce', 't', '--key-field', 'id'], input)
    assertOneErrorLine(
      r,
      1,
      /line 4 of stdin is not JSON .*--key-field id.*2 record\(s\) before it were written.*from line 4 on/,
    )
    assert.equal(r.stdout, '')
    const missing = eddy(dir, ['produce', 't', '--key-field', 'id'], '{"id":"d"}\n{"name":"e"}\n')
    assertOneErrorLine(missing, 1, /line 2 of stdin has no field id: .*1 record\(s\) before it were written/)
    assert.deepEqual(
      records(ok(dir, ['consume', 't']))
        .map((r) => r.key)
        .sort(),
      ['a', 'b', 'd'],
    )
  })
})

describe('eddy consume in process, over an open log', () => {
  it('--follow prints a record appended after it started, at once', async () => {
    const log = EventLog.open({ dir: tempDir() })
    try {
      log.createTopic('live', { partitions: 2 })
      const stdout = new Collector()
      const stderr = new Collector()
      const stop = new AbortController()
      const done = main(['consume', 'live', '--follow'], { stdout, stderr, log, signal: stop.signal })
      await sleep(50)
      const appendedAt = Date.now()
      await log.append('live', 1, [{ value: Buffer.from('late') }])
      await waitFor('the late record', () => stdout.lines.length === 1)
      assert.ok(Date.now() - appendedAt < 2_000, 'woken by the append, not by the poll timeout')
      await log.append('live', 0, [{ value: Buffer.from('later') }])
      await waitFor('the later record', () => stdout.lines.length === 2)
      stop.abort()
      assert.equal(await done, 0, stderr.text)
      assert.deepEqual(
        stdout.lines.map((l) => (JSON.parse(l) as RecordJson).value),
        ['late', 'later'],
      )
    } finally {
      await log.close()
    }
  })

  it('--isolation read_committed stops before an open transaction', async () => {
    const log = EventLog.open({ dir: tempDir() })
    try {
      log.createTopic('tx')
      await log.append('tx', 0, [{ value: Buffer.from('before') }])
      const producer = await log.producer({ transactionalId: 'open' })
      producer.beginTransaction()
      await producer.send('tx', 0, [{ value: Buffer.from('open') }])
      await log.append('tx', 0, [{ value: Buffer.from('after') }])
      const values = async (isolation: string) => {
        const stdout = new Collector()
        const stderr = new Collector()
        assert.equal(
          await main(['consume', 'tx', '--isolation', isolation], { stdout, stderr, log }),
          0,
          stderr.text,
        )
        return stdout.lines.map((l) => (JSON.parse(l) as RecordJson).value)
      }
      assert.deepEqual(await values('read_committed'), ['before'])
      assert.deepEqual(await values('read_uncommitted'), ['before', 'open', 'after'])
      await producer.commitTransaction()
      assert.deepEqual(await values('read_committed'), ['before', 'open', 'after'])
    } finally {
      await log.close()
    }
  })

  it('--group commits the offsets after what it printed, across partitions, and starts from them', async () => {
    const log = EventLog.open({ dir: tempDir() })
    try {
      log.createTopic('g', { partitions: 2 })
      for (let i = 0; i < 3; i++) await log.append('g', 0, [{ value: Buffer.from(`p0-${i}`) }])
      for (let i = 0; i < 3; i++) await log.append('g', 1, [{ value: Buffer.from(`p1-${i}`) }])
      const consume = async (...args: string[]) => {
        const stdout = new Collector()
        const stderr = new Collector()
        assert.equal(
          await main(['consume', 'g', '--group', 'grp', ...args], { stdout, stderr, log }),
          0,
          stderr.text,
        )
        return stdout.lines.map((l) => (JSON.parse(l) as RecordJson).value!)
      }
      const committed = () => log.groups.fetch('grp', ['g']).map((o) => o.offset)
      assert.deepEqual(committed(), [-1, -1])
      const first = await consume('--max', '4')
      assert.equal(first.length, 4)
      const printed = (p: number) => first.filter((v) => v.startsWith(`p${p}-`)).length
      assert.deepEqual(committed(), [printed(0), printed(1)], 'only what was printed is committed')
      const second = await consume()
      assert.deepEqual([...first, ...second].sort(), ['p0-0', 'p0-1', 'p0-2', 'p1-0', 'p1-1', 'p1-2'])
      assert.deepEqual(committed(), [3, 3])
      assert.deepEqual(await consume(), [])
      assert.deepEqual(await consume('--from', 'earliest', '--max', '1', '--partition', '1'), ['p1-0'])
      assert.deepEqual(committed(), [3, 1])
    } finally {
      await log.close()
    }
  })
})
