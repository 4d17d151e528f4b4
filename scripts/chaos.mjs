#!/usr/bin/env node
// `npm run chaos -- --seconds S --seed N [--faults kill,pause,partition,etcd-restart] [--keep-logs] [--json]`
//
// The fault test. Starts etcd and three Brook nodes on 127.0.0.1 (free ports, a temp dir,
// --workers 1, --node-session-timeout-ms 2000), creates topic `chaos` (3 partitions, replication
// factor 3, min.insync.replicas=2), runs idempotent acks=all producers (--producers, default 3;
// Brook's own client, but the last --kafkajs of them, default 1, use kafkajs) writing unique keyed
// values `p<producer>-<seq>` at --rate values per second each, and for S seconds injects faults
// chosen by a PRNG seeded with N: `kill` (SIGKILL a partition leader's node, restart it on its
// data dir), `pause` (SIGSTOP it past the session timeout, then SIGCONT), `partition` (nftables
// drops its loopback traffic to and from the other nodes and etcd; clients still reach it) and
// `etcd-restart` (SIGKILL etcd, restart it on its data dir). Then it heals everything, waits for
// the cluster to converge (every partition led, ISR back to 3; bounded), reads every partition
// twice from the beginning to its high watermark, stops the nodes, reads every replica from its
// SQLite file, and prints the checker's table (scripts/lib/chaos-checker.mjs). Exit 0 iff every
// anomaly count is 0 (1 on anomalies, 2 when the run itself failed). A failed run keeps its
// logs and data dir and prints its seed and the command that repeats it.
// Needs a build (`npm run build`), etcd (Debian etcd-server) and, for `partition`, nft
// (Debian nftables) with cgroup v2, as root.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Admin, Producer } from '../dist/src/index.js';
import { check, formatReport, formatTable } from './lib/chaos-checker.mjs';
import { ChaosCluster, NetFaults } from './lib/chaos-cluster.mjs';
import { FAULT_KINDS, FaultPlanner } from './lib/chaos-faults.mjs';
import { partitionsOf, readPartition, readReplica } from './lib/chaos-kafka.mjs';
import { ETCD_MISSING, findEtcd } from './lib/cluster-processes.mjs';

const USAGE = 'usage: npm run chaos -- --seconds S --seed N [--faults kill,pause,partition,etcd-restart] [--producers 3] [--rate 50] [--kafkajs 1] [--keep-logs] [--json]';
const { values } = parseArgs({
  options: {
    'seconds': { type: 'string', default: '30' },
    'seed': { type: 'string' },
    'faults': { type: 'string', default: FAULT_KINDS.join(',') },
    'producers': { type: 'string', default: '3' },
    'rate': { type: 'string', default: '50' },
    'kafkajs': { type: 'string', default: '1' },
    'keep-logs': { type: 'boolean', default: false },
    'json': { type: 'boolean', default: false },
    'help': { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const TOPIC = 'chaos';
const PARTITIONS = 3;
const NODES = 3;
const SESSION_TIMEOUT_MS = 2_000;
const DELIVERY_TIMEOUT_MS = 20_000;
const SECONDS = Number(values.seconds);
const SEED = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const PRODUCERS = Number(values.producers);
const RATE = Number(values.rate);
const KAFKAJS = Number(values.kafkajs);
const JSON_OUT = values.json;
const kindsAsked = values.faults
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const k of kindsAsked) {
  if (!FAULT_KINDS.includes(k)) {
    console.error(`chaos: unknown fault kind "${k}" (known: ${FAULT_KINDS.join(', ')})\n${USAGE}`);
    process.exit(2);
  }
}
if (!(SECONDS > 0) || !Number.isInteger(SEED) || !(PRODUCERS > 0) || !(RATE > 0) || !(KAFKAJS >= 0 && KAFKAJS <= PRODUCERS)) {
  console.error(`chaos: --seconds, --seed, --producers and --rate must be positive numbers (--seed an integer), --kafkajs at most --producers\n${USAGE}`);
  process.exit(2);
}
if (findEtcd() === null) {
  console.error(`chaos: ${ETCD_MISSING}`);
  process.exit(2);
}

const t0 = Date.now();
const since = () => ((Date.now() - t0) / 1000).toFixed(1);
/** Progress goes to stderr, so that --json leaves stdout to the result. */
const log = (msg) => process.stderr.write(`[chaos ${since().padStart(6)}s] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const repeatCommand = `npm run chaos -- --seconds ${SECONDS} --seed ${SEED} --faults ${kindsAsked.join(',')}${PRODUCERS !== 3 ? ` --producers ${PRODUCERS}` : ''}${RATE !== 50 ? ` --rate ${RATE}` : ''}${KAFKAJS !== 1 ? ` --kafkajs ${KAFKAJS}` : ''}`;

const dir = mkdtempSync(join(tmpdir(), 'brook-chaos-'));
let cluster = null;
let net = null;

// Whatever happens, no child process and no nftables rule outlives this process.
process.on('exit', () => {
  cluster?.cleanupSync();
  if (!cluster) net?.cleanupSync?.();
});
function abort(what, err) {
  process.stderr.write(`\nchaos: ${what}${err ? `: ${err.stack ?? err}` : ''}\nseed ${SEED}; repeat with: ${repeatCommand}\nlogs and data kept in ${dir}\n`);
  process.exit(what === 'interrupted' ? 130 : 2);
}
process.on('SIGINT', () => abort('interrupted'));
process.on('SIGTERM', () => abort('interrupted'));
process.on('uncaughtException', (err) => abort('uncaught error', err));
// A client library's stray rejection does not void the run: it is logged and listed in the notes.
const strayRejections = [];
process.on('unhandledRejection', (err) => {
  strayRejections.push(String(err?.message ?? err).split('\n')[0]);
  log(`unhandled rejection (going on): ${err?.stack ?? err}`);
});

// Every wait below is bounded; this bounds their sum too, should one of them not be.
const WATCHDOG_MS = SECONDS * 1000 + 300_000;
setTimeout(() => abort(`watchdog: the run took longer than ${WATCHDOG_MS / 1000} s`), WATCHDOG_MS).unref();

/** Polls `probe` until it returns something other than undefined, or null after `timeoutMs`. */
async function waitFor(probe, timeoutMs, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) return null;
    await sleep(intervalMs);
  }
}

/** The partitions as the first answering live node (not paused) tells them, or null. */
async function currentPartitions() {
  for (const [id, n] of cluster.nodes) {
    if (!cluster.alive(id) || n.paused) continue;
    try {
      const parts = await partitionsOf(n.spec.port, TOPIC, 2_000);
      if (parts) return parts;
    } catch {
      // try the next node
    }
  }
  return null;
}

/** Every node answering Metadata, every partition led, all nodes naming the same leaders; else undefined. */
async function healthy() {
  const views = [];
  for (const [, n] of cluster.nodes) views.push(await partitionsOf(n.spec.port, TOPIC, 2_000));
  if (views.some((v) => v === null || v.some((p) => p.leader < 0))) return undefined;
  const leaders = views.map((v) => v.map((p) => p.leader).join(','));
  return leaders.every((l) => l === leaders[0]) ? views[0] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Producers.

/** Brook's own producer (dist/src/client): idempotent, acks=all, retrying until the delivery timeout. */
function brookClient(name, bootstraps) {
  const producer = new Producer({
    bootstrapServers: bootstraps,
    clientId: `chaos-${name}`,
    acks: -1,
    idempotent: true,
    lingerMs: 5,
    requestTimeoutMs: 5_000,
    produceTimeoutMs: 5_000,
    deliveryTimeoutMs: DELIVERY_TIMEOUT_MS,
    metadataMaxAgeMs: 5_000,
  });
  return {
    kind: 'brook',
    connect: async () => {},
    send: async (key, value) => {
      const md = await producer.send({ topic: TOPIC, messages: [{ key, value }] });
      return { partition: md[0].partition, offset: md[0].offset };
    },
    close: () => producer.close(),
  };
}

/**
 * kafkajs (a devDependency): idempotent, acks=all, one send() at a time. kafkajs retries each
 * send() on its own, so concurrent sends to one partition are reordered, duplicated (a retry
 * under a new sequence number) or acknowledged at another send's offset (a retry reusing one):
 * seen in this tool, hence the queue.
 */
async function kafkajsClient(name, bootstraps) {
  const { Kafka, Partitioners, logLevel } = (await import('kafkajs')).default;
  const kafka = new Kafka({ clientId: `chaos-${name}`, brokers: bootstraps, logLevel: logLevel.NOTHING, connectionTimeout: 3_000, requestTimeout: 5_000 });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 2_000 },
  });
  let queue = Promise.resolve();
  return {
    kind: 'kafkajs',
    connect: () => producer.connect(),
    send: (key, value) => {
      const sent = queue.then(() => producer.send({ topic: TOPIC, acks: -1, timeout: 5_000, messages: [{ key, value }] }));
      queue = sent.catch(() => undefined);
      return sent.then((md) => ({ partition: md[0].partition, offset: Number(md[0].baseOffset ?? -1) }));
    },
    close: () => producer.disconnect(),
  };
}

class ChaosProducer {
  constructor(index, client) {
    this.index = index;
    this.name = `p${index}`;
    this.client = client;
    this.writes = [];
    this.pending = new Set();
    this.seq = 0;
    this.timer = null;
  }

  start(rate) {
    const every = 1000 / rate;
    const began = Date.now();
    const tick = () => {
      const due = Math.floor((Date.now() - began) / every);
      // At most 2000 sends in flight: a partition that accepts nothing does not grow memory unbounded.
      while (this.seq < due && this.pending.size < 2_000) this.send();
      if (this.seq < due) this.seq = due; // skipped, never sent
      this.timer = setTimeout(tick, Math.max(5, every));
    };
    tick();
  }

  send() {
    const seq = this.seq++;
    const value = `${this.name}-${seq}`;
    const w = { value, producer: this.name, seq, status: 'unknown' };
    this.writes.push(w);
    const p = this.client.send(`${this.name}-k${seq % 24}`, value).then(
      (ack) => {
        w.status = 'acked';
        w.partition = ack.partition;
        w.offset = ack.offset;
      },
      (err) => {
        w.status = 'failed';
        w.error = String(err?.message ?? err).slice(0, 200);
      },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  /** Waits up to `timeoutMs` for sends in flight; what is still in flight stays 'unknown'. */
  async drain(timeoutMs) {
    await Promise.race([Promise.allSettled([...this.pending]), sleep(timeoutMs)]);
  }

  async close(timeoutMs) {
    // Snapshot first: anything settling after this point (a close flushing) is not an ack we saw in time.
    this.final = this.writes.map((w) => ({ ...w }));
    await Promise.race([this.client.close().catch(() => undefined), sleep(timeoutMs)]);
  }

  totals() {
    const ws = this.final ?? this.writes;
    const n = (s) => ws.filter((w) => w.status === s).length;
    return { producer: this.name, client: this.client.kind, sent: ws.length, acked: n('acked'), failed: n('failed'), unknown: n('unknown') };
  }
}

// ---------------------------------------------------------------------------------------------
// Faults.

const faults = [];

async function injectFaults(kinds, untilMs) {
  const planner = new FaultPlanner(SEED, kinds, PARTITIONS, NODES);
  while (Date.now() < untilMs && kinds.length > 0) {
    const plan = planner.next();
    await sleep(Math.min(plan.gapMs, Math.max(0, untilMs - Date.now())));
    if (Date.now() >= untilMs) break;
    const parts = await currentPartitions();
    const leader = parts?.[plan.partition]?.leader;
    const node = leader !== undefined && leader >= 0 && cluster.nodes.has(leader) ? leader : [...cluster.nodes.keys()][plan.nodeIndex];
    const f = {
      at: Number(since()),
      kind: plan.kind,
      node: plan.kind === 'etcd-restart' ? null : node,
      partition: plan.kind === 'etcd-restart' ? null : plan.partition,
      durationMs: plan.durationMs,
      note: '',
    };
    faults.push(f);
    const target = plan.kind === 'etcd-restart' ? 'etcd' : `node ${node}${leader === node ? ` (leader of ${TOPIC}-${plan.partition})` : ''}`;
    log(`fault ${faults.length}: ${plan.kind} ${target} for ${plan.durationMs} ms`);
    try {
      switch (plan.kind) {
        case 'kill':
          await cluster.kill9(node);
          await sleep(plan.durationMs);
          await cluster.startNode(node);
          break;
        case 'pause':
          cluster.pause(node);
          await sleep(plan.durationMs);
          cluster.resume(node);
          break;
        case 'partition':
          cluster.isolate(node);
          try {
            await sleep(plan.durationMs);
          } finally {
            cluster.heal();
          }
          break;
        case 'etcd-restart':
          await cluster.killEtcd();
          await sleep(plan.durationMs);
          await cluster.startEtcd();
          break;
        default:
          throw new Error(`unknown fault ${plan.kind}`);
      }
    } catch (err) {
      f.note = `fault failed: ${err.message.split('\n')[0]}`;
      log(f.note);
    }
    // A node that died on its own (see the notes) or a fault that failed halfway: bring everything back.
    await cluster.reviveAll().catch((e) => log(`revive failed: ${e.message.split('\n')[0]}`));
    // Let the cluster heal before the next fault (bounded).
    const healedIn = Date.now();
    const ok = await waitFor(healthy, 30_000);
    f.healedMs = Date.now() - healedIn;
    if (ok === null) {
      f.note = `${f.note ? `${f.note}; ` : ''}not healthy 30 s after the fault`;
      log(`cluster not healthy 30 s after fault ${faults.length}; going on`);
    }
  }
  // No fault kind left (say, only `partition` asked and nft missing): the producers still run the full time.
  await sleep(Math.max(0, untilMs - Date.now()));
}

// ---------------------------------------------------------------------------------------------
// The run.

async function main() {
  let kinds = [...kindsAsked];
  const notes = [];
  if (kinds.includes('partition')) {
    net = await NetFaults.create(`brook-chaos-${process.pid}`);
    if (net.unavailable) {
      const msg = `skipping the partition fault: ${net.unavailable}`;
      log(msg);
      notes.push(msg);
      net = null;
      kinds = kinds.filter((k) => k !== 'partition');
    }
  }
  log(`seed ${SEED}, ${SECONDS} s of faults (${kinds.join(', ') || 'none'}), dir ${dir}`);

  cluster = new ChaosCluster({ dir, nodeCount: NODES, sessionTimeoutMs: SESSION_TIMEOUT_MS, net, log });
  await cluster.start();
  log(`etcd ${cluster.etcd.url}; nodes ${[...cluster.nodes.values()].map((n) => `${n.spec.nodeId}@${n.spec.port}`).join(' ')}`);

  const admin = new Admin({ bootstrapServers: cluster.bootstraps(), requestTimeoutMs: 10_000 });
  try {
    await admin.createTopics({ topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: NODES, configs: { 'min.insync.replicas': '2' } }], timeoutMs: 15_000 });
  } finally {
    await admin.close();
  }
  const initial = await waitFor(healthy, 30_000);
  if (initial === null) throw new Error(`topic ${TOPIC} has no leaders on every node 30 s after its creation`);
  log(`topic ${TOPIC}: ${initial.map((p) => `p${p.partition} leader ${p.leader} replicas [${p.replicas}] isr [${p.isr}]`).join('; ')}`);

  const producers = [];
  for (let i = 0; i < PRODUCERS; i++) {
    const name = `p${i}`;
    const client = i >= PRODUCERS - KAFKAJS ? await kafkajsClient(name, cluster.bootstraps()) : brookClient(name, cluster.bootstraps());
    await client.connect();
    producers.push(new ChaosProducer(i, client));
  }
  for (const p of producers) p.start(RATE);
  await sleep(1_000);

  await injectFaults(kinds, Date.now() + SECONDS * 1000);
  log(`faults done (${faults.length}); healing everything and stopping the producers`);
  await cluster.reviveAll();
  for (const p of producers) p.stop();
  await Promise.all(producers.map((p) => p.drain(DELIVERY_TIMEOUT_MS + 5_000)));
  await Promise.all(producers.map((p) => p.close(10_000)));
  const writes = producers.flatMap((p) => p.final);

  // Converged: every node answers, every partition led, the leader agreed on, ISR back to all replicas.
  const convergeFrom = Date.now();
  const converged = await waitFor(async () => {
    const parts = await healthy();
    return parts && parts.every((p) => p.isr.length === p.replicas.length && p.replicas.length === NODES) ? parts : undefined;
  }, 30_000);
  const convergedMs = Date.now() - convergeFrom;
  const finalParts = converged ?? (await currentPartitions());
  if (converged === null) {
    const msg = `replication did not converge within 30 s (ISR of every partition back to ${NODES}); last seen: ${JSON.stringify(finalParts)}`;
    log(msg);
    notes.push(msg);
  } else log(`converged in ${convergedMs} ms: ${converged.map((p) => `p${p.partition} leader ${p.leader} isr [${p.isr}]`).join('; ')}`);

  const leaderPort = (partition) => async () => {
    const parts = await currentPartitions();
    const leader = parts?.[partition]?.leader;
    return leader !== undefined && leader >= 0 && cluster.nodes.has(leader) ? cluster.node(leader).spec.port : null;
  };
  const reads = [];
  for (let i = 0; i < 2; i++) {
    const partitions = {};
    for (let p = 0; p < PARTITIONS; p++) partitions[p] = await readPartition(TOPIC, p, leaderPort(p), 20_000);
    reads.push({ partitions });
    log(
      `read ${i + 1}: ${Object.entries(partitions)
        .map(([p, r]) => `p${p} ${r.records.length} records hw ${r.highWatermark}${r.error ? ` (${r.error})` : ''}`)
        .join('; ')}`,
    );
  }

  log('stopping the nodes (SIGTERM) and reading every replica from its SQLite file');
  await cluster.stopAll(20_000);
  const replicas = [];
  for (const [id, n] of cluster.nodes) {
    for (let p = 0; p < PARTITIONS; p++) {
      const r = await readReplica(n.spec.dataDir, TOPIC, p);
      replicas.push({ node: id, partition: p, records: r.records, missing: r.missing ?? false });
    }
  }

  for (const r of strayRejections) notes.push(`unhandled rejection: ${r}`);
  for (const e of cluster.unexpectedExits) notes.push(`node ${e.node} exited on its own at ${e.at} (code ${e.code}, signal ${e.signal}); it was restarted`);
  const result = check({ writes, reads, replicas });
  const errors = new Map();
  for (const w of writes) if (w.status === 'failed') errors.set(w.error, (errors.get(w.error) ?? 0) + 1);
  const summary = {
    ok: result.ok,
    seed: SEED,
    seconds: SECONDS,
    faultKinds: kinds,
    notes,
    faults,
    producers: producers.map((p) => p.totals()),
    counts: result.counts,
    examples: result.examples,
    totals: result.totals,
    replicaEnds: result.replicaEnds,
    unexpectedExits: cluster.unexpectedExits,
    converged: converged !== null,
    convergedMs,
    finalPartitions: finalParts,
    produceErrors: [...errors].sort((a, b) => b[1] - a[1]).map(([error, count]) => ({ error, count })),
    dir,
    kept: !result.ok || values['keep-logs'],
    repeat: repeatCommand,
    elapsedMs: Date.now() - t0,
  };
  writeFileSync(join(dir, 'history.json'), JSON.stringify({ summary, writes, reads, replicas }));
  return summary;
}

function printHuman(s) {
  const out = [];
  out.push(`\nBrook fault test: seed ${s.seed}, ${s.seconds} s of faults (${s.faultKinds.join(', ') || 'none'}), ${(s.elapsedMs / 1000).toFixed(0)} s in all`);
  for (const n of s.notes) out.push(`note: ${n}`);
  out.push('\nFaults injected:');
  out.push(
    s.faults.length === 0
      ? '  (none)'
      : formatTable(
          ['#', 'at s', 'kind', 'node', 'partition', 'ms', 'healed ms', 'note'],
          s.faults.map((f, i) => [i + 1, f.at.toFixed(1), f.kind, f.node ?? 'etcd', f.partition ?? '-', f.durationMs, f.healedMs ?? '-', f.note]),
        ),
  );
  out.push('\nProducers (idempotent, acks=all):');
  const tot = s.producers.reduce((a, p) => ({ sent: a.sent + p.sent, acked: a.acked + p.acked, failed: a.failed + p.failed, unknown: a.unknown + p.unknown }), {
    sent: 0,
    acked: 0,
    failed: 0,
    unknown: 0,
  });
  out.push(
    formatTable(
      ['producer', 'client', 'sent', 'acked', 'failed', 'unknown'],
      [...s.producers.map((p) => [p.producer, p.client, p.sent, p.acked, p.failed, p.unknown]), ['all', '', tot.sent, tot.acked, tot.failed, tot.unknown]],
    ),
  );
  if (s.produceErrors.length > 0) out.push(`produce errors: ${s.produceErrors.map((e) => `${e.count} x ${e.error}`).join('; ')}`);
  out.push(
    `\nReplicas (log end per node; null = no file): ${Object.entries(s.replicaEnds)
      .map(([p, e]) => `p${p} ${JSON.stringify(e)}`)
      .join('  ')}`,
  );
  out.push(`Converged (every ISR back to ${NODES}): ${s.converged ? `yes, after ${s.convergedMs} ms` : 'NO'}`);
  out.push(`\nChecker (${s.totals.read} records read, ${s.totals.acked} acknowledged writes):`);
  out.push(formatReport({ counts: s.counts, examples: s.examples }));
  out.push('');
  out.push(s.ok ? 'PASS: every anomaly count is 0' : `FAIL: anomalies found. seed ${s.seed}; repeat with: ${s.repeat}`);
  out.push(s.kept ? `logs and data kept in ${s.dir} (history.json holds every write and read)` : 'logs and data removed (--keep-logs keeps them)');
  console.log(out.join('\n'));
}

let summary;
try {
  summary = await main();
} catch (err) {
  abort('the run failed', err);
}
if (!summary.kept) rmSync(dir, { recursive: true, force: true });
if (JSON_OUT) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`, () => process.exit(summary.ok ? 0 : 1));
else {
  printHuman(summary);
  process.exit(summary.ok ? 0 : 1);
}
