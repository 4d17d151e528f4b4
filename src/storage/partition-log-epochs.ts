/**
 * The leader-epoch cache of one partition log, after Kafka's LeaderEpochFileCache: for each
 * leader epoch the first offset written under it, so that OffsetForLeaderEpoch can say where
 * an epoch's records end (KIP-101: a follower finds where its log and the leader's diverge;
 * KIP-320: a consumer detects truncation). Kept in memory (PartitionLogState.leaderEpochs, a
 * small array replaced whole on each change) and in the leader_epochs table, always changed
 * in the caller's transaction, whose saved cursor restores the array if it fails.
 *
 * Entries rise strictly in both epoch and start offset. They are added by setLeaderEpoch (this
 * replica becomes leader at the log end), by the first leader append of a log whose epoch was
 * never assigned, and by appendReplica (a copied batch of a newer epoch); truncation trims the
 * end, DeleteRecords and retention the start, resetTo clears them.
 *
 * Not thread-safe: runs on the worker thread of the partition actor that owns the log.
 */
import type Database from 'better-sqlite3';
import type { EpochEndOffset, LeaderEpochEntry } from './partition-log-types.js';
import { type PartitionLogState, setLeaderEpochs } from './partition-log-state.js';
import { assert } from './storage-error.js';

/**
 * Kafka's assign: records that `epoch` starts at `startOffset`, first removing every entry
 * whose epoch is >= epoch or whose start offset is >= startOffset. Only an epoch newer than
 * the latest (or any epoch, when the cache is empty) is assigned; an older or equal one
 * changes nothing. In the caller's transaction.
 */
export function assignEpoch(s: PartitionLogState, epoch: number, startOffset: number): void {
  if (epoch <= s.latestEpoch) return;
  assert(Number.isInteger(epoch) && epoch >= 0 && Number.isInteger(startOffset) && startOffset >= 0, `assign epoch ${epoch} at ${startOffset}`);
  const entries = s.leaderEpochs;
  let kept = entries.length;
  while (kept > 0 && entries[kept - 1]!.startOffset >= startOffset) kept--;
  s.stmts.deleteEpochsForAssign.run(epoch, startOffset);
  s.stmts.putEpoch.run(epoch, startOffset);
  setLeaderEpochs(s, [...entries.slice(0, kept), { epoch, startOffset }]);
}

/** Kafka's truncateFromEnd: removes the entries starting at or past `endOffset` (the new log end). In the caller's transaction. */
export function truncateEpochsFromEnd(s: PartitionLogState, endOffset: number): void {
  const entries = s.leaderEpochs;
  let kept = entries.length;
  while (kept > 0 && entries[kept - 1]!.startOffset >= endOffset) kept--;
  if (kept === entries.length) return;
  s.stmts.deleteEpochsFrom.run(endOffset);
  setLeaderEpochs(s, entries.slice(0, kept));
}

/**
 * Kafka's truncateFromStart, after the log start moved to `startOffset`: of the entries
 * starting at or before it, the last stays, moved to start at `startOffset` (its epoch still
 * covers the first offsets of the log); the others go. In the caller's transaction.
 */
export function truncateEpochsFromStart(s: PartitionLogState, startOffset: number): void {
  const entries = s.leaderEpochs;
  let upTo = 0;
  while (upTo < entries.length && entries[upTo]!.startOffset <= startOffset) upTo++;
  if (upTo === 0 || (upTo === 1 && entries[0]!.startOffset === startOffset)) return;
  const { epoch } = entries[upTo - 1]!;
  s.stmts.deleteEpochsUpTo.run(startOffset);
  s.stmts.putEpoch.run(epoch, startOffset);
  setLeaderEpochs(s, [{ epoch, startOffset }, ...entries.slice(upTo)]);
}

/** Empties the cache (resetTo). In the caller's transaction. */
export function clearEpochs(s: PartitionLogState): void {
  if (s.leaderEpochs.length === 0) return;
  s.stmts.deleteAllEpochs.run();
  setLeaderEpochs(s, []);
}

/**
 * OffsetForLeaderEpoch, as Kafka's LeaderEpochFileCache.endOffsetFor answers it: for the latest
 * epoch, the log end; for an epoch newer than the latest (or -1, or an empty cache),
 * { -1, -1 }; for one older than every cached epoch, that epoch and the first cached epoch's
 * start; otherwise the largest cached epoch at or below `requestedEpoch` and the start offset
 * of the epoch after it.
 */
export function epochEndOffset(s: PartitionLogState, requestedEpoch: number): EpochEndOffset {
  const entries = s.leaderEpochs;
  if (entries.length === 0 || requestedEpoch < 0) return { epoch: -1, endOffset: -1 };
  if (requestedEpoch === s.latestEpoch) return { epoch: s.latestEpoch, endOffset: s.logEndOffset };
  // Newer than any epoch here: unknown (Kafka's UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET).
  if (requestedEpoch > s.latestEpoch) return { epoch: -1, endOffset: -1 };
  let i = entries.length - 1;
  while (i >= 0 && entries[i]!.epoch > requestedEpoch) i--;
  // Older than every epoch here (the cache's start was trimmed): it ended where the log's first epoch starts.
  if (i < 0) return { epoch: requestedEpoch, endOffset: entries[0]!.startOffset };
  const next = entries[i + 1];
  return { epoch: entries[i]!.epoch, endOffset: next ? next.startOffset : s.logEndOffset };
}

/** Reads the cache from the leader_epochs table (open). */
export function loadEpochs(s: PartitionLogState): void {
  const entries: LeaderEpochEntry[] = s.stmts.allEpochs.all().map((row) => ({ epoch: row.epoch, startOffset: row.start_offset }));
  setLeaderEpochs(s, entries);
}

/**
 * Fills leader_epochs for a log written before it existed (the migration to schema 4): an entry
 * at each batch, in offset order, whose partitionLeaderEpoch (bytes 12-15 of the batch,
 * big-endian int32) rises above every earlier one; negative epochs (batches never stamped) give
 * none. In the caller's (the migration's) transaction.
 *
 * The result is that of a scan of every batch, but found by bisection: a log written before
 * schema 4 has non-decreasing epochs in offset order (its appends stamp the current epoch,
 * which setLeaderEpoch only raises, and compaction keeps headers), so the first batch of each
 * newer epoch is found in O(log range) reads of one batch each (substr on a blob makes SQLite
 * read that whole blob), instead of reading the whole log at the first open after an upgrade.
 * Were the epochs not monotonic, the entries would still rise in epoch and offset.
 */
export function seedEpochsFromBatches(db: Database.Database): void {
  const firstFrom = db.prepare<[number], [number, Buffer]>('SELECT base_offset, substr(bytes, 13, 4) FROM batches WHERE base_offset >= ? ORDER BY base_offset LIMIT 1').raw();
  const lastRow = db.prepare<[], [number, Buffer]>('SELECT base_offset, substr(bytes, 13, 4) FROM batches ORDER BY base_offset DESC LIMIT 1').raw().get();
  if (lastRow === undefined) return;
  const batch = (row: [number, Buffer]) => ({ baseOffset: row[0], epoch: row[1].length >= 4 ? row[1].readInt32BE(0) : -1 });
  const batchFrom = (offset: number) => {
    const row = firstFrom.get(offset);
    return row && batch(row);
  };
  const last = batch(lastRow);
  const insert = db.prepare('INSERT INTO leader_epochs (epoch, start_offset) VALUES (?, ?)');
  let current = batchFrom(Number.MIN_SAFE_INTEGER)!;
  let latest = -1;
  for (;;) {
    if (current.epoch > latest) {
      insert.run(current.epoch, current.baseOffset);
      latest = current.epoch;
    }
    if (last.epoch <= latest) return;
    // The first batch after lo with an epoch above latest: `found` is one; none starts in [limit, found).
    let lo = current.baseOffset;
    let found = last;
    let limit = last.baseOffset;
    while (limit - lo > 1) {
      const mid = lo + Math.floor((limit - lo) / 2);
      const probe = batchFrom(mid);
      if (probe === undefined || probe.baseOffset >= limit) limit = mid;
      else if (probe.epoch > latest) {
        found = probe;
        limit = probe.baseOffset;
      } else lo = probe.baseOffset;
    }
    current = found;
  }
}
