/**
 * Produce requests reach the partition's actor either by moving the request frame itself (a
 * frame the connection assembled from several socket reads, with one partition) or by copying
 * each partition's records (a frame inside a shared socket read, or several partitions). Both
 * store exactly the bytes sent, and the connection goes on serving requests after a moved frame.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { buildBatch } from '../../src/storage/record-batch.js';
import { fetchAll, produceBatch, RawClient } from '../helpers/raw-client.js';

describe('produce frames, moved or copied', () => {
  let b: EmbeddedBroker;
  let c: RawClient;
  const topic = 'produce-frames';
  beforeAll(async () => {
    b = await startBroker({ logLevel: 'warn' });
    c = await RawClient.connect(b.host, b.port);
    const r = await c.request(19, 5, { topics: [{ name: topic, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
    expect(r.topics[0]!.errorCode).toBe(0);
  });
  afterAll(async () => {
    c?.close();
    await b?.stop();
  });

  const value = (n: number, fill: number) => Buffer.alloc(n, fill);

  it('stores large single-partition batches (frames spanning socket reads) and small ones byte for byte', async () => {
    const sent: Buffer[] = [];
    for (let i = 0; i < 6; i++) {
      // 300 KiB frames span several socket reads; 100 B ones usually arrive in one.
      const v = i % 2 === 0 ? value(300 * 1024, 65 + i) : value(100, 97 + i);
      sent.push(v);
      const res = await produceBatch(c, topic, 0, buildBatch({ records: [{ key: Buffer.from(`k${i}`), value: v }] }));
      expect(res.errorCode).toBe(0);
    }
    const { records } = await fetchAll(c, topic, 0);
    expect(records.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5]);
    records.forEach((r, i) => {
      expect(r.key).toBe(`k${i}`);
      expect(r.value).toBe(sent[i]!.toString());
    });
  });

  it('copies the records of a request naming two partitions, and stores both', async () => {
    const a = buildBatch({ records: [{ key: null, value: value(200 * 1024, 1) }] });
    const d = buildBatch({ records: [{ key: null, value: value(200 * 1024, 2) }] });
    const r = await c.request(0, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 15_000,
      topicData: [
        {
          name: topic,
          partitionData: [
            { index: 0, records: a },
            { index: 1, records: d },
          ],
        },
      ],
    });
    const parts = r.responses[0]!.partitionResponses;
    expect(parts.map((p) => p.errorCode)).toEqual([0, 0]);
    const p1 = await fetchAll(c, topic, 1);
    expect(p1.records.length).toBe(1);
    expect(p1.records[0]!.value).toBe(value(200 * 1024, 2).toString());
    const p0 = await fetchAll(c, topic, 0);
    expect(p0.records.at(-1)!.value).toBe(value(200 * 1024, 1).toString());
  });
});
