/**
 * The CPU pool with real piscina threads: results equal the inline computation byte for byte, large
 * inputs go to a pool thread and small ones stay inline, a full queue makes callers wait (and
 * fails them past the waiter bound), a caller's larger buffer is never detached by the transfer,
 * and close() ends the threads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CpuPool, CpuPoolBusyError } from '../../src/compression/cpu-pool.js';
import { CompressionError, compress, decompress } from '../../src/compression/index.js';
import { recompressRecords } from '../../src/storage/batch-rewrite.js';
import { buildBatch, splitBatches, parseBatchHeader } from '../../src/storage/record-batch.js';

const pools: CpuPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});
const poolOf = (settings: ConstructorParameters<typeof CpuPool>[0]) => {
  const p = new CpuPool(settings);
  pools.push(p);
  return p;
};

/** Two batches of `count` JSON-like 1 KiB records each, uncompressed. */
function records(count: number): Buffer {
  const batch = (base: number) =>
    buildBatch({
      baseOffset: base,
      records: Array.from({ length: count }, (_, i) => ({ key: `k${i % 7}`, value: JSON.stringify({ id: base + i, kind: 'event', n: (i * 7919) % 1000 }).padEnd(1024, ' ') })),
      timestampMs: 1_700_000_000_000,
    });
  return Buffer.concat([batch(0), batch(count)]);
}

describe('CpuPool', () => {
  it('recompresses in a pool thread to the same bytes as inline, for every codec', async () => {
    const pool = poolOf({ threads: 1, inlineBytesMax: 0 });
    const input = records(64);
    for (const codec of [1, 2, 3, 4] as const) {
      const inline = await recompressRecords(input, codec);
      const pooled = await pool.recompressRecords(input, codec);
      expect(pooled.equals(inline)).toBe(true);
      expect(splitBatches(pooled, { maxBatchBytes: Number.MAX_SAFE_INTEGER }).map((h) => h.compression)).toEqual([codec, codec]);
    }
    expect(pool.stats()).toMatchObject({ completedInPool: 4, completedInline: 0 });
  });

  it('compresses and decompresses through the pool as BatchCodecs', async () => {
    const pool = poolOf({ threads: 1, inlineBytesMax: 0 });
    const body = records(32);
    const zstd = await pool.compress(4, body);
    expect((await decompress(4, zstd)).equals(body)).toBe(true);
    expect((await pool.decompress(4, await compress(4, body))).equals(body)).toBe(true);
  });

  it('keeps inputs below inlineBytesMax on the caller, and threads: 0 inline always', async () => {
    const pool = poolOf({ threads: 1, inlineBytesMax: 1024 * 1024 });
    await pool.recompressRecords(records(4), 4);
    expect(pool.stats()).toMatchObject({ completedInPool: 0, completedInline: 1, threads: 0 });
    const none = poolOf({ threads: 0, inlineBytesMax: 0 });
    await none.recompressRecords(records(64), 4);
    expect(none.stats()).toMatchObject({ completedInPool: 0, completedInline: 1 });
  });

  it('never detaches the larger buffer an input is a view of (a produce frame)', async () => {
    const pool = poolOf({ threads: 1, inlineBytesMax: 0 });
    const inner = records(16);
    const frame = Buffer.concat([Buffer.from('frame-head'), inner, Buffer.from('frame-tail')]);
    const view = frame.subarray(10, 10 + inner.length);
    const out = await pool.recompressRecords(view, 4);
    expect(frame.byteLength).toBe(inner.length + 20);
    expect(frame.subarray(10, 10 + inner.length).equals(inner)).toBe(true);
    expect(parseBatchHeader(out, 0).compression).toBe(4);
  });

  it('makes callers wait while the queue is full, and fails those past the waiter bound', async () => {
    const pool = poolOf({ threads: 1, queueMax: 1, waitersMax: 2, inlineBytesMax: 0 });
    const input = records(256);
    const calls = Array.from({ length: 8 }, () => pool.recompressRecords(input, 1));
    const settled = await Promise.allSettled(calls);
    const busy = settled.filter((s) => s.status === 'rejected');
    const done = settled.filter((s) => s.status === 'fulfilled');
    expect(busy.length).toBeGreaterThan(0);
    for (const b of busy) expect(b.reason).toBeInstanceOf(CpuPoolBusyError);
    // One running, one queued and two waiting get through; the other four were refused at once.
    expect(done.length).toBe(4);
    expect(busy.length).toBe(4);
    expect(pool.stats()).toMatchObject({ queued: 0, inFlight: 0, waiting: 0, completedInPool: 4 });
  });

  it("brings a task's expected failure back as the error it was (a keyless record, a corrupt payload), in the pool and inline", async () => {
    for (const inlineBytesMax of [0, 1024 * 1024]) {
      const pool = poolOf({ threads: 1, inlineBytesMax });
      const keyless = buildBatch({
        records: [
          { key: 'k', value: 'v' },
          { key: null, value: 'no key' },
        ],
      });
      await expect(pool.requireKeys(keyless)).rejects.toMatchObject({ name: 'StorageError', code: 'INVALID_RECORD' });
      await expect(pool.requireKeys(records(4))).resolves.toBeUndefined();
      await expect(pool.decompress(4, Buffer.from('not a zstd frame at all'))).rejects.toBeInstanceOf(CompressionError);
    }
  });

  it('runs inline after close()', async () => {
    const pool = poolOf({ threads: 1, inlineBytesMax: 0 });
    await pool.recompressRecords(records(16), 4);
    await pool.close();
    await pool.recompressRecords(records(16), 4);
    expect(pool.stats()).toMatchObject({ completedInPool: 1, completedInline: 1, threads: 0 });
  });
});
