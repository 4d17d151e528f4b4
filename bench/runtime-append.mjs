#!/usr/bin/env node
// Appends through the actor runtime from the main thread: the path a produce request takes
// after the gateway (main thread -> batched postMessage with transferred buffers -> partition
// actor on a worker -> SQLite group commit -> reply). Prints appends/s, records/s, MB/s and peak
// RSS for 100 B and 1 KiB records in 16 KiB batches, for 1 and 16 partitions.
// Run after `npm run build`: node bench/runtime-append.mjs [--seconds 5] [--in-flight 64]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Supervisor } from '../dist/src/runtime/supervisor.js';
import { buildBatch } from '../dist/src/storage/record-batch.js';
import { PartitionLog } from '../dist/src/storage/partition-log.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    'in-flight': { type: 'string', default: '64' },
    workers: { type: 'string', default: '1' },
    durability: { type: 'string', default: 'normal' },
  },
});
const seconds = Number(values.seconds);
const inFlight = Number(values['in-flight']);

function template(recordBytes) {
  const perBatch = Math.max(1, Math.floor(16384 / (recordBytes + 20)));
  const value = Buffer.alloc(recordBytes, 97);
  return { perBatch, bytes: buildBatch({ records: Array.from({ length: perBatch }, () => ({ key: null, value })) }) };
}

async function run(recordBytes, partitions) {
  const dir = mkdtempSync(join(tmpdir(), 'brook-bench-'));
  const sup = await Supervisor.start({ workers: Number(values.workers), actorKinds: new URL('../dist/actors/index.js', import.meta.url) });
  for (let p = 0; p < partitions; p++) {
    await sup.spawn(`partition:b:${p}`, 'partition', { topic: 'b', partition: p, path: join(dir, `b-${p}.db`), durability: values.durability });
  }
  const { perBatch, bytes } = template(recordBytes);
  // Asks go to an actor's address (its node and actor id), typed by its protocol in TypeScript.
  const addresses = Array.from({ length: partitions }, (_, p) => ({ nodeId: 0, actorId: `partition:b:${p}` }));
  let batches = 0;
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  const lane = async (lane) => {
    let p = lane % partitions;
    while (performance.now() < deadline) {
      const copy = new Uint8Array(bytes); // the gateway copies each partition's records into a fresh buffer too
      await sup.ask(addresses[p], { type: 'Append', records: copy }, { transfer: [copy.buffer] });
      batches++;
      p = (p + 1) % partitions;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, i) => lane(i)));
  const elapsed = (performance.now() - start) / 1000;
  await sup.shutdown();
  rmSync(dir, { recursive: true, force: true });
  const records = batches * perBatch;
  return {
    record: `${recordBytes} B`,
    partitions,
    batchesPerSec: Math.round(batches / elapsed),
    recordsPerSec: Math.round(records / elapsed),
    mbPerSec: +((batches * bytes.length) / elapsed / 1e6).toFixed(1),
  };
}

/** The same appends on the storage directly, group-committed 64 at a time: the runtime's ceiling. */
function direct(recordBytes) {
  const dir = mkdtempSync(join(tmpdir(), 'brook-bench-'));
  const log = PartitionLog.open({ path: join(dir, 'direct.db'), durability: values.durability });
  const { perBatch, bytes } = template(recordBytes);
  let batches = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    log.appendMany(Array.from({ length: 64 }, () => new Uint8Array(bytes)));
    batches += 64;
  }
  const elapsed = (performance.now() - start) / 1000;
  log.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    record: `${recordBytes} B`,
    partitions: 'storage direct',
    batchesPerSec: Math.round(batches / elapsed),
    recordsPerSec: Math.round((batches * perBatch) / elapsed),
    mbPerSec: +((batches * bytes.length) / elapsed / 1e6).toFixed(1),
  };
}

const rows = [];
for (const size of [100, 1024]) {
  // Alternate direct and through-runtime runs so that the ratio holds on a noisy machine.
  const d = direct(size);
  const r1 = await run(size, 1);
  const r16 = await run(size, 16);
  rows.push(d, { ...r1, ofDirect: `${Math.round((100 * r1.mbPerSec) / d.mbPerSec)}%` }, { ...r16, ofDirect: `${Math.round((100 * r16.mbPerSec) / d.mbPerSec)}%` });
}
console.log(`actor runtime append, ${values.workers} worker(s), ${inFlight} in flight, durability ${values.durability}, ${seconds}s each`);
console.table(rows);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
