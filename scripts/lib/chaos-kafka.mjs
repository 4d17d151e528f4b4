// The fault test's reads (scripts/chaos.mjs): Metadata and Fetch over one raw connection per
// request, with Brook's protocol codec and record-batch decoder from dist/ (run `npm run build`
// first), and each node's replica of a partition read straight from its SQLite file.
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeResponse, encodeRequest } from '../../dist/src/protocol/index.js';
import { decodeBatches } from '../../dist/src/client/record-batch.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One request on a fresh connection to 127.0.0.1:`port`; rejects after `timeoutMs` (connect included). */
export function request(port, apiKey, version, body, timeoutMs = 5_000) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`request ${apiKey} v${version} to port ${port} timed out after ${timeoutMs} ms`)), timeoutMs);
    function finish(err, value) {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    }
    socket.on('connect', () => socket.write(encodeRequest(apiKey, version, 1, 'brook-chaos', body)));
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error(`connection to port ${port} closed before the response`)));
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4) return;
      const size = buf.readInt32BE(0);
      if (buf.length < 4 + size) return;
      try {
        finish(null, decodeResponse(apiKey, version, buf.subarray(4, 4 + size)).body);
      } catch (err) {
        finish(err);
      }
    });
  });
}

/** Metadata v12 of `topics` as the node on `port` answers it. */
export function metadata(port, topics, timeoutMs = 3_000) {
  return request(port, 3, 12, { topics: topics.map((name) => ({ name })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, timeoutMs);
}

/** [{ partition, leader, leaderEpoch, replicas, isr, errorCode }] of `topic` from the node on `port`, sorted; null if unknown. */
export async function partitionsOf(port, topic, timeoutMs = 3_000) {
  const md = await metadata(port, [topic], timeoutMs);
  const t = md.topics.find((x) => x.name === topic);
  if (!t || t.errorCode !== 0) return null;
  return t.partitions
    .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: p.isrNodes, errorCode: p.errorCode }))
    .sort((a, b) => a.partition - b.partition);
}

const RETRIABLE_FETCH = new Set([3, 5, 6, 7, 13, 14, 15, 74, 75, 78, 100]);

/**
 * Every record of `topic`-`partition` from offset 0 to the high watermark, fetched from whichever
 * node `leaderPort()` names (asked again after an error). Resolves { records: [{ offset, value }],
 * highWatermark } or { error } once `timeoutMs` has passed without success.
 */
export async function readPartition(topic, partition, leaderPort, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  const records = [];
  let offset = 0;
  let highWatermark = -1;
  let lastError = 'no attempt';
  while (Date.now() < deadline) {
    let port;
    try {
      port = await leaderPort();
      if (port === null) throw new Error(`no leader for ${topic}-${partition}`);
      const res = await request(port, 1, 12, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 4 * 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 4 * 1024 * 1024 }] }],
      });
      if (res.errorCode !== 0) throw new Error(`Fetch error ${res.errorCode}`);
      const p = res.responses[0].partitions[0];
      if (p.errorCode !== 0) {
        if (!RETRIABLE_FETCH.has(p.errorCode)) return { records, highWatermark, error: `Fetch ${topic}-${partition} at ${offset}: error ${p.errorCode}` };
        throw new Error(`Fetch ${topic}-${partition} at ${offset}: error ${p.errorCode}`);
      }
      if (highWatermark < 0) highWatermark = Number(p.highWatermark);
      if (offset >= highWatermark) return { records, highWatermark };
      const data = p.records ?? Buffer.alloc(0);
      const dec = await decodeBatches(data, { topic, partition, fromOffset: offset, abortedTransactions: null });
      for (const r of dec.records) if (r.offset < highWatermark) records.push({ offset: r.offset, value: r.value === null ? null : r.value.toString('utf8') });
      if (dec.nextOffset <= offset) throw new Error(`Fetch ${topic}-${partition} at ${offset} (high watermark ${highWatermark}) returned no whole batch`);
      offset = dec.nextOffset;
    } catch (err) {
      lastError = err.message;
      await sleep(200);
    }
  }
  return { records, highWatermark, error: `${topic}-${partition}: gave up after ${timeoutMs} ms at offset ${offset}: ${lastError}` };
}

/**
 * Node `dataDir`'s replica of `topic`-`partition` from its SQLite file
 * (<data-dir>/logs/<topic>.<topicId>/<partition>.db, table batches), opened read-only.
 * Resolves { records: [{ offset, value }], file } or { missing: true }.
 */
export async function readReplica(dataDir, topic, partition) {
  const logs = join(dataDir, 'logs');
  if (!existsSync(logs)) return { missing: true, records: [] };
  const dirs = readdirSync(logs).filter((d) => d.startsWith(`${topic}.`));
  const files = dirs.map((d) => join(logs, d, `${partition}.db`)).filter((f) => existsSync(f));
  if (files.length === 0) return { missing: true, records: [] };
  if (files.length > 1) throw new Error(`more than one log of ${topic}-${partition} in ${logs}: ${files.join(', ')}`);
  const db = new Database(files[0], { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT bytes FROM batches ORDER BY base_offset').raw().all();
    const records = [];
    for (const [bytes] of rows) {
      const dec = await decodeBatches(bytes, { topic, partition, fromOffset: 0, abortedTransactions: null });
      for (const r of dec.records) records.push({ offset: r.offset, value: r.value === null ? null : r.value.toString('utf8') });
    }
    return { records, file: files[0] };
  } finally {
    db.close();
  }
}
