import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { logPageBytes } from '../../src/storage/partition-log-recovery.js';
import { defaultTopicConfig } from '../../src/storage/topic-config.js';
import { buildBatch, parseBatchHeader, splitBatches } from '../../src/storage/record-batch.js';
import { StorageError, type StorageErrorCode } from '../../src/storage/storage-error.js';
import { batchOf, useTempLogs, withoutRewrittenFields } from './helpers.js';

const temp = useTempLogs();

function codeOf(fn: () => unknown): StorageErrorCode | 'none' {
  try {
    fn();
  } catch (err) {
    if (err instanceof StorageError) return err.code;
    throw err;
  }
  return 'none';
}

function allBytes(log: PartitionLog): Buffer {
  if (log.logStartOffset === log.logEndOffset) return Buffer.alloc(0);
  return Buffer.concat(log.read(log.logStartOffset, Number.MAX_SAFE_INTEGER).batches);
}

function stateOf(log: PartitionLog) {
  return {
    logStartOffset: log.logStartOffset,
    logEndOffset: log.logEndOffset,
    highWatermark: log.highWatermark,
    leaderEpoch: log.leaderEpoch,
    sizeBytes: log.sizeBytes,
    bytes: allBytes(log).toString('hex'),
  };
}

describe('append and read', () => {
  it('round-trips batch bytes unchanged except baseOffset and partitionLeaderEpoch', () => {
    const log = temp.open();
    log.setLeaderEpoch(4);
    const a = batchOf(3);
    const b = batchOf(2);
    const originals = [Buffer.from(a), Buffer.from(b)];
    expect(log.append(a)).toEqual({ baseOffset: 0, lastOffset: 2, logAppendTimeMs: -1, logStartOffset: 0, duplicate: false });
    expect(log.append(b)).toMatchObject({ baseOffset: 3, lastOffset: 4 });
    const read = log.read(0, 1 << 20);
    expect(read).toMatchObject({ highWatermark: 5, logStartOffset: 0, logEndOffset: 5, bytes: a.length + b.length });
    expect(read.batches.map(withoutRewrittenFields)).toEqual(originals.map(withoutRewrittenFields));
    expect(read.batches.map((x) => parseBatchHeader(x, 0)).map((h) => [h.baseOffset, h.partitionLeaderEpoch])).toEqual([
      [0, 4],
      [3, 4],
    ]);
    expect(log.sizeBytes).toBe(a.length + b.length);
  });

  it('assigns consecutive offsets to several batches in one append', () => {
    const log = temp.open();
    log.append(batchOf(1));
    const result = log.append(Buffer.concat([batchOf(2), batchOf(3), batchOf(4)]));
    expect(result).toMatchObject({ baseOffset: 1, lastOffset: 9 });
    const headers = log.read(0, 1 << 20).batches.map((x) => parseBatchHeader(x, 0));
    expect(headers.map((h) => h.baseOffset)).toEqual([0, 1, 3, 6]);
    expect(log.logEndOffset).toBe(10);
  });

  it('returns at least one batch even when it exceeds maxBytes, and whole batches only', () => {
    const log = temp.open();
    for (let i = 0; i < 5; i++) log.append(batchOf(10));
    const size = log.sizeBytes / 5;
    expect(log.read(0, 1).batches).toHaveLength(1);
    expect(log.read(0, 2 * size + 1).batches).toHaveLength(2);
    expect(log.read(0, 2 * size).batches).toHaveLength(2);
    const mid = log.read(25, 0);
    expect(parseBatchHeader(mid.batches[0]!, 0).baseOffset).toBe(20);
  });

  it('returns nothing at logEndOffset and OFFSET_OUT_OF_RANGE outside the log', () => {
    const log = temp.open();
    expect(log.read(0, 100).batches).toEqual([]);
    log.append(batchOf(3));
    expect(log.read(3, 100)).toMatchObject({ batches: [], bytes: 0, logEndOffset: 3 });
    expect(codeOf(() => log.read(4, 100))).toBe('OFFSET_OUT_OF_RANGE');
    expect(codeOf(() => log.read(-1, 100))).toBe('OFFSET_OUT_OF_RANGE');
  });

  it('does not return batches ending at or past maxOffsetExclusive or the high watermark', () => {
    const log = temp.open({ highWatermarkFollowsLogEnd: false });
    log.append(batchOf(2));
    log.append(batchOf(2));
    expect(log.highWatermark).toBe(0);
    expect(log.read(0, 1 << 20).batches).toHaveLength(0);
    log.setHighWatermark(2);
    expect(log.read(0, 1 << 20).batches).toHaveLength(1);
    expect(log.read(0, 1 << 20, { maxOffsetExclusive: 4 }).batches).toHaveLength(2);
    expect(log.read(0, 1 << 20, { maxOffsetExclusive: 3 }).batches).toHaveLength(1);
    // It may move back (a follower takes the leader's), and is clamped to [logStartOffset, logEndOffset].
    log.setHighWatermark(1);
    expect(log.highWatermark).toBe(1);
    log.setHighWatermark(99);
    expect(log.highWatermark).toBe(4);
    log.setHighWatermark(-5);
    expect(log.highWatermark).toBe(0);
  });
});

describe('rejected appends leave the log unchanged', () => {
  const cases: Array<[string, () => Buffer, StorageErrorCode]> = [
    [
      'flipped byte (CRC)',
      () => {
        const b = batchOf(3);
        b[b.length - 1]! ^= 0xff;
        return b;
      },
      'CORRUPT_MESSAGE',
    ],
    ['truncated batch', () => batchOf(3).subarray(0, 70), 'CORRUPT_MESSAGE'],
    [
      'batchLength too small',
      () => {
        const b = batchOf(3);
        b.writeInt32BE(20, 8);
        return b;
      },
      'CORRUPT_MESSAGE',
    ],
    [
      'batchLength past the buffer',
      () => {
        const b = batchOf(3);
        b.writeInt32BE(b.length, 8);
        return b;
      },
      'CORRUPT_MESSAGE',
    ],
    [
      'bad magic',
      () => {
        const b = batchOf(3);
        b.writeInt8(0, 16);
        return b;
      },
      'UNSUPPORTED_FOR_MESSAGE_FORMAT',
    ],
    ['trailing garbage', () => Buffer.concat([batchOf(3), Buffer.from('junk')]), 'CORRUPT_MESSAGE'],
    [
      'good batch then a corrupt one',
      () => {
        const bad = batchOf(2);
        bad[70]! ^= 1;
        return Buffer.concat([batchOf(3), bad]);
      },
      'CORRUPT_MESSAGE',
    ],
    ['control batch from a client', () => batchOf(1, { isControl: true, isTransactional: true, producerId: 1, producerEpoch: 0, baseSequence: 0 }), 'INVALID_RECORD'],
  ];
  for (const [name, make, code] of cases) {
    it(`${name}: ${code}`, () => {
      const log = temp.open();
      log.append(batchOf(4));
      const before = stateOf(log);
      expect(codeOf(() => log.append(make()))).toBe(code);
      expect(stateOf(log)).toEqual(before);
    });
  }

  it('rejects a batch over maxBatchBytes with MESSAGE_TOO_LARGE', () => {
    const log = temp.open({ maxBatchBytes: 200 });
    expect(codeOf(() => log.append(batchOf(50)))).toBe('MESSAGE_TOO_LARGE');
    expect(log.logEndOffset).toBe(0);
  });

  it('rejects timestamps too far from now with INVALID_TIMESTAMP when bounded', () => {
    const log = temp.open({ config: { ...defaultTopicConfig, messageTimestampBeforeMaxMs: 1000, messageTimestampAfterMaxMs: 1000 }, clock: () => 50_000 });
    expect(codeOf(() => log.append(batchOf(2, { timestampMs: 1000 })))).toBe('INVALID_TIMESTAMP');
    expect(log.append(batchOf(2, { timestampMs: 49_500 })).baseOffset).toBe(0);
    expect(codeOf(() => log.append(batchOf(2, { timestampMs: 49_500 }), { nowMs: 10_000 }))).toBe('INVALID_TIMESTAMP');
  });

  it('bounds the past and the future separately (before.max.ms, after.max.ms), and never checks -1', () => {
    const log = temp.open({ config: { ...defaultTopicConfig, messageTimestampBeforeMaxMs: 10_000, messageTimestampAfterMaxMs: 100 }, clock: () => 50_000 });
    expect(log.append(batchOf(1, { timestampMs: 41_000 })).baseOffset).toBe(0);
    expect(codeOf(() => log.append(batchOf(1, { timestampMs: 39_000 })))).toBe('INVALID_TIMESTAMP');
    expect(log.append(batchOf(1, { timestampMs: 50_100 })).baseOffset).toBe(1);
    expect(codeOf(() => log.append(batchOf(1, { timestampMs: 50_200 })))).toBe('INVALID_TIMESTAMP');
    expect(log.append(batchOf(1, { timestampMs: -1 })).baseOffset).toBe(2);
  });
});

describe('appendMany (group commit)', () => {
  it('commits the good items and returns the bad item its error', () => {
    const log = temp.open();
    const bad = batchOf(2);
    bad[bad.length - 1]! ^= 1;
    const results = log.appendMany([batchOf(2), bad, Buffer.concat([batchOf(1), batchOf(3)]), batchOf(1).subarray(0, 40)]);
    expect(results[0]).toMatchObject({ baseOffset: 0, lastOffset: 1, duplicate: false });
    expect(results[1]).toBeInstanceOf(StorageError);
    expect((results[1] as StorageError).code).toBe('CORRUPT_MESSAGE');
    expect(results[2]).toMatchObject({ baseOffset: 2, lastOffset: 5 });
    expect((results[3] as StorageError).code).toBe('CORRUPT_MESSAGE');
    expect(log.logEndOffset).toBe(6);
    expect(log.read(0, 1 << 20).batches.map((b) => parseBatchHeader(b, 0).baseOffset)).toEqual([0, 2, 3]);
  });

  it('a rejected producer batch does not disturb the producer state of the others', () => {
    const log = temp.open();
    const p = { producerId: 9, producerEpoch: 0 };
    const results = log.appendMany([
      batchOf(2, { ...p, baseSequence: 0 }),
      batchOf(2, { ...p, baseSequence: 5 }), // gap
      batchOf(2, { ...p, baseSequence: 2 }),
      batchOf(2, { ...p, baseSequence: 2 }), // retry of the previous item in the same group
    ]);
    expect(results.map((r) => (r instanceof StorageError ? r.code : [r.baseOffset, r.duplicate]))).toEqual([[0, false], 'OUT_OF_ORDER_SEQUENCE_NUMBER', [2, false], [2, true]]);
    expect(log.logEndOffset).toBe(4);
  });
});

describe('truncateTo and deleteRecordsBefore', () => {
  it('truncateTo removes the batch containing the offset and everything after', () => {
    const log = temp.open();
    for (let i = 0; i < 4; i++) log.append(batchOf(5));
    const sizeOne = log.sizeBytes / 4;
    log.truncateTo(12);
    expect(log.logEndOffset).toBe(10);
    expect(log.highWatermark).toBe(10);
    expect(log.sizeBytes).toBe(2 * sizeOne);
    expect(log.append(batchOf(1)).baseOffset).toBe(10);
    log.truncateTo(100);
    expect(log.logEndOffset).toBe(11);
    log.truncateTo(0);
    expect([log.logEndOffset, log.sizeBytes]).toEqual([0, 0]);
  });

  it('deleteRecordsBefore advances logStartOffset and deletes whole batches below it', () => {
    const log = temp.open();
    for (let i = 0; i < 4; i++) log.append(batchOf(5));
    const sizeOne = log.sizeBytes / 4;
    expect(log.deleteRecordsBefore(7)).toBe(7);
    expect(log.sizeBytes).toBe(3 * sizeOne);
    expect(codeOf(() => log.read(6, 100))).toBe('OFFSET_OUT_OF_RANGE');
    expect(parseBatchHeader(log.read(7, 1).batches[0]!, 0).baseOffset).toBe(5);
    expect(log.deleteRecordsBefore(3)).toBe(7);
    expect(codeOf(() => log.deleteRecordsBefore(21))).toBe('OFFSET_OUT_OF_RANGE');
    expect(log.deleteRecordsBefore(20)).toBe(20);
    expect([log.logStartOffset, log.logEndOffset, log.sizeBytes]).toEqual([20, 20, 0]);
    expect(log.read(20, 100).batches).toEqual([]);
    expect(log.append(batchOf(1)).baseOffset).toBe(20);
  });

  it('deleteRecordsBefore is bounded by the high watermark, not logEndOffset', () => {
    const log = temp.open({ highWatermarkFollowsLogEnd: false });
    log.append(batchOf(5));
    log.setHighWatermark(3);
    expect(codeOf(() => log.deleteRecordsBefore(4))).toBe('OFFSET_OUT_OF_RANGE');
    expect(log.deleteRecordsBefore(3)).toBe(3);
  });

  it('truncateTo below logStartOffset restarts the log there', () => {
    const log = temp.open();
    log.append(batchOf(10));
    log.deleteRecordsBefore(6);
    log.truncateTo(4);
    expect([log.logStartOffset, log.logEndOffset, log.sizeBytes]).toEqual([4, 4, 0]);
  });
});

describe('timestamps', () => {
  it('offsetForTimestamp finds the first record at or after a timestamp', () => {
    const log = temp.open();
    log.append(batchOf(5, { timestampMs: 1000 })); // offsets 0-4 at 1000-1004
    log.append(batchOf(5, { timestampMs: 2000 })); // offsets 5-9 at 2000-2004
    expect(log.offsetForTimestamp(0)).toEqual({ offset: 0, timestampMs: 1000 });
    expect(log.offsetForTimestamp(1003)).toEqual({ offset: 3, timestampMs: 1003 });
    expect(log.offsetForTimestamp(1005)).toEqual({ offset: 5, timestampMs: 2000 });
    expect(log.offsetForTimestamp(2004)).toEqual({ offset: 9, timestampMs: 2004 });
    expect(log.offsetForTimestamp(2005)).toBeNull();
    log.deleteRecordsBefore(2);
    expect(log.offsetForTimestamp(0)).toEqual({ offset: 2, timestampMs: 1002 });
    expect(log.offsetForTimestamp(1003, { maxOffsetExclusive: 3 })).toBeNull();
  });

  it('offsetForTimestamp answers with the batch start for compressed batches', () => {
    const log = temp.open();
    log.append(batchOf(2, { timestampMs: 10 }));
    log.append(
      buildBatch({
        compression: 1,
        records: [
          { value: 'a', timestamp: 20 },
          { value: 'b', timestamp: 30 },
        ],
      }),
    );
    expect(log.offsetForTimestamp(25)).toEqual({ offset: 2, timestampMs: 30 });
  });

  it('maxTimestampOffset finds the record with the largest timestamp, also after truncation and reopen', () => {
    const dir = temp.dir();
    const log = temp.open({ path: join(dir, 'p.db') });
    expect(log.maxTimestampOffset()).toBeNull();
    log.append(
      buildBatch({
        records: [
          { value: 'a', timestamp: 10 },
          { value: 'b', timestamp: 50 },
          { value: 'c', timestamp: 20 },
        ],
      }),
    );
    log.append(
      buildBatch({
        records: [
          { value: 'd', timestamp: 30 },
          { value: 'e', timestamp: 70 },
        ],
      }),
    );
    expect(log.maxTimestampOffset()).toEqual({ offset: 4, timestampMs: 70 });
    log.append(buildBatch({ records: [{ value: 'f', timestamp: 70 }] }));
    expect(log.maxTimestampOffset()).toEqual({ offset: 4, timestampMs: 70 });
    log.truncateTo(3);
    expect(log.maxTimestampOffset()).toEqual({ offset: 1, timestampMs: 50 });
    log.close();
    const reopened = temp.open({ path: join(dir, 'p.db') });
    expect(reopened.maxTimestampOffset()).toEqual({ offset: 1, timestampMs: 50 });
  });
});

describe('recovery', () => {
  it('rebuilds the same state after close and reopen', () => {
    const path = join(temp.dir(), 'p.db');
    const log = temp.open({ path });
    log.setLeaderEpoch(3);
    for (let i = 0; i < 5; i++) log.append(batchOf(i + 1));
    log.deleteRecordsBefore(4);
    log.truncateTo(12);
    const before = stateOf(log);
    log.close();
    const reopened = temp.open({ path });
    expect(stateOf(reopened)).toEqual(before);
    expect(reopened.append(batchOf(1)).baseOffset).toBe(before.logEndOffset);
  });

  it('keeps committed batches when the process dies without closing (WAL files copied while open)', () => {
    const dir = temp.dir();
    const path = join(dir, 'p.db');
    const log = temp.open({ path });
    for (let i = 0; i < 20; i++) log.append(batchOf(3));
    expect(existsSync(`${path}-wal`)).toBe(true);
    const crashed = join(dir, 'crashed.db');
    // Copying the database and its WAL while the writer is open is what a crash leaves on disk.
    copyFileSync(path, crashed);
    copyFileSync(`${path}-wal`, `${crashed}-wal`);
    const recovered = temp.open({ path: crashed });
    expect(stateOf(recovered)).toEqual(stateOf(log));
  });

  it('a second connection sees every committed batch of an open writer', () => {
    const path = join(temp.dir(), 'p.db');
    const writer = temp.open({ path });
    writer.append(batchOf(3));
    writer.appendMany([batchOf(2), batchOf(2)]);
    const reader = temp.open({ path });
    expect(stateOf(reader)).toEqual(stateOf(writer));
  });

  it('reports a file that is not a database as KAFKA_STORAGE_ERROR naming the file', () => {
    const path = join(temp.dir(), 'garbage.db');
    writeFileSync(path, Buffer.alloc(8192, 7));
    let error: unknown;
    try {
      PartitionLog.open({ path });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('KAFKA_STORAGE_ERROR');
    expect((error as StorageError).message).toContain(path);
  });

  it('reports a damaged page of a log not closed cleanly as KAFKA_STORAGE_ERROR from the integrity check', () => {
    const path = join(temp.dir(), 'p.db');
    const log = PartitionLog.open({ path });
    for (let i = 0; i < 50; i++) log.append(batchOf(100));
    log.close();
    const file = readFileSync(path);
    // Page 2 onwards are b-tree pages; scribbling over one's header breaks the tree.
    file.fill(0xee, logPageBytes * 2, logPageBytes * 2 + 64);
    writeFileSync(path, file);
    // A WAL file left behind is what a process that died with the log open leaves: the open checks.
    writeFileSync(`${path}-wal`, Buffer.alloc(0));
    expect(codeOf(() => PartitionLog.open({ path }))).toBe('KAFKA_STORAGE_ERROR');
  });

  it('does not read a cleanly closed log through at open (no integrity check), and checks one left with its WAL', () => {
    const path = join(temp.dir(), 'p.db');
    const log = PartitionLog.open({ path });
    log.append(batchOf(10));
    log.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    const reopened = PartitionLog.open({ path });
    expect(reopened.logEndOffset).toBe(10);
    // Left open (as by a SIGKILL): the WAL file stays, and the next open checks the file.
    reopened.append(batchOf(5));
    expect(existsSync(`${path}-wal`)).toBe(true);
    reopened.close();
  });

  it('throws a clear error once closed', () => {
    const log = temp.open();
    log.close();
    expect(() => log.append(batchOf(1))).toThrow(/is closed/);
    expect(codeOf(() => log.read(0, 1))).toBe('KAFKA_STORAGE_ERROR');
  });
});

describe('failure points', () => {
  it('an armed append point fails appends with KAFKA_STORAGE_ERROR until disarmed', () => {
    const log = temp.open();
    log.append(batchOf(1));
    log.failurePoints.set('append', true);
    expect(codeOf(() => log.append(batchOf(1)))).toBe('KAFKA_STORAGE_ERROR');
    expect(log.appendMany([batchOf(1), batchOf(1)]).map((r) => (r as StorageError).code)).toEqual(['KAFKA_STORAGE_ERROR', 'KAFKA_STORAGE_ERROR']);
    log.failurePoints.set('append', false);
    expect(log.append(batchOf(1)).baseOffset).toBe(1);
  });

  it('a failure at commit rolls back rows, offsets and producer state', () => {
    const log = temp.open();
    log.append(batchOf(2, { producerId: 1, producerEpoch: 0, baseSequence: 0 }));
    const before = stateOf(log);
    log.failurePoints.set('commit', true, 1);
    expect(codeOf(() => log.append(batchOf(2, { producerId: 1, producerEpoch: 0, baseSequence: 2 })))).toBe('KAFKA_STORAGE_ERROR');
    expect(stateOf(log)).toEqual(before);
    expect(log.producerState(1)!.batches).toHaveLength(1);
    expect(log.append(batchOf(2, { producerId: 1, producerEpoch: 0, baseSequence: 2 }))).toMatchObject({ baseOffset: 2, duplicate: false });
  });

  it('read, truncate and deleteRecords points', () => {
    const log = temp.open();
    log.append(batchOf(4));
    log.failurePoints.set('read', true, 1);
    expect(codeOf(() => log.read(0, 10))).toBe('KAFKA_STORAGE_ERROR');
    expect(log.read(0, 10).batches).toHaveLength(1);
    log.failurePoints.set('truncate', true);
    log.failurePoints.set('deleteRecords', true);
    expect(codeOf(() => log.truncateTo(1))).toBe('KAFKA_STORAGE_ERROR');
    expect(codeOf(() => log.deleteRecordsBefore(1))).toBe('KAFKA_STORAGE_ERROR');
    expect(log.failurePoints.armed().sort()).toEqual(['deleteRecords', 'truncate']);
    expect([log.logStartOffset, log.logEndOffset]).toEqual([0, 4]);
  });
});

describe('durability full', () => {
  it('works the same with synchronous=FULL', () => {
    const log = temp.open({ durability: 'full' });
    log.appendMany([batchOf(2), batchOf(2)]);
    expect(splitBatches(Buffer.concat(log.read(0, 1 << 20).batches))).toHaveLength(2);
  });
});
