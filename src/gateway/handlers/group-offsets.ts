/**
 * Committed offsets, forwarded to the group's coordinator actor: OffsetCommit 0-9,
 * OffsetFetch 0-9 (several groups per request from v8) and OffsetDelete 0. Kafka 4.0 dropped
 * OffsetCommit 0-1 and OffsetFetch 0 (KIP-896; before, they read and wrote ZooKeeper); Brook
 * keeps them, served by the coordinator like v1/v2 (a v0 commit carries no generation or member,
 * so it is a simple commit), because clients that pin old versions still send them. Partitions of topics this node does not know are answered
 * UNKNOWN_TOPIC_OR_PARTITION here, as Kafka's request handler does, before the coordinator.
 */
import { groupLimits } from '../../../actors/group-coordinator/limits.js';
import type { CommitOffsets, FetchOffsets, FetchOffsetsResult, OffsetCommitPartition } from '../../../actors/group-coordinator/messages.js';
import { OFFSETS_TOPIC } from '../../cluster/offsets-topic.js';
import { errorCode } from '../../protocol/errors.js';
import type { OffsetFetchResponseInput } from '../../protocol/messages/offset-fetch.js';
import { handler, type RequestContext } from '../context.js';

function partitionExists(ctx: RequestContext, topic: string, partition: number): boolean {
  const t = ctx.broker.controller.image.topicsByName.get(topic);
  return t !== undefined && partition >= 0 && partition < t.partitions.length;
}

/** Kafka's offsets.commit.timeout.ms: how long a commit waits for the offsets partition's ISR. */
const OFFSETS_COMMIT_TIMEOUT_MS = 5_000;

/**
 * Waits until what the group's coordinator has written is on every in-sync replica of its
 * `__consumer_offsets` partition, as Kafka appends commits with acks=all: a commit acknowledged
 * before a failover survives it. 0 once replicated (or not replicated at all), else the error.
 */
async function replicated(ctx: RequestContext, groupId: string): Promise<number> {
  const coordinator = ctx.broker.groups.route(groupId);
  if (!coordinator.ok) return 0;
  const partitions = ctx.broker.partitions;
  const route = partitions.route(OFFSETS_TOPIC, coordinator.partition);
  if (!route.ok || route.partition.replicas.length <= 1) return 0;
  const offsets = await partitions.ask(route, { type: 'GetOffsets' });
  if (!offsets.ok) return errorCode('NOT_COORDINATOR');
  const outcome = await partitions.waitForCommit(route, offsets.value.logEndOffset, offsets.value.leaderEpoch, OFFSETS_COMMIT_TIMEOUT_MS);
  if (outcome === null) return 0;
  if (outcome === 'NOT_LEADER_OR_FOLLOWER') return errorCode('NOT_COORDINATOR');
  if (outcome === 'NOT_ENOUGH_REPLICAS_AFTER_APPEND') return errorCode('COORDINATOR_NOT_AVAILABLE');
  return errorCode('REQUEST_TIMED_OUT');
}

export const offsetCommit = handler(8, 0, 9, async (ctx, req) => {
  const v = ctx.header.apiVersion;
  const unknown = errorCode('UNKNOWN_TOPIC_OR_PARTITION');
  const count = req.topics.reduce((n, t) => n + t.partitions.length, 0);
  const known = req.topics
    .map((t) => ({ name: t.name, partitions: t.partitions.filter((p) => partitionExists(ctx, t.name, p.partitionIndex)) }))
    .filter((t) => t.partitions.length > 0);
  const msg: CommitOffsets = {
    type: 'CommitOffsets',
    groupId: req.groupId,
    generationId: req.generationIdOrMemberEpoch,
    memberId: req.memberId,
    groupInstanceId: v >= 7 ? req.groupInstanceId : null,
    topics: known.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p): OffsetCommitPartition => ({
        partitionIndex: p.partitionIndex,
        committedOffset: p.committedOffset,
        committedLeaderEpoch: v >= 6 ? p.committedLeaderEpoch : -1,
        committedMetadata: p.committedMetadata,
      })),
    })),
  };
  let failed = count > groupLimits.commitPartitionsMax ? errorCode('INVALID_REQUEST') : 0;
  const answers = new Map<string, number>();
  if (failed === 0 && known.length > 0) {
    const r = await ctx.broker.groups.ask(req.groupId, msg);
    if (!r.ok) failed = r.code;
    else {
      for (const t of r.value.topics) for (const p of t.partitions) answers.set(`${t.name}\u0000${p.partitionIndex}`, p.errorCode);
      failed = await replicated(ctx, req.groupId);
    }
  }
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: failed || (answers.get(`${t.name}\u0000${p.partitionIndex}`) ?? unknown),
      })),
    })),
  };
});

type FetchedTopics = FetchOffsetsResult['topics'];

async function fetchGroup(ctx: RequestContext, groupId: string, topics: FetchOffsets['topics']): Promise<FetchOffsetsResult> {
  const r = await ctx.broker.groups.ask(groupId, { type: 'FetchOffsets', groupId, topics });
  if (r.ok) return r.value;
  const failed: FetchedTopics = (topics ?? []).map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: r.code })),
  }));
  return { errorCode: r.code, topics: failed };
}

export const offsetFetch = handler(9, 0, 9, async (ctx, req): Promise<OffsetFetchResponseInput> => {
  const v = ctx.header.apiVersion;
  if (v >= 8) {
    const groups = await Promise.all(
      req.groups.map(async (g) => {
        const r = await fetchGroup(ctx, g.groupId, g.topics);
        return { groupId: g.groupId, errorCode: r.errorCode, topics: r.errorCode ? [] : r.topics.map((t) => ({ name: t.name, partitions: [...t.partitions] })) };
      }),
    );
    return { throttleTimeMs: 0, groups };
  }
  // v0-1 have no "all topics" form; a null topic list starts at v2.
  const r = await fetchGroup(ctx, req.groupId, v >= 2 ? req.topics : (req.topics ?? []));
  // Before v2 there is no top-level error: each partition carries it.
  const topics = v >= 2 && r.errorCode ? [] : r.topics.map((t) => ({ name: t.name, partitions: [...t.partitions] }));
  return { throttleTimeMs: 0, errorCode: r.errorCode, topics };
});

export const offsetDelete = handler(47, 0, 0, async (ctx, req) => {
  const r = await ctx.broker.groups.ask(req.groupId, {
    type: 'DeleteOffsets',
    groupId: req.groupId,
    topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
  });
  if (!r.ok) return { errorCode: r.code, throttleTimeMs: 0, topics: [] };
  const unknown = errorCode('UNKNOWN_TOPIC_OR_PARTITION');
  return {
    errorCode: r.value.errorCode,
    throttleTimeMs: 0,
    topics: r.value.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: p.errorCode === 0 && !partitionExists(ctx, t.name, p.partitionIndex) ? unknown : p.errorCode,
      })),
    })),
  };
});
