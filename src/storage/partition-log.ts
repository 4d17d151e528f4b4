/**
 * The log of one partition: a SQLite database (better-sqlite3, WAL mode) holding one row per
 * record batch, keyed by base offset, with the batch bytes stored exactly as the producer
 * sent them except for baseOffset and partitionLeaderEpoch, which lie outside the CRC (and,
 * for message.timestamp.type=LogAppendTime, the stamped time and the CRC).
 *
 * Durability. In WAL mode a commit appends to the -wal file; a checkpoint later copies pages
 * into the database file.
 * - 'normal' (synchronous=NORMAL, the default): a commit is not fsynced; the WAL is fsynced
 *   only at checkpoints. A process crash loses nothing committed (the OS has the pages);
 *   a power loss or kernel crash can lose the commits since the last checkpoint's fsync,
 *   but never corrupts the database.
 * - 'full' (synchronous=FULL): the WAL is fsynced on every commit, so every acknowledged
 *   append survives power loss, at the cost of one fsync per transaction (group commit via
 *   appendMany amortises it).
 *
 * PartitionLog is a facade: its state is one PartitionLogState (partition-log-state.ts) and
 * its work is done by functions over that state, one file per concern:
 * - partition-log-append.ts: appends (group commit), idempotent-producer state, and a
 *   follower's append of the leader's batches (appendReplica);
 * - partition-log-read.ts: Fetch reads and ListOffsets by timestamp;
 * - partition-log-retention.ts: segments, retention, DeleteRecords, truncation (and resetTo),
 *   and the cleaner's view for compaction (log-cleaner.ts);
 * - partition-log-epochs.ts: the leader-epoch cache and OffsetForLeaderEpoch;
 * - partition-log-recovery.ts: opening, integrity check, migrations, recovery, high-watermark
 *   checkpoints, closing;
 * - partition-log-types.ts: the public types, re-exported here.
 * Each method here is one call into them; the append path adds no allocation per batch.
 *
 * Runs on the worker thread of the partition actor (or group coordinator) that owns it.
 */
import { compactionBytesPerStepDefault, retentionBatchesPerStepDefault } from './limits.js';
import { type CompactionProgress, LogCleaner } from './log-cleaner.js';
import type { FailurePoints } from './failure-points.js';
import type {
  AppendOptions,
  AppendResult,
  EpochEndOffset,
  LeaderEpochEntry,
  PartitionLogOptions,
  ReadOptions,
  ReadResult,
  ReplicaAppendOptions,
  RetentionProgress,
  Segment,
  TimestampOffset,
} from './partition-log-types.js';
import type { ProducerEntry } from './producer-state.js';
import { type Appender, type ReplicaAppender, createAppender, createReplicaAppender } from './partition-log-append.js';
import { assignEpoch, epochEndOffset } from './partition-log-epochs.js';
import { maxTimestampOffset, offsetForTimestamp, read } from './partition-log-read.js';
import { checkpointHighWatermark, close, openDatabase, recover } from './partition-log-recovery.js';
import { cleanerHost, deleteRecordsBefore, enforceRetention, resetTo, retentionDueAtMs, truncateTo } from './partition-log-retention.js';
import { PartitionLogState, ensureOpen, inTransaction } from './partition-log-state.js';
import { type BatchCodecs, defaultBatchCodecs } from './record-batch.js';
import { StorageError, assert } from './storage-error.js';
import { type TopicConfig, checkTopicConfig, compacts } from './topic-config.js';

export { retentionTimeMs } from './partition-log-retention.js';

export type {
  AppendOptions,
  AppendResult,
  Durability,
  EpochEndOffset,
  LeaderEpochEntry,
  PartitionLogOptions,
  ReadOptions,
  ReadResult,
  ReplicaAppendOptions,
  RetentionProgress,
  Segment,
  TimestampOffset,
} from './partition-log-types.js';

/**
 * One partition's log. Invariants: base offsets strictly increase and batches never overlap;
 * they are contiguous (each base_offset is the previous last_offset + 1) except where
 * compaction deleted emptied batches, which only happens below the active segment, so the
 * last batch always ends at logEndOffset - 1. The first stored batch contains or follows
 * logStartOffset; logStartOffset <= highWatermark <= logEndOffset; sizeBytes is the sum of
 * the stored batch sizes, and of the segment sizes. Every batch belongs to the segment with
 * the greatest baseOffset at or below its own; the last segment is the active one and is
 * never compacted; retention deletes it only after rolling a new empty one. Time retention
 * never deletes a batch appended less than retention.ms ago (by this log's clock).
 *
 * logStartOffset moves only in deleteRecordsBefore, enforceRetention, truncateTo below it and
 * resetTo (all in partition-log-retention.ts); open reads it back from the meta table. A failed
 * transaction restores it with the rest of the in-memory state.
 * Batch bytes change only in append (offsets and leader epoch; LogAppendTime stamping) and
 * compactStep; appendReplica stores the leader's bytes as they are.
 * The leader-epoch cache's entries rise strictly in epoch and start offset; none starts past
 * logEndOffset (truncation trims them) or below logStartOffset (the first one is moved up to
 * it when the log start passes it).
 *
 * Not thread-safe: owned by one partition actor, and only that owner opens the database.
 */
export class PartitionLog {
  private readonly s: PartitionLogState;
  private readonly appender: Appender;
  /** Made on the first appendReplica: a leader never needs one. */
  private replicaAppender: ReplicaAppender | undefined;
  private readonly cleaner: LogCleaner;

  private constructor(state: PartitionLogState, codecs: BatchCodecs) {
    this.s = state;
    this.appender = createAppender(state);
    this.cleaner = new LogCleaner(cleanerHost(state), codecs);
  }

  /** Creates or opens the log at `path`, checks its integrity and recovers its state. */
  static open(opts: PartitionLogOptions): PartitionLog {
    const state = new PartitionLogState(opts.path, openDatabase(opts), opts);
    const log = new PartitionLog(state, opts.codecs ?? defaultBatchCodecs);
    recover(state);
    return log;
  }

  get path(): string {
    return this.s.path;
  }

  get failurePoints(): FailurePoints {
    return this.s.failurePoints;
  }

  get logStartOffset(): number {
    return this.s.logStartOffset;
  }

  /** The offset the next appended record will get. */
  get logEndOffset(): number {
    return this.s.logEndOffset;
  }

  get highWatermark(): number {
    return this.s.highWatermark;
  }

  get leaderEpoch(): number {
    return this.s.leaderEpoch;
  }

  /** Sum of the stored batch sizes, kept incrementally. */
  get sizeBytes(): number {
    return this.s.sizeBytes;
  }

  get isClosed(): boolean {
    return this.s.db === null;
  }

  get config(): TopicConfig {
    return this.s.config;
  }

  /**
   * Applies new topic configs from now on: the next append checks max.message.bytes and
   * stamps LogAppendTime by them, and the next retention or compaction step uses them.
   * Switching compaction off abandons a pass in progress.
   */
  setConfig(config: TopicConfig): void {
    ensureOpen(this.s);
    checkTopicConfig(config);
    this.s.config = { ...config };
    if (!compacts(config)) this.cleaner.reset();
  }

  /** The segments, oldest first; the last is the active segment. A snapshot for the console and tests. */
  get segments(): readonly Readonly<Segment>[] {
    return this.s.segments.map((segment) => ({ ...segment }));
  }

  /** Where compaction has cleaned up to (exclusive), and the pass in progress. */
  get cleanerState() {
    return { cleanerCheckpoint: this.s.cleanerCheckpoint, ...this.cleaner.state };
  }

  /** The producer state entry of `producerId`, for the console and tests. */
  producerState(producerId: number): ProducerEntry | undefined {
    return this.s.producers.get(producerId);
  }

  /**
   * Sets the high watermark, clamped to [logStartOffset, logEndOffset]; replication calls this
   * when highWatermarkFollowsLogEnd is false. It may move back: a follower takes the leader's,
   * which can be lower after a failover; the leader keeps its own monotonic. Held in memory
   * until checkpointHighWatermark or close.
   */
  setHighWatermark(offset: number): void {
    ensureOpen(this.s);
    assert(Number.isInteger(offset), `high watermark ${offset}`);
    this.s.highWatermark = Math.min(Math.max(offset, this.s.logStartOffset), this.s.logEndOffset);
  }

  /** Persists the high watermark (meta high_watermark), which an open with highWatermarkFollowsLogEnd false starts from. */
  checkpointHighWatermark(): void {
    ensureOpen(this.s);
    checkpointHighWatermark(this.s);
  }

  get highWatermarkFollowsLogEnd(): boolean {
    return this.s.highWatermarkFollowsLogEnd;
  }

  /**
   * Switches between a single replica (true: the high watermark is the log end) and a
   * replicated partition (false: setHighWatermark moves it), as reassignment changes the
   * replication factor. Switching to true moves the high watermark to logEndOffset.
   */
  setHighWatermarkFollowsLogEnd(follows: boolean): void {
    ensureOpen(this.s);
    this.s.highWatermarkFollowsLogEnd = follows;
    if (follows) this.s.highWatermark = this.s.logEndOffset;
  }

  /**
   * Persists a new leader epoch, stamped on every batch appended from now on, when this replica
   * becomes leader; epochs never decrease. The leader-epoch cache records that the epoch starts
   * at logEndOffset (Kafka's assign) when it is newer than the latest cached epoch, or the
   * cache is empty; the same epoch again changes nothing there.
   */
  setLeaderEpoch(leaderEpoch: number): void {
    ensureOpen(this.s);
    assert(Number.isInteger(leaderEpoch) && leaderEpoch >= this.s.leaderEpoch, `leader epoch ${leaderEpoch} < ${this.s.leaderEpoch}`);
    inTransaction(this.s, () => {
      this.s.stmts.putMeta.run('leader_epoch', leaderEpoch);
      assignEpoch(this.s, leaderEpoch, this.s.logEndOffset);
    });
    this.s.leaderEpoch = leaderEpoch;
  }

  /** The leader-epoch cache: each epoch with the first offset written under it, oldest first (a copy). */
  get leaderEpochs(): readonly LeaderEpochEntry[] {
    return this.s.leaderEpochs.map((entry) => ({ ...entry }));
  }

  /** The latest epoch in the leader-epoch cache, -1 when it is empty. */
  get latestEpoch(): number {
    return this.s.latestEpoch;
  }

  /**
   * OffsetForLeaderEpoch, as Kafka answers it: for the latest cached epoch, (that epoch,
   * logEndOffset); for a newer one (or an empty cache), { epoch: -1, endOffset: -1 }; for one
   * older than every cached epoch, (that epoch, the first cached epoch's start); otherwise the
   * largest cached epoch at or below requestedEpoch, with the start offset of the cached epoch
   * after it.
   */
  epochEndOffset(requestedEpoch: number): EpochEndOffset {
    ensureOpen(this.s);
    return epochEndOffset(this.s, requestedEpoch);
  }

  /** Appends one produce request partition's records (one or more batches), all or nothing. */
  append(records: Uint8Array, opts: AppendOptions = {}): AppendResult {
    const result = this.appender([records], opts)[0]!; // one result per input
    if (result instanceof StorageError) throw result;
    return result;
  }

  /**
   * Group commit: appends every item in one transaction. Each item succeeds or fails on its
   * own (a bad item gets its StorageError and the others still commit); a failure of the
   * transaction itself fails every item with KAFKA_STORAGE_ERROR and changes nothing.
   * Hot path: per batch only the header is decoded and the CRC computed, and the batch is
   * bound to SQLite as a view of the caller's buffer (SQLite's copy is the only one).
   */
  appendMany(items: Uint8Array[], opts: AppendOptions = {}): Array<AppendResult | StorageError> {
    return this.appender(items, opts);
  }

  /**
   * A follower's append: stores the leader's batches (as a Fetch response carries them, one or
   * more v2 batches) at their own offsets with their bytes unchanged, all or nothing, in one
   * transaction. Each whole batch is checked (header, CRC: CORRUPT_MESSAGE); the first must
   * start at or past logEndOffset (a gap is the leader's compaction) and each next one after
   * the previous one's last offset, else INVALID_RECORD and nothing is written. Control batches
   * are accepted. A trailing partial batch is ignored; with no whole batch nothing is appended
   * and the result's offsets are -1. Each data batch of a producer (producerId >= 0) becomes
   * its latest in the producer table without sequence or epoch checks, so a retry reaching
   * this replica once it leads is a duplicate as it would have been on the leader; each batch
   * of a leader epoch newer than the cache's latest adds that epoch at its base offset.
   * Segments roll as for appends. The high watermark moves only if it follows the log end.
   */
  appendReplica(records: Uint8Array, opts: ReplicaAppendOptions = {}): AppendResult {
    ensureOpen(this.s);
    this.replicaAppender ??= createReplicaAppender(this.s);
    return this.replicaAppender(records, opts);
  }

  /**
   * Reads whole stored batches starting with the one containing fetchOffset, up to maxBytes
   * but always at least one, none ending at or past maxOffsetExclusive (default highWatermark).
   */
  read(fetchOffset: number, maxBytes: number, opts: ReadOptions = {}): ReadResult {
    return read(this.s, fetchOffset, maxBytes, opts);
  }

  /**
   * ListOffsets by timestamp: the first offset at or after logStartOffset whose record
   * timestamp is >= timestampMs, below maxOffsetExclusive (default highWatermark), or null.
   */
  offsetForTimestamp(timestampMs: number, opts: ReadOptions = {}): TimestampOffset | null {
    return offsetForTimestamp(this.s, timestampMs, opts);
  }

  /** ListOffsets MAX_TIMESTAMP (-3): the record with the largest timestamp (the first such), or null if empty. */
  maxTimestampOffset(): TimestampOffset | null {
    return maxTimestampOffset(this.s);
  }

  /**
   * Removes every batch with last_offset >= offset (the batch containing offset goes
   * entirely, as in Kafka); logEndOffset becomes the end of the last remaining batch.
   * Truncating below logStartOffset restarts the log at offset.
   */
  truncateTo(offset: number): void {
    truncateTo(this.s, this.cleaner, offset);
  }

  /**
   * Kafka's truncateFullyAndStartAt, for a follower behind the leader's log start: deletes every
   * batch, segment and producer entry, empties the leader-epoch cache, and sets logStartOffset,
   * logEndOffset and highWatermark to offset (persisted), in one transaction.
   */
  resetTo(offset: number): void {
    resetTo(this.s, this.cleaner, offset);
  }

  /**
   * DeleteRecords: advances logStartOffset to offset (persisted) and deletes the batches
   * wholly below it. offset past the high watermark is OFFSET_OUT_OF_RANGE. Returns the new
   * logStartOffset.
   */
  deleteRecordsBefore(offset: number): number {
    return deleteRecordsBefore(this.s, offset);
  }

  /**
   * Deletes whole segments from the oldest, as Kafka's retention does, while the oldest
   * non-active segment is past retention.ms or deleting it keeps the log at or above
   * retention.bytes. Past retention.ms means retentionTimeMs (the later of its newest record
   * timestamp and its newest batch's append time) is older than nowMs - retention.ms, so a
   * batch that arrived less than retention.ms ago is never deleted by time, whatever its
   * timestamps; retention.bytes, an explicit cap on size, applies regardless. At most
   * maxBatchesPerStep batches go per call, in one transaction; a segment larger than that is
   * deleted over several calls, oldest batches first. When the active segment itself is due
   * (its newest batch arrived more than retention.ms ago and every record is past it, or
   * retention.bytes 0) a new empty active segment is rolled at the log end first, as Kafka
   * does, so the log can empty; a segment just written is never due by time, so retention
   * never rolls it. Never deletes data at or past the high watermark. Does nothing unless
   * cleanup.policy includes delete.
   */
  enforceRetention(nowMs: number = this.s.clock(), maxBatchesPerStep: number = retentionBatchesPerStepDefault): RetentionProgress {
    return enforceRetention(this.s, nowMs, maxBatchesPerStep);
  }

  /** When time retention can first delete something here (`nowMs` if it can now), or null if never without appends. */
  retentionDueAtMs(nowMs: number = this.s.clock()): number | null {
    return retentionDueAtMs(this.s, nowMs);
  }

  /**
   * One bounded step of compaction when cleanup.policy includes compact: reads at most
   * maxBytesPerStep of batches (at least one), and applies what it changes in one short
   * transaction. The returned promise settles after the step's decompress/recompress work;
   * the caller must not start another step before it does, and may append meanwhile.
   */
  async compactStep(nowMs: number = this.s.clock(), maxBytesPerStep: number = compactionBytesPerStepDefault): Promise<CompactionProgress> {
    ensureOpen(this.s);
    if (!compacts(this.s.config)) {
      return { phase: 'idle', passDone: false, bytesRead: 0, recordBytes: 0, batchesRewritten: 0, batchesRemoved: 0, recordsRemoved: 0 };
    }
    return this.cleaner.step(nowMs, maxBytesPerStep);
  }

  /** Checkpoints the high watermark and the WAL into the database file and closes it. Later calls do nothing; other methods throw. */
  close(): void {
    close(this.s);
  }
}
