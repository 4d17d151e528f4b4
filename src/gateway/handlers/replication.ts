/**
 * The replication APIs between nodes and for clients:
 * - AlterPartition 2-3 (from a partition's leader to the controller, forwarded by
 *   ControllerChannel): an ISR change, applied by the controller when the leader and partition
 *   epochs are current (KIP-497).
 * - OffsetForLeaderEpoch 2-4 (KIP-320 clients, and followers): the end offset of a leader epoch
 *   in the leader's log, from its leader-epoch cache.
 */
import { errorCode, type KafkaErrorName } from '../../protocol/errors.js';
import { handler } from '../context.js';

export const alterPartition = handler(56, 2, 3, async (ctx, req) => {
  const topics = [];
  for (const t of req.topics) {
    const partitions = [];
    for (const p of t.partitions) {
      const isr = ctx.header.apiVersion >= 3 ? p.newIsrWithEpochs.map((b) => b.brokerId) : p.newIsr;
      const r = await ctx.broker.controller.alterPartition(
        { topicId: t.topicId, partition: p.partitionIndex, leaderId: req.brokerId, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr },
        { clientId: ctx.header.clientId ?? undefined },
      );
      if ('error' in r) {
        partitions.push({
          partitionIndex: p.partitionIndex,
          errorCode: errorCode(r.error as KafkaErrorName),
          leaderId: -1,
          leaderEpoch: -1,
          isr: [],
          leaderRecoveryState: 0,
          partitionEpoch: -1,
        });
      } else {
        partitions.push({
          partitionIndex: p.partitionIndex,
          errorCode: 0,
          leaderId: r.leader,
          leaderEpoch: r.leaderEpoch,
          isr: [...r.isr],
          leaderRecoveryState: 0,
          partitionEpoch: r.partitionEpoch,
        });
      }
    }
    topics.push({ topicName: t.topicName, topicId: t.topicId, partitions });
  }
  return { throttleTimeMs: 0, errorCode: 0, topics };
});

/**
 * OffsetForLeaderEpoch 2-4: for each partition, the largest leader epoch at or below the one
 * asked for and where it ends in the leader's log (its log end for the current epoch), so a
 * consumer (KIP-320) or a follower can tell whether its position lies on a truncated branch.
 * The leader answers; a stale or future current_leader_epoch is FENCED_LEADER_EPOCH or
 * UNKNOWN_LEADER_EPOCH, as for a fetch.
 */
export const offsetForLeaderEpoch = handler(23, 2, 4, async (ctx, req) => ({
  throttleTimeMs: 0,
  topics: await Promise.all(
    req.topics.map(async (t) => ({
      topic: t.topic,
      partitions: await Promise.all(
        t.partitions.map(async (p) => {
          const route = ctx.broker.partitions.route(t.topic, p.partition);
          const r = await ctx.broker.partitions.ask(route, { type: 'GetEpochEndOffset', leaderEpoch: p.leaderEpoch, currentLeaderEpoch: p.currentLeaderEpoch });
          if (!r.ok) return { errorCode: r.code, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
          return { errorCode: 0, partition: p.partition, leaderEpoch: r.value.leaderEpoch, endOffset: r.value.endOffset };
        }),
      ),
    })),
  ),
}));
