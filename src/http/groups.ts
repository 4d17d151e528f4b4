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
import type { PartitionState } from '../../actors/partition/messages.js';
import type { ListedGroup } from '../../actors/group-coordinator/messages.js';
import { PartitionClient } from '../cluster/partition-client.js';
import { OFFSETS_TOPIC } from '../cluster/offsets-topic.js';
import { decodeConsumerProtocolAssignment } from '../protocol/index.js';
import { HttpError, replyOrThrow, type HttpNode, type Route } from './http-router.js';

/** What the group views use of the node: the two clients (node-probe passes the same). */
export type GroupViewNode = Pick<HttpNode, 'partitions' | 'groups'>;

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

export async function listGroups(node: GroupViewNode, include: (coordinatorId: string) => boolean = () => true): Promise<ListedGroup[]> {
  const lists = await Promise.all(
    node.groups
      .local()
      .filter((address) => include(address.actorId))
      .map(async (address) => {
        const r = await node.groups.askAt(address, { type: 'ListGroups', statesFilter: [], typesFilter: [] });
        return r.ok ? r.value.groups : [];
      }),
  );
  return lists.flat().sort((a, b) => a.groupId.localeCompare(b.groupId));
}

function decodeAssignment(bytes: Uint8Array): { topic: string; partitions: number[] }[] {
  if (bytes.length === 0) return [];
  try {
    return decodeConsumerProtocolAssignment(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)).value.assignedPartitions.map((a) => ({
      topic: a.topic,
      partitions: [...a.partitions].sort((x, y) => x - y),
    }));
  } catch {
    return [];
  }
}

/** One group with its members, assignments, committed offsets and lag; `states` may be shared across groups. */
export async function groupWithLag(node: GroupViewNode, groupId: string, states?: ReadonlyMap<string, PartitionState>): Promise<GroupView> {
  const route = node.groups.route(groupId);
  if (!route.ok) throw new HttpError(503, route.error === 'NOT_COORDINATOR' ? `group ${groupId} is coordinated by another node` : `${OFFSETS_TOPIC} does not exist yet`);
  const coordinator = route.address.actorId;
  const [described, fetched, st] = await Promise.all([
    node.groups.askAt(route.address, { type: 'DescribeGroups', groupIds: [groupId] }).then(replyOrThrow),
    node.groups.askAt(route.address, { type: 'FetchOffsets', groupId, topics: null }).then(replyOrThrow),
    states ?? node.partitions.localStates(),
  ]);
  const g = described.groups[0]!;
  const members = g.members.map((m) => ({
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    assignment: g.protocolType === 'consumer' ? decodeAssignment(m.memberAssignment) : [],
  }));
  const owner = new Map<string, string>();
  for (const m of members) for (const a of m.assignment) for (const p of a.partitions) owner.set(`${a.topic}:${p}`, m.memberId);
  const offsets: PartitionLag[] = [];
  for (const t of fetched.topics) {
    for (const p of t.partitions) {
      if (p.committedOffset < 0) continue;
      const hw = PartitionClient.stateIn(st, t.name, p.partitionIndex)?.highWatermark ?? null;
      offsets.push({
        topic: t.name,
        partition: p.partitionIndex,
        committedOffset: p.committedOffset,
        highWatermark: hw,
        lag: hw === null ? null : Math.max(0, hw - p.committedOffset),
        memberId: owner.get(`${t.name}:${p.partitionIndex}`) ?? null,
      });
    }
  }
  offsets.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return {
    groupId,
    state: g.groupState,
    protocolType: g.protocolType,
    protocol: g.protocolData,
    coordinator,
    members,
    offsets,
    totalLag: offsets.reduce((s, o) => s + (o.lag ?? 0), 0),
  };
}

/**
 * Every group of this node's coordinators (those `include` accepts: a scrape skips passivated
 * ones rather than wake them), with lag; partition states are read once.
 */
export async function listGroupsWithLag(node: GroupViewNode, include?: (coordinatorId: string) => boolean): Promise<GroupView[]> {
  const [groups, states] = await Promise.all([listGroups(node, include), node.partitions.localStates()]);
  const out = await Promise.all(groups.map((g) => groupWithLag(node, g.groupId, states).catch(() => null)));
  return out.filter((g): g is GroupView => g !== null);
}

async function describeGroup(node: GroupViewNode, groupId: string): Promise<GroupView> {
  const g = await groupWithLag(node, groupId);
  if (g.state === 'Dead' && g.offsets.length === 0) throw new HttpError(404, `no group ${groupId}`);
  return g;
}
