/**
 * Retention: segments roll by segment.bytes and segment.ms, and enforceRetention deletes the
 * oldest segments by time (injected clock) and by size, in bounded steps (the active one last,
 * after rolling an empty one, as Kafka does), moving
 * logStartOffset (persisted) so reads below it are OFFSET_OUT_OF_RANGE.
 */
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../src/storage/storage-error.js';
import { defaultTopicConfig } from '../../src/storage/topic-config.js';
import { batchOf, useTempLogs } from '../storage/helpers.js';

const temp = useTempLogs();
const hour = 3_600_000;

describe('segments', () => {
  it('rolls when the next batch would pass segment.bytes, and when the active segment is older than segment.ms', () => {
    let now = 1_000_000;
    const size = batchOf(1).length;
    const log = temp.open({ clock: () => now, config: { segmentBytes: size * 2, segmentMs: hour } });
    for (let i = 0; i < 5; i++) log.append(batchOf(1, { timestampMs: now }));
    expect(log.segments.map((s) => s.baseOffset)).toEqual([0, 2, 4]);
    now += hour;
    log.append(batchOf(1, { timestampMs: now }));
    expect(log.segments.map((s) => s.baseOffset)).toEqual([0, 2, 4, 5]);
    expect(log.segments.reduce((n, s) => n + s.sizeBytes, 0)).toBe(log.sizeBytes);
  });

  it('recovers segments and their sizes on reopen', () => {
    const dir = temp.dir();
    const size = batchOf(2).length;
    const path = `${dir}/p.db`;
    const log = temp.open({ path, config: { segmentBytes: size } });
    for (let i = 0; i < 4; i++) log.append(batchOf(2));
    const before = log.segments;
    log.close();
    const again = temp.open({ path, config: { segmentBytes: size } });
    expect(again.segments).toEqual(before);
  });
});

describe('retention by time', () => {
  it('deletes segments whose newest timestamp is older than retention.ms, the active one last after rolling an empty one', () => {
    let now = 10 * hour;
    const log = temp.open({ clock: () => now, config: { segmentMs: hour, retentionMs: 2 * hour } });
    for (let i = 0; i < 4; i++) {
      log.append(batchOf(3, { timestampMs: now }));
      now += hour;
    }
    // Segments hold offsets 0-2 (t=10h), 3-5 (11h), 6-8 (12h), 9-11 (13h, active). Now is 14h.
    expect(log.segments.map((s) => s.baseOffset)).toEqual([0, 3, 6, 9]);
    const step = log.enforceRetention(now, 100);
    expect(step).toMatchObject({ batchesDeleted: 2, logStartOffset: 6, more: false });
    expect(log.segments.map((s) => s.baseOffset)).toEqual([6, 9]);
    expect(() => log.read(5, 1 << 20)).toThrow(StorageError);
    expect(log.read(6, 1 << 20).batches.length).toBe(2);
    now += hour; // 15h: 6-8 (12h) is past retention, the active 9-11 (13h) not yet
    expect(log.enforceRetention(now, 100)).toMatchObject({ logStartOffset: 9 });
    expect(log.segments.map((s) => s.baseOffset)).toEqual([9]);
    // Once the active segment is past retention too, an empty one is rolled at the log end
    // and the old one goes, as in Kafka: the log is empty and appends go on at offset 12.
    now += 10 * hour;
    expect(log.enforceRetention(now, 100)).toMatchObject({ batchesDeleted: 1, logStartOffset: 12, more: false });
    expect(log.segments.map((s) => [s.baseOffset, s.sizeBytes])).toEqual([[12, 0]]);
    expect(log.logEndOffset).toBe(12);
    expect(log.enforceRetention(now + 100 * hour, 100).batchesDeleted).toBe(0);
    expect(log.append(batchOf(1, { timestampMs: now })).baseOffset).toBe(12);
    expect(log.segments.map((s) => s.baseOffset)).toEqual([12]);
  });

  it('does nothing for cleanup.policy=compact, and persists logStartOffset across reopen', () => {
    let now = 0;
    const dir = temp.dir();
    const path = `${dir}/p.db`;
    const log = temp.open({ path, clock: () => now, config: { segmentMs: 1, retentionMs: 10, cleanupPolicy: 'compact' } });
    for (let i = 0; i < 3; i++) {
      log.append(batchOf(1, { timestampMs: now }));
      now += 100;
    }
    expect(log.enforceRetention(now, 10).batchesDeleted).toBe(0);
    log.setConfig({ ...log.config, cleanupPolicy: 'compact,delete' });
    // Every segment is past retention, the active one too: the log empties (an empty active
    // segment is rolled at offset 3), and reopens empty at offset 3.
    expect(log.enforceRetention(now, 10)).toMatchObject({ batchesDeleted: 3, logStartOffset: 3 });
    log.close();
    const again = temp.open({ path, clock: () => now });
    expect(again.logStartOffset).toBe(3);
    expect(again.logEndOffset).toBe(3);
    expect(again.segments.map((s) => [s.baseOffset, s.sizeBytes])).toEqual([[3, 0]]);
    expect(again.append(batchOf(1, { timestampMs: now })).baseOffset).toBe(3);
  });

  it('spreads a large segment over several bounded steps', () => {
    let now = 0;
    const log = temp.open({ clock: () => now, config: { segmentMs: 1_000, retentionMs: 1_000 } });
    for (let i = 0; i < 10; i++) log.append(batchOf(1, { timestampMs: 0 }));
    now = 5_000;
    log.append(batchOf(1, { timestampMs: now }));
    const steps = [];
    for (let i = 0; i < 10; i++) {
      const step = log.enforceRetention(now, 3);
      steps.push(step.batchesDeleted);
      if (!step.more) break;
    }
    expect(steps).toEqual([3, 3, 3, 1]);
    expect(log.logStartOffset).toBe(10);
    expect(log.sizeBytes).toBe(log.segments.reduce((n, s) => n + s.sizeBytes, 0));
  });
});

describe('retention by size', () => {
  it('deletes the oldest segments while the rest stays at or above retention.bytes', () => {
    const size = batchOf(1).length;
    const log = temp.open({ config: { segmentBytes: size * 2, retentionBytes: size * 3 } });
    for (let i = 0; i < 7; i++) log.append(batchOf(1, { timestampMs: Date.now() }));
    // Segments of 2, 2, 2 and 1 (active) batches: 7 batches; dropping two segments leaves 3.
    expect(log.enforceRetention(Date.now(), 100)).toMatchObject({ batchesDeleted: 4, logStartOffset: 4 });
    expect(log.sizeBytes).toBe(size * 3);
    expect(log.enforceRetention(Date.now(), 100).batchesDeleted).toBe(0);
  });

  it('keeps data at or past the high watermark', () => {
    const size = batchOf(1).length;
    const log = temp.open({ highWatermarkFollowsLogEnd: false, config: { ...defaultTopicConfig, segmentBytes: size, retentionBytes: 0 } });
    for (let i = 0; i < 4; i++) log.append(batchOf(1, { timestampMs: Date.now() }));
    log.setHighWatermark(2);
    expect(log.enforceRetention(Date.now(), 100)).toMatchObject({ logStartOffset: 2 });
  });
});
