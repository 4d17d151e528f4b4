// Starts a Brook node as a child process (fresh data dir, ephemeral port) so that a benchmark's
// client does not share the broker's main thread. Stopped by PID with SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/brook.js', import.meta.url));

export async function startNodeProcess({ workers = 1, extraArgs = [], execArgv = [], stdoutTo } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'brook-bench-'));
  const child = spawn(process.execPath, [...execArgv, bin, 'start', '--port', '0', '--data-dir', dataDir, '--workers', String(workers), '--log-level', 'info', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let httpPort = -1;
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('node did not start within 20 s')), 20_000);
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /"listener":"[^"]*:(\d+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
        httpPort = Number(/"http":"[^"]*:(\d+)"/.exec(out)?.[1] ?? -1);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with code ${code}: ${out}`));
    });
  });
  if (stdoutTo) child.stdout.pipe(stdoutTo);
  else child.stdout.resume();
  return {
    host: '127.0.0.1',
    port,
    bootstrap: `127.0.0.1:${port}`,
    pid: child.pid,
    dataDir,
    httpPort,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
