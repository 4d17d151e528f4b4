/**
 * Log reader threads: fetch reads that the batch cache cannot answer, off the partition's thread.
 *
 * A partition actor handles one turn at a time, so a consumer catching up from old records made
 * every append of that partition wait behind multi-megabyte reads of its SQLite file. Measured
 * (`node bench/catch-up.mjs`: single-record acks at 5,000/s on a partition while another
 * process consumes its 300 MB backlog, the batch cache off): ack p99 4-10 ms alone, 56-80 ms
 * beside a consumer reading 120 MB/s. SQLite in WAL mode lets readers run beside the writer, so
 * the node keeps `--fetch-reader-threads` threads, each with read-only use of its own
 * connections; the main thread sends a read there when the partition's shared state
 * (batch-cache-state.ts) says the offset is committed (at or above the log start, below the high
 * watermark), and serves the answer only if the state's epoch did not move meanwhile (no
 * retention, truncation, compaction step or close removed what was read). Anything else, and any
 * failure, timeout or full queue, goes to the partition's actor as before.
 *
 * Bounded: at most `readerQueueMax` reads outstanding per thread (more go to the actor), each
 * with a timeout; each thread keeps at most `readerConnectionsMax` connections open (3 file
 * descriptors each) and closes those unused for `readerIdleCloseMs`. A file always goes to the
 * same thread, so it is open at most once here.
 */
import { Worker } from 'node:worker_threads';

/** Reads outstanding per reader thread; more are answered by the partition's actor. */
export const readerQueueMax = 64;
/** Connections a reader thread keeps open at once (least recently used closed first). */
export const readerConnectionsMax = 64;
/** A reader's connection unused this long is closed. */
export const readerIdleCloseMs = 5_000;
/** A read not answered in this time is given up (the actor answers it instead). */
export const readerTimeoutMs = 10_000;

export type ToReader =
  { readonly k: 'read'; readonly id: number; readonly path: string; readonly fetchOffset: number; readonly maxBytes: number; readonly limit: number } | { readonly k: 'stop' };
export type FromReader = { readonly k: 'read'; readonly id: number; readonly records: Uint8Array | null; readonly error?: string };

export interface LogReadRequest {
  readonly path: string;
  readonly fetchOffset: number;
  readonly maxBytes: number;
  /** Offset no returned batch may reach: the high watermark the caller saw. */
  readonly limit: number;
}

export interface LogReadersStats {
  readonly threads: number;
  readonly reads: number;
  /** Reads not served here (queue full, failure, timeout, thread gone): the actor answered them. */
  readonly declined: number;
  readonly failed: number;
  readonly lastError: string | null;
}

function threadEntryUrl(): URL {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith('.ts')) return new URL('../../dist/src/storage/log-reader-thread.js', here);
  return new URL('./log-reader-thread.js', here);
}

interface Waiter {
  readonly resolve: (records: Uint8Array | null) => void;
  readonly timer: NodeJS.Timeout;
}

class ReaderThread {
  readonly worker: Worker;
  readonly waiting = new Map<number, Waiter>();
  exited = false;

  constructor(private readonly pool: LogReaders) {
    this.worker = new Worker(threadEntryUrl(), { name: 'brook-log-reader' });
    this.worker.on('message', (m: FromReader) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      clearTimeout(w.timer);
      if (m.records === null) this.pool.failedWith(m.error ?? 'read failed');
      w.resolve(m.records);
    });
    this.worker.on('error', (err) => this.pool.failedWith(`reader thread: ${err.message}`));
    this.worker.on('exit', () => {
      this.exited = true;
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.resolve(null);
      }
      this.waiting.clear();
    });
    this.worker.unref();
  }
}

/** The node's reader threads, seen from the main thread. */
export class LogReaders {
  private readonly threads: ReaderThread[] = [];
  private nextId = 1;
  private reads = 0;
  private declined = 0;
  private failed = 0;
  private lastError: string | null = null;

  constructor(readonly threadCount: number) {
    for (let i = 0; i < threadCount; i++) this.threads.push(new ReaderThread(this));
  }

  get enabled(): boolean {
    return this.threads.length > 0;
  }

  /**
   * The stored batches of a read, concatenated; null when this pool does not answer it (the
   * caller then asks the partition's actor). Never rejects.
   */
  read(req: LogReadRequest): Promise<Uint8Array | null> {
    const t = this.threads[hashOf(req.path) % this.threads.length];
    if (!t || t.exited || t.waiting.size >= readerQueueMax) {
      this.declined++;
      return Promise.resolve(null);
    }
    const id = this.nextId++;
    this.reads++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        t.waiting.delete(id);
        this.failedWith(`a read of ${req.path} took over ${readerTimeoutMs} ms`);
        this.declined++;
        resolve(null);
      }, readerTimeoutMs);
      t.waiting.set(id, {
        resolve: (records) => {
          if (records === null) this.declined++;
          resolve(records);
        },
        timer,
      });
      t.worker.postMessage({ k: 'read', id, ...req } satisfies ToReader);
    });
  }

  /** @internal a reader's failure, counted and kept for stats. */
  failedWith(error: string): void {
    this.failed++;
    this.lastError = error;
  }

  stats(): LogReadersStats {
    return { threads: this.threads.filter((t) => !t.exited).length, reads: this.reads, declined: this.declined, failed: this.failed, lastError: this.lastError };
  }

  /** Closes every reader's connections and ends the threads (bounded by `timeoutMs`). */
  async stop(timeoutMs = 5_000): Promise<void> {
    await Promise.all(
      this.threads.map(async (t) => {
        if (t.exited) return;
        const exited = new Promise<void>((r) => t.worker.once('exit', () => r()));
        t.worker.postMessage({ k: 'stop' } satisfies ToReader);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((r) => {
          timer = setTimeout(
            () =>
              void t.worker.terminate().then(
                () => r(),
                () => r(),
              ),
            timeoutMs,
          );
        });
        await Promise.race([exited, late]);
        clearTimeout(timer);
      }),
    );
  }
}

/** FNV-1a of a path: which thread reads a file, so each file is open on one thread at most. */
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
