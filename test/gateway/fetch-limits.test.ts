/**
 * Fetch byte limits as Kafka applies them: max_bytes over the whole response in request order,
 * the first partition with data always returning a whole batch (KIP-74), and partitions past the
 * limit answered with their offsets and no records; a client's huge limits are capped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { buildBatch } from '../../src/storage/record-batch.js';
import { RawClient, produceBatch } from '../helpers/raw-client.js';

describe('fetch limits', () => {
  let b: EmbeddedBroker;
  let c: RawClient;
  const topic = 'fetch-limits';
  beforeAll(async () => {
    b = await startBroker({ logLevel: 'warn' });
    c = await RawClient.connect(b.host, b.port);
    const r = await c.request(19, 5, { topics: [{ name: topic, numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
    expect(r.topics[0]!.errorCode).toBe(0);
    for (let p = 0; p < 3; p++) {
      for (let i = 0; i < 2; i++) await produceBatch(c, topic, p, buildBatch({ records: [{ key: null, value: Buffer.alloc(1000, 65 + p) }] }));
    }
  });
  afterAll(async () => {
    c?.close();
    await b?.stop();
  });

  async function fetch(maxBytes: number, partitionMaxBytes: number) {
    const r = await c.request(1, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [
        { topic, partitions: [0, 1, 2].map((p) => ({ partition: p, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes })) },
      ],
      forgottenTopicsData: [],
      rackId: '',
    });
    return r.responses[0]!.partitions.map((p) => ({ errorCode: p.errorCode, highWatermark: p.highWatermark, bytes: p.records?.length ?? 0 }));
  }

  it('a small max_bytes still returns one whole batch of the first partition; the rest report offsets only', async () => {
    const parts = await fetch(10, 1024 * 1024);
    expect(parts.map((p) => p.errorCode)).toEqual([0, 0, 0]);
    expect(parts.map((p) => p.highWatermark)).toEqual([2, 2, 2]);
    expect(parts[0]!.bytes).toBeGreaterThan(1000);
    expect(parts[0]!.bytes).toBeLessThan(2000);
    expect(parts.slice(1).map((p) => p.bytes)).toEqual([0, 0]);
  });

  it('max_bytes large enough for two partitions fills them in request order', async () => {
    const one = (await fetch(1024 * 1024, 1024 * 1024))[0]!.bytes;
    const parts = await fetch(2 * one, 1024 * 1024);
    expect(parts.map((p) => p.bytes)).toEqual([one, one, 0]);
  });

  it('the largest limits a client can send are capped, and everything is returned', async () => {
    const parts = await fetch(2 ** 31 - 1, 2 ** 31 - 1);
    expect(parts.every((p) => p.errorCode === 0 && p.bytes > 2000)).toBe(true);
  });
});
