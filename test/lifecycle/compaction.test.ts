/**
 * Compaction cases the property test does not reach: every codec is decompressed, filtered
 * and recompressed with its own codec and a valid CRC; min.compaction.lag.ms holds young
 * segments back; a producer continues its sequence after its batches were compacted; a
 * truncation abandons a pass in progress.
 */
import { describe, expect, it } from 'vitest';
import { compress } from '../../src/compression/index.js';
import { recompressBatch } from '../../src/storage/batch-rewrite.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { type CompressionCodec, buildBatch, decodeBatch, parseBatchHeader } from '../../src/storage/record-batch.js';
import { useTempLogs } from '../storage/helpers.js';

const temp = useTempLogs();
const compactConfig = { cleanupPolicy: 'compact' as const, segmentBytes: 14, minCleanableDirtyRatio: 0 };

async function settle(log: PartitionLog, nowMs: number): Promise<void> {
  for (let i = 0; i < 100; i++) if ((await log.compactStep(nowMs, 1 << 20)).phase === 'idle') return;
  throw new Error('compaction did not settle');
}

async function keysOf(log: PartitionLog): Promise<string[]> {
  const keys: string[] = [];
  for (const batch of log.read(log.logStartOffset, 1 << 30).batches) {
    const d = await decodeBatch(batch);
    for (const s of d.spans) keys.push(`${d.header.baseOffset + s.offsetDelta}:${String(s.key)}`);
  }
  return keys;
}

describe('compaction of compressed batches', () => {
  for (const codec of [1, 2, 3, 4] as CompressionCodec[]) {
    it(`codec ${codec}: keeps the codec and writes a valid CRC`, async () => {
      const log = temp.open({ config: compactConfig });
      const records = [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
        { key: 'a', value: '3' },
      ];
      const batch = await recompressBatch(buildBatch({ records, timestampMs: 5 }), codec);
      log.append(batch);
      log.append(buildBatch({ records: [{ key: 'b', value: '4' }], timestampMs: 6 }));
      log.append(buildBatch({ records: [{ key: 'z', value: 'active' }], timestampMs: 7 }));
      await settle(log, 100);
      const [first] = log.read(0, 1 << 20).batches;
      const h = parseBatchHeader(first!, 0, { allowSparse: true });
      expect(h).toMatchObject({ compression: codec, baseOffset: 0, lastOffsetDelta: 2, recordCount: 1, maxTimestamp: 5 });
      expect(await keysOf(log)).toEqual(['2:a', '3:b', '4:z']);
    });
  }
});

describe('compaction lags and producers', () => {
  it('does not clean segments with records younger than min.compaction.lag.ms', async () => {
    const log = temp.open({ config: { ...compactConfig, minCompactionLagMs: 1_000 } });
    for (const [i, v] of ['1', '2', '3'].entries()) log.append(buildBatch({ records: [{ key: 'k', value: v }], timestampMs: 10_000 + i }));
    log.append(buildBatch({ records: [{ key: 'z', value: 'active' }], timestampMs: 10_003 }));
    await settle(log, 10_500);
    expect(await keysOf(log)).toEqual(['0:k', '1:k', '2:k', '3:z']);
    // At 11_001 the first two segments are old enough, the third (offset 2) not yet.
    await settle(log, 11_001);
    expect(await keysOf(log)).toEqual(['1:k', '2:k', '3:z']);
    await settle(log, 11_002);
    expect(await keysOf(log)).toEqual(['2:k', '3:z']);
  });

  it('starts a pass below min.cleanable.dirty.ratio once the oldest dirty record passes max.compaction.lag.ms', async () => {
    const log = temp.open({ config: { ...compactConfig, minCleanableDirtyRatio: 1.1, maxCompactionLagMs: 500 } });
    for (const v of ['1', '2', '3']) log.append(buildBatch({ records: [{ key: 'k', value: v }], timestampMs: 0 }));
    expect((await log.compactStep(100, 1 << 20)).phase).toBe('idle');
    await settle(log, 600);
    // Offset 2 is in the active segment, which is never cleaned, so offset 1 stays too.
    expect(await keysOf(log)).toEqual(['1:k', '2:k']);
  });

  it('keeps batch offsets, so a producer continues its sequence after compaction', async () => {
    const log = temp.open({ config: compactConfig });
    const p = { producerId: 7, producerEpoch: 0 };
    log.append(
      buildBatch({
        ...p,
        baseSequence: 0,
        records: [
          { key: 'a', value: '1' },
          { key: 'a', value: '2' },
        ],
        timestampMs: 1,
      }),
    );
    log.append(
      buildBatch({
        ...p,
        baseSequence: 2,
        records: [
          { key: 'a', value: '3' },
          { key: 'b', value: '4' },
        ],
        timestampMs: 2,
      }),
    );
    log.append(buildBatch({ ...p, baseSequence: 4, records: [{ key: 'c', value: '5' }], timestampMs: 3 }));
    await settle(log, 10);
    expect(await keysOf(log)).toEqual(['2:a', '3:b', '4:c']);
    const [batch] = log.read(2, 1 << 20).batches;
    expect(parseBatchHeader(batch!, 0, { allowSparse: true })).toMatchObject({ baseOffset: 2, lastOffsetDelta: 1, baseSequence: 2 });
    expect(log.append(buildBatch({ ...p, baseSequence: 5, records: [{ key: 'd', value: '6' }] }))).toMatchObject({ baseOffset: 5 });
    // A fetch from an offset in the gap that compaction left starts at the next batch.
    expect(log.read(1, 1 << 20).batches.map((b) => parseBatchHeader(b, 0, { allowSparse: true }).baseOffset)).toEqual([2, 4, 5]);
  });

  it('abandons a pass when the log is truncated during it', async () => {
    const log = temp.open({ config: compactConfig });
    for (let i = 0; i < 6; i++) log.append(buildBatch({ records: [{ key: 'k', value: String(i) }], timestampMs: 1 }));
    const first = await log.compactStep(10, 1);
    expect(first.phase).toBe('index');
    log.truncateTo(3);
    log.append(buildBatch({ records: [{ key: 'k', value: 'new' }], timestampMs: 2 }));
    await settle(log, 10);
    expect(await keysOf(log)).toEqual(['2:k', '3:k']);
    expect(log.cleanerState.cleanerCheckpoint).toBeLessThanOrEqual(3);
  });

  it('compacts a zstd batch that compress() made directly', async () => {
    const log = temp.open({ config: compactConfig });
    const plain = buildBatch({
      records: [
        { key: 'x', value: '1' },
        { key: 'x', value: '2' },
      ],
      timestampMs: 1,
    });
    expect((await compress('zstd', Buffer.from('probe'))).length).toBeGreaterThan(0);
    log.append(await recompressBatch(plain, 4));
    log.append(buildBatch({ records: [{ key: 'y', value: 'active' }], timestampMs: 2 }));
    await settle(log, 10);
    expect(await keysOf(log)).toEqual(['1:x', '2:y']);
  });
});
