/**
 * A Brook node as a child process (`node bin/brook.js start ...`), for tests that kill it or
 * that must survive the node's process dying. Every wait has a timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/brook.js', import.meta.url));

export interface ChildNode {
  readonly proc: ChildProcess;
  readonly host: string;
  readonly port: number;
  /** Everything the child wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code or signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** SIGKILL, then waits (bounded) for the exit. */
  kill9(timeoutMs?: number): Promise<void>;
}

/** A port that was free a moment ago (bound to 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
}

/** Starts a node and resolves once it logged "brook node started" (listener on `port`). */
export async function startChildNode(opts: {
  port: number;
  dataDir: string;
  workers?: number;
  timeoutMs?: number;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
}): Promise<ChildNode> {
  const args = [BIN, 'start', '--port', String(opts.port), '--data-dir', opts.dataDir, '--workers', String(opts.workers ?? 2), '--log-level', 'info', ...(opts.extraArgs ?? [])];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  let out = '';
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  const started = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString('utf8');
      if (out.includes('"msg":"brook node started"')) resolve();
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    void exited.then((e) => reject(new Error(`node exited before starting (${JSON.stringify(e)}):\n${out.slice(-4000)}`)));
  });
  const child: ChildNode = {
    proc,
    host: '127.0.0.1',
    port: opts.port,
    output: () => out,
    exited,
    alive: () => exitInfo === null,
    async kill9(timeoutMs = 10_000) {
      if (exitInfo) return;
      proc.kill('SIGKILL');
      await withTimeout(exited, timeoutMs, 'exit after SIGKILL');
    },
  };
  try {
    await withTimeout(started, opts.timeoutMs ?? 20_000, 'node start');
  } catch (err) {
    await child.kill9().catch(() => undefined);
    throw err;
  }
  return child;
}
