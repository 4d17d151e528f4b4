#!/usr/bin/env node
// Recompression inline on the caller's thread against the CPU pool (piscina), per input size:
// how long each call takes (µs), and how much of it the caller's own thread spends busy (its
// event-loop utilisation while the calls run). The pool pays a hop (copy, postMessage, wake-up)
// to free the caller's thread; this shows at which size that pays, which sets
// CPU_POOL_DEFAULTS.inlineBytesMax.
// Usage: node bench/cpu-pool.mjs [--codec 4] [--ms 1500]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { CpuPool } from '../dist/src/compression/cpu-pool.js';
import { recompressRecords } from '../dist/src/storage/batch-rewrite.js';
import { buildBatch } from '../dist/src/storage/record-batch.js';

const { values: opt } = parseArgs({ options: { codec: { type: 'string', default: '4' }, ms: { type: 'string', default: '1500' } } });
const codec = Number(opt.codec);
const budgetMs = Number(opt.ms);

function records(bytes) {
  const count = Math.max(1, Math.round(bytes / 200));
  return buildBatch({ records: Array.from({ length: count }, (_, i) => ({ value: JSON.stringify({ id: i, kind: 'order-placed', customer: `c-${i % 977}` }).padEnd(190, ' ') })) });
}

/** Calls `fn` one at a time for budgetMs; returns µs per call and the caller thread's utilisation. */
async function measure(fn) {
  for (let i = 0; i < 20; i++) await fn();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < budgetMs) {
    await fn();
    n++;
  }
  const elu = performance.eventLoopUtilization(elu0);
  return { usPerCall: ((performance.now() - t0) * 1000) / n, callerBusy: elu.utilization };
}

const pool = new CpuPool({ threads: 1, inlineBytesMax: 0 });
const rows = [];
for (const size of [1024, 4096, 16384, 65536, 262144, 1048576]) {
  const input = records(size);
  const inline = await measure(() => recompressRecords(input, codec));
  const pooled = await measure(() => pool.recompressRecords(input, codec));
  rows.push({
    'input': `${(input.length / 1024).toFixed(0)} KiB`,
    'inline µs/call': inline.usPerCall.toFixed(0),
    'inline caller busy': `${(inline.callerBusy * 100).toFixed(0)}%`,
    'pool µs/call': pooled.usPerCall.toFixed(0),
    'pool caller busy': `${(pooled.callerBusy * 100).toFixed(0)}%`,
    'caller µs freed/call': (inline.usPerCall * inline.callerBusy - pooled.usPerCall * pooled.callerBusy).toFixed(0),
  });
}
await pool.close();
console.table(rows);
