import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Appended, PartitionConfig, PartitionProtocol } from '../../actors/partition/messages.js';
import { actorKindsUrl } from '../../actors/registry.js';
import type { ActorAddress } from '../../src/runtime/protocol.js';
import { Supervisor } from '../../src/runtime/supervisor.js';
import type { RuntimeLimits } from '../../src/runtime/limits.js';
import { buildBatch, iterateRecords, splitBatches } from '../../src/storage/record-batch.js';
import { tempDir, waitFor } from '../helpers/tmp.js';

const PARTITIONS = 16;
let tmp: { dir: string; cleanup: () => void };
let sup: Supervisor | undefined;

beforeEach(() => {
  tmp = tempDir();
});
afterEach(async () => {
  await sup?.shutdown();
  sup = undefined;
  tmp.cleanup();
});

/** A partition actor's address on this (node 0's) supervisor: asks are typed by its protocol. */
function at(p: number): ActorAddress<PartitionProtocol> {
  return { nodeId: 0, actorId: actorId(p) };
}

function actorId(p: number): string {
  return `partition:t:${p}`;
}

async function startWithPartitions(workers: number, limits: Partial<RuntimeLimits> = {}, n = PARTITIONS): Promise<Supervisor> {
  const s = await Supervisor.start({ workers, actorKinds: actorKindsUrl(), limits: { restartBackoffMinMs: 5, ...limits } });
  for (let p = 0; p < n; p++) {
    const config: PartitionConfig = { topic: 't', partition: p, path: `${tmp.dir}/t-${p}.db`, durability: 'normal' };
    await s.spawn(actorId(p), 'partition', config);
  }
  return s;
}

/** One record whose value is `p:i`, as an idempotent batch with sequence i when `producerId` is given. */
function batch(p: number, i: number, producerId = -1): Uint8Array {
  return buildBatch({
    baseOffset: 0,
    producerId,
    producerEpoch: producerId >= 0 ? 0 : -1,
    baseSequence: producerId >= 0 ? i : -1,
    records: [{ key: Buffer.from(`k${p}`), value: Buffer.from(`${p}:${i}`), timestamp: Date.now() }],
  });
}

function append(s: Supervisor, p: number, records: Uint8Array): Promise<Appended> {
  const copy = new Uint8Array(records); // a fresh buffer the worker may own
  return s.ask(at(p), { type: 'Append', records: copy }, { transfer: [copy.buffer], timeoutMs: 10_000 });
}

/** Every record value of a partition, in offset order, with its offset. */
async function readAll(s: Supervisor, p: number): Promise<{ offset: number; value: string }[]> {
  const out: { offset: number; value: string }[] = [];
  let offset = 0;
  for (;;) {
    const r = await s.ask(at(p), { type: 'Read', fetchOffset: offset, maxBytes: 1 << 20 });
    if (r.records.length === 0) break;
    for (const h of splitBatches(r.records)) {
      const bytes = r.records.subarray(h.position, h.position + h.sizeBytes);
      for (const rec of iterateRecords(bytes)) {
        out.push({ offset: rec.offset, value: Buffer.from(rec.value!).toString() });
      }
      offset = h.baseOffset + h.lastOffsetDelta + 1;
    }
  }
  return out;
}

describe('Supervisor with partition actors', () => {
  it('keeps every acknowledged append exactly once, in order, while a worker thread dies and an actor throws', async () => {
    sup = await startWithPartitions(2);
    const restarted: string[] = [];
    sup.events.on('restarted', (e) => restarted.push(e.actorId));
    const perPartition = 10_000 / PARTITIONS;
    let acked = 0;
    let retries = 0;
    const s = sup;
    const sender = async (p: number) => {
      for (let i = 0; i < perPartition; i++) {
        const b = batch(p, i, 1000 + p);
        // Retries are bounded in time, not count: a replacement thread may take a while to boot
        // on a loaded two-core machine.
        const giveUpAt = Date.now() + 30_000;
        for (;;) {
          try {
            await append(s, p, b);
            break;
          } catch (err) {
            // The same idempotent batch is retried: a duplicate gets its original offset back.
            retries++;
            if (Date.now() > giveUpAt) throw err;
            await new Promise((r) => setTimeout(r, 5));
          }
        }
        acked++;
      }
    };
    const senders = Array.from({ length: PARTITIONS }, (_, p) => sender(p));
    await waitFor(() => acked >= 3000, 60_000, '3000 acks');
    await s.killThread(0);
    await waitFor(() => acked >= 6000, 60_000, '6000 acks');
    // The failure point may fire in the very turn that arms it (appends queued behind it): the
    // actor then fails that whole turn, this ask included, after arming it. Either way it fired.
    await s.ask(at(5), { type: 'SetFailurePoint', point: 'append', enabled: true, times: 1 }).catch((err: Error) => {
      if (!/injected failure at failure point 'append'/.test(err.message)) throw err;
    });
    await Promise.all(senders);

    expect(acked).toBe(10_000);
    expect(retries).toBeGreaterThan(0);
    expect(new Set(restarted).size).toBeGreaterThanOrEqual(PARTITIONS / 2); // every actor of the killed thread
    expect(restarted).toContain(actorId(5));
    for (let p = 0; p < PARTITIONS; p++) {
      const records = await readAll(s, p);
      expect(records.map((r) => r.value)).toEqual(Array.from({ length: perPartition }, (_, i) => `${p}:${i}`));
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: perPartition }, (_, i) => i));
    }
  });

  it('adds a worker thread under load without losing, duplicating or reordering appends', async () => {
    sup = await startWithPartitions(1);
    const s = sup;
    const moved: string[] = [];
    s.events.on('moved', (e) => moved.push(e.actorId));
    const perPartition = 400;
    const offsets: number[][] = Array.from({ length: PARTITIONS }, () => []);
    const inFlight = 8;
    const sender = async (p: number) => {
      for (let i = 0; i < perPartition; i += inFlight) {
        // Several appends in flight at once: their offsets must follow the order they were sent in.
        const acks = await Promise.all(Array.from({ length: Math.min(inFlight, perPartition - i) }, (_, k) => append(s, p, batch(p, i + k))));
        for (const a of acks) offsets[p]!.push(a.baseOffset);
      }
    };
    const senders = Array.from({ length: PARTITIONS }, (_, p) => sender(p));
    await waitFor(() => offsets.reduce((n, o) => n + o.length, 0) > 1500, 30_000, 'load');
    const result = await s.addWorkers(1);
    await Promise.all(senders);

    expect(result.added).toEqual([1]);
    expect(result.moved.length).toBe(PARTITIONS / 2);
    expect(moved.length).toBe(PARTITIONS / 2);
    const threads = await s.threads();
    expect(threads.map((t) => t.actors.length).sort()).toEqual([PARTITIONS / 2, PARTITIONS / 2]);
    for (let p = 0; p < PARTITIONS; p++) {
      expect(offsets[p]).toEqual(Array.from({ length: perPartition }, (_, i) => i));
      const records = await readAll(s, p);
      expect(records.map((r) => r.value)).toEqual(Array.from({ length: perPartition }, (_, i) => `${p}:${i}`));
    }
  });

  it('pushes back when a mailbox and its waiting buffer are full', async () => {
    sup = await startWithPartitions(1, { mailboxCapacity: 4, pendingCapacity: 4 }, 1);
    const s = sup;
    // Twenty asks in one synchronous burst: four go to the mailbox, four wait, twelve are refused.
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => append(s, 0, batch(0, i))));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBe(12);
    for (const r of refused) expect((r.reason as { code?: string }).code).toBe('MAILBOX_FULL');
    const accepted = results.filter((r) => r.status === 'fulfilled').map((r) => r.value.baseOffset);
    expect(accepted).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(s.summary(actorId(0))).toMatchObject({ inFlight: 0, waiting: 0, status: 'running' });
  });

  it('marks an actor failed after it breaches its restart intensity', async () => {
    sup = await startWithPartitions(1, { maxRestarts: 2, restartWindowMs: 60_000 }, 1);
    const s = sup;
    const failed: string[] = [];
    s.events.on('failed', (e) => failed.push(e.actorId));
    for (let crash = 0; crash < 3; crash++) {
      await waitFor(() => s.summary(actorId(0))?.status === 'running' || failed.length > 0, 5_000, 'actor running');
      await s.ask(at(0), { type: 'SetFailurePoint', point: 'append', enabled: true });
      await expect(append(s, 0, batch(0, crash))).rejects.toMatchObject({ code: 'ACTOR_FAILED' });
    }
    await waitFor(() => failed.length === 1, 5_000, 'failed event');
    expect(s.summary(actorId(0))).toMatchObject({ status: 'failed', restarts: 2 });
    await expect(append(s, 0, batch(0, 99))).rejects.toMatchObject({ code: 'ACTOR_UNAVAILABLE' });
  });

  it('stops replacing worker threads that keep dying: their actors move to the live threads, then fail', async () => {
    sup = await startWithPartitions(2, { threadReplacementsMax: 1, threadReplacementWindowMs: 60_000 }, 4);
    const s = sup;
    const failed: string[] = [];
    s.events.on('failed', (e) => failed.push(e.actorId));
    const onThread = (t: number) =>
      s
        .listActors()
        .filter((a) => a.threadIndex === t)
        .map((a) => a.id);
    await s.killThread(0); // replaced by thread 2
    await waitFor(() => s.listActors().every((a) => a.status === 'running' && a.threadIndex !== 0), 10_000, 'restart on thread 2');
    expect(onThread(2).length).toBe(2);
    await s.killThread(2); // over the bound: not replaced, its actors restart on thread 1
    await waitFor(() => s.listActors().every((a) => a.status === 'running' && a.threadIndex === 1), 10_000, 'restart on thread 1');
    expect(failed).toContain('thread:2');
    for (let p = 0; p < 4; p++) await append(s, p, batch(p, 0));
    await s.killThread(1); // no thread left: every actor fails, asks fail at once
    await waitFor(() => s.listActors().every((a) => a.status === 'failed'), 10_000, 'all failed');
    await expect(append(s, 0, batch(0, 1))).rejects.toMatchObject({ code: 'ACTOR_UNAVAILABLE' });
  });

  it('answers a read with the stored bytes and rejects a corrupt batch without changing the log', async () => {
    sup = await startWithPartitions(1, {}, 1);
    const s = sup;
    const good = batch(0, 0);
    await append(s, 0, good);
    const bad = new Uint8Array(batch(0, 1));
    bad[bad.length - 1]! ^= 0xff;
    await expect(append(s, 0, bad)).rejects.toMatchObject({ code: 'CORRUPT_MESSAGE' });
    const r = await s.ask(at(0), { type: 'Read', fetchOffset: 0, maxBytes: 1 << 20 });
    expect(r.logEndOffset).toBe(1);
    // Only baseOffset (bytes 0-7) and partitionLeaderEpoch (12-15) are rewritten; both lie outside the CRC.
    expect(Buffer.from(r.records).subarray(16)).toEqual(Buffer.from(good).subarray(16));
    expect(Buffer.from(r.records).subarray(8, 12)).toEqual(Buffer.from(good).subarray(8, 12));
  });
});
