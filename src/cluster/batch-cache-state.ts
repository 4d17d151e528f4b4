/**
 * The few words a partition actor shares with the main thread's batch cache (batch-cache.ts),
 * in one SharedArrayBuffer per partition, handed to the actor in its config (so a restart, a move
 * or a reactivation after passivation writes to the same words):
 *
 * - `seq` (a seqlock): odd while the actor is changing its log in a way the cache must not see
 *   half done (retention, DeleteRecords, truncation, a config change, opening and closing the
 *   log), even otherwise. The cache serves nothing while it is odd, nor when it changed while
 *   the cache read the other words.
 * - `epoch`: bumped by every change that may remove or rewrite stored batches (the log start
 *   moved, truncation, a topic config change, the log opened or closed). Cached batches carry
 *   the epoch they were appended in and are dropped when it no longer matches.
 * - the high watermark and the log start offset, as of the actor's last turn.
 *
 * The actor writes these synchronously on its own thread before and after the change, so once
 * a change is under way no cache lookup started after it serves what it removes.
 */

const SEQ = 0;
const EPOCH = 1;
/** Float64 slots (byte offset 8 onwards). */
const HW = 1;
const LOG_START = 2;
const BYTES = 24;

export function newCacheState(): SharedArrayBuffer {
  return new SharedArrayBuffer(BYTES);
}

export interface CacheSnapshot {
  readonly epoch: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
}

/** The main thread's view: a consistent snapshot, or null while the actor is changing the log. */
export class CacheStateReader {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer, 0, 2);
    this.f64 = new Float64Array(buffer, 0, 3);
  }

  read(): CacheSnapshot | null {
    const seq = Atomics.load(this.i32, SEQ);
    if ((seq & 1) !== 0) return null;
    const epoch = Atomics.load(this.i32, EPOCH);
    const highWatermark = this.f64[HW]!;
    const logStartOffset = this.f64[LOG_START]!;
    if (Atomics.load(this.i32, SEQ) !== seq) return null;
    return { epoch, highWatermark, logStartOffset };
  }
}

/** The partition actor's side (one writer at a time: the actor's current incarnation). */
export class CacheStateWriter {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;

  constructor(buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer, 0, 2);
    this.f64 = new Float64Array(buffer, 0, 3);
  }

  get epoch(): number {
    return Atomics.load(this.i32, EPOCH);
  }

  /** Marks a change under way (the cache serves nothing until `end`); stays odd if a previous incarnation died mid-change. */
  begin(): void {
    Atomics.store(this.i32, SEQ, Atomics.load(this.i32, SEQ) | 1);
  }

  /** Ends a change: publishes the offsets, bumping the epoch when cached batches may be gone. */
  end(highWatermark: number, logStartOffset: number, invalidate: boolean): void {
    if (invalidate) Atomics.add(this.i32, EPOCH, 1);
    this.f64[HW] = highWatermark;
    this.f64[LOG_START] = logStartOffset;
    Atomics.store(this.i32, SEQ, (Atomics.load(this.i32, SEQ) | 1) + 1);
  }

  /** Publishes new offsets after appends (nothing removed). */
  publish(highWatermark: number, logStartOffset: number): void {
    this.begin();
    this.end(highWatermark, logStartOffset, false);
  }
}
