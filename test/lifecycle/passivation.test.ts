/**
 * Passivation of idle partitions through a real node: a partition with no request for
 * `partitionIdlePassivateMs` (100 ms here) closes its log; the next produce, fetch or list-offsets
 * reopens it. Checked: nothing lost or reordered across many passivations under concurrent
 * produce and fetch; the budget of open logs (least recently used first out); a restart that
 * opens no log; a passivated partition woken for its retention and closed again; the console's
 * passivate and wake routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../src/client/index.js';
import { buildBatch } from '../../src/storage/record-batch.js';
import { fetchAll, fetchOnce, produceBatch, recordsOf, type RawClient } from '../helpers/raw-client.js';
import { tempDir } from '../helpers/tmp.js';
import { broker, type EmbeddedBroker } from '../interop/setup.js';
import { listOffset, rawClient, sleep, waitFor } from './e2e-helpers.js';

const batchOf = (values: string[]) => buildBatch({ records: values.map((v) => ({ key: null, value: Buffer.from(v) })) });

describe('lifecycle e2e: passivation of idle partitions', () => {
  const dataDir = tempDir('brook-passivation-');
  let b: EmbeddedBroker;
  let admin: Admin;
  let raw: RawClient;
  const opts = { dataDir: dataDir.dir, workers: 2, partitionIdlePassivateMs: 100, maxOpenPartitionLogs: 6, groupInitialRebalanceDelayMs: 0 };

  beforeAll(async () => {
    b = await broker(opts);
    admin = new Admin({ bootstrapServers: [b.bootstrap] });
    raw = await rawClient(b.bootstrap);
  });
  afterAll(async () => {
    raw?.close();
    await admin?.close();
    await b?.stop();
    dataDir.cleanup();
  });

  const stats = () => b.node.supervisor.passivationStats();

  it('loses and reorders nothing across many passivations under concurrent produce and fetch', async () => {
    const topic = 'pas-order';
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 3 }] });
    const before = stats().passivations;
    const sent: string[][] = [[], [], []];
    const seen: string[][] = [[], [], []];
    let producing = true;
    // Readers follow each partition from offset 0 while it is written, paused and reopened.
    const readers = [0, 1, 2].map(async (p) => {
      const c = await rawClient(b.bootstrap);
      let offset = 0;
      try {
        while (producing || offset < sent[p]!.length) {
          const f = await fetchOnce(c, topic, p, offset);
          expect(f.errorCode).toBe(0);
          const recs = recordsOf(f.records);
          for (const r of recs) {
            expect(r.offset).toBe(offset);
            seen[p]!.push(r.value!);
            offset++;
          }
          if (recs.length === 0) await sleep(30 + Math.random() * 200);
        }
      } finally {
        c.close();
      }
    });
    for (let i = 0; i < 45; i++) {
      const p = i % 3;
      const values = Array.from({ length: 4 }, (_, k) => `p${p}-b${i}-r${k}`);
      const res = await produceBatch(raw, topic, p, batchOf(values));
      expect(res.errorCode).toBe(0);
      sent[p]!.push(...values);
      // Now and then longer than the idle time, so partitions close between writes.
      await sleep(i % 4 === 0 ? 250 : 10);
    }
    producing = false;
    await Promise.all(readers);
    for (const p of [0, 1, 2]) {
      expect(seen[p]).toEqual(sent[p]);
      const all = await fetchAll(raw, topic, p);
      expect(all.records.map((r) => r.value)).toEqual(sent[p]);
    }
    expect(stats().passivations - before).toBeGreaterThanOrEqual(5);
  });

  it('keeps at most max.open.partition.logs open, closing the least recently used, and every partition stays readable', async () => {
    const topic = 'pas-budget';
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 16 }] });
    await Promise.all(Array.from({ length: 16 }, (_, p) => produceBatch(raw, topic, p, batchOf([`v${p}`]))));
    await waitFor('the open logs back within the budget', async () => (stats().active <= 6 ? true : undefined), 10_000);
    for (let p = 0; p < 16; p++) {
      const all = await fetchAll(raw, topic, p);
      expect(all.records.map((r) => r.value)).toEqual([`v${p}`]);
    }
    expect(stats().maxActive).toBe(6);
  });

  it('passivates a partition with time retention, wakes it when its oldest records expire, and closes it again', async () => {
    const topic = 'pas-retention';
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 1, configs: { 'retention.ms': '1500' } }] });
    const id = `partition:${topic}:0`;
    const events: string[] = [];
    const onActivated = (e: { actorId: string }) => e.actorId === id && events.push('activated');
    const onPassivated = (e: { actorId: string; reason: string }) => e.actorId === id && events.push(`passivated: ${e.reason}`);
    b.node.supervisor.events.on('activated', onActivated);
    b.node.supervisor.events.on('passivated', onPassivated);
    try {
      expect((await produceBatch(raw, topic, 0, batchOf(['old-1', 'old-2']))).errorCode).toBe(0);
      await waitFor('passivated after its write', async () => (b.node.supervisor.summary(id)?.status === 'passivated' ? true : undefined));
      // No request reaches it; its own wake (retention due about 1.5 s after the write) does.
      await waitFor('woken for retention and closed again', async () => (events.includes('passivated: maintenance done') ? true : undefined), 10_000);
    } finally {
      b.node.supervisor.events.off('activated', onActivated);
      b.node.supervisor.events.off('passivated', onPassivated);
    }
    expect(await listOffset(raw, topic, 0, -2)).toBe(2);
    expect(await listOffset(raw, topic, 0, -1)).toBe(2);
  });

  it('lets a person passivate and wake an actor over the HTTP API', async () => {
    const topic = 'pas-http';
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 1 }] });
    const id = encodeURIComponent(`partition:${topic}:0`);
    const post = async (path: string) =>
      (await fetch(`http://127.0.0.1:${b.node.httpPort}${path}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).json();
    expect(await post(`/api/actors/${id}/wake`)).toMatchObject({ status: 'running' });
    expect(await post(`/api/actors/${id}/passivate`)).toMatchObject({ passivated: true });
    expect(b.node.supervisor.summary(`partition:${topic}:0`)?.status).toBe('passivated');
  });

  it('restarts without opening the logs, and opens one on its first request', async () => {
    const topic = 'pas-restart';
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 20 }] });
    await Promise.all(Array.from({ length: 20 }, (_, p) => produceBatch(raw, topic, p, batchOf([`r${p}`]))));
    raw.close();
    await admin.close();
    await b.stop();
    // Wakes of logs that exist are spread over an hour here, so none is due yet.
    b = await broker({ ...opts, logRetentionCheckIntervalMs: 3_600_000 });
    admin = new Admin({ bootstrapServers: [b.bootstrap] });
    raw = await rawClient(b.bootstrap);
    const total = stats().active + stats().passivated;
    expect(total).toBeGreaterThanOrEqual(91);
    expect(stats().active).toBeLessThanOrEqual(2);
    const all = await fetchAll(raw, topic, 7);
    expect(all.records.map((r) => r.value)).toEqual(['r7']);
    expect(b.node.supervisor.summary(`partition:${topic}:7`)?.status).toBe('running');
  });
});
