// `eddy broker` with SASL (--users, --sasl-mechanisms) and TLS (--tls-cert, --tls-key, --tls-ca),
// and `eddy users add`: the users file it writes logs kcat in through a CLI-started broker.
// Certificates are made with openssl in the test; kcat comes from Debian (.ci/run installs it).
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { scramCredentialMatches } from '../../src/broker/auth/scram.js'
import { loadUsersFile } from '../../src/broker/auth/users-file.js'
import type { Writer } from '../../src/cli/context.js'
import { main } from '../../src/cli/main.js'
import { tmpDir } from './harness.js'

const LISTENING = /^eddy broker listening on 127\.0\.0\.1:(\d+) \(data dir (.+)\)$/m

const kcatMissing =
  spawnSync('kcat', ['-V']).status === 0 ? false : 'kcat is not installed: apt-get install -y kcat'
const opensslMissing =
  spawnSync('openssl', ['version']).status === 0
    ? false
    : 'openssl is not installed: apt-get install -y openssl'

class Collector implements Writer {
  text = ''
  write(text: string): void {
    this.text += text
  }
}

async function waitFor<T>(probe: () => T | null, what: () => string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = probe()
    if (v !== null) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** `eddy ARGS` in process, with `stdin` as its standard input. */
async function eddy(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Collector()
  const stderr = new Collector()
  const code = await main(args, { stdout, stderr, stdin: Readable.from([Buffer.from(stdin)]) })
  return { code, stdout: stdout.text, stderr: stderr.text }
}

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

function kcat(args: readonly string[], stdin = ''): Promise<Run> {
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

/** A broker started as `eddy --data-dir DIR broker ARGS` in a child process. */
interface ChildBroker {
  readonly address: string
  stderr(): string
  stop(): Promise<number | null>
}

async function startChildBroker(dataDir: string, args: string[]): Promise<ChildBroker> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./cli-child.ts', import.meta.url)),
      '--data-dir',
      dataDir,
      'broker',
      '--port',
      '0',
      '--auto-create-topics',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  let exitCode: number | null | undefined
  void exited.then((c) => {
    exitCode = c
  })
  const m = await waitFor(
    () => {
      if (exitCode !== undefined) throw new Error(`eddy broker exited with ${exitCode}: ${stderr}`)
      return LISTENING.exec(stderr)
    },
    () => `the listening line (stderr: ${stderr})`,
  )
  return {
    address: `127.0.0.1:${m[1]}`,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM')
      return exited
    },
  }
}

/** A broker started by main() in this process (kcat runs asynchronously, so both make progress). */
async function startInProcessBroker(dataDir: string, args: string[]): Promise<ChildBroker> {
  const stderr = new Collector()
  const stop = new AbortController()
  let result: number | undefined
  const done = main(['--data-dir', dataDir, 'broker', '--port', '0', '--auto-create-topics', ...args], {
    stdout: new Collector(),
    stderr,
    signal: stop.signal,
  }).then((code) => {
    result = code
    return code
  })
  const m = await waitFor(
    () => {
      if (result !== undefined) throw new Error(`eddy broker exited with ${result}: ${stderr.text}`)
      return LISTENING.exec(stderr.text)
    },
    () => `the listening line (stderr: ${stderr.text})`,
  )
  return {
    address: `127.0.0.1:${m[1]}`,
    stderr: () => stderr.text,
    async stop() {
      stop.abort()
      return done
    },
  }
}

function openssl(cwd: string, ...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' })
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`)
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']

/** Signs `name`'s certificate request with the CA in `dir` (ca.pem, ca.key). */
function signed(dir: string, name: string, extensions: string): void {
  openssl(dir, 'req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`)
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions)
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-out',
    `${name}.pem`,
    '-extfile',
    `${name}.ext`,
  )
}

describe('eddy users add', () => {
  let dir: string
  before(() => {
    dir = tmpDir('eddy-users-test-')
  })
  after(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('creates the file with a SCRAM-SHA-256 entry (no password in it), owner-only', async () => {
    const file = path.join(dir, 'users.json')
    const r = await eddy(['users', 'add', file, 'alice', '--password-stdin'], 'alice-secret\n')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `added user alice (SCRAM-SHA-256) in ${file}\n`)
    const text = fs.readFileSync(file, 'utf8')
    assert.doesNotMatch(text, /alice-secret|"password"/)
    assert.equal(fs.statSync(file).mode & 0o777, 0o600)
    const alice = loadUsersFile(file).get('alice')
    assert.ok(alice !== undefined)
    assert.equal(alice.password, null)
    assert.equal(alice.scramSha256.iterations, 4096)
    assert.ok(scramCredentialMatches(alice.scramSha256, 'alice-secret'))
    assert.ok(!scramCredentialMatches(alice.scramSha256, 'alice-secret\n'))
  })

  it('adds to an existing file, keeps other entries, replaces a user of the same name', async () => {
    const file = path.join(dir, 'mixed.json')
    fs.writeFileSync(file, JSON.stringify({ users: [{ name: 'bob', password: 'bob-pw' }] }))
    assert.equal((await eddy(['users', 'add', file, 'carol', '--password-stdin'], 'one\r\n')).code, 0)
    const again = await eddy(
      ['users', 'add', file, 'carol', '--password-stdin', '--iterations', '8192'],
      'two',
    )
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /^updated user carol/)
    const users = loadUsersFile(file)
    assert.deepEqual([...users.keys()], ['bob', 'carol'])
    assert.equal(users.get('bob')?.password, 'bob-pw')
    const carol = users.get('carol')!
    assert.equal(carol.scramSha256.iterations, 8192)
    assert.ok(scramCredentialMatches(carol.scramSha256, 'two'))
  })

  it('refuses a missing --password-stdin (2), an empty password (1), a broken file (1)', async () => {
    const file = path.join(dir, 'refused.json')
    const noFlag = await eddy(['users', 'add', file, 'dave'])
    assert.equal(noFlag.code, 2)
    assert.match(noFlag.stderr, /^eddy: give --password-stdin .*\n$/)
    const empty = await eddy(['users', 'add', file, 'dave', '--password-stdin'], '\n')
    assert.equal(empty.code, 1)
    assert.match(empty.stderr, /^eddy: no password on stdin/)
    assert.equal(fs.existsSync(file), false)
    fs.writeFileSync(file, '{"users": [')
    const broken = await eddy(['users', 'add', file, 'dave', '--password-stdin'], 'pw\n')
    assert.equal(broken.code, 1)
    assert.match(broken.stderr, /^eddy: users file .*refused\.json is not valid JSON/)
    assert.equal(fs.readFileSync(file, 'utf8'), '{"users": [')
    const iterations = await eddy(['users', 'add', file, 'dave', '--password-stdin', '--iterations', '10'])
    assert.equal(iterations.code, 2)
  })
})

describe('eddy broker: flag errors', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['--sasl-mechanisms without --users', ['--sasl-mechanisms', 'PLAIN'], 2, /needs --users/],
    ['an unknown mechanism', ['--users', 'u.json', '--sasl-mechanisms', 'GSSAPI'], 2, /GSSAPI/],
    ['an empty mechanism list', ['--users', 'u.json', '--sasl-mechanisms', ','], 2, /is empty/],
    ['--tls-cert without --tls-key', ['--tls-cert', 'c.pem'], 2, /go together/],
    ['--tls-ca alone', ['--tls-ca', 'ca.pem'], 2, /--tls-ca needs/],
    ['an unreadable users file', ['--users', '/nonexistent/users.json'], 1, /users file .* cannot read it/],
    [
      'an unreadable certificate',
      ['--tls-cert', '/nonexistent/c.pem', '--tls-key', '/nonexistent/k.pem'],
      1,
      /TLS certificate \/nonexistent\/c\.pem: cannot read it/,
    ],
  ]
  for (const [name, args, code, message] of cases) {
    it(`${name}: exit ${code}, one line`, async () => {
      const dir = tmpDir()
      try {
        const r = await eddy(['--data-dir', dir, 'broker', '--port', '0', ...args])
        assert.equal(r.code, code, r.stderr)
        assert.match(r.stderr, message)
        assert.equal(r.stderr.split('\n').length, 2, r.stderr)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  }
})

describe('eddy broker --users: kcat logs in', { skip: kcatMissing }, () => {
  let dir: string
  let users: string
  let broker: ChildBroker
  before(async () => {
    dir = tmpDir()
    users = path.join(dir, 'users.json')
    assert.equal((await eddy(['users', 'add', users, 'alice', '--password-stdin'], 'alice-secret\n')).code, 0)
    broker = await startChildBroker(path.join(dir, 'data'), ['--users', users])
  })
  after(async () => {
    if (broker !== undefined) assert.equal(await broker.stop(), 0, broker.stderr())
    fs.rmSync(dir, { recursive: true, force: true })
  })

  const login = (mechanism: string, password: string) => [
    '-X',
    'security.protocol=SASL_PLAINTEXT',
    '-X',
    `sasl.mechanisms=${mechanism}`,
    '-X',
    'sasl.username=alice',
    '-X',
    `sasl.password=${password}`,
  ]

  it('prints what it requires on start', () => {
    assert.match(broker.stderr(), /^eddy broker: SASL SCRAM-SHA-256, PLAIN \(1 user from .*users\.json\)$/m)
  })

  it('kcat -X sasl.mechanisms=SCRAM-SHA-256 produces and consumes', async () => {
    const p = await kcat(
      ['-b', broker.address, ...login('SCRAM-SHA-256', 'alice-secret'), '-P', '-t', 'secured'],
      'one\ntwo\n',
    )
    assert.equal(p.code, 0, p.stderr)
    const c = await kcat([
      '-b',
      broker.address,
      ...login('SCRAM-SHA-256', 'alice-secret'),
      '-C',
      '-t',
      'secured',
      '-o',
      'beginning',
      '-e',
      '-q',
    ])
    assert.equal(c.code, 0, c.stderr)
    assert.equal(c.stdout, 'one\ntwo\n')
  })

  it('kcat with PLAIN (offered by default) checks the SCRAM credential', async () => {
    const r = await kcat(['-b', broker.address, ...login('PLAIN', 'alice-secret'), '-L', '-t', 'secured'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /topic "secured" with 1 partitions/)
  })

  for (const mechanism of ['SCRAM-SHA-256', 'PLAIN']) {
    it(`kcat with a wrong password over ${mechanism} is refused`, async () => {
      const r = await kcat(['-b', broker.address, ...login(mechanism, 'wrong'), '-L', '-m', '3'])
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, /Authentication failed|SASL authentication error/i)
      assert.match(broker.stderr(), /SASL authentication of \/127\.0\.0\.1 failed/)
    })
  }

  it('kcat without SASL gets nothing', async () => {
    const r = await kcat(['-b', broker.address, '-L', '-m', '3'])
    assert.notEqual(r.code, 0)
  })
})

describe('eddy broker --users --sasl-mechanisms SCRAM-SHA-256', { skip: kcatMissing }, () => {
  it('offers only SCRAM: PLAIN is refused', async () => {
    const dir = tmpDir()
    const users = path.join(dir, 'users.json')
    fs.writeFileSync(users, JSON.stringify({ users: [{ name: 'alice', password: 'pw' }] }))
    const broker = await startInProcessBroker(path.join(dir, 'data'), [
      '--users',
      users,
      '--sasl-mechanisms',
      'scram-sha-256',
    ])
    try {
      const sasl = (m: string) => ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.mechanisms=${m}`]
      const creds = ['-X', 'sasl.username=alice', '-X', 'sasl.password=pw']
      const ok = await kcat(['-b', broker.address, ...sasl('SCRAM-SHA-256'), ...creds, '-L'])
      assert.equal(ok.code, 0, ok.stderr)
      const plain = await kcat(['-b', broker.address, ...sasl('PLAIN'), ...creds, '-L', '-m', '3'])
      assert.notEqual(plain.code, 0)
      assert.match(plain.stderr, /PLAIN.*not supported|Unsupported SASL mechanism|mechanism/i)
    } finally {
      assert.equal(await broker.stop(), 0)
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('eddy broker --tls-cert --tls-key', { skip: kcatMissing || opensslMissing }, () => {
  let dir: string
  let data: string
  before(() => {
    dir = tmpDir('eddy-broker-tls-')
    data = path.join(dir, 'data')
    // A self-signed broker certificate for 127.0.0.1 (librdkafka checks the host name).
    openssl(
      dir,
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      'self.key',
      '-out',
      'self.pem',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    )
    // A CA, a broker certificate and a client certificate signed by it, for mutual TLS.
    openssl(
      dir,
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=eddy test CA',
    )
    signed(dir, 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
    signed(dir, 'client', 'extendedKeyUsage=clientAuth\n')
  })
  after(() => fs.rmSync(dir, { recursive: true, force: true }))

  const f = (name: string) => path.join(dir, name)

  it('self-signed: kcat -X security.protocol=ssl -X ssl.ca.location=CERT produces and consumes', async () => {
    const broker = await startInProcessBroker(data, ['--tls-cert', f('self.pem'), '--tls-key', f('self.key')])
    try {
      assert.match(broker.stderr(), /^eddy broker: TLS$/m)
      const ssl = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${f('self.pem')}`]
      const p = await kcat(['-b', broker.address, ...ssl, '-P', '-t', 'tls'], 'over tls\n')
      assert.equal(p.code, 0, p.stderr)
      const c = await kcat(['-b', broker.address, ...ssl, '-C', '-t', 'tls', '-o', 'beginning', '-e', '-q'])
      assert.equal(c.code, 0, c.stderr)
      assert.equal(c.stdout, 'over tls\n')
    } finally {
      assert.equal(await broker.stop(), 0)
    }
  })

  it('TLS and SCRAM together: kcat -X security.protocol=SASL_SSL', async () => {
    const users = f('users.json')
    assert.equal((await eddy(['users', 'add', users, 'alice', '--password-stdin'], 'pw\n')).code, 0)
    const broker = await startInProcessBroker(data, [
      '--users',
      users,
      '--tls-cert',
      f('self.pem'),
      '--tls-key',
      f('self.key'),
    ])
    try {
      assert.match(broker.stderr(), /^eddy broker: SASL SCRAM-SHA-256, PLAIN \(1 user from .*\), TLS$/m)
      const args = (password: string) => [
        '-b',
        broker.address,
        '-X',
        'security.protocol=SASL_SSL',
        '-X',
        `ssl.ca.location=${f('self.pem')}`,
        '-X',
        'sasl.mechanisms=SCRAM-SHA-256',
        '-X',
        'sasl.username=alice',
        '-X',
        `sasl.password=${password}`,
      ]
      const ok = await kcat([...args('pw'), '-C', '-t', 'tls', '-o', 'beginning', '-e', '-q'])
      assert.equal(ok.code, 0, ok.stderr)
      assert.equal(ok.stdout, 'over tls\n')
      const bad = await kcat([...args('wrong'), '-L', '-m', '3'])
      assert.notEqual(bad.code, 0)
      assert.match(bad.stderr, /Authentication failed|SASL authentication error/i)
    } finally {
      assert.equal(await broker.stop(), 0)
    }
  })

  it('--tls-ca: a client certificate signed by the CA is required', async () => {
    const broker = await startInProcessBroker(data, [
      '--tls-cert',
      f('server.pem'),
      '--tls-key',
      f('server.key'),
      '--tls-ca',
      f('ca.pem'),
    ])
    try {
      assert.match(broker.stderr(), /^eddy broker: TLS, client certificates checked against the CA$/m)
      const ssl = [
        '-b',
        broker.address,
        '-X',
        'security.protocol=ssl',
        '-X',
        `ssl.ca.location=${f('ca.pem')}`,
      ]
      const withCert = await kcat([
        ...ssl,
        '-X',
        `ssl.certificate.location=${f('client.pem')}`,
        '-X',
        `ssl.key.location=${f('client.key')}`,
        '-C',
        '-t',
        'tls',
        '-o',
        'beginning',
        '-e',
        '-q',
      ])
      assert.equal(withCert.code, 0, withCert.stderr)
      assert.equal(withCert.stdout, 'over tls\n')
      const without = await kcat([...ssl, '-L', '-m', '3'])
      assert.notEqual(without.code, 0)
      await waitFor(
        () => (/TLS handshake with .* failed/.test(broker.stderr()) ? true : null),
        () => `a TLS handshake failure in ${broker.stderr()}`,
      )
    } finally {
      assert.equal(await broker.stop(), 0)
    }
  })

  it('a key that does not match the certificate: exit 1, both files named', async () => {
    const r = await eddy([
      '--data-dir',
      data,
      'broker',
      '--port',
      '0',
      '--tls-cert',
      f('self.pem'),
      '--tls-key',
      f('ca.key'),
    ])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^eddy: TLS private key .*ca\.key does not belong to certificate .*self\.pem\n$/)
  })
})
