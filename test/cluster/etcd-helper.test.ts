/**
 * The cluster tests' etcd harness itself (test/helpers/etcd.ts): start, pause/resume, SIGKILL
 * and restart on the same data dir and ports, with a key written through etcd's v3 JSON
 * gateway surviving the restart.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf } from '../helpers/clients.js';
import { etcdRequirement, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { waitFor } from '../helpers/tmp.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

async function v3(etcd: EtcdServer, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`http://${etcd.endpoint}/v3/${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
  expect(res.status, `POST /v3/${path}`).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describeIf(etcdRequirement(), 'cluster harness: etcd', () => {
  let etcd: EtcdServer | undefined;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('answers on its client port, with the endpoint and url Brook takes', async () => {
    const e = etcd!;
    expect(e.endpoint).toBe(`127.0.0.1:${e.clientPort}`);
    expect(e.url).toBe(`etcd://127.0.0.1:${e.clientPort}`);
    expect(e.pid).toBeGreaterThan(0);
    expect(await e.healthy()).toBe(true);
    await v3(e, 'kv/put', { key: b64('brook/test'), value: b64('v1') });
  });

  it('pause() stops it answering and resume() brings it back', async () => {
    const e = etcd!;
    e.pause();
    // SIGSTOP reaches every thread of the process a moment after kill() returns.
    await waitFor(async () => !(await e.healthy(500)), 5_000, 'etcd unresponsive after SIGSTOP');
    e.resume();
    await waitFor(() => e.healthy(500), 10_000, 'etcd healthy after SIGCONT');
  });

  it('kill9() then restart() on the same data dir and ports keeps the data', async () => {
    const e = etcd!;
    const pid = e.pid;
    await e.kill9();
    expect(e.alive()).toBe(false);
    expect(await e.healthy(500)).toBe(false);
    await e.restart();
    expect(e.pid).not.toBe(pid);
    expect(await e.healthy()).toBe(true);
    const got = await v3(e, 'kv/range', { key: b64('brook/test') });
    const kvs = got.kvs as { value: string }[] | undefined;
    expect(Buffer.from(kvs?.[0]?.value ?? '', 'base64').toString('utf8')).toBe('v1');
  });

  it('stop() ends it with SIGTERM even while paused', async () => {
    const e = etcd!;
    e.pause();
    await e.stop();
    expect(e.alive()).toBe(false);
    await e.restart();
    expect(await e.healthy()).toBe(true);
  });
});
