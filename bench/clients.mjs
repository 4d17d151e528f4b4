#!/usr/bin/env node
// Client throughput, in one run against the same Brook node (a child process, fresh data dir):
// produce then consume 1,000,000 x 100 B and 200,000 x 1 KiB records with Brook's client,
// kafkajs 2.2.4 and @platformatic/kafka 1.22 (skipped if it is not installed). Each client writes
// its own one-partition topic with acks=all, in 1000-message send() calls with 8 in flight, using
// its own defaults otherwise; then a group consumer of the same client reads the topic back.
// Consume rates run from the first record to the last, so group join time is not counted.
// Prints a table of records/s and MB/s. Run after `npm run build`:
// With --repeat N each measurement runs N times (a fresh topic each time) and the median is shown,
// which steadies the numbers on a shared two-core machine.
//   node bench/clients.mjs [--scale 1] [--repeat 1] [--clients brook,kafkajs,platformatic]
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Admin, Consumer, Producer } from '../dist/src/index.js';
import { startNodeProcess } from './lib/node-process.mjs';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    clients: { type: 'string', default: 'brook,kafkajs,platformatic' },
    lanes: { type: 'string', default: '8' },
    repeat: { type: 'string', default: '1' },
  },
});
const repeat = Number(values.repeat);
const scale = Number(values.scale);
const lanes = Number(values.lanes);
const perSend = 1000;
const workloads = [
  { name: '100 B', count: Math.round(1_000_000 * scale), size: 100 },
  { name: '1 KiB', count: Math.round(200_000 * scale), size: 1024 },
];
const CONSUME_TIMEOUT_MS = 300_000;

function rate(count, bytes, ms) {
  return { 'records/s': Math.round(count / (ms / 1000)), 'MB/s': +(bytes / (ms / 1000) / 1e6).toFixed(1), 'ms': Math.round(ms) };
}

/** Sends `count` records in `perSend`-message calls with `lanes` calls in flight. */
async function lanesOf(count, send) {
  let sent = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (sent < count) {
      const n = Math.min(perSend, count - sent);
      sent += n;
      await send(n);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return performance.now() - t0;
}

/** Waits until `received()` reaches count; returns ms from the first record to the last. */
async function consumeTimed(count, received, firstAt) {
  const deadline = Date.now() + CONSUME_TIMEOUT_MS;
  while (received() < count) {
    if (Date.now() > deadline) throw new Error(`consumed ${received()} of ${count} within ${CONSUME_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - firstAt();
}

const clients = {
  brook: {
    label: 'brook',
    async produce(bootstrap, topic, { count, size }) {
      const admin = new Admin({ bootstrapServers: [bootstrap] });
      await admin.createTopics({ topics: [{ name: topic, numPartitions: 1 }] });
      await admin.close();
      const producer = new Producer({ bootstrapServers: [bootstrap], acks: -1 });
      const value = Buffer.alloc(size, 120);
      const ms = await lanesOf(count, (n) => producer.send({ topic, messages: Array.from({ length: n }, () => ({ value })) }));
      await producer.close();
      return ms;
    },
    async consume(bootstrap, topic, { count }) {
      const consumer = new Consumer({ bootstrapServers: [bootstrap], groupId: `g-${topic}` });
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      let n = 0;
      let first = 0;
      await consumer.run({
        eachBatch: ({ records }) => {
          if (n === 0) first = performance.now();
          n += records.length;
        },
      });
      const ms = await consumeTimed(
        count,
        () => n,
        () => first,
      );
      await consumer.close();
      return ms;
    },
  },
  kafkajs: {
    label: 'kafkajs 2.2.4',
    async produce(bootstrap, topic, { count, size }) {
      const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      await admin.disconnect();
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const value = Buffer.alloc(size, 120);
      const ms = await lanesOf(count, (n) => producer.send({ topic, acks: -1, messages: Array.from({ length: n }, () => ({ value })) }));
      await producer.disconnect();
      return ms;
    },
    async consume(bootstrap, topic, { count }) {
      const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
      const consumer = kafka.consumer({ groupId: `g-${topic}` });
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      let n = 0;
      let first = 0;
      await consumer.run({
        eachBatch: async ({ batch }) => {
          if (n === 0) first = performance.now();
          n += batch.messages.length;
        },
      });
      const ms = await consumeTimed(
        count,
        () => n,
        () => first,
      );
      await consumer.disconnect();
      return ms;
    },
  },
  platformatic: {
    label: '@platformatic/kafka 1.22',
    async load() {
      try {
        return await import('@platformatic/kafka');
      } catch {
        return null;
      }
    },
    async produce(bootstrap, topic, { count, size }, pk) {
      const admin = new pk.Admin({ clientId: 'bench', bootstrapBrokers: [bootstrap] });
      await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
      await admin.close();
      const producer = new pk.Producer({ clientId: 'bench', bootstrapBrokers: [bootstrap], acks: -1, autocreateTopics: false });
      const value = Buffer.alloc(size, 120);
      const ms = await lanesOf(count, (n) => producer.send({ messages: Array.from({ length: n }, () => ({ topic, value })) }));
      await producer.close();
      return ms;
    },
    async consume(bootstrap, topic, { count }, pk) {
      const consumer = new pk.Consumer({ clientId: 'bench', groupId: `g-${topic}`, bootstrapBrokers: [bootstrap] });
      const stream = await consumer.consume({ topics: [topic], mode: pk.MessagesStreamModes.EARLIEST, autocommit: true });
      let n = 0;
      let first = 0;
      stream.on('data', () => {
        if (n === 0) first = performance.now();
        n++;
      });
      const ms = await consumeTimed(
        count,
        () => n,
        () => first,
      );
      await stream.close();
      await consumer.close(true);
      return ms;
    },
  },
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const broker = await startNodeProcess({ workers: 1 });
const rows = [];
try {
  for (const name of values.clients.split(',')) {
    const c = clients[name];
    if (c === undefined) throw new Error(`unknown client ${name}`);
    const mod = c.load ? await c.load() : null;
    if (c.load && mod === null) {
      console.error(`${c.label}: not installed, skipped`);
      continue;
    }
    for (const w of workloads) {
      const produced = [];
      const consumed = [];
      for (let i = 0; i < repeat; i++) {
        const topic = `bench-${name}-${w.size}-${Date.now()}-${i}`;
        produced.push(await c.produce(broker.bootstrap, topic, w, mod));
        consumed.push(await c.consume(broker.bootstrap, topic, w, mod));
        console.error(`${c.label} ${w.name} run ${i + 1}: produce ${Math.round(produced.at(-1))} ms, consume ${Math.round(consumed.at(-1))} ms`);
      }
      rows.push({ client: c.label, workload: `produce ${w.count} x ${w.name}`, ...rate(w.count, w.count * w.size, median(produced)) });
      rows.push({ client: c.label, workload: `consume ${w.count} x ${w.name}`, ...rate(w.count, w.count * w.size, median(consumed)) });
    }
  }
} finally {
  await broker.stop();
}
console.table(rows);
// Ratios of Brook's client to kafkajs on each workload.
for (const row of rows.filter((r) => r.client === 'brook')) {
  const k = rows.find((r) => r.client === 'kafkajs 2.2.4' && r.workload === row.workload);
  if (k) console.log(`${row.workload}: brook / kafkajs = ${(row['records/s'] / k['records/s']).toFixed(2)}x`);
}
