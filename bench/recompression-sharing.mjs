#!/usr/bin/env node
// What a recompressing topic costs the other partitions of its worker thread: single-record
// produce latency (open loop) to an uncompressed topic, alone and while another topic on the same
// worker thread (--workers 1) recompresses everything it is sent (compression.type different from
// the producer's: the broker decompresses and re-encodes each batch before it appends it).
// A third phase sends the same load to a topic that keeps the producer's compression, so the
// share of the recompression can be told from the share of the load itself.
// Prints p50/p99/p99.9 of the measured topic for each phase and the loaded topic's MB/s.
// Each repetition runs once per --pool-threads value (the node's --cpu-pool-threads: 0 does the
// recompression inline on the partition's thread, as before the CPU pool; 1 on the pool), so the
// two are compared in one run.
// Usage: node bench/recompression-sharing.mjs [--rate 2000] [--seconds 5] [--codec zstd] [--reps 1] [--pool-threads 0,1]
import { parseArgs } from 'node:util';
import { startNodeProcess } from './lib/node-process.mjs';
import { openLoop } from './suite/lib/open-loop.mjs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Admin, Producer } from '../dist/src/index.js';

const { values: opt } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '5' },
    codec: { type: 'string', default: 'zstd' },
    reps: { type: 'string', default: '1' },
    'pool-threads': { type: 'string', default: '0,1' },
  },
});
const rate = Number(opt.rate);
const durationMs = Number(opt.seconds) * 1000;
const loaderPath = fileURLToPath(new URL('./lib/batch-loader.mjs', import.meta.url));

/** Starts bench/lib/batch-loader.mjs against `topic`; stop() ends it and returns the MB/s it sent. */
function backgroundLoad(bootstrap, topic) {
  const child = spawn(process.execPath, [loaderPath, bootstrap, topic], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      const { bytes, seconds } = JSON.parse(out);
      return bytes / 1e6 / seconds;
    },
  };
}

async function measure(producer, topic) {
  const value = Buffer.alloc(100, 120);
  const send = () => producer.send({ topic, messages: [{ value, partition: 0 }] });
  await openLoop({ rate: Math.min(rate, 1000), durationMs: 500, send });
  return openLoop({ rate, durationMs, warmupMs: durationMs / 10, send });
}

const fmt = (r) => `p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, p99.9 ${r['p99.9'].toFixed(2)} ms (${r.count} sends)`;

for (let rep = 0; rep < Number(opt.reps); rep++)
  for (const poolThreads of opt['pool-threads'].split(',')) {
    const node = await startNodeProcess({ workers: 1, extraArgs: ['--http-port', '-1', '--cpu-pool-threads', poolThreads] });
    try {
      const admin = new Admin({ bootstrapServers: [node.bootstrap] });
      await admin.createTopics({
        topics: [
          { name: 'plain', numPartitions: 1 },
          { name: 'recompressed', numPartitions: 1, configs: { 'compression.type': opt.codec } },
          { name: 'as-sent', numPartitions: 1 },
        ],
        waitForLeaders: true,
      });
      await admin.close();
      const measured = new Producer({ bootstrapServers: [node.bootstrap], acks: -1, lingerMs: 0 });
      const alone = await measure(measured, 'plain');
      console.log(`rep ${rep} pool threads ${poolThreads} alone:                         ${fmt(alone)}`);
      for (const [label, topic] of [
        [`beside ${opt.codec} recompression:`, 'recompressed'],
        ['beside the same load as sent: ', 'as-sent'],
      ]) {
        const load = backgroundLoad(node.bootstrap, topic);
        const shared = await measure(measured, 'plain');
        const mbps = await load.stop();
        console.log(`rep ${rep} pool threads ${poolThreads} ${label}  ${fmt(shared)}; loaded topic ${mbps.toFixed(1)} MB/s`);
      }
      await measured.close();
    } finally {
      await node.stop();
    }
  }
