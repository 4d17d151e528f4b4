/**
 * What `POST /api/actors/:id/send` may send to an actor: only the askable messages of the actor
 * kind's own protocol, named here once per kind (a run-time list the console shows). The lists are checked against the unions at compile
 * time both ways (no unknown type, none missing), so a new message type must be added here.
 *
 * JSON has no bytes: a field written `{"$bytes": "<base64>"}` becomes a Uint8Array on the way
 * in, and every Uint8Array in a reply goes out in the same form.
 */
import type { GroupProtocol } from '../../actors/group-coordinator/messages.js';
import type { PartitionProtocol } from '../../actors/partition/messages.js';
import type { AskableType } from '../runtime/protocol.js';

/** What the console may send: a protocol's askable types (internal ones, timer ticks, never). */
type PartitionType = AskableType<PartitionProtocol>;
type GroupType = AskableType<GroupProtocol>;

const partitionTypes = [
  'Append',
  'Read',
  'GetOffsets',
  'GetOffsetForTimestamp',
  'GetMaxTimestampOffset',
  'DeleteRecordsBefore',
  'TruncateTo',
  'SetLeaderEpoch',
  'SetTopicConfig',
  'SetFailurePoint',
  'Maintain',
  'SetRole',
  'ReplicaFetch',
  'AppendReplica',
  'TruncateOnDivergence',
  'ResetTo',
  'GetReplicaStatus',
  'GetEpochEndOffset',
] as const satisfies readonly PartitionType[];

const groupTypes = [
  'JoinGroup',
  'SyncGroup',
  'Heartbeat',
  'LeaveGroup',
  'CommitOffsets',
  'FetchOffsets',
  'DeleteOffsets',
  'DeleteGroups',
  'ListGroups',
  'DescribeGroups',
] as const satisfies readonly GroupType[];

// Compile-time: every type of each union is listed.
type Missing<All extends string, Listed extends string> = Exclude<All, Listed>;
const partitionComplete: Missing<PartitionType, (typeof partitionTypes)[number]> extends never ? true : false = true;
const groupComplete: Missing<GroupType, (typeof groupTypes)[number]> extends never ? true : false = true;
void partitionComplete;
void groupComplete;

/** Message types each actor kind accepts. */
export const messageTypesByKind: ReadonlyMap<string, readonly string[]> = new Map<string, readonly string[]>([
  ['partition', partitionTypes],
  ['group-coordinator', [...partitionTypes, ...groupTypes]],
]);

/** Turns `{"$bytes": base64}` leaves into Uint8Array (depth-bounded; the body is already size-bounded). */
export function fromJsonMessage(v: unknown, depth = 0): unknown {
  if (depth > 32) throw new Error('message nests deeper than 32 levels');
  if (Array.isArray(v)) return v.map((x) => fromJsonMessage(x, depth + 1));
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === '$bytes' && typeof o.$bytes === 'string') return new Uint8Array(Buffer.from(o.$bytes, 'base64'));
  return Object.fromEntries(keys.map((k) => [k, fromJsonMessage(o[k], depth + 1)]));
}

/** JSON.stringify replacer: bytes as `{"$bytes": base64}`. */
export function bytesReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return { $bytes: Buffer.from((value as { data: number[] }).data).toString('base64') };
  }
  return value;
}
