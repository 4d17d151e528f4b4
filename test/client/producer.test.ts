/**
 * The Producer against a real Brook node: acks, keys to partitions, headers, every codec,
 * batching by size and linger, flush, bounded buffer memory, idempotent retries across a
 * dropped connection without duplicates, and typed errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../src/client/admin.js';
import { KafkaClientError, TimeoutError } from '../../src/client/errors.js';
import { partitionForKey } from '../../src/client/partitioner.js';
import { Producer } from '../../src/client/producer.js';
import { broker, readPartition, uniqueTopic, type EmbeddedBroker } from './helpers.js';

let b: EmbeddedBroker;
let admin: Admin;

beforeAll(async () => {
  b = await broker();
  admin = new Admin({ bootstrapServers: [b.bootstrap] });
});
afterAll(async () => {
  await admin?.close();
  await b?.stop();
});

async function topicWith(partitions: number, prefix = 'prod'): Promise<string> {
  const topic = uniqueTopic(prefix);
  await admin.createTopics({ topics: [{ name: topic, numPartitions: partitions }] });
  return topic;
}

describe('Producer', () => {
  it('sends and returns each record partition and offset, in order', async () => {
    const topic = await topicWith(1);
    const producer = new Producer({ bootstrapServers: [b.bootstrap] });
    const acks = await producer.send({
      topic,
      messages: [
        { key: 'k1', value: 'v1' },
        { key: null, value: Buffer.from('v2') },
        { value: 'v3', headers: { h: 'x', n: Buffer.from([1]) } },
      ],
    });
    expect(acks.map((a) => a.offset)).toEqual([0, 1, 2]);
    expect(acks.every((a) => a.partition === 0 && a.topic === topic)).toBe(true);
    await producer.close();
    const records = await readPartition(b.bootstrap, topic, 0);
    expect(records.map((r) => r.value?.toString())).toEqual(['v1', 'v2', 'v3']);
    expect(records[0]!.key?.toString()).toBe('k1');
    expect(records[1]!.key).toBeNull();
    expect(records[2]!.headers.map((h) => [h.key, h.value?.toString('hex')])).toEqual([
      ['h', '78'],
      ['n', '01'],
    ]);
  });

  it('routes keys with murmur2 like the Java client', async () => {
    const topic = await topicWith(6);
    const producer = new Producer({ bootstrapServers: [b.bootstrap] });
    const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`);
    const acks = await producer.send({ topic, messages: keys.map((key) => ({ key, value: key })) });
    acks.forEach((a, i) => expect(a.partition).toBe(partitionForKey(keys[i]!, 6)));
    await producer.close();
  });

  for (const acks of [0, 1, -1] as const) {
    it(`acks=${acks}`, async () => {
      const topic = await topicWith(1);
      const producer = new Producer({ bootstrapServers: [b.bootstrap], acks, idempotent: acks === -1 });
      const res = await producer.send({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ value: `m${i}` })) });
      if (acks === 0) expect(res.every((r) => r.offset === -1)).toBe(true);
      else expect(res.map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      await producer.close();
      expect((await readPartition(b.bootstrap, topic, 0)).length).toBe(50);
    });
  }

  for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`compression ${compression}`, async () => {
      const topic = await topicWith(1);
      const producer = new Producer({ bootstrapServers: [b.bootstrap], compression });
      const messages = Array.from({ length: 500 }, (_, i) => ({ key: `k${i}`, value: `value ${i} `.repeat(10), partition: 0 }));
      await producer.send({ topic, messages });
      await producer.close();
      const records = await readPartition(b.bootstrap, topic, 0);
      expect(records.map((r) => r.value?.toString())).toEqual(messages.map((m) => m.value));
    });
  }

  it('batches many sends by size and linger; flush waits for all', async () => {
    const topic = await topicWith(3);
    const producer = new Producer({ bootstrapServers: [b.bootstrap], lingerMs: 20, batchBytes: 4096 });
    const sends = Array.from({ length: 2000 }, (_, i) => producer.send({ topic, messages: [{ key: `k${i % 50}`, value: `v${i}` }] }));
    await producer.flush();
    expect(producer.bufferedBytesNow).toBe(0);
    const results = (await Promise.all(sends)).flat();
    expect(results.length).toBe(2000);
    // Offsets of each partition are dense and unique.
    for (let p = 0; p < 3; p++) {
      const offsets = results
        .filter((r) => r.partition === p)
        .map((r) => r.offset)
        .sort((a, b) => a - b);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
    await producer.close();
  });

  it('flush and close deliver sends still queued behind the first producer-id and metadata lookups', async () => {
    const topic = await topicWith(1);
    const producer = new Producer({ bootstrapServers: [b.bootstrap] });
    // None of these can append before InitProducerId and Metadata answer: they queue.
    const early = [0, 1, 2].map((i) => producer.send({ topic, messages: [{ value: `v${i}` }] }));
    await producer.flush();
    expect((await Promise.all(early)).map((r) => r[0]!.offset)).toEqual([0, 1, 2]);
    const many = Array.from({ length: 5000 }, (_, i) => producer.send({ topic, messages: [{ value: `w${i}` }] }));
    await producer.close();
    const acks = await Promise.all(many);
    expect(acks.map((r) => r[0]!.offset)).toEqual(Array.from({ length: 5000 }, (_, i) => i + 3));
  });

  it('keeps records of one key in order across many in-flight requests', async () => {
    const topic = await topicWith(1);
    const producer = new Producer({ bootstrapServers: [b.bootstrap], batchBytes: 1024, lingerMs: 0 });
    const sends = Array.from({ length: 3000 }, (_, i) => producer.send({ topic, messages: [{ value: String(i) }] }));
    await Promise.all(sends);
    await producer.close();
    const values = (await readPartition(b.bootstrap, topic, 0)).map((r) => Number(r.value!.toString()));
    expect(values).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });

  it('bounded buffer memory: send waits, then fails with TimeoutError after maxBlockMs', async () => {
    const topic = await topicWith(1);
    const producer = new Producer({ bootstrapServers: [b.bootstrap], bufferMemoryBytes: 64 * 1024, maxBlockMs: 10_000 });
    const value = Buffer.alloc(1000, 1);
    // 500 KB through 64 KiB of buffer: sends must wait for acknowledgements, never exceed the bound.
    let maxHeld = 0;
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 500; i++) {
      sends.push(producer.send({ topic, messages: [{ value }] }));
      maxHeld = Math.max(maxHeld, producer.bufferedBytesNow);
    }
    await Promise.all(sends);
    expect(maxHeld).toBeLessThanOrEqual(64 * 1024);
    await producer.close();
    expect((await readPartition(b.bootstrap, topic, 0)).length).toBe(500);

    // A broker that never answers: the buffer fills and send() gives up with a typed error.
    const stalled = new Producer({
      bootstrapServers: [b.bootstrap],
      bufferMemoryBytes: 8 * 1024,
      maxBlockMs: 300,
      idempotent: false,
      acks: 1,
      requestTimeoutMs: 1000,
      deliveryTimeoutMs: 1500,
    });
    await stalled.send({ topic, messages: [{ value: 'warm' }] });
    const conn = await stalled.cluster.connection(stalled.cluster.topic(topic)!.partitions[0]!.leader);
    conn.rawSocket!.pause();
    (conn.rawSocket as unknown as { write: () => boolean }).write = () => true; // Requests vanish.
    const pending = Array.from({ length: 20 }, () => stalled.send({ topic, messages: [{ value }] }).catch((e: unknown) => e));
    const errs = await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(() => r('hung'), 10_000))]);
    expect(Array.isArray(errs) && errs.every((e) => e instanceof TimeoutError)).toBe(true);
    conn.destroy();
    await stalled.close();
  });

  it('idempotent retry after the connection drops mid-flight writes no duplicate', async () => {
    const topic = await topicWith(1);
    const producer = new Producer({ bootstrapServers: [b.bootstrap], batchBytes: 2048, lingerMs: 0, retryBackoffMs: 20 });
    await producer.send({ topic, messages: [{ value: 'first' }] });
    const n = 4000;
    const sends = Array.from({ length: n }, (_, i) => producer.send({ topic, messages: [{ value: String(i) }] }));
    // Drop the connection several times while requests are in flight.
    for (let k = 0; k < 3; k++) {
      await new Promise((r) => setTimeout(r, 5));
      const leader = producer.cluster.topic(topic)!.partitions[0]!.leader;
      const conn = await producer.cluster.connection(leader);
      conn.rawSocket?.destroy();
    }
    const results = (await Promise.all(sends)).flat();
    expect(results.length).toBe(n);
    await producer.close();
    const values = (await readPartition(b.bootstrap, topic, 0)).map((r) => r.value!.toString());
    expect(values.length).toBe(n + 1);
    expect(values.slice(1)).toEqual(Array.from({ length: n }, (_, i) => String(i)));
  });

  it('waits for a topic that appears later, refreshing metadata with backoff', async () => {
    const topic = uniqueTopic('late');
    const producer = new Producer({ bootstrapServers: [b.bootstrap], allowAutoTopicCreation: false, retryBackoffMs: 20 });
    const sending = producer.send({ topic, messages: [{ key: 'k', value: 'v' }] });
    await new Promise((r) => setTimeout(r, 300));
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 2 }] });
    const [ack] = await sending;
    expect(ack!.offset).toBe(0);
    await producer.close();
  });

  it('after its topic is deleted and re-created, the producer refreshes metadata and carries on', async () => {
    const topic = await topicWith(2, 'recreate');
    const producer = new Producer({ bootstrapServers: [b.bootstrap], retryBackoffMs: 20, allowAutoTopicCreation: false });
    await producer.send({ topic, messages: [{ value: 'before', partition: 1 }] });
    await admin.deleteTopics({ topics: [topic] });
    const sending = producer.send({ topic, messages: [{ value: 'after', partition: 1 }] });
    await new Promise((r) => setTimeout(r, 200));
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 2 }] });
    const [ack] = await sending;
    expect(ack!.partition).toBe(1);
    await producer.close();
    expect((await readPartition(b.bootstrap, topic, 1)).map((r) => r.value!.toString())).toEqual(['after']);
  });

  it('typed errors: a record larger than maxRequestBytes and an unknown partition', async () => {
    const topic = await topicWith(1);
    const producer = new Producer({ bootstrapServers: [b.bootstrap], maxRequestBytes: 10_000, batchBytes: 4096 });
    const big = producer.send({ topic, messages: [{ value: Buffer.alloc(20_000) }] });
    await expect(big).rejects.toBeInstanceOf(KafkaClientError);
    await expect(big).rejects.toMatchObject({ code: 10, retriable: false });
    await expect(producer.send({ topic, messages: [{ value: 'x', partition: 5 }] })).rejects.toMatchObject({ retriable: false });
    await producer.close();
    await expect(producer.send({ topic, messages: [{ value: 'x' }] })).rejects.toMatchObject({ name: 'ClientClosedError' });
  });
});
