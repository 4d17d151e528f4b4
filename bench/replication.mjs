#!/usr/bin/env node
// Replication on a three-node Brook cluster on etcd (issue 16's benchmark), in one run, every
// node a child process with --workers 1, a fresh data dir and node session timeout
// `--session-timeout-ms`. Prints:
//   1. produce throughput with Brook's own client (dist/src/client, its default batching):
//      `--records` records of `--size` bytes, keyed, to a `--partitions`-partition topic, 1000-message
//      send() calls with `--lanes` in flight, for (a) replication factor 3, min.insync.replicas=2,
//      acks=all (idempotent, the client's default) and (b) replication factor 1, acks=1 (not
//      idempotent: idempotence needs acks=all);
//   2. single-record ack latency p50/p99/max at `--rate` records/s, open loop (measured from each
//      record's scheduled time), one record per Produce request to a 1-partition topic's leader
//      (bench/lib/thin-client.mjs, as `bench/ack-latency.mjs --client thin`), for the same two
//      configurations, over each of `--latency-connections` pipelined connections (round-robin);
//      with the CPU each node, etcd and this process used meanwhile;
//   3. a new replica's catch-up: a replication-factor-2 partition on nodes A (leader) and B is filled
//      with `--catchup-mb` MB of `--catchup-size`-byte records; B is stopped (SIGTERM), its copy
//      of the partition deleted (<data-dir>/logs/<topic>.<topicId>/0.db, -wal, -shm) and B
//      restarted; the time is from B's restart (its process spawned) until Metadata from A shows B
//      in the partition's ISR, and MB/s = the partition's log bytes (its stored batches) / that time;
//   4. failover: `--kills` times, SIGKILL of the node leading a 1-partition, replication-factor-3,
//      min.insync.replicas=2 topic while two producers each send it one acks=all record every
//      `--send-interval-ms`: a probe (single-record Produce requests to the leader named by the
//      last Metadata, asked again 20 ms after any error) and Brook's Producer (idempotent,
//      lingerMs 0). Failover time = from the kill to the first acknowledgement of a record sent
//      after the kill. Brook's Producer gets `--client-grace-ms` past the probe's time, else it
//      counts as not recovered and a new one is started. The killed node is restarted (same port
//      and data dir) and back in the ISR before the next kill. The figure includes the node
//      session timeout (the etcd lease TTL).
// Every wait is bounded; etcd and the nodes are killed at exit (also on an error or SIGINT), and
// their logs kept (path printed) when the run fails. `--json` prints the results as JSON instead.
// Run after `npm run build`, with etcd installed (Debian package etcd-server):
//   node bench/replication.mjs [--records 300000] [--size 100] [--partitions 3] [--lanes 8] [--rate 5000]
//     [--seconds 5] [--latency-connections 1,4] [--catchup-mb 150] [--catchup-size 1000] [--kills 20]
//     [--send-interval-ms 5] [--client-grace-ms 3000] [--session-timeout-ms 2000] [--json]
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { Admin, Producer } from '../dist/src/index.js';
import { buildBatch } from '../dist/src/storage/record-batch.js';
import { ETCD_MISSING, findEtcd, freePort, startEtcd, startNode } from '../scripts/lib/cluster-processes.mjs';
import { ThinClient } from './lib/thin-client.mjs';
import { openLoop } from './suite/lib/open-loop.mjs';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '300000' },
    size: { type: 'string', default: '100' },
    partitions: { type: 'string', default: '3' },
    lanes: { type: 'string', default: '8' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '5' },
    'latency-connections': { type: 'string', default: '1,4' },
    'catchup-mb': { type: 'string', default: '150' },
    'catchup-size': { type: 'string', default: '1000' },
    kills: { type: 'string', default: '20' },
    'send-interval-ms': { type: 'string', default: '5' },
    'client-grace-ms': { type: 'string', default: '3000' },
    'session-timeout-ms': { type: 'string', default: '2000' },
    json: { type: 'boolean', default: false },
  },
});
const RECORDS = Number(values.records);
const SIZE = Number(values.size);
const PARTITIONS = Number(values.partitions);
const LANES = Number(values.lanes);
const RATE = Number(values.rate);
const LATENCY_MS = Number(values.seconds) * 1000;
const LATENCY_CONNECTIONS = values['latency-connections'].split(',').map(Number);
const CATCHUP_BYTES = Number(values['catchup-mb']) * 1e6;
const CATCHUP_SIZE = Number(values['catchup-size']);
const KILLS = Number(values.kills);
const SEND_INTERVAL_MS = Number(values['send-interval-ms']);
const CLIENT_GRACE_MS = Number(values['client-grace-ms']);
const SESSION_TIMEOUT_MS = Number(values['session-timeout-ms']);
const JSON_OUT = values.json;
const PER_SEND = 1000;
const PRODUCE_TIMEOUT_MS = 90_000;
const ISR_TIMEOUT_MS = 120_000;
const FAILOVER_TIMEOUT_MS = 60_000;
const LATENCY_TIMEOUT_MS = 30_000;

if (findEtcd() === null) {
  console.error(`bench/replication.mjs: ${ETCD_MISSING}`);
  process.exit(1);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (line) => process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${line}\n`);
const round1 = (v) => +v.toFixed(1);
const round2 = (v) => +v.toFixed(2);

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Rejects after `ms` with a message naming `what`. */
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function waitFor(what, timeoutMs, probe, everyMs = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// --- the cluster ---------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'brook-bench-replication-'));
let etcd = null;
/** nodeId -> the running node (startNode's handle), replaced on restart. */
const nodes = new Map();
const clients = new Set();

/** Kills every child at once, synchronously (the 'exit' and signal path). */
function killAllNow() {
  for (const n of nodes.values()) {
    try {
      if (n.alive()) process.kill(n.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  try {
    if (etcd) process.kill(etcd.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: killing etcd and the nodes; logs kept in ${dir}`);
    killAllNow();
    process.exit(130);
  });
}

async function startCluster() {
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
  await settled();
}

const bootstrapAll = () => [...nodes.values()].map((n) => n.bootstrap);

/** One request on a fresh connection to `node`; null when it does not answer. */
async function rawRequest(node, apiKey, version, body) {
  let c;
  try {
    c = await within(ThinClient.connect('127.0.0.1', node.port), 3_000, `connect to node ${node.nodeId}`);
    return await c.request(apiKey, version, body, { timeoutMs: 3_000 });
  } catch {
    return null;
  } finally {
    c?.close();
  }
}

const metadataOf = (node, topics = []) =>
  rawRequest(node, 3, 12, { topics: topics.map((name) => ({ name })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });

/** Waits until every live node lists all three nodes and a controller among them; returns the controller id. */
async function settled() {
  let controller = -1;
  for (const n of nodes.values()) {
    await waitFor(`node ${n.nodeId} to list nodes 1,2,3 and a controller`, 60_000, async () => {
      const md = await metadataOf(n);
      if (md === null) return false;
      const ids = md.brokers
        .map((b) => b.nodeId)
        .sort((a, b) => a - b)
        .join(',');
      if (ids !== '1,2,3' || !md.brokers.some((b) => b.nodeId === md.controllerId)) return false;
      controller = md.controllerId;
      return true;
    });
  }
  return controller;
}

/** { leader, leaderEpoch, replicas, isr } of `topic`-`partition` as `node` (else the first live node answering) sees it; null if unknown. */
async function partitionState(topic, partition, node = null) {
  const asked = node ? [node] : [...nodes.values()].filter((n) => n.alive());
  for (const n of asked) {
    const md = await metadataOf(n, [topic]);
    const t = md?.topics.find((x) => x.name === topic);
    const p = t?.errorCode === 0 ? t.partitions.find((x) => x.partitionIndex === partition) : undefined;
    if (p) return { leader: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: p.isrNodes, errorCode: p.errorCode, controller: md.controllerId };
  }
  return null;
}

/** Waits until `topic`-`partition`'s ISR holds every replica (as a live node sees it); returns its state. */
function fullIsr(topic, partition, timeoutMs = ISR_TIMEOUT_MS) {
  return waitFor(
    `the ISR of ${topic}-${partition} to hold every replica`,
    timeoutMs,
    async () => {
      const s = await partitionState(topic, partition);
      return s && s.leader >= 0 && s.isr.length === s.replicas.length && nodes.get(s.leader)?.alive() ? s : null;
    },
    50,
  );
}

async function createTopic(name, numPartitions, replicationFactor, configs = {}) {
  const admin = new Admin({ bootstrapServers: bootstrapAll() });
  try {
    await within(admin.createTopics({ topics: [{ name, numPartitions, replicationFactor, configs }], waitForLeaders: true }), 60_000, `CreateTopics ${name}`);
  } finally {
    await admin.close();
  }
  for (let p = 0; p < numPartitions; p++) await fullIsr(name, p, 60_000);
}

// --- 1. throughput -------------------------------------------------------------------------

/** Keyed records through Brook's producer, `LANES` sends of 1000 in flight; resolves { records/s, MB/s, ms }. */
async function produceMany(producer, topic, count, size, what) {
  const value = Buffer.alloc(size, 120);
  let sent = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (sent < count) {
      const n = Math.min(PER_SEND, count - sent);
      const from = sent;
      sent += n;
      await producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ key: String(from + i), value })) });
    }
  };
  await within(Promise.all(Array.from({ length: LANES }, lane)), PRODUCE_TIMEOUT_MS, what);
  const ms = performance.now() - t0;
  return { 'records/s': Math.round(count / (ms / 1000)), 'MB/s': round1((count * size) / (ms / 1000) / 1e6), 'ms': Math.round(ms) };
}

async function throughput(cfg) {
  const producer = new Producer({ bootstrapServers: bootstrapAll(), acks: cfg.acks, idempotent: cfg.acks === -1 });
  clients.add(producer);
  try {
    return await produceMany(producer, cfg.topic, RECORDS, SIZE, `producing ${RECORDS} records to ${cfg.topic}`);
  } finally {
    clients.delete(producer);
    await within(producer.close(), 10_000, 'producer close').catch(() => undefined);
  }
}

// --- 2. single-record ack latency -----------------------------------------------------------

/** CPU ticks (user + system, 1/100 s) a process has used, from /proc; NaN if unreadable. */
function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return NaN;
  }
}

/** The pids of etcd, nodes 1-3 and this process, for cpuTicks. */
const cpuPids = () => [...[1, 2, 3].map((id) => nodes.get(id).pid), etcd.pid, process.pid];

/** Single-record Produce requests at RATE/s, spread round-robin over `conns` pipelined connections to partition 0's leader. */
async function ackLatency(cfg, conns) {
  const s = await partitionState(cfg.topic, 0);
  const leader = nodes.get(s.leader);
  const cs = [];
  const value = Buffer.alloc(SIZE, 120);
  const send = async (i) => {
    const res = await cs[i % cs.length].request(
      0,
      9,
      {
        transactionalId: null,
        acks: cfg.acks,
        timeoutMs: LATENCY_TIMEOUT_MS,
        topicData: [{ name: cfg.topic, partitionData: [{ index: 0, records: buildBatch({ records: [{ key: null, value }] }) }] }],
      },
      { timeoutMs: LATENCY_TIMEOUT_MS },
    );
    const code = res.responses[0].partitionResponses[0].errorCode;
    if (code) throw new Error(`Produce to ${cfg.topic}-0 on node ${leader.nodeId}: error ${code}`);
  };
  try {
    for (let k = 0; k < conns; k++) {
      const c = await within(ThinClient.connect('127.0.0.1', leader.port), 5_000, `connect to node ${leader.nodeId}`);
      clients.add(c);
      cs.push(c);
    }
    await openLoop({ rate: Math.min(RATE, 1000), durationMs: 1000, send }); // warm-up
    const total = Math.round((RATE * LATENCY_MS) / 1000);
    const warm = Math.round(total / 10);
    const lat = new Float64Array(total);
    const pids = cpuPids();
    const ticks0 = pids.map(cpuTicks);
    const t0 = performance.now();
    const r = await openLoop({
      rate: RATE,
      durationMs: LATENCY_MS,
      warmupMs: LATENCY_MS / 10,
      send: (i, scheduled) =>
        send(i).then(() => {
          lat[i] = performance.now() - scheduled;
        }),
    });
    const secs = (performance.now() - t0) / 1000;
    const cpu = pids.map((pid, i) => Math.round((cpuTicks(pid) - ticks0[i]) / secs));
    const sorted = lat.subarray(warm).sort();
    return {
      'leader': leader.nodeId,
      'sends': r.count,
      'achieved/s': Math.round(total / secs),
      'p50 ms': round2(percentile(sorted, 50)),
      'p99 ms': round2(percentile(sorted, 99)),
      'max ms': round2(sorted[sorted.length - 1]),
      'CPU % n1/n2/n3/etcd/client': cpu.join('/'),
    };
  } finally {
    for (const c of cs) {
      clients.delete(c);
      c.close();
    }
  }
}

// --- 3. catch-up ---------------------------------------------------------------------------

/** The files of `topic`-`partition`'s log in `dataDir`: [db, db-wal, db-shm] that exist. */
function partitionFiles(dataDir, topic, partition) {
  const logs = join(dataDir, 'logs');
  if (!existsSync(logs)) return [];
  const dirs = readdirSync(logs).filter((d) => d.startsWith(`${topic}.`));
  const out = [];
  for (const d of dirs) for (const suffix of ['', '-wal', '-shm']) if (existsSync(join(logs, d, `${partition}.db${suffix}`))) out.push(join(logs, d, `${partition}.db${suffix}`));
  return out;
}

/** { batches, bytes, lastOffset } of a stopped node's log file (its stored batches), read-only. */
function logStats(file) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT count(*) AS batches, coalesce(sum(length(bytes)), 0) AS bytes, max(last_offset) AS lastOffset FROM batches').get();
  } finally {
    db.close();
  }
}

async function catchUp() {
  const topic = `catchup-${Date.now()}`;
  await createTopic(topic, 1, 2);
  const s0 = await partitionState(topic, 0);
  const a = s0.leader;
  const b = s0.replicas.find((id) => id !== a);
  const count = Math.ceil(CATCHUP_BYTES / CATCHUP_SIZE);
  log(`catch-up: filling ${topic}-0 (replicas ${s0.replicas.join(',')}, leader ${a}) with ${count} x ${CATCHUP_SIZE} B`);
  const producer = new Producer({ bootstrapServers: bootstrapAll(), acks: -1 });
  clients.add(producer);
  let fill;
  try {
    fill = await produceMany(producer, topic, count, CATCHUP_SIZE, `filling ${topic}`);
  } finally {
    clients.delete(producer);
    await within(producer.close(), 10_000, 'producer close').catch(() => undefined);
  }
  await fullIsr(topic, 0);
  const nodeB = nodes.get(b);
  log(`catch-up: stopping node ${b} (SIGTERM)`);
  await nodeB.stop();
  const files = partitionFiles(nodeB.dataDir, topic, 0);
  if (!files.some((f) => f.endsWith('.db'))) throw new Error(`node ${b} has no log file of ${topic}-0 under ${nodeB.dataDir}/logs`);
  const stats = logStats(files.find((f) => f.endsWith('.db')));
  const fileBytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
  for (const f of files) rmSync(f, { force: true });
  log(
    `catch-up: deleted node ${b}'s ${files.length} files of ${topic}-0 (${(fileBytes / 1e6).toFixed(1)} MB on disk, ${stats.batches} batches, ${(stats.bytes / 1e6).toFixed(1)} MB of batches); restarting it`,
  );
  const t0 = performance.now();
  const restarted = await nodeB.restart();
  nodes.set(b, restarted);
  const started = performance.now();
  await waitFor(
    `node ${b} back in the ISR of ${topic}-0 (Metadata from node ${a})`,
    ISR_TIMEOUT_MS,
    async () => {
      const s = await partitionState(topic, 0, nodes.get(a));
      return s !== null && s.isr.includes(b);
    },
    20,
  );
  const ms = performance.now() - t0;
  const after = partitionFiles(restarted.dataDir, topic, 0).reduce((sum, f) => sum + statSync(f).size, 0);
  return {
    'partition': `${topic}-0`,
    'leader A': a,
    'new replica B': b,
    'log MB': round1(stats.bytes / 1e6),
    'records': count,
    'fill MB/s (RF=2, acks=all)': fill['MB/s'],
    'B start ms': Math.round(started - t0),
    'to ISR ms': Math.round(ms),
    'catch-up MB/s': round1(stats.bytes / (ms / 1000) / 1e6),
    'MB/s after start': round1(stats.bytes / ((ms - (started - t0)) / 1000) / 1e6),
    'B files MB after': round1(after / 1e6),
  };
}

// --- 4. failover ---------------------------------------------------------------------------

/**
 * A minimal acks=all producer of single records to `topic`-0, one request at a time, one every
 * SEND_INTERVAL_MS, to the leader the last Metadata named; after any error (a refused or closed
 * connection, an error code) it asks the live nodes for Metadata again, 20 ms later. It measures the
 * cluster's failover with as little client behaviour in it as possible.
 */
function startProbeProducer(topic) {
  const value = Buffer.alloc(SIZE, 120);
  const p = { acked: 0, errors: new Map(), stopped: false, waiters: [] };
  let conn = null;
  let connTo = -1;
  let leader = -1;
  const fail = (what) => p.errors.set(what, (p.errors.get(what) ?? 0) + 1);
  const loop = async () => {
    while (!p.stopped) {
      const sentAt = performance.now();
      try {
        if (leader < 0) {
          const s = await partitionState(topic, 0);
          if (s === null || s.leader < 0) throw new Error('no leader in Metadata');
          leader = s.leader;
        }
        if (conn === null || connTo !== leader) {
          conn?.close();
          conn = null;
          const c = await within(ThinClient.connect('127.0.0.1', nodes.get(leader).port), 2_000, `connect to node ${leader}`);
          clients.add(c);
          conn = c;
          connTo = leader;
        }
        const res = await conn.request(
          0,
          9,
          {
            transactionalId: null,
            acks: -1,
            timeoutMs: 5_000,
            topicData: [{ name: topic, partitionData: [{ index: 0, records: buildBatch({ records: [{ key: null, value }] }) }] }],
          },
          { timeoutMs: 6_000 },
        );
        const code = res.responses[0].partitionResponses[0].errorCode;
        if (code !== 0) throw new Error(`Produce error ${code}`);
        p.acked++;
        settleWaiters(p, sentAt, performance.now());
        const left = SEND_INTERVAL_MS - (performance.now() - sentAt);
        if (left > 0) await sleep(left);
      } catch (err) {
        fail(/^(Produce error \d+|no leader|connect to|request \d+ v\d+ timed out)/.exec(err.message)?.[0] ?? err.code ?? err.message);
        if (conn !== null) {
          clients.delete(conn);
          conn.close();
        }
        conn = null;
        leader = -1;
        await sleep(20);
      }
    }
    if (conn !== null) {
      clients.delete(conn);
      conn.close();
    }
  };
  const done = loop();
  p.stop = async () => {
    p.stopped = true;
    await within(done, 15_000, 'the probe producer to stop').catch(() => undefined);
  };
  return p;
}

/** Brook's Producer (acks=all, idempotent, lingerMs 0) sending one record to `topic`-0 every SEND_INTERVAL_MS. */
function startClientProducer(topic) {
  const value = Buffer.alloc(SIZE, 120);
  const producer = new Producer({ bootstrapServers: bootstrapAll(), acks: -1, lingerMs: 0 });
  clients.add(producer);
  const p = { acked: 0, errors: new Map(), pending: 0, waiters: [] };
  const timer = setInterval(() => {
    if (p.pending >= 2_000) return;
    const sentAt = performance.now();
    p.pending++;
    producer.send({ topic, messages: [{ value, partition: 0 }] }).then(
      () => {
        p.pending--;
        p.acked++;
        settleWaiters(p, sentAt, performance.now());
      },
      (err) => {
        p.pending--;
        const what = err.constructor?.name ?? err.message;
        p.errors.set(what, (p.errors.get(what) ?? 0) + 1);
      },
    );
  }, SEND_INTERVAL_MS);
  /** Stops sending; closes the producer, waiting at most `ms` for its flush (a stuck one goes on closing in the background). */
  p.stop = async (ms) => {
    clearInterval(timer);
    const closing = producer.close().finally(() => clients.delete(producer));
    await within(closing, ms, 'the client producer to close').catch(() => undefined);
  };
  return p;
}

/** Resolves each waiter of `p` whose time a record sent at or after `sentAt` answers. */
function settleWaiters(p, sentAt, ackAt) {
  p.waiters = p.waiters.filter((w) => {
    if (sentAt < w.from) return true;
    w.resolve(ackAt);
    return false;
  });
}

/** The time of the first acknowledgement of a record `p` sent at or after `from`; null after `ms`. */
function firstAckAfter(p, from, ms) {
  return new Promise((resolve) => {
    const w = { from, resolve: (at) => (clearTimeout(timer), resolve(at)) };
    const timer = setTimeout(() => {
      p.waiters = p.waiters.filter((x) => x !== w);
      resolve(null);
    }, ms);
    p.waiters.push(w);
  });
}

async function failovers() {
  const topic = `failover-${Date.now()}`;
  await createTopic(topic, 1, 3, { 'min.insync.replicas': '2' });
  const probe = startProbeProducer(topic);
  let client = null;
  const rows = [];
  const clientErrors = new Map();
  let clientAcked = 0;
  let clientProducers = 0;
  const stopClient = async (ms) => {
    if (client === null) return;
    const c = client;
    client = null;
    await c.stop(ms);
    clientAcked += c.acked;
    for (const [k, v] of c.errors) clientErrors.set(k, (clientErrors.get(k) ?? 0) + v);
  };
  try {
    for (let k = 0; k < KILLS; k++) {
      await settled();
      const s = await fullIsr(topic, 0);
      // A fresh client producer each time: one that did not recover from the last kill is dropped.
      if (client === null) {
        client = startClientProducer(topic);
        clientProducers++;
      }
      const ready = performance.now();
      for (const [name, p] of [
        ['the probe producer', probe],
        ['the client producer', client],
      ]) {
        if ((await firstAckAfter(p, ready, 30_000)) === null)
          throw new Error(`${name} got no acknowledgement from ${topic}-0 (leader ${s.leader}) within 30 s before kill ${k + 1}`);
      }
      const victim = nodes.get(s.leader);
      const wasController = s.controller === victim.nodeId;
      await victim.kill9();
      const at = performance.now();
      const killedAt = new Date().toISOString();
      const probeAck = firstAckAfter(probe, at, FAILOVER_TIMEOUT_MS);
      const clientAck = firstAckAfter(client, at, FAILOVER_TIMEOUT_MS);
      const p = await probeAck;
      if (p === null) {
        const now = await partitionState(topic, 0).catch(() => null);
        throw new Error(
          `no acknowledged produce to ${topic}-0 within ${FAILOVER_TIMEOUT_MS} ms of SIGKILL of its leader, node ${victim.nodeId}, at ${killedAt}; Metadata now: ${JSON.stringify(now)}; probe errors: ${JSON.stringify([...probe.errors])}`,
        );
      }
      const c = await Promise.race([clientAck, sleep(Math.max(0, p + CLIENT_GRACE_MS - performance.now())).then(() => null)]);
      const after = await partitionState(topic, 0);
      const row = {
        kill: k + 1,
        victim: victim.nodeId,
        controller: wasController,
        'probe ms': Math.round(p - at),
        'client ms': c === null ? null : Math.round(c - at),
        newLeader: after?.leader ?? -1,
        epoch: after?.leaderEpoch ?? -1,
      };
      rows.push(row);
      log(
        `failover ${k + 1}/${KILLS}: node ${victim.nodeId}${wasController ? ' (also the controller)' : ''} killed at ${killedAt}; probe ${row['probe ms']} ms, Brook's Producer ${c === null ? `no ack within ${CLIENT_GRACE_MS} ms of the probe's` : `${row['client ms']} ms`}; new leader ${row.newLeader}`,
      );
      if (c === null) await stopClient(2_000);
      const tr = performance.now();
      nodes.set(victim.nodeId, await victim.restart());
      await fullIsr(topic, 0);
      log(`  node ${victim.nodeId} restarted and back in the ISR after ${Math.round(performance.now() - tr)} ms`);
    }
  } finally {
    await stopClient(5_000);
    await probe.stop();
  }
  const stats = (xs) => {
    const sorted = xs.sort((x, y) => x - y);
    if (sorted.length === 0) return { 'p50 ms': null, 'p99 ms': null, 'max ms': null };
    return { 'p50 ms': Math.round(percentile(sorted, 50)), 'p99 ms': Math.round(percentile(sorted, 99)), 'max ms': Math.round(sorted[sorted.length - 1]) };
  };
  const recovered = rows.filter((r) => r['client ms'] !== null);
  return {
    summary: [
      {
        producer: 'probe (raw Produce, re-reads Metadata 20 ms after an error)',
        kills: rows.length,
        'of the controller': rows.filter((r) => r.controller).length,
        'acked after': rows.length,
        ...stats(rows.map((r) => r['probe ms'])),
        'records acked': probe.acked,
      },
      {
        producer: "Brook's Producer (acks=all, lingerMs 0)",
        kills: rows.length,
        'of the controller': rows.filter((r) => r.controller).length,
        'acked after': recovered.length,
        ...stats(recovered.map((r) => r['client ms'])),
        'records acked': clientAcked,
      },
    ],
    errors: { probe: Object.fromEntries(probe.errors), client: Object.fromEntries(clientErrors) },
    clientProducers,
    kills: rows,
  };
}

/** "node N at HH:MM:SS.mmm" for each 'etcd lease lost' line in the node logs. */
function leaseLosses() {
  const out = [];
  for (const id of [1, 2, 3]) {
    const file = join(dir, `node-${id}.log`);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    for (const line of text.split('\n')) {
      if (!line.includes('etcd lease lost')) continue;
      const t = /"time":(\d+)/.exec(line);
      out.push(`node ${id} at ${t ? new Date(Number(t[1])).toISOString().slice(11, 23) : '?'}`);
    }
  }
  return out;
}

// --- the run -------------------------------------------------------------------------------

const started = Date.now();
const result = {
  machine: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
  settings: {
    nodes: 3,
    workersPerNode: 1,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    throughput: `${RECORDS} x ${SIZE} B keyed, ${PARTITIONS} partitions, ${LANES} sends of ${PER_SEND} in flight, Brook's Producer defaults`,
    latency: `${RATE} records/s open loop for ${LATENCY_MS / 1000} s (first 10% dropped, after a 1 s warm-up at ${Math.min(RATE, 1000)}/s), one record per Produce v9, 1-partition topic, over N pipelined connections to its leader`,
    catchUp: `replication factor 2, 1 partition, ${Math.ceil(CATCHUP_BYTES / CATCHUP_SIZE)} x ${CATCHUP_SIZE} B`,
    failover: `${KILLS} SIGKILLs of the leader of a 1-partition topic, replication factor 3, min.insync.replicas=2; two producers each send one acks=all record every ${SEND_INTERVAL_MS} ms`,
  },
  throughput: [],
  latency: [],
  catchUp: null,
  failover: null,
  leaseLosses: [],
  elapsedS: 0,
};
let failed = false;
try {
  log(`etcd and three nodes in ${dir}`);
  await startCluster();
  const configs = [
    { name: 'RF=3, min.insync=2, acks=all', topic: `rf3-${Date.now()}`, rf: 3, acks: -1, topicConfigs: { 'min.insync.replicas': '2' } },
    { name: 'RF=1, acks=1', topic: `rf1-${Date.now()}`, rf: 1, acks: 1, topicConfigs: {} },
  ];
  for (const cfg of configs) {
    await createTopic(cfg.topic, PARTITIONS, cfg.rf, cfg.topicConfigs);
    const lt = `${cfg.topic}-lat`;
    await createTopic(lt, 1, cfg.rf, cfg.topicConfigs);
    cfg.latencyTopic = lt;
  }
  // A row that fails (a node's lease lost on this crowded machine moves leaders, say) says so in
  // the table and the run goes on, on a settled cluster.
  const row = async (what, topic, fn) => {
    await settled();
    for (let p = 0; p < (topic === null ? 0 : 1); p++) await fullIsr(topic, p);
    log(what);
    try {
      return await fn();
    } catch (err) {
      log(`${what} failed: ${err.message}`);
      return { error: err.message.slice(0, 200) };
    }
  };
  for (const cfg of configs) {
    const r = await row(`throughput: ${cfg.name}`, null, () => throughput(cfg));
    result.throughput.push({ config: cfg.name, workload: `produce ${RECORDS} x ${SIZE} B`, ...r });
  }
  for (const cfg of configs) {
    for (const conns of LATENCY_CONNECTIONS) {
      const r = await row(`ack latency: ${cfg.name}, ${conns} connection(s)`, cfg.latencyTopic, () => ackLatency({ ...cfg, topic: cfg.latencyTopic }, conns));
      result.latency.push({ config: cfg.name, rate: RATE, connections: conns, ...r });
    }
  }
  if (CATCHUP_BYTES > 0) result.catchUp = await catchUp();
  if (KILLS > 0) result.failover = await failovers();
} catch (err) {
  failed = true;
  console.error(err);
  console.error(`node and etcd logs kept in ${dir}`);
  process.exitCode = 1;
} finally {
  for (const c of clients) {
    try {
      await within(Promise.resolve(c.close()), 10_000, 'client close');
    } catch {
      /* best effort */
    }
  }
  await Promise.all([...nodes.values()].map((n) => n.kill9()));
  await etcd?.stop();
  result.leaseLosses = leaseLosses();
  if (!failed) rmSync(dir, { recursive: true, force: true });
}
result.elapsedS = Math.round((Date.now() - started) / 1000);

if (JSON_OUT) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const m = result.machine;
  console.log(
    `machine: ${m.cores} cores (${m.cpu}), Node ${m.node}; etcd, three nodes (--workers 1 each) and this client share them; other work on the machine makes the figures noisy`,
  );
  console.log(`nodes: session timeout ${SESSION_TIMEOUT_MS} ms, other settings Brook's defaults`);
  console.log(`\n1. produce throughput: ${result.settings.throughput}`);
  console.table(result.throughput);
  console.log(`2. single-record ack latency: ${result.settings.latency}`);
  console.table(result.latency);
  if (result.catchUp) {
    console.log(`3. new replica catch-up: ${result.settings.catchUp}; B stopped, its copy deleted, restarted; time from its restart to Metadata showing it in the ISR`);
    console.table([result.catchUp]);
  }
  if (result.failover) {
    const f = result.failover;
    console.log(`4. failover, SIGKILL of the leader -> first acknowledged produce of a record sent after the kill: ${result.settings.failover}`);
    console.table(f.summary);
    console.log(
      `   errors seen by the probe: ${JSON.stringify(f.errors.probe)}; by Brook's Producer: ${JSON.stringify(f.errors.client)}; Brook's Producers used: ${f.clientProducers} (a new one after each kill it did not recover from within ${CLIENT_GRACE_MS} ms of the probe)`,
    );
    console.table(f.kills);
  }
  console.log(
    result.leaseLosses.length === 0
      ? 'no node lost its etcd lease during the run'
      : `etcd leases lost (the node left the live set and its partitions moved; a crowded machine can starve a node past its session timeout): ${result.leaseLosses.join(', ')}`,
  );
  console.log(`elapsed ${result.elapsedS} s`);
}
// A Producer given up on after a failover may still be flushing in the background.
process.exit(process.exitCode ?? 0);
