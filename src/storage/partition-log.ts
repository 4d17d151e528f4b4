/**
 * The log of one partition: a SQLite database (better-sqlite3, WAL mode) holding one row per
 * record batch, keyed by base offset, with the batch bytes stored exactly as the producer
 * sent them except for baseOffset and partitionLeaderEpoch, which lie outside the CRC.
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
 * Recovery on open runs PRAGMA quick_check (which reads the whole file: O(size)) and then
 * rebuilds the in-memory state from the last row, the meta table and the producer table.
 *
 * Runs on the worker thread of the partition actor (or group coordinator) that owns it.
 */
import Database from 'better-sqlite3';
import { FailurePoints } from './failure-points.js';
import { type BatchChange, type CleanerHost, type CompactionProgress, LogCleaner, type StoredBatch } from './log-cleaner.js';
import { compactionBytesPerStepDefault, maxOffset, retentionBatchesPerStepDefault, schemaVersion } from './limits.js';
import { ProducerStateTable, type ProducerEntry } from './producer-state.js';
import { type WalCheckpointer, walBackstopPages, walCheckpointPages } from './wal-checkpointer.js';
import {
  type BatchCodecs,
  type BatchHeader,
  asBuffer,
  defaultBatchCodecs,
  iterateRecords,
  parseBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
  splitBatches,
  stampLogAppendTime,
} from './record-batch.js';
import { StorageError, assert } from './storage-error.js';
import { type TopicConfig, checkTopicConfig, compacts, defaultTopicConfig, deletesOldSegments } from './topic-config.js';

export type Durability = 'normal' | 'full';

export interface PartitionLogOptions {
  path: string;
  durability?: Durability;
  /** Wall clock in ms, injectable for simulation; defaults to Date.now. */
  clock?: () => number;
  /** The topic's configs; defaults to Kafka's. Change them at run time with setConfig. */
  config?: Partial<TopicConfig>;
  /** Largest batch accepted; the same as config.maxMessageBytes, which wins when both are given. */
  maxBatchBytes?: number;
  /** Codecs for compaction's decompress/recompress; src/compression's by default. */
  codecs?: BatchCodecs;
  /** Defaults to true: the high watermark follows logEndOffset, as on a single node. */
  highWatermarkFollowsLogEnd?: boolean;
  failurePoints?: FailurePoints;
  /**
   * Checkpoints this log's WAL on another thread (see wal-checkpointer.ts) instead of inside the
   * commit that fills it; SQLite's inline checkpoint stays as a backstop at 8x the threshold.
   * Without one, SQLite checkpoints inline every 1000 pages, as it does by default.
   */
  walCheckpointer?: WalCheckpointer;
}

export interface AppendOptions {
  nowMs?: number;
  /** Only the transaction coordinator may write control batches (markers). */
  origin?: 'client' | 'coordinator';
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The broker time stamped on the batches for LogAppendTime topics; -1 for CreateTime. */
  logAppendTimeMs: number;
  logStartOffset: number;
  duplicate: boolean;
}

export interface ReadOptions {
  /** Batches ending at or past this offset are not returned; defaults to highWatermark. */
  maxOffsetExclusive?: number;
}

export interface ReadResult {
  batches: Buffer[];
  bytes: number;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
}

export interface TimestampOffset {
  offset: number;
  timestampMs: number;
}

interface BatchBounds {
  base_offset: number;
  last_offset: number;
}

/**
 * One segment: Kafka's unit of retention, here a range of batches from baseOffset up to the
 * next segment's baseOffset. Only baseOffset and createdMs are stored (the segments table);
 * size, newest timestamp and newest append time are kept in memory and recomputed on open.
 */
export interface Segment {
  readonly baseOffset: number;
  /** Wall-clock time the segment was rolled (its first batch appended); segment.ms counts from it. */
  readonly createdMs: number;
  sizeBytes: number;
  /** Largest max_timestamp of its batches, -1 when empty. */
  maxTimestamp: number;
  /**
   * Wall-clock time the broker appended its newest batch (the largest append_time_ms), -1 when
   * empty: time retention never deletes a segment within retention.ms of it, whatever the
   * records' own timestamps say (see retentionTimeMs).
   */
  newestAppendTimeMs: number;
}

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

export interface RetentionProgress {
  batchesDeleted: number;
  bytesDeleted: number;
  logStartOffset: number;
  /** True when the step stopped at its batch bound with more to delete. */
  more: boolean;
}

/** In-memory state an append may change, saved so a failed transaction can restore it. */
interface AppendCursor {
  logEndOffset: number;
  sizeBytes: number;
  maxTimestampBatch: MaxTimestampBatch | null | undefined;
  segmentCount: number;
  activeSegment: { sizeBytes: number; maxTimestamp: number; newestAppendTimeMs: number } | null;
}

/** The batch holding the largest timestamp; undefined when it must be recomputed. */
interface MaxTimestampBatch {
  baseOffset: number;
  maxTimestamp: number;
}

const schemaSql = `
  CREATE TABLE IF NOT EXISTS batches (
    base_offset INTEGER PRIMARY KEY,
    last_offset INTEGER NOT NULL,
    first_timestamp INTEGER NOT NULL,
    max_timestamp INTEGER NOT NULL,
    producer_id INTEGER NOT NULL,
    producer_epoch INTEGER NOT NULL,
    base_sequence INTEGER NOT NULL,
    record_count INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    delete_horizon_ms INTEGER NOT NULL DEFAULT -1,
    append_time_ms INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS segments (base_offset INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS producer_state (
    producer_id INTEGER PRIMARY KEY,
    producer_epoch INTEGER NOT NULL,
    last_timestamp INTEGER NOT NULL,
    batches TEXT NOT NULL
  );
`;

function prepareStatements(db: Database.Database) {
  return {
    insertBatch: db.prepare(
      `INSERT INTO batches (base_offset, last_offset, first_timestamp, max_timestamp, producer_id, producer_epoch,
         base_sequence, record_count, bytes, append_time_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    lastBatch: db.prepare<[], BatchBounds>('SELECT base_offset, last_offset FROM batches ORDER BY base_offset DESC LIMIT 1'),
    floorBatch: db.prepare<[number], BatchBounds>(
      'SELECT base_offset, last_offset FROM batches WHERE base_offset <= ? ORDER BY base_offset DESC LIMIT 1',
    ),
    // raw() rows ([last_offset, bytes]) avoid building an object per batch on the fetch path.
    readFrom: db.prepare<[number], [number, Buffer]>('SELECT last_offset, bytes FROM batches WHERE base_offset >= ? ORDER BY base_offset').raw(),
    batchBytes: db.prepare<[number], { bytes: Buffer }>('SELECT bytes FROM batches WHERE base_offset = ?'),
    sizeAll: db.prepare<[], { n: number }>('SELECT coalesce(sum(length(bytes)), 0) AS n FROM batches'),
    sizeFrom: db.prepare<[number], { n: number }>('SELECT coalesce(sum(length(bytes)), 0) AS n FROM batches WHERE base_offset >= ?'),
    sizeBefore: db.prepare<[number], { n: number }>('SELECT coalesce(sum(length(bytes)), 0) AS n FROM batches WHERE base_offset < ?'),
    deleteFrom: db.prepare('DELETE FROM batches WHERE base_offset >= ?'),
    deleteBefore: db.prepare('DELETE FROM batches WHERE base_offset < ?'),
    // No time index: these scan the table's leaf pages, but never the batch blobs.
    firstAtTime: db.prepare<[number, number], { base_offset: number }>(
      'SELECT base_offset FROM batches WHERE max_timestamp >= ? AND last_offset >= ? ORDER BY base_offset LIMIT 1',
    ),
    maxTimestamp: db.prepare<[], { base_offset: number; max_timestamp: number }>(
      'SELECT base_offset, max_timestamp FROM batches ORDER BY max_timestamp DESC, base_offset ASC LIMIT 1',
    ),
    getMeta: db.prepare<[string], { value: number }>('SELECT value FROM meta WHERE key = ?'),
    putMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    allProducers: db.prepare<[], { producer_id: number; producer_epoch: number; last_timestamp: number; batches: string }>(
      'SELECT producer_id, producer_epoch, last_timestamp, batches FROM producer_state',
    ),
    putProducer: db.prepare(
      `INSERT INTO producer_state (producer_id, producer_epoch, last_timestamp, batches) VALUES (?, ?, ?, ?)
       ON CONFLICT (producer_id) DO UPDATE SET producer_epoch = excluded.producer_epoch,
         last_timestamp = excluded.last_timestamp, batches = excluded.batches`,
    ),
    deleteProducer: db.prepare('DELETE FROM producer_state WHERE producer_id = ?'),
    insertSegment: db.prepare('INSERT INTO segments (base_offset, created_ms) VALUES (?, ?)'),
    allSegments: db.prepare<[], { base_offset: number; created_ms: number }>('SELECT base_offset, created_ms FROM segments ORDER BY base_offset'),
    deleteSegmentsFrom: db.prepare('DELETE FROM segments WHERE base_offset >= ?'),
    deleteSegmentsBefore: db.prepare('DELETE FROM segments WHERE base_offset < ?'),
    // length() of a blob reads its size from the record header, not the blob pages.
    segmentStats: db.prepare<[number, number], { n: number; t: number; a: number }>(
      `SELECT coalesce(sum(length(bytes)), 0) AS n, coalesce(max(max_timestamp), -1) AS t, coalesce(max(append_time_ms), -1) AS a
         FROM batches WHERE base_offset >= ? AND base_offset < ?`,
    ),
    nthBatchFrom: db.prepare<[number, number, number], { base_offset: number }>(
      'SELECT base_offset FROM batches WHERE base_offset >= ? AND base_offset < ? ORDER BY base_offset LIMIT 1 OFFSET ?',
    ),
    sizeBetween: db.prepare<[number, number], { n: number; c: number }>(
      'SELECT coalesce(sum(length(bytes)), 0) AS n, count(*) AS c FROM batches WHERE base_offset >= ? AND base_offset < ?',
    ),
    deleteBetween: db.prepare('DELETE FROM batches WHERE base_offset >= ? AND base_offset < ?'),
    batchesBetween: db.prepare<[number, number], [number, number, Buffer]>(
      'SELECT base_offset, delete_horizon_ms, bytes FROM batches WHERE base_offset >= ? AND base_offset < ? ORDER BY base_offset',
    ).raw(),
    batchSize: db.prepare<[number], { n: number }>('SELECT length(bytes) AS n FROM batches WHERE base_offset = ?'),
    updateBatch: db.prepare('UPDATE batches SET bytes = ?, max_timestamp = ?, record_count = ?, delete_horizon_ms = ? WHERE base_offset = ?'),
    setDeleteHorizon: db.prepare('UPDATE batches SET delete_horizon_ms = ? WHERE base_offset = ?'),
    deleteBatch: db.prepare('DELETE FROM batches WHERE base_offset = ?'),
    minDeleteHorizon: db.prepare<[], { h: number | null }>('SELECT min(delete_horizon_ms) AS h FROM batches WHERE delete_horizon_ms >= 0'),
    firstTimestampFrom: db.prepare<[number], { t: number }>('SELECT first_timestamp AS t FROM batches WHERE base_offset >= ? ORDER BY base_offset LIMIT 1'),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

function storageFailure(path: string, what: string, err: unknown): StorageError {
  const detail = err instanceof Error ? err.message : String(err);
  return new StorageError('KAFKA_STORAGE_ERROR', `${what} ${path}: ${detail}`, { cause: err });
}

/**
 * Expected failures (our own, or SQLite's I/O errors) become StorageErrors; anything else is
 * a bug and is rethrown, to crash the owning actor.
 */
function asStorageFailure(path: string, what: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  if (err instanceof Database.SqliteError) return storageFailure(path, what, err);
  throw err;
}

/** An expected failure of this item becomes a value; anything else propagates. */
function asItemError(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  throw err;
}

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
 * logStartOffset moves only in deleteRecordsBefore, enforceRetention, and truncateTo below it.
 * Batch bytes change only in append (LogAppendTime stamping) and compactStep.
 *
 * Not thread-safe: owned by one partition actor, and only that owner opens the database.
 */
export class PartitionLog {
  readonly failurePoints: FailurePoints;
  private db: Database.Database | null;
  private readonly stmts: Statements;
  private readonly appendTransaction: PartitionLog['stageAll'];
  private readonly producers = new ProducerStateTable();
  private readonly clock: () => number;
  private configValue: TopicConfig;
  private readonly cleaner: LogCleaner;
  private readonly segmentList: Segment[] = [];
  private truncationCount = 0;
  private cleanerCheckpointValue = 0;
  /** Earliest delete horizon of a batch with retained tombstones; undefined when it must be re-read. */
  private deleteHorizonMs: number | null | undefined = undefined;
  private readonly highWatermarkFollowsLogEnd: boolean;
  private logStartOffsetValue = 0;
  private logEndOffsetValue = 0;
  private highWatermarkValue = 0;
  private leaderEpochValue = 0;
  private sizeBytesValue = 0;
  private maxTimestampBatch: MaxTimestampBatch | null | undefined = undefined;
  private readonly walCheckpointer: WalCheckpointer | undefined;
  /** Estimated WAL pages written since the last checkpoint request. */
  private walPages = 0;

  private constructor(
    readonly path: string,
    db: Database.Database,
    opts: PartitionLogOptions,
  ) {
    this.db = db;
    this.stmts = prepareStatements(db);
    this.appendTransaction = db.transaction(this.stageAll.bind(this));
    this.failurePoints = opts.failurePoints ?? new FailurePoints();
    this.clock = opts.clock ?? Date.now;
    const maxMessageBytes = opts.config?.maxMessageBytes ?? opts.maxBatchBytes ?? defaultTopicConfig.maxMessageBytes;
    this.configValue = { ...defaultTopicConfig, ...opts.config, maxMessageBytes };
    checkTopicConfig(this.configValue);
    this.cleaner = new LogCleaner(this.cleanerHost(), opts.codecs ?? defaultBatchCodecs);
    this.highWatermarkFollowsLogEnd = opts.highWatermarkFollowsLogEnd ?? true;
    this.walCheckpointer = opts.walCheckpointer;
    if (this.walCheckpointer) db.pragma(`wal_autocheckpoint = ${walBackstopPages}`);
  }

  /** Creates or opens the log at `path`, checks its integrity and recovers its state. */
  static open(opts: PartitionLogOptions): PartitionLog {
    let db: Database.Database | undefined;
    try {
      db = new Database(opts.path);
      configure(db, opts.durability ?? 'normal');
      quickCheck(db, opts.path);
      db.exec(schemaSql);
      migrate(db, (opts.clock ?? Date.now)());
    } catch (err) {
      db?.close();
      throw err instanceof StorageError ? err : storageFailure(opts.path, 'cannot open partition log', err);
    }
    const log = new PartitionLog(opts.path, db, opts);
    log.recover();
    return log;
  }

  get logStartOffset(): number {
    return this.logStartOffsetValue;
  }

  /** The offset the next appended record will get. */
  get logEndOffset(): number {
    return this.logEndOffsetValue;
  }

  get highWatermark(): number {
    return this.highWatermarkValue;
  }

  get leaderEpoch(): number {
    return this.leaderEpochValue;
  }

  /** Sum of the stored batch sizes, kept incrementally. */
  get sizeBytes(): number {
    return this.sizeBytesValue;
  }

  get isClosed(): boolean {
    return this.db === null;
  }

  get config(): TopicConfig {
    return this.configValue;
  }

  /**
   * Applies new topic configs from now on: the next append checks max.message.bytes and
   * stamps LogAppendTime by them, and the next retention or compaction step uses them.
   * Switching compaction off abandons a pass in progress.
   */
  setConfig(config: TopicConfig): void {
    this.ensureOpen();
    checkTopicConfig(config);
    this.configValue = { ...config };
    if (!compacts(config)) this.cleaner.reset();
  }

  /** The segments, oldest first; the last is the active segment. A snapshot for the console and tests. */
  get segments(): readonly Readonly<Segment>[] {
    return this.segmentList.map((s) => ({ ...s }));
  }

  /** Where compaction has cleaned up to (exclusive), and the pass in progress. */
  get cleanerState() {
    return { cleanerCheckpoint: this.cleanerCheckpointValue, ...this.cleaner.state };
  }

  /** The producer state entry of `producerId`, for the console and tests. */
  producerState(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  /**
   * Sets the high watermark; replication calls this when highWatermarkFollowsLogEnd is false.
   * It must stay within [logStartOffset, logEndOffset] and never move back.
   */
  setHighWatermark(offset: number): void {
    this.ensureOpen();
    assert(offset >= this.highWatermarkValue, `high watermark ${offset} moves back from ${this.highWatermarkValue}`);
    assert(offset <= this.logEndOffsetValue, `high watermark ${offset} past logEndOffset ${this.logEndOffsetValue}`);
    this.highWatermarkValue = offset;
  }

  /** Persists a new leader epoch, stamped on every batch appended from now on. Epochs never decrease. */
  setLeaderEpoch(leaderEpoch: number): void {
    this.ensureOpen();
    assert(Number.isInteger(leaderEpoch) && leaderEpoch >= this.leaderEpochValue, `leader epoch ${leaderEpoch} < ${this.leaderEpochValue}`);
    this.stmts.putMeta.run('leader_epoch', leaderEpoch);
    this.leaderEpochValue = leaderEpoch;
  }

  /** Appends one produce request partition's records (one or more batches), all or nothing. */
  append(records: Uint8Array, opts: AppendOptions = {}): AppendResult {
    const [result] = this.appendMany([records], opts);
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
    this.ensureOpen();
    const saved = this.saveCursor();
    const producerMark = this.producers.mark();
    const nowMs = opts.nowMs ?? this.clock();
    let results: Array<AppendResult | StorageError>;
    try {
      this.failurePoints.check('append');
      results = this.appendTransaction(items, nowMs, opts.origin ?? 'client', producerMark);
    } catch (err) {
      this.restoreCursor(saved);
      this.producers.rollbackTo(producerMark);
      const error = asStorageFailure(this.path, 'append failed on', err);
      return items.map(() => error);
    }
    this.producers.commit();
    if (this.highWatermarkFollowsLogEnd) this.highWatermarkValue = this.logEndOffsetValue;
    let bytes = 0;
    for (const item of items) bytes += item.byteLength;
    this.wroteToWal(bytes);
    return results;
  }

  /**
   * Counts the WAL pages a commit of `bytes` adds — an estimate: the bytes themselves plus a few
   * b-tree pages (batch row, index, producer row) — and asks the checkpointer for a checkpoint
   * once enough have gathered.
   */
  private wroteToWal(bytes: number): void {
    if (!this.walCheckpointer) return;
    this.walPages += 3 + Math.ceil(bytes / 4096);
    if (this.walPages < walCheckpointPages) return;
    this.walPages = 0;
    this.walCheckpointer.request(this.path, () => this.finishCheckpoint());
  }

  /**
   * Copies the WAL frames the checkpointer thread left (those committed while it copied the
   * rest; usually none or a few): a PASSIVE checkpoint on this connection, between two commits,
   * after which the next commit restarts the WAL from its beginning instead of growing it.
   */
  private finishCheckpoint(): void {
    if (this.db === null) return;
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // A failed checkpoint loses nothing: the frames stay in the WAL and the backstop retries.
    }
  }

  /** Runs inside the transaction wrapper made once in the constructor (making one per call costs). */
  private stageAll(items: Uint8Array[], nowMs: number, origin: 'client' | 'coordinator', producerMark: number) {
    const staged = items.map((item) => this.stageItem(item, nowMs, origin));
    // Rolled segments are persisted in the same transaction as the batches they hold.
    this.persistProducers(producerMark);
    this.failurePoints.check('commit');
    return staged;
  }

  /** Validates one item, then writes its batches; an invalid item leaves no trace. */
  private stageItem(item: Uint8Array, nowMs: number, origin: 'client' | 'coordinator'): AppendResult | StorageError {
    let headers: BatchHeader[];
    try {
      headers = splitBatches(item, { maxBatchBytes: this.configValue.maxMessageBytes });
      this.validateBatches(headers, nowMs, origin);
    } catch (err) {
      return asItemError(err);
    }
    const mark = this.producers.mark();
    let duplicate: AppendResult | null;
    try {
      duplicate = this.checkProducers(headers, nowMs);
    } catch (err) {
      this.producers.rollbackTo(mark);
      return asItemError(err);
    }
    if (duplicate) {
      this.producers.rollbackTo(mark);
      return duplicate;
    }
    return this.writeBatches(asBuffer(item), headers, nowMs);
  }

  private validateBatches(headers: BatchHeader[], nowMs: number, origin: 'client' | 'coordinator'): void {
    let records = 0;
    for (const h of headers) {
      if (h.isControl && origin !== 'coordinator') throw new StorageError('INVALID_RECORD', 'clients may not write control batches');
      const stamped = this.configValue.messageTimestampType === 'LogAppendTime';
      if (!stamped && h.timestampType === 'CreateTime') this.checkTimestamps(h, nowMs);
      records += h.recordCount;
    }
    assert(this.logEndOffsetValue + records <= maxOffset, 'offsets would exceed 2^53');
  }

  /**
   * Kafka's CreateTime check (LogValidator): a timestamp more than message.timestamp.before.max.ms
   * in the past or after.max.ms in the future is INVALID_TIMESTAMP. -1 (no timestamp) is not
   * checked. The batch header's first and largest timestamps stand for its records.
   */
  private checkTimestamps(h: BatchHeader, nowMs: number): void {
    const { messageTimestampBeforeMaxMs: beforeMs, messageTimestampAfterMaxMs: afterMs } = this.configValue;
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
  private checkProducers(headers: BatchHeader[], nowMs: number): AppendResult | null {
    let baseOffset = this.logEndOffsetValue;
    for (const h of headers) {
      if (h.producerId >= 0 && h.isControl) this.producers.checkControl(h);
      else if (h.producerId >= 0) {
        const check = this.producers.check(h, baseOffset, nowMs);
        if (check.kind === 'duplicate') return this.duplicateResult(check.original.baseOffset, check.original.lastOffset);
        this.producers.put(h.producerId, check.entry);
      }
      baseOffset += h.lastOffsetDelta + 1;
    }
    return null;
  }

  private duplicateResult(baseOffset: number, lastOffset: number): AppendResult {
    // Kafka answers a duplicate with -1 too: the original append time is not kept.
    return { baseOffset, lastOffset, logAppendTimeMs: -1, logStartOffset: this.logStartOffsetValue, duplicate: true };
  }

  private writeBatches(buf: Buffer, headers: BatchHeader[], nowMs: number): AppendResult {
    const baseOffset = this.logEndOffsetValue;
    const logAppendTime = this.configValue.messageTimestampType === 'LogAppendTime';
    for (const h of headers) {
      const offset = this.logEndOffsetValue;
      const lastOffset = offset + h.lastOffsetDelta;
      setBaseOffset(buf, offset, h.position);
      setPartitionLeaderEpoch(buf, this.leaderEpochValue, h.position);
      // As Kafka's LogValidator: the batch takes the broker's time, its records keep their deltas.
      if (logAppendTime) stampLogAppendTime(buf, h.position, h.sizeBytes, nowMs);
      const firstTimestamp = logAppendTime ? nowMs : h.baseTimestamp;
      const maxTimestamp = logAppendTime ? nowMs : h.maxTimestamp;
      const bytes = buf.subarray(h.position, h.position + h.sizeBytes);
      const segment = this.segmentFor(offset, h.sizeBytes, nowMs);
      // nowMs is also the batch's arrival time, which time retention keys on with its timestamps.
      this.stmts.insertBatch.run(offset, lastOffset, firstTimestamp, maxTimestamp, h.producerId, h.producerEpoch, h.baseSequence, h.recordCount, bytes, nowMs);
      this.logEndOffsetValue = lastOffset + 1;
      this.sizeBytesValue += h.sizeBytes;
      segment.sizeBytes += h.sizeBytes;
      segment.maxTimestamp = Math.max(segment.maxTimestamp, maxTimestamp);
      segment.newestAppendTimeMs = Math.max(segment.newestAppendTimeMs, nowMs);
      this.noteMaxTimestamp(offset, maxTimestamp);
    }
    const lastOffset = this.logEndOffsetValue - 1;
    return { baseOffset, lastOffset, logAppendTimeMs: logAppendTime ? nowMs : -1, logStartOffset: this.logStartOffsetValue, duplicate: false };
  }

  /**
   * The segment a batch of `sizeBytes` at `offset` goes into: the active one, unless it would
   * pass segment.bytes or is older than segment.ms (for compacted topics also
   * max.compaction.lag.ms, so the active segment's records become cleanable in time), in
   * which case a new segment is rolled. An empty active segment always takes the batch.
   */
  private segmentFor(offset: number, sizeBytes: number, nowMs: number): Segment {
    const active = this.segmentList[this.segmentList.length - 1];
    const cfg = this.configValue;
    const rollMs = compacts(cfg) ? Math.min(cfg.segmentMs, cfg.maxCompactionLagMs) : cfg.segmentMs;
    const full = active !== undefined && active.sizeBytes > 0 && (active.sizeBytes + sizeBytes > cfg.segmentBytes || nowMs - active.createdMs >= rollMs);
    if (active !== undefined && !full) return active;
    this.stmts.insertSegment.run(offset, nowMs);
    const rolled: Segment = { baseOffset: offset, createdMs: nowMs, sizeBytes: 0, maxTimestamp: -1, newestAppendTimeMs: -1 };
    this.segmentList.push(rolled);
    return rolled;
  }

  private noteMaxTimestamp(baseOffset: number, maxTimestamp: number): void {
    const known = this.maxTimestampBatch;
    // Strictly greater keeps the earliest batch on ties, as Kafka's offsetOfMaxTimestamp does.
    if (known === null || (known !== undefined && maxTimestamp > known.maxTimestamp)) {
      this.maxTimestampBatch = { baseOffset, maxTimestamp };
    }
  }

  private persistProducers(sinceMark: number): void {
    for (const producerId of this.producers.changedSince(sinceMark)) {
      const entry = this.producers.get(producerId);
      if (!entry) {
        this.stmts.deleteProducer.run(producerId);
        continue;
      }
      const batches = JSON.stringify(entry.batches.map((b) => [b.firstSeq, b.lastSeq, b.baseOffset, b.lastOffset]));
      this.stmts.putProducer.run(producerId, entry.producerEpoch, entry.lastTimestampMs, batches);
    }
  }

  /**
   * Reads whole stored batches starting with the one containing fetchOffset, up to maxBytes
   * but always at least one, none ending at or past maxOffsetExclusive (default highWatermark).
   */
  read(fetchOffset: number, maxBytes: number, opts: ReadOptions = {}): ReadResult {
    this.ensureOpen();
    this.failurePoints.check('read');
    this.checkOffsetInRange(fetchOffset);
    const limit = Math.min(opts.maxOffsetExclusive ?? this.highWatermarkValue, this.logEndOffsetValue);
    const batches: Buffer[] = [];
    let bytes = 0;
    if (fetchOffset < limit) {
      // cutPoint skips a batch that ends before fetchOffset, which compaction's gaps allow.
      const start = this.cutPoint(fetchOffset);
      // Each row's blob is copied once by better-sqlite3; the row that overflows maxBytes
      // is the one copy wasted per fetch, cheaper than a second query for sizes.
      for (const [lastOffset, blob] of this.stmts.readFrom.iterate(start)) {
        if (lastOffset >= limit || (batches.length > 0 && bytes + blob.length > maxBytes)) break;
        batches.push(blob);
        bytes += blob.length;
      }
    }
    return { batches, bytes, ...this.offsets() };
  }

  private offsets() {
    return { highWatermark: this.highWatermarkValue, logStartOffset: this.logStartOffsetValue, logEndOffset: this.logEndOffsetValue };
  }

  private checkOffsetInRange(offset: number): void {
    if (!Number.isInteger(offset) || offset < this.logStartOffsetValue || offset > this.logEndOffsetValue) {
      throw new StorageError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is outside [${this.logStartOffsetValue}, ${this.logEndOffsetValue}] of ${this.path}`,
      );
    }
  }

  /**
   * ListOffsets by timestamp: the first offset at or after logStartOffset whose record
   * timestamp is >= timestampMs, below maxOffsetExclusive (default highWatermark), or null.
   */
  offsetForTimestamp(timestampMs: number, opts: ReadOptions = {}): TimestampOffset | null {
    this.ensureOpen();
    const limit = Math.min(opts.maxOffsetExclusive ?? this.highWatermarkValue, this.logEndOffsetValue);
    const row = this.stmts.firstAtTime.get(timestampMs, this.logStartOffsetValue);
    if (!row || row.base_offset >= limit) return null;
    const batch = this.stmts.batchBytes.get(row.base_offset)!.bytes;
    const h = parseBatchHeader(batch, 0, { maxBatchBytes: Number.MAX_SAFE_INTEGER, allowSparse: true });
    if (h.compression !== 0) {
      // Compressed batches are not decompressed here (that is CPU-pool work), so the answer
      // is the batch's first offset and its max timestamp: a consumer seeking there reads
      // at most one batch of earlier records, which Kafka clients skip by timestamp.
      return { offset: Math.max(h.baseOffset, this.logStartOffsetValue), timestampMs: h.maxTimestamp };
    }
    for (const record of iterateRecords(batch)) {
      if (record.offset >= limit) return null;
      if (record.offset >= this.logStartOffsetValue && record.timestampMs >= timestampMs) {
        return { offset: record.offset, timestampMs: record.timestampMs };
      }
    }
    return null;
  }

  /** ListOffsets MAX_TIMESTAMP (-3): the record with the largest timestamp (the first such), or null if empty. */
  maxTimestampOffset(): TimestampOffset | null {
    this.ensureOpen();
    if (this.maxTimestampBatch === undefined) {
      const row = this.stmts.maxTimestamp.get();
      this.maxTimestampBatch = row ? { baseOffset: row.base_offset, maxTimestamp: row.max_timestamp } : null;
    }
    const known = this.maxTimestampBatch;
    if (known === null) return null;
    const batch = this.stmts.batchBytes.get(known.baseOffset)!.bytes;
    const h = parseBatchHeader(batch, 0, { maxBatchBytes: Number.MAX_SAFE_INTEGER, allowSparse: true });
    // For compressed batches the batch's first offset stands in for the exact record.
    if (h.compression !== 0) return { offset: h.baseOffset, timestampMs: h.maxTimestamp };
    for (const record of iterateRecords(batch)) {
      if (record.timestampMs === h.maxTimestamp) return { offset: record.offset, timestampMs: record.timestampMs };
    }
    return { offset: h.baseOffset, timestampMs: h.maxTimestamp };
  }

  /**
   * Removes every batch with last_offset >= offset (the batch containing offset goes
   * entirely, as in Kafka); logEndOffset becomes the end of the last remaining batch.
   * Truncating below logStartOffset restarts the log at offset.
   */
  truncateTo(offset: number): void {
    this.ensureOpen();
    assert(Number.isInteger(offset) && offset >= 0, `truncateTo(${offset})`);
    if (offset >= this.logEndOffsetValue) return;
    this.failurePoints.check('truncate');
    const cut = this.cutPoint(offset);
    this.inTransaction(() => {
      const removedBytes = this.stmts.sizeFrom.get(cut)!.n;
      this.stmts.deleteFrom.run(cut);
      if (offset < this.logStartOffsetValue) this.setLogStartOffset(offset);
      const last = this.stmts.lastBatch.get();
      this.logEndOffsetValue = last ? last.last_offset + 1 : this.logStartOffsetValue;
      this.sizeBytesValue -= removedBytes;
      this.producers.truncate(this.logEndOffsetValue);
      this.stmts.deleteSegmentsFrom.run(cut);
      if (this.cleanerCheckpointValue > this.logEndOffsetValue) this.putCleanerCheckpoint(this.logEndOffsetValue);
    });
    this.truncationCount++;
    this.cleaner.reset();
    this.highWatermarkValue = Math.min(this.highWatermarkValue, this.logEndOffsetValue);
    this.maxTimestampBatch = undefined;
    this.deleteHorizonMs = undefined;
    this.loadSegments();
  }

  /**
   * DeleteRecords: advances logStartOffset to offset (persisted) and deletes the batches
   * wholly below it. offset past the high watermark is OFFSET_OUT_OF_RANGE. Returns the new
   * logStartOffset.
   */
  deleteRecordsBefore(offset: number): number {
    this.ensureOpen();
    if (!Number.isInteger(offset) || offset < 0 || offset > this.highWatermarkValue) {
      throw new StorageError('OFFSET_OUT_OF_RANGE', `cannot delete records before ${offset}: high watermark is ${this.highWatermarkValue}`);
    }
    if (offset <= this.logStartOffsetValue) return this.logStartOffsetValue;
    this.failurePoints.check('deleteRecords');
    const cut = this.cutPoint(offset);
    this.inTransaction(() => {
      const removedBytes = this.stmts.sizeBefore.get(cut)!.n;
      this.stmts.deleteBefore.run(cut);
      this.setLogStartOffset(offset);
      this.sizeBytesValue -= removedBytes;
      this.producers.retainFrom(offset);
      this.dropSegmentsBelow(cut);
    });
    this.maxTimestampBatch = undefined;
    this.deleteHorizonMs = undefined;
    this.loadSegments();
    return this.logStartOffsetValue;
  }

  /** Deletes the rows of segments that hold no batch at or after `cut`: all but the one containing cut. */
  private dropSegmentsBelow(cut: number): void {
    let keepFrom: number | undefined;
    for (const s of this.segmentList) if (s.baseOffset <= cut) keepFrom = s.baseOffset;
    if (keepFrom !== undefined) this.stmts.deleteSegmentsBefore.run(keepFrom);
  }

  /** The base offset of the batch containing offset, or offset itself if it is between batches or past them. */
  private cutPoint(offset: number): number {
    const floor = this.stmts.floorBatch.get(offset);
    return floor && floor.last_offset >= offset ? floor.base_offset : offset;
  }

  private setLogStartOffset(offset: number): void {
    this.stmts.putMeta.run('log_start_offset', offset);
    this.logStartOffsetValue = offset;
  }

  /** Runs a maintenance change (writing about `bytes` of batches) in one transaction, restoring in-memory state if it fails. */
  private inTransaction(change: () => void, bytes = 0): void {
    const saved = this.saveCursor();
    const logStartOffset = this.logStartOffsetValue;
    const mark = this.producers.mark();
    try {
      this.db!.transaction(() => {
        change();
        this.persistProducers(mark);
      })();
      this.wroteToWal(bytes);
    } catch (err) {
      this.restoreCursor(saved);
      this.logStartOffsetValue = logStartOffset;
      this.producers.rollbackTo(mark);
      throw asStorageFailure(this.path, 'write failed on', err);
    }
    this.producers.commit();
  }

  private saveCursor(): AppendCursor {
    const active = this.segmentList[this.segmentList.length - 1];
    return {
      logEndOffset: this.logEndOffsetValue,
      sizeBytes: this.sizeBytesValue,
      maxTimestampBatch: this.maxTimestampBatch,
      segmentCount: this.segmentList.length,
      activeSegment: active ? { sizeBytes: active.sizeBytes, maxTimestamp: active.maxTimestamp, newestAppendTimeMs: active.newestAppendTimeMs } : null,
    };
  }

  /** Undoes an append's in-memory changes: segments it rolled go, the segment active before it gets its stats back. */
  private restoreCursor(saved: AppendCursor): void {
    this.logEndOffsetValue = saved.logEndOffset;
    this.sizeBytesValue = saved.sizeBytes;
    this.maxTimestampBatch = saved.maxTimestampBatch;
    this.segmentList.length = Math.min(this.segmentList.length, saved.segmentCount);
    const active = this.segmentList[this.segmentList.length - 1];
    if (active && saved.activeSegment) Object.assign(active, saved.activeSegment);
  }

  // -------------------------------------------------------------------------------------
  // Retention.

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
  enforceRetention(nowMs: number = this.clock(), maxBatchesPerStep: number = retentionBatchesPerStepDefault): RetentionProgress {
    this.ensureOpen();
    assert(maxBatchesPerStep >= 1, `maxBatchesPerStep ${maxBatchesPerStep}`);
    const progress: RetentionProgress = { batchesDeleted: 0, bytesDeleted: 0, logStartOffset: this.logStartOffsetValue, more: false };
    if (!deletesOldSegments(this.configValue) || !this.retentionDue(nowMs)) return progress;
    this.failurePoints.check('deleteRecords');
    this.inTransaction(() => {
      // Bounded by the segment count, and each turn deletes a segment or spends the budget.
      while (this.retentionDue(nowMs) && progress.batchesDeleted < maxBatchesPerStep) {
        // Every segment is past retention: roll an empty active segment at the log end first,
        // as Kafka does, so the last one can go too (else a quiet topic would keep its records).
        if (this.segmentList.length === 1) this.rollEmptySegment(nowMs);
        if (!this.deleteOldestSegment(maxBatchesPerStep - progress.batchesDeleted, progress)) break;
      }
      this.producers.retainFrom(this.logStartOffsetValue);
    });
    progress.more = this.retentionDue(nowMs);
    progress.logStartOffset = this.logStartOffsetValue;
    if (progress.batchesDeleted > 0) {
      this.maxTimestampBatch = undefined;
      this.deleteHorizonMs = undefined;
    }
    return progress;
  }

  private retentionDue(nowMs: number): boolean {
    const oldest = this.segmentList[0];
    if (oldest === undefined) return false;
    // The oldest segment's end: the next one's base, or for the active segment the log end.
    const end = this.segmentList[1]?.baseOffset ?? this.logEndOffsetValue;
    if (end > this.highWatermarkValue || (this.segmentList.length === 1 && oldest.sizeBytes === 0)) return false;
    const cfg = this.configValue;
    return nowMs - retentionTimeMs(oldest) > cfg.retentionMs || this.sizeBytesValue - oldest.sizeBytes >= cfg.retentionBytes;
  }

  /** Starts a new, empty active segment at the log end. */
  private rollEmptySegment(nowMs: number): void {
    const offset = this.logEndOffsetValue;
    this.stmts.insertSegment.run(offset, nowMs);
    this.segmentList.push({ baseOffset: offset, createdMs: nowMs, sizeBytes: 0, maxTimestamp: -1, newestAppendTimeMs: -1 });
  }

  /** Deletes up to `budget` of the oldest segment's batches; true if the segment is now gone. */
  private deleteOldestSegment(budget: number, progress: RetentionProgress): boolean {
    const oldest = this.segmentList[0]!;
    const next = this.segmentList[1]!.baseOffset;
    const cut = this.stmts.nthBatchFrom.get(oldest.baseOffset, next, budget)?.base_offset ?? next;
    const { n: bytes, c: batches } = this.stmts.sizeBetween.get(oldest.baseOffset, cut)!;
    this.stmts.deleteBetween.run(oldest.baseOffset, cut);
    progress.batchesDeleted += batches;
    progress.bytesDeleted += bytes;
    this.sizeBytesValue -= bytes;
    oldest.sizeBytes -= bytes;
    if (cut > this.logStartOffsetValue) this.setLogStartOffset(cut);
    if (cut < next) return false;
    this.stmts.deleteSegmentsBefore.run(next);
    this.segmentList.shift();
    return true;
  }

  // -------------------------------------------------------------------------------------
  // Compaction (see log-cleaner.ts).

  /**
   * One bounded step of compaction when cleanup.policy includes compact: reads at most
   * maxBytesPerStep of batches (at least one), and applies what it changes in one short
   * transaction. The returned promise settles after the step's decompress/recompress work;
   * the caller must not start another step before it does, and may append meanwhile.
   */
  async compactStep(nowMs: number = this.clock(), maxBytesPerStep: number = compactionBytesPerStepDefault): Promise<CompactionProgress> {
    this.ensureOpen();
    if (!compacts(this.configValue)) {
      return { phase: 'idle', passDone: false, bytesRead: 0, recordBytes: 0, batchesRewritten: 0, batchesRemoved: 0, recordsRemoved: 0 };
    }
    return this.cleaner.step(nowMs, maxBytesPerStep);
  }

  private cleanerHost(): CleanerHost {
    // A view over this log's private state for the cleaner, so the cleaner cannot append or truncate.
    const log = this;
    return {
      get config() { return log.configValue; },
      get logStartOffset() { return log.logStartOffsetValue; },
      get highWatermark() { return log.highWatermarkValue; },
      get segments() { return log.segmentList; },
      get isClosed() { return log.db === null; },
      get truncations() { return log.truncationCount; },
      cleanerCheckpoint: () => log.cleanerCheckpointValue,
      setCleanerCheckpoint: (offset) => log.putCleanerCheckpoint(offset),
      readStoredBatches: (from, to, maxBytes) => log.readStoredBatches(from, to, maxBytes),
      firstTimestampFrom: (offset) => log.stmts.firstTimestampFrom.get(offset)?.t,
      earliestDeleteHorizonMs: () => log.earliestDeleteHorizonMs(),
      applyCleaning: (changes) => log.applyCleaning(changes),
    };
  }

  private putCleanerCheckpoint(offset: number): void {
    this.stmts.putMeta.run('cleaner_checkpoint', offset);
    this.cleanerCheckpointValue = offset;
  }

  private readStoredBatches(from: number, to: number, maxBytes: number): StoredBatch[] {
    this.ensureOpen();
    const out: StoredBatch[] = [];
    let bytes = 0;
    for (const [baseOffset, deleteHorizonMs, blob] of this.stmts.batchesBetween.iterate(from, to)) {
      if (out.length > 0 && bytes + blob.length > maxBytes) break;
      out.push({ baseOffset, deleteHorizonMs, bytes: blob });
      bytes += blob.length;
    }
    return out;
  }

  private earliestDeleteHorizonMs(): number | null {
    if (this.deleteHorizonMs === undefined) this.deleteHorizonMs = this.stmts.minDeleteHorizon.get()?.h ?? null;
    return this.deleteHorizonMs;
  }

  /** Applies one compaction step in one transaction; batches deleted meanwhile (by retention) are skipped. */
  private applyCleaning(changes: readonly BatchChange[]): void {
    this.ensureOpen();
    const segmentDeltas = new Map<Segment, number>();
    this.inTransaction(() => {
      for (const change of changes) {
        const before = this.stmts.batchSize.get(change.baseOffset)?.n;
        if (before === undefined) continue;
        let after = before;
        if (change.kind === 'delete') {
          this.stmts.deleteBatch.run(change.baseOffset);
          after = 0;
        } else if (change.kind === 'rewrite') {
          this.stmts.updateBatch.run(change.bytes, change.maxTimestamp, change.recordCount, change.deleteHorizonMs, change.baseOffset);
          after = change.bytes.length;
        } else this.stmts.setDeleteHorizon.run(change.deleteHorizonMs, change.baseOffset);
        const segment = this.segmentOf(change.baseOffset);
        this.sizeBytesValue += after - before;
        segmentDeltas.set(segment, (segmentDeltas.get(segment) ?? 0) + after - before);
      }
    }, changes.reduce((n, c) => n + (c.kind === 'rewrite' ? c.bytes.length : 0), 0));
    for (const [segment, delta] of segmentDeltas) segment.sizeBytes += delta;
    this.maxTimestampBatch = undefined;
    this.deleteHorizonMs = undefined;
  }

  /** The segment holding `offset`: binary search over the segment list. */
  private segmentOf(offset: number): Segment {
    let lo = 0;
    let hi = this.segmentList.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segmentList[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    const segment = this.segmentList[lo];
    assert(segment && segment.baseOffset <= offset, `no segment holds offset ${offset}`);
    return segment;
  }

  /**
   * Rebuilds the segment list from the segments table, with sizes, newest timestamps and
   * newest append times from the batches. A log written before segments existed (schema 1)
   * becomes one segment.
   */
  private loadSegments(): void {
    const rows = this.stmts.allSegments.all();
    const first = this.stmts.nthBatchFrom.get(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0);
    if (first && (rows.length === 0 || rows[0]!.base_offset > first.base_offset)) {
      this.stmts.insertSegment.run(first.base_offset, this.clock());
      rows.unshift({ base_offset: first.base_offset, created_ms: this.clock() });
    }
    this.segmentList.length = 0;
    for (let i = 0; i < rows.length; i++) {
      const end = rows[i + 1]?.base_offset ?? Number.MAX_SAFE_INTEGER;
      const stats = this.stmts.segmentStats.get(rows[i]!.base_offset, end)!;
      this.segmentList.push({
        baseOffset: rows[i]!.base_offset, createdMs: rows[i]!.created_ms, sizeBytes: stats.n, maxTimestamp: stats.t, newestAppendTimeMs: stats.a,
      });
    }
  }

  /** Checkpoints the WAL into the database file and closes it. Later calls throw. */
  close(): void {
    if (this.db === null) return;
    const db = this.db;
    this.db = null;
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
  }

  private ensureOpen(): void {
    if (this.db === null) throw new StorageError('KAFKA_STORAGE_ERROR', `partition log ${this.path} is closed`);
  }

  /** Rebuilds the in-memory state from meta, the last batch and the producer table. */
  private recover(): void {
    const version = this.stmts.getMeta.get('schema_version')?.value;
    if (version === undefined) this.stmts.putMeta.run('schema_version', schemaVersion);
    else if (version !== schemaVersion) {
      this.close();
      throw new StorageError('KAFKA_STORAGE_ERROR', `${this.path} has schema version ${version}, expected ${schemaVersion}`);
    }
    this.logStartOffsetValue = this.stmts.getMeta.get('log_start_offset')?.value ?? 0;
    this.cleanerCheckpointValue = this.stmts.getMeta.get('cleaner_checkpoint')?.value ?? 0;
    this.leaderEpochValue = this.stmts.getMeta.get('leader_epoch')?.value ?? 0;
    const last = this.stmts.lastBatch.get();
    this.logEndOffsetValue = last ? last.last_offset + 1 : this.logStartOffsetValue;
    this.highWatermarkValue = this.highWatermarkFollowsLogEnd ? this.logEndOffsetValue : this.logStartOffsetValue;
    this.sizeBytesValue = this.stmts.sizeAll.get()!.n;
    for (const row of this.stmts.allProducers.all()) {
      const batches = (JSON.parse(row.batches) as number[][]).map(([firstSeq, lastSeq, baseOffset, lastOffset]) => ({ firstSeq, lastSeq, baseOffset, lastOffset }));
      this.producers.load({ producerId: row.producer_id, producerEpoch: row.producer_epoch, lastTimestampMs: row.last_timestamp, batches });
    }
    this.loadSegments();
    assert(this.logStartOffsetValue <= this.logEndOffsetValue, `logStartOffset past logEndOffset in ${this.path}`);
  }

}

/**
 * Brings an older log up to schemaVersion, before any statement that names the new columns is
 * prepared. Schema 1 had no delete horizons and no segments: the column is added here, and
 * loadSegments fills the (just created) segments table. Schema 2 had no append times: the
 * column is added with the time of this open as its default, which every existing row then
 * reads (SQLite stores a constant default in the schema, so no row is rewritten). A batch
 * written before the upgrade thus counts as arriving when the upgraded broker first saw it,
 * and time retention keeps it at least retention.ms from then: it may delete old data up to
 * one retention.ms later than the old version would have, never earlier.
 */
function migrate(db: Database.Database, nowMs: number): void {
  const row = db.prepare<[], { value: number }>("SELECT value FROM meta WHERE key = 'schema_version'").get();
  if (row === undefined || row.value >= schemaVersion) return;
  const version = row.value;
  db.transaction(() => {
    if (version < 2) db.exec('ALTER TABLE batches ADD COLUMN delete_horizon_ms INTEGER NOT NULL DEFAULT -1');
    if (version < 3) db.exec(`ALTER TABLE batches ADD COLUMN append_time_ms INTEGER NOT NULL DEFAULT ${Math.trunc(nowMs)}`);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(schemaVersion);
  })();
}

function configure(db: Database.Database, durability: Durability): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
}

function quickCheck(db: Database.Database, path: string): void {
  const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
  if (rows.length !== 1 || rows[0].quick_check !== 'ok') {
    const problems = rows.map((r) => r.quick_check).slice(0, 5).join('; ');
    throw new StorageError('KAFKA_STORAGE_ERROR', `integrity check failed for partition log ${path}: ${problems}`);
  }
}
