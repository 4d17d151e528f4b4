/**
 * DeleteRecords 0-2: moves each partition's log start offset forward by asking its leader actor,
 * all partitions of a request at once. An offset of -1 means the high watermark, read from the
 * actor first; an offset above the high watermark is the actor's OFFSET_OUT_OF_RANGE.
 */
import type { DeleteRecordsResponseInput } from '../../protocol/messages/delete-records.js';
import { handler, type RequestContext } from '../context.js';

/** The offset that asks for everything below the high watermark to go. */
const HIGH_WATERMARK = -1;
/** Kafka's low watermark for a partition that failed. */
const INVALID_LOW_WATERMARK = -1;

type PartitionResult = DeleteRecordsResponseInput.DeleteRecordsPartitionResult;

export const deleteRecords = handler(21, 0, 2, async (ctx, req) => ({
  throttleTimeMs: 0,
  topics: await Promise.all(
    req.topics.map(async (t) => ({
      name: t.name,
      partitions: await Promise.all(t.partitions.map((p) => deleteBefore(ctx, t.name, p.partitionIndex, p.offset, req.timeoutMs))),
    })),
  ),
}));

async function deleteBefore(ctx: RequestContext, topic: string, partition: number, offset: number, timeoutMs: number): Promise<PartitionResult> {
  const partitions = ctx.broker.partitions;
  const route = partitions.route(topic, partition);
  // A zero or negative timeout would fail at once; the gateway's own bound applies instead.
  const opts = { timeoutMs: timeoutMs > 0 ? timeoutMs : undefined };
  let before = offset;
  if (offset === HIGH_WATERMARK) {
    const offsets = await partitions.ask(route, { type: 'GetOffsets' }, opts);
    if (!offsets.ok) return { partitionIndex: partition, lowWatermark: INVALID_LOW_WATERMARK, errorCode: offsets.code };
    before = offsets.value.highWatermark;
  }
  const r = await partitions.ask(route, { type: 'DeleteRecordsBefore', offset: before }, opts);
  if (!r.ok) return { partitionIndex: partition, lowWatermark: INVALID_LOW_WATERMARK, errorCode: r.code };
  return { partitionIndex: partition, lowWatermark: r.value.logStartOffset, errorCode: 0 };
}
