/**
 * The gateway's dispatch table: one handler per api, each with the versions Brook advertises.
 * Minimum versions follow KIP-896 (the oldest versions Kafka 4.0 still serves), kept wide enough
 * for librdkafka 2.0.2, which turns features on only when its exact low versions are in range.
 */
import type { HandlerEntry } from '../context.js';
import { adminHandlers } from './admin.js';
import { apiVersionsHandler, type AdvertisedApi } from './api-versions.js';
import { fetch } from './fetch.js';
import { findCoordinator } from './find-coordinator.js';
import { deleteGroups, describeGroups, listGroups } from './group-admin.js';
import { heartbeat, joinGroup, leaveGroup, syncGroup } from './group-membership.js';
import { offsetCommit, offsetDelete, offsetFetch } from './group-offsets.js';
import { allocateProducerIds, initProducerId } from './init-producer-id.js';
import { listOffsets } from './list-offsets.js';
import { describeCluster, metadata } from './metadata.js';
import { produce } from './produce.js';
import { reassignmentHandlers } from './reassignment.js';
import { alterPartition, offsetForLeaderEpoch } from './replication.js';

const apiVersions = apiVersionsHandler(() => supportedApiVersions());

const entries: HandlerEntry[] = [
  apiVersions,
  metadata,
  describeCluster,
  produce,
  fetch,
  listOffsets,
  initProducerId,
  allocateProducerIds,
  alterPartition,
  offsetForLeaderEpoch,
  ...adminHandlers,
  ...reassignmentHandlers,
  findCoordinator,
  joinGroup,
  syncGroup,
  heartbeat,
  leaveGroup,
  offsetCommit,
  offsetFetch,
  offsetDelete,
  listGroups,
  describeGroups,
  deleteGroups,
] as HandlerEntry[];

const table = new Map<number, HandlerEntry>(entries.map((e) => [e.apiKey, e]));

export function handlerFor(apiKey: number): HandlerEntry | undefined {
  return table.get(apiKey);
}

/**
 * Produce is advertised from v0 though only v3 and up are served (a v0-2 request closes the
 * connection), as Kafka 4.0 does (KAFKA-18659): librdkafka before 2.10 compresses with gzip,
 * snappy or lz4 only when the broker's Produce range includes v0, and otherwise silently sends
 * its batches uncompressed. Clients use the highest version both sides know, so none picks v0-2.
 */
const advertisedMinVersion = new Map<number, number>([[0, 0]]);

export function supportedApiVersions(): AdvertisedApi[] {
  return [...table.values()]
    .map((e) => ({ apiKey: e.apiKey, minVersion: advertisedMinVersion.get(e.apiKey) ?? e.minVersion, maxVersion: e.maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey);
}
