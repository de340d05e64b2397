import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { isEddyError } from '../../core/errors.js'
import { loadTlsOptions } from './tls.js'

const hasOpenssl = spawnSync('openssl', ['version']).status === 0
const dir = mkdtempSync(path.join(tmpdir(), 'eddy-tls-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** A self-signed certificate and its key, made with openssl. */
function selfSigned(name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`)
  const key = path.join(dir, `${name}.key`)
  const r = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
  ])
  assert.equal(r.status, 0, r.stderr.toString())
  return { cert, key }
}

function messageOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    assert.ok(isEddyError(err), String(err))
    return err.message
  }
  assert.fail('expected an error')
}

describe('TLS files', { skip: hasOpenssl ? false : 'openssl is not installed' }, () => {
  it('loads a certificate and its key (and a CA bundle)', () => {
    const { cert, key } = selfSigned('broker')
    const options = loadTlsOptions({ certFile: cert, keyFile: key, caFile: cert })
    assert.match(String(options.cert), /BEGIN CERTIFICATE/)
    assert.match(String(options.key), /PRIVATE KEY/)
    assert.match(String(options.ca), /BEGIN CERTIFICATE/)
  })

  it('names the file when it is missing or not PEM', () => {
    const { cert, key } = selfSigned('a')
    const missing = path.join(dir, 'missing.crt')
    assert.match(
      messageOf(() => loadTlsOptions({ certFile: missing, keyFile: key })),
      /TLS certificate .*missing\.crt: cannot read it \(ENOENT\)/,
    )
    const der = path.join(dir, 'cert.der')
    writeFileSync(der, Buffer.from([0x30, 0x82, 0x01, 0x00]))
    assert.match(
      messageOf(() => loadTlsOptions({ certFile: der, keyFile: key })),
      /TLS certificate .*cert\.der: not a PEM certificate/,
    )
    assert.match(
      messageOf(() => loadTlsOptions({ certFile: cert, keyFile: cert })),
      /TLS private key .*a\.crt: not a PEM private key/,
    )
  })

  it('refuses a key that does not belong to the certificate', () => {
    const a = selfSigned('one')
    const b = selfSigned('two')
    assert.match(
      messageOf(() => loadTlsOptions({ certFile: a.cert, keyFile: b.key })),
      /TLS private key .*two\.key does not belong to certificate .*one\.crt/,
    )
  })
})
