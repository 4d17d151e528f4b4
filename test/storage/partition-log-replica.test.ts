/**
 * The storage side of replication (issue 16): a follower copies the leader's batches with
 * appendReplica, chunk by chunk as Fetch responses carry them, and ends with byte-identical
 * batches at identical offsets, the same leader-epoch cache and the same producer state, so a
 * producer's retry after a failover is a duplicate there too. Also: OffsetForLeaderEpoch
 * answers, the cache under truncation, DeleteRecords and retention, resetTo, the high
 * watermark's checkpoints, the schema 3 -> 4 migration that seeds the cache, and what
 * appendReplica refuses or ignores. Real SQLite files in a temp dir; storage only.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaVersion } from '../../src/storage/limits.js';
import type { LeaderEpochEntry, PartitionLog, PartitionLogOptions } from '../../src/storage/partition-log.js';
import { buildBatch, parseBatchHeader, storedBatchOptions } from '../../src/storage/record-batch.js';
import { StorageError, type StorageErrorCode } from '../../src/storage/storage-error.js';
import { batchOf, useTempLogs } from './helpers.js';

const temp = useTempLogs();
const nowMs = 1_800_000_000_000;
/** Both logs share one fixed clock, so producer entries (which keep the append time) compare equal. */
const replicated: Partial<PartitionLogOptions> = { highWatermarkFollowsLogEnd: false, clock: () => nowMs };

function codeOf(fn: () => unknown): StorageErrorCode | 'none' {
  try {
    fn();
  } catch (err) {
    if (err instanceof StorageError) return err.code;
    throw err;
  }
  return 'none';
}

/** A batch of `count` records from an idempotent producer. */
const produce = (producerId: number, baseSequence: number, count = 2, producerEpoch = 0) => batchOf(count, { producerId, producerEpoch, baseSequence });

/** A batch as a leader stored it: at `baseOffset`, stamped with `epoch`. */
function stored(baseOffset: number, epoch: number, count = 2, extra: Parameters<typeof batchOf>[1] = {}): Buffer {
  return batchOf(count, { baseOffset, partitionLeaderEpoch: epoch, ...extra });
}

/** Every stored batch, whatever the high watermark. */
function allBatches(log: PartitionLog): Buffer[] {
  return log.logEndOffset === log.logStartOffset ? [] : log.read(log.logStartOffset, 1 << 30, { maxOffsetExclusive: log.logEndOffset }).batches;
}

/** The follower's fetch loop: reads past the leader's high watermark up to its log end, in chunks of about `chunkBytes`. */
function replicate(leader: PartitionLog, follower: PartitionLog, chunkBytes: number): number {
  let fetches = 0;
  while (follower.logEndOffset < leader.logEndOffset) {
    const r = leader.read(follower.logEndOffset, chunkBytes, { maxOffsetExclusive: leader.logEndOffset });
    expect(r.batches.length).toBeGreaterThan(0);
    follower.appendReplica(Buffer.concat(r.batches));
    follower.setHighWatermark(r.highWatermark);
    fetches++;
  }
  return fetches;
}

/**
 * A leader with three idempotent producers, a plain producer and a transaction marker, across
 * epochs 1 and 3, and a follower that copied it all. Returns what the leader answered.
 */
function leaderAndFollower() {
  const leader = temp.open(replicated);
  const follower = temp.open(replicated);
  leader.setLeaderEpoch(1);
  const first = [
    leader.append(produce(10, 0)), // 0-1
    leader.append(produce(11, 0, 3)), // 2-4
    leader.append(batchOf(1)), // 5
    leader.append(produce(10, 2)), // 6-7
    leader.append(produce(12, 0)), // 8-9
  ];
  leader.setLeaderEpoch(3);
  const second = [
    leader.append(produce(11, 3)), // 10-11
    leader.append(produce(10, 4, 1)), // 12
    leader.append(buildBatch({ records: [{ key: null, value: 'marker' }], producerId: 12, producerEpoch: 0, isControl: true, isTransactional: true }), {
      origin: 'coordinator',
    }), // 13
    leader.append(produce(12, 2, 3)), // 14-16
  ];
  leader.setHighWatermark(12);
  return { leader, follower, first, second };
}

describe('a follower copies the leader', () => {
  it('chunk by chunk, to byte-identical batches at identical offsets, with the same epochs and producers', () => {
    const { leader, follower, second } = leaderAndFollower();
    expect(second.map((r) => r.baseOffset)).toEqual([10, 12, 13, 14]);
    expect(leader.leaderEpochs).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 10 },
    ]);
    // About one or two batches per fetch; the leader's high watermark (12) does not bound them.
    expect(replicate(leader, follower, 150)).toBeGreaterThan(4);
    expect(follower.logEndOffset).toBe(17);
    expect(follower.highWatermark).toBe(12);
    const copied = allBatches(follower);
    expect(copied).toEqual(allBatches(leader));
    expect(copied.map((b) => parseBatchHeader(b, 0, storedBatchOptions).partitionLeaderEpoch)).toEqual([1, 1, 1, 1, 1, 3, 3, 3, 3]);
    expect(follower.leaderEpochs).toEqual(leader.leaderEpochs);
    expect(follower.latestEpoch).toBe(3);
    for (const pid of [10, 11, 12]) expect(follower.producerState(pid), `producer ${pid}`).toEqual(leader.producerState(pid));
    expect(follower.sizeBytes).toBe(leader.sizeBytes);
    expect(follower.segments.map((s) => [s.baseOffset, s.sizeBytes])).toEqual(leader.segments.map((s) => [s.baseOffset, s.sizeBytes]));
    // A consumer of the follower (KIP-392) reads below the high watermark only.
    expect(follower.read(0, 1 << 20).batches).toEqual(copied.slice(0, 6));

    // Both survive a reopen the same way.
    const path = follower.path;
    follower.close();
    const again = temp.open({ ...replicated, path });
    expect(again.leaderEpochs).toEqual(leader.leaderEpochs);
    expect(again.highWatermark).toBe(12);
    for (const pid of [10, 11, 12]) expect(again.producerState(pid)).toEqual(leader.producerState(pid));
  });

  it('answers OffsetForLeaderEpoch for every epoch as the leader does', () => {
    const { leader, follower } = leaderAndFollower();
    replicate(leader, follower, 1 << 20);
    for (const log of [leader, follower]) {
      expect(log.epochEndOffset(3)).toEqual({ epoch: 3, endOffset: 17 }); // the latest: the log end
      expect(log.epochEndOffset(2)).toEqual({ epoch: 1, endOffset: 10 }); // never a leader: the epoch below, ending where 3 starts
      expect(log.epochEndOffset(1)).toEqual({ epoch: 1, endOffset: 10 });
      expect(log.epochEndOffset(0)).toEqual({ epoch: 0, endOffset: 0 }); // older than any cached: it ended where the first starts (Kafka's answer)
      expect(log.epochEndOffset(-1)).toEqual({ epoch: -1, endOffset: -1 });
      expect(log.epochEndOffset(7)).toEqual({ epoch: -1, endOffset: -1 }); // newer than any: unknown (Kafka's answer)
    }
    expect(temp.open().epochEndOffset(0)).toEqual({ epoch: -1, endOffset: -1 });
  });

  it('after a failover recognises a retried batch it copied as a duplicate, and appends the next sequence', () => {
    const { leader, follower, first, second } = leaderAndFollower();
    replicate(leader, follower, 1 << 20);
    follower.setLeaderEpoch(4);
    expect(follower.leaderEpochs).toEqual([...leader.leaderEpochs, { epoch: 4, startOffset: 17 }]);
    // Retries of batches the old leader acknowledged get their original offsets, on either log.
    for (const log of [leader, follower]) {
      expect(log.append(produce(10, 2))).toEqual({ ...first[3], duplicate: true });
      expect(log.append(produce(12, 2, 3))).toEqual({ ...second[3], duplicate: true });
      expect(log.append(produce(11, 0, 3))).toMatchObject({ baseOffset: 2, lastOffset: 4, duplicate: true });
    }
    expect(follower.logEndOffset).toBe(17);
    expect(codeOf(() => follower.append(produce(10, 7)))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    const next = follower.append(produce(10, 5));
    expect(next).toMatchObject({ baseOffset: 17, lastOffset: 18, duplicate: false });
    const [batch] = follower.read(17, 1 << 20, { maxOffsetExclusive: follower.logEndOffset }).batches;
    expect(parseBatchHeader(batch!, 0, storedBatchOptions)).toMatchObject({ baseOffset: 17, partitionLeaderEpoch: 4 });
    expect(follower.epochEndOffset(3)).toEqual({ epoch: 3, endOffset: 17 });
    expect(follower.epochEndOffset(4)).toEqual({ epoch: 4, endOffset: 19 });
  });

  it('takes control batches, leaves producers where markers find them, and copies gaps and sparse batches of a compacted leader', async () => {
    const config = { cleanupPolicy: 'compact' as const, segmentBytes: 14, minCleanableDirtyRatio: 0 };
    const leader = temp.open({ ...replicated, config });
    leader.setLeaderEpoch(2);
    const records: Array<Array<[string, string]>> = [
      [['x', '1']],
      [
        ['a', '1'],
        ['b', '1'],
      ],
      [['y', '1']],
      [['a', '2']],
      [
        ['x', '2'],
        ['y', '2'],
      ],
      [['z', '1']],
    ];
    for (const batch of records) leader.append(buildBatch({ records: batch.map(([key, value]) => ({ key, value })), timestampMs: 1_000 }));
    // A transaction marker of producer 9, after its one data batch.
    leader.append(produce(9, 0, 1));
    leader.append(buildBatch({ records: [{ key: null, value: 'marker' }], producerId: 9, producerEpoch: 0, isControl: true, isTransactional: true }), { origin: 'coordinator' });
    leader.setHighWatermark(leader.logEndOffset);
    for (let i = 0; i < 100; i++) if ((await leader.compactStep(nowMs, 1 << 20)).phase === 'idle') break;
    const headers = allBatches(leader).map((b) => parseBatchHeader(b, 0, storedBatchOptions));
    // x@0 and y@3 were compacted away; the batch at 1 keeps b only (sparse: 2 offsets, 1 record).
    expect(headers.map((h) => [h.baseOffset, h.lastOffsetDelta, h.recordCount])).toEqual([
      [1, 1, 1],
      [4, 0, 1],
      [5, 1, 2],
      [7, 0, 1],
      [8, 0, 1],
      [9, 0, 1],
    ]);

    const follower = temp.open({ ...replicated, config });
    expect(follower.appendReplica(Buffer.concat(allBatches(leader)))).toEqual({ baseOffset: 1, lastOffset: 9, logAppendTimeMs: -1, logStartOffset: 0, duplicate: false });
    expect(allBatches(follower)).toEqual(allBatches(leader));
    expect(follower.producerState(9)).toEqual(leader.producerState(9));
    expect(follower.producerState(9)!.batches).toHaveLength(1);
    // The epoch starts at the first batch the follower has: the leader's first was compacted away.
    expect(follower.leaderEpochs).toEqual([{ epoch: 2, startOffset: 1 }]);
  });
});

describe('the leader-epoch cache', () => {
  it('is assigned by setLeaderEpoch at the log end, and by a new log first append', () => {
    const fresh = temp.open();
    fresh.append(batchOf(2));
    expect(fresh.leaderEpochs).toEqual([{ epoch: 0, startOffset: 0 }]);

    const log = temp.open();
    log.setLeaderEpoch(1);
    log.setLeaderEpoch(2); // no append under 1: its entry is replaced
    expect(log.leaderEpochs).toEqual([{ epoch: 2, startOffset: 0 }]);
    log.append(batchOf(3));
    log.setLeaderEpoch(2); // the same epoch: nothing changes
    expect(log.leaderEpochs).toEqual([{ epoch: 2, startOffset: 0 }]);
    log.setLeaderEpoch(5);
    log.append(batchOf(1));
    expect(log.leaderEpochs).toEqual([
      { epoch: 2, startOffset: 0 },
      { epoch: 5, startOffset: 3 },
    ]);
    expect(log.latestEpoch).toBe(5);
    expect(() => log.setLeaderEpoch(4)).toThrow(/leader epoch 4 < 5/);
    // The getter returns a copy.
    (log.leaderEpochs as LeaderEpochEntry[])[0]!.epoch = 99;
    expect(log.leaderEpochs[0]!.epoch).toBe(2);
  });

  it('loses an epoch led without a write when truncated at the log end, as Kafka does (a follower would name it forever)', () => {
    const log = temp.open();
    log.append(batchOf(5));
    log.setLeaderEpoch(1); // led epoch 1, wrote nothing
    expect(log.leaderEpochs).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 1, startOffset: 5 },
    ]);
    log.truncateTo(log.logEndOffset);
    expect(log.logEndOffset).toBe(5);
    expect(log.leaderEpochs).toEqual([{ epoch: 0, startOffset: 0 }]);
    expect(log.latestEpoch).toBe(0);
  });

  it('loses the entries truncation removes, and moves its first one up with the log start', () => {
    const path = join(temp.dir(), 'p.db');
    const log = temp.open({ ...replicated, path, config: { segmentBytes: 14 } });
    // Epochs 1 at 0, 3 at 4, 4 at 8, 6 at 12; every batch in its own segment.
    log.appendReplica(Buffer.concat([stored(0, 1), stored(2, 1), stored(4, 3), stored(6, 3), stored(8, 4), stored(10, 4), stored(12, 6), stored(14, 6)]));
    expect(log.leaderEpochs.map((e) => [e.epoch, e.startOffset])).toEqual([
      [1, 0],
      [3, 4],
      [4, 8],
      [6, 12],
    ]);
    log.truncateTo(13); // the batch holding 13 goes whole: the log ends at 12, epoch 6 with it
    expect(log.logEndOffset).toBe(12);
    expect(log.leaderEpochs.map((e) => [e.epoch, e.startOffset])).toEqual([
      [1, 0],
      [3, 4],
      [4, 8],
    ]);
    expect(log.epochEndOffset(6)).toEqual({ epoch: -1, endOffset: -1 }); // epoch 6 went with the truncation
    expect(log.epochEndOffset(4)).toEqual({ epoch: 4, endOffset: 12 });
    log.truncateTo(11);
    expect(log.leaderEpochs.map((e) => e.epoch)).toEqual([1, 3, 4]);

    log.setHighWatermark(log.logEndOffset);
    expect(log.deleteRecordsBefore(5)).toBe(5);
    expect(log.leaderEpochs.map((e) => [e.epoch, e.startOffset])).toEqual([
      [3, 5],
      [4, 8],
    ]);
    expect(log.epochEndOffset(1)).toEqual({ epoch: 1, endOffset: 5 }); // trimmed away: it ends where the cache now starts
    expect(log.deleteRecordsBefore(8)).toBe(8); // exactly where epoch 4 starts: epoch 3 goes
    expect(log.leaderEpochs.map((e) => [e.epoch, e.startOffset])).toEqual([[4, 8]]);

    // Retention moves it too (retention.bytes 0 deletes every segment below the high watermark).
    log.setConfig({ ...log.config, retentionBytes: 0 });
    expect(log.enforceRetention(nowMs, 100).logStartOffset).toBe(10);
    expect(log.leaderEpochs).toEqual([{ epoch: 4, startOffset: 10 }]);
    log.close();
    expect(temp.open({ ...replicated, path }).leaderEpochs).toEqual([{ epoch: 4, startOffset: 10 }]);
  });

  it('is restored with the rest of memory when a transaction fails', () => {
    const log = temp.open(replicated);
    log.appendReplica(stored(0, 1));
    log.failurePoints.set('commit', true, 1);
    expect(codeOf(() => log.appendReplica(Buffer.concat([stored(2, 2, 2, { producerId: 5, producerEpoch: 0, baseSequence: 0 }), stored(4, 3)])))).toBe('KAFKA_STORAGE_ERROR');
    expect([log.logEndOffset, log.leaderEpochs, log.producerState(5), log.segments.length]).toEqual([2, [{ epoch: 1, startOffset: 0 }], undefined, 1]);
    expect(log.appendReplica(stored(2, 2))).toMatchObject({ baseOffset: 2, lastOffset: 3 });
    expect(log.leaderEpochs.map((e) => e.epoch)).toEqual([1, 2]);

    // A leader append that would assign the epoch of a new log assigns nothing if its commit fails.
    const fresh = temp.open();
    fresh.failurePoints.set('commit', true, 1);
    expect(fresh.appendMany([batchOf(1)])[0]).toMatchObject({ code: 'KAFKA_STORAGE_ERROR' });
    expect(fresh.leaderEpochs).toEqual([]);
    fresh.append(batchOf(1));
    expect(fresh.leaderEpochs).toEqual([{ epoch: 0, startOffset: 0 }]);
  });
});

describe('appendReplica refuses and ignores', () => {
  it('batches overlapping the log or each other, and a corrupt CRC, writing nothing', () => {
    const log = temp.open(replicated);
    log.appendReplica(Buffer.concat([stored(0, 1), stored(2, 1)]));
    const before = { end: log.logEndOffset, size: log.sizeBytes, batches: allBatches(log), epochs: log.leaderEpochs };
    const unchanged = () => expect({ end: log.logEndOffset, size: log.sizeBytes, batches: allBatches(log), epochs: log.leaderEpochs }).toEqual(before);

    const overlapLog = (() => {
      try {
        log.appendReplica(stored(3, 2));
      } catch (err) {
        return err as StorageError;
      }
      throw new Error('no error');
    })();
    expect(overlapLog.code).toBe('INVALID_RECORD');
    expect(overlapLog.message).toMatch(/base offset 3 .*log end offset 4/);
    unchanged();

    const overlapBatch = (() => {
      try {
        log.appendReplica(Buffer.concat([stored(4, 2), stored(7, 2, 3), stored(9, 2)]));
      } catch (err) {
        return err as StorageError;
      }
      throw new Error('no error');
    })();
    expect(overlapBatch.code).toBe('INVALID_RECORD');
    expect(overlapBatch.message).toMatch(/base offset 9 .*last offset 9/);
    unchanged();

    const corrupt = stored(6, 2);
    corrupt[corrupt.length - 1]! ^= 0xff;
    expect(codeOf(() => log.appendReplica(Buffer.concat([stored(4, 2), corrupt])))).toBe('CORRUPT_MESSAGE');
    unchanged();
    const badMagic = stored(4, 2);
    badMagic.writeInt8(1, 16);
    expect(codeOf(() => log.appendReplica(badMagic))).toBe('UNSUPPORTED_FOR_MESSAGE_FORMAT');
    unchanged();

    // A gap is the leader's compaction: accepted.
    expect(log.appendReplica(stored(10, 2))).toMatchObject({ baseOffset: 10, lastOffset: 11 });
    expect(log.logEndOffset).toBe(12);
  });

  it('a partial batch at the end of a fetch, appending the whole ones before it', () => {
    const log = temp.open(replicated);
    const next = stored(2, 1);
    expect(log.appendReplica(Buffer.concat([stored(0, 1), next.subarray(0, 40)]))).toMatchObject({ baseOffset: 0, lastOffset: 1 });
    expect(log.appendReplica(Buffer.concat([next, stored(4, 1).subarray(0, 7)]))).toMatchObject({ baseOffset: 2, lastOffset: 3 });
    // No whole batch: nothing appended, offsets -1.
    const none = { baseOffset: -1, lastOffset: -1, logAppendTimeMs: -1, logStartOffset: 0, duplicate: false };
    expect(log.appendReplica(stored(4, 1).subarray(0, 70))).toEqual(none);
    expect(log.appendReplica(new Uint8Array(0))).toEqual(none);
    expect(log.logEndOffset).toBe(4);
    expect(allBatches(log)).toHaveLength(2);
  });

  it('control batches from the leader, which clients may not append', () => {
    const log = temp.open(replicated);
    const marker = buildBatch({
      baseOffset: 0,
      partitionLeaderEpoch: 1,
      records: [{ key: null, value: 'm' }],
      producerId: 3,
      producerEpoch: 0,
      isControl: true,
      isTransactional: true,
    });
    expect(codeOf(() => log.append(Buffer.from(marker)))).toBe('INVALID_RECORD');
    expect(log.appendReplica(marker)).toMatchObject({ baseOffset: 0, lastOffset: 0 });
    expect(log.producerState(3)).toBeUndefined();
  });

  it('moves the high watermark only when it follows the log end', () => {
    const single = temp.open();
    single.appendReplica(stored(0, 1));
    expect(single.highWatermark).toBe(2);
    const log = temp.open(replicated);
    log.appendReplica(stored(0, 1));
    expect(log.highWatermark).toBe(0);
  });

  it('stores LogAppendTime batches as the leader stamped them, with the same timestamp index', () => {
    const config = { messageTimestampType: 'LogAppendTime' as const };
    const leader = temp.open({ ...replicated, config });
    leader.append(batchOf(2, { timestampMs: 5 }), { nowMs: 7_000 });
    leader.append(batchOf(2, { timestampMs: 5 }), { nowMs: 8_000 });
    const follower = temp.open({ ...replicated, config });
    follower.appendReplica(Buffer.concat(allBatches(leader)));
    expect(allBatches(follower)).toEqual(allBatches(leader));
    for (const log of [leader, follower]) {
      log.setHighWatermark(log.logEndOffset);
      expect(log.offsetForTimestamp(7_500)).toEqual({ offset: 2, timestampMs: 8_000 });
      expect(log.maxTimestampOffset()).toEqual({ offset: 2, timestampMs: 8_000 });
    }
  });
});

describe('resetTo', () => {
  it('empties the log and restarts it at an offset, for good', () => {
    const path = join(temp.dir(), 'p.db');
    const log = temp.open({ ...replicated, path });
    log.appendReplica(Buffer.concat([stored(0, 1, 2, { producerId: 4, producerEpoch: 0, baseSequence: 0 }), stored(2, 2)]));
    log.setHighWatermark(3);
    log.resetTo(100);
    const expectEmptyAt100 = (l: PartitionLog) => {
      expect({ start: l.logStartOffset, end: l.logEndOffset, hw: l.highWatermark, size: l.sizeBytes }).toEqual({ start: 100, end: 100, hw: 100, size: 0 });
      expect(l.leaderEpochs).toEqual([]);
      expect(l.segments).toEqual([]);
      expect(l.producerState(4)).toBeUndefined();
      expect(l.read(100, 1 << 20, { maxOffsetExclusive: l.logEndOffset }).batches).toEqual([]);
      expect(codeOf(() => l.read(99, 1 << 20))).toBe('OFFSET_OUT_OF_RANGE');
    };
    expectEmptyAt100(log);
    log.close();
    const again = temp.open({ ...replicated, path });
    expectEmptyAt100(again);
    expect(again.appendReplica(stored(100, 5))).toMatchObject({ baseOffset: 100, lastOffset: 101, logStartOffset: 100 });
    expect(again.leaderEpochs).toEqual([{ epoch: 5, startOffset: 100 }]);
    expect(again.segments.map((s) => s.baseOffset)).toEqual([100]);
    // Back to a lower offset works too (a leader whose log was deleted and recreated).
    again.resetTo(0);
    expect({ start: again.logStartOffset, end: again.logEndOffset }).toEqual({ start: 0, end: 0 });
    expect(again.append(batchOf(1)).baseOffset).toBe(0);
  });
});

describe('the high watermark', () => {
  it('is checkpointed and restored when it does not follow the log end, clamped to the log', () => {
    const path = join(temp.dir(), 'p.db');
    const log = temp.open({ ...replicated, path });
    for (let i = 0; i < 5; i++) log.append(batchOf(2)); // 0-9
    log.setHighWatermark(4);
    log.checkpointHighWatermark();
    log.setHighWatermark(6); // not checkpointed, but close persists it
    log.close();
    const reopened = temp.open({ ...replicated, path });
    expect(reopened.highWatermark).toBe(6);
    reopened.setHighWatermark(3); // a follower takes a lower one from a new leader
    expect(reopened.highWatermark).toBe(3);
    reopened.close();
    expect(temp.open({ ...replicated, path }).highWatermark).toBe(3);
  });

  it('is clamped on open to [logStartOffset, logEndOffset], and starts at logStartOffset when never checkpointed', () => {
    const path = join(temp.dir(), 'p.db');
    const log = temp.open({ ...replicated, path });
    log.append(batchOf(4));
    log.setHighWatermark(4);
    log.deleteRecordsBefore(2);
    log.close();
    const db = new Database(path);
    db.prepare("UPDATE meta SET value = 1000 WHERE key = 'high_watermark'").run();
    db.close();
    expect(temp.open({ ...replicated, path }).highWatermark).toBe(4);
    const db2 = new Database(path);
    db2.prepare("UPDATE meta SET value = 1 WHERE key = 'high_watermark'").run();
    db2.close();
    expect(temp.open({ ...replicated, path }).highWatermark).toBe(2);
    const db3 = new Database(path);
    db3.prepare("DELETE FROM meta WHERE key = 'high_watermark'").run();
    db3.close();
    expect(temp.open({ ...replicated, path }).highWatermark).toBe(2);
  });

  it('follows the log end when asked, at open or at run time', () => {
    const path = join(temp.dir(), 'p.db');
    const log = temp.open({ ...replicated, path });
    log.append(batchOf(4));
    expect(log.highWatermark).toBe(0);
    expect(log.highWatermarkFollowsLogEnd).toBe(false);
    log.setHighWatermarkFollowsLogEnd(true);
    expect(log.highWatermark).toBe(4);
    log.append(batchOf(1));
    expect(log.highWatermark).toBe(5);
    log.setHighWatermarkFollowsLogEnd(false);
    log.append(batchOf(1));
    log.appendReplica(stored(6, 3));
    expect(log.highWatermark).toBe(5);
    log.close();
    expect(temp.open({ path }).highWatermark).toBe(8);
  });
});

describe('schema 3 logs', () => {
  /** The tables of schema 3 (before leader_epochs), as that version wrote them. */
  const schema3Sql = `
    CREATE TABLE batches (
      base_offset INTEGER PRIMARY KEY, last_offset INTEGER NOT NULL, first_timestamp INTEGER NOT NULL,
      max_timestamp INTEGER NOT NULL, producer_id INTEGER NOT NULL, producer_epoch INTEGER NOT NULL,
      base_sequence INTEGER NOT NULL, record_count INTEGER NOT NULL, bytes BLOB NOT NULL,
      delete_horizon_ms INTEGER NOT NULL DEFAULT -1, append_time_ms INTEGER NOT NULL
    );
    CREATE TABLE segments (base_offset INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE producer_state (
      producer_id INTEGER PRIMARY KEY, producer_epoch INTEGER NOT NULL, last_timestamp INTEGER NOT NULL, batches TEXT NOT NULL
    );
  `;

  /** A schema 3 file at `path` holding a batch of `count` records (default 2) at each offset, stamped with its epoch. */
  function writeSchema3(path: string, batches: Array<[offset: number, epoch: number, count?: number]>, leaderEpoch: number): void {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec(schema3Sql);
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', 3), ('leader_epoch', ?)").run(leaderEpoch);
    db.prepare('INSERT INTO segments (base_offset, created_ms) VALUES (?, 1000)').run(batches[0]?.[0] ?? 0);
    const insert = db.prepare(`INSERT INTO batches (base_offset, last_offset, first_timestamp, max_timestamp, producer_id, producer_epoch,
      base_sequence, record_count, bytes, append_time_ms) VALUES (?, ?, 1000, 1001, -1, -1, -1, ?, ?, ?)`);
    db.transaction(() => {
      for (const [offset, epoch, count = 2] of batches) insert.run(offset, offset + count - 1, count, stored(offset, epoch, count), nowMs);
    })();
    db.close();
  }

  /** What a scan in offset order finds: an entry each time the epoch rises. */
  function scanned(batches: Array<[offset: number, epoch: number, count?: number]>): LeaderEpochEntry[] {
    const entries: LeaderEpochEntry[] = [];
    for (const [startOffset, epoch] of batches) if (epoch > (entries[entries.length - 1]?.epoch ?? -1)) entries.push({ epoch, startOffset });
    return entries;
  }

  it('are migrated to schema 4 with the epoch cache seeded from the stored batches, once', () => {
    const path = join(temp.dir(), 'p.db');
    // Never stamped (-1), then epochs 0, 0, 2, 2, 2, 5, 5 (epoch 1 led without appending); offset 4 compacted away.
    const epochs = [-1, 0, 0, 2, 2, 2, 5, 5];
    const offsets = [0, 2, 6, 8, 10, 12, 14, 16];
    writeSchema3(
      path,
      offsets.map((offset, i) => [offset, epochs[i]!]),
      7,
    );
    const log = temp.open({ path });
    expect(log.leaderEpochs).toEqual([
      { epoch: 0, startOffset: 2 },
      { epoch: 2, startOffset: 8 },
      { epoch: 5, startOffset: 14 },
    ]);
    expect(log.leaderEpoch).toBe(7);
    expect(log.epochEndOffset(2)).toEqual({ epoch: 2, endOffset: 14 });
    expect(log.epochEndOffset(5)).toEqual({ epoch: 5, endOffset: 18 });
    // The first append stamps epoch 7, which the cache did not have yet.
    expect(log.append(batchOf(1)).baseOffset).toBe(18);
    expect(log.latestEpoch).toBe(7);
    expect(log.epochEndOffset(6)).toEqual({ epoch: 5, endOffset: 18 });
    log.close();

    const check = new Database(path, { readonly: true });
    try {
      expect(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({ value: schemaVersion });
      expect(schemaVersion).toBe(4);
      expect(check.prepare('SELECT epoch, start_offset FROM leader_epochs ORDER BY epoch').all()).toEqual([
        { epoch: 0, start_offset: 2 },
        { epoch: 2, start_offset: 8 },
        { epoch: 5, start_offset: 14 },
        { epoch: 7, start_offset: 18 },
      ]);
    } finally {
      check.close();
    }
    expect(temp.open({ path }).leaderEpochs.map((e) => e.epoch)).toEqual([0, 2, 5, 7]);
  });

  it('finds each rise wherever it is among adjacent one-record batches', () => {
    // The bisection's hardest case: no gaps, so every probe lands next to another batch.
    for (const n of [5, 8, 13]) {
      for (let rise = 1; rise < n; rise++) {
        const batches = Array.from({ length: n }, (_, i): [number, number, number] => [i, i < rise ? 0 : i < n - 1 ? 1 : 4, 1]);
        const path = join(temp.dir(), 'p.db');
        writeSchema3(path, batches, 0);
        const log = temp.open({ path });
        expect(log.leaderEpochs, `${n} batches, rise at ${rise}`).toEqual(scanned(batches));
        log.close();
      }
    }
  });

  it('property: the seeded cache is what a scan of every batch in offset order finds', () => {
    const logArb = fc
      .array(
        fc.record({
          gap: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 1_000 }), fc.constant(2 ** 40)),
          rise: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 3 })),
          count: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 3 })),
        }),
        {
          minLength: 0,
          maxLength: 60,
        },
      )
      .chain((steps) => fc.record({ steps: fc.constant(steps), firstEpoch: fc.integer({ min: -1, max: 2 }), unstamped: fc.nat({ max: 3 }) }));
    fc.assert(
      fc.property(logArb, ({ steps, firstEpoch, unstamped }) => {
        const batches: Array<[number, number, number]> = [];
        let offset = 0;
        let epoch = firstEpoch;
        steps.forEach(({ gap, rise, count }, i) => {
          offset += gap;
          epoch = i < unstamped ? -1 : Math.max(epoch, 0) + rise;
          batches.push([offset, epoch, count]);
          offset += count;
        });
        const path = join(temp.dir(), 'p.db');
        writeSchema3(path, batches, 0);
        const log = temp.open({ path });
        expect(log.leaderEpochs).toEqual(scanned(batches));
        log.close();
      }),
      { numRuns: 60 },
    );
  });
});
