/**
 * BatchCache (issue 18): the recent batches of each partition, as the partition actor stored
 * them (base offset assigned, LogAppendTime stamped, recompressed), held on the main thread in
 * bounded memory, so a fetch near the tail is answered without a turn of the partition actor or
 * a SQLite read. Redpanda keeps the same kind of cache.
 *
 * - Filled only from an acknowledged append: the actor returns the stored bytes with its reply,
 *   after its SQLite commit, so durability is unchanged.
 * - Per partition a contiguous run of batches; an append that does not follow the run starts a
 *   new one. LRU across partitions: past `maxBytes`, the oldest batches of the least recently
 *   used partition go first.
 * - Never serves a record at or past the high watermark, below the log start offset, or from
 *   before a change that may have removed or rewritten batches: the actor publishes these in a
 *   SharedArrayBuffer (batch-cache-state.ts) and bumps its epoch on retention, DeleteRecords,
 *   truncation, a topic config change, and on opening and closing the log (restart, move,
 *   passivation, deletion). Compacted topics are never cached (the actor returns no bytes).
 * - A fetch the cache cannot answer in full from its first batch is a miss and goes to the actor,
 *   which answers it as before (OFFSET_OUT_OF_RANGE included).
 */
import { RecordSet, type Records } from '../protocol/record-set.js';
import { CacheStateReader, newCacheState } from './batch-cache-state.js';

const EMPTY = Buffer.alloc(0);

interface CachedBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly bytes: Uint8Array;
  /** What it counts against the budget (its bytes; the last batch of an append also the rest of its buffer). */
  readonly cost: number;
}

class PartitionEntry {
  batches: CachedBatch[] = [];
  /** Index of the first live batch (older ones were evicted). */
  head = 0;
  /** One past the last cached offset. */
  end = -1;
  bytes = 0;

  constructor(
    readonly reader: CacheStateReader,
    public epoch: number,
  ) {}

  get empty(): boolean {
    return this.head >= this.batches.length;
  }

  clear(): number {
    const freed = this.bytes;
    this.batches = [];
    this.head = 0;
    this.end = -1;
    this.bytes = 0;
    return freed;
  }
}

export interface CachedRead {
  /** One batch's buffer, or several batches as a RecordSet: encoded one after another, never joined. */
  readonly records: Records;
  readonly highWatermark: number;
  readonly logStartOffset: number;
}

export interface BatchCacheStats {
  readonly maxBytes: number;
  readonly bytes: number;
  readonly partitions: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
}

/** The fields of an append reply the cache reads (actors/partition/messages.ts Appended). */
export interface AppendedForCache {
  readonly duplicate: boolean;
  readonly stored?: Uint8Array;
  readonly cacheEpoch?: number;
}

/** A local partition's shared state and the path of its log, for reads that do not go through its actor. */
export interface LogState {
  readonly reader: CacheStateReader;
  readonly path: string;
}

export class BatchCache {
  /** Shared state per partition (topic id and partition), created once and kept across restarts. */
  private readonly states = new Map<string, CacheStateReader>();
  /** The log file of each partition with shared state. */
  private readonly paths = new Map<string, string>();
  /** Cached runs, in least recently used order (a Map iterates in insertion order). */
  private readonly entries = new Map<string, PartitionEntry>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  /**
   * `sharedState`: keep each partition's shared state even with the cache off (size 0), for the
   * log reader threads (src/storage/log-readers.ts), which read by it.
   */
  constructor(
    readonly maxBytes: number,
    private readonly sharedState = false,
  ) {}

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  /** The shared state to hand a partition actor (whose log is at `path`) in its config; undefined when neither the cache nor the readers use it. */
  stateFor(topicId: string, partition: number, path: string): SharedArrayBuffer | undefined {
    if (!this.enabled && !this.sharedState) return undefined;
    const key = keyOf(topicId, partition);
    let reader = this.states.get(key);
    if (!reader) this.states.set(key, (reader = new CacheStateReader(newCacheState())));
    this.paths.set(key, path);
    return reader.buffer;
  }

  /** A local partition's shared state and log path, if it has them. */
  logState(topicId: string, partition: number): LogState | undefined {
    const key = keyOf(topicId, partition);
    const reader = this.states.get(key);
    const path = this.paths.get(key);
    return reader && path !== undefined ? { reader, path } : undefined;
  }

  /** Drops a partition's state and batches (its topic was deleted, or it is no longer led here). */
  forget(topicId: string, partition: number): void {
    const key = keyOf(topicId, partition);
    this.states.delete(key);
    this.paths.delete(key);
    const e = this.entries.get(key);
    if (e) {
      this.bytes -= e.clear();
      this.entries.delete(key);
    }
  }

  /** Adds an acknowledged append's stored batches. */
  appended(topicId: string, partition: number, reply: AppendedForCache): void {
    const stored = reply.stored;
    if (!stored || reply.duplicate || reply.cacheEpoch === undefined || stored.byteLength === 0) return;
    const key = keyOf(topicId, partition);
    const reader = this.states.get(key);
    if (!reader) return;
    // Anything that may have removed batches since the append (or is doing so now) keeps it out.
    const snap = reader.read();
    if (!snap || snap.epoch !== reply.cacheEpoch) return;
    let e = this.entries.get(key);
    if (e && e.reader !== reader) {
      this.bytes -= e.clear();
      e = undefined;
    }
    if (!e) e = new PartitionEntry(reader, snap.epoch);
    else {
      this.entries.delete(key);
      if (e.epoch !== snap.epoch) {
        this.bytes -= e.clear();
        e.epoch = snap.epoch;
      }
    }
    this.entries.set(key, e);
    const batches = splitStored(stored);
    if (batches.length === 0) return;
    if (!e.empty && batches[0]!.baseOffset !== e.end) this.bytes -= e.clear();
    for (const b of batches) {
      e.batches.push(b);
      e.bytes += b.cost;
      this.bytes += b.cost;
    }
    e.end = batches[batches.length - 1]!.lastOffset + 1;
    this.evict();
  }

  /**
   * Whole batches from the one holding `fetchOffset`, up to `maxBytes` (always the first), all
   * below the high watermark; null when the cache cannot answer (the actor then does); with
   * `behindOk`, no batches when the batches asked for are an append whose reply has not arrived.
   */
  read(topicId: string, partition: number, fetchOffset: number, maxBytes: number, behindOk = false): CachedRead | null {
    const key = keyOf(topicId, partition);
    const e = this.entries.get(key);
    if (!e || e.empty) return this.miss();
    const snap = e.reader.read();
    if (!snap) return this.miss();
    if (snap.epoch !== e.epoch) {
      this.bytes -= e.clear();
      this.entries.delete(key);
      return this.miss();
    }
    if (fetchOffset < snap.logStartOffset || fetchOffset >= snap.highWatermark) return this.miss();
    if (fetchOffset >= e.end) {
      // Committed past the cache's end, and the fetch starts right at it: the reply of the append
      // that wrote those batches, which brings them here, is on its way to this thread (the actor
      // published its offsets before replying). With `behindOk` (a fetch that may wait) answer
      // nothing yet: the append's HighWatermarkAdvanced, delivered after its reply, wakes the
      // fetch, which then reads them here instead of reading the log.
      if (behindOk && fetchOffset === e.end) {
        this.misses++;
        return { records: EMPTY, highWatermark: snap.highWatermark, logStartOffset: snap.logStartOffset };
      }
      return this.miss();
    }
    const { batches } = e;
    // The last batch whose base offset is at or before the fetch offset (the run is contiguous).
    let lo = e.head;
    let hi = batches.length - 1;
    if (fetchOffset < batches[lo]!.baseOffset) return this.miss();
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (batches[mid]!.baseOffset <= fetchOffset) lo = mid;
      else hi = mid - 1;
    }
    const parts: Buffer[] = [];
    let total = 0;
    for (let i = lo; i < batches.length; i++) {
      const b = batches[i]!;
      if (b.lastOffset >= snap.highWatermark) break;
      if (parts.length > 0 && total + b.bytes.byteLength > maxBytes) break;
      parts.push(Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength));
      total += b.bytes.byteLength;
    }
    if (parts.length === 0) return this.miss();
    this.hits++;
    // Most recently used goes last.
    this.entries.delete(key);
    this.entries.set(key, e);
    return { records: parts.length === 1 ? parts[0]! : new RecordSet(parts), highWatermark: snap.highWatermark, logStartOffset: snap.logStartOffset };
  }

  stats(): BatchCacheStats {
    return { maxBytes: this.maxBytes, bytes: this.bytes, partitions: this.entries.size, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }

  private miss(): null {
    this.misses++;
    return null;
  }

  /** Past the budget, the oldest batches of the least recently used partitions go. */
  private evict(): void {
    if (this.bytes <= this.maxBytes) return;
    for (const [key, e] of this.entries) {
      while (this.bytes > this.maxBytes && !e.empty) {
        const b = e.batches[e.head]!;
        e.head++;
        e.bytes -= b.cost;
        this.bytes -= b.cost;
        this.evictions++;
      }
      if (e.empty) {
        e.clear();
        this.entries.delete(key);
      } else if (e.head > 1024 && e.head * 2 > e.batches.length) {
        e.batches = e.batches.slice(e.head);
        e.head = 0;
      }
      if (this.bytes <= this.maxBytes) return;
    }
  }
}

function keyOf(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

/** Splits stored bytes (one or more v2 record batches) into views, one per batch. */
function splitStored(stored: Uint8Array): CachedBatch[] {
  const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
  const out: CachedBatch[] = [];
  let pos = 0;
  while (pos + 27 <= stored.byteLength) {
    const baseOffset = view.getUint32(pos) * 2 ** 32 + view.getUint32(pos + 4);
    const size = 12 + view.getInt32(pos + 8);
    if (size < 27 || pos + size > stored.byteLength) return [];
    const lastOffset = baseOffset + view.getInt32(pos + 23);
    const bytes = Buffer.from(stored.buffer, stored.byteOffset + pos, size);
    out.push({ baseOffset, lastOffset, bytes, cost: size });
    pos += size;
  }
  if (pos !== stored.byteLength) return [];
  // The buffer beyond the batches (a request frame's other fields) lives as long as they do.
  const slack = stored.buffer.byteLength - stored.byteLength;
  const last = out.length - 1;
  if (slack > 0 && last >= 0) out[last] = { ...out[last]!, cost: out[last]!.cost + slack };
  return out;
}
