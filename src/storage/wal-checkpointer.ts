/**
 * WAL checkpoints off the append path.
 *
 * SQLite's automatic checkpoint runs inside the commit that pushes the WAL past
 * wal_autocheckpoint pages (1000 by default, ~4 MiB): that one commit copies every page of the
 * WAL into the database file and fsyncs both before it returns, so the produce request it
 * answers, and every request queued behind it on the partition's thread, waits several
 * milliseconds. Measured with `node bench/ack-latency.mjs` (single-record acks at 20,000/s):
 * p99 5.4-5.8 ms with the inline checkpoint, 1.6 ms with none at all; with this checkpointer,
 * 4 interleaved pairs: 4.16-4.92 ms inline, 2.35-2.96 ms here.
 *
 * So a log given a `WalCheckpointer` counts the WAL pages its commits add (an estimate: a few
 * pages of b-tree per transaction plus the bytes written) and, past `walCheckpointBytes`, asks the
 * checkpointer for a checkpoint. The checkpointer is one thread per node (`WalCheckpointerThread`,
 * started by the node before its worker threads): it opens its own connection to the file, runs
 * `PRAGMA wal_checkpoint(PASSIVE)`, which never blocks the writer, repeats while the writer
 * added frames meanwhile, closes the connection and answers with the frames it left. A WAL
 * restarts from its beginning only when a write transaction starts after every frame in it was
 * copied, which a busy writer keeps from happening (it commits while the checkpointer copies).
 * So when the answer comes, the writer's thread copies what is left itself, between two commits,
 * if that is little (at most `walFinishInlineBytes` by its estimate): a short PASSIVE checkpoint,
 * or none, which costs nothing. If more is left, it asks again at once instead: copying megabytes
 * inline is what this module exists to avoid, and measured with `node bench/produce-consume.mjs`-
 * style runs producing 1 KiB records at 150 MB/s, that inline copy took more of the partition's
 * thread than its commits did (1.35 s against 1.14 s while producing 600 MB). Measured in
 * test/storage/wal-checkpointer.test.ts: without an inline last step a writer appending without
 * pause grows its WAL to the backstop. The writer keeps SQLite's automatic checkpoint as that
 * backstop at `walBackstopBytes` (8x the normal threshold), so the WAL stays bounded even if the
 * checkpointer thread stopped or fell behind or the writer never pauses; that backstop then finds
 * most pages already copied.
 *
 * Durability is unchanged: with synchronous=NORMAL the WAL is fsynced at each checkpoint, now by
 * the checkpointer's connection rather than the writer's.
 *
 * The queue is bounded: at most one pending request per file (a map keyed by path), at most
 * `maxPendingCheckpoints` files; a request beyond that is answered at once without a checkpoint
 * (frames left: -1, unknown), so the writer asks again at its next threshold, and its backstop
 * bounds the WAL if the checkpointer stays full.
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';

/** What a partition log asks of the checkpointer. */
export interface WalCheckpointer {
  /**
   * Asks for a checkpoint of the WAL of the database at `path`. When the checkpointer is done,
   * `finish` is called in the writer's thread, between two commits, with the WAL frames the
   * checkpointer left uncopied (committed while it copied the rest; 0 if it copied all; -1 if it
   * did not checkpoint): the writer copies them itself if they are few, so that the next commit
   * can restart the WAL from its beginning instead of growing it.
   */
  request(path: string, finish: (framesLeft: number) => void): void;
}

/** Bytes of WAL between two checkpoint requests: SQLite's own wal_autocheckpoint default (1000 pages of 4 KiB). */
export const walCheckpointBytes = 4 * 1024 * 1024;
/** The writer's own automatic checkpoint, kept as a backstop when a checkpointer is used. */
export const walBackstopBytes = 8 * walCheckpointBytes;
/** At most this much WAL left by the checkpointer is copied by the writer's thread itself; more is asked for again. */
export const walFinishInlineBytes = 256 * 1024;
/** Most files waiting for a checkpoint at once; requests beyond are answered at once (the writer checkpoints). */
export const maxPendingCheckpoints = 65_536;
/** Rounds of PASSIVE checkpoint per request while the writer keeps adding frames. */
export const checkpointRounds = 4;

export interface WalCheckpointerStats {
  readonly requests: number;
  readonly dropped: number;
  /** PASSIVE checkpoint rounds run (up to `checkpointRounds` per request). */
  readonly checkpoints: number;
  readonly errors: number;
  readonly lastError: string | null;
  readonly pending: number;
}

type ToCheckpointer = { readonly k: 'connect'; readonly port: MessagePort } | { readonly k: 'stats'; readonly id: number } | { readonly k: 'stop' };
type FromCheckpointer = { readonly k: 'stats'; readonly id: number; readonly stats: WalCheckpointerStats };
/** The answer to every request, on the writer's port: the path whose checkpoint is done (or dropped), and the frames it left. */
export type CheckpointDone = readonly [path: string, framesLeft: number];

function threadEntryUrl(): URL {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith('.ts')) return new URL('../../dist/src/storage/wal-checkpointer-thread.js', here);
  return new URL('./wal-checkpointer-thread.js', here);
}

/** The node's checkpointer thread, seen from the thread that started it. */
export class WalCheckpointerThread {
  private readonly worker: Worker;
  private readonly statsWaiters = new Map<number, (s: WalCheckpointerStats) => void>();
  private nextId = 1;
  private exited = false;
  private stopping = false;

  /**
   * `onExit` hears of an exit that `stop` did not ask for (the thread threw): the writers' backstop
   * checkpoints are then in charge, and the node goes on.
   */
  private constructor(onExit: (reason: string) => void) {
    this.worker = new Worker(threadEntryUrl(), { name: 'brook-wal-checkpointer' });
    this.worker.on('message', (m: FromCheckpointer) => {
      this.statsWaiters.get(m.id)?.(m.stats);
      this.statsWaiters.delete(m.id);
    });
    let error: string | null = null;
    this.worker.on('error', (err) => {
      error = err.message;
    });
    this.worker.on('exit', (code) => {
      this.exited = true;
      if (!this.stopping) onExit(error ?? `exited with code ${code}`);
    });
    this.worker.unref();
  }

  static start(opts: { onExit?: (reason: string) => void } = {}): WalCheckpointerThread {
    return new WalCheckpointerThread(opts.onExit ?? (() => undefined));
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** A port for one more thread of writers; hand it to that thread and wrap it with `portCheckpointer`. */
  connect(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    if (!this.exited) this.worker.postMessage({ k: 'connect', port: port1 } satisfies ToCheckpointer, [port1]);
    else port1.close();
    return port2;
  }

  /** The thread's counters; rejects after `timeoutMs` or if the thread is gone. */
  stats(timeoutMs = 5_000): Promise<WalCheckpointerStats> {
    if (this.exited) return Promise.reject(new Error('the WAL checkpointer thread has exited'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.statsWaiters.delete(id);
        reject(new Error(`WAL checkpointer stats: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.statsWaiters.set(id, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.worker.postMessage({ k: 'stats', id } satisfies ToCheckpointer);
    });
  }

  /** Finishes the checkpoint in progress and ends the thread (bounded by `timeoutMs`). */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.exited) return;
    this.stopping = true;
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.worker.postMessage({ k: 'stop' } satisfies ToCheckpointer);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => {
      timer = setTimeout(() => {
        void this.worker.terminate().then(
          () => r(),
          () => r(),
        );
      }, timeoutMs);
    });
    await Promise.race([exited, late]);
    clearTimeout(timer);
  }
}

/**
 * The writer's side in its own thread: requests go over the port; each is answered once, and
 * `finish` runs then. At most one request per path is outstanding here, so the map is bounded
 * by the logs open in the thread.
 */
export function portCheckpointer(port: MessagePort): WalCheckpointer {
  const finishers = new Map<string, (framesLeft: number) => void>();
  port.on('message', ([path, framesLeft]: CheckpointDone) => {
    const finish = finishers.get(path);
    finishers.delete(path);
    finish?.(framesLeft);
  });
  port.unref();
  return {
    request(path, finish) {
      const asked = finishers.has(path);
      finishers.set(path, finish);
      if (!asked) port.postMessage(path);
    },
  };
}

let threadCheckpointer: WalCheckpointer | undefined;

/** Installs the checkpointer the logs opened in this thread use (called once by a worker thread's entry). */
export function useWalCheckpointer(c: WalCheckpointer | undefined): void {
  threadCheckpointer = c;
}

/** The checkpointer installed in this thread, if any; without one, logs checkpoint inline as SQLite does. */
export function walCheckpointerOfThread(): WalCheckpointer | undefined {
  return threadCheckpointer;
}

export type { ToCheckpointer, FromCheckpointer };
