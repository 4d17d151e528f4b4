#!/usr/bin/env node
// The plumbing ceiling: the same path as Brook with no broker logic. A client's request arrives
// over TCP on the main thread, which copies the batch into its own ArrayBuffer and posts it
// (transferred) to the worker owning the partition's SQLite database; the worker group-commits
// what is queued and acks; the main thread answers in request order per connection.
// Frames (big-endian): request  = size:int32 id:int32 op:int8 partition:int32 payload
//   op 0 produce: payload = one Kafka record batch         -> response payload: baseOffset:float64
//   op 1 fetch:   offset:float64 maxBytes:int32 maxWait:int32 -> response: hw:float64 batches
// Prints `listening <port>` on stdout. Usage: node server.mjs --data-dir DIR [--workers N]
import { createServer } from 'node:net';
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { frameReader } from '../lib/frames.mjs';

const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, workers: { type: 'string' }, port: { type: 'string', default: '0' } } });
const nWorkers = Number(values.workers ?? availableParallelism());
const workers = Array.from({ length: nWorkers }, () => new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { dataDir: values['data-dir'] } }));
const pending = new Map(); // request key -> { conn, slot, p, ...fetch }
const parked = new Map(); // partition -> parked fetches
let nextKey = 1;

// Writes go out corked: everything answered in one event-loop turn leaves in one syscall.
const corked = new Set();
function answer(conn, slot, parts) {
  slot.parts = parts;
  const q = conn.queue;
  if (q[0] !== slot) return;
  if (!corked.has(conn.socket)) {
    corked.add(conn.socket);
    conn.socket.cork();
    if (corked.size === 1) process.nextTick(uncorkAll);
  }
  while (q.length && q[0].parts) for (const b of q.shift().parts) conn.socket.write(b);
}
function uncorkAll() {
  for (const s of corked) s.uncork();
  corked.clear();
}

/** A response frame as [header, body?]: the body (fetched batches) is written without a copy. */
function frame(id, head, body) {
  const h = Buffer.allocUnsafe(8 + head.length);
  h.writeInt32BE(h.length - 4 + (body ? body.length : 0), 0);
  h.writeInt32BE(id, 4);
  head.copy(h, 8);
  return body && body.length ? [h, body] : [h];
}

function sendFetch(r) {
  const key = nextKey++;
  pending.set(key, r);
  workers[r.p % nWorkers].postMessage({ t: 1, id: key, p: r.p, offset: r.offset, maxBytes: r.maxBytes });
}

for (const w of workers) {
  w.on('message', (m) => {
    if (m.t === 'acks') {
      for (let i = 0; i < m.ids.length; i++) {
        const r = pending.get(m.ids[i]);
        pending.delete(m.ids[i]);
        const h = Buffer.allocUnsafe(8);
        h.writeDoubleBE(m.offsets[i], 0);
        answer(r.conn, r.slot, frame(r.slot.id, h));
      }
      for (const p of Object.keys(m.hw)) {
        const waiting = parked.get(Number(p));
        if (!waiting) continue;
        parked.delete(Number(p));
        for (const r of waiting) {
          clearTimeout(r.timer);
          sendFetch(r);
        }
      }
    } else {
      const r = pending.get(m.id);
      pending.delete(m.id);
      const body = new Uint8Array(m.buf);
      if (body.length === 0 && r.maxWait > 0 && !r.waited) {
        r.waited = true;
        let list = parked.get(r.p);
        if (!list) parked.set(r.p, (list = []));
        list.push(r);
        r.timer = setTimeout(() => {
          const l = parked.get(r.p);
          if (l) {
            const i = l.indexOf(r);
            if (i >= 0) l.splice(i, 1);
          }
          sendFetch(r);
        }, r.maxWait);
        return;
      }
      const h = Buffer.allocUnsafe(8);
      h.writeDoubleBE(m.hw, 0);
      answer(r.conn, r.slot, frame(r.slot.id, h, body));
    }
  });
}

function onRequest(conn, f) {
  const id = f.readInt32BE(0);
  const op = f.readInt8(4);
  const p = f.readInt32BE(5);
  const slot = { id, parts: null };
  conn.queue.push(slot);
  if (op === 0) {
    const ab = new ArrayBuffer(f.length - 9);
    new Uint8Array(ab).set(f.subarray(9));
    const key = nextKey++;
    pending.set(key, { conn, slot, p });
    workers[p % nWorkers].postMessage({ t: 0, id: key, p, buf: ab }, [ab]);
  } else {
    sendFetch({ conn, slot, p, offset: f.readDoubleBE(9), maxBytes: f.readInt32BE(17), maxWait: f.readInt32BE(21) });
  }
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  const conn = { socket, queue: [] };
  socket.on(
    'data',
    frameReader((f) => onRequest(conn, f)),
  );
  socket.on('error', () => {});
});
server.listen(Number(values.port), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => {
  server.close();
  Promise.all(workers.map((w) => w.terminate())).then(() => process.exit(0));
});
