#!/usr/bin/env node
// Benchmarks the topic lifecycle at the storage level (no threads):
// 1. compaction throughput: a keyed log (16 KiB batches of 100 B records, a key space a tenth
//    of the record count) cleaned to completion in bounded steps, per codec, in MB/s of log;
// 2. appends while compaction runs: group-committed appends alone, then the same appends
//    interleaved with one compaction step between groups, with the step latency percentiles
//    (the time produce on that partition waits behind one step);
// 3. recompression cost per codec: recompressBatch of a 16 KiB batch of 1 KiB records from
//    uncompressed to each codec and back, in MB/s of uncompressed records and us per batch.
// Run after `npm run build`: node bench/lifecycle.mjs [--mib 32] [--step-kib 1024]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { recompressBatch } from '../dist/src/storage/batch-rewrite.js';
import { PartitionLog } from '../dist/src/storage/partition-log.js';
import { buildBatch } from '../dist/src/storage/record-batch.js';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '32' },
    'step-kib': { type: 'string', default: '1024' },
  },
});
const totalBytes = Number(values.mib) * 1024 * 1024;
const stepBytes = Number(values['step-kib']) * 1024;
const dir = mkdtempSync(join(tmpdir(), 'brook-bench-lifecycle-'));
const codecNames = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
let fileIndex = 0;
const compactConfig = { cleanupPolicy: 'compact', segmentBytes: 1024 * 1024, minCleanableDirtyRatio: 0 };

const words = 'the quick brown fox jumps over the lazy dog while kafka brokers compact logs 0 1 2 3 4 5 6 7 8 9'.split(' ');

/** Text-like values, so codecs see realistic ratios rather than one repeated byte. */
function textValue(seed, bytes) {
  let s = '';
  for (let j = 0; s.length < bytes; j++) s += `${words[(seed * 31 + j * 7 + (seed >> 3)) % words.length]} `;
  return s.slice(0, bytes);
}

/** Keyed 16 KiB batches of 100 B records: `count` batches whose keys cycle through `keySpace`. */
async function keyedBatches(count, codec) {
  const perBatch = 140;
  const recordsTotal = count * perBatch;
  const keySpace = Math.max(1, Math.floor(recordsTotal / 10));
  const out = [];
  for (let b = 0; b < count; b++) {
    const records = Array.from({ length: perBatch }, (_, i) => ({ key: `key-${((b * perBatch + i) * 7919) % keySpace}`, value: textValue(b * perBatch + i, 80) }));
    out.push(await recompressBatch(buildBatch({ records, timestampMs: 1_000 }), codec));
  }
  return { batches: out, perBatch };
}

function openLog(config) {
  return PartitionLog.open({ path: join(dir, `log-${fileIndex++}.db`), config });
}

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

async function compactionThroughput() {
  console.log(`\n1. compaction of a ${values.mib} MiB keyed log, steps of ${values['step-kib']} KiB`);
  console.log('codec    log MiB  after MiB  seconds   MB/s (log)  MB/s (records)  steps  step ms p50/p99');
  for (let codec = 0; codec <= 4; codec++) {
    const { batches } = await keyedBatches(64, codec);
    const log = openLog(compactConfig);
    let written = 0;
    for (let i = 0; written < totalBytes; i++) {
      const group = Array.from({ length: 16 }, (_, k) => Buffer.from(batches[(i * 16 + k) % batches.length]));
      log.appendMany(group);
      written += group.reduce((n, b) => n + b.length, 0);
    }
    const before = log.sizeBytes;
    const stepMs = [];
    let recordBytes = 0;
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++) {
      const s0 = performance.now();
      const step = await log.compactStep(1_000_000, stepBytes);
      stepMs.push(performance.now() - s0);
      recordBytes += step.recordBytes;
      if (step.phase === 'idle') break;
    }
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `${codecNames[codec].padEnd(8)} ${(before / 2 ** 20).toFixed(1).padStart(7)}  ${(log.sizeBytes / 2 ** 20).toFixed(1).padStart(9)}  ${seconds.toFixed(2).padStart(7)}  ${(before / 1e6 / seconds).toFixed(1).padStart(11)}  ${(recordBytes / 1e6 / seconds).toFixed(1).padStart(14)}  ${String(stepMs.length).padStart(5)}  ${percentile(stepMs, 50).toFixed(1)}/${percentile(stepMs, 99).toFixed(1)}`,
    );
    log.close();
  }
}

async function appendsDuringCompaction() {
  console.log(`\n2. appends (groups of 16 x 16 KiB, uncompressed) alone and interleaved with compaction steps of ${values['step-kib']} KiB`);
  const { batches, perBatch } = await keyedBatches(64, 0);
  const groups = Math.floor(totalBytes / (16 * batches[0].length));
  const run = async (compacting) => {
    const log = openLog(compactConfig);
    // A dirty backlog to clean, so every step during the measured appends has work.
    if (compacting) for (let i = 0; i < groups; i++) log.appendMany(Array.from({ length: 16 }, (_, k) => Buffer.from(batches[(i + k) % 64])));
    const stepMs = [];
    let appendMs = 0;
    let steps = 0;
    const t0 = performance.now();
    for (let i = 0; i < groups; i++) {
      const a0 = performance.now();
      log.appendMany(Array.from({ length: 16 }, (_, k) => Buffer.from(batches[(i + k) % 64])));
      appendMs += performance.now() - a0;
      if (compacting) {
        const s0 = performance.now();
        const step = await log.compactStep(1_000_000, stepBytes);
        if (step.phase !== 'idle') steps++;
        stepMs.push(performance.now() - s0);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    log.close();
    return { recordsPerSec: (groups * 16 * perBatch) / seconds, appendOnlyPerSec: (groups * 16 * perBatch) / (appendMs / 1000), stepMs, steps };
  };
  const alone = await run(false);
  const mixed = await run(true);
  console.log(`alone:       ${(alone.recordsPerSec / 1e3).toFixed(0)}k records/s`);
  console.log(
    `interleaved: ${(mixed.recordsPerSec / 1e3).toFixed(0)}k records/s overall (${(mixed.appendOnlyPerSec / 1e3).toFixed(0)}k/s counting append time only), ${mixed.steps} working steps, step ms p50 ${percentile(mixed.stepMs, 50).toFixed(1)} p99 ${percentile(mixed.stepMs, 99).toFixed(1)} max ${Math.max(...mixed.stepMs).toFixed(1)}`,
  );
}

async function recompressionCost() {
  console.log('\n3. recompressBatch of a 16 KiB batch of 1 KiB records (text-like values)');
  console.log('codec    to codec MB/s  us/batch  ratio   back to none MB/s  us/batch');
  const records = Array.from({ length: 15 }, (_, i) => ({
    key: `key-${i}`,
    value: Array.from({ length: 180 }, (_, j) => words[(i * 31 + j * 7) % words.length])
      .join(' ')
      .slice(0, 1000),
  }));
  const plain = buildBatch({ records, timestampMs: 1_000 });
  const iterations = 2_000;
  for (let codec = 1; codec <= 4; codec++) {
    let compressed;
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) compressed = await recompressBatch(plain, codec);
    const toMs = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 0; i < iterations; i++) await recompressBatch(compressed, 0);
    const backMs = performance.now() - t1;
    const mb = (plain.length * iterations) / 1e6;
    console.log(
      `${codecNames[codec].padEnd(8)} ${(mb / (toMs / 1000)).toFixed(1).padStart(13)}  ${((toMs * 1000) / iterations).toFixed(1).padStart(8)}  ${(plain.length / compressed.length).toFixed(2).padStart(5)}   ${(mb / (backMs / 1000)).toFixed(1).padStart(17)}  ${((backMs * 1000) / iterations).toFixed(1).padStart(8)}`,
    );
  }
}

try {
  await compactionThroughput();
  await appendsDuringCompaction();
  await recompressionCost();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
