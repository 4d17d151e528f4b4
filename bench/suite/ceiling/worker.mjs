// The plumbing ceiling's storage worker: owns one SQLite database per partition assigned to it
// (WAL, synchronous=NORMAL like Brook's default), one row per producer batch. Everything queued
// when the event loop comes round is committed in one transaction per partition, then acked in
// one message. No broker logic: no validation, no CRC check, no producer state, no indexes.
import { parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const logs = new Map(); // partition -> { db, insert, read, next }
let queue = [];
let scheduled = false;

function open(p) {
  let l = logs.get(p);
  if (l) return l;
  const db = new Database(join(workerData.dataDir, `p${p}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS batches (base_offset INTEGER PRIMARY KEY, last_offset INTEGER NOT NULL, bytes BLOB NOT NULL)');
  l = {
    db,
    insert: db.prepare('INSERT INTO batches (base_offset, last_offset, bytes) VALUES (?, ?, ?)'),
    read: db.prepare('SELECT bytes FROM batches WHERE base_offset >= (SELECT coalesce(max(base_offset), 0) FROM batches WHERE base_offset <= ?) ORDER BY base_offset').raw(true),
    next: 0,
  };
  l.append = db.transaction((items) => {
    for (const it of items) {
      const buf = Buffer.from(it.buf);
      const count = buf.readInt32BE(23) + 1;
      const base = l.next;
      buf.writeBigInt64BE(BigInt(base), 0);
      l.insert.run(base, base + count - 1, buf);
      l.next += count;
      it.base = base;
    }
  });
  logs.set(p, l);
  return l;
}

function flush() {
  scheduled = false;
  const items = queue;
  queue = [];
  const byPartition = new Map();
  const ids = [];
  const offsets = [];
  const fetches = [];
  for (const m of items) {
    if (m.t === 0) {
      let a = byPartition.get(m.p);
      if (!a) byPartition.set(m.p, (a = []));
      a.push(m);
    } else fetches.push(m);
  }
  const hw = {};
  for (const [p, a] of byPartition) {
    const l = open(p);
    l.append(a);
    hw[p] = l.next;
    for (const it of a) {
      ids.push(it.id);
      offsets.push(it.base);
    }
  }
  if (ids.length) parentPort.postMessage({ t: 'acks', ids, offsets, hw });
  for (const f of fetches) {
    const l = open(f.p);
    const parts = [];
    let size = 0;
    if (f.offset < l.next) {
      for (const [bytes] of l.read.iterate(f.offset)) {
        if (size > 0 && size + bytes.length > f.maxBytes) break;
        parts.push(bytes);
        size += bytes.length;
        if (size >= f.maxBytes) break;
      }
    }
    const out = new Uint8Array(size);
    let o = 0;
    for (const b of parts) {
      out.set(b, o);
      o += b.length;
    }
    parentPort.postMessage({ t: 'fetch', id: f.id, hw: l.next, buf: out.buffer }, [out.buffer]);
  }
}

parentPort.on('message', (m) => {
  queue.push(m);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});
