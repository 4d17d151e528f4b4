// 100,000 partitions on one node (issue 17): creates `--topics` topics of `--partitions` partitions
// each on a fresh node (a child process, `--workers` threads) and prints, in one run:
//   - creation time (sequential CreateTopics, one topic per request) and topics/s;
//   - RSS and open file descriptors of the node once idle (from /proc/<pid>);
//   - restart time (SIGTERM, start on the same data dir, until the listener answers Metadata);
//   - p50/p99/max of a first produce to a passivated partition (`--touches` partitions picked at
//     random, one acks=1 produce each, one at a time) and of a produce to an active one;
//   - produce throughput spread over the first `--spread` partitions at random (one 10-record
//     batch of 100 B records per request, 16 requests in flight, `--spread-requests` requests),
//     twice: first writes (most logs created), then again (logs on disk, open or passivated).
// The node runs with its defaults (partition.idle.passivate.ms 5 min, max.open.partition.logs
// 4000) unless `--node-args` adds flags. Run after `npm run build`:
//   node bench/partitions.mjs [--topics 100] [--partitions 1000] [--workers 2] [--touches 500] [--spread 10000] [--spread-requests 20000]
//     [--node-args='--max-open-partition-logs 2000'] [--node-exec-args='--cpu-prof --cpu-prof-dir=/tmp/prof']
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Admin } from '../dist/src/client/index.js';
import { Connection } from '../dist/src/client/connection.js';
import { buildBatch } from '../dist/src/storage/record-batch.js';

const { values: args } = parseArgs({
  options: {
    topics: { type: 'string', default: '100' },
    partitions: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '2' },
    touches: { type: 'string', default: '500' },
    spread: { type: 'string', default: '10000' },
    'spread-requests': { type: 'string', default: '20000' },
    'node-args': { type: 'string', default: '' },
    'node-exec-args': { type: 'string', default: '' },
  },
});
const TOPICS = Number(args.topics);
const PARTITIONS = Number(args.partitions);
const TOUCHES = Number(args.touches);
const SPREAD = Math.min(Number(args.spread), TOPICS * PARTITIONS);
const SPREAD_REQUESTS = Number(args['spread-requests']);
const bin = fileURLToPath(new URL('../bin/brook.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'brook-bench-partitions-'));
const nodeArgs = args['node-args'].split(' ').filter(Boolean);
// Node's own flags for the node process, e.g. --cpu-prof --cpu-prof-dir=/tmp/prof.
const nodeExecArgs = args['node-exec-args'].split(' ').filter(Boolean);

function startNode() {
  const child = spawn(
    process.execPath,
    [...nodeExecArgs, bin, 'start', '--port', '0', '--http-port', '-1', '--data-dir', dataDir, '--workers', args.workers, '--log-level', 'info', ...nodeArgs],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('node did not start within 120 s')), 120_000);
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /"listener":"[^"]*:(\d+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with code ${code}: ${out.slice(-2000)}`));
    });
  });
}

async function stopNode(child) {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
}

function procFigures(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMiB: Math.round(rssKiB / 1024), fds: readdirSync(`/proc/${pid}/fd`).length };
}

const percentile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
function latencies(ms) {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: +percentile(s, 0.5).toFixed(2), p99: +percentile(s, 0.99).toFixed(2), max: +s[s.length - 1].toFixed(2) };
}

const topicName = (t) => `p100k-${String(t).padStart(3, '0')}`;
const value = Buffer.alloc(100, 'x');
const oneRecord = () => buildBatch({ records: [{ key: null, value }] });
const tenRecords = () => buildBatch({ records: Array.from({ length: 10 }, () => ({ key: null, value })) });

async function produce(conn, topic, partition, records, acks = 1) {
  const res = await conn.request(0, { acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  const code = res.responses[0].partitionResponses[0].errorCode;
  if (code !== 0) throw new Error(`produce ${topic}-${partition}: error ${code}`);
}

async function main() {
  let { child, port } = await startNode();
  const baseline = procFigures(child.pid);
  const admin = new Admin({ bootstrapServers: [`127.0.0.1:${port}`], requestTimeoutMs: 120_000 });
  const t0 = performance.now();
  for (let t = 0; t < TOPICS; t++) await admin.createTopics({ topics: [{ name: topicName(t), numPartitions: PARTITIONS }], timeoutMs: 120_000 });
  const createMs = performance.now() - t0;
  await admin.close();
  await new Promise((r) => setTimeout(r, 3_000));
  const idle = procFigures(child.pid);

  const t1 = performance.now();
  await stopNode(child);
  const stopMs = performance.now() - t1;
  const t2 = performance.now();
  ({ child, port } = await startNode());
  const conn = await Connection.open({ host: '127.0.0.1', port, clientId: 'bench-partitions', connectTimeoutMs: 10_000, requestTimeoutMs: 60_000 });
  await conn.request(3, { topics: [{ name: topicName(0) }], allowAutoTopicCreation: false });
  const restartMs = performance.now() - t2;
  await new Promise((r) => setTimeout(r, 2_000));
  const afterRestart = procFigures(child.pid);

  // First touches of passivated partitions, one at a time.
  const first = [];
  const touched = new Set();
  while (first.length < TOUCHES) {
    const t = Math.floor(Math.random() * TOPICS);
    const p = Math.floor(Math.random() * PARTITIONS);
    if (touched.has(`${t}:${p}`)) continue;
    touched.add(`${t}:${p}`);
    const s = performance.now();
    await produce(conn, topicName(t), p, oneRecord());
    first.push(performance.now() - s);
  }
  // Produces to one active partition.
  const active = [];
  for (let i = 0; i < 1000; i++) {
    const s = performance.now();
    await produce(conn, topicName(0), 0, oneRecord());
    active.push(performance.now() - s);
  }
  // Spread: random partitions among the first SPREAD, 16 requests in flight. The first pass
  // creates most logs (their first write); the second finds them on disk, closed or open.
  const spread = async () => {
    const t = performance.now();
    let sent = 0;
    const lane = async () => {
      while (sent < SPREAD_REQUESTS) {
        sent++;
        const k = Math.floor(Math.random() * SPREAD);
        await produce(conn, topicName(Math.floor(k / PARTITIONS)), k % PARTITIONS, tenRecords());
      }
    };
    await Promise.all(Array.from({ length: 16 }, lane));
    return (performance.now() - t) / 1000;
  };
  const spreadSec = await spread();
  const spreadAgainSec = await spread();
  const afterSpread = procFigures(child.pid);
  conn.destroy();
  await stopNode(child);
  rmSync(dataDir, { recursive: true, force: true });

  const total = TOPICS * PARTITIONS;
  console.log(`${total} partitions (${TOPICS} topics x ${PARTITIONS}), --workers ${args.workers}${nodeArgs.length ? `, ${nodeArgs.join(' ')}` : ''}`);
  console.table([
    { measure: 'create (sequential CreateTopics)', value: `${(createMs / 1000).toFixed(1)} s (${Math.round(total / (createMs / 1000))} partitions/s)` },
    { measure: 'RSS / fds before any topic', value: `${baseline.rssMiB} MiB / ${baseline.fds}` },
    { measure: 'RSS / fds idle after creation', value: `${idle.rssMiB} MiB / ${idle.fds}` },
    { measure: 'clean stop (SIGTERM)', value: `${(stopMs / 1000).toFixed(1)} s` },
    { measure: 'restart until Metadata answers', value: `${(restartMs / 1000).toFixed(1)} s` },
    { measure: 'RSS / fds idle after restart', value: `${afterRestart.rssMiB} MiB / ${afterRestart.fds}` },
    { measure: `first produce to a passivated partition (${TOUCHES})`, value: JSON.stringify(latencies(first)) },
    { measure: 'produce to an active partition (1000)', value: JSON.stringify(latencies(active)) },
    {
      measure: `produce spread over ${SPREAD} partitions`,
      value: `${Math.round((SPREAD_REQUESTS * 10) / spreadSec)} records/s (${((SPREAD_REQUESTS * 10 * 100) / spreadSec / 1e6).toFixed(1)} MB/s), ${SPREAD_REQUESTS} requests of 10 x 100 B`,
    },
    {
      measure: `the same again (logs exist)`,
      value: `${Math.round((SPREAD_REQUESTS * 10) / spreadAgainSec)} records/s (${((SPREAD_REQUESTS * 10 * 100) / spreadAgainSec / 1e6).toFixed(1)} MB/s)`,
    },
    { measure: 'RSS / fds after the spread', value: `${afterSpread.rssMiB} MiB / ${afterSpread.fds}` },
  ]);
}

main().catch((err) => {
  console.error(err);
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(1);
});
