/**
 * The WAL checkpointer's thread (see wal-checkpointer.ts): receives paths from the writers'
 * threads over their ports, and checkpoints one file at a time with a short-lived connection of
 * its own, yielding to its event loop between files so new requests and stats calls are seen.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type CheckpointDone, checkpointRounds, maxPendingCheckpoints, type FromCheckpointer, type ToCheckpointer } from './wal-checkpointer.js';

const port = parentPort;
if (!port) throw new Error('wal-checkpointer-thread must run inside a worker thread');

/**
 * Checkpoints are background work: this thread runs at a lower scheduling priority (nice 10)
 * than the gateway and partition threads, so on a busy machine a checkpoint waits for a free
 * core instead of delaying a produce request. On Linux, setpriority on a thread id changes only
 * that thread; /proc/thread-self names it. Elsewhere the thread keeps the process's priority.
 */
export const checkpointerNice = 10;
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), checkpointerNice);
} catch {
  /* not Linux, or not permitted: run at the process's priority */
}

/** Files waiting, oldest first, with the ports to answer on; a file is queued at most once. */
const pending = new Map<string, Set<MessagePort>>();
const writers = new Set<MessagePort>();
let scheduled = false;
let stopping = false;
const stats = { requests: 0, dropped: 0, checkpoints: 0, errors: 0, lastError: null as string | null };

function request(from: MessagePort, path: unknown): void {
  if (typeof path !== 'string' || stopping) return;
  stats.requests++;
  const waiting = pending.get(path);
  if (waiting) {
    waiting.add(from);
    return;
  }
  if (pending.size >= maxPendingCheckpoints) {
    stats.dropped++;
    from.postMessage([path, -1] satisfies CheckpointDone);
    return;
  }
  pending.set(path, new Set([from]));
  schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(runOne);
}

function runOne(): void {
  scheduled = false;
  const next = pending.entries().next().value;
  if (next === undefined) return;
  const [path, ports] = next;
  pending.delete(path);
  const left = checkpoint(path);
  for (const p of ports) if (writers.has(p)) p.postMessage([path, left] satisfies CheckpointDone);
  if (pending.size > 0) schedule();
}

/**
 * Checkpoints one file, in rounds while the writer adds frames meanwhile; answers the frames the
 * last round left (0 when it copied all, or when there is nothing it could copy; -1 on failure).
 */
function checkpoint(path: string): number {
  let db: Database.Database | undefined;
  let left = -1;
  try {
    // A file deleted since the request (its topic was deleted) is not an error: nothing to do.
    db = new Database(path, { fileMustExist: true, timeout: 1_000 });
    for (let round = 0; round < checkpointRounds; round++) {
      const [r] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
      stats.checkpoints++;
      if (!r || r.log < 0) {
        left = 0; // not in WAL mode
        break;
      }
      left = Math.max(0, r.log - r.checkpointed);
      if (r.busy === 0 && left === 0) break;
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'SQLITE_CANTOPEN') {
      stats.errors++;
      stats.lastError = `${path}: ${(err as Error).message}`;
    }
  } finally {
    try {
      db?.close();
    } catch {
      /* closing a connection that failed to open */
    }
  }
  return left;
}

port.on('message', (m: ToCheckpointer) => {
  switch (m.k) {
    case 'connect':
      writers.add(m.port);
      m.port.on('message', (path: unknown) => request(m.port, path));
      m.port.on('close', () => writers.delete(m.port));
      return;
    case 'stats':
      port.postMessage({ k: 'stats', id: m.id, stats: { ...stats, pending: pending.size } } satisfies FromCheckpointer);
      return;
    case 'stop':
      stopping = true;
      pending.clear();
      for (const w of writers) w.close();
      port.close();
      return;
  }
});
