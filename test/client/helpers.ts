/**
 * Helpers for the client tests: a node started in-process, unique topic names, and a raw read
 * of a partition (Fetch through the client's Connection and decodeBatches) that does not depend
 * on the Consumer under test.
 */
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { Cluster } from '../../src/client/cluster.js';
import { decodeBatches, type ConsumerRecord } from '../../src/client/record-batch.js';

export type { EmbeddedBroker };

export async function broker(): Promise<EmbeddedBroker> {
  return startBroker({ logLevel: 'warn' });
}

let counter = 0;
export function uniqueTopic(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** Every record of one partition from offset 0 to the high watermark. */
export async function readPartition(bootstrap: string, topic: string, partition: number, timeoutMs = 15_000): Promise<ConsumerRecord[]> {
  const cluster = new Cluster({ bootstrapServers: [bootstrap] });
  try {
    const info = (await cluster.waitForTopics([topic], timeoutMs)).get(topic)!;
    const conn = await cluster.connection(info.partitions[partition]!.leader);
    const out: ConsumerRecord[] = [];
    let offset = 0;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`readPartition ${topic}-${partition} timed out at ${offset}`);
      const res = await conn.request(1, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 8 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic,
            topicId: info.topicId,
            partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 8 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1, logStartOffset: -1 }],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      });
      const p = res.responses[0]!.partitions[0]!;
      if (p.errorCode !== 0) throw new Error(`fetch error ${p.errorCode}`);
      const d = await decodeBatches(p.records ?? Buffer.alloc(0), { topic, partition, fromOffset: offset, abortedTransactions: null });
      out.push(...d.records);
      offset = Math.max(offset, d.nextOffset);
      if (offset >= p.highWatermark) return out;
    }
  } finally {
    await cluster.close();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
