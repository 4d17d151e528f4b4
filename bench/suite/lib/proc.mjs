// Child processes for servers under test: free ports, spawn, wait for a ready line, stop by PID.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Finds an executable on PATH or in the usual sbin folders; null when not installed. */
export function findBinary(name) {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/usr/local/bin', '/usr/local/sbin']) {
    if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * Spawns `cmd args`, resolves once `ready` matches its stdout/stderr. Returns { pid, output(), stop() }:
 * stop() sends SIGTERM to that PID (SIGKILL after 10 s) and waits for the exit.
 */
export async function startProcess(cmd, args, { ready, timeoutMs = 20_000, env, name = cmd } = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  let out = '';
  const exited = new Promise((r) => child.once('exit', (code, sig) => r({ code, sig })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready within ${timeoutMs} ms: ${out.slice(-2000)}`)), timeoutMs);
    const onData = (c) => {
      if (out.length < 100_000) out += c;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    exited.then(({ code, sig }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? sig}) before ready: ${out.slice(-2000)}`));
    });
  });
  return {
    pid: child.pid,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid, 'SIGTERM');
      const t = setTimeout(() => {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* already exited */
        }
      }, 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
