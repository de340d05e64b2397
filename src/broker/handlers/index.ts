// Every API the broker serves, by name: the type makes a missing one a compile error.
import type { ApiName } from '../../protocol/index.js'
import { apiVersions } from './api-versions.js'
import type { ApiHandler } from './context.js'
import { deleteRecords } from './delete-records.js'
import { fetch } from './fetch.js'
import { findCoordinator } from './find-coordinator.js'
import { describeGroups, heartbeat, joinGroup, leaveGroup, listGroups, syncGroup } from './groups.js'
import { listOffsets } from './list-offsets.js'
import { metadata } from './metadata.js'
import { offsetCommit, offsetFetch } from './offsets.js'
import { produce } from './produce.js'
import { saslAuthenticate, saslHandshake } from './sasl.js'
import { createTopics, deleteTopics, describeConfigs } from './topics.js'
import {
  addOffsetsToTxn,
  addPartitionsToTxn,
  endTxn,
  initProducerId,
  txnOffsetCommit,
} from './transactions.js'

export const handlers: { readonly [N in ApiName]: ApiHandler<N> } = {
  Produce: produce,
  Fetch: fetch,
  ListOffsets: listOffsets,
  Metadata: metadata,
  OffsetCommit: offsetCommit,
  OffsetFetch: offsetFetch,
  FindCoordinator: findCoordinator,
  JoinGroup: joinGroup,
  Heartbeat: heartbeat,
  LeaveGroup: leaveGroup,
  SyncGroup: syncGroup,
  DescribeGroups: describeGroups,
  ListGroups: listGroups,
  SaslHandshake: saslHandshake,
  ApiVersions: apiVersions,
  CreateTopics: createTopics,
  DeleteTopics: deleteTopics,
  DeleteRecords: deleteRecords,
  InitProducerId: initProducerId,
  AddPartitionsToTxn: addPartitionsToTxn,
  AddOffsetsToTxn: addOffsetsToTxn,
  EndTxn: endTxn,
  TxnOffsetCommit: txnOffsetCommit,
  DescribeConfigs: describeConfigs,
  SaslAuthenticate: saslAuthenticate,
}

/** APIs a client may use before it has authenticated, when the broker requires SASL. */
export const PRE_AUTH_APIS: ReadonlySet<ApiName> = new Set([
  'ApiVersions',
  'SaslHandshake',
  'SaslAuthenticate',
])
