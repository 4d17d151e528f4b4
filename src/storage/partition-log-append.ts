/**
 * Appends to one partition log, and the producer state they check and update: group commit of
 * many produce requests in one SQLite transaction, batch validation (header, CRC, control
 * batches, CreateTime bounds), idempotent-producer deduplication and sequencing, offset
 * assignment, LogAppendTime stamping, and segment rolling; and a follower's append of the
 * leader's batches as they are (appendReplica). Functions over the log's PartitionLogState,
 * called by PartitionLog (partition-log.ts).
 *
 * This is the hot path. Per batch only the header is decoded and the CRC computed, and the
 * batch is bound to SQLite as a view of the caller's buffer (SQLite's copy is the only one);
 * the transaction wrapper is made once per log (createAppender), not per call. The
 * leader-epoch cache costs one comparison per call: leader appends add no entries (the
 * epoch was assigned by setLeaderEpoch), except the first append of a log whose epoch never
 * was.
 *
 * Not thread-safe: runs on the worker thread of the partition actor that owns the log.
 */
import { maxAppendBytes, maxOffset } from './limits.js';
import { assignEpoch } from './partition-log-epochs.js';
import type { AppendOptions, AppendResult, ReplicaAppendOptions, Segment } from './partition-log-types.js';
import { type PartitionLogState, asStorageFailure, ensureOpen, persistProducers, restoreCursor, saveCursor, wroteToWal } from './partition-log-state.js';
import { type BatchHeader, asBuffer, parseBatchHeader, setBaseOffset, setPartitionLeaderEpoch, splitBatches, stampLogAppendTime, storedBatchOptions } from './record-batch.js';
import { StorageError, assert } from './storage-error.js';
import { compacts } from './topic-config.js';

type Origin = 'client' | 'coordinator';

/** Appends every item in one transaction; see PartitionLog.appendMany. */
export type Appender = (items: Uint8Array[], opts: AppendOptions) => Array<AppendResult | StorageError>;

/**
 * Makes the log's appender. better-sqlite3's db.transaction(fn) builds a wrapper function;
 * making it once here, rather than per append, avoids that allocation on every produce.
 */
export function createAppender(s: PartitionLogState): Appender {
  const transaction = s.db!.transaction((items: Uint8Array[], nowMs: number, origin: Origin, producerMark: number) => {
    // The epoch stamped below starts at the log end if the cache does not have it yet: a new
    // log at epoch 0, or one upgraded from schema 3 after setLeaderEpoch. Once per call.
    if (s.leaderEpoch > s.latestEpoch) assignEpoch(s, s.leaderEpoch, s.logEndOffset);
    const staged = items.map((item) => stageItem(s, item, nowMs, origin));
    // Rolled segments are persisted in the same transaction as the batches they hold.
    persistProducers(s, producerMark);
    s.failurePoints.check('commit');
    return staged;
  });
  return (items, opts) => appendMany(s, transaction, items, opts);
}

function appendMany(
  s: PartitionLogState,
  transaction: (items: Uint8Array[], nowMs: number, origin: Origin, producerMark: number) => Array<AppendResult | StorageError>,
  items: Uint8Array[],
  opts: AppendOptions,
): Array<AppendResult | StorageError> {
  ensureOpen(s);
  const saved = saveCursor(s);
  const producerMark = s.producers.mark();
  const nowMs = opts.nowMs ?? s.clock();
  let results: Array<AppendResult | StorageError>;
  try {
    s.failurePoints.check('append');
    results = transaction(items, nowMs, opts.origin ?? 'client', producerMark);
  } catch (err) {
    restoreCursor(s, saved);
    s.producers.rollbackTo(producerMark);
    const error = asStorageFailure(s.path, 'append failed on', err);
    return items.map(() => error);
  }
  s.producers.commit();
  if (s.highWatermarkFollowsLogEnd) s.highWatermark = s.logEndOffset;
  let bytes = 0;
  for (const item of items) bytes += item.byteLength;
  wroteToWal(s, bytes);
  return results;
}

/** An expected failure of this item becomes a value; anything else propagates. */
function asItemError(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  throw err;
}

/** Validates one item, then writes its batches; an invalid item leaves no trace. */
function stageItem(s: PartitionLogState, item: Uint8Array, nowMs: number, origin: Origin): AppendResult | StorageError {
  let headers: BatchHeader[];
  try {
    headers = splitBatches(item, { maxBatchBytes: s.config.maxMessageBytes });
    validateBatches(s, headers, nowMs, origin);
  } catch (err) {
    return asItemError(err);
  }
  const mark = s.producers.mark();
  let duplicate: AppendResult | null;
  try {
    duplicate = checkProducers(s, headers, nowMs);
  } catch (err) {
    s.producers.rollbackTo(mark);
    return asItemError(err);
  }
  if (duplicate) {
    s.producers.rollbackTo(mark);
    return duplicate;
  }
  return writeBatches(s, asBuffer(item), headers, nowMs);
}

function validateBatches(s: PartitionLogState, headers: BatchHeader[], nowMs: number, origin: Origin): void {
  let records = 0;
  for (const h of headers) {
    if (h.isControl && origin !== 'coordinator') throw new StorageError('INVALID_RECORD', 'clients may not write control batches');
    const stamped = s.config.messageTimestampType === 'LogAppendTime';
    if (!stamped && h.timestampType === 'CreateTime') checkTimestamps(s, h, nowMs);
    records += h.recordCount;
  }
  assert(s.logEndOffset + records <= maxOffset, 'offsets would exceed 2^53');
}

/**
 * Kafka's CreateTime check (LogValidator): a timestamp more than message.timestamp.before.max.ms
 * in the past or after.max.ms in the future is INVALID_TIMESTAMP. -1 (no timestamp) is not
 * checked. The batch header's first and largest timestamps stand for its records.
 */
function checkTimestamps(s: PartitionLogState, h: BatchHeader, nowMs: number): void {
  const { messageTimestampBeforeMaxMs: beforeMs, messageTimestampAfterMaxMs: afterMs } = s.config;
  if (beforeMs === Number.POSITIVE_INFINITY && afterMs === Number.POSITIVE_INFINITY) return;
  for (const timestampMs of [h.baseTimestamp, h.maxTimestamp]) {
    if (timestampMs === -1) continue;
    if (timestampMs < nowMs - beforeMs) {
      throw new StorageError('INVALID_TIMESTAMP', `timestamp ${timestampMs} is more than message.timestamp.before.max.ms (${beforeMs}) before now (${nowMs})`);
    }
    if (timestampMs > nowMs + afterMs) {
      throw new StorageError('INVALID_TIMESTAMP', `timestamp ${timestampMs} is more than message.timestamp.after.max.ms (${afterMs}) after now (${nowMs})`);
    }
  }
}

/**
 * Applies the producer rules to each batch in order, staging new entries. Returns the
 * original result if a batch is a duplicate: as in Kafka, the whole append is then
 * answered with that batch's original offsets and nothing is written.
 */
function checkProducers(s: PartitionLogState, headers: BatchHeader[], nowMs: number): AppendResult | null {
  let baseOffset = s.logEndOffset;
  for (const h of headers) {
    if (h.producerId >= 0 && h.isControl) s.producers.checkControl(h);
    else if (h.producerId >= 0) {
      const check = s.producers.check(h, baseOffset, nowMs);
      if (check.kind === 'duplicate') {
        // Kafka answers a duplicate with -1 too: the original append time is not kept.
        const { baseOffset: first, lastOffset } = check.original;
        return { baseOffset: first, lastOffset, logAppendTimeMs: -1, logStartOffset: s.logStartOffset, duplicate: true };
      }
      s.producers.put(h.producerId, check.entry);
    }
    baseOffset += h.lastOffsetDelta + 1;
  }
  return null;
}

function writeBatches(s: PartitionLogState, buf: Buffer, headers: BatchHeader[], nowMs: number): AppendResult {
  const baseOffset = s.logEndOffset;
  const logAppendTime = s.config.messageTimestampType === 'LogAppendTime';
  for (const h of headers) {
    const offset = s.logEndOffset;
    const lastOffset = offset + h.lastOffsetDelta;
    setBaseOffset(buf, offset, h.position);
    setPartitionLeaderEpoch(buf, s.leaderEpoch, h.position);
    // As Kafka's LogValidator: the batch takes the broker's time, its records keep their deltas.
    if (logAppendTime) stampLogAppendTime(buf, h.position, h.sizeBytes, nowMs);
    const firstTimestamp = logAppendTime ? nowMs : h.baseTimestamp;
    const maxTimestamp = logAppendTime ? nowMs : h.maxTimestamp;
    const bytes = buf.subarray(h.position, h.position + h.sizeBytes);
    const segment = segmentFor(s, offset, h.sizeBytes, nowMs);
    // nowMs is also the batch's arrival time, which time retention keys on with its timestamps.
    s.stmts.insertBatch.run(offset, lastOffset, firstTimestamp, maxTimestamp, h.producerId, h.producerEpoch, h.baseSequence, h.recordCount, bytes, nowMs);
    s.logEndOffset = lastOffset + 1;
    s.sizeBytes += h.sizeBytes;
    segment.sizeBytes += h.sizeBytes;
    segment.maxTimestamp = Math.max(segment.maxTimestamp, maxTimestamp);
    segment.newestAppendTimeMs = Math.max(segment.newestAppendTimeMs, nowMs);
    noteMaxTimestamp(s, offset, maxTimestamp);
  }
  const lastOffset = s.logEndOffset - 1;
  return { baseOffset, lastOffset, logAppendTimeMs: logAppendTime ? nowMs : -1, logStartOffset: s.logStartOffset, duplicate: false };
}

/**
 * The segment a batch of `sizeBytes` at `offset` goes into: the active one, unless it would
 * pass segment.bytes or is older than segment.ms (for compacted topics also
 * max.compaction.lag.ms, so the active segment's records become cleanable in time), in
 * which case a new segment is rolled. An empty active segment always takes the batch.
 */
function segmentFor(s: PartitionLogState, offset: number, sizeBytes: number, nowMs: number): Segment {
  const active = s.segments[s.segments.length - 1];
  const cfg = s.config;
  const rollMs = compacts(cfg) ? Math.min(cfg.segmentMs, cfg.maxCompactionLagMs) : cfg.segmentMs;
  const full = active !== undefined && active.sizeBytes > 0 && (active.sizeBytes + sizeBytes > cfg.segmentBytes || nowMs - active.createdMs >= rollMs);
  if (active !== undefined && !full) return active;
  s.stmts.insertSegment.run(offset, nowMs);
  const rolled: Segment = { baseOffset: offset, createdMs: nowMs, sizeBytes: 0, maxTimestamp: -1, newestAppendTimeMs: -1 };
  s.segments.push(rolled);
  return rolled;
}

function noteMaxTimestamp(s: PartitionLogState, baseOffset: number, maxTimestamp: number): void {
  const known = s.maxTimestampBatch;
  // Strictly greater keeps the earliest batch on ties, as Kafka's offsetOfMaxTimestamp does.
  if (known === null || (known !== undefined && maxTimestamp > known.maxTimestamp)) {
    s.maxTimestampBatch = { baseOffset, maxTimestamp };
  }
}

// -------------------------------------------------------------------------------------
// Follower appends.

type ReplicaTransaction = (buf: Buffer, headers: BatchHeader[], nowMs: number, producerMark: number) => void;

/** Appends a leader's batches as they are; see PartitionLog.appendReplica. */
export type ReplicaAppender = (records: Uint8Array, opts: ReplicaAppendOptions) => AppendResult;

/** Makes the log's follower appender, with its transaction wrapper made once (see createAppender). */
export function createReplicaAppender(s: PartitionLogState): ReplicaAppender {
  const transaction = s.db!.transaction((buf: Buffer, headers: BatchHeader[], nowMs: number, producerMark: number) => {
    writeReplicaBatches(s, buf, headers, nowMs);
    persistProducers(s, producerMark);
    s.failurePoints.check('commit');
  });
  return (records, opts) => appendReplica(s, transaction, records, opts);
}

function appendReplica(s: PartitionLogState, transaction: ReplicaTransaction, records: Uint8Array, opts: ReplicaAppendOptions): AppendResult {
  ensureOpen(s);
  const buf = asBuffer(records);
  const headers = wholeBatches(buf);
  if (headers.length === 0) return { baseOffset: -1, lastOffset: -1, logAppendTimeMs: -1, logStartOffset: s.logStartOffset, duplicate: false };
  checkReplicaOffsets(s, headers);
  const nowMs = opts.nowMs ?? s.clock();
  const saved = saveCursor(s);
  const producerMark = s.producers.mark();
  try {
    s.failurePoints.check('append');
    transaction(buf, headers, nowMs, producerMark);
  } catch (err) {
    restoreCursor(s, saved);
    s.producers.rollbackTo(producerMark);
    throw asStorageFailure(s.path, 'replica append failed on', err);
  }
  s.producers.commit();
  if (s.highWatermarkFollowsLogEnd) s.highWatermark = s.logEndOffset;
  const last = headers[headers.length - 1]!;
  wroteToWal(s, last.position + last.sizeBytes);
  return { baseOffset: headers[0]!.baseOffset, lastOffset: s.logEndOffset - 1, logAppendTimeMs: -1, logStartOffset: s.logStartOffset, duplicate: false };
}

/**
 * The whole batches at the start of a Fetch response's records, each validated as a stored
 * batch (header, CRC; any size, maybe sparse from the leader's compaction). A trailing batch
 * cut short (fewer than 12 bytes, or fewer than its batchLength says) ends the list, as
 * Kafka's follower reads it; a whole batch that is invalid throws.
 */
function wholeBatches(buf: Buffer): BatchHeader[] {
  if (buf.length > maxAppendBytes) {
    throw new StorageError('RECORD_LIST_TOO_LARGE', `records of ${buf.length} bytes exceed the bound ${maxAppendBytes}`);
  }
  const headers: BatchHeader[] = [];
  let pos = 0;
  // baseOffset and batchLength, the 12 bytes that say a batch's size.
  while (buf.length - pos >= 12) {
    if (buf.readInt32BE(pos + 8) + 12 > buf.length - pos) break;
    const h = parseBatchHeader(buf, pos, storedBatchOptions);
    headers.push(h);
    pos += h.sizeBytes;
  }
  return headers;
}

/** The batches must start at or past the log end and follow one another without overlap; gaps are the leader's compaction. */
function checkReplicaOffsets(s: PartitionLogState, headers: BatchHeader[]): void {
  let next = s.logEndOffset;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (h.baseOffset < next) {
      const after = i === 0 ? `the log end offset ${next}` : `the previous batch's last offset ${next - 1}`;
      throw new StorageError('INVALID_RECORD', `replica batch at base offset ${h.baseOffset} does not follow ${after}`);
    }
    next = h.baseOffset + h.lastOffsetDelta + 1;
    if (!Number.isSafeInteger(next) || next > maxOffset) {
      throw new StorageError('INVALID_RECORD', `replica batch at base offset ${h.baseOffset} ends past 2^53`);
    }
  }
}

/**
 * Writes validated replica batches at their own offsets, bytes unchanged; records each
 * producer's batch as the leader did and each newer leader epoch's first offset.
 */
function writeReplicaBatches(s: PartitionLogState, buf: Buffer, headers: BatchHeader[], nowMs: number): void {
  // The leader stored a LogAppendTime batch's stamped time as its first timestamp; so does the follower.
  const logAppendTime = s.config.messageTimestampType === 'LogAppendTime';
  for (const h of headers) {
    const offset = h.baseOffset;
    const lastOffset = offset + h.lastOffsetDelta;
    const firstTimestamp = logAppendTime ? h.maxTimestamp : h.baseTimestamp;
    const bytes = buf.subarray(h.position, h.position + h.sizeBytes);
    const segment = segmentFor(s, offset, h.sizeBytes, nowMs);
    if (h.partitionLeaderEpoch > s.latestEpoch) assignEpoch(s, h.partitionLeaderEpoch, offset);
    // As on the leader, markers leave the producer table alone; data batches become the producer's latest.
    if (h.producerId >= 0 && !h.isControl) s.producers.put(h.producerId, s.producers.replicated(h, nowMs));
    s.stmts.insertBatch.run(offset, lastOffset, firstTimestamp, h.maxTimestamp, h.producerId, h.producerEpoch, h.baseSequence, h.recordCount, bytes, nowMs);
    s.logEndOffset = lastOffset + 1;
    s.sizeBytes += h.sizeBytes;
    segment.sizeBytes += h.sizeBytes;
    segment.maxTimestamp = Math.max(segment.maxTimestamp, h.maxTimestamp);
    segment.newestAppendTimeMs = Math.max(segment.newestAppendTimeMs, nowMs);
    noteMaxTimestamp(s, offset, h.maxTimestamp);
  }
}
