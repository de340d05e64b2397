// The broker's TLS certificate and key, read from PEM files and checked up front, so a wrong path,
// a non-PEM file or a key that does not match its certificate fails at start with the file named,
// not at the first client's handshake.
import { readFileSync } from 'node:fs'
import * as tls from 'node:tls'
import { EddyError } from '../../core/errors.js'

export interface TlsFiles {
  /** PEM certificate (chain) the broker presents. */
  readonly certFile: string
  /** PEM private key of that certificate. */
  readonly keyFile: string
  /** PEM CA bundle to verify client certificates against (mutual TLS). */
  readonly caFile?: string
  /** Passphrase of an encrypted key. */
  readonly passphrase?: string
}

const CERTIFICATE = { marker: /-----BEGIN CERTIFICATE-----/, label: '-----BEGIN CERTIFICATE-----' }
const PRIVATE_KEY = {
  // PKCS#8 (PRIVATE KEY, ENCRYPTED PRIVATE KEY) and the traditional RSA/EC PRIVATE KEY forms.
  marker: /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/,
  label: '-----BEGIN PRIVATE KEY-----',
}

export function loadTlsOptions(files: TlsFiles): tls.SecureContextOptions {
  const cert = readPem(files.certFile, 'certificate', CERTIFICATE)
  const key = readPem(files.keyFile, 'private key', PRIVATE_KEY)
  const options: tls.SecureContextOptions = { cert, key }
  if (files.caFile !== undefined) options.ca = readPem(files.caFile, 'CA bundle', CERTIFICATE)
  if (files.passphrase !== undefined) options.passphrase = files.passphrase
  try {
    tls.createSecureContext(options)
  } catch (err) {
    throw new EddyError('INVALID_ARGUMENT', explain(err, files), { cause: err })
  }
  return options
}

function readPem(path: string, what: string, pem: { marker: RegExp; label: string }): Buffer {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw new EddyError(
      'IO',
      `TLS ${what} ${path}: cannot read it (${code}); check the path and its permissions`,
      {
        cause: err,
      },
    )
  }
  if (!pem.marker.test(bytes.toString('latin1'))) {
    throw new EddyError(
      'INVALID_ARGUMENT',
      `TLS ${what} ${path}: not a PEM ${what} (no ${pem.label} line); convert a DER file with openssl`,
    )
  }
  return bytes
}

function explain(err: unknown, files: TlsFiles): string {
  const message = err instanceof Error ? err.message : String(err)
  if (/key values mismatch/i.test(message)) {
    return `TLS private key ${files.keyFile} does not belong to certificate ${files.certFile}`
  }
  if (/bad decrypt|bad password|passphrase/i.test(message)) {
    return `TLS private key ${files.keyFile}: cannot decrypt it; check the passphrase`
  }
  const ca = files.caFile === undefined ? '' : `, CA ${files.caFile}`
  return `TLS certificate ${files.certFile}, key ${files.keyFile}${ca}: ${message}`
}
