/**
 * Consumer groups as the console and /metrics see them (main thread): asks this node's group
 * coordinator actors (one per `__consumer_offsets` partition it leads) for their groups,
 * members and committed offsets, and computes lag against each partition's high watermark, as
 * kafka_exporter and `groups describe` do (lag = highWatermark - committed offset; a partition
 * with no committed offset has no lag).
 *
 *   GET /api/groups        every group with state, members and total lag
 *   GET /api/groups/:id    one group: members with assignments, offsets and lag per partition
 */
import { groupPartition, OFFSETS_TOPIC } from '../../actors/group-coordinator/limits.js';
import type { DescribedGroup, FetchOffsetsResult, ListedGroup } from '../../actors/group-coordinator/messages.js';
import { partitionActorId } from '../cluster/routing-table.js';
import type { BrookNode } from '../node.js';
import { decodeConsumerProtocolAssignment } from '../protocol/index.js';
import { HttpError, type Route } from './http-router.js';
import { partitionStates } from './topic-routes.js';

export const groupRoutes: Route[] = [
  { method: 'GET', pattern: /^\/api\/groups$/, run: async ({ node }) => listGroupsWithLag(node) },
  { method: 'GET', pattern: /^\/api\/groups\/([^/]+)$/, run: async ({ node, params }) => describeGroup(node, params[0]!) },
];

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly committedOffset: number;
  readonly highWatermark: number | null;
  /** null when the partition has no committed offset or is not on this node. */
  readonly lag: number | null;
  readonly memberId: string | null;
}

export interface GroupView {
  readonly groupId: string;
  readonly state: string;
  readonly protocolType: string;
  readonly protocol: string;
  readonly coordinator: string;
  readonly members: { memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; assignment: { topic: string; partitions: number[] }[] }[];
  readonly offsets: PartitionLag[];
  readonly totalLag: number;
}

function coordinatorIds(node: BrookNode): string[] {
  const t = node.controller.image.topicsByName.get(OFFSETS_TOPIC);
  if (!t) return [];
  return t.partitions.filter((p) => p.leader === node.config.nodeId).map((p) => partitionActorId(OFFSETS_TOPIC, p.partition));
}

function coordinatorOf(node: BrookNode, groupId: string): string {
  const t = node.controller.image.topicsByName.get(OFFSETS_TOPIC);
  if (!t || t.partitions.length === 0) throw new HttpError(503, `${OFFSETS_TOPIC} does not exist yet`);
  return partitionActorId(OFFSETS_TOPIC, groupPartition(groupId, t.partitions.length));
}

export async function listGroups(node: BrookNode): Promise<ListedGroup[]> {
  const lists = await Promise.all(coordinatorIds(node).map((id) =>
    node.supervisor.ask<{ groups: ListedGroup[] }>(id, { type: 'ListGroups', statesFilter: [], typesFilter: [] }).then((r) => r.groups, () => [] as ListedGroup[])));
  return lists.flat().sort((a, b) => a.groupId.localeCompare(b.groupId));
}

function decodeAssignment(bytes: Uint8Array): { topic: string; partitions: number[] }[] {
  if (bytes.length === 0) return [];
  try {
    return decodeConsumerProtocolAssignment(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)).value.assignedPartitions
      .map((a) => ({ topic: a.topic, partitions: [...a.partitions].sort((x, y) => x - y) }));
  } catch {
    return [];
  }
}

/** One group with its members, assignments, committed offsets and lag; `states` may be shared across groups. */
export async function groupWithLag(node: BrookNode, groupId: string, states?: Awaited<ReturnType<typeof partitionStates>>): Promise<GroupView> {
  const coordinator = coordinatorOf(node, groupId);
  const [described, fetched, st] = await Promise.all([
    node.supervisor.ask<{ groups: DescribedGroup[] }>(coordinator, { type: 'DescribeGroups', groupIds: [groupId] }),
    node.supervisor.ask<FetchOffsetsResult>(coordinator, { type: 'FetchOffsets', groupId, topics: null }),
    states ?? partitionStates(node),
  ]);
  const g = described.groups[0]!;
  const members = g.members.map((m) => ({
    memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
    assignment: g.protocolType === 'consumer' ? decodeAssignment(m.memberAssignment) : [],
  }));
  const owner = new Map<string, string>();
  for (const m of members) for (const a of m.assignment) for (const p of a.partitions) owner.set(`${a.topic}:${p}`, m.memberId);
  const offsets: PartitionLag[] = [];
  for (const t of fetched.topics) {
    for (const p of t.partitions) {
      if (p.committedOffset < 0) continue;
      const hw = st.get(partitionActorId(t.name, p.partitionIndex))?.highWatermark ?? null;
      offsets.push({
        topic: t.name, partition: p.partitionIndex, committedOffset: p.committedOffset, highWatermark: hw,
        lag: hw === null ? null : Math.max(0, hw - p.committedOffset), memberId: owner.get(`${t.name}:${p.partitionIndex}`) ?? null,
      });
    }
  }
  offsets.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return {
    groupId, state: g.groupState, protocolType: g.protocolType, protocol: g.protocolData, coordinator, members, offsets,
    totalLag: offsets.reduce((s, o) => s + (o.lag ?? 0), 0),
  };
}

/** Every group of this node's coordinators, with lag; partition states are read once. */
export async function listGroupsWithLag(node: BrookNode): Promise<GroupView[]> {
  const [groups, states] = await Promise.all([listGroups(node), partitionStates(node)]);
  const out = await Promise.all(groups.map((g) => groupWithLag(node, g.groupId, states).catch(() => null)));
  return out.filter((g): g is GroupView => g !== null);
}

async function describeGroup(node: BrookNode, groupId: string): Promise<GroupView> {
  const g = await groupWithLag(node, groupId);
  if (g.state === 'Dead' && g.offsets.length === 0) throw new HttpError(404, `no group ${groupId}`);
  return g;
}
