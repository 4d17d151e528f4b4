/**
 * Produce 3-11: each partition's record batches go to its leader actor, which validates them
 * (CRC, lengths, producer sequence) and appends them; every partition of the request is
 * appended concurrently and answered together. acks=0 sends no response; acks=1 is answered
 * after the leader's commit; acks=all on a replicated partition after the ISR has the records
 * (the high watermark passed them, in the leader epoch they were appended in), and is refused
 * with NOT_ENOUGH_REPLICAS while the ISR is below min.insync.replicas. On a single node acks=all
 * and acks=1 wait for the same thing.
 */
import { errorCode } from '../../protocol/errors.js';
import type { ProduceResponseInput } from '../../protocol/messages/produce.js';
import { handler, type RequestContext } from '../context.js';

export const produce = handler(0, 3, 11, async (ctx, req) => {
  const acksValid = req.acks === 0 || req.acks === 1 || req.acks === -1;
  // A frame of its own carrying one partition's batches is handed to the actor as it is.
  const single = req.topicData.length === 1 && req.topicData[0]!.partitionData.length === 1;
  const transferFrame = ctx.frameOwned && single;
  const responses = await Promise.all(
    req.topicData.map(async (t) => ({
      name: t.name,
      partitionResponses: await Promise.all(
        t.partitionData.map((p) =>
          acksValid
            ? appendPartition(ctx, t.name, p.index, p.records, req.acks, req.timeoutMs, transferFrame)
            : Promise.resolve(partitionError(p.index, 'INVALID_REQUIRED_ACKS', `acks must be 0, 1 or -1, got ${req.acks}`)),
        ),
      ),
    })),
  );
  if (req.acks === 0) return null;
  return { responses, throttleTimeMs: 0 };
});

const commitFailure = {
  NOT_LEADER_OR_FOLLOWER: 'the leader changed before the records were replicated to the ISR; they may be lost, retry',
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 'the records were written, but the ISR shrank below min.insync.replicas before they were replicated',
  REQUEST_TIMED_OUT: 'the ISR did not replicate the records within the request timeout',
} as const;

function partitionError(index: number, name: Parameters<typeof errorCode>[0], message: string): ProduceResponseInput.PartitionProduceResponse {
  return { index, errorCode: errorCode(name), baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, errorMessage: message };
}

async function appendPartition(
  ctx: RequestContext,
  topic: string,
  partition: number,
  records: Buffer | null,
  acks: number,
  timeoutMs: number,
  transferFrame: boolean,
): Promise<ProduceResponseInput.PartitionProduceResponse> {
  if (records === null || records.length === 0) return partitionError(partition, 'INVALID_RECORD', 'no record batches');
  const bytes = records.length;
  const started = Date.now();
  const route = ctx.broker.partitions.route(topic, partition);
  // The records are a view of the request frame. When the frame's buffer is this request's alone
  // and carries no other partition, it moves to the actor's thread as it is (the view keeps its
  // offset); otherwise the records are copied once into a buffer of their own, which moves.
  // Either way postMessage copies nothing, and the frame is not used after this point.
  let own: Uint8Array;
  if (transferFrame) own = new Uint8Array(records.buffer, records.byteOffset, bytes);
  else {
    own = new Uint8Array(bytes);
    own.set(records);
  }
  const r = await ctx.broker.partitions.ask(
    route,
    { type: 'Append', records: own, acks },
    {
      transfer: [own.buffer as ArrayBuffer],
      timeoutMs: Math.max(1, timeoutMs),
    },
  );
  if (!r.ok) return { index: partition, errorCode: r.code, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, errorMessage: r.message };
  // acks=all on a replicated partition: answered once the ISR holds the records (the high watermark passed them).
  if (acks === -1 && route.ok && route.partition.replicas.length > 1) {
    const failed = await ctx.broker.partitions.waitForCommit(route, r.value.lastOffset + 1, r.value.leaderEpoch, Math.max(1, timeoutMs - (Date.now() - started)));
    if (failed) return partitionError(partition, failed, commitFailure[failed]);
  }
  if (!r.value.duplicate) ctx.broker.probe.produced(topic, r.value.lastOffset - r.value.baseOffset + 1, bytes);
  return {
    index: partition,
    errorCode: 0,
    baseOffset: r.value.baseOffset,
    logAppendTimeMs: r.value.logAppendTimeMs,
    logStartOffset: r.value.logStartOffset,
    errorMessage: null,
  };
}
