#!/usr/bin/env node
// Consume throughput of Kafka clients against one Brook node (a child process, fresh data dir,
// one worker per core), in one run so their ratios hold on a noisy machine: Brook's client
// (src/client) counting records only and reading every record's value, the thin client of
// bench/lib (batch headers only: the floor of what a client costs), kafkajs and
// @platformatic/kafka (skipped if not installed). Each topic is produced once with Brook's
// producer; then every repetition consumes it with each client in turn, the order rotating so no
// client always runs first. Every client fetches up to 8 MiB per partition (1 partition) or
// 1 MiB (16 partitions), as bench/suite does. Rates run from the first record to the last, so
// connecting and group joins are not counted. Prints median [min-max] records/s and MB/s.
// Run after `npm run build`:
//   node bench/consume-clients.mjs [--reps 5] [--scale 1] [--clients brook,brook-values,thin,kafkajs,platformatic]
//        [--workloads 100x1,1024x1,100x16]
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Admin, Consumer, Producer } from '../dist/src/index.js';
import { splitBatches } from '../dist/src/storage/record-batch.js';
import { startNodeProcess } from './lib/node-process.mjs';
import { ThinClient } from './lib/thin-client.mjs';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    scale: { type: 'string', default: '1' },
    clients: { type: 'string', default: 'brook,brook-values,thin,kafkajs,platformatic' },
    workloads: { type: 'string', default: '100x1,1024x1,100x16' },
  },
});
const reps = Number(values.reps);
const scale = Number(values.scale);
const TIMEOUT_MS = 120_000;

const workloads = values.workloads.split(',').map((w) => {
  const [size, partitions] = w.split('x').map(Number);
  const count = Math.round((size <= 100 ? 1_000_000 : 200_000) * scale);
  return { size, partitions, count, partitionMaxBytes: partitions === 1 ? 8 << 20 : 1 << 20, label: `${size} B x${partitions}` };
});

/**
 * Resolves with { ms, cpuMs }: the time from the first record to the `count`th, and the CPU time
 * this process (the client) spent meanwhile. `start(onRecords)` begins consuming and returns a
 * stop function.
 */
async function timed(count, start) {
  let n = 0;
  let first = 0;
  let cpu0 = null;
  let cpuMs = 0;
  let done;
  const all = new Promise((resolve, reject) => {
    done = resolve;
    setTimeout(() => reject(new Error(`consumed ${n} of ${count} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS).unref();
  });
  const stop = await start((k) => {
    if (n === 0) {
      first = performance.now();
      cpu0 = process.cpuUsage();
    }
    n += k;
    if (n >= count && cpuMs === 0) {
      const c = process.cpuUsage(cpu0);
      cpuMs = (c.user + c.system) / 1000;
      done(performance.now());
    }
  });
  try {
    return { ms: (await all) - first, cpuMs };
  } finally {
    await stop();
  }
}

const brookConsume =
  (readValues) =>
  async ({ bootstrap }, w, topic) => {
    const consumer = new Consumer({ bootstrapServers: [bootstrap], autoOffsetReset: 'earliest', fetchPartitionMaxBytes: w.partitionMaxBytes });
    await consumer.assign(Array.from({ length: w.partitions }, (_, partition) => ({ topic, partition })));
    let bytes = 0;
    const r = await timed(w.count, async (on) => {
      await consumer.run({
        eachBatch: ({ records }) => {
          if (readValues) for (const r of records) bytes += r.value.length;
          on(records.length);
        },
      });
      return () => consumer.close();
    });
    if (readValues && bytes < w.count * w.size) throw new Error(`read ${bytes} value bytes of ${w.count * w.size}`);
    return r;
  };

const clients = {
  brook: { label: "Brook's client, records counted", consume: brookConsume(false) },
  'brook-values': { label: "Brook's client, every value read", consume: brookConsume(true) },
  thin: {
    label: 'thin client (batch headers only)',
    async consume({ host, port }, w, topic) {
      const c = await ThinClient.connect(host, port);
      const meta = await c.request(3, 12, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      const topicId = meta.topics[0].topicId;
      const offsets = new Array(w.partitions).fill(0);
      let stopped = false;
      return timed(w.count, async (on) => {
        const loop = (async () => {
          while (!stopped) {
            const r = await c.request(1, 13, {
              replicaId: -1,
              maxWaitMs: 100,
              minBytes: 1,
              maxBytes: 64 << 20,
              isolationLevel: 0,
              sessionId: 0,
              sessionEpoch: -1,
              topics: [
                {
                  topicId,
                  partitions: offsets.map((fetchOffset, partition) => ({
                    partition,
                    currentLeaderEpoch: -1,
                    fetchOffset,
                    lastFetchedEpoch: -1,
                    logStartOffset: -1,
                    partitionMaxBytes: w.partitionMaxBytes,
                  })),
                },
              ],
              forgottenTopicsData: [],
              rackId: '',
            });
            for (const p of r.responses[0].partitions) {
              if (!p.records?.length) continue;
              for (const h of splitBatches(p.records)) {
                offsets[p.partitionIndex] = h.baseOffset + h.lastOffsetDelta + 1;
                on(h.lastOffsetDelta + 1);
              }
            }
          }
        })();
        return async () => {
          stopped = true;
          await loop.catch(() => undefined);
          c.close();
        };
      });
    },
  },
  kafkajs: {
    label: 'kafkajs 2.2.4',
    async consume({ bootstrap }, w, topic) {
      const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
      const consumer = kafka.consumer({ groupId: `kafkajs-${topic}-${Date.now()}`, maxBytesPerPartition: w.partitionMaxBytes, maxBytes: 64 << 20 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      return timed(w.count, async (on) => {
        await consumer.run({ eachBatch: async ({ batch }) => on(batch.messages.length) });
        return () => consumer.disconnect();
      });
    },
  },
  platformatic: {
    label: '@platformatic/kafka 1.22',
    async consume({ bootstrap }, w, topic, pk) {
      const consumer = new pk.Consumer({ clientId: 'bench', groupId: `platformatic-${topic}-${Date.now()}`, bootstrapBrokers: [bootstrap], maxBytes: w.partitionMaxBytes });
      const stream = await consumer.consume({ topics: [topic], mode: pk.MessagesStreamModes.EARLIEST, autocommit: false });
      return timed(w.count, async (on) => {
        stream.on('data', () => on(1));
        return async () => {
          await stream.close();
          await consumer.close(true);
        };
      });
    },
  },
};

async function produce(bootstrap, topic, w) {
  const admin = new Admin({ bootstrapServers: [bootstrap] });
  await admin.createTopics({ topics: [{ name: topic, numPartitions: w.partitions }], waitForLeaders: true });
  await admin.close();
  const producer = new Producer({ bootstrapServers: [bootstrap] });
  const value = Buffer.alloc(w.size, 120);
  let next = 0;
  const sends = Math.ceil(w.count / 1000);
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < sends) {
        const k = next++;
        const n = Math.min(1000, w.count - k * 1000);
        await producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ value, partition: (k * 1000 + i) % w.partitions })) });
      }
    }),
  );
  await producer.close();
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${Math.round(n / 1e3)}k`);

const active = [];
for (const name of values.clients.split(',')) {
  const c = clients[name];
  if (c === undefined) throw new Error(`unknown client ${name}`);
  let mod = null;
  if (name === 'platformatic') {
    mod = await import('@platformatic/kafka').catch(() => null);
    if (mod === null) {
      console.log(`${c.label}: not installed, skipped`);
      continue;
    }
  }
  active.push({ name, ...c, mod });
}

const node = await startNodeProcess({ workers: availableParallelism() });
const results = new Map();
try {
  console.log(`consume-clients: ${reps} repetition(s), node pid ${node.pid}`);
  for (const w of workloads) {
    const topic = `consume-${w.size}-${w.partitions}`;
    await produce(node.bootstrap, topic, w);
    for (let rep = 0; rep < reps; rep++) {
      for (let k = 0; k < active.length; k++) {
        const c = active[(k + rep) % active.length];
        const { ms, cpuMs } = await c.consume(node, w, topic, c.mod);
        const key = `${w.label}|${c.name}`;
        if (!results.has(key)) results.set(key, { ms: [], cpuMs: [] });
        results.get(key).ms.push(ms);
        results.get(key).cpuMs.push(cpuMs);
        console.log(
          `  ${w.label.padEnd(10)} ${c.label.padEnd(34)} ${fmt((w.count / ms) * 1000).padStart(6)} rec/s (${Math.round(ms)} ms), client CPU ${((cpuMs * 1e6) / w.count).toFixed(0)} ns/record`,
        );
      }
    }
  }
} finally {
  await node.stop();
}

console.log(`\nrecords/s (median [min-max]) and the client process's CPU time per record (median)`);
console.log(`\n| workload | ${active.map((c) => c.label).join(' | ')} |\n|---|${active.map(() => '---|').join('')}`);
for (const w of workloads) {
  const cells = active.map((c) => {
    const r = results.get(`${w.label}|${c.name}`);
    const rates = r.ms.map((m) => (w.count / m) * 1000);
    return `${fmt(median(rates))} [${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))}], ${((median(r.cpuMs) * 1e6) / w.count).toFixed(0)} ns/rec`;
  });
  console.log(`| ${w.count.toLocaleString('en')} × ${w.label} | ${cells.join(' | ')} |`);
}
const brookRow = active.find((c) => c.name === 'brook');
if (brookRow)
  for (const w of workloads)
    for (const c of active.filter((x) => x !== brookRow)) {
      const rate = (name) => median(results.get(`${w.label}|${name}`).ms.map((m) => w.count / m));
      console.log(`${w.label}: Brook's client (counted) / ${c.label} = ${(rate('brook') / rate(c.name)).toFixed(2)}x records/s`);
    }
