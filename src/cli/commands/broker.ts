// `eddy broker`: serves the data directory's log over the Kafka protocol until SIGINT/SIGTERM,
// with SASL (--users, --sasl-mechanisms) and TLS (--tls-cert, --tls-key, --tls-ca) when asked.
import type { TlsOptions } from 'node:tls'
import type { Command } from 'commander'
import { createBrokerAuth, SUPPORTED_MECHANISMS } from '../../broker/auth/broker-auth.js'
import { loadTlsOptions } from '../../broker/auth/tls.js'
import type { BrokerAuth } from '../../broker/auth/types.js'
import { loadUsersFile } from '../../broker/auth/users-file.js'
import { Broker, type BrokerLogger } from '../../broker/broker.js'
import { integerArg } from '../args.js'
import { type CliContext, UsageError, type Writer } from '../context.js'

interface BrokerFlags {
  readonly host: string
  readonly port: number
  readonly autoCreateTopics?: boolean
  readonly users?: string
  readonly saslMechanisms?: readonly string[]
  readonly tlsCert?: string
  readonly tlsKey?: string
  readonly tlsCa?: string
}

function loggerTo(out: Writer): BrokerLogger {
  return {
    info: (msg) => out.write(`eddy broker: ${msg}\n`),
    warn: (msg) => out.write(`eddy broker: warning: ${msg}\n`),
    error: (msg) => out.write(`eddy broker: error: ${msg}\n`),
  }
}

/** Resolves on the context's signal, or else on SIGINT/SIGTERM. */
function untilStopped(ctx: CliContext): Promise<void> {
  return new Promise((resolve) => {
    if (ctx.signal !== undefined) {
      if (ctx.signal.aborted) resolve()
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true })
      return
    }
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}

/** `--sasl-mechanisms SCRAM-SHA-256,PLAIN`: a non-empty list of supported names, without repeats. */
function mechanismsArg(text: string): string[] {
  const names = text
    .split(',')
    .map((m) => m.trim().toUpperCase())
    .filter((m) => m !== '')
  const unknown = names.find((m) => !SUPPORTED_MECHANISMS.includes(m))
  if (names.length === 0 || unknown !== undefined) {
    throw new UsageError(
      `--sasl-mechanisms ${unknown === undefined ? 'is empty' : `names ${unknown}, which is not supported`}: give a comma-separated list of ${SUPPORTED_MECHANISMS.join(', ')}`,
    )
  }
  return [...new Set(names)]
}

interface AuthSetup {
  readonly auth: BrokerAuth
  /** For the start-up line: "SASL SCRAM-SHA-256, PLAIN (2 users from users.json), TLS". */
  readonly description: string
}

/**
 * The BrokerAuth the flags ask for, or undefined for a plaintext broker without SASL. Flag
 * combinations that make no sense are usage errors (exit 2); files that cannot be read or are not
 * what they should be are errors (exit 1), naming the file.
 */
function authFromFlags(flags: BrokerFlags): AuthSetup | undefined {
  if (flags.saslMechanisms !== undefined && flags.users === undefined) {
    throw new UsageError('--sasl-mechanisms needs --users FILE (the users SASL authenticates)')
  }
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together: give both, or neither')
  }
  if (flags.tlsCa !== undefined && flags.tlsCert === undefined) {
    throw new UsageError('--tls-ca needs --tls-cert and --tls-key')
  }
  if (flags.users === undefined && flags.tlsCert === undefined) return undefined
  const mechanisms =
    flags.users === undefined
      ? []
      : mechanismsArg((flags.saslMechanisms ?? ['SCRAM-SHA-256,PLAIN']).join(','))
  const users = flags.users === undefined ? new Map() : loadUsersFile(flags.users)
  let tls: TlsOptions | undefined
  if (flags.tlsCert !== undefined && flags.tlsKey !== undefined) {
    tls = loadTlsOptions({
      certFile: flags.tlsCert,
      keyFile: flags.tlsKey,
      ...(flags.tlsCa === undefined ? {} : { caFile: flags.tlsCa }),
    })
    // With a CA, clients must present a certificate it signed (mutual TLS).
    if (flags.tlsCa !== undefined) tls = { ...tls, requestCert: true, rejectUnauthorized: true }
  }
  const parts: string[] = []
  if (flags.users !== undefined) {
    parts.push(
      `SASL ${mechanisms.join(', ')} (${users.size} user${users.size === 1 ? '' : 's'} from ${flags.users})`,
    )
  }
  if (tls !== undefined)
    parts.push(`TLS${flags.tlsCa === undefined ? '' : ', client certificates checked against the CA'}`)
  return {
    auth: createBrokerAuth({ users, mechanisms, ...(tls === undefined ? {} : { tls }) }),
    description: parts.join(', '),
  }
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('broker')
    .description(
      'serve the data directory over the Kafka protocol (kcat, kafkajs, librdkafka…) until stopped',
    )
    .option('--host <host>', 'interface to listen on; 0.0.0.0 for all', '127.0.0.1')
    .option('--port <port>', 'port to listen on; 0 for any free one', integerArg(0, 65535), 9092)
    .option('--auto-create-topics', 'create a topic a client asks for when it does not exist')
    .option('--users <file>', 'require SASL, authenticating against this users file (see `eddy users add`)')
    .option(
      '--sasl-mechanisms <list>',
      `SASL mechanisms offered with --users, comma-separated (default: ${SUPPORTED_MECHANISMS.join(',')})`,
      (text: string, previous: string[] | undefined) => [...(previous ?? []), text],
    )
    .option('--tls-cert <file>', 'serve TLS with this PEM certificate (chain); needs --tls-key')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-ca <file>', 'PEM CA bundle: clients must present a certificate it signed (mutual TLS)')
    .action(async (flags: BrokerFlags) => {
      const setup = authFromFlags(flags)
      await ctx.withLog(async (log) => {
        const broker = await Broker.start({
          log,
          host: flags.host,
          port: flags.port,
          autoCreateTopics: flags.autoCreateTopics === true,
          logger: loggerTo(ctx.stderr),
          ...(setup === undefined ? {} : { auth: setup.auth }),
        })
        if (setup !== undefined) ctx.stderr.write(`eddy broker: ${setup.description}\n`)
        const where = flags.host.includes(':')
          ? `[${flags.host}]:${broker.port}`
          : `${flags.host}:${broker.port}`
        ctx.stderr.write(`eddy broker listening on ${where} (data dir ${log.dir})\n`)
        await untilStopped(ctx)
        ctx.stderr.write('eddy broker: shutting down\n')
        await broker.close()
      })
    })
}
