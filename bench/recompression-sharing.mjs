#!/usr/bin/env node
// What a recompressing topic costs the other partitions of its worker thread: single-record
// produce latency (open loop) to an uncompressed topic, alone and while another topic on the same
// worker thread (--workers 1) recompresses everything it is sent (compression.type different from
// the producer's: the broker decompresses and re-encodes each batch before it appends it).
// Prints p50/p99/p99.9 of the measured topic for each phase and the recompressing topic's MB/s.
// Usage: node bench/recompression-sharing.mjs [--rate 2000] [--seconds 5] [--codec zstd] [--reps 1]
import { parseArgs } from 'node:util';
import { startNodeProcess } from './lib/node-process.mjs';
import { openLoop } from './suite/lib/open-loop.mjs';
import { Admin, Producer } from '../dist/src/index.js';

const { values: opt } = parseArgs({ options: {
  rate: { type: 'string', default: '2000' },
  seconds: { type: 'string', default: '5' },
  codec: { type: 'string', default: 'zstd' },
  reps: { type: 'string', default: '1' },
} });
const rate = Number(opt.rate);
const durationMs = Number(opt.seconds) * 1000;

/** Records of 1 KiB that compress like JSON events do (repeated field names, varying values). */
function eventValue(i) {
  const body = JSON.stringify({ id: i, kind: 'order-placed', customer: `c-${i % 977}`, amount: (i * 7919) % 100_000, items: [`sku-${i % 31}`, `sku-${i % 17}`] });
  return Buffer.from(body.padEnd(1024, ' '));
}

/** Sends 1000-record uncompressed batches to `topic` with 4 in flight until stopped; returns bytes sent. */
function backgroundLoad(producer, topic) {
  let stopped = false;
  let bytes = 0;
  const messages = Array.from({ length: 1000 }, (_, i) => ({ value: eventValue(i), partition: 0 }));
  const perBatch = messages.reduce((n, m) => n + m.value.length, 0);
  const loops = Array.from({ length: 4 }, async () => {
    while (!stopped) {
      await producer.send({ topic, messages });
      bytes += perBatch;
    }
  });
  return { stop: async () => { stopped = true; await Promise.all(loops); return bytes; } };
}

async function measure(producer, topic) {
  const value = Buffer.alloc(100, 120);
  const send = () => producer.send({ topic, messages: [{ value, partition: 0 }] });
  await openLoop({ rate: Math.min(rate, 1000), durationMs: 500, send });
  return openLoop({ rate, durationMs, warmupMs: durationMs / 10, send });
}

const fmt = (r) => `p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, p99.9 ${r['p99.9'].toFixed(2)} ms (${r.count} sends)`;

for (let rep = 0; rep < Number(opt.reps); rep++) {
  const node = await startNodeProcess({ workers: 1, extraArgs: ['--http-port', '-1'] });
  try {
    const admin = new Admin({ bootstrapServers: [node.bootstrap] });
    await admin.createTopics({ topics: [
      { name: 'plain', numPartitions: 1 },
      { name: 'recompressed', numPartitions: 1, configs: { 'compression.type': opt.codec } },
    ], waitForLeaders: true });
    await admin.close();
    const measured = new Producer({ bootstrapServers: [node.bootstrap], acks: -1, lingerMs: 0 });
    const loader = new Producer({ bootstrapServers: [node.bootstrap], acks: -1, lingerMs: 0, compression: 'none' });
    const alone = await measure(measured, 'plain');
    console.log(`rep ${rep} alone:                         ${fmt(alone)}`);
    const load = backgroundLoad(loader, 'recompressed');
    const t0 = performance.now();
    const shared = await measure(measured, 'plain');
    const bytes = await load.stop();
    const mbps = bytes / 1e6 / ((performance.now() - t0) / 1000);
    console.log(`rep ${rep} beside ${opt.codec} recompression:  ${fmt(shared)}; recompressed ${mbps.toFixed(1)} MB/s`);
    await measured.close();
    await loader.close();
  } finally {
    await node.stop();
  }
}
