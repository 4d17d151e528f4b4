/**
 * ListOffsets 1-9: the earliest (-2), latest (-1), max-timestamp (-3) offset of a partition, or
 * the first offset at or after a timestamp. Version 10's layout is still unstable upstream.
 */
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
      partitions: await Promise.all(t.partitions.map((p) => offsetOf(ctx, t.name, p.partitionIndex, p.timestamp))),
    })),
  ),
}));

async function offsetOf(ctx: RequestContext, topic: string, partition: number, timestamp: number): Promise<ListOffsetsResponseInput.ListOffsetsPartitionResponse> {
  const partitions = ctx.broker.partitions;
  const route = partitions.route(topic, partition);
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
