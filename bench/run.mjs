#!/usr/bin/env node
// `npm run bench`: the benchmark suite (bench/suite): Brook against Redis Streams, NATS
// JetStream and the plumbing ceiling, in one run, so their ratios hold on a noisy machine.
// It writes bench/results/<time>.md and .svg. Flags go to the suite (--quick for a small run).
// `npm run bench -- --micro` runs the per-layer micro-benchmarks instead (storage, runtime,
// codec, produce/consume through the listener with kafkajs), each printing its own table.
// Run after `npm run build` (npm ci does it).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const micro = args.includes('--micro');
const rest = args.filter((a) => a !== '--micro');
const benches = micro
  ? ['storage-append.mjs', 'runtime-append.mjs', 'protocol-codec.mjs', 'produce-consume.mjs', 'clients.mjs', 'groups.mjs', 'lifecycle.mjs', 'ack-latency.mjs']
  : ['suite/index.mjs'];
let failed = 0;
for (const b of benches) {
  console.log(`\n=== bench/${b} ===`);
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(b, import.meta.url)), ...rest], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
