import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../src/config.js';
import { tempDir } from '../helpers/tmp.js';

const bin = join(import.meta.dirname, '../../bin/brook.js');
let tmp: { dir: string; cleanup: () => void };
beforeEach(() => { tmp = tempDir(); });
afterEach(() => tmp.cleanup());

describe('brook start', () => {
  it('starts a node, logs where it listens and its data, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, 'start', '--port', '0', '--data-dir', tmp.dir, '--workers', '2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { out += c; });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start line within 15 s: ${out}`)), 15_000);
      child.stdout.on('data', () => { if (out.includes('brook node started')) { clearTimeout(timer); resolve(); } });
    });
    const started = JSON.parse(out.split('\n').find((l) => l.includes('brook node started'))!);
    expect(started.dataDir).toBe(tmp.dir);
    expect(started.workers).toBe(2);
    expect(started.listener).toMatch(/^127\.0\.0\.1:\d+$/);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(out).toContain('brook node stopped');
  });

  it('rejects a bad flag value with a message naming the setting and the allowed values', () => {
    const r = spawnSync(process.execPath, [bin, 'start', '--durability', 'sometimes', '--data-dir', tmp.dir], { encoding: 'utf8', timeout: 15_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--durability');
    expect(r.stderr).toContain('normal, full');
  });

  it('rejects a bad environment variable naming it', () => {
    const r = spawnSync(process.execPath, [bin, 'start', '--data-dir', tmp.dir], {
      encoding: 'utf8', timeout: 15_000, env: { ...process.env, BROOK_WORKERS: 'many' },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('BROOK_WORKERS');
    expect(r.stderr).toContain('integer from 1 to 256');
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
