// `eddy broker`: serves the data directory's log over the Kafka protocol until SIGINT/SIGTERM.
import type { Command } from 'commander'
import { Broker, type BrokerLogger } from '../../broker/broker.js'
import { integerArg } from '../args.js'
import type { CliContext, Writer } from '../context.js'

interface BrokerFlags {
  readonly host: string
  readonly port: number
  readonly autoCreateTopics?: boolean
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

export function register(program: Command, ctx: CliContext): void {
  program
    .command('broker')
    .description(
      'serve the data directory over the Kafka protocol (kcat, kafkajs, librdkafka…) until stopped',
    )
    .option('--host <host>', 'interface to listen on; 0.0.0.0 for all', '127.0.0.1')
    .option('--port <port>', 'port to listen on; 0 for any free one', integerArg(0, 65535), 9092)
    .option('--auto-create-topics', 'create a topic a client asks for when it does not exist')
    .action(async (flags: BrokerFlags) => {
      await ctx.withLog(async (log) => {
        const broker = await Broker.start({
          log,
          host: flags.host,
          port: flags.port,
          autoCreateTopics: flags.autoCreateTopics === true,
          logger: loggerTo(ctx.stderr),
        })
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
