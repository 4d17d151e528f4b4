/**
 * A log reader thread (see log-readers.ts): answers fetch reads of partition logs from a
 * connection of its own to each file, so a consumer reading old records does not take turns
 * from the partition's thread, where appends wait. Connections are kept per file, at most
 * `readerConnectionsMax` (least recently used closed first) and closed after `readerIdleCloseMs`
 * unused, so the thread holds few file descriptors and a log it stopped reading closes cleanly
 * (the last connection to close checkpoints the WAL and removes it, as the partition's own would).
 */
import { parentPort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { concatBatches, readBatches, type ReadStatements } from './partition-log-read.js';
import { floorBatchSql, readFromSql, type BatchBounds } from './partition-log-state.js';
import { readerConnectionsMax, readerIdleCloseMs, type FromReader, type ToReader } from './log-readers.js';

const port = parentPort;
if (!port) throw new Error('log-reader-thread must run inside a worker thread');

interface Open {
  readonly db: Database.Database;
  readonly stmts: ReadStatements;
  usedAtMs: number;
}

/** Open connections by path, least recently used first (a Map iterates in insertion order). */
const open = new Map<string, Open>();

function connection(path: string): Open {
  let c = open.get(path);
  if (c) {
    open.delete(path);
  } else {
    if (open.size >= readerConnectionsMax) close(open.keys().next().value!);
    // A file that is gone (its topic was deleted) fails here and the read goes to the partition.
    const db = new Database(path, { fileMustExist: true, timeout: 100 });
    db.pragma('query_only = ON');
    c = {
      db,
      stmts: { floorBatch: db.prepare<[number], BatchBounds>(floorBatchSql), readFrom: db.prepare<[number], [number, Buffer]>(readFromSql).raw() },
      usedAtMs: 0,
    };
  }
  c.usedAtMs = Date.now();
  open.set(path, c);
  return c;
}

function close(path: string): void {
  const c = open.get(path);
  open.delete(path);
  try {
    c?.db.close();
  } catch {
    /* a connection that cannot close holds nothing we can free */
  }
}

setInterval(() => {
  const before = Date.now() - readerIdleCloseMs;
  for (const [path, c] of open) if (c.usedAtMs < before) close(path);
}, readerIdleCloseMs).unref();

port.on('message', (m: ToReader) => {
  switch (m.k) {
    case 'read': {
      let answer: FromReader;
      try {
        const c = connection(m.path);
        // One read transaction: the two statements see the same snapshot of the log.
        const read = c.db.transaction(() => readBatches(c.stmts, m.fetchOffset, m.limit, m.maxBytes))();
        const records = concatBatches(read);
        answer = { k: 'read', id: m.id, records };
        port.postMessage(answer, [records.buffer as ArrayBuffer]);
      } catch (err) {
        close(m.path);
        answer = { k: 'read', id: m.id, records: null, error: (err as Error).message };
        port.postMessage(answer);
      }
      return;
    }
    case 'stop':
      for (const path of [...open.keys()]) close(path);
      port.close();
      return;
  }
});
