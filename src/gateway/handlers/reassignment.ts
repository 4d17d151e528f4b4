/**
 * Partition reassignment and leader election (KIP-455, KIP-460), served by the controller (a
 * node that is not forwards, as for the topic admin apis):
 * - AlterPartitionReassignments 0: starts a reassignment of each partition to its target
 *   replicas, or cancels it (replicas null); each partition's outcome in its own error code.
 * - ListPartitionReassignments 0: the reassignments under way (replicas, adding, removing), of
 *   the partitions named or of all.
 * - ElectLeaders 0-2: a preferred (0) or unclean (1) election for each partition named, or for
 *   every partition (topic_partitions null, which answers only the partitions where one was
 *   needed); v0 knows only preferred elections.
 * A request-level failure (no controller, the metadata store unreachable) is the top-level
 * error code where the version has one, else every partition's.
 */
import type { PartitionResult } from '../../cluster/controller.js';
import { errorCode, type KafkaErrorName } from '../../protocol/errors.js';
import { handler } from '../context.js';
import { callerOf } from './admin-configs.js';

const codeOf = (error: string) => errorCode(error as KafkaErrorName);

/** Results grouped by topic, topics in order of first appearance. */
function byTopic<T>(results: readonly PartitionResult[], shape: (r: PartitionResult) => T): { topic: string; partitions: T[] }[] {
  const out = new Map<string, T[]>();
  for (const r of results) {
    const list = out.get(r.topic) ?? [];
    list.push(shape(r));
    out.set(r.topic, list);
  }
  return [...out].map(([topic, partitions]) => ({ topic, partitions }));
}

export const alterPartitionReassignments = handler(45, 0, 0, async (ctx, req) => {
  const changes = req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas })));
  const r = await ctx.broker.controller.alterPartitionReassignments(changes, callerOf(ctx));
  if ('error' in r) return { throttleTimeMs: 0, errorCode: codeOf(r.error), errorMessage: r.message, responses: [] };
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    responses: byTopic(r, (p) => ({ partitionIndex: p.partition, errorCode: p.error ? codeOf(p.error.error) : 0, errorMessage: p.error?.message ?? null })).map((t) => ({
      name: t.topic,
      partitions: t.partitions,
    })),
  };
});

export const listPartitionReassignments = handler(46, 0, 0, async (ctx, req) => {
  const wanted = req.topics === null ? null : req.topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes }));
  const r = await ctx.broker.controller.listPartitionReassignments(wanted);
  if ('error' in r) return { throttleTimeMs: 0, errorCode: codeOf(r.error), errorMessage: r.message, topics: [] };
  const topics = new Map<string, { partitionIndex: number; replicas: number[]; addingReplicas: number[]; removingReplicas: number[] }[]>();
  for (const x of r) {
    const list = topics.get(x.topic) ?? [];
    list.push({ partitionIndex: x.partition, replicas: [...x.replicas], addingReplicas: [...x.addingReplicas], removingReplicas: [...x.removingReplicas] });
    topics.set(x.topic, list);
  }
  return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, topics: [...topics].map(([name, partitions]) => ({ name, partitions })) };
});

const PREFERRED = 0;
const UNCLEAN = 1;

export const electLeaders = handler(43, 0, 2, async (ctx, req) => {
  const version = ctx.header.apiVersion;
  const type = version === 0 ? PREFERRED : req.electionType;
  const wanted = req.topicPartitions === null ? null : req.topicPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions }));
  const everyPartition = (code: number, message: string) => ({
    throttleTimeMs: 0,
    errorCode: 0,
    replicaElectionResults: (wanted ?? []).map((t) => ({
      topic: t.topic,
      partitionResult: t.partitions.map((partitionId) => ({ partitionId, errorCode: code, errorMessage: message })),
    })),
  });
  if (type !== PREFERRED && type !== UNCLEAN) {
    const message = `unknown election type ${type}; expected 0 (preferred) or 1 (unclean)`;
    return version >= 1 ? { throttleTimeMs: 0, errorCode: codeOf('INVALID_REQUEST'), replicaElectionResults: [] } : everyPartition(codeOf('INVALID_REQUEST'), message);
  }
  const r = await ctx.broker.controller.electLeaders(type === PREFERRED ? 'preferred' : 'unclean', wanted, callerOf(ctx));
  if ('error' in r) {
    return version >= 1 ? { throttleTimeMs: 0, errorCode: codeOf(r.error), replicaElectionResults: [] } : everyPartition(codeOf(r.error), r.message);
  }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    replicaElectionResults: byTopic(r, (p) => ({ partitionId: p.partition, errorCode: p.error ? codeOf(p.error.error) : 0, errorMessage: p.error?.message ?? null })).map((t) => ({
      topic: t.topic,
      partitionResult: t.partitions,
    })),
  };
});

export const reassignmentHandlers = [alterPartitionReassignments, listPartitionReassignments, electLeaders];
