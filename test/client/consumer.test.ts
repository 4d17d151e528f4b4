/**
 * The Consumer against a real Brook node: assign() and subscribe() by name and pattern, the
 * async iterator and eachBatch, auto and manual commit, seek, pause/resume, read_committed,
 * bounded prefetch, and a group of three Brook consumers rebalancing when one leaves (with the
 * eager and the cooperative assignors).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../src/client/admin.js';
import { Consumer, type ConsumerRecord } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { broker, sleep, uniqueTopic, type EmbeddedBroker } from './helpers.js';

let b: EmbeddedBroker;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  b = await broker();
  admin = new Admin({ bootstrapServers: [b.bootstrap] });
  producer = new Producer({ bootstrapServers: [b.bootstrap] });
});
afterAll(async () => {
  await producer?.close();
  await admin?.close();
  await b?.stop();
});

async function topicWithRecords(partitions: number, perPartition: number, prefix = 'cons'): Promise<string> {
  const topic = uniqueTopic(prefix);
  await admin.createTopics({ topics: [{ name: topic, numPartitions: partitions }] });
  for (let p = 0; p < partitions; p++) {
    await producer.send({ topic, messages: Array.from({ length: perPartition }, (_, i) => ({ key: `k${i}`, value: `p${p}-${i}`, partition: p, headers: { i: String(i) } })) });
  }
  return topic;
}

/** Reads `n` records from the iterator, with a deadline. */
async function take(consumer: Consumer, n: number, timeoutMs = 20_000): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  if (n === 0) return out;
  const deadline = setTimeout(() => void consumer.close(), timeoutMs);
  try {
    for await (const r of consumer) {
      out.push(r);
      if (out.length >= n) break;
    }
  } finally {
    clearTimeout(deadline);
  }
  return out;
}

describe('Consumer without a group', () => {
  it('assign() and the async iterator read every record with its fields', async () => {
    const topic = await topicWithRecords(2, 100);
    const c = new Consumer({ bootstrapServers: [b.bootstrap], autoOffsetReset: 'earliest' });
    await c.assign([
      { topic, partition: 0 },
      { topic, partition: 1 },
    ]);
    const records = await take(c, 200);
    expect(records.length).toBe(200);
    for (const p of [0, 1]) {
      const mine = records.filter((r) => r.partition === p);
      expect(mine.map((r) => r.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(mine[5]!.value!.toString()).toBe(`p${p}-5`);
      expect(mine[5]!.key!.toString()).toBe('k5');
      expect(mine[5]!.headers).toEqual([{ key: 'i', value: Buffer.from('5') }]);
      expect(mine[5]!.timestamp).toBeGreaterThan(Date.now() - 60_000);
    }
    await c.close();
  });

  it('latest by default: only records produced after assign', async () => {
    const topic = await topicWithRecords(1, 10);
    const c = new Consumer({ bootstrapServers: [b.bootstrap] });
    await c.assign([{ topic, partition: 0 }]);
    await producer.send({ topic, messages: [{ value: 'new' }] });
    const [r] = await take(c, 1);
    expect(r!.offset).toBe(10);
    expect(r!.value!.toString()).toBe('new');
    await c.close();
  });

  it('seek moves the position; pause and resume stop and restart delivery', async () => {
    const topic = await topicWithRecords(2, 50);
    const c = new Consumer({ bootstrapServers: [b.bootstrap], autoOffsetReset: 'earliest' });
    await c.assign([
      { topic, partition: 0 },
      { topic, partition: 1 },
    ]);
    c.pause([{ topic, partitions: [1] }]);
    c.seek({ topic, partition: 0, offset: 40 });
    const first = await take(c, 10);
    expect(first.every((r) => r.partition === 0)).toBe(true);
    expect(first.map((r) => r.offset)).toEqual([40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
    expect(c.paused()).toEqual([{ topic, partition: 1 }]);
    c.resume([{ topic, partitions: [1] }]);
    const rest = await take(c, 50);
    expect(rest.every((r) => r.partition === 1)).toBe(true);
    expect(rest[0]!.offset).toBe(0);
    await c.close();
  });

  it('read_committed reads records outside transactions', async () => {
    const topic = await topicWithRecords(1, 25);
    const c = new Consumer({ bootstrapServers: [b.bootstrap], autoOffsetReset: 'earliest', isolationLevel: 'read_committed' });
    await c.assign([{ topic, partition: 0 }]);
    const records = await take(c, 25);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    await c.close();
  });

  it('prefetch memory stays bounded while the application is slow', async () => {
    const topic = uniqueTopic('prefetch');
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 1 }] });
    const value = Buffer.alloc(1000, 7);
    // Small batches: a broker returns at least one whole batch, so the batch size bounds the overshoot.
    const small = new Producer({ bootstrapServers: [b.bootstrap], batchBytes: 16 * 1024 });
    await small.send({ topic, messages: Array.from({ length: 3000 }, () => ({ value })) });
    await small.close();
    const c = new Consumer({ bootstrapServers: [b.bootstrap], autoOffsetReset: 'earliest', prefetchBytesMax: 64 * 1024, fetchPartitionMaxBytes: 32 * 1024 });
    await c.assign([{ topic, partition: 0 }]);
    let maxBuffered = 0;
    let n = 0;
    for await (const _ of c) {
      maxBuffered = Math.max(maxBuffered, (c as unknown as { bufferedBytes: number }).bufferedBytes);
      if (++n % 500 === 0) await sleep(20);
      if (n === 3000) break;
    }
    // One fetch may land on top of a nearly full buffer, so allow one fetch's worth beyond the bound.
    expect(maxBuffered).toBeLessThanOrEqual(64 * 1024 + 64 * 1024);
    await c.close();
  });
});

describe('Consumer in a group', () => {
  it('subscribe, iterate and auto-commit on close; a new member resumes after the commit', async () => {
    const topic = await topicWithRecords(3, 20);
    const groupId = uniqueTopic('g');
    const c1 = new Consumer({ bootstrapServers: [b.bootstrap], groupId });
    await c1.subscribe({ topics: [topic], fromBeginning: true });
    const first = await take(c1, 60);
    expect(first.length).toBe(60);
    await c1.close();
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed.map((o) => o.offset)).toEqual([20, 20, 20]);

    await producer.send({ topic, messages: [{ value: 'after', partition: 1 }] });
    const c2 = new Consumer({ bootstrapServers: [b.bootstrap], groupId });
    await c2.subscribe({ topics: [topic], fromBeginning: true });
    const [r] = await take(c2, 1);
    expect(r!.value!.toString()).toBe('after');
    expect(r!.offset).toBe(20);
    await c2.close();
  });

  it('subscribe by RegExp, eachBatch handler and manual commit', async () => {
    const prefix = uniqueTopic('pat');
    for (const s of ['a', 'b']) {
      await admin.createTopics({ topics: [{ name: `${prefix}-${s}`, numPartitions: 1 }] });
      await producer.send({ topic: `${prefix}-${s}`, messages: Array.from({ length: 30 }, (_, i) => ({ value: `${s}${i}` })) });
    }
    const groupId = uniqueTopic('g');
    const c = new Consumer({ bootstrapServers: [b.bootstrap], groupId, autoCommit: false });
    await c.subscribe({ topics: [new RegExp(`^${prefix}-`)], fromBeginning: true });
    const got: string[] = [];
    let batches = 0;
    await c.run({
      eachBatch: async ({ records }) => {
        batches++;
        got.push(...records.map((r) => r.value!.toString()));
      },
    });
    const deadline = Date.now() + 20_000;
    while (got.length < 60 && Date.now() < deadline) await sleep(50);
    expect(got.length).toBe(60);
    expect(batches).toBeGreaterThanOrEqual(2);
    expect((await admin.fetchOffsets({ groupId })).length).toBe(0);
    await c.commit();
    const offsets = await admin.fetchOffsets({ groupId });
    expect(offsets.map((o) => o.offset)).toEqual([30, 30]);
    expect((await c.committed()).map((o) => o.offset)).toEqual([30, 30]);
    await c.close();
  });

  for (const assignor of ['range', 'roundrobin', 'cooperative-sticky'] as const) {
    it(`three consumers share partitions and rebalance when one leaves (${assignor})`, async () => {
      const topic = uniqueTopic(`reb-${assignor}`);
      await admin.createTopics({ topics: [{ name: topic, numPartitions: 6 }] });
      const groupId = uniqueTopic('g');
      const members = [0, 1, 2].map(
        () =>
          new Consumer({
            bootstrapServers: [b.bootstrap],
            groupId,
            assignors: [assignor],
            heartbeatIntervalMs: 200,
            sessionTimeoutMs: 10_000,
            rebalanceTimeoutMs: 10_000,
            autoCommitIntervalMs: 200,
          }),
      );
      const seen = new Map<string, number>();
      for (const m of members) {
        await m.subscribe({ topics: [topic], fromBeginning: true });
        await m.run({ eachMessage: (r) => void seen.set(`${r.partition}:${r.offset}`, (seen.get(`${r.partition}:${r.offset}`) ?? 0) + 1) });
      }
      const settled = async (ms: Consumer[]): Promise<void> => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const sizes = ms.map((m) => m.assignment().length);
          const total = sizes.reduce((a, x) => a + x, 0);
          if (total === 6 && sizes.every((s) => s === 6 / ms.length)) return;
          if (Date.now() > deadline) throw new Error(`not settled: ${sizes.join(',')}`);
          await sleep(100);
        }
      };
      await settled(members);
      const all = members.flatMap((m) => m.assignment().map((tp) => tp.partition)).sort();
      expect(all).toEqual([0, 1, 2, 3, 4, 5]);
      await producer.send({ topic, messages: Array.from({ length: 60 }, (_, i) => ({ value: `x${i}`, partition: i % 6 })) });
      let deadline = Date.now() + 20_000;
      while (seen.size < 60 && Date.now() < deadline) await sleep(50);
      expect(seen.size).toBe(60);

      await members[2]!.close();
      await settled(members.slice(0, 2));
      await producer.send({ topic, messages: Array.from({ length: 60 }, (_, i) => ({ value: `y${i}`, partition: i % 6 })) });
      deadline = Date.now() + 20_000;
      while (seen.size < 120 && Date.now() < deadline) await sleep(50);
      expect(seen.size).toBe(120);
      // Committed offsets let the survivors continue without re-reading.
      expect([...seen.values()].filter((n) => n > 1).length).toBe(0);
      await Promise.all(members.slice(0, 2).map((m) => m.close()));
    });
  }
});
