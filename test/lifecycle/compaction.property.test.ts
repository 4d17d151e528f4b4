/**
 * Compaction as a property: for random keyed histories with tombstones, appended in batches
 * of random size and codec, cleaning to completion leaves exactly the latest record per key
 * (tombstones included until their horizon), every survivor at its original offset with its
 * original value, offsets strictly increasing, and every tombstone gone once delete.retention.ms
 * has passed after the pass that first retained it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { buildBatch, decodeBatch, iterateRecords } from '../../src/storage/record-batch.js';
import { useTempLogs } from '../storage/helpers.js';

const temp = useTempLogs();
const deleteRetentionMs = 1_000;

interface Op {
  key: number;
  tombstone: boolean;
}

const historyArb = fc.array(
  fc.record({
    records: fc.array(fc.record({ key: fc.integer({ min: 0, max: 7 }), tombstone: fc.boolean() }), { minLength: 1, maxLength: 6 }),
    gzip: fc.boolean(),
  }),
  { minLength: 1, maxLength: 25 },
);

/** Every record of the log, decoded (gzip batches included), in offset order. */
async function allRecords(log: PartitionLog) {
  const out: { offset: number; key: string; value: string | null }[] = [];
  for (const batch of log.read(log.logStartOffset, Number.MAX_SAFE_INTEGER).batches) {
    const decoded = await decodeBatch(batch);
    for (const s of decoded.spans) {
      out.push({ offset: decoded.header.baseOffset + s.offsetDelta, key: s.key!.toString(), value: null });
    }
    const values = [...iterateRecords(batch, { allowGzip: true })].map((r) => r.value?.toString() ?? null);
    values.forEach((v, i) => (out[out.length - values.length + i]!.value = v));
  }
  return out;
}

async function cleanFully(log: PartitionLog, nowMs: number, maxBytes: number): Promise<number> {
  let passes = 0;
  for (let i = 0; i < 1_000; i++) {
    const step = await log.compactStep(nowMs, maxBytes);
    if (step.phase === 'idle') return passes;
    if (step.passDone) passes++;
  }
  throw new Error('compaction did not settle in 1000 steps');
}

describe('compaction property', () => {
  it('keeps exactly the latest record per key at its offset; tombstones go after the horizon', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, fc.integer({ min: 1, max: 2_000 }), async (history, maxBytes) => {
        let now = 1_000_000;
        const log = temp.open({
          clock: () => now,
          // Each batch rolls a segment, so every batch but the last is cleanable.
          config: { cleanupPolicy: 'compact', segmentBytes: 14, deleteRetentionMs, minCleanableDirtyRatio: 0 },
        });
        const latest = new Map<string, { offset: number; value: string | null }>();
        let offset = 0;
        for (const [b, batch] of history.entries()) {
          const records = batch.records.map((r: Op, i) => ({ key: `k${r.key}`, value: r.tombstone ? null : `v${b}.${i}`, timestamp: now }));
          log.append(buildBatch({ records, compression: batch.gzip ? 1 : 0, timestampMs: now }));
          for (const r of records) latest.set(r.key, { offset: offset++, value: r.value });
          now += 1;
        }
        // A last batch with a key of its own: the active segment, which compaction leaves alone.
        log.append(buildBatch({ records: [{ key: 'active', value: 'x' }], timestampMs: now }));
        latest.set('active', { offset: offset++, value: 'x' });

        await cleanFully(log, now, maxBytes);
        const records = await allRecords(log);
        const offsets = records.map((r) => r.offset);
        expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
        expect(new Set(offsets).size).toBe(offsets.length);
        const expected = [...latest].map(([key, v]) => ({ offset: v.offset, key, value: v.value })).sort((a, b) => a.offset - b.offset);
        expect(records).toEqual(expected);
        expect(log.logEndOffset).toBe(offset);

        // After the horizon, a pass removes every tombstone outside the active segment.
        now += deleteRetentionMs;
        await cleanFully(log, now, maxBytes);
        const after = await allRecords(log);
        expect(after).toEqual(expected.filter((r) => r.value !== null));
        expect(log.sizeBytes).toBe(log.segments.reduce((n, s) => n + s.sizeBytes, 0));
        log.close();
      }),
      { numRuns: 60 },
    );
  });
});
