/**
 * Compaction of one partition log (cleanup.policy=compact), after Kafka's LogCleaner, in
 * bounded steps. A cleaning pass has two phases:
 *
 * 1. index: read the dirty range [cleanerCheckpoint, dirtyEnd) and remember, per key, the
 *    offset of its latest record (Kafka's offset map, bounded by compactionKeysMax);
 * 2. rewrite: walk every batch from the log start to dirtyEnd and keep only records that are
 *    the latest for their key (or whose key the map does not hold), dropping tombstones whose
 *    delete horizon has passed. A batch keeps its baseOffset and lastOffsetDelta, so surviving
 *    records keep their offsets; an emptied batch is deleted.
 *
 * dirtyEnd never reaches into the active segment, past the high watermark, or into a segment
 * holding a record younger than min.compaction.lag.ms. A pass starts when the dirty ratio
 * reaches min.cleanable.dirty.ratio, when the oldest dirty record is older than
 * max.compaction.lag.ms, or when some retained tombstone's delete horizon has passed.
 *
 * Tombstones follow KIP-534: the first pass that retains a tombstone gives its batch a delete
 * horizon of now + delete.retention.ms (kept in the batches table, not in the batch bytes), and
 * a later pass after that horizon removes it, so consumers have delete.retention.ms to see it.
 *
 * Each step reads at most maxBytesPerStep of batches (at least one), and stops early once
 * it has decompressed maxBytesPerStep of records; it decompresses and
 * rebuilds them (awaiting the codecs, which may run on a worker pool), then applies the
 * result in one short transaction. Appends may run between steps, and during a step's awaits:
 * they only touch the active segment, which no pass reaches. A truncation during a pass
 * abandons it. Not thread-safe: owned by one PartitionLog, on its owner's worker thread.
 */
import { rebuildBatch } from './batch-rewrite.js';
import { type BatchCodecs, type DecodedBatch, type RecordSpan, decodeBatch } from './record-batch.js';
import { compactionKeysMax } from './limits.js';
import type { TopicConfig } from './topic-config.js';

/** What the cleaner needs of its log; PartitionLog implements it. */
export interface CleanerHost {
  readonly config: TopicConfig;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly segments: readonly {
    readonly baseOffset: number;
    readonly sizeBytes: number;
    readonly maxTimestamp: number;
    /** When the broker appended the segment's newest batch, -1 when empty. */
    readonly newestAppendTimeMs: number;
  }[];
  readonly isClosed: boolean;
  /** Changes whenever batches are removed from the log's end (truncation); a pass spanning one is void. */
  readonly truncations: number;
  cleanerCheckpoint(): number;
  setCleanerCheckpoint(offset: number): void;
  /** Stored batches with base offsets in [from, to), in order, stopping once maxBytes are read (at least one). */
  readStoredBatches(from: number, to: number, maxBytes: number): StoredBatch[];
  firstTimestampFrom(offset: number): number | undefined;
  /** The earliest delete horizon of any batch holding retained tombstones, or null. */
  earliestDeleteHorizonMs(): number | null;
  /** Applies one step's changes in one transaction. */
  applyCleaning(changes: readonly BatchChange[]): void;
}

export interface StoredBatch {
  baseOffset: number;
  /** -1 until a pass has retained a tombstone of this batch. */
  deleteHorizonMs: number;
  bytes: Buffer;
}

export type BatchChange =
  | { kind: 'delete'; baseOffset: number }
  | { kind: 'rewrite'; baseOffset: number; bytes: Buffer; maxTimestamp: number; recordCount: number; deleteHorizonMs: number }
  | { kind: 'horizon'; baseOffset: number; deleteHorizonMs: number };

export interface CompactionProgress {
  /** The phase the step worked in; 'idle' when no pass was due. */
  phase: 'idle' | 'index' | 'rewrite';
  /** True when this step finished a pass (the cleaner checkpoint moved to its dirtyEnd). */
  passDone: boolean;
  bytesRead: number;
  /** Record bytes after decompression: the CPU work of the step, which bytesRead understates for compressed topics. */
  recordBytes: number;
  batchesRewritten: number;
  batchesRemoved: number;
  recordsRemoved: number;
}

interface CleanerPass {
  phase: 'index' | 'rewrite';
  dirtyStart: number;
  dirtyEnd: number;
  /** The next base offset to read in the current phase. */
  cursor: number;
  /** Key (its bytes as a latin1 string) -> offset of its latest record in the dirty range. */
  keys: Map<string, number>;
  truncations: number;
}

export class LogCleaner {
  private pass: CleanerPass | null = null;

  constructor(
    private readonly host: CleanerHost,
    private readonly codecs: BatchCodecs,
  ) {}

  /** The pass in progress, for the console: phase and range. */
  get state(): { phase: 'idle' | 'index' | 'rewrite'; dirtyStart?: number; dirtyEnd?: number; cursor?: number; keys?: number } {
    const p = this.pass;
    return p ? { phase: p.phase, dirtyStart: p.dirtyStart, dirtyEnd: p.dirtyEnd, cursor: p.cursor, keys: p.keys.size } : { phase: 'idle' };
  }

  /** Forgets the pass in progress (on truncation, or when compaction is switched off). */
  reset(): void {
    this.pass = null;
  }

  async step(nowMs: number, maxBytesPerStep: number): Promise<CompactionProgress> {
    const progress: CompactionProgress = { phase: 'idle', passDone: false, bytesRead: 0, recordBytes: 0, batchesRewritten: 0, batchesRemoved: 0, recordsRemoved: 0 };
    if (this.pass === null) this.pass = this.startPass(nowMs);
    const pass = this.pass;
    if (pass === null) return progress;
    progress.phase = pass.phase;
    if (pass.phase === 'index') await this.indexStep(pass, maxBytesPerStep, progress);
    else await this.rewriteStep(pass, nowMs, maxBytesPerStep, progress);
    return progress;
  }

  /** Decides whether a pass is due and over which range; null when there is nothing to do. */
  private startPass(nowMs: number): CleanerPass | null {
    const { host } = this;
    const cfg = host.config;
    const start = Math.max(host.cleanerCheckpoint(), host.logStartOffset);
    const { dirtyEnd, cleanBytes, dirtyBytes } = this.dirtyRange(start, nowMs);
    const horizon = host.earliestDeleteHorizonMs();
    const horizonDue = horizon !== null && horizon <= nowMs;
    const ratioDue = dirtyBytes > 0 && dirtyBytes / (cleanBytes + dirtyBytes) >= cfg.minCleanableDirtyRatio;
    const firstDirty = dirtyEnd > start ? host.firstTimestampFrom(start) : undefined;
    const lagDue = firstDirty !== undefined && nowMs - firstDirty >= cfg.maxCompactionLagMs;
    if (!ratioDue && !lagDue && !horizonDue) return null;
    const phase = dirtyEnd > start ? 'index' : 'rewrite';
    return { phase, dirtyStart: start, dirtyEnd, cursor: phase === 'index' ? start : host.logStartOffset, keys: new Map(), truncations: host.truncations };
  }

  /** The cleanable end: whole non-active segments from `start`, none younger than the min lag, none past the high watermark. */
  private dirtyRange(start: number, nowMs: number): { dirtyEnd: number; cleanBytes: number; dirtyBytes: number } {
    const { segments, highWatermark, config } = this.host;
    let dirtyEnd = start;
    let cleanBytes = 0;
    let dirtyBytes = 0;
    let open = true;
    for (let i = 0; i + 1 < segments.length; i++) {
      const segment = segments[i]!;
      const end = segments[i + 1]!.baseOffset;
      if (end <= start) {
        cleanBytes += segment.sizeBytes;
        continue;
      }
      // As Kafka's LogSegment.largestTimestamp: a segment with no valid record timestamp (all -1)
      // is as old as its last write, not as old as 1970, so min.compaction.lag.ms still holds it.
      const newestMs = segment.maxTimestamp >= 0 ? segment.maxTimestamp : segment.newestAppendTimeMs;
      open = open && nowMs - newestMs >= config.minCompactionLagMs && end <= highWatermark;
      if (!open) break;
      dirtyEnd = end;
      dirtyBytes += segment.sizeBytes;
    }
    return { dirtyEnd, cleanBytes, dirtyBytes };
  }

  private async indexStep(pass: CleanerPass, maxBytes: number, progress: CompactionProgress): Promise<void> {
    const batches = this.host.readStoredBatches(pass.cursor, pass.dirtyEnd, maxBytes);
    for (const stored of batches) {
      progress.bytesRead += stored.bytes.length;
      const decoded = await decodeBatch(stored.bytes, this.codecs);
      progress.recordBytes += decoded.body.length;
      if (this.abandoned(pass)) return;
      if (!decoded.header.isControl && !this.index(pass, decoded)) {
        // The map is full: this pass cleans what it has indexed, and the next continues here.
        pass.dirtyEnd = stored.baseOffset;
        break;
      }
      pass.cursor = stored.baseOffset + 1;
      // The bound counts decompressed bytes too, so a highly compressed topic's step stays short.
      if (progress.recordBytes >= maxBytes) break;
    }
    if (batches.length === 0 || pass.cursor >= pass.dirtyEnd) {
      pass.phase = 'rewrite';
      pass.cursor = this.host.logStartOffset;
    }
  }

  /** Records the batch's keys; false (and nothing recorded) if they would overflow the map of a pass that has some already. */
  private index(pass: CleanerPass, decoded: DecodedBatch): boolean {
    const keys = decoded.spans.filter((s) => s.key !== null).map((s) => s.key!.toString('latin1'));
    const fresh = keys.filter((k) => !pass.keys.has(k)).length;
    if (pass.keys.size > 0 && pass.keys.size + fresh > compactionKeysMax) return false;
    const base = decoded.header.baseOffset;
    decoded.spans.forEach((s) => {
      if (s.key !== null) pass.keys.set(s.key.toString('latin1'), base + s.offsetDelta);
    });
    return true;
  }

  private async rewriteStep(pass: CleanerPass, nowMs: number, maxBytes: number, progress: CompactionProgress): Promise<void> {
    const from = Math.max(pass.cursor, this.host.logStartOffset);
    const batches = this.host.readStoredBatches(from, pass.dirtyEnd, maxBytes);
    const changes: BatchChange[] = [];
    let last: StoredBatch | undefined;
    for (const stored of batches) {
      progress.bytesRead += stored.bytes.length;
      const change = await this.cleanBatch(pass, stored, nowMs, progress);
      if (change) changes.push(change);
      last = stored;
      // The bound counts decompressed bytes too, so a highly compressed topic's step stays short.
      if (progress.recordBytes >= maxBytes) break;
    }
    if (this.abandoned(pass)) return;
    if (changes.length > 0) this.host.applyCleaning(changes);
    if (last) pass.cursor = last.baseOffset + 1;
    if (!last || pass.cursor >= pass.dirtyEnd) {
      this.host.setCleanerCheckpoint(pass.dirtyEnd);
      this.pass = null;
      progress.passDone = true;
    }
  }

  /** The change one batch needs, or null when it stays as it is. */
  private async cleanBatch(pass: CleanerPass, stored: StoredBatch, nowMs: number, progress: CompactionProgress): Promise<BatchChange | null> {
    const decoded = await decodeBatch(stored.bytes, this.codecs);
    progress.recordBytes += decoded.body.length;
    // Transaction markers stay: consumers reading committed data need them. TODO: Kafka also
    // removes aborted transactional data and, later, markers no longer needed.
    if (decoded.header.isControl) return null;
    const tombstonesExpired = stored.deleteHorizonMs >= 0 && stored.deleteHorizonMs <= nowMs;
    const kept = decoded.spans.filter((s) => keeps(pass, decoded.header.baseOffset, s, tombstonesExpired));
    const removed = decoded.spans.length - kept.length;
    progress.recordsRemoved += removed;
    const { baseOffset } = stored;
    if (kept.length === 0) {
      progress.batchesRemoved++;
      return { kind: 'delete', baseOffset };
    }
    const hasTombstones = kept.some((s) => s.isTombstone);
    const deleteHorizonMs = !hasTombstones ? -1 : stored.deleteHorizonMs >= 0 ? stored.deleteHorizonMs : nowMs + this.host.config.deleteRetentionMs;
    if (removed > 0) {
      progress.batchesRewritten++;
      const bytes = await rebuildBatch(decoded, kept, this.codecs);
      const maxTimestamp =
        decoded.header.timestampType === 'CreateTime' ? decoded.header.baseTimestamp + Math.max(...kept.map((s) => s.timestampDelta)) : decoded.header.maxTimestamp;
      return { kind: 'rewrite', baseOffset, bytes, maxTimestamp, recordCount: kept.length, deleteHorizonMs };
    }
    return deleteHorizonMs !== stored.deleteHorizonMs ? { kind: 'horizon', baseOffset, deleteHorizonMs } : null;
  }

  private abandoned(pass: CleanerPass): boolean {
    if (this.pass !== pass) return true;
    if (!this.host.isClosed && this.host.truncations === pass.truncations) return false;
    this.pass = null;
    return true;
  }
}

/** Keeps a record unless a later record has its key, or it is a tombstone past its delete horizon. */
function keeps(pass: CleanerPass, baseOffset: number, s: RecordSpan, tombstonesExpired: boolean): boolean {
  if (s.isTombstone && tombstonesExpired) return false;
  if (s.key === null) return true;
  const latest = pass.keys.get(s.key.toString('latin1'));
  return latest === undefined || latest <= baseOffset + s.offsetDelta;
}
