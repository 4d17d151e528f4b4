/**
 * The state one partition log's pieces share: the database and its prepared statements, the
 * in-memory offsets, sizes and segments, the producer table, and the helpers every write path
 * uses (transactions that restore memory on failure, persisting producers, WAL accounting).
 * PartitionLog (partition-log.ts) owns one PartitionLogState and hands it to the functions of
 * partition-log-append.ts, -read.ts, -retention.ts and -recovery.ts; nothing else sees it.
 *
 * Plain fields rather than accessors: the append path reads and writes them per batch, and a
 * field access on an object of stable shape costs what `this.field` cost before the split.
 *
 * Not thread-safe: runs on the worker thread of the partition actor that owns the log.
 */
import Database from 'better-sqlite3';
import { FailurePoints } from './failure-points.js';
import { ProducerStateTable } from './producer-state.js';
import { StorageError } from './storage-error.js';
import { type TopicConfig, checkTopicConfig, defaultTopicConfig } from './topic-config.js';
import { type WalCheckpointer, walBackstopBytes, walCheckpointBytes, walFinishInlineBytes } from './wal-checkpointer.js';
import type { LeaderEpochEntry, PartitionLogOptions, Segment } from './partition-log-types.js';

export interface BatchBounds {
  base_offset: number;
  last_offset: number;
}

/** The batch holding the largest timestamp; undefined when it must be recomputed. */
export interface MaxTimestampBatch {
  baseOffset: number;
  maxTimestamp: number;
}

/** In-memory state a write may change, saved so a failed transaction can restore it. */
interface WriteCursor {
  logStartOffset: number;
  logEndOffset: number;
  sizeBytes: number;
  maxTimestampBatch: MaxTimestampBatch | null | undefined;
  segmentCount: number;
  activeSegment: { sizeBytes: number; maxTimestamp: number; newestAppendTimeMs: number } | null;
  /** The epoch cache is replaced, never changed in place, so saving it is keeping the reference. */
  leaderEpochs: readonly LeaderEpochEntry[];
}

export const schemaSql = `
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
  CREATE TABLE IF NOT EXISTS leader_epochs (epoch INTEGER PRIMARY KEY, start_offset INTEGER NOT NULL);
`;

/** better-sqlite3's statement type, spelt so that declaration files can name it. */
type Stmt<P extends unknown[] = unknown[], R = unknown> = Database.Statement<P, R>;

/** The batch at or before an offset (its bounds): where a read starts. Also run by the log reader threads. */
export const floorBatchSql = 'SELECT base_offset, last_offset FROM batches WHERE base_offset <= ? ORDER BY base_offset DESC LIMIT 1';
/** Stored batches from a base offset on, in order. Also run by the log reader threads. */
export const readFromSql = 'SELECT last_offset, bytes FROM batches WHERE base_offset >= ? ORDER BY base_offset';

/** The log's prepared statements, each made on its first use after an open. */
export interface Statements {
  insertBatch: Stmt;
  lastBatch: Stmt<[], BatchBounds>;
  floorBatch: Stmt<[number], BatchBounds>;
  readFrom: Stmt<[number], [number, Buffer]>;
  batchBytes: Stmt<[number], { bytes: Buffer }>;
  sizeAll: Stmt<[], { n: number }>;
  sizeFrom: Stmt<[number], { n: number }>;
  sizeBefore: Stmt<[number], { n: number }>;
  deleteFrom: Stmt;
  deleteBefore: Stmt;
  firstAtTime: Stmt<[number, number], { base_offset: number }>;
  maxTimestamp: Stmt<[], { base_offset: number; max_timestamp: number }>;
  getMeta: Stmt<[string], { value: number }>;
  putMeta: Stmt;
  allProducers: Stmt<[], { producer_id: number; producer_epoch: number; last_timestamp: number; batches: string }>;
  putProducer: Stmt;
  deleteProducer: Stmt;
  insertSegment: Stmt;
  allSegments: Stmt<[], { base_offset: number; created_ms: number }>;
  deleteSegmentsFrom: Stmt;
  deleteSegmentsBefore: Stmt;
  segmentStats: Stmt<[number, number], { n: number; t: number; a: number }>;
  nthBatchFrom: Stmt<[number, number, number], { base_offset: number }>;
  sizeBetween: Stmt<[number, number], { n: number; c: number }>;
  deleteBetween: Stmt;
  batchesBetween: Stmt<[number, number], [number, number, Buffer]>;
  batchSize: Stmt<[number], { n: number }>;
  updateBatch: Stmt;
  setDeleteHorizon: Stmt;
  deleteBatch: Stmt;
  minDeleteHorizon: Stmt<[], { h: number | null }>;
  firstTimestampFrom: Stmt<[number], { t: number }>;
  allEpochs: Stmt<[], { epoch: number; start_offset: number }>;
  putEpoch: Stmt;
  deleteEpochsForAssign: Stmt;
  deleteEpochsFrom: Stmt;
  deleteEpochsUpTo: Stmt;
  deleteAllEpochs: Stmt;
  deleteAllBatches: Stmt;
  deleteAllSegments: Stmt;
  deleteAllProducers: Stmt;
}

function prepareStatements(db: Database.Database): Statements {
  const makers: { readonly [K in keyof Statements]: () => Statements[K] } = {
    insertBatch: () =>
      db.prepare(
        `INSERT INTO batches (base_offset, last_offset, first_timestamp, max_timestamp, producer_id, producer_epoch,
         base_sequence, record_count, bytes, append_time_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    lastBatch: () => db.prepare<[], BatchBounds>('SELECT base_offset, last_offset FROM batches ORDER BY base_offset DESC LIMIT 1'),
    floorBatch: () => db.prepare<[number], BatchBounds>(floorBatchSql),
    // raw() rows ([last_offset, bytes]) avoid building an object per batch on the fetch path.
    readFrom: () => db.prepare<[number], [number, Buffer]>(readFromSql).raw(),
    batchBytes: () => db.prepare<[number], { bytes: Buffer }>('SELECT bytes FROM batches WHERE base_offset = ?'),
    sizeAll: () => db.prepare<[], { n: number }>('SELECT coalesce(sum(length(bytes)), 0) AS n FROM batches'),
    sizeFrom: () => db.prepare<[number], { n: number }>('SELECT coalesce(sum(length(bytes)), 0) AS n FROM batches WHERE base_offset >= ?'),
    sizeBefore: () => db.prepare<[number], { n: number }>('SELECT coalesce(sum(length(bytes)), 0) AS n FROM batches WHERE base_offset < ?'),
    deleteFrom: () => db.prepare('DELETE FROM batches WHERE base_offset >= ?'),
    deleteBefore: () => db.prepare('DELETE FROM batches WHERE base_offset < ?'),
    // No time index: these scan the table's leaf pages, but never the batch blobs.
    firstAtTime: () =>
      db.prepare<[number, number], { base_offset: number }>('SELECT base_offset FROM batches WHERE max_timestamp >= ? AND last_offset >= ? ORDER BY base_offset LIMIT 1'),
    maxTimestamp: () =>
      db.prepare<[], { base_offset: number; max_timestamp: number }>('SELECT base_offset, max_timestamp FROM batches ORDER BY max_timestamp DESC, base_offset ASC LIMIT 1'),
    getMeta: () => db.prepare<[string], { value: number }>('SELECT value FROM meta WHERE key = ?'),
    putMeta: () => db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    allProducers: () =>
      db.prepare<[], { producer_id: number; producer_epoch: number; last_timestamp: number; batches: string }>(
        'SELECT producer_id, producer_epoch, last_timestamp, batches FROM producer_state',
      ),
    putProducer: () =>
      db.prepare(
        `INSERT INTO producer_state (producer_id, producer_epoch, last_timestamp, batches) VALUES (?, ?, ?, ?)
       ON CONFLICT (producer_id) DO UPDATE SET producer_epoch = excluded.producer_epoch,
         last_timestamp = excluded.last_timestamp, batches = excluded.batches`,
      ),
    deleteProducer: () => db.prepare('DELETE FROM producer_state WHERE producer_id = ?'),
    insertSegment: () => db.prepare('INSERT INTO segments (base_offset, created_ms) VALUES (?, ?)'),
    allSegments: () => db.prepare<[], { base_offset: number; created_ms: number }>('SELECT base_offset, created_ms FROM segments ORDER BY base_offset'),
    deleteSegmentsFrom: () => db.prepare('DELETE FROM segments WHERE base_offset >= ?'),
    deleteSegmentsBefore: () => db.prepare('DELETE FROM segments WHERE base_offset < ?'),
    // length() of a blob reads its size from the record header, not the blob pages.
    segmentStats: () =>
      db.prepare<[number, number], { n: number; t: number; a: number }>(
        `SELECT coalesce(sum(length(bytes)), 0) AS n, coalesce(max(max_timestamp), -1) AS t, coalesce(max(append_time_ms), -1) AS a
         FROM batches WHERE base_offset >= ? AND base_offset < ?`,
      ),
    nthBatchFrom: () =>
      db.prepare<[number, number, number], { base_offset: number }>(
        'SELECT base_offset FROM batches WHERE base_offset >= ? AND base_offset < ? ORDER BY base_offset LIMIT 1 OFFSET ?',
      ),
    sizeBetween: () =>
      db.prepare<[number, number], { n: number; c: number }>('SELECT coalesce(sum(length(bytes)), 0) AS n, count(*) AS c FROM batches WHERE base_offset >= ? AND base_offset < ?'),
    deleteBetween: () => db.prepare('DELETE FROM batches WHERE base_offset >= ? AND base_offset < ?'),
    batchesBetween: () =>
      db
        .prepare<[number, number], [number, number, Buffer]>(
          'SELECT base_offset, delete_horizon_ms, bytes FROM batches WHERE base_offset >= ? AND base_offset < ? ORDER BY base_offset',
        )
        .raw(),
    batchSize: () => db.prepare<[number], { n: number }>('SELECT length(bytes) AS n FROM batches WHERE base_offset = ?'),
    updateBatch: () => db.prepare('UPDATE batches SET bytes = ?, max_timestamp = ?, record_count = ?, delete_horizon_ms = ? WHERE base_offset = ?'),
    setDeleteHorizon: () => db.prepare('UPDATE batches SET delete_horizon_ms = ? WHERE base_offset = ?'),
    deleteBatch: () => db.prepare('DELETE FROM batches WHERE base_offset = ?'),
    minDeleteHorizon: () => db.prepare<[], { h: number | null }>('SELECT min(delete_horizon_ms) AS h FROM batches WHERE delete_horizon_ms >= 0'),
    firstTimestampFrom: () => db.prepare<[number], { t: number }>('SELECT first_timestamp AS t FROM batches WHERE base_offset >= ? ORDER BY base_offset LIMIT 1'),
    allEpochs: () => db.prepare<[], { epoch: number; start_offset: number }>('SELECT epoch, start_offset FROM leader_epochs ORDER BY epoch'),
    putEpoch: () => db.prepare('INSERT INTO leader_epochs (epoch, start_offset) VALUES (?, ?) ON CONFLICT (epoch) DO UPDATE SET start_offset = excluded.start_offset'),
    deleteEpochsForAssign: () => db.prepare('DELETE FROM leader_epochs WHERE epoch >= ? OR start_offset >= ?'),
    deleteEpochsFrom: () => db.prepare('DELETE FROM leader_epochs WHERE start_offset >= ?'),
    deleteEpochsUpTo: () => db.prepare('DELETE FROM leader_epochs WHERE start_offset <= ?'),
    deleteAllEpochs: () => db.prepare('DELETE FROM leader_epochs'),
    deleteAllBatches: () => db.prepare('DELETE FROM batches'),
    deleteAllSegments: () => db.prepare('DELETE FROM segments'),
    deleteAllProducers: () => db.prepare('DELETE FROM producer_state'),
  };
  // Prepared on first use (a statement costs tens of microseconds to prepare, and most opens of
  // a passivated partition use a few of the 41), then kept as a plain property.
  const stmts = {} as Statements;
  for (const key of Object.keys(makers) as (keyof Statements)[]) {
    Object.defineProperty(stmts, key, {
      configurable: true,
      enumerable: true,
      get: () => {
        const stmt = makers[key]();
        Object.defineProperty(stmts, key, { value: stmt, enumerable: true });
        return stmt;
      },
    });
  }
  return stmts;
}

export class PartitionLogState {
  /** null once closed. */
  db: Database.Database | null;
  readonly stmts: Statements;
  readonly failurePoints: FailurePoints;
  readonly producers = new ProducerStateTable();
  readonly clock: () => number;
  config: TopicConfig;
  /** Oldest first; the last is the active segment. */
  readonly segments: Segment[] = [];
  /** Counts truncations, so a compaction pass spanning one is abandoned. */
  truncations = 0;
  cleanerCheckpoint = 0;
  /** Earliest delete horizon of a batch with retained tombstones; undefined when it must be re-read. */
  deleteHorizonMs: number | null | undefined = undefined;
  highWatermarkFollowsLogEnd: boolean;
  logStartOffset = 0;
  logEndOffset = 0;
  highWatermark = 0;
  /** The high watermark last written to meta (read at open, written by checkpoints and close); -1 if none. */
  checkpointedHighWatermark = -1;
  leaderEpoch = 0;
  /**
   * The leader-epoch cache (partition-log-epochs.ts), oldest first: replaced whole on every
   * change (never mutated), so a write's saved cursor can restore it by reference.
   */
  leaderEpochs: readonly LeaderEpochEntry[] = [];
  /** The epoch of the last entry of leaderEpochs, -1 when it is empty: the append path's one comparison. */
  latestEpoch = -1;
  sizeBytes = 0;
  maxTimestampBatch: MaxTimestampBatch | null | undefined = undefined;
  readonly walCheckpointer: WalCheckpointer | undefined;
  /** The database's page size, read at open: WAL frames are pages. */
  readonly pageSize: number;
  /** Estimated WAL pages written since the last checkpoint request. */
  walPages = 0;

  constructor(
    readonly path: string,
    db: Database.Database,
    opts: PartitionLogOptions,
  ) {
    this.db = db;
    this.stmts = prepareStatements(db);
    this.failurePoints = opts.failurePoints ?? new FailurePoints();
    this.clock = opts.clock ?? Date.now;
    const maxMessageBytes = opts.config?.maxMessageBytes ?? opts.maxBatchBytes ?? defaultTopicConfig.maxMessageBytes;
    this.config = { ...defaultTopicConfig, ...opts.config, maxMessageBytes };
    checkTopicConfig(this.config);
    this.highWatermarkFollowsLogEnd = opts.highWatermarkFollowsLogEnd ?? true;
    this.walCheckpointer = opts.walCheckpointer;
    this.pageSize = db.pragma('page_size', { simple: true }) as number;
    if (this.walCheckpointer) db.pragma(`wal_autocheckpoint = ${Math.ceil(walBackstopBytes / this.pageSize)}`);
  }
}

export function storageFailure(path: string, what: string, err: unknown): StorageError {
  const detail = err instanceof Error ? err.message : String(err);
  return new StorageError('KAFKA_STORAGE_ERROR', `${what} ${path}: ${detail}`, { cause: err });
}

/**
 * Expected failures (our own, or SQLite's I/O errors) become StorageErrors; anything else is
 * a bug and is rethrown, to crash the owning actor.
 */
export function asStorageFailure(path: string, what: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  if (err instanceof Database.SqliteError) return storageFailure(path, what, err);
  throw err;
}

export function ensureOpen(s: PartitionLogState): void {
  if (s.db === null) throw new StorageError('KAFKA_STORAGE_ERROR', `partition log ${s.path} is closed`);
}

export function saveCursor(s: PartitionLogState): WriteCursor {
  const active = s.segments[s.segments.length - 1];
  return {
    logStartOffset: s.logStartOffset,
    logEndOffset: s.logEndOffset,
    sizeBytes: s.sizeBytes,
    maxTimestampBatch: s.maxTimestampBatch,
    segmentCount: s.segments.length,
    activeSegment: active ? { sizeBytes: active.sizeBytes, maxTimestamp: active.maxTimestamp, newestAppendTimeMs: active.newestAppendTimeMs } : null,
    leaderEpochs: s.leaderEpochs,
  };
}

/** Undoes a write's in-memory changes: segments it rolled go, the segment active before it gets its stats back. */
export function restoreCursor(s: PartitionLogState, saved: WriteCursor): void {
  s.logStartOffset = saved.logStartOffset;
  s.logEndOffset = saved.logEndOffset;
  s.sizeBytes = saved.sizeBytes;
  s.maxTimestampBatch = saved.maxTimestampBatch;
  s.segments.length = Math.min(s.segments.length, saved.segmentCount);
  const active = s.segments[s.segments.length - 1];
  if (active && saved.activeSegment) Object.assign(active, saved.activeSegment);
  setLeaderEpochs(s, saved.leaderEpochs);
}

/** Replaces the in-memory epoch cache (the caller persists the change), keeping latestEpoch in step. */
export function setLeaderEpochs(s: PartitionLogState, entries: readonly LeaderEpochEntry[]): void {
  s.leaderEpochs = entries;
  s.latestEpoch = entries.length > 0 ? entries[entries.length - 1]!.epoch : -1;
}

/** Runs a maintenance change (writing about `bytes` of batches) in one transaction, restoring in-memory state if it fails. */
export function inTransaction(s: PartitionLogState, change: () => void, bytes = 0): void {
  const saved = saveCursor(s);
  const mark = s.producers.mark();
  try {
    s.db!.transaction(() => {
      change();
      persistProducers(s, mark);
    })();
    wroteToWal(s, bytes);
  } catch (err) {
    restoreCursor(s, saved);
    s.producers.rollbackTo(mark);
    throw asStorageFailure(s.path, 'write failed on', err);
  }
  s.producers.commit();
}

/** Writes the producer entries changed since `sinceMark`, in the caller's transaction. */
export function persistProducers(s: PartitionLogState, sinceMark: number): void {
  for (const producerId of s.producers.changedSince(sinceMark)) {
    const entry = s.producers.get(producerId);
    if (!entry) {
      s.stmts.deleteProducer.run(producerId);
      continue;
    }
    const batches = JSON.stringify(entry.batches.map((b) => [b.firstSeq, b.lastSeq, b.baseOffset, b.lastOffset]));
    s.stmts.putProducer.run(producerId, entry.producerEpoch, entry.lastTimestampMs, batches);
  }
}

export function setLogStartOffset(s: PartitionLogState, offset: number): void {
  s.stmts.putMeta.run('log_start_offset', offset);
  s.logStartOffset = offset;
}

export function putCleanerCheckpoint(s: PartitionLogState, offset: number): void {
  s.stmts.putMeta.run('cleaner_checkpoint', offset);
  s.cleanerCheckpoint = offset;
}

/** The base offset of the batch containing offset, or offset itself if it is between batches or past them. */
export function cutPoint(stmts: Pick<PartitionLogState['stmts'], 'floorBatch'>, offset: number): number {
  const floor = stmts.floorBatch.get(offset);
  return floor && floor.last_offset >= offset ? floor.base_offset : offset;
}

/**
 * Counts the WAL pages a commit of `bytes` adds — an estimate: the bytes themselves plus a few
 * b-tree pages (batch row, index, producer row) — and asks the checkpointer for a checkpoint
 * once enough have gathered.
 */
export function wroteToWal(s: PartitionLogState, bytes: number): void {
  if (!s.walCheckpointer) return;
  s.walPages += 3 + Math.ceil(bytes / s.pageSize);
  if (s.walPages * s.pageSize < walCheckpointBytes) return;
  requestCheckpoint(s);
}

function requestCheckpoint(s: PartitionLogState): void {
  s.walPages = 0;
  s.walCheckpointer!.request(s.path, (framesLeft) => finishCheckpoint(s, framesLeft));
}

/**
 * When the checkpointer is done: copies the WAL frames it left, and those committed since it
 * answered, with a PASSIVE checkpoint on this connection between two commits, after which the
 * next commit restarts the WAL from its beginning instead of growing it — if they are few (at
 * most walFinishInlineBytes by estimate; none costs nothing). More is asked of the checkpointer
 * again at once rather than copied on the partition's thread; the backstop bounds the WAL of a
 * writer that never lets it catch up. A checkpoint that did not run (-1) waits for the next
 * threshold.
 */
function finishCheckpoint(s: PartitionLogState, framesLeft: number): void {
  if (s.db === null || framesLeft < 0) return;
  if ((framesLeft + s.walPages) * s.pageSize > walFinishInlineBytes) {
    // Only a writer that kept writing is the reason; otherwise the checkpointer could not copy
    // (a reader held its snapshot) and asking again at once would only spin it.
    if (s.walPages > 0) requestCheckpoint(s);
    return;
  }
  try {
    s.db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // A failed checkpoint loses nothing: the frames stay in the WAL and the backstop retries.
  }
}
