// etcd and Brook cluster nodes as child processes, shared by `npm run cluster`
// (scripts/cluster.mjs) and the cluster benchmark (bench/cluster.mjs). Every wait has a
// timeout; nodes and etcd are stopped by PID (SIGTERM, then SIGKILL after a grace period).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BROOK_BIN = fileURLToPath(new URL('../../bin/brook.js', import.meta.url));
export const ETCD_MISSING = 'etcd not found on PATH: install the Debian package etcd-server (sudo apt-get install etcd-server)';

/** Path of a working `etcd`, or null. */
export function findEtcd() {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/local/bin', '/usr/sbin'])) {
    if (!dir) continue;
    const p = join(dir, 'etcd');
    if (!existsSync(p)) continue;
    if (spawnSync(p, ['--version'], { timeout: 5_000 }).status === 0) return p;
  }
  return null;
}

/** A port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves true once `proc` has exited, false after `ms`. */
function exitWithin(proc, exited, ms) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  let timer;
  return Promise.race([exited.then(() => true), new Promise((r) => (timer = setTimeout(() => r(false), ms)))]).finally(() => clearTimeout(timer));
}

/** SIGTERM (and SIGCONT, should it be stopped), SIGKILL after `graceMs`; resolves once it exited. */
async function terminate(proc, exited, graceMs) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  proc.kill('SIGCONT');
  if (await exitWithin(proc, exited, graceMs)) return;
  proc.kill('SIGKILL');
  await exitWithin(proc, exited, 10_000);
}

/**
 * Starts a single-member etcd on 127.0.0.1 and resolves once /health answers true. `logFile`
 * receives its output (else it is discarded). `detached` puts it in its own process group, so
 * a terminal's Ctrl-C reaches only the parent, which then stops it in its turn.
 */
export async function startEtcd({ dataDir, clientPort, peerPort, logFile, timeoutMs = 20_000, detached = false }) {
  const bin = findEtcd();
  if (bin === null) throw new Error(ETCD_MISSING);
  mkdirSync(dataDir, { recursive: true });
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = ['--name', 'brook', '--data-dir', dataDir, '--listen-client-urls', client, '--advertise-client-urls', client, '--listen-peer-urls', peer];
  args.push('--initial-advertise-peer-urls', peer, '--initial-cluster', `brook=${peer}`, '--logger', 'zap', '--log-level', 'warn');
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached });
  let tail = '';
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
  const onData = (d) => {
    tail = (tail + d.toString('utf8')).slice(-8000);
    log?.write(d);
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  let gone = null;
  void exited.then((e) => (gone = e));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone) throw new Error(`etcd exited (${JSON.stringify(gone)}) before answering on ${client}:\n${tail}`);
    try {
      const res = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = await res.json();
      if (body.health === true || body.health === 'true') break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`etcd did not answer ${client}/health within ${timeoutMs} ms:\n${tail}`);
    }
    await sleep(50);
  }
  return {
    endpoint: `127.0.0.1:${clientPort}`,
    url: `etcd://127.0.0.1:${clientPort}`,
    pid: proc.pid,
    exited,
    async stop(graceMs = 10_000) {
      await terminate(proc, exited, graceMs);
      log?.end();
    },
  };
}

/**
 * Resolves once the `brook start` process `proc` logged "brook node started"; copies its output
 * to `log` meanwhile and after (while the stream is open). Rejects, with the end of its output,
 * when it exits first, or after `timeoutMs` (killing it). Shared by startNode and the fault
 * test's nodes (chaos-cluster.mjs).
 */
export function nodeStarted(proc, exited, { nodeId, timeoutMs, log = null, where = '' }) {
  let out = '';
  let started = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`node ${nodeId} did not start within ${timeoutMs} ms${where}:\n${out.slice(-4000)}`));
    }, timeoutMs);
    const onData = (d) => {
      if (log && !log.writableEnded) log.write(d);
      if (started) return;
      out = (out + d.toString('utf8')).slice(-20_000);
      if (out.includes('"msg":"brook node started"')) {
        started = true;
        out = '';
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    void exited.then((e) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`node ${nodeId} exited before starting (${JSON.stringify(e)})${where}:\n${out.slice(-4000)}`));
    });
  });
}

/**
 * Starts `brook start` for one cluster node (or, without `metadataStore`, a single node) and
 * resolves once it logged "brook node started". The node's output goes to `logFile` (else it
 * is discarded); `detached` as for startEtcd. `restart()` starts it again on the same ports and data dir.
 */
export async function startNode(spec) {
  const { nodeId, metadataStore, port, httpPort, dataDir, workers = 1, sessionTimeoutMs, logFile, extraArgs = [], timeoutMs = 30_000, detached = false } = spec;
  const args = [BROOK_BIN, 'start', '--node-id', String(nodeId), '--port', String(port), '--http-port', String(httpPort), '--data-dir', dataDir, '--workers', String(workers)];
  if (metadataStore) args.push('--metadata-store', metadataStore);
  if (sessionTimeoutMs !== undefined) args.push('--node-session-timeout-ms', String(sessionTimeoutMs));
  args.push('--log-level', 'info', ...extraArgs);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached });
  const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  await nodeStarted(proc, exited, { nodeId, timeoutMs, log });
  void exited.then(() => log?.end());
  return {
    ...spec,
    bootstrap: `127.0.0.1:${port}`,
    pid: proc.pid,
    proc,
    exited,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    /** SIGTERM (a cluster node's controlled shutdown), SIGKILL after `graceMs`. */
    stop: (graceMs = 30_000) => terminate(proc, exited, graceMs),
    async kill9() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exitWithin(proc, exited, 10_000);
    },
    restart: () => startNode(spec),
  };
}
