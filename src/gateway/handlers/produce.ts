/**
 * Produce 3-11: each partition's record batches go to its leader actor, which validates them
 * (CRC, lengths, producer sequence) and appends them; every partition of the request is
 * appended concurrently and answered together. acks=0 sends no response; on a single node
 * acks=all and acks=1 wait for the same thing, the leader's commit.
 */
import type { Appended } from '../../../actors/partition/messages.js';
import { errorCode } from '../../protocol/errors.js';
import type { ProduceResponseInput } from '../../protocol/messages/produce.js';
import { handler, type RequestContext } from '../context.js';
import { askPartition } from './partition-ask.js';

export const produce = handler(0, 3, 11, async (ctx, req) => {
  const acksValid = req.acks === 0 || req.acks === 1 || req.acks === -1;
  const responses = await Promise.all(req.topicData.map(async (t) => ({
    name: t.name,
    partitionResponses: await Promise.all(t.partitionData.map((p) =>
      acksValid ? appendPartition(ctx, t.name, p.index, p.records, req.timeoutMs) : partitionError(p.index, 'INVALID_REQUIRED_ACKS', `acks must be 0, 1 or -1, got ${req.acks}`))),
  })));
  if (req.acks === 0) return null;
  return { responses, throttleTimeMs: 0 };
});

function partitionError(index: number, name: Parameters<typeof errorCode>[0], message: string): ProduceResponseInput.PartitionProduceResponse {
  return { index, errorCode: errorCode(name), baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, errorMessage: message };
}

async function appendPartition(
  ctx: RequestContext,
  topic: string,
  partition: number,
  records: Buffer | null,
  timeoutMs: number,
): Promise<ProduceResponseInput.PartitionProduceResponse> {
  if (records === null || records.length === 0) return partitionError(partition, 'INVALID_RECORD', 'no record batches');
  const route = ctx.broker.routes.leader(topic, partition);
  // The records are a view of the request frame; the actor needs a buffer of its own, which is
  // then transferred to its thread rather than copied a second time by postMessage.
  const own = new Uint8Array(records.length);
  own.set(records);
  const r = await askPartition<Appended>(ctx, route, { type: 'Append', records: own }, {
    transfer: [own.buffer],
    timeoutMs: Math.max(1, timeoutMs),
  });
  if (!r.ok) return { index: partition, errorCode: r.code, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, errorMessage: r.message };
  if (!r.value.duplicate) ctx.broker.probe.produced(topic, r.value.lastOffset - r.value.baseOffset + 1, records.length);
  return {
    index: partition,
    errorCode: 0,
    baseOffset: r.value.baseOffset,
    logAppendTimeMs: r.value.logAppendTimeMs,
    logStartOffset: r.value.logStartOffset,
    errorMessage: null,
  };
}
