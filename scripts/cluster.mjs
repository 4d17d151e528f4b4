#!/usr/bin/env node
// `npm run cluster`: a three-node Brook cluster on this machine. Starts etcd (the metadata
// store; client port 2379, data in <dir>/etcd) and nodes 1, 2 and 3 on Kafka ports 9092, 9093,
// 9094 and HTTP ports 8080, 8081, 8082 (data in <dir>/node-N, logs in <dir>/logs), prints how to
// connect, and stops them all on Ctrl-C (or SIGTERM): the nodes first, each with a controlled
// shutdown, then etcd (they run in their own process groups, so Ctrl-C reaches this script
// alone and the order holds). Needs etcd (Debian package etcd-server) and a build (npm ci does it).
//   node scripts/cluster.mjs [--dir ./data/cluster] [--workers 1] [--etcd-port 2379]
import { mkdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ETCD_MISSING, findEtcd, startEtcd, startNode } from './lib/cluster-processes.mjs';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: './data/cluster' },
    workers: { type: 'string', default: '1' },
    'etcd-port': { type: 'string', default: '2379' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: node scripts/cluster.mjs [--dir ./data/cluster] [--workers 1] [--etcd-port 2379]');
  process.exit(0);
}
if (findEtcd() === null) {
  console.error(`npm run cluster: ${ETCD_MISSING}`);
  process.exit(1);
}

const dir = resolve(values.dir);
const logs = join(dir, 'logs');
mkdirSync(logs, { recursive: true });
const etcdPort = Number(values['etcd-port']);
const NODES = [1, 2, 3].map((id) => ({ nodeId: id, port: 9091 + id, httpPort: 8079 + id, dataDir: join(dir, `node-${id}`), logFile: join(logs, `node-${id}.log`) }));

let etcd = null;
const nodes = new Map();
let stopping = false;

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping: nodes (controlled shutdown), then etcd ...');
  await Promise.all(
    [...nodes.values()].map(async (n) => {
      await n.stop(30_000);
      console.log(`node ${n.nodeId} stopped`);
    }),
  );
  if (etcd) {
    await etcd.stop();
    console.log('etcd stopped');
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  etcd = await startEtcd({ dataDir: join(dir, 'etcd'), clientPort: etcdPort, peerPort: etcdPort + 1, logFile: join(logs, 'etcd.log'), detached: true });
  console.log(`etcd ${etcd.url} (pid ${etcd.pid}, data ${join(dir, 'etcd')})`);
  // allSettled: when one node fails to start, the others have started (or failed) before all stop.
  const started = await Promise.allSettled(
    NODES.map(async (spec) => {
      const n = await startNode({ ...spec, metadataStore: etcd.url, workers: Number(values.workers), detached: true });
      nodes.set(spec.nodeId, n);
      console.log(`node ${n.nodeId}: kafka 127.0.0.1:${n.port}, http://127.0.0.1:${n.httpPort} (pid ${n.pid}, data ${n.dataDir}, log ${n.logFile})`);
      void n.exited.then((e) => {
        if (!stopping) console.error(`node ${n.nodeId} exited unexpectedly (${JSON.stringify(e)}); see ${n.logFile}`);
      });
    }),
  );
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
} catch (err) {
  console.error(`npm run cluster: ${err.message}`);
  console.error(`logs in ${logs}`);
  await stopAll(1);
}

const bootstrap = NODES.map((n) => `127.0.0.1:${n.port}`).join(',');
console.log(`
A three-node Brook cluster is running (metadata in etcd ${etcd.endpoint}).
Connect any Kafka client to one or more of ${bootstrap}, e.g.
  kcat -b 127.0.0.1:9092 -L
  node bin/brook.js topics create events --partitions 6 --bootstrap-server 127.0.0.1:9093
  node bin/brook.js cluster nodes --http 127.0.0.1:8080
  node bin/brook.js cluster describe --http 127.0.0.1:8080
Web consoles: http://127.0.0.1:8080, :8081, :8082.
Stop everything with Ctrl-C (or kill -TERM ${process.pid}).`);
