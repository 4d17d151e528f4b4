/**
 * The api versions the client will use: for each api the lowest version whose request shape the
 * client code fills in, and a fixed preferred maximum. Per connection the client uses the
 * highest version that both this table and the broker's ApiVersions answer allow.
 *
 * Why the maxima are where they are: OffsetCommit stops at 8 and OffsetFetch at 7 because later
 * versions belong to the KIP-848 consumer protocol (member epochs) or batch many groups in one
 * request, which the classic group protocol here does not need; ListGroups stops at 4 because 5
 * only adds a type filter; every other api takes the newest version Brook's codec knows.
 */
import type { ApiKey } from '../protocol/index.js';

export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

export const CLIENT_API_VERSIONS: Readonly<Partial<Record<ApiKey, VersionRange>>> = {
  0: { min: 3, max: 11 }, // Produce: v3 is the first with record batches (magic 2).
  1: { min: 4, max: 15 }, // Fetch: v4 adds isolation level; v13+ addresses topics by id.
  2: { min: 1, max: 9 }, // ListOffsets
  3: { min: 1, max: 12 }, // Metadata
  8: { min: 2, max: 8 }, // OffsetCommit
  9: { min: 1, max: 7 }, // OffsetFetch
  10: { min: 0, max: 6 }, // FindCoordinator: v4+ batches coordinator keys.
  11: { min: 2, max: 9 }, // JoinGroup
  12: { min: 0, max: 4 }, // Heartbeat
  13: { min: 0, max: 5 }, // LeaveGroup: v3+ names members.
  14: { min: 0, max: 5 }, // SyncGroup
  15: { min: 0, max: 5 }, // DescribeGroups
  16: { min: 0, max: 4 }, // ListGroups
  18: { min: 0, max: 3 }, // ApiVersions
  19: { min: 2, max: 7 }, // CreateTopics
  20: { min: 1, max: 6 }, // DeleteTopics
  21: { min: 0, max: 2 }, // DeleteRecords
  22: { min: 0, max: 5 }, // InitProducerId
  32: { min: 1, max: 4 }, // DescribeConfigs
  33: { min: 0, max: 2 }, // AlterConfigs
  37: { min: 0, max: 3 }, // CreatePartitions
  42: { min: 0, max: 2 }, // DeleteGroups
  44: { min: 0, max: 1 }, // IncrementalAlterConfigs
  47: { min: 0, max: 0 }, // OffsetDelete
  60: { min: 0, max: 1 }, // DescribeCluster
  23: { min: 2, max: 4 }, // OffsetForLeaderEpoch: where a leader epoch ends (KIP-320)
  43: { min: 0, max: 2 }, // ElectLeaders
  45: { min: 0, max: 0 }, // AlterPartitionReassignments
  46: { min: 0, max: 0 }, // ListPartitionReassignments
  56: { min: 2, max: 3 }, // AlterPartition: leaders ask the controller to change an ISR
  67: { min: 0, max: 0 }, // AllocateProducerIds: nodes ask the controller for producer-id blocks
};

/** The version to use given the broker's range, or -1 when the ranges do not overlap. */
export function negotiateVersion(apiKey: ApiKey, brokerMin: number, brokerMax: number): number {
  const ours = CLIENT_API_VERSIONS[apiKey];
  if (ours === undefined) return -1;
  const v = Math.min(ours.max, brokerMax);
  return v >= Math.max(ours.min, brokerMin) ? v : -1;
}
