#!/usr/bin/env node
// Benchmarks record batch encoding and decoding in one process (no threads, no I/O): Brook's
// client (src/client/record-batch.ts: BatchBuilder, scanBatches + decodeScanned) against the
// broker's shared module (src/storage/record-batch.ts: buildBatch, splitBatches +
// iterateRecords), on 16 KiB uncompressed batches of 100 B and 1 KiB records with 8-byte keys.
// Prints records/s and MB/s (of batch bytes), the median of --reps runs, each over --mib of
// batches; encoders and decoders alternate within a run so machine noise hits both alike.
// Run after `npm run build`: node bench/record-batch.mjs [--mib 32] [--reps 5]
import { parseArgs } from 'node:util';
import { BatchBuilder, decodeScanned, scanBatches } from '../dist/src/client/record-batch.js';
import { buildBatch, iterateRecords, splitBatches } from '../dist/src/storage/record-batch.js';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '32' },
    reps: { type: 'string', default: '5' },
  },
});
const totalBytes = Number(values.mib) * 1024 * 1024;
const reps = Number(values.reps);
const batchBytesTarget = 16 * 1024;
const timestampMs = 1_700_000_000_000;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function inputs(recordBytes) {
  const perBatch = Math.floor((batchBytesTarget - 61) / (recordBytes + 8 + 8));
  const value = Buffer.alloc(recordBytes, 97);
  const keys = Array.from({ length: perBatch }, (_, i) => `key${String(i).padStart(5, '0')}`);
  const batchBytes = buildBatch({ records: keys.map((key) => ({ key, value })), timestampMs }).length;
  const batches = Math.max(1, Math.floor(totalBytes / batchBytes));
  return { perBatch, value, keys, batches };
}

/** The client's producer path: records written into one growing buffer, the header filled in by finish(). */
async function encodeClient({ value, keys, batches }) {
  let bytes = 0;
  const start = performance.now();
  for (let b = 0; b < batches; b++) {
    const builder = new BatchBuilder(1_000_000);
    for (const key of keys) builder.tryAppend(key, value, undefined, timestampMs);
    bytes += (await builder.finish({ producerId: -1, producerEpoch: -1, baseSequence: -1, compression: 0 })).length;
  }
  return { seconds: (performance.now() - start) / 1000, bytes };
}

/** The shared module's encoder: each record encoded into its own buffer, then concatenated. */
function encodeShared({ value, keys, batches }) {
  let bytes = 0;
  const start = performance.now();
  for (let b = 0; b < batches; b++) bytes += buildBatch({ records: keys.map((key) => ({ key, value })), timestampMs }).length;
  return { seconds: (performance.now() - start) / 1000, bytes };
}

/**
 * The client's consumer path: headers and CRCs first, then each record decoded into a
 * FetchedRecord (fields checked, key and value made when read); with `read`, every record's key
 * and value are then read, as the shared reader makes them.
 */
function decodeClient(data, read = false) {
  const opts = { topic: 't', partition: 0, fromOffset: 0, abortedTransactions: null };
  const start = performance.now();
  const out = [];
  decodeScanned(scanBatches(data, opts).batches, opts, out);
  let bytes = 0;
  if (read) for (const r of out) bytes += r.key.length + r.value.length;
  if (read && bytes === 0) throw new Error('nothing read');
  return { seconds: (performance.now() - start) / 1000, records: out.length };
}

/** The shared module's reader: each batch validated (header, CRC) and its records iterated. */
function decodeShared(data) {
  const start = performance.now();
  const out = [];
  for (const h of splitBatches(data, { maxBatchBytes: Number.MAX_SAFE_INTEGER })) {
    for (const r of iterateRecords(data.subarray(h.position, h.position + h.sizeBytes))) out.push(r);
  }
  return { seconds: (performance.now() - start) / 1000, records: out.length };
}

const fmt = (records, bytes, seconds) => `${(records / seconds / 1e6).toFixed(2).padStart(7)}M records/s  ${(bytes / seconds / 1e6).toFixed(0).padStart(6)} MB/s`;

console.log(`record batches, 16 KiB uncompressed, ${values.mib} MiB per run, median of ${reps}`);
for (const recordBytes of [100, 1024]) {
  const input = inputs(recordBytes);
  const records = input.perBatch * input.batches;
  const data = Buffer.concat(Array.from({ length: input.batches }, () => buildBatch({ records: input.keys.map((key) => ({ key, value: input.value })), timestampMs })));
  const runs = { encodeClient: [], encodeShared: [], decodeClient: [], decodeClientRead: [], decodeShared: [] };
  for (let r = 0; r < reps + 1; r++) {
    const results = {
      encodeClient: await encodeClient(input),
      encodeShared: encodeShared(input),
      decodeClient: decodeClient(data),
      decodeClientRead: decodeClient(data, true),
      decodeShared: decodeShared(data),
    };
    // The first round warms the JIT and is not counted.
    if (r > 0) for (const [name, result] of Object.entries(results)) runs[name].push(result.seconds);
    if (results.decodeClient.records !== records || results.decodeShared.records !== records) throw new Error('decoders disagree on the record count');
  }
  const line = (label, name) => console.log(`${String(recordBytes).padStart(5)} B  ${label.padEnd(34)} ${fmt(records, data.length, median(runs[name]))}`);
  line('encode  client BatchBuilder', 'encodeClient');
  line('encode  shared buildBatch', 'encodeShared');
  line('decode  client scan+decodeScanned', 'decodeClient');
  line('decode  client, every key+value read', 'decodeClientRead');
  line('decode  shared split+iterateRecords', 'decodeShared');
}
