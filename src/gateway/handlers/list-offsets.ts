/**
 * ListOffsets 1-9: the earliest (-2), latest (-1), max-timestamp (-3) offset of a partition, or
 * the first offset at or after a timestamp, from the partition's leader. Version 10's layout is
 * still unstable upstream. current_leader_epoch (v4+) is checked as Fetch checks it.
 */
import { errorCode } from '../../protocol/errors.js';
import type { ListOffsetsResponseInput } from '../../protocol/messages/list-offsets.js';
import { handler, type RequestContext } from '../context.js';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;

export const listOffsets = handler(2, 1, 9, async (ctx, req) => ({
  throttleTimeMs: 0,
  topics: await Promise.all(
    req.topics.map(async (t) => ({
      name: t.name,
      partitions: await Promise.all(t.partitions.map((p) => offsetOf(ctx, t.name, p.partitionIndex, p.timestamp, p.currentLeaderEpoch))),
    })),
  ),
}));

async function offsetOf(
  ctx: RequestContext,
  topic: string,
  partition: number,
  timestamp: number,
  currentLeaderEpoch: number,
): Promise<ListOffsetsResponseInput.ListOffsetsPartitionResponse> {
  const partitions = ctx.broker.partitions;
  const route = partitions.route(topic, partition);
  // KIP-320, as for Fetch: a client naming an older leader epoch has stale metadata, a newer one is ahead of this node's.
  if (route.ok && currentLeaderEpoch >= 0 && currentLeaderEpoch !== route.partition.leaderEpoch) {
    const code = errorCode(currentLeaderEpoch < route.partition.leaderEpoch ? 'FENCED_LEADER_EPOCH' : 'UNKNOWN_LEADER_EPOCH');
    return { partitionIndex: partition, errorCode: code, timestamp: -1, offset: -1, leaderEpoch: -1 };
  }
  const offsets = await partitions.ask(route, { type: 'GetOffsets' });
  if (!offsets.ok) return { partitionIndex: partition, errorCode: offsets.code, timestamp: -1, offset: -1, leaderEpoch: -1 };
  const { leaderEpoch } = offsets.value;
  if (timestamp === LATEST) return { partitionIndex: partition, errorCode: 0, timestamp: -1, offset: offsets.value.highWatermark, leaderEpoch };
  if (timestamp === EARLIEST) return { partitionIndex: partition, errorCode: 0, timestamp: -1, offset: offsets.value.logStartOffset, leaderEpoch };
  const found =
    timestamp === MAX_TIMESTAMP
      ? await partitions.ask(route, { type: 'GetMaxTimestampOffset' })
      : await partitions.ask(route, { type: 'GetOffsetForTimestamp', timestampMs: timestamp });
  if (!found.ok) return { partitionIndex: partition, errorCode: found.code, timestamp: -1, offset: -1, leaderEpoch: -1 };
  if (found.value === null) return { partitionIndex: partition, errorCode: 0, timestamp: -1, offset: -1, leaderEpoch: -1 };
  return { partitionIndex: partition, errorCode: 0, timestamp: found.value.timestampMs, offset: found.value.offset, leaderEpoch };
}
