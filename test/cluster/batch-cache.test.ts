/**
 * BatchCache on its own: bounded memory (LRU across partitions, oldest batches first), the high
 * watermark and log start it reads from the partition's shared state, and the epoch that drops
 * what was cached before a change, including appends acknowledged before it.
 */
import { describe, expect, it } from 'vitest';
import { BatchCache } from '../../src/cluster/batch-cache.js';
import { CacheStateWriter } from '../../src/cluster/batch-cache-state.js';
import { RecordSet, type Records } from '../../src/protocol/record-set.js';
import { buildBatch } from '../../src/storage/record-batch.js';

/** A read's batches as one buffer, to compare. */
function joined(records: Records): Buffer {
  return records instanceof RecordSet ? Buffer.concat(records.parts) : records;
}

/** One stored batch of `records` records of `size` bytes at `baseOffset`, in a buffer of its own. */
function stored(baseOffset: number, records = 1, size = 100): Uint8Array {
  const b = buildBatch({ baseOffset, records: Array.from({ length: records }, () => ({ key: null, value: Buffer.alloc(size, 120) })) });
  const own = new Uint8Array(b.length);
  own.set(b);
  return own;
}

class Partition {
  readonly writer: CacheStateWriter;
  end = 0;

  constructor(
    readonly cache: BatchCache,
    readonly topicId: string,
  ) {
    this.writer = new CacheStateWriter(cache.stateFor(topicId, 0, `${topicId}.db`)!);
    this.writer.publish(0, 0);
  }

  /** Appends one batch as the actor would: offsets published, then the reply fills the cache. */
  append(records = 1, size = 100): Uint8Array {
    const bytes = stored(this.end, records, size);
    this.end += records;
    this.writer.publish(this.end, 0);
    this.cache.appended(this.topicId, 0, { duplicate: false, stored: bytes, cacheEpoch: this.writer.epoch });
    return bytes;
  }

  read(offset: number, maxBytes = 1 << 20) {
    const r = this.cache.read(this.topicId, 0, offset, maxBytes);
    return r && { ...r, records: joined(r.records) };
  }
}

describe('BatchCache', () => {
  it('answers whole batches from the one holding the offset, up to maxBytes, always at least one', () => {
    const cache = new BatchCache(1 << 20);
    const p = new Partition(cache, 't1');
    const a = p.append(3);
    const b = p.append(2);
    const c = p.append(1);
    expect(Buffer.from(p.read(0)!.records).equals(Buffer.concat([a, b, c]))).toBe(true);
    expect(Buffer.from(p.read(4)!.records).equals(Buffer.concat([b, c]))).toBe(true);
    expect(Buffer.from(p.read(1, 1)!.records).equals(Buffer.from(a))).toBe(true);
    expect(Buffer.from(p.read(0, a.length + b.length)!.records).equals(Buffer.concat([a, b]))).toBe(true);
    expect(p.read(6)).toBeNull();
    expect(p.read(0)!.highWatermark).toBe(6);
    // Several batches come back as a RecordSet of the cached buffers themselves: never joined.
    const set = cache.read('t1', 0, 0, 1 << 20)!.records;
    expect(set).toBeInstanceOf(RecordSet);
    expect((set as RecordSet).parts.map((part) => part.buffer)).toEqual([a.buffer, b.buffer, c.buffer]);
  });

  it('answers a fetch at its end with nothing (behindOk) while an append it has not seen yet is committed', () => {
    const cache = new BatchCache(1 << 20);
    const p = new Partition(cache, 't1');
    p.append(2);
    // The actor committed and published offsets 2-4; its reply, with the batches, is on its way.
    p.writer.publish(5, 0);
    const behind = cache.read('t1', 0, 2, 1 << 20, true)!;
    expect(behind.records.length).toBe(0);
    expect(behind.highWatermark).toBe(5);
    // Without behindOk, or not right at the cache's end, it is a miss (the log answers).
    expect(cache.read('t1', 0, 2, 1 << 20)).toBeNull();
    expect(cache.read('t1', 0, 3, 1 << 20, true)).toBeNull();
    // Below its end it serves as ever.
    expect(p.read(0)!.records.length).toBeGreaterThan(0);
  });

  it('never serves a batch at or past the high watermark, nor below the log start', () => {
    const cache = new BatchCache(1 << 20);
    const p = new Partition(cache, 't1');
    const a = p.append(2);
    p.append(2);
    // The high watermark behind the log end (a follower has not caught up): only what is below it.
    p.writer.publish(2, 0);
    expect(Buffer.from(p.read(0)!.records).equals(Buffer.from(a))).toBe(true);
    expect(p.read(2)).toBeNull();
    p.writer.publish(4, 2);
    expect(p.read(1)).toBeNull();
    expect(p.read(2)!.logStartOffset).toBe(2);
  });

  it('serves nothing while the actor changes the log, and nothing cached before an invalidating change', () => {
    const cache = new BatchCache(1 << 20);
    const p = new Partition(cache, 't1');
    p.append(2);
    p.writer.begin();
    expect(p.read(0)).toBeNull();
    p.writer.end(2, 0, true);
    expect(p.read(0)).toBeNull();
    expect(cache.stats().bytes).toBe(0);
    // An append acknowledged before the change but whose reply arrives after it is not cached.
    const epoch = p.writer.epoch;
    p.writer.begin();
    p.writer.end(2, 0, true);
    cache.appended('t1', 0, { duplicate: false, stored: stored(2), cacheEpoch: epoch });
    expect(cache.stats().bytes).toBe(0);
    // A gap (an append the cache did not see) starts a new run.
    p.end = 5;
    p.append(1);
    expect(p.read(5)).not.toBeNull();
    expect(p.read(2)).toBeNull();
  });

  it('stays within its budget, evicting the oldest batches of the least recently used partition first', () => {
    const one = stored(0).length;
    const cache = new BatchCache(4 * one);
    const a = new Partition(cache, 'a');
    const b = new Partition(cache, 'b');
    for (let i = 0; i < 3; i++) a.append();
    for (let i = 0; i < 2; i++) b.append();
    // Five batches into a budget of four: a's oldest went.
    expect(cache.stats().bytes).toBeLessThanOrEqual(4 * one);
    expect(cache.stats().evictions).toBe(1);
    expect(a.read(0)).toBeNull();
    // a was read last (a.read(1) below), so b is now the least recently used.
    expect(a.read(1)).not.toBeNull();
    a.append();
    expect(b.read(0)).toBeNull();
    expect(b.read(1)).not.toBeNull();
    for (let i = 0; i < 50; i++) b.append();
    expect(cache.stats().bytes).toBeLessThanOrEqual(4 * one);
    expect(a.read(3)).toBeNull();
    expect(b.read(51)).not.toBeNull();
    expect(cache.stats().partitions).toBe(1);
  });

  it('holds nothing when its size is 0, and forgets a partition whose topic is gone', () => {
    const off = new BatchCache(0);
    expect(off.enabled).toBe(false);
    expect(off.stateFor('t', 0, 't.db')).toBeUndefined();
    // Off but kept for the log reader threads: state and path, which forget drops.
    const forReaders = new BatchCache(0, true);
    expect(forReaders.stateFor('t', 0, 't.db')).toBeInstanceOf(SharedArrayBuffer);
    expect(forReaders.logState('t', 0)?.path).toBe('t.db');
    forReaders.forget('t', 0);
    expect(forReaders.logState('t', 0)).toBeUndefined();
    const cache = new BatchCache(1 << 20);
    const p = new Partition(cache, 't');
    p.append();
    cache.forget('t', 0);
    expect(cache.stats().bytes).toBe(0);
    expect(p.read(0)).toBeNull();
  });
});
