#!/usr/bin/env node
// A three-node Brook cluster on etcd against one single node (embedded metadata, no
// --metadata-store), in one run, every node a child process with --workers 1 and a fresh data
// dir. Prints:
//   - produce and consume throughput with Brook's own client (dist/src/client): `--records`
//     records of `--size` bytes to a `--partitions`-partition RF=1 topic (spread over the
//     three nodes in the cluster), acks=all, 1000-message send() calls with `--lanes` in
//     flight; then a group consumer reads them back (timed from its first record to the last);
//   - topic creations per second: `--creates` sequential CreateTopics of 1-partition topics
//     (Brook's Admin, each waiting for the leader);
//   - controller failover: `--kills` times, SIGKILL of the controller, then the time until the
//     next CreateTopics (sent to a survivor every 20 ms) succeeds, p50/p99/max; the killed node
//     is restarted (same port and data dir) and rejoins before the next kill. The figure
//     includes the node session timeout (`--session-timeout-ms`, the etcd lease TTL).
// Run after `npm run build` (npm ci does it), with etcd installed (Debian package etcd-server):
//   node bench/cluster.mjs [--records 300000] [--size 100] [--partitions 6] [--lanes 8] [--creates 200] [--kills 20] [--session-timeout-ms 2000]
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Admin, Consumer, Producer } from '../dist/src/index.js';
import { ETCD_MISSING, findEtcd, freePort, startEtcd, startNode } from '../scripts/lib/cluster-processes.mjs';
import { startNodeProcess } from './lib/node-process.mjs';
import { ThinClient } from './lib/thin-client.mjs';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '300000' },
    size: { type: 'string', default: '100' },
    partitions: { type: 'string', default: '6' },
    lanes: { type: 'string', default: '8' },
    creates: { type: 'string', default: '200' },
    kills: { type: 'string', default: '20' },
    'session-timeout-ms': { type: 'string', default: '2000' },
  },
});
const RECORDS = Number(values.records);
const SIZE = Number(values.size);
const PARTITIONS = Number(values.partitions);
const LANES = Number(values.lanes);
const CREATES = Number(values.creates);
const KILLS = Number(values.kills);
const SESSION_TIMEOUT_MS = Number(values['session-timeout-ms']);
const PER_SEND = 1000;
const CONSUME_TIMEOUT_MS = 300_000;
const FAILOVER_TIMEOUT_MS = 120_000;

if (findEtcd() === null) {
  console.error(`bench/cluster.mjs: ${ETCD_MISSING}`);
  process.exit(1);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rate(count, bytes, ms) {
  return { 'records/s': Math.round(count / (ms / 1000)), 'MB/s': +(bytes / (ms / 1000) / 1e6).toFixed(1), 'ms': Math.round(ms) };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function produce(bootstrap, topic) {
  const admin = new Admin({ bootstrapServers: [bootstrap] });
  await admin.createTopics({ topics: [{ name: topic, numPartitions: PARTITIONS, replicationFactor: 1 }] });
  await admin.close();
  const producer = new Producer({ bootstrapServers: [bootstrap], acks: -1 });
  const value = Buffer.alloc(SIZE, 120);
  let sent = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (sent < RECORDS) {
      const n = Math.min(PER_SEND, RECORDS - sent);
      sent += n;
      await producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ key: String(i), value })) });
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  const ms = performance.now() - t0;
  await producer.close();
  return rate(RECORDS, RECORDS * SIZE, ms);
}

async function consume(bootstrap, topic) {
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
  const deadline = Date.now() + CONSUME_TIMEOUT_MS;
  while (n < RECORDS) {
    if (Date.now() > deadline) throw new Error(`consumed ${n} of ${RECORDS} within ${CONSUME_TIMEOUT_MS} ms`);
    await sleep(5);
  }
  const ms = performance.now() - first;
  await consumer.close();
  return rate(n, n * SIZE, ms);
}

async function creations(bootstrap, prefix) {
  const admin = new Admin({ bootstrapServers: [bootstrap] });
  const t0 = performance.now();
  for (let i = 0; i < CREATES; i++) await admin.createTopics({ topics: [{ name: `${prefix}-${i}`, numPartitions: 1, replicationFactor: 1 }] });
  const ms = performance.now() - t0;
  await admin.close();
  return { 'topics/s': +(CREATES / (ms / 1000)).toFixed(1), 'ms': Math.round(ms) };
}

/** Metadata v12 (no topics) from one node, or null when it does not answer. */
async function metadataOf(node) {
  let c;
  try {
    c = await ThinClient.connect('127.0.0.1', node.port);
    return await c.request(3, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, { timeoutMs: 3_000 });
  } catch {
    return null;
  } finally {
    c?.close();
  }
}

async function waitFor(what, timeoutMs, probe) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Waits until every node in `nodes` lists exactly them and a controller among them; returns the controller id. */
async function settled(nodes) {
  const want = nodes
    .map((n) => n.nodeId)
    .sort((a, b) => a - b)
    .join(',');
  let controller = -1;
  for (const n of nodes) {
    await waitFor(`node ${n.nodeId} to list nodes ${want} and a controller`, 60_000, async () => {
      const md = await metadataOf(n);
      if (md === null) return false;
      const ids = md.brokers
        .map((b) => b.nodeId)
        .sort((a, b) => a - b)
        .join(',');
      if (ids !== want || !md.brokers.some((b) => b.nodeId === md.controllerId)) return false;
      controller = md.controllerId;
      return true;
    });
  }
  return controller;
}

/** CreateTopics v5 of `topic` sent to `node`; true once it exists (created now or by an earlier attempt). */
async function tryCreate(node, topic) {
  let c;
  try {
    c = await ThinClient.connect('127.0.0.1', node.port);
    const r = await c.request(
      19,
      5,
      { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 2_000, validateOnly: false },
      { timeoutMs: 5_000 },
    );
    const code = r.topics[0].errorCode;
    return code === 0 || code === 36; // 36: TOPIC_ALREADY_EXISTS, an earlier attempt's answer got lost
  } catch {
    return false;
  } finally {
    c?.close();
  }
}

async function failovers(nodes) {
  const times = [];
  for (let k = 0; k < KILLS; k++) {
    const controllerId = await settled([...nodes.values()]);
    const victim = nodes.get(controllerId);
    const survivors = [...nodes.values()].filter((n) => n !== victim);
    const topic = `failover-${Date.now()}-${k}`;
    await victim.kill9();
    const t0 = performance.now();
    let attempt = 0;
    await waitFor(`CreateTopics after killing controller ${controllerId}`, FAILOVER_TIMEOUT_MS, () => tryCreate(survivors[attempt++ % survivors.length], topic));
    times.push(performance.now() - t0);
    nodes.set(victim.nodeId, await victim.restart());
    process.stderr.write(`failover ${k + 1}/${KILLS}: ${Math.round(times[times.length - 1])} ms\n`);
  }
  await settled([...nodes.values()]);
  const sorted = [...times].sort((a, b) => a - b);
  return { kills: KILLS, 'p50 ms': Math.round(percentile(sorted, 50)), 'p99 ms': Math.round(percentile(sorted, 99)), 'max ms': Math.round(sorted[sorted.length - 1] ?? NaN) };
}

const dir = mkdtempSync(join(tmpdir(), 'brook-bench-cluster-'));
let etcd = null;
const nodes = new Map();
let single = null;
const throughput = [];
const creates = [];
let failover = null;
try {
  etcd = await startEtcd({ dataDir: join(dir, 'etcd'), clientPort: await freePort(), peerPort: await freePort(), logFile: join(dir, 'etcd.log') });
  for (const id of [1, 2, 3]) {
    const spec = {
      nodeId: id,
      metadataStore: etcd.url,
      port: await freePort(),
      httpPort: await freePort(),
      dataDir: join(dir, `node-${id}`),
      workers: 1,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      logFile: join(dir, `node-${id}.log`),
    };
    nodes.set(id, await startNode(spec));
  }
  await settled([...nodes.values()]);
  single = await startNodeProcess({ workers: 1 });

  const targets = [
    { name: 'cluster (3 nodes)', bootstrap: nodes.get(1).bootstrap },
    { name: 'single node', bootstrap: single.bootstrap },
  ];
  for (const t of targets) {
    const topic = `tp-${Date.now()}`;
    throughput.push({ target: t.name, workload: `produce ${RECORDS} x ${SIZE} B`, ...(await produce(t.bootstrap, topic)) });
    throughput.push({ target: t.name, workload: `consume ${RECORDS} x ${SIZE} B`, ...(await consume(t.bootstrap, topic)) });
  }
  for (const t of targets) creates.push({ target: t.name, creates: CREATES, ...(await creations(t.bootstrap, `ct-${Date.now()}`)) });
  if (KILLS > 0) failover = await failovers(nodes);
} catch (err) {
  console.error(err);
  console.error(`node and etcd logs: ${dir}`);
  process.exitCode = 1;
} finally {
  await Promise.all([...nodes.values()].map((n) => n.kill9()));
  await etcd?.stop();
  await single?.stop();
  if (process.exitCode !== 1) rmSync(dir, { recursive: true, force: true });
}

console.log(
  `Brook's client, ${PARTITIONS} partitions (RF=1), acks=all, ${LANES} sends of ${PER_SEND} in flight; every node --workers 1; ${availableParallelism()} cores shared by all nodes, etcd and the client`,
);
console.table(throughput);
console.log(`sequential CreateTopics of 1-partition topics (Admin.createTopics, waiting for the leader)`);
console.table(creates);
if (failover) {
  console.log(`SIGKILL of the controller -> next successful CreateTopics (node session timeout ${SESSION_TIMEOUT_MS} ms)`);
  console.table([failover]);
}
