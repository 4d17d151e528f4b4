/**
 * The group coordinator actor's protocol: every message it answers, each paired with its reply
 * type (src/runtime/protocol.ts), answered by one dispatch table in coordinator-actor.ts. The
 * actor owns a `__consumer_offsets` partition, so it also answers every partition message
 * exactly as a partition actor does. Commands are imperative (`JoinGroup`, `CommitOffsets`),
 * queries are `GetX`/`DescribeX`. The main thread asks through `GroupCoordinatorClient`
 * (src/cluster/group-coordinator-client.ts).
 *
 * Byte fields cross threads by structured clone, which turns a Buffer into a plain Uint8Array:
 * receivers wrap them again before encoding.
 */
import type { MessageOf } from '../../src/runtime/protocol.js';
import type { PartitionProtocol } from '../partition/messages.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface ProtocolOffer {
  readonly name: string;
  readonly metadata: Uint8Array;
}

export interface JoinGroup {
  readonly type: 'JoinGroup';
  readonly groupId: string;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly ProtocolOffer[];
  readonly clientId: string;
  readonly clientHost: string;
  /** JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED and a member id (KIP-394). */
  readonly requireKnownMemberId: boolean;
  /**
   * JoinGroup v9+: the client understands SkipAssignment, so a static leader that restarts into a
   * Stable group can be told it is the leader without being asked to assign (KIP-814).
   */
  readonly supportSkippingAssignment: boolean;
  readonly reason: string | null;
}

export interface JoinGroupResult {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly skipAssignment: boolean;
  readonly memberId: string;
  readonly members: readonly { readonly memberId: string; readonly groupInstanceId: string | null; readonly metadata: Uint8Array }[];
}

export interface SyncGroup {
  readonly type: 'SyncGroup';
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Uint8Array }[];
}

export interface SyncGroupResult {
  readonly errorCode: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Uint8Array;
}

export interface Heartbeat {
  readonly type: 'Heartbeat';
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface LeaveGroup {
  readonly type: 'LeaveGroup';
  readonly groupId: string;
  readonly members: readonly { readonly memberId: string; readonly groupInstanceId: string | null; readonly reason: string | null }[];
}

export interface LeaveGroupResult {
  readonly errorCode: number;
  readonly members: readonly { readonly memberId: string; readonly groupInstanceId: string | null; readonly errorCode: number }[];
}

export interface OffsetCommitPartition {
  readonly partitionIndex: number;
  readonly committedOffset: number;
  readonly committedLeaderEpoch: number;
  readonly committedMetadata: string | null;
}

export interface CommitOffsets {
  readonly type: 'CommitOffsets';
  readonly groupId: string;
  /** -1 with an empty member id is a commit from outside the group (admin tools, manual assignment). */
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly topics: readonly { readonly name: string; readonly partitions: readonly OffsetCommitPartition[] }[];
}

export interface CommitOffsetsResult {
  readonly errorCode: number;
  readonly topics: readonly { readonly name: string; readonly partitions: readonly { readonly partitionIndex: number; readonly errorCode: number }[] }[];
}

export interface FetchOffsets {
  readonly type: 'FetchOffsets';
  readonly groupId: string;
  /** null asks for every partition the group has an offset for. */
  readonly topics: readonly { readonly name: string; readonly partitionIndexes: readonly number[] }[] | null;
}

export interface FetchedOffset {
  readonly partitionIndex: number;
  readonly committedOffset: number;
  readonly committedLeaderEpoch: number;
  readonly metadata: string | null;
  readonly errorCode: number;
}

export interface FetchOffsetsResult {
  readonly errorCode: number;
  readonly topics: readonly { readonly name: string; readonly partitions: readonly FetchedOffset[] }[];
}

export interface DeleteOffsets {
  readonly type: 'DeleteOffsets';
  readonly groupId: string;
  readonly topics: readonly { readonly name: string; readonly partitions: readonly number[] }[];
}

export interface DeleteOffsetsResult {
  readonly errorCode: number;
  readonly topics: readonly { readonly name: string; readonly partitions: readonly { readonly partitionIndex: number; readonly errorCode: number }[] }[];
}

export interface ListedGroup {
  readonly groupId: string;
  readonly protocolType: string;
  readonly groupState: GroupState;
}

export interface DescribedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly memberMetadata: Uint8Array;
  readonly memberAssignment: Uint8Array;
}

export interface DescribedGroup {
  readonly errorCode: number;
  readonly groupId: string;
  readonly groupState: GroupState;
  readonly protocolType: string;
  readonly protocolData: string;
  readonly members: readonly DescribedMember[];
}

/** The answer to Heartbeat. */
export interface HeartbeatResult {
  readonly errorCode: number;
}

/** The answer to DeleteGroups: one error code per group id, in the request's order. */
export interface DeleteGroupsResult {
  readonly errorCodes: readonly number[];
}

export interface ListGroupsResult {
  readonly groups: readonly ListedGroup[];
}

/** The answer to DescribeGroups: one entry per group id, in the request's order. */
export interface DescribeGroupsResult {
  readonly groups: readonly DescribedGroup[];
}

/**
 * The group messages of the coordinator's protocol, each with its reply. Every request here
 * carries its own `type` (the state machine takes the messages as they arrive).
 */
export type GroupProtocol = {
  JoinGroup: { request: JoinGroup; reply: JoinGroupResult };
  SyncGroup: { request: SyncGroup; reply: SyncGroupResult };
  Heartbeat: { request: Heartbeat; reply: HeartbeatResult };
  LeaveGroup: { request: LeaveGroup; reply: LeaveGroupResult };
  CommitOffsets: { request: CommitOffsets; reply: CommitOffsetsResult };
  FetchOffsets: { request: FetchOffsets; reply: FetchOffsetsResult };
  DeleteOffsets: { request: DeleteOffsets; reply: DeleteOffsetsResult };
  /** Removes empty groups and their offsets; answered with one error code per group. */
  DeleteGroups: { request: { readonly groupIds: readonly string[] }; reply: DeleteGroupsResult };
  ListGroups: { request: { readonly statesFilter: readonly string[]; readonly typesFilter: readonly string[] }; reply: ListGroupsResult };
  DescribeGroups: { request: { readonly groupIds: readonly string[] }; reply: DescribeGroupsResult };
  /**
   * Internal: runs the state machine's deadlines (session, rebalance, pending members) and, now
   * and then, offset expiry; the actor schedules it to itself every `groupLimits.tickIntervalMs`.
   */
  Tick: { request: {}; reply: void; internal: true };
};

export type GroupMessage = MessageOf<GroupProtocol>;

/**
 * The group coordinator's whole protocol: it owns a `__consumer_offsets` partition, so it also
 * answers every partition message exactly as a partition actor does. (Its address may therefore
 * stand where a partition's is expected.)
 */
export type GroupCoordinatorProtocol = PartitionProtocol & GroupProtocol;

export type CoordinatorMessage = MessageOf<GroupCoordinatorProtocol>;

/** The configuration the partition manager spawns a coordinator with. */
export interface GroupCoordinatorSettings {
  readonly groupMinSessionTimeoutMs: number;
  readonly groupMaxSessionTimeoutMs: number;
  readonly groupInitialRebalanceDelayMs: number;
  readonly groupMaxSize: number;
  readonly offsetsRetentionMs: number;
  readonly offsetMetadataMaxBytes: number;
}

export interface GroupCoordinatorState {
  readonly groups: number;
  readonly members: number;
  readonly offsets: number;
  readonly pendingJoins: number;
  readonly loadedRecords: number;
  readonly loadMs: number;
}
