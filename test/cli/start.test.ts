import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../src/config.js';
import { startBroker } from '../../src/embedded.js';
import { tempDir } from '../helpers/tmp.js';

const bin = join(import.meta.dirname, '../../bin/brook.js');
let tmp: { dir: string; cleanup: () => void };
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('brook start', () => {
  it('starts a node, logs where it listens and its data, and stops cleanly on SIGTERM', async () => {
    const { child, started, output } = await startNode(tmp.dir, ['--workers', '2']);
    expect(started.dataDir).toBe(tmp.dir);
    expect(started.workers).toBe(2);
    expect(started.listener).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await exitOf(child, 'SIGTERM')).toBe(0);
    expect(output()).toContain('brook node stopped');
  });

  it('rejects a bad flag value with a message naming the setting and the allowed values', () => {
    const r = spawnSync(process.execPath, [bin, 'start', '--durability', 'sometimes', '--data-dir', tmp.dir], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--durability');
    expect(r.stderr).toContain('normal, full');
  });

  it('rejects a bad environment variable naming it', () => {
    const r = spawnSync(process.execPath, [bin, 'start', '--data-dir', tmp.dir], {
      encoding: 'utf8',
      timeout: 15_000,
      env: { ...process.env, BROOK_WORKERS: 'many' },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('BROOK_WORKERS');
    expect(r.stderr).toContain('integer from 1 to 256');
  });
});

/**
 * Starts `brook start` on `dataDir` (ephemeral ports, one worker unless `args` say otherwise) and
 * resolves with the child and its start line once it logged it.
 */
async function startNode(dataDir: string, args: string[] = []): Promise<{ child: ChildProcess; started: Record<string, unknown>; output: () => string }> {
  const child = spawn(process.execPath, [bin, 'start', '--port', '0', '--http-port', '0', '--data-dir', dataDir, '--workers', '1', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    out += c;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start line within 20 s: ${out}`)), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before starting: ${out}`));
    });
    child.stdout.on('data', () => {
      if (out.includes('brook node started')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const started = JSON.parse(out.split('\n').find((l) => l.includes('brook node started'))!) as Record<string, unknown>;
  return { child, started, output: () => out };
}

function exitOf(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve(child.exitCode);
      return;
    }
    child.once('exit', (c) => resolve(c));
    child.kill(signal);
  });
}

describe('the data dir', () => {
  it('names the web console URL in the start line', async () => {
    const { child, started } = await startNode(tmp.dir);
    try {
      expect(started.console).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(started.console).toBe(`http://${started.http as string}`);
    } finally {
      expect(await exitOf(child, 'SIGTERM')).toBe(0);
    }
  });

  it('refuses a second node on a dir in use, naming the dir and the PID that holds it', async () => {
    const first = await startNode(tmp.dir);
    try {
      const r = spawnSync(process.execPath, [bin, 'start', '--port', '0', '--http-port', '-1', '--data-dir', tmp.dir, '--workers', '1'], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`data dir ${tmp.dir} is in use`);
      expect(r.stderr).toContain(`PID ${first.child.pid}`);
      // The first node is unharmed: it still serves and stops cleanly.
      expect(first.child.exitCode).toBeNull();
    } finally {
      expect(await exitOf(first.child, 'SIGTERM')).toBe(0);
    }
    expect(first.output()).not.toContain('UNIQUE constraint');
  });

  it('is released by a node killed with SIGKILL, so the next start succeeds', async () => {
    const first = await startNode(tmp.dir);
    await exitOf(first.child, 'SIGKILL');
    const second = await startNode(tmp.dir);
    expect(await exitOf(second.child, 'SIGTERM')).toBe(0);
  });

  it('is locked by the embedded broker too, and released by its stop()', async () => {
    const dataDir = join(tmp.dir, 'embedded');
    const a = await startBroker({ dataDir, workers: 1, logLevel: 'silent' });
    try {
      await expect(startBroker({ dataDir, workers: 1, logLevel: 'silent' })).rejects.toThrow(/is in use by another Brook node/);
      const r = spawnSync(process.execPath, [bin, 'start', '--port', '0', '--http-port', '-1', '--data-dir', dataDir, '--workers', '1'], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`PID ${process.pid}`);
    } finally {
      await a.stop();
    }
    const b = await startBroker({ dataDir, workers: 1, logLevel: 'silent' });
    await b.stop();
  });

  it('that cannot be created is an error naming it, not a spinning process (/proc)', () => {
    const r = spawnSync(process.execPath, [bin, 'start', '--port', '0', '--http-port', '-1', '--data-dir', '/proc/nope/deeper'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.error).toBeUndefined(); // not killed by the timeout
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('data dir /proc/nope/deeper');
    expect(r.stderr).toContain('--data-dir');
  });

  it('that is a file, or under a file, is an error naming it', () => {
    const file = join(tmp.dir, 'plain-file');
    writeFileSync(file, 'x');
    for (const dir of [file, join(file, 'sub')]) {
      const r = spawnSync(process.execPath, [bin, 'start', '--port', '0', '--http-port', '-1', '--data-dir', dir], { encoding: 'utf8', timeout: 20_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`data dir ${dir}`);
      expect(r.stderr).toContain('not a directory');
    }
  });

  it('is created with its missing parents', async () => {
    const dir = join(tmp.dir, 'a', 'b', 'c');
    const broker = await startBroker({ dataDir: dir, workers: 1, logLevel: 'silent' });
    expect(broker.dataDir).toBe(dir);
    await broker.stop();
  });
});

describe('resolveConfig', () => {
  it('takes flags over environment over config file over defaults', () => {
    const file = join(tmp.dir, 'brook.properties');
    writeFileSync(file, '# a comment\ndata-dir=/from/file\nworkers=3\nport=9100\n');
    const c = resolveConfig({ file, env: { BROOK_WORKERS: '5', BROOK_PORT: '9200' }, flags: { port: '9300' } });
    expect(c.dataDir).toBe('/from/file');
    expect(c.workers).toBe(5);
    expect(c.port).toBe(9300);
    expect(c.host).toBe('127.0.0.1');
  });

  it('reads JSON config files and names unknown keys', () => {
    const file = join(tmp.dir, 'brook.json');
    writeFileSync(file, JSON.stringify({ dataDir: '/x', durabilty: 'full' }));
    expect(() => resolveConfig({ file })).toThrow(ConfigError);
    expect(() => resolveConfig({ file })).toThrow(/unknown setting durabilty/);
  });
});
