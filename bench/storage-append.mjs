#!/usr/bin/env node
// Benchmarks the partition log alone (no threads): appends of 16 KiB batches of 100 B and
// 1 KiB records, one batch per transaction (append) and 64 per transaction (appendMany), with
// NORMAL and FULL durability; then a full scan with read(). Beside each figure it prints raw
// better-sqlite3 inserts of the same blobs measured in the same run, since the machines are
// noisy and only ratios within one run compare. Fresh temp dir each run.
// Run after `npm run build`: node bench/storage-append.mjs [--mib 128] [--reps 3]
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PartitionLog } from '../dist/src/storage/partition-log.js';
import { buildBatch } from '../dist/src/storage/record-batch.js';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '128' },
    reps: { type: 'string', default: '3' },
  },
});
const totalBytes = Number(values.mib) * 1024 * 1024;
const reps = Number(values.reps);
const batchBytesTarget = 16 * 1024;
const groupSize = 64;
const readMaxBytes = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'brook-bench-storage-'));
let fileIndex = 0;

/** A 16 KiB batch of `recordBytes` records; `groupSize` distinct copies so no buffer is reused within a group. */
function makeBatches(recordBytes) {
  const value = Buffer.alloc(recordBytes, 97);
  const perBatch = Math.floor((batchBytesTarget - 61) / (recordBytes + 8));
  const template = buildBatch({ records: Array.from({ length: perBatch }, () => ({ key: null, value })) });
  return { perBatch, batches: Array.from({ length: groupSize }, () => Buffer.from(template)) };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeLog(recordBytes, durability, grouped) {
  const { perBatch, batches } = makeBatches(recordBytes);
  const count = Math.ceil(totalBytes / batches[0].length / groupSize) * groupSize;
  const log = PartitionLog.open({ path: join(dir, `log-${fileIndex++}.db`), durability });
  const start = performance.now();
  for (let i = 0; i < count; i += groupSize) {
    if (grouped) {
      for (const r of log.appendMany(batches)) if (!('baseOffset' in r)) throw r;
    } else {
      for (const b of batches) log.append(b);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  return { seconds, count, perBatch, bytes: count * batches[0].length, log };
}

function timeRaw(durability, grouped, blob, count) {
  const db = new Database(join(dir, `raw-${fileIndex++}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)');
  const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
  const group = db.transaction((from) => {
    for (let k = from; k < from + groupSize; k++) insert.run(k, blob);
  });
  const start = performance.now();
  for (let k = 0; k < count; k += groupSize) {
    if (grouped) group(k);
    else for (let j = k; j < k + groupSize; j++) insert.run(j, blob);
  }
  const seconds = (performance.now() - start) / 1000;
  db.close();
  return seconds;
}

function timeRead(log) {
  const start = performance.now();
  let offset = log.logStartOffset;
  let bytes = 0;
  while (offset < log.logEndOffset) {
    const r = log.read(offset, readMaxBytes);
    bytes += r.bytes;
    const last = r.batches[r.batches.length - 1];
    offset = Number(last.readBigInt64BE(0)) + last.readInt32BE(57);
  }
  return { seconds: (performance.now() - start) / 1000, bytes };
}

const mb = (bytes, seconds) => (bytes / seconds / 1e6).toFixed(0);
const k = (n, seconds) => `${(n / seconds / 1000).toFixed(1)}k`;

console.log(`partition log, 16 KiB batches, ${values.mib} MiB per run, median of ${reps}; raw = better-sqlite3 INSERT of the same blob, same run`);
console.log('record  durability  commit        batches/s   records/s      MB/s   raw MB/s   log/raw');
let scanLog = null;
for (const recordBytes of [100, 1024]) {
  for (const durability of ['normal', 'full']) {
    for (const grouped of [false, true]) {
      const runs = [];
      const raws = [];
      for (let r = 0; r < reps; r++) {
        const run = timeLog(recordBytes, durability, grouped);
        runs.push(run);
        raws.push(timeRaw(durability, grouped, makeBatches(recordBytes).batches[0], run.count));
      }
      const seconds = median(runs.map((r) => r.seconds));
      const rawSeconds = median(raws);
      const { count, perBatch, bytes } = runs[0];
      for (const run of runs.slice(1)) run.log.close();
      if (scanLog) scanLog.close();
      scanLog = runs[0].log;
      const label = grouped ? `appendMany x${groupSize}` : 'append x1     ';
      console.log(
        `${String(recordBytes).padStart(5)} B  ${durability.padEnd(10)}  ${label}  ${k(count, seconds).padStart(8)}  ${k(count * perBatch, seconds).padStart(10)}  ${mb(bytes, seconds).padStart(8)}  ${mb(bytes, rawSeconds).padStart(9)}  ${(rawSeconds / seconds).toFixed(2).padStart(8)}`,
      );
    }
  }
}
const reads = Array.from({ length: reps }, () => timeRead(scanLog));
const readSeconds = median(reads.map((r) => r.seconds));
console.log(`read() full scan, ${readMaxBytes / 1024} KiB per read: ${mb(reads[0].bytes, readSeconds)} MB/s (${(reads[0].bytes / 1e6).toFixed(0)} MB)`);
scanLog.close();
console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
rmSync(dir, { recursive: true, force: true });
