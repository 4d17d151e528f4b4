/**
 * confluent-kafka-python (librdkafka) against a real Brook node: idempotent keyed produce with
 * headers to 3 partitions, read back with kcat and with kafka-python, AdminClient topics and
 * configs, watermarks and offsets_for_times.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, kcatConsumeAll, kcatRequirement, missing, pythonRequirement, runPythonScript, uniqueTopic } from '../helpers/clients.js';
import { broker, byPartition, contiguous, keyedRecords, partitionsPerKey, type ConsumeReply, type EmbeddedBroker, type ProduceReply } from './setup.js';

const ck = pythonRequirement('confluent_kafka');
const kp = pythonRequirement('kafka');
const kc = kcatRequirement();

describeIf(ck, 'interop: confluent-kafka-python', () => {
  let b: EmbeddedBroker;
  beforeAll(async () => {
    b = await broker();
  });
  afterAll(async () => {
    await b?.stop();
  });

  const createTopics = (topics: { name: string; partitions: number; config?: Record<string, string> }[]) =>
    runPythonScript<{ results: Record<string, string | null> }>('ck.py', { op: 'create_topics', bootstrap: b.bootstrap, topics });

  it('AdminClient create_topics, list_topics, describe_configs, delete_topics', async () => {
    const t1 = uniqueTopic('ck-admin-a');
    const t2 = uniqueTopic('ck-admin-b');
    const created = await createTopics([
      { name: t1, partitions: 3 },
      { name: t2, partitions: 1, config: { 'retention.ms': '3600000' } },
    ]);
    expect(created.results).toEqual({ [t1]: null, [t2]: null });

    const again = await createTopics([{ name: t1, partitions: 3 }]);
    expect(again.results[t1]).toMatch(/TOPIC_ALREADY_EXISTS/);

    const md = await runPythonScript<{
      brokers: { id: number; host: string; port: number }[];
      controller: number;
      topics: Record<string, { partitions: number[]; error: string | null }>;
    }>('ck.py', { op: 'list_topics', bootstrap: b.bootstrap });
    expect(md.brokers).toEqual([{ id: md.brokers[0]!.id, host: b.host, port: b.port }]);
    expect(md.topics[t1]).toMatchObject({ partitions: [0, 1, 2], error: null });
    expect(md.topics[t2]).toMatchObject({ partitions: [0], error: null });

    const cfg = await runPythonScript<{ configs: Record<string, string> }>('ck.py', {
      op: 'describe_configs',
      bootstrap: b.bootstrap,
      topic: t2,
    });
    expect(cfg.configs['retention.ms']).toBe('3600000');
    expect(cfg.configs['cleanup.policy']).toBe('delete');

    const del = await runPythonScript<{ results: Record<string, string | null> }>('ck.py', {
      op: 'delete_topics',
      bootstrap: b.bootstrap,
      topics: [t1, t2],
    });
    expect(del.results).toEqual({ [t1]: null, [t2]: null });
    const after = await runPythonScript<{ topics: Record<string, unknown> }>('ck.py', { op: 'list_topics', bootstrap: b.bootstrap });
    expect(Object.keys(after.topics)).not.toContain(t1);
    expect(Object.keys(after.topics)).not.toContain(t2);
  });

  it('idempotent keyed produce with headers to 3 partitions; same key, same partition; read back with librdkafka', async () => {
    const topic = uniqueTopic('ck-idem');
    expect((await createTopics([{ name: topic, partitions: 3 }])).results[topic]).toBeNull();
    const records = keyedRecords('ck', 60, 10);
    const prod = await runPythonScript<ProduceReply>('ck.py', {
      op: 'produce',
      bootstrap: b.bootstrap,
      topic,
      records,
      config: { 'enable.idempotence': true, partitioner: 'murmur2_random', 'linger.ms': 5 },
    });
    expect(prod.errors).toEqual([]);
    expect(prod.delivered).toHaveLength(60);
    for (const [key, parts] of partitionsPerKey(prod.delivered)) expect(parts.size, `key ${key}`).toBe(1);
    expect(new Set(prod.delivered.map((d) => d.partition)).size).toBe(3);

    const got = await runPythonScript<ConsumeReply>('ck.py', { op: 'consume', bootstrap: b.bootstrap, topic });
    expect(got.complete).toBe(true);
    expect(got.errors).toEqual([]);
    expect(got.records).toHaveLength(60);
    expect(contiguous(got.records)).toBe(true);
    const sent = new Map(records.map((r) => [r.value, r]));
    const where = new Map(prod.delivered.map((d) => [d.value, d]));
    for (const r of got.records) {
      const s = sent.get(r.value)!;
      expect(r.key).toBe(s.key);
      expect(r.headers).toEqual(s.headers);
      expect({ partition: r.partition, offset: r.offset }).toEqual({
        partition: where.get(r.value)!.partition,
        offset: where.get(r.value)!.offset,
      });
    }
    // Within a partition, records keep produce order.
    for (const list of byPartition(got.records).values()) {
      const seq = list.map((r) => Number(r.headers[0]![1]));
      expect(seq).toEqual([...seq].sort((x, y) => x - y));
    }
  });

  it.skipIf(missing(kc))('records produced by librdkafka read back by kcat', async () => {
    const topic = uniqueTopic('ck-to-kcat');
    await createTopics([{ name: topic, partitions: 3 }]);
    const records = keyedRecords('ck2', 30, 5);
    const prod = await runPythonScript<ProduceReply>('ck.py', {
      op: 'produce',
      bootstrap: b.bootstrap,
      topic,
      records,
      config: { 'enable.idempotence': true, 'compression.type': 'lz4' },
    });
    expect(prod.errors).toEqual([]);
    const recs = await kcatConsumeAll(b.bootstrap, topic);
    expect(recs).toHaveLength(30);
    for (const r of recs) {
      const i = Number(r.payload!.split('-').pop());
      expect(r.key).toBe(records[i]!.key);
      expect(r.headers).toEqual(records[i]!.headers!.flat());
    }
  });

  it.skipIf(missing(kp))('records produced by librdkafka read back by kafka-python', async () => {
    const topic = uniqueTopic('ck-to-kp');
    await createTopics([{ name: topic, partitions: 3 }]);
    const records = keyedRecords('ck3', 30, 5);
    const prod = await runPythonScript<ProduceReply>('ck.py', {
      op: 'produce',
      bootstrap: b.bootstrap,
      topic,
      records,
      config: { 'enable.idempotence': true },
    });
    expect(prod.errors).toEqual([]);
    const got = await runPythonScript<ConsumeReply>('kp.py', { op: 'consume', bootstrap: b.bootstrap, topic });
    expect(got.complete).toBe(true);
    expect(got.records).toHaveLength(30);
    const where = new Map(prod.delivered.map((d) => [d.value, d]));
    for (const r of got.records) {
      expect(r.partition).toBe(where.get(r.value)!.partition);
      expect(r.offset).toBe(where.get(r.value)!.offset);
      const i = Number(r.value!.split('-').pop());
      expect(r.headers).toEqual(records[i]!.headers);
    }
  });

  it('watermarks and offsets_for_times', async () => {
    const topic = uniqueTopic('ck-offsets');
    await createTopics([{ name: topic, partitions: 2 }]);
    const base = 1_700_000_000_000;
    const records = [0, 1, 2, 3].map((i) => ({ key: `k${i}`, value: `v${i}`, partition: 0, timestamp: base + i * 1000 }));
    const prod = await runPythonScript<ProduceReply>('ck.py', { op: 'produce', bootstrap: b.bootstrap, topic, records });
    expect(prod.errors).toEqual([]);
    const q = (timestamp: number) =>
      runPythonScript<{ watermarks: Record<string, [number, number]>; times: Record<string, number | string> }>('ck.py', {
        op: 'offsets',
        bootstrap: b.bootstrap,
        topic,
        partitions: [0, 1],
        timestamp,
      });
    const r1 = await q(base + 1500);
    expect(r1.watermarks).toEqual({ '0': [0, 4], '1': [0, 0] });
    expect(r1.times['0']).toBe(2);
    expect(r1.times['1']).toBe(-1); // empty partition: no offset for that time
    expect((await q(base)).times['0']).toBe(0);
    expect((await q(base + 10_000)).times['0']).toBe(-1);
  });
});
