/**
 * Reads of one partition log: Fetch (whole stored batches from an offset, never re-encoded)
 * and ListOffsets by timestamp and MAX_TIMESTAMP. Functions over the log's PartitionLogState,
 * called by PartitionLog (partition-log.ts); none of them writes.
 *
 * Not thread-safe: runs on the worker thread of the partition actor that owns the log.
 */
import type { ReadOptions, ReadResult, TimestampOffset } from './partition-log-types.js';
import { type PartitionLogState, cutPoint, ensureOpen } from './partition-log-state.js';
import { iterateRecords, parseBatchHeader, storedBatchOptions } from './record-batch.js';
import { StorageError } from './storage-error.js';

/** See PartitionLog.read. */
export function read(s: PartitionLogState, fetchOffset: number, maxBytes: number, opts: ReadOptions): ReadResult {
  ensureOpen(s);
  s.failurePoints.check('read');
  checkOffsetInRange(s, fetchOffset);
  const limit = Math.min(opts.maxOffsetExclusive ?? s.highWatermark, s.logEndOffset);
  const { batches, bytes } = readBatches(s.stmts, fetchOffset, limit, maxBytes);
  return { batches, bytes, highWatermark: s.highWatermark, logStartOffset: s.logStartOffset, logEndOffset: s.logEndOffset };
}

/** The statements a read runs: the owning log's, or a log reader thread's read-only connection's. */
export type ReadStatements = Pick<PartitionLogState['stmts'], 'floorBatch' | 'readFrom'>;

/**
 * Whole stored batches from the one holding `fetchOffset`, each ending below `limit`, up to
 * `maxBytes` in all but always the first (KIP-74). The one read of a log, for its partition's
 * actor and for the log reader threads (log-reader-thread.ts).
 */
export function readBatches(stmts: ReadStatements, fetchOffset: number, limit: number, maxBytes: number): Pick<ReadResult, 'batches' | 'bytes'> {
  const batches: Buffer[] = [];
  let bytes = 0;
  if (fetchOffset < limit) {
    // cutPoint skips a batch that ends before fetchOffset, which compaction's gaps allow.
    const start = cutPoint(stmts, fetchOffset);
    // Each row's blob is copied once by better-sqlite3; the row that overflows maxBytes
    // is the one copy wasted per fetch, cheaper than a second query for sizes.
    for (const [lastOffset, blob] of stmts.readFrom.iterate(start)) {
      if (lastOffset >= limit || (batches.length > 0 && bytes + blob.length > maxBytes)) break;
      batches.push(blob);
      bytes += blob.length;
    }
  }
  return { batches, bytes };
}

/** A read's batches as one buffer, to transfer to another thread. */
export function concatBatches(read: Pick<ReadResult, 'batches' | 'bytes'>): Uint8Array {
  const view = new Uint8Array(read.bytes);
  let pos = 0;
  for (const b of read.batches) {
    view.set(b, pos);
    pos += b.length;
  }
  return view;
}

function checkOffsetInRange(s: PartitionLogState, offset: number): void {
  if (!Number.isInteger(offset) || offset < s.logStartOffset || offset > s.logEndOffset) {
    throw new StorageError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside [${s.logStartOffset}, ${s.logEndOffset}] of ${s.path}`);
  }
}

/** See PartitionLog.offsetForTimestamp. */
export function offsetForTimestamp(s: PartitionLogState, timestampMs: number, opts: ReadOptions): TimestampOffset | null {
  ensureOpen(s);
  const limit = Math.min(opts.maxOffsetExclusive ?? s.highWatermark, s.logEndOffset);
  const row = s.stmts.firstAtTime.get(timestampMs, s.logStartOffset);
  if (!row || row.base_offset >= limit) return null;
  const batch = s.stmts.batchBytes.get(row.base_offset)!.bytes;
  const h = parseBatchHeader(batch, 0, storedBatchOptions);
  if (h.compression !== 0) {
    // Compressed batches are not decompressed here (that is CPU-pool work), so the answer
    // is the batch's first offset and its max timestamp: a consumer seeking there reads
    // at most one batch of earlier records, which Kafka clients skip by timestamp.
    return { offset: Math.max(h.baseOffset, s.logStartOffset), timestampMs: h.maxTimestamp };
  }
  for (const record of iterateRecords(batch)) {
    if (record.offset >= limit) return null;
    if (record.offset >= s.logStartOffset && record.timestampMs >= timestampMs) {
      return { offset: record.offset, timestampMs: record.timestampMs };
    }
  }
  return null;
}

/** See PartitionLog.maxTimestampOffset. */
export function maxTimestampOffset(s: PartitionLogState): TimestampOffset | null {
  ensureOpen(s);
  if (s.maxTimestampBatch === undefined) {
    const row = s.stmts.maxTimestamp.get();
    s.maxTimestampBatch = row ? { baseOffset: row.base_offset, maxTimestamp: row.max_timestamp } : null;
  }
  const known = s.maxTimestampBatch;
  if (known === null) return null;
  const batch = s.stmts.batchBytes.get(known.baseOffset)!.bytes;
  const h = parseBatchHeader(batch, 0, storedBatchOptions);
  // For compressed batches the batch's first offset stands in for the exact record.
  if (h.compression !== 0) return { offset: h.baseOffset, timestampMs: h.maxTimestamp };
  for (const record of iterateRecords(batch)) {
    if (record.timestampMs === h.maxTimestamp) return { offset: record.offset, timestampMs: record.timestampMs };
  }
  return { offset: h.baseOffset, timestampMs: h.maxTimestamp };
}
