// The transport conformance suite on the Kafka transport, against Eddy's broker started in this
// process on a free 127.0.0.1 port: once at the newest API versions both sides speak, once at the
// oldest the transport accepts (other request and response shapes, as older Kafka brokers and
// Redpanda answer).
import { KafkaTransport, type KafkaTransportOptions } from '../../src/transport/kafka.js'
import { startBroker } from '../broker/harness.js'
import { transportConformance } from './conformance.js'

async function onBroker(extra: Partial<KafkaTransportOptions> = {}) {
  const broker = await startBroker({ transactionCheckIntervalMs: 0 })
  const transport = await KafkaTransport.connect({ brokers: [`127.0.0.1:${broker.port}`], ...extra })
  return {
    transport,
    applyRetention: () => {
      for (const p of broker.log.allPartitions()) p.applyRetention(broker.log.clock.nowMs())
    },
    async close() {
      await transport.close()
      await broker.stop()
    },
  }
}

transportConformance('kafka (Eddy broker)', () => onBroker())

transportConformance('kafka (Eddy broker, oldest API versions)', () =>
  onBroker({
    maxApiVersions: {
      Metadata: 4,
      Fetch: 4,
      ListOffsets: 2,
      Produce: 3,
      FindCoordinator: 1,
      OffsetCommit: 2,
      OffsetFetch: 1,
      InitProducerId: 0,
      AddPartitionsToTxn: 0,
      AddOffsetsToTxn: 0,
      TxnOffsetCommit: 0,
      EndTxn: 0,
      CreateTopics: 4,
      DescribeConfigs: 1,
      DeleteRecords: 0,
    },
  }),
)
