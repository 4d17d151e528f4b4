// The plumbing ceiling (bench/suite/ceiling): TCP -> main thread -> transferred ArrayBuffer ->
// worker -> SQLite, one row per batch, group commit. Same batches and client-side work as Brook's
// driver, no broker logic.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBatch, splitBatches } from '../../../dist/src/storage/record-batch.js';
import { startProcess } from '../lib/proc.mjs';
import { CeilingClient } from '../ceiling/client.mjs';
import { batchPlan, lanes, perBatch } from './common.mjs';

const IN_FLIGHT = 16;
const serverPath = fileURLToPath(new URL('../ceiling/server.mjs', import.meta.url));

export function ceilingSystem({ workers = availableParallelism() } = {}) {
  let proc, dir, port;
  // Each topic gets its own range of partition numbers on the server.
  let nextBase = 0;
  const topics = new Map();
  const base = (topic, partitions) => {
    if (!topics.has(topic)) {
      topics.set(topic, nextBase);
      nextBase += partitions;
    }
    return topics.get(topic);
  };
  async function consumeLoop(c, b, offsets, want, onRecords, maxBytes, maxWait, stop) {
    let got = 0;
    while (got < want && !stop?.()) {
      const parts = await Promise.all(offsets.map((o, p) => c.fetch(b + p, o, maxBytes, maxWait)));
      for (let p = 0; p < parts.length; p++) {
        if (!parts[p].records.length) continue;
        for (const h of splitBatches(parts[p].records)) {
          const n = h.lastOffsetDelta + 1;
          got += n;
          offsets[p] = h.baseOffset + n;
          onRecords?.(n);
        }
      }
    }
    return got;
  }
  return {
    system: 'Plumbing ceiling',
    async start() {
      dir = mkdtempSync(join(tmpdir(), 'brook-ceiling-'));
      proc = await startProcess(process.execPath, [serverPath, '--data-dir', dir, '--workers', String(workers)], { ready: /listening (\d+)/, name: 'ceiling server' });
      port = Number(/listening (\d+)/.exec(proc.output())[1]);
      return { pid: proc.pid };
    },
    async stop() {
      await proc?.stop();
      rmSync(dir, { recursive: true, force: true });
      proc = undefined;
    },
    clients: [
      {
        client: 'prototype client',
        async produce({ topic, partitions, count, size }) {
          const c = await CeilingClient.connect('127.0.0.1', port);
          const b = base(topic, partitions);
          const value = Buffer.alloc(size, 120);
          const per = perBatch(size);
          const plan = batchPlan(count, partitions, per);
          const t0 = performance.now();
          await lanes(IN_FLIGHT, plan.length, async (i) => {
            const { p, n } = plan[i];
            await c.produce(b + p, buildBatch({ records: Array.from({ length: n }, () => ({ key: null, value })) }));
          });
          const ms = performance.now() - t0;
          c.close();
          return { ms, records: count };
        },
        async consume({ topic, partitions, count }) {
          const c = await CeilingClient.connect('127.0.0.1', port);
          const b = base(topic, partitions);
          const t0 = performance.now();
          const got = await consumeLoop(c, b, new Array(partitions).fill(0), count, null, partitions === 1 ? 8 << 20 : 1 << 20, 0);
          const ms = performance.now() - t0;
          c.close();
          return { ms, records: got };
        },
        async ackSetup({ topic, size }) {
          const c = await CeilingClient.connect('127.0.0.1', port);
          const b = base(topic, 1);
          const value = Buffer.alloc(size, 120);
          return { send: () => c.produce(b, buildBatch({ records: [{ key: null, value }] })), close: () => c.close() };
        },
        async e2eConsumer({ topic }, onRecords) {
          const c = await CeilingClient.connect('127.0.0.1', port);
          const b = base(topic, 1);
          let stopped = false;
          const done = consumeLoop(c, b, [0], Infinity, onRecords, 1 << 20, 200, () => stopped);
          return {
            async stop() {
              stopped = true;
              await done;
              c.close();
            },
          };
        },
      },
    ],
  };
}
