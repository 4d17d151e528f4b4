/**
 * A single-member etcd server as a child process, for the cluster tests (the metadata store of
 * a Brook cluster): free client and peer ports, a temporary data dir, and the signals a test
 * needs (stop, SIGKILL, SIGSTOP/SIGCONT, restart on the same data dir and ports). The binary
 * is `etcd` from Debian package etcd-server; etcdRequirement() lets a test file skip, naming
 * the package, when it is missing. Every wait has a timeout.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../crash/child-node.js';
import type { Requirement } from './clients.js';
import { sleep, tempDir } from './tmp.js';

let etcdPath: string | null | undefined;
/** Path of a working `etcd` binary, or null. */
export function findEtcd(): string | null {
  if (etcdPath !== undefined) return etcdPath;
  etcdPath = null;
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/local/bin', '/usr/sbin'])) {
    if (!dir) continue;
    const p = join(dir, 'etcd');
    if (!existsSync(p)) continue;
    const r = spawnSync(p, ['--version'], { timeout: 5_000, encoding: 'utf8' });
    if (r.status === 0) {
      etcdPath = p;
      break;
    }
  }
  return etcdPath;
}

export function etcdRequirement(): Requirement {
  const path = findEtcd();
  return { name: 'etcd', available: path !== null, debianPackage: 'etcd-server', path };
}

export interface EtcdServer {
  /** host:port of the client listener, as Brook's --metadata-store lists it. */
  readonly endpoint: string;
  /** etcd://host:port, the --metadata-store value for this server. */
  readonly url: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  /** PID of the current process (changes on restart). */
  readonly pid: number;
  alive(): boolean;
  /** How the current process exited, or null while it runs. */
  exitInfo(): { code: number | null; signal: NodeJS.Signals | null } | null;
  /** Whether /health answers true right now (false when stopped, paused or down). */
  healthy(timeoutMs?: number): Promise<boolean>;
  /** What the current process wrote to stdout and stderr (the last 64 KiB). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; waits (bounded) for the exit. Keeps the data dir. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL; waits (bounded) for the exit. */
  kill9(): Promise<void>;
  /** SIGSTOP: the process stays, but answers nothing until resume(). */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Starts etcd again on the same data dir and ports (stopping the running one first). */
  restart(): Promise<void>;
  /** stop() and remove the data dir. Safe to call more than once. */
  destroy(): Promise<void>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}

async function health(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return false;
    const body = (await res.json()) as { health?: unknown };
    return body.health === true || body.health === 'true';
  } catch {
    return false;
  }
}

const OUTPUT_MAX = 64 * 1024;

/** Running etcd processes, SIGKILLed should the test process exit without stopping them (a hook timeout). */
const running = new Set<ChildProcess>();
let exitHook = false;
function track(p: ChildProcess): void {
  running.add(p);
  p.once('exit', () => running.delete(p));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const c of running) c.kill('SIGKILL');
  });
}

/** Starts a fresh single-member etcd and resolves once /health answers true (within `timeoutMs`). */
export async function startEtcd(opts: { timeoutMs?: number; name?: string } = {}): Promise<EtcdServer> {
  const bin = findEtcd();
  if (bin === null) throw new Error('etcd not found; install Debian package etcd-server');
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const name = opts.name ?? 't';
  const tmp = tempDir('brook-etcd-');
  const dataDir = join(tmp.dir, 'etcd');
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name',
    name,
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    clientUrl,
    '--advertise-client-urls',
    clientUrl,
    '--listen-peer-urls',
    peerUrl,
    '--initial-advertise-peer-urls',
    peerUrl,
    '--initial-cluster',
    `${name}=${peerUrl}`,
    '--logger',
    'zap',
    '--log-level',
    'warn',
  ];

  let proc: ChildProcess | null = null;
  let out = '';
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let exited: Promise<void> = Promise.resolve();
  let destroyed = false;

  const launch = async (): Promise<void> => {
    out = '';
    exitInfo = null;
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    track(p);
    proc = p;
    const onData = (d: Buffer) => {
      out += d.toString('utf8');
      if (out.length > OUTPUT_MAX) out = out.slice(-OUTPUT_MAX);
    };
    p.stdout?.on('data', onData);
    p.stderr?.on('data', onData);
    exited = new Promise<void>((resolve) => {
      p.once('exit', (code, signal) => {
        if (proc === p) exitInfo = { code, signal };
        resolve();
      });
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exitInfo !== null) throw new Error(`etcd exited before answering (${JSON.stringify(exitInfo)}):\n${out.slice(-4000)}`);
      if (await health(`${clientUrl}/health`, 1_000)) return;
      if (Date.now() > deadline) {
        p.kill('SIGKILL');
        throw new Error(`etcd did not answer ${clientUrl}/health within ${timeoutMs} ms:\n${out.slice(-4000)}`);
      }
      await sleep(50);
    }
  };

  const isAlive = () => proc !== null && exitInfo === null;

  const stop = async (graceMs = 5_000): Promise<void> => {
    const p = proc;
    if (p === null || !isAlive()) return;
    p.kill('SIGTERM');
    p.kill('SIGCONT'); // a paused etcd only acts on SIGTERM once continued
    const killer = setTimeout(() => p.kill('SIGKILL'), graceMs);
    try {
      await withTimeout(exited, graceMs + 10_000, 'etcd exit after SIGTERM');
    } finally {
      clearTimeout(killer);
    }
  };

  const server: EtcdServer = {
    endpoint: `127.0.0.1:${clientPort}`,
    url: `etcd://127.0.0.1:${clientPort}`,
    clientPort,
    peerPort,
    dataDir,
    get pid() {
      return proc?.pid ?? -1;
    },
    alive: isAlive,
    exitInfo: () => exitInfo,
    healthy: (ms = 1_000) => health(`${clientUrl}/health`, ms),
    output: () => out,
    stop,
    async kill9() {
      const p = proc;
      if (p === null || !isAlive()) return;
      p.kill('SIGKILL');
      await withTimeout(exited, 10_000, 'etcd exit after SIGKILL');
    },
    pause() {
      if (isAlive()) proc?.kill('SIGSTOP');
    },
    resume() {
      if (isAlive()) proc?.kill('SIGCONT');
    },
    async restart() {
      if (destroyed) throw new Error('etcd was destroyed');
      await stop();
      await launch();
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      try {
        await stop(2_000);
      } finally {
        tmp.cleanup();
      }
    },
  };

  try {
    await launch();
  } catch (err) {
    tmp.cleanup();
    throw err;
  }
  return server;
}
