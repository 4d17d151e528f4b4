#!/usr/bin/env node
// Produce and consume through the Kafka listener of a node started as a child process (fresh data dir):
// 1,000,000 x 100 B and 200,000 x 1 KiB records to one partition, with Brook's thin client
// (16 KiB batches, pipelined Produce v9 acks=1, Fetch v12) and with kafkajs (producer.send of
// 1000-message batches, several in flight). Prints records/s and MB/s per workload.
// Run after `npm run build`: node bench/produce-consume.mjs [--scale 1] [--skip-kafkajs]
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { buildBatch, splitBatches } from '../dist/src/storage/record-batch.js';
import { startNodeProcess } from './lib/node-process.mjs';
import { ThinClient } from './lib/thin-client.mjs';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    'in-flight': { type: 'string', default: '16' },
    workers: { type: 'string', default: '1' },
    'skip-kafkajs': { type: 'boolean', default: false },
  },
});
const scale = Number(values.scale);
const inFlight = Number(values['in-flight']);
const workloads = [
  { name: '100 B', count: Math.round(1_000_000 * scale), size: 100 },
  { name: '1 KiB', count: Math.round(200_000 * scale), size: 1024 },
];

function rate(count, bytes, ms) {
  return { recordsPerSec: Math.round(count / (ms / 1000)), mbPerSec: +(bytes / (ms / 1000) / 1e6).toFixed(1) };
}

async function createTopic(client, topic) {
  await client.request(19, 5, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
}

async function thinProduce(broker, topic, { count, size }) {
  const c = await ThinClient.connect(broker.host, broker.port);
  await createTopic(c, topic);
  const perBatch = Math.max(1, Math.floor(16384 / (size + 12)));
  const value = Buffer.alloc(size, 120);
  let sent = 0;
  let bytes = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (sent < count) {
      const n = Math.min(perBatch, count - sent);
      sent += n;
      // Each batch is built here, as a real client would, so the client's cost is counted.
      const batch = buildBatch({ records: Array.from({ length: n }, () => ({ key: null, value })) });
      bytes += n * size;
      const r = await c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
      const code = r.responses[0].partitionResponses[0].errorCode;
      if (code !== 0) throw new Error(`produce failed with error ${code}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const ms = performance.now() - t0;
  c.close();
  return rate(count, bytes, ms);
}

async function thinConsume(broker, topic, { count, size }) {
  const c = await ThinClient.connect(broker.host, broker.port);
  const meta = await c.request(3, 12, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  const topicId = meta.topics[0].topicId;
  let offset = 0;
  let records = 0;
  const t0 = performance.now();
  while (records < count) {
    const r = await c.request(1, 13, {
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 8 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 8 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const p = r.responses[0].partitions[0];
    if (p.errorCode !== 0) throw new Error(`fetch failed with error ${p.errorCode}`);
    // Headers only: a consumer that hands batches on without decoding each record.
    for (const h of splitBatches(p.records)) {
      records += h.recordCount;
      offset = h.baseOffset + h.lastOffsetDelta + 1;
    }
  }
  const ms = performance.now() - t0;
  c.close();
  return rate(records, records * size, ms);
}

async function kafkajsProduce(broker, topic, { count, size }) {
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const value = Buffer.alloc(size, 120);
  const perSend = 1000;
  let sent = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (sent < count) {
      const n = Math.min(perSend, count - sent);
      sent += n;
      await producer.send({ topic, acks: 1, messages: Array.from({ length: n }, () => ({ value })) });
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
  const ms = performance.now() - t0;
  await producer.disconnect();
  return rate(count, count * size, ms);
}

const broker = await startNodeProcess({ workers: Number(values.workers) });
const rows = [];
try {
  for (const w of workloads) {
    const t = `thin-${w.size}-${Date.now()}`;
    rows.push({ client: 'brook thin', workload: `produce ${w.count} x ${w.name}`, ...(await thinProduce(broker, t, w)) });
    rows.push({ client: 'brook thin', workload: `consume ${w.count} x ${w.name}`, ...(await thinConsume(broker, t, w)) });
    if (!values['skip-kafkajs']) {
      rows.push({ client: 'kafkajs 2.2.4', workload: `produce ${w.count} x ${w.name}`, ...(await kafkajsProduce(broker, `kjs-${w.size}-${Date.now()}`, w)) });
    }
  }
} finally {
  await broker.stop();
}
console.log(`through the Kafka listener, 1 partition, ${values.workers} worker thread(s), thin client ${inFlight} requests in flight`);
console.table(rows);
console.log(`peak RSS of the client process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
console.log("kafkajs consuming (as a group) is measured by bench/clients.mjs beside Brook's client.");
