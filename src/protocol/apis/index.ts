// The registry of Kafka APIs Eddy speaks: for each, the version range it advertises in
// ApiVersions and the request/response schemas that implement every version of that range.
//
// Ranges are chosen so that kcat 1.7.1 (librdkafka 2.0.2), kafkajs 2.2.4 and @platformatic/kafka
// 1.x each find the versions they use (clients pick the highest version both sides know).
// Minimum versions are 0 because librdkafka 2.0.2 enables features only when the broker's range
// overlaps old versions: consumer groups, SASL handshake and idempotence need v0 of those APIs, and
// gzip/snappy/lz4 need Produce v2 and Fetch v2 (MsgVer1). Produce v0-v2 and Fetch v0-v3 belong to
// message formats v0/v1, which the log cannot store: Produce refuses them per partition, Fetch
// returns the stored v2 batches as they are.

import { assert } from '../../core/assert.js'
import type { MessageSchema, Value } from '../schema.js'
import { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from './add-offsets-to-txn.js'
import { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from './add-partitions-to-txn.js'
import { ApiVersionsRequest, ApiVersionsResponse } from './api-versions.js'
import { CreateTopicsRequest, CreateTopicsResponse } from './create-topics.js'
import { DeleteRecordsRequest, DeleteRecordsResponse } from './delete-records.js'
import { DeleteTopicsRequest, DeleteTopicsResponse } from './delete-topics.js'
import { DescribeConfigsRequest, DescribeConfigsResponse } from './describe-configs.js'
import { DescribeGroupsRequest, DescribeGroupsResponse } from './describe-groups.js'
import { EndTxnRequest, EndTxnResponse } from './end-txn.js'
import { FetchRequest, FetchResponse } from './fetch.js'
import { FindCoordinatorRequest, FindCoordinatorResponse } from './find-coordinator.js'
import { HeartbeatRequest, HeartbeatResponse } from './heartbeat.js'
import { InitProducerIdRequest, InitProducerIdResponse } from './init-producer-id.js'
import { JoinGroupRequest, JoinGroupResponse } from './join-group.js'
import { LeaveGroupRequest, LeaveGroupResponse } from './leave-group.js'
import { ListGroupsRequest, ListGroupsResponse } from './list-groups.js'
import { ListOffsetsRequest, ListOffsetsResponse } from './list-offsets.js'
import { MetadataRequest, MetadataResponse } from './metadata.js'
import { OffsetCommitRequest, OffsetCommitResponse } from './offset-commit.js'
import { OffsetFetchRequest, OffsetFetchResponse } from './offset-fetch.js'
import { ProduceRequest, ProduceResponse } from './produce.js'
import { SaslAuthenticateRequest, SaslAuthenticateResponse } from './sasl-authenticate.js'
import { SaslHandshakeRequest, SaslHandshakeResponse } from './sasl-handshake.js'
import { SyncGroupRequest, SyncGroupResponse } from './sync-group.js'
import { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from './txn-offset-commit.js'

export interface ApiDefinition<N extends string, Req, Res> {
  readonly apiKey: number
  readonly name: N
  readonly minVersion: number
  readonly maxVersion: number
  /** The first flexible version (request header v2, response header v1), or null if none is. */
  readonly flexibleMin: number | null
  readonly request: MessageSchema<Req>
  readonly response: MessageSchema<Res>
}

function api<const N extends string, Req, Res>(
  name: N,
  request: MessageSchema<Req>,
  response: MessageSchema<Res>,
): ApiDefinition<N, Req, Res> {
  assert(request.apiKey === response.apiKey, `${name}: request and response api keys differ`)
  assert(
    request.versions.min === response.versions.min && request.versions.max === response.versions.max,
    `${name}: request and response implement different versions`,
  )
  assert(
    request.flexibleVersions.min === response.flexibleVersions.min,
    `${name}: request and response differ in flexible versions`,
  )
  const flexibleMin =
    request.flexibleVersions.min <= request.flexibleVersions.max ? request.flexibleVersions.min : null
  return {
    apiKey: request.apiKey,
    name,
    minVersion: request.versions.min,
    maxVersion: request.versions.max,
    flexibleMin,
    request,
    response,
  }
}

export const apis = {
  Produce: api('Produce', ProduceRequest, ProduceResponse),
  Fetch: api('Fetch', FetchRequest, FetchResponse),
  ListOffsets: api('ListOffsets', ListOffsetsRequest, ListOffsetsResponse),
  Metadata: api('Metadata', MetadataRequest, MetadataResponse),
  OffsetCommit: api('OffsetCommit', OffsetCommitRequest, OffsetCommitResponse),
  OffsetFetch: api('OffsetFetch', OffsetFetchRequest, OffsetFetchResponse),
  FindCoordinator: api('FindCoordinator', FindCoordinatorRequest, FindCoordinatorResponse),
  JoinGroup: api('JoinGroup', JoinGroupRequest, JoinGroupResponse),
  Heartbeat: api('Heartbeat', HeartbeatRequest, HeartbeatResponse),
  LeaveGroup: api('LeaveGroup', LeaveGroupRequest, LeaveGroupResponse),
  SyncGroup: api('SyncGroup', SyncGroupRequest, SyncGroupResponse),
  DescribeGroups: api('DescribeGroups', DescribeGroupsRequest, DescribeGroupsResponse),
  ListGroups: api('ListGroups', ListGroupsRequest, ListGroupsResponse),
  SaslHandshake: api('SaslHandshake', SaslHandshakeRequest, SaslHandshakeResponse),
  ApiVersions: api('ApiVersions', ApiVersionsRequest, ApiVersionsResponse),
  CreateTopics: api('CreateTopics', CreateTopicsRequest, CreateTopicsResponse),
  DeleteTopics: api('DeleteTopics', DeleteTopicsRequest, DeleteTopicsResponse),
  DeleteRecords: api('DeleteRecords', DeleteRecordsRequest, DeleteRecordsResponse),
  InitProducerId: api('InitProducerId', InitProducerIdRequest, InitProducerIdResponse),
  AddPartitionsToTxn: api('AddPartitionsToTxn', AddPartitionsToTxnRequest, AddPartitionsToTxnResponse),
  AddOffsetsToTxn: api('AddOffsetsToTxn', AddOffsetsToTxnRequest, AddOffsetsToTxnResponse),
  EndTxn: api('EndTxn', EndTxnRequest, EndTxnResponse),
  TxnOffsetCommit: api('TxnOffsetCommit', TxnOffsetCommitRequest, TxnOffsetCommitResponse),
  DescribeConfigs: api('DescribeConfigs', DescribeConfigsRequest, DescribeConfigsResponse),
  SaslAuthenticate: api('SaslAuthenticate', SaslAuthenticateRequest, SaslAuthenticateResponse),
} as const

export type Apis = typeof apis
export type ApiName = keyof Apis
export type RequestOf<N extends ApiName> = Value<Apis[N]['request']>
export type ResponseOf<N extends ApiName> = Value<Apis[N]['response']>

/** Any registered API, without its message types. */
export interface AnyApi {
  readonly apiKey: number
  readonly name: ApiName
  readonly minVersion: number
  readonly maxVersion: number
  readonly flexibleMin: number | null
  readonly request: MessageSchema<unknown>
  readonly response: MessageSchema<unknown>
}

const byKey = new Map<number, AnyApi>()
for (const def of Object.values(apis) as AnyApi[]) {
  assert(!byKey.has(def.apiKey), `api key ${def.apiKey} is registered twice`)
  byKey.set(def.apiKey, def)
}

export function apiByKey(apiKey: number): AnyApi | undefined {
  return byKey.get(apiKey)
}

export function isSupported(apiKey: number, apiVersion: number): boolean {
  const def = byKey.get(apiKey)
  return def !== undefined && apiVersion >= def.minVersion && apiVersion <= def.maxVersion
}

export function isFlexible(apiKey: number, apiVersion: number): boolean {
  const def = byKey.get(apiKey)
  return def !== undefined && def.flexibleMin !== null && apiVersion >= def.flexibleMin
}

export interface ApiVersionRange {
  readonly apiKey: number
  readonly minVersion: number
  readonly maxVersion: number
}

/** What an ApiVersions response lists, by api key. */
export function supportedApiVersions(): ApiVersionRange[] {
  return [...byKey.values()]
    .map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey)
}
