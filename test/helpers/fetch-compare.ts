/**
 * Fetches through a real node compared with what the partition's own log answers, for the read
 * paths beside the partition's actor (the batch cache, the log reader threads): the same records,
 * high watermark, log start and error at every offset and limit.
 */
import { expect } from 'vitest';
import type { EmbeddedBroker } from '../../src/embedded.js';
import { buildBatch } from '../../src/storage/record-batch.js';
import { fetchOnce, produceBatch, type RawClient } from './raw-client.js';

export interface FetchAnswer {
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  records: Buffer;
}

export function fetchCompare(b: () => EmbeddedBroker, c: () => RawClient) {
  /** Produces `n` batches of 1-3 records each (one produce request each, some carrying two batches); returns the high watermark. */
  async function produce(topic: string, n: number, keyed = false): Promise<number> {
    for (let i = 0; i < n; i++) {
      const batch = () =>
        buildBatch({ records: Array.from({ length: 1 + (i % 3) }, (_, j) => ({ key: keyed ? Buffer.from(`k${j}`) : null, value: Buffer.alloc(100 + 37 * i, 97 + (i % 26)) })) });
      const records = i % 4 === 3 ? Buffer.concat([batch(), batch()]) : batch();
      const r = await produceBatch(c(), topic, 0, records);
      expect(r.errorCode).toBe(0);
    }
    return (await fetchOnce(c(), topic, 0, 0, 1)).highWatermark;
  }

  /** What the partition's actor (SQLite) answers, bypassing the cache and the readers. */
  async function fromLog(topic: string, fetchOffset: number, maxBytes: number): Promise<FetchAnswer> {
    const r = await b().node.partitions.askByName(topic, 0, { type: 'Read', fetchOffset, maxBytes });
    if (!r.ok) return { errorCode: r.code, records: Buffer.alloc(0), highWatermark: -1, logStartOffset: -1 };
    return { errorCode: 0, records: Buffer.from(r.value.records), highWatermark: r.value.highWatermark, logStartOffset: r.value.logStartOffset };
  }

  async function fetch(topic: string, fetchOffset: number, maxBytes = 1 << 20, isolationLevel = 0): Promise<FetchAnswer> {
    const res = await c().request(1, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes,
      isolationLevel,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset, partitionMaxBytes: maxBytes }] }],
    });
    const p = res.responses[0]!.partitions[0]!;
    return { errorCode: p.errorCode, highWatermark: Number(p.highWatermark), logStartOffset: Number(p.logStartOffset), records: p.records ?? Buffer.alloc(0) };
  }

  /** Fetches at every offset below the high watermark with several limits; each must equal the log's answer. */
  async function expectSameAsLog(topic: string, from: number, to: number): Promise<void> {
    for (let offset = from; offset < to; offset++) {
      for (const maxBytes of [1, 600, 5000, 1 << 20]) {
        const got = await fetch(topic, offset, maxBytes);
        const want = await fromLog(topic, offset, maxBytes);
        expect(got.errorCode, `offset ${offset}`).toBe(want.errorCode);
        expect(got.highWatermark, `offset ${offset}`).toBe(want.highWatermark);
        expect(got.logStartOffset, `offset ${offset}`).toBe(want.logStartOffset);
        expect(got.records.equals(want.records), `records at ${offset}, max ${maxBytes}`).toBe(true);
      }
    }
  }

  /** The log start once retention has moved it past 0 (waits up to 20 s; 0 if it never did). */
  async function logStartAfterRetention(topic: string): Promise<number> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const o = await b().node.partitions.askByName(topic, 0, { type: 'GetOffsets' });
      if (o.ok && o.value.logStartOffset > 0) return o.value.logStartOffset;
      if (Date.now() > deadline) return 0;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return { produce, fromLog, fetch, expectSameAsLog, logStartAfterRetention };
}
