/**
 * Offset lookups and group offset commits shared by the Consumer and the Admin: ListOffsets
 * routed to each partition's leader, and OffsetFetch / OffsetCommit sent to a group's
 * coordinator (found, cached and re-found on NOT_COORDINATOR). Stateless beyond the Cluster.
 */
import { Cluster } from './cluster.js';
import { KafkaProtocolError } from './errors.js';

/** ListOffsets' special timestamps. */
export const EARLIEST_TIMESTAMP = -2;
export const LATEST_TIMESTAMP = -1;

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface PartitionOffset extends TopicPartition {
  offset: number;
  timestamp: number;
}

const NOT_COORDINATOR_CODES = new Set([14, 15, 16]); // COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR

/**
 * The offset of each partition at `timestamp` (EARLIEST_TIMESTAMP, LATEST_TIMESTAMP or a time in
 * ms: the first offset whose timestamp is at or after it, -1 when none is).
 */
export async function listOffsets(cluster: Cluster, partitions: TopicPartition[], timestamp: number, isolationLevel = 0): Promise<PartitionOffset[]> {
  const topics = [...new Set(partitions.map((p) => p.topic))];
  return cluster.withRetry('ListOffsets', async (attempt) => {
    await cluster.waitForTopics(topics, cluster.requestTimeoutMs);
    if (attempt > 0) await cluster.refresh(topics);
    const byLeader = new Map<number, TopicPartition[]>();
    for (const tp of partitions) {
      const leader = cluster.topic(tp.topic)?.partitions[tp.partition]?.leader ?? -1;
      if (leader < 0) throw new KafkaProtocolError(3, `ListOffsets: no leader for ${tp.topic}-${tp.partition}`);
      let l = byLeader.get(leader);
      if (l === undefined) byLeader.set(leader, (l = []));
      l.push(tp);
    }
    const results = await Promise.all(
      [...byLeader].map(async ([leader, tps]) => {
        const conn = await cluster.connection(leader);
        const byTopic = new Map<string, number[]>();
        for (const tp of tps) {
          let l = byTopic.get(tp.topic);
          if (l === undefined) byTopic.set(tp.topic, (l = []));
          l.push(tp.partition);
        }
        const res = await conn.request(2, {
          replicaId: -1,
          isolationLevel,
          topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) })),
          timeoutMs: cluster.requestTimeoutMs,
        });
        const out: PartitionOffset[] = [];
        for (const t of res.topics) {
          for (const p of t.partitions) {
            if (p.errorCode !== 0) {
              cluster.invalidate(t.name);
              throw new KafkaProtocolError(p.errorCode, `ListOffsets ${t.name}-${p.partitionIndex}`);
            }
            out.push({ topic: t.name, partition: p.partitionIndex, offset: p.offset, timestamp: p.timestamp });
          }
        }
        return out;
      }),
    );
    return results.flat();
  });
}

/** Group coordinators by group id, cached until a request says the coordinator moved. */
export class CoordinatorCache {
  private readonly nodes = new Map<string, number>();
  constructor(private readonly cluster: Cluster) {}

  async nodeFor(groupId: string): Promise<number> {
    const cached = this.nodes.get(groupId);
    if (cached !== undefined) return cached;
    const nodeId = await this.cluster.findCoordinator(groupId);
    this.nodes.set(groupId, nodeId);
    return nodeId;
  }

  /** Sends `fn` to the coordinator; on a coordinator error or a dead connection, forgets it and retries. */
  async request<T>(groupId: string, what: string, fn: (conn: import('./connection.js').Connection) => Promise<T>): Promise<T> {
    return this.cluster.withRetry(what, async () => {
      const nodeId = await this.nodeFor(groupId);
      try {
        const conn = await this.cluster.connection(nodeId, 'group');
        return await fn(conn);
      } catch (err) {
        if (!(err instanceof KafkaProtocolError) || NOT_COORDINATOR_CODES.has(err.code)) this.nodes.delete(groupId);
        throw err;
      }
    });
  }

  forget(groupId: string): void {
    this.nodes.delete(groupId);
  }
}

export function isCoordinatorError(code: number): boolean {
  return NOT_COORDINATOR_CODES.has(code);
}

export interface CommittedOffset extends TopicPartition {
  /** -1 when the group has no committed offset for the partition. */
  offset: number;
  metadata: string | null;
}

/** The group's committed offsets for `partitions`, or for every partition it has committed when null. */
export async function fetchCommittedOffsets(coordinators: CoordinatorCache, groupId: string, partitions: TopicPartition[] | null): Promise<CommittedOffset[]> {
  return coordinators.request(groupId, 'OffsetFetch', async (conn) => {
    let topics: { name: string; partitionIndexes: number[] }[] | null = null;
    if (partitions !== null) {
      const byTopic = new Map<string, number[]>();
      for (const tp of partitions) {
        let l = byTopic.get(tp.topic);
        if (l === undefined) byTopic.set(tp.topic, (l = []));
        l.push(tp.partition);
      }
      topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
    }
    const res = await conn.request(9, { groupId, topics, requireStable: true });
    if (res.errorCode !== 0) throw new KafkaProtocolError(res.errorCode, `OffsetFetch ${groupId}`);
    const out: CommittedOffset[] = [];
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) throw new KafkaProtocolError(p.errorCode, `OffsetFetch ${groupId} ${t.name}-${p.partitionIndex}`);
        out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata });
      }
    }
    return out;
  });
}

export interface CommitOptions {
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
}

/** Commits offsets for a group (generation -1 and an empty member id for a group with no members, as admin tools do). */
export async function commitOffsets(
  coordinators: CoordinatorCache,
  groupId: string,
  offsets: { topic: string; partition: number; offset: number; metadata?: string | null }[],
  opts: CommitOptions,
): Promise<void> {
  if (offsets.length === 0) return;
  await coordinators.request(groupId, 'OffsetCommit', async (conn) => {
    const byTopic = new Map<
      string,
      { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; commitTimestamp: number; committedMetadata: string | null }[]
    >();
    for (const o of offsets) {
      let l = byTopic.get(o.topic);
      if (l === undefined) byTopic.set(o.topic, (l = []));
      l.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: o.metadata ?? null });
    }
    const res = await conn.request(8, {
      groupId,
      generationIdOrMemberEpoch: opts.generationId,
      memberId: opts.memberId,
      groupInstanceId: opts.groupInstanceId ?? null,
      retentionTimeMs: -1,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    });
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) throw new KafkaProtocolError(p.errorCode, `OffsetCommit ${groupId} ${t.name}-${p.partitionIndex}`);
      }
    }
  });
}
