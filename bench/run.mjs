#!/usr/bin/env node
// `npm run bench`: every benchmark, one after another in one run, so their ratios hold on a
// noisy machine. Each prints its own table. Run after `npm run build` (npm ci does it).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benches = ['storage-append.mjs', 'runtime-append.mjs', 'protocol-codec.mjs', 'produce-consume.mjs'];
let failed = 0;
for (const b of benches) {
  console.log(`\n=== bench/${b} ===`);
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(b, import.meta.url)), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
