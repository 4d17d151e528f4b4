/**
 * kafkajs against a real Brook node: idempotent producer with keyed messages and headers to 3
 * partitions, admin topics and offsets; records verified with kcat and the python clients.
 * (kafkajs's consumer needs consumer groups, which Brook does not serve yet.)
 */
import { Partitioners, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kcatConsumeAll, kcatRequirement, missing, pythonRequirement, runPythonScript, uniqueTopic } from '../helpers/clients.js';
import { broker, byPartition, kafkajs, partitionsPerKey, type ConsumeReply, type EmbeddedBroker } from './setup.js';

const kc = kcatRequirement();
const kp = pythonRequirement('kafka');
const ck = pythonRequirement('confluent_kafka');

describe('interop: kafkajs', () => {
  let b: EmbeddedBroker;
  let admin: Admin;
  beforeAll(async () => {
    b = await broker();
    admin = kafkajs(b.bootstrap).admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.disconnect();
    await b?.stop();
  });

  async function idempotentProducer(): Promise<Producer> {
    const p = kafkajs(b.bootstrap).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await p.connect();
    return p;
  }

  it('admin createTopics, listTopics, fetchTopicMetadata, deleteTopics', async () => {
    const t1 = uniqueTopic('kjs-admin-a');
    const t2 = uniqueTopic('kjs-admin-b');
    expect(
      await admin.createTopics({
        topics: [
          { topic: t1, numPartitions: 3 },
          { topic: t2, numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '60000' }] },
        ],
        waitForLeaders: true,
        timeout: 10_000,
      }),
    ).toBe(true);
    // Creating an existing topic is not an error for kafkajs: it answers false (and logs the
    // TOPIC_ALREADY_EXISTS response at error level).
    expect(await admin.createTopics({ topics: [{ topic: t1, numPartitions: 3 }], timeout: 10_000 })).toBe(false);
    expect(await admin.listTopics()).toEqual(expect.arrayContaining([t1, t2]));
    const md = await admin.fetchTopicMetadata({ topics: [t1, t2] });
    const parts = Object.fromEntries(md.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionId).sort()]));
    expect(parts).toEqual({ [t1]: [0, 1, 2], [t2]: [0, 1] });
    await admin.deleteTopics({ topics: [t1, t2], timeout: 10_000 });
    const left = await admin.listTopics();
    expect(left).not.toContain(t1);
    expect(left).not.toContain(t2);
  });

  it('idempotent producer: keyed messages with headers to 3 partitions; fetchTopicOffsets agrees', async () => {
    const topic = uniqueTopic('kjs-idem');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true, timeout: 10_000 });
    const p = await idempotentProducer();
    const messages = Array.from({ length: 60 }, (_, i) => ({
      key: `kjs-key-${i % 12}`,
      value: `kjs-value-${i}`,
      headers: { seq: String(i), origin: 'kafkajs' },
    }));
    // Two sends of 30: the second continues the producer's sequence numbers.
    const meta = [...(await p.send({ topic, acks: -1, messages: messages.slice(0, 30) })), ...(await p.send({ topic, acks: -1, messages: messages.slice(30) }))];
    await p.disconnect();
    for (const m of meta) expect(m.errorCode).toBe(0);

    const offsets = await admin.fetchTopicOffsets(topic);
    const total = offsets.reduce((n, o) => n + Number(o.high), 0);
    expect(total).toBe(60);
    for (const o of offsets) expect(o.low).toBe('0');

    if (!kc.available) return;
    const recs = await kcatConsumeAll(b.bootstrap, topic);
    expect(recs).toHaveLength(60);
    for (const [key, ps] of partitionsPerKey(recs)) expect(ps.size, `key ${key}`).toBe(1);
    const highs = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    for (const [partition, list] of byPartition(recs)) {
      expect(list.length).toBe(highs.get(partition));
      const seq = list.map((r) => Number(r.payload!.split('-').pop()));
      expect(seq).toEqual([...seq].sort((x, y) => x - y));
    }
    for (const r of recs) {
      const i = Number(r.payload!.split('-').pop());
      expect(r.key).toBe(messages[i]!.key);
      expect(r.headers).toEqual(['seq', String(i), 'origin', 'kafkajs']);
    }
  });

  it.skipIf(missing(kp))('kafkajs records read back by kafka-python with headers', async () => {
    const topic = uniqueTopic('kjs-to-kp');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true, timeout: 10_000 });
    const p = await idempotentProducer();
    await p.send({
      topic,
      messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 5}`, value: `v-${i}`, headers: { n: String(i) } })),
    });
    await p.disconnect();
    const got = await runPythonScript<ConsumeReply>('kp.py', { op: 'consume', bootstrap: b.bootstrap, topic });
    expect(got.complete).toBe(true);
    expect(got.records).toHaveLength(20);
    for (const r of got.records) expect(r.headers).toEqual([['n', r.value!.slice(2)]]);
  });

  it.skipIf(missing(ck))('kafkajs records read back by confluent-kafka (gzip batches)', async () => {
    const topic = uniqueTopic('kjs-to-ck');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true, timeout: 10_000 });
    const { CompressionTypes } = await import('kafkajs');
    const p = await idempotentProducer();
    await p.send({
      topic,
      compression: CompressionTypes.GZIP,
      messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 5}`, value: `v-${i}`, headers: { n: String(i) } })),
    });
    await p.disconnect();
    const got = await runPythonScript<ConsumeReply>('ck.py', { op: 'consume', bootstrap: b.bootstrap, topic });
    expect(got.complete).toBe(true);
    expect(got.records).toHaveLength(20);
    for (const r of got.records) expect(r.headers).toEqual([['n', r.value!.slice(2)]]);
  });

  it('fetchTopicOffsetsByTimestamp', async () => {
    const topic = uniqueTopic('kjs-ts');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true, timeout: 10_000 });
    const p = await idempotentProducer();
    const base = 1_650_000_000_000;
    await p.send({
      topic,
      messages: [0, 1, 2, 3, 4].map((i) => ({ value: `v${i}`, partition: 0, timestamp: String(base + i * 1000) })),
    });
    await p.disconnect();
    const byTs = async (ts?: number) => Object.fromEntries((await admin.fetchTopicOffsetsByTimestamp(topic, ts)).map((o) => [o.partition, o.offset]));
    expect(await byTs(base + 2000)).toEqual({ 0: '2', 1: '0' });
    expect(await byTs(base + 2500)).toEqual({ 0: '3', 1: '0' });
    // After the last record kafkajs answers with the high watermark.
    expect(await byTs(base + 60_000)).toEqual({ 0: '5', 1: '0' });
  });
});
