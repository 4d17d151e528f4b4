#!/usr/bin/env node
// Single-record produce acknowledgement latency, open loop, against a Brook node started as a
// child process — the suite's "ack" workload on its own, with what explains its tail: the CPU
// each thread of the broker and of this client used during the run (from /proc), and the
// broker's own Produce latency histogram (its /metrics), so the broker's share of the tail can be
// told from the client's and the scheduler's.
// Usage: node bench/ack-latency.mjs [--rate 20000] [--seconds 5] [--client own|thin] [--workers N]
//        [--reps N] [--size 100] [--preload] [--no-metrics] [--node-args="--trace-gc ..."] [--node-stdout FILE]
// --preload first writes and reads 1M x 100 B and 200k x 1 KiB on other topics, as the suite does
// before its latency rows. --no-metrics starts the node without its HTTP port (no histogram); --node-args passes V8/Node
// flags to the node (--cpu-prof, --trace-gc); --node-stdout keeps its output (logs, GC traces).
import { parseArgs } from 'node:util';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { startNodeProcess } from './lib/node-process.mjs';
import { ThinClient } from './lib/thin-client.mjs';
import { openLoop } from './suite/lib/open-loop.mjs';
import { buildBatch } from '../dist/src/storage/record-batch.js';
import { Producer, Consumer, Admin } from '../dist/src/index.js';

const { values: opt } = parseArgs({
  options: {
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '5' },
    client: { type: 'string', default: 'own' },
    workers: { type: 'string', default: '2' },
    reps: { type: 'string', default: '1' },
    size: { type: 'string', default: '100' },
    'no-metrics': { type: 'boolean', default: false },
    'node-args': { type: 'string', default: '' },
    'node-stdout': { type: 'string' },
    preload: { type: 'boolean', default: false },
  },
});
const rate = Number(opt.rate);
const durationMs = Number(opt.seconds) * 1000;
const size = Number(opt.size);
if (!['own', 'thin'].includes(opt.client)) throw new Error(`--client must be own or thin, got ${opt.client}`);

const TICK = 100; // USER_HZ: clock ticks per second in /proc/<pid>/task/<tid>/stat on Linux
/** CPU ticks per thread of a process: Map<tid, { name, ticks }>. */
function threadTicks(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { name, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      /* thread exited */
    }
  }
  return out;
}
function cpuReport(before, after, seconds) {
  const rows = [];
  for (const [tid, a] of after) {
    const d = a.ticks - (before.get(tid)?.ticks ?? 0);
    if (d > 0) rows.push(`${a.name}#${tid} ${((d / TICK / seconds) * 100).toFixed(0)}%`);
  }
  return rows.join(', ');
}

/** Cumulative Produce latency buckets from the node's /metrics: [[le seconds, count], ...]. */
async function produceBuckets(node) {
  const text = await (await fetch(`http://127.0.0.1:${node.httpPort}/metrics`)).text();
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^brook_kafka_request_latency_seconds_bucket\{(.*)\} (\d+)/.exec(line);
    if (m && m[1].includes('api="Produce"')) out.push([/le="([^"]+)"/.exec(m[1])[1], Number(m[2])]);
  }
  return out;
}
function bucketReport(before, after) {
  const total = after.at(-1)[1] - before.at(-1)[1];
  return (
    after
      .filter(([le]) => Number(le) <= 0.025)
      .map(([le, n], i) => `≤${Number(le) * 1000} ms ${(((n - before[i][1]) / total) * 100).toFixed(2)}%`)
      .join(', ') + ` (${total} requests)`
  );
}

async function preload(node) {
  const admin = new Admin({ bootstrapServers: [node.bootstrap] });
  await admin.createTopics({
    topics: [
      { name: 'preload-100', numPartitions: 1 },
      { name: 'preload-1k', numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  await admin.close();
  const producer = new Producer({ bootstrapServers: [node.bootstrap] });
  for (const [topic, count, size] of [
    ['preload-100', 1_000_000, 100],
    ['preload-1k', 200_000, 1024],
  ]) {
    const value = Buffer.alloc(size, 120);
    const sends = [];
    for (let k = 0; k < count / 1000; k++) {
      sends.push(producer.send({ topic, messages: Array.from({ length: 1000 }, () => ({ value, partition: 0 })) }));
      if (sends.length >= 32) await sends.shift();
    }
    await Promise.all(sends);
    const consumer = new Consumer({ bootstrapServers: [node.bootstrap], autoOffsetReset: 'earliest' });
    await consumer.assign([{ topic, partition: 0 }]);
    let got = 0;
    await new Promise((resolve) => {
      void consumer.run({
        eachBatch: (b) => {
          got += b.records.length;
          if (got >= count) resolve();
        },
      });
    });
    await consumer.close();
  }
  await producer.close();
}

for (let rep = 0; rep < Number(opt.reps); rep++) {
  const node = await startNodeProcess({
    workers: Number(opt.workers),
    extraArgs: opt['no-metrics'] ? ['--http-port', '-1'] : ['--http-port', '0'],
    execArgv: opt['node-args'].split(' ').filter(Boolean),
    stdoutTo: opt['node-stdout'] ? createWriteStream(opt['node-stdout'], { flags: 'a' }) : undefined,
  });
  const topic = `ack-${rep}`;
  if (opt.preload) await preload(node);
  let send, close;
  if (opt.client === 'own') {
    const admin = new Admin({ bootstrapServers: [node.bootstrap] });
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.close();
    const producer = new Producer({ bootstrapServers: [node.bootstrap], acks: -1, lingerMs: 0 });
    const value = Buffer.alloc(size, 120);
    send = () => producer.send({ topic, messages: [{ value, partition: 0 }] });
    close = () => producer.close();
  } else {
    const c = await ThinClient.connect(node.host, node.port);
    const r = await c.request(19, 5, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
    if (r.topics[0].errorCode) throw new Error(`CreateTopics: ${r.topics[0].errorCode}`);
    const value = Buffer.alloc(size, 120);
    send = async () => {
      const res = await c.request(0, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: buildBatch({ records: [{ key: null, value }] }) }] }],
      });
      const code = res.responses[0].partitionResponses[0].errorCode;
      if (code) throw new Error(`Produce: ${code}`);
    };
    close = () => c.close();
  }
  // Warm up the path (JIT, SQLite pages) before measuring.
  await openLoop({ rate: Math.min(rate, 5000), durationMs: 1000, send });
  const hb = node.httpPort > 0 ? await produceBuckets(node) : null;
  const b = threadTicks(node.pid);
  const s = threadTicks(process.pid);
  const t0 = performance.now();
  const r = await openLoop({ rate, durationMs, warmupMs: durationMs / 10, send });
  const secs = (performance.now() - t0) / 1000;
  const a = threadTicks(node.pid);
  const sa = threadTicks(process.pid);
  const ha = hb ? await produceBuckets(node) : null;
  console.log(
    `rate ${rate}/s client ${opt.client} workers ${opt.workers}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, p99.9 ${r['p99.9'].toFixed(2)} ms (${r.count} sends, achieved ${Math.round(r.achievedRate)}/s)`,
  );
  console.log(`  broker CPU: ${cpuReport(b, a, secs)}`);
  console.log(`  client CPU: ${cpuReport(s, sa, secs)}`);
  if (hb) console.log(`  broker Produce latency (its /metrics): ${bucketReport(hb, ha)}`);
  await close();
  await node.stop();
}
