#!/usr/bin/env node
// Produce latency beside a consumer catching up (issue 18, direction 2): single-record acks at
// --rate on one partition, first alone, then while another process reads the same partition's
// backlog (--backlog-mb of 1 KiB records) from the start, over and over. The batch cache is off
// (--fetch-cache-bytes 0) so every read is a read of the SQLite file: on the partition's own
// thread with --fetch-reader-threads 0, on a log reader thread otherwise. --pace-ms makes the
// consumer sleep that long per 1000 records (a consumer that keeps up with less than the
// machine: 8 ms is about 120 MB/s here); 0 reads as fast as it can.
// Prints ack p50/p99/p99.9 and the consumer's rate for each reader setting and repetition.
// Usage: node bench/catch-up.mjs [--readers 0,1] [--reps 2] [--rate 5000] [--seconds 5] [--pace-ms 8] [--backlog-mb 300]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startNodeProcess } from './lib/node-process.mjs';
import { openLoop } from './suite/lib/open-loop.mjs';
import { Admin, Consumer, Producer } from '../dist/src/index.js';

const { values: opt } = parseArgs({
  options: {
    readers: { type: 'string', default: '0,1' },
    reps: { type: 'string', default: '2' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '5' },
    'pace-ms': { type: 'string', default: '8' },
    'backlog-mb': { type: 'string', default: '300' },
    'consumer-child': { type: 'string' },
  },
});

if (opt['consumer-child']) {
  // The consumer, in a process of its own so it does not share the producer's event loop.
  const pace = Number(opt['pace-ms']);
  let consumed = 0;
  const t0 = performance.now();
  process.on('SIGTERM', () => {
    process.stdout.write(JSON.stringify({ consumed, seconds: (performance.now() - t0) / 1000 }));
    process.exit(0);
  });
  for (;;) {
    const consumer = new Consumer({ bootstrapServers: [opt['consumer-child']], autoOffsetReset: 'earliest' });
    await consumer.assign([{ topic: 'backlog', partition: 0 }]);
    let got = 0;
    const want = Number(opt['backlog-mb']) * 1000;
    await new Promise((resolve) => {
      void consumer.run({
        eachBatch: async (b) => {
          got += b.records.length;
          consumed += b.records.length;
          if (got >= want) resolve();
          if (pace > 0) await new Promise((r) => setTimeout(r, (pace * b.records.length) / 1000));
        },
      });
    });
    await consumer.close();
  }
}

async function run(readers, withConsumer) {
  const node = await startNodeProcess({ workers: 2, extraArgs: ['--http-port', '-1', '--fetch-cache-bytes', '0', '--fetch-reader-threads', String(readers)] });
  try {
    const admin = new Admin({ bootstrapServers: [node.bootstrap] });
    await admin.createTopics({ topics: [{ name: 'backlog', numPartitions: 1 }], waitForLeaders: true });
    await admin.close();
    const bulk = new Producer({ bootstrapServers: [node.bootstrap], acks: -1 });
    const big = Buffer.alloc(1024, 120);
    const sends = [];
    for (let k = 0; k < Number(opt['backlog-mb']); k++) {
      sends.push(bulk.send({ topic: 'backlog', messages: Array.from({ length: 1000 }, () => ({ value: big, partition: 0 })) }));
      if (sends.length >= 16) await sends.shift();
    }
    await Promise.all(sends);
    await bulk.close();
    const producer = new Producer({ bootstrapServers: [node.bootstrap], acks: -1, lingerMs: 0 });
    const value = Buffer.alloc(100, 120);
    const send = () => producer.send({ topic: 'backlog', messages: [{ value, partition: 0 }] });
    await openLoop({ rate: 2000, durationMs: 1000, send });
    let child;
    let out = '';
    if (withConsumer) {
      child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--consumer-child', node.bootstrap, '--pace-ms', opt['pace-ms'], '--backlog-mb', opt['backlog-mb']], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      child.stdout.on('data', (d) => (out += d));
      await new Promise((r) => setTimeout(r, 1500));
    }
    const durationMs = Number(opt.seconds) * 1000;
    const r = await openLoop({ rate: Number(opt.rate), durationMs, warmupMs: durationMs / 10, send });
    let rate = '';
    if (child) {
      const exited = new Promise((res) => child.on('exit', res));
      child.kill('SIGTERM');
      await exited;
      const { consumed, seconds } = JSON.parse(out);
      rate = `; consumer ${Math.round(consumed / seconds / 1000)}k rec/s (${Math.round((consumed * 1024) / seconds / 1e6)} MB/s)`;
    }
    await producer.close();
    return `ack p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} p99.9 ${r['p99.9'].toFixed(2)} ms${rate}`;
  } finally {
    await node.stop();
  }
}

console.log(`acks at ${opt.rate}/s beside a consumer catching up on a ${opt['backlog-mb']} MB backlog (pace ${opt['pace-ms']} ms per 1000 records), batch cache off`);
for (let rep = 0; rep < Number(opt.reps); rep++) {
  for (const readers of opt.readers.split(',').map(Number)) {
    if (rep === 0) console.log(`  --fetch-reader-threads ${readers}, alone:          ${await run(readers, false)}`);
    console.log(`  --fetch-reader-threads ${readers}, with consumer:  ${await run(readers, true)}`);
  }
}
