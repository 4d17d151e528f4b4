/**
 * Log maintenance of one partition log: segments (loading, rolling, finding), time and size
 * retention, DeleteRecords, truncation (to an offset, or fully with resetTo), and the view of
 * the log that the LogCleaner (log-cleaner.ts) compacts through. These are every path that
 * deletes batches or moves logStartOffset; each trims the leader-epoch cache to match
 * (partition-log-epochs.ts). Functions over the log's PartitionLogState, called by PartitionLog
 * (partition-log.ts); each change runs in one transaction that restores memory if it fails.
 *
 * Not thread-safe: runs on the worker thread of the partition actor that owns the log.
 */
import type { BatchChange, CleanerHost, LogCleaner, StoredBatch } from './log-cleaner.js';
import { clearEpochs, truncateEpochsFromEnd, truncateEpochsFromStart } from './partition-log-epochs.js';
import type { RetentionProgress, Segment } from './partition-log-types.js';
import { type PartitionLogState, cutPoint, ensureOpen, inTransaction, putCleanerCheckpoint, setLogStartOffset } from './partition-log-state.js';
import { StorageError, assert } from './storage-error.js';
import { deletesOldSegments } from './topic-config.js';

/**
 * The time retention.ms counts from for a segment: its newest record timestamp, as in Kafka,
 * but never earlier than the time the broker appended its newest batch. Kafka falls back to
 * the segment file's last-modified time only when no record has a valid timestamp; taking the
 * later of the two also keeps records produced with old CreateTimes (a replay of history, a
 * test near 1970) for retention.ms after they arrived, instead of deleting them at once.
 */
export function retentionTimeMs(segment: Readonly<Segment>): number {
  return Math.max(segment.maxTimestamp, segment.newestAppendTimeMs);
}

/** Every cached answer derived from the batches; dropped after batches are deleted or rewritten. */
function forgetDerived(s: PartitionLogState): void {
  s.maxTimestampBatch = undefined;
  s.deleteHorizonMs = undefined;
}

// -------------------------------------------------------------------------------------
// Retention.

/** See PartitionLog.enforceRetention. */
export function enforceRetention(s: PartitionLogState, nowMs: number, maxBatchesPerStep: number): RetentionProgress {
  ensureOpen(s);
  assert(maxBatchesPerStep >= 1, `maxBatchesPerStep ${maxBatchesPerStep}`);
  const progress: RetentionProgress = { batchesDeleted: 0, bytesDeleted: 0, logStartOffset: s.logStartOffset, more: false };
  if (!deletesOldSegments(s.config) || !retentionDue(s, nowMs)) return progress;
  s.failurePoints.check('deleteRecords');
  inTransaction(s, () => {
    // Bounded by the segment count, and each turn deletes a segment or spends the budget.
    while (retentionDue(s, nowMs) && progress.batchesDeleted < maxBatchesPerStep) {
      // Every segment is past retention: roll an empty active segment at the log end first,
      // as Kafka does, so the last one can go too (else a quiet topic would keep its records).
      if (s.segments.length === 1) rollEmptySegment(s, nowMs);
      if (!deleteOldestSegment(s, maxBatchesPerStep - progress.batchesDeleted, progress)) break;
    }
    s.producers.retainFrom(s.logStartOffset);
    truncateEpochsFromStart(s, s.logStartOffset);
  });
  progress.more = retentionDue(s, nowMs);
  progress.logStartOffset = s.logStartOffset;
  if (progress.batchesDeleted > 0) forgetDerived(s);
  return progress;
}

/**
 * When retention will first be able to delete the oldest segment by time (its retention time
 * plus retention.ms), `nowMs` when it is due already (by time or size), or null when it never
 * will without new appends (an empty log, no time limit, or cleanup.policy without delete).
 */
export function retentionDueAtMs(s: PartitionLogState, nowMs: number): number | null {
  ensureOpen(s);
  if (!deletesOldSegments(s.config)) return null;
  if (retentionDue(s, nowMs)) return nowMs;
  const oldest = s.segments[0];
  if (oldest === undefined || (s.segments.length === 1 && oldest.sizeBytes === 0)) return null;
  const retentionMs = s.config.retentionMs;
  if (!Number.isFinite(retentionMs) || retentionMs < 0) return null;
  return retentionTimeMs(oldest) + retentionMs + 1;
}

function retentionDue(s: PartitionLogState, nowMs: number): boolean {
  const oldest = s.segments[0];
  if (oldest === undefined) return false;
  // The oldest segment's end: the next one's base, or for the active segment the log end.
  const end = s.segments[1]?.baseOffset ?? s.logEndOffset;
  if (end > s.highWatermark || (s.segments.length === 1 && oldest.sizeBytes === 0)) return false;
  const cfg = s.config;
  return nowMs - retentionTimeMs(oldest) > cfg.retentionMs || s.sizeBytes - oldest.sizeBytes >= cfg.retentionBytes;
}

/** Starts a new, empty active segment at the log end. */
function rollEmptySegment(s: PartitionLogState, nowMs: number): void {
  const offset = s.logEndOffset;
  s.stmts.insertSegment.run(offset, nowMs);
  s.segments.push({ baseOffset: offset, createdMs: nowMs, sizeBytes: 0, maxTimestamp: -1, newestAppendTimeMs: -1 });
}

/** Deletes up to `budget` of the oldest segment's batches; true if the segment is now gone. */
function deleteOldestSegment(s: PartitionLogState, budget: number, progress: RetentionProgress): boolean {
  const oldest = s.segments[0]!;
  const next = s.segments[1]!.baseOffset;
  const cut = s.stmts.nthBatchFrom.get(oldest.baseOffset, next, budget)?.base_offset ?? next;
  const { n: bytes, c: batches } = s.stmts.sizeBetween.get(oldest.baseOffset, cut)!;
  s.stmts.deleteBetween.run(oldest.baseOffset, cut);
  progress.batchesDeleted += batches;
  progress.bytesDeleted += bytes;
  s.sizeBytes -= bytes;
  oldest.sizeBytes -= bytes;
  if (cut > s.logStartOffset) setLogStartOffset(s, cut);
  if (cut < next) return false;
  s.stmts.deleteSegmentsBefore.run(next);
  s.segments.shift();
  return true;
}

// -------------------------------------------------------------------------------------
// Truncation and DeleteRecords.

/** See PartitionLog.truncateTo. */
export function truncateTo(s: PartitionLogState, cleaner: LogCleaner, offset: number): void {
  ensureOpen(s);
  assert(Number.isInteger(offset) && offset >= 0, `truncateTo(${offset})`);
  if (offset >= s.logEndOffset) {
    // Nothing to cut, but as Kafka's truncateTo the epoch cache always loses what starts at or
    // past the offset: an epoch led without a write would otherwise stay the follower's last.
    inTransaction(s, () => truncateEpochsFromEnd(s, offset));
    return;
  }
  s.failurePoints.check('truncate');
  const cut = cutPoint(s.stmts, offset);
  inTransaction(s, () => {
    const removedBytes = s.stmts.sizeFrom.get(cut)!.n;
    s.stmts.deleteFrom.run(cut);
    if (offset < s.logStartOffset) setLogStartOffset(s, offset);
    const last = s.stmts.lastBatch.get();
    s.logEndOffset = last ? last.last_offset + 1 : s.logStartOffset;
    s.sizeBytes -= removedBytes;
    s.producers.truncate(s.logEndOffset);
    s.stmts.deleteSegmentsFrom.run(cut);
    if (s.cleanerCheckpoint > s.logEndOffset) putCleanerCheckpoint(s, s.logEndOffset);
    truncateEpochsFromEnd(s, s.logEndOffset);
  });
  s.truncations++;
  cleaner.reset();
  s.highWatermark = Math.min(s.highWatermark, s.logEndOffset);
  forgetDerived(s);
  loadSegments(s);
}

/** See PartitionLog.deleteRecordsBefore. */
export function deleteRecordsBefore(s: PartitionLogState, offset: number): number {
  ensureOpen(s);
  if (!Number.isInteger(offset) || offset < 0 || offset > s.highWatermark) {
    throw new StorageError('OFFSET_OUT_OF_RANGE', `cannot delete records before ${offset}: high watermark is ${s.highWatermark}`);
  }
  if (offset <= s.logStartOffset) return s.logStartOffset;
  s.failurePoints.check('deleteRecords');
  const cut = cutPoint(s.stmts, offset);
  inTransaction(s, () => {
    const removedBytes = s.stmts.sizeBefore.get(cut)!.n;
    s.stmts.deleteBefore.run(cut);
    setLogStartOffset(s, offset);
    s.sizeBytes -= removedBytes;
    s.producers.retainFrom(offset);
    dropSegmentsBelow(s, cut);
    truncateEpochsFromStart(s, offset);
  });
  forgetDerived(s);
  loadSegments(s);
  return s.logStartOffset;
}

/** See PartitionLog.resetTo. */
export function resetTo(s: PartitionLogState, cleaner: LogCleaner, offset: number): void {
  ensureOpen(s);
  assert(Number.isInteger(offset) && offset >= 0, `resetTo(${offset})`);
  s.failurePoints.check('truncate');
  inTransaction(s, () => {
    s.stmts.deleteAllBatches.run();
    s.stmts.deleteAllSegments.run();
    for (const entry of [...s.producers.all()]) s.producers.put(entry.producerId, undefined);
    // Rows without an in-memory entry cannot exist, but the table is emptied whatever it holds.
    s.stmts.deleteAllProducers.run();
    clearEpochs(s);
    setLogStartOffset(s, offset);
    s.logEndOffset = offset;
    s.sizeBytes = 0;
    s.stmts.putMeta.run('cleaner_checkpoint', offset);
    s.stmts.putMeta.run('high_watermark', offset);
  });
  // Memory the transaction's failure would not restore changes only after it committed.
  s.cleanerCheckpoint = offset;
  s.truncations++;
  cleaner.reset();
  s.highWatermark = offset;
  s.checkpointedHighWatermark = offset;
  forgetDerived(s);
  loadSegments(s);
}

/** Deletes the rows of segments that hold no batch at or after `cut`: all but the one containing cut. */
function dropSegmentsBelow(s: PartitionLogState, cut: number): void {
  let keepFrom: number | undefined;
  for (const segment of s.segments) if (segment.baseOffset <= cut) keepFrom = segment.baseOffset;
  if (keepFrom !== undefined) s.stmts.deleteSegmentsBefore.run(keepFrom);
}

// -------------------------------------------------------------------------------------
// Segments.

/**
 * Rebuilds the segment list from the segments table, with sizes, newest timestamps and
 * newest append times from the batches. A log written before segments existed (schema 1)
 * becomes one segment.
 */
export function loadSegments(s: PartitionLogState): void {
  const rows = s.stmts.allSegments.all();
  const first = s.stmts.nthBatchFrom.get(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0);
  if (first && (rows.length === 0 || rows[0]!.base_offset > first.base_offset)) {
    s.stmts.insertSegment.run(first.base_offset, s.clock());
    rows.unshift({ base_offset: first.base_offset, created_ms: s.clock() });
  }
  s.segments.length = 0;
  for (let i = 0; i < rows.length; i++) {
    const end = rows[i + 1]?.base_offset ?? Number.MAX_SAFE_INTEGER;
    const stats = s.stmts.segmentStats.get(rows[i]!.base_offset, end)!;
    s.segments.push({
      baseOffset: rows[i]!.base_offset,
      createdMs: rows[i]!.created_ms,
      sizeBytes: stats.n,
      maxTimestamp: stats.t,
      newestAppendTimeMs: stats.a,
    });
  }
}

/** The segment holding `offset`: binary search over the segment list. */
function segmentOf(s: PartitionLogState, offset: number): Segment {
  let lo = 0;
  let hi = s.segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (s.segments[mid]!.baseOffset <= offset) lo = mid;
    else hi = mid - 1;
  }
  const segment = s.segments[lo];
  assert(segment && segment.baseOffset <= offset, `no segment holds offset ${offset}`);
  return segment;
}

// -------------------------------------------------------------------------------------
// Compaction: what the LogCleaner may see and do.

/** A view over the log's state for the cleaner, so the cleaner cannot append or truncate. */
export function cleanerHost(s: PartitionLogState): CleanerHost {
  return {
    get config() {
      return s.config;
    },
    get logStartOffset() {
      return s.logStartOffset;
    },
    get highWatermark() {
      return s.highWatermark;
    },
    get segments() {
      return s.segments;
    },
    get isClosed() {
      return s.db === null;
    },
    get truncations() {
      return s.truncations;
    },
    cleanerCheckpoint: () => s.cleanerCheckpoint,
    setCleanerCheckpoint: (offset) => putCleanerCheckpoint(s, offset),
    readStoredBatches: (from, to, maxBytes) => readStoredBatches(s, from, to, maxBytes),
    firstTimestampFrom: (offset) => s.stmts.firstTimestampFrom.get(offset)?.t,
    earliestDeleteHorizonMs: () => earliestDeleteHorizonMs(s),
    applyCleaning: (changes) => applyCleaning(s, changes),
  };
}

function readStoredBatches(s: PartitionLogState, from: number, to: number, maxBytes: number): StoredBatch[] {
  ensureOpen(s);
  const out: StoredBatch[] = [];
  let bytes = 0;
  for (const [baseOffset, deleteHorizonMs, blob] of s.stmts.batchesBetween.iterate(from, to)) {
    if (out.length > 0 && bytes + blob.length > maxBytes) break;
    out.push({ baseOffset, deleteHorizonMs, bytes: blob });
    bytes += blob.length;
  }
  return out;
}

function earliestDeleteHorizonMs(s: PartitionLogState): number | null {
  if (s.deleteHorizonMs === undefined) s.deleteHorizonMs = s.stmts.minDeleteHorizon.get()?.h ?? null;
  return s.deleteHorizonMs;
}

/** Applies one compaction step in one transaction; batches deleted meanwhile (by retention) are skipped. */
function applyCleaning(s: PartitionLogState, changes: readonly BatchChange[]): void {
  ensureOpen(s);
  const segmentDeltas = new Map<Segment, number>();
  const rewrittenBytes = changes.reduce((n, c) => n + (c.kind === 'rewrite' ? c.bytes.length : 0), 0);
  inTransaction(
    s,
    () => {
      for (const change of changes) {
        const before = s.stmts.batchSize.get(change.baseOffset)?.n;
        if (before === undefined) continue;
        let after = before;
        if (change.kind === 'delete') {
          s.stmts.deleteBatch.run(change.baseOffset);
          after = 0;
        } else if (change.kind === 'rewrite') {
          s.stmts.updateBatch.run(change.bytes, change.maxTimestamp, change.recordCount, change.deleteHorizonMs, change.baseOffset);
          after = change.bytes.length;
        } else s.stmts.setDeleteHorizon.run(change.deleteHorizonMs, change.baseOffset);
        const segment = segmentOf(s, change.baseOffset);
        s.sizeBytes += after - before;
        segmentDeltas.set(segment, (segmentDeltas.get(segment) ?? 0) + after - before);
      }
    },
    rewrittenBytes,
  );
  for (const [segment, delta] of segmentDeltas) segment.sizeBytes += delta;
  forgetDerived(s);
}
