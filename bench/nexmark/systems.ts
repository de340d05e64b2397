// The systems the Nexmark comparison runs, and which queries each can express.
import { QUERIES } from '../../src/bench/nexmark/queries.js'
import { LOOP_QUERIES } from './loop.js'
import { KAFKA_STREAMS_QUERIES, KAFKATS_QUERIES, type PeerQuery, RXJS_QUERIES } from './peers.js'

export const PEERS: Readonly<Record<string, Readonly<Record<string, PeerQuery>>>> = {
  loop: Object.fromEntries(
    Object.entries(LOOP_QUERIES).map(([q, run]): [string, PeerQuery] => [
      q,
      async (gen, events, sink) => run(gen, events, sink),
    ]),
  ),
  rxjs: RXJS_QUERIES,
  kafkats: KAFKATS_QUERIES,
  'kafka-streams': KAFKA_STREAMS_QUERIES,
}

export const SYSTEMS = ['eddy', ...Object.keys(PEERS)] as const

/** The queries a system can run. */
export function systemQueries(system: string): string[] {
  if (system === 'eddy') return Object.keys(QUERIES)
  return Object.keys(PEERS[system] ?? {})
}
