/**
 * Time retention keys on the later of a segment's newest record timestamp and the wall-clock
 * time the broker appended its newest batch (an injected clock here), so records produced with
 * no timestamp (-1) or an old CreateTime are kept retention.ms after they arrived instead of
 * being deleted at the next check; retention.bytes is not held back by it. Append times survive
 * a reopen, and a schema 2 log (written before they were kept) opens with every batch counted
 * as appended at the upgrade. Runs in the test's own thread: storage only, no node.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaVersion } from '../../src/storage/limits.js';
import { type PartitionLog, retentionTimeMs } from '../../src/storage/partition-log.js';
import { buildBatch } from '../../src/storage/record-batch.js';
import { batchOf, useTempLogs } from '../storage/helpers.js';

const temp = useTempLogs();
const minute = 60_000;
const hour = 60 * minute;
/** A wall clock well past 1970, so that "old" timestamps are decades behind it. */
const start = 1_800_000_000_000;

/** A batch of `count` records, every one with timestamp `timestampMs` (-1: none). */
function batchAt(timestampMs: number, count = 1): Buffer {
  return buildBatch({ records: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `v${i}` })), timestampMs });
}

function offsetsOf(log: PartitionLog): { start: number; end: number; segments: number } {
  return { start: log.logStartOffset, end: log.logEndOffset, segments: log.segments.length };
}

describe('time retention and append times', () => {
  it('never deletes a segment whose newest batch arrived less than retention.ms ago, whatever its timestamps', () => {
    let now = start;
    // segment.bytes=14 gives every batch its own segment, so each one's fate shows on its own.
    const log = temp.open({ clock: () => now, config: { segmentBytes: 14, retentionMs: hour } });
    log.append(batchAt(-1, 2)); // offsets 0-1, no timestamp, arrives at start
    now += 20 * minute;
    log.append(batchAt(1_000, 2)); // offsets 2-3, CreateTime 1970, arrives at start + 20 min
    now += 20 * minute;
    log.append(batchAt(0, 2)); // offsets 4-5, CreateTime 0, arrives at start + 40 min (the active segment)
    const appended = offsetsOf(log);
    expect(appended).toEqual({ start: 0, end: 6, segments: 3 });

    // Every check up to an hour after the first arrival finds nothing due, and rolls nothing.
    for (now = start + 40 * minute; now <= start + hour; now += 5 * minute) {
      expect(log.enforceRetention(now, 100), `at start + ${(now - start) / minute} min`).toMatchObject({ batchesDeleted: 0, more: false });
      expect(offsetsOf(log)).toEqual(appended);
    }
    expect(log.read(0, 1 << 20).batches).toHaveLength(3);

    // Each segment goes once its own arrival is more than retention.ms old, the oldest first.
    now = start + hour + 1;
    expect(log.enforceRetention(now, 100)).toMatchObject({ batchesDeleted: 1, logStartOffset: 2 });
    now = start + 20 * minute + hour;
    expect(log.enforceRetention(now, 100).batchesDeleted).toBe(0);
    now += 1;
    expect(log.enforceRetention(now, 100)).toMatchObject({ batchesDeleted: 1, logStartOffset: 4 });
    expect(log.segments.map((s) => s.baseOffset)).toEqual([4]);

    // The active segment is rolled and deleted only once its newest batch's arrival is that old too.
    now = start + 40 * minute + hour;
    expect(log.enforceRetention(now, 100).batchesDeleted).toBe(0);
    expect(log.segments.map((s) => s.baseOffset)).toEqual([4]);
    now += 1;
    expect(log.enforceRetention(now, 100)).toMatchObject({ batchesDeleted: 1, logStartOffset: 6, more: false });
    expect(log.segments.map((s) => [s.baseOffset, s.sizeBytes])).toEqual([[6, 0]]);
  });

  it('judges the active segment by its newest batch: a batch appended just now keeps it, whatever came before', () => {
    let now = start;
    const log = temp.open({ clock: () => now, config: { retentionMs: minute } });
    log.append(batchAt(-1));
    now += 2 * minute;
    // The first batch alone would be due; the second, appended now, keeps the whole segment.
    log.append(batchAt(1_000));
    expect(log.enforceRetention(now + minute, 100)).toMatchObject({ batchesDeleted: 0, logStartOffset: 0 });
    expect(log.segments).toHaveLength(1);
    expect(log.enforceRetention(now + minute + 1, 100)).toMatchObject({ batchesDeleted: 2, logStartOffset: 2 });
  });

  it('still deletes by time once the arrival is old too, and keeps a record timestamped in the future until that timestamp is', () => {
    let now = start;
    const log = temp.open({ clock: () => now, config: { segmentBytes: 14, retentionMs: hour } });
    log.append(batchAt(now)); // 0: timestamp = arrival
    log.append(batchAt(now + 3 * hour)); // 1: timestamp three hours ahead of its arrival
    log.append(batchAt(now)); // 2: active
    now += 2 * hour;
    // 0 goes; 1 holds retention there (Kafka's rule, by max timestamp), and 2 stays behind it.
    expect(log.enforceRetention(now, 100)).toMatchObject({ batchesDeleted: 1, logStartOffset: 1 });
    now = start + 4 * hour + 1;
    expect(log.enforceRetention(now, 100)).toMatchObject({ batchesDeleted: 2, logStartOffset: 3 });
  });

  it('does not hold retention.bytes back: a size cap deletes the oldest segments however new', () => {
    const now = start;
    const size = batchAt(-1).length;
    const log = temp.open({ clock: () => now, config: { segmentBytes: 14, retentionBytes: size * 2 } });
    for (let i = 0; i < 4; i++) log.append(batchAt(-1));
    expect(log.enforceRetention(now, 100)).toMatchObject({ batchesDeleted: 2, logStartOffset: 2 });
  });

  it('keeps append times across a reopen', () => {
    let now = start;
    const path = join(temp.dir(), 'p.db');
    const config = { segmentBytes: 14, retentionMs: hour };
    const log = temp.open({ path, clock: () => now, config });
    log.append(batchAt(-1));
    now += 30 * minute;
    log.append(batchAt(1_000));
    log.append(batchAt(-1));
    const before = log.segments;
    expect(before.map((s) => s.newestAppendTimeMs)).toEqual([start, start + 30 * minute, start + 30 * minute]);
    log.close();
    now += 10 * hour;
    const again = temp.open({ path, clock: () => now, config });
    expect(again.segments).toEqual(before);
    expect(again.enforceRetention(start + hour, 100).batchesDeleted).toBe(0);
    expect(again.enforceRetention(start + hour + 1, 100)).toMatchObject({ batchesDeleted: 1, logStartOffset: 1 });
  });

  it('property: after any appends and checks, no batch appended within retention.ms of the check is gone', () => {
    type Step = { advanceMs: number; timestamp: 'none' | 'epoch' | 'now' | 'past' | 'future'; check: boolean };
    const stepArb: fc.Arbitrary<Step> = fc.record({
      advanceMs: fc.integer({ min: 0, max: 3 * hour }),
      timestamp: fc.constantFrom('none', 'epoch', 'now', 'past', 'future'),
      check: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 2 * hour }),
        (steps, recordsPerSegment, retentionMs) => {
          let now = start;
          const size = batchAt(-1).length;
          const log = temp.open({ clock: () => now, config: { segmentBytes: size * recordsPerSegment, retentionMs } });
          const appendedAt: number[] = [];
          for (const step of steps) {
            now += step.advanceMs;
            const timestampMs = { none: -1, epoch: 1_000, now, past: now - 10 * hour, future: now + hour }[step.timestamp];
            log.append(batchAt(timestampMs));
            appendedAt.push(now);
            if (!step.check) continue;
            for (let i = 0; i < 100 && log.enforceRetention(now, 2).more; i++);
            // Offsets are batch indexes here (one record per batch).
            appendedAt.forEach((at, offset) => {
              if (now - at <= retentionMs) expect(offset, `batch appended ${now - at} ms ago`).toBeGreaterThanOrEqual(log.logStartOffset);
            });
            // And retention did its work: the oldest segment left (unless empty) is not past retention.ms.
            const oldest = log.segments[0]!;
            if (oldest.sizeBytes > 0) expect(now - retentionTimeMs(oldest)).toBeLessThanOrEqual(retentionMs);
          }
          log.close();
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe('schema 2 logs', () => {
  /** The batches table and meta of schema 2 (before append_time_ms), as that version wrote them. */
  const schema2Sql = `
    CREATE TABLE batches (
      base_offset INTEGER PRIMARY KEY, last_offset INTEGER NOT NULL, first_timestamp INTEGER NOT NULL,
      max_timestamp INTEGER NOT NULL, producer_id INTEGER NOT NULL, producer_epoch INTEGER NOT NULL,
      base_sequence INTEGER NOT NULL, record_count INTEGER NOT NULL, bytes BLOB NOT NULL,
      delete_horizon_ms INTEGER NOT NULL DEFAULT -1
    );
    CREATE TABLE segments (base_offset INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE producer_state (
      producer_id INTEGER PRIMARY KEY, producer_epoch INTEGER NOT NULL, last_timestamp INTEGER NOT NULL, batches TEXT NOT NULL
    );
  `;

  it('opens, counting every batch as appended at the upgrade, and then keeps them retention.ms from it', () => {
    const path = join(temp.dir(), 'p.db');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec(schema2Sql);
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', 2)").run();
    db.prepare('INSERT INTO segments (base_offset, created_ms) VALUES (0, 1000)').run();
    const insert = db.prepare(`INSERT INTO batches (base_offset, last_offset, first_timestamp, max_timestamp, producer_id, producer_epoch,
      base_sequence, record_count, bytes) VALUES (?, ?, ?, ?, -1, -1, -1, ?, ?)`);
    for (let i = 0; i < 3; i++) {
      const bytes = batchOf(2, { timestampMs: 1_000 + i });
      bytes.writeBigInt64BE(BigInt(2 * i), 0);
      insert.run(2 * i, 2 * i + 1, 1_000 + i, 1_001 + i, 2, bytes);
    }
    db.close();

    let now = start;
    const log = temp.open({ path, clock: () => now, config: { retentionMs: hour } });
    expect({ start: log.logStartOffset, end: log.logEndOffset }).toEqual({ start: 0, end: 6 });
    expect(log.segments.map((s) => s.newestAppendTimeMs)).toEqual([start]);
    expect(log.enforceRetention(start + hour, 100).batchesDeleted).toBe(0);
    now = start + 30 * minute;
    expect(log.append(batchOf(1, { timestampMs: 1_000 })).baseOffset).toBe(6);
    log.close();

    // Reopened later, the upgrade's time stays the old batches' append time (no second migration).
    now = start + 5 * hour;
    const again = temp.open({ path, clock: () => now, config: { retentionMs: hour } });
    const check = new Database(path, { readonly: true });
    try {
      expect(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({ value: schemaVersion });
      expect(check.prepare('SELECT base_offset AS b, append_time_ms AS a FROM batches ORDER BY base_offset').all()).toEqual([
        { b: 0, a: start },
        { b: 2, a: start },
        { b: 4, a: start },
        { b: 6, a: start + 30 * minute },
      ]);
    } finally {
      check.close();
    }
    // The append after the upgrade rolled a segment (the old one was older than segment.ms).
    expect(again.segments.map((s) => s.baseOffset)).toEqual([0, 6]);
    expect(again.enforceRetention(start + hour, 100).batchesDeleted).toBe(0);
    expect(again.enforceRetention(start + hour + 1, 100)).toMatchObject({ batchesDeleted: 3, logStartOffset: 6 });
    expect(again.enforceRetention(start + 30 * minute + hour, 100).batchesDeleted).toBe(0);
    expect(again.enforceRetention(start + 30 * minute + hour + 1, 100)).toMatchObject({ batchesDeleted: 1, logStartOffset: 7 });
  });
});
