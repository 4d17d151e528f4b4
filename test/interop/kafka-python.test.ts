/**
 * kafka-python against a real Brook node: KafkaProducer (acks=all) with headers, KafkaConsumer
 * with assign()/seek_to_beginning(), offsets, KafkaAdminClient create/describe/delete.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, kcatConsumeAll, kcatRequirement, missing, pythonRequirement, runPythonScript, uniqueTopic } from '../helpers/clients.js';
import { broker, byPartition, contiguous, keyedRecords, partitionsPerKey, type ConsumeReply, type EmbeddedBroker, type ProduceReply } from './setup.js';

const kp = pythonRequirement('kafka');
const ck = pythonRequirement('confluent_kafka');
const kc = kcatRequirement();

describeIf(kp, 'interop: kafka-python', () => {
  let b: EmbeddedBroker;
  beforeAll(async () => {
    b = await broker();
  });
  afterAll(async () => {
    await b?.stop();
  });

  const createTopics = (topics: { name: string; partitions: number; config?: Record<string, string> }[]) =>
    runPythonScript<{ results: Record<string, number>; version: number }>('kp.py', { op: 'create_topics', bootstrap: b.bootstrap, topics });

  it('KafkaAdminClient create_topics, list_topics, describe_configs, delete_topics', async () => {
    const topic = uniqueTopic('kp-admin');
    const created = await createTopics([{ name: topic, partitions: 3, config: { 'cleanup.policy': 'compact' } }]);
    expect(created.results).toEqual({ [topic]: 0 });
    // kafka-python's admin raises TopicAlreadyExistsError for a topic error code 36.
    await expect(createTopics([{ name: topic, partitions: 3 }])).rejects.toThrow(/TopicAlreadyExistsError/);

    const listed = await runPythonScript<{ topics: string[] }>('kp.py', { op: 'list_topics', bootstrap: b.bootstrap });
    expect(listed.topics).toContain(topic);

    const cfg = await runPythonScript<{ result: { error_code: number; configs: Record<string, string> } }>('kp.py', {
      op: 'describe_configs',
      bootstrap: b.bootstrap,
      topic,
    });
    expect(cfg.result.error_code).toBe(0);
    expect(cfg.result.configs['cleanup.policy']).toBe('compact');

    const del = await runPythonScript<{ results: Record<string, number> }>('kp.py', { op: 'delete_topics', bootstrap: b.bootstrap, topics: [topic] });
    expect(del.results).toEqual({ [topic]: 0 });
    const after = await runPythonScript<{ topics: string[] }>('kp.py', { op: 'list_topics', bootstrap: b.bootstrap });
    expect(after.topics).not.toContain(topic);
  });

  it('KafkaProducer acks=all keyed records with headers; KafkaConsumer assign + seek_to_beginning reads them', async () => {
    const topic = uniqueTopic('kp-keyed');
    await createTopics([{ name: topic, partitions: 3 }]);
    const records = keyedRecords('kp', 45, 9);
    const prod = await runPythonScript<ProduceReply>('kp.py', { op: 'produce', bootstrap: b.bootstrap, topic, records });
    expect(prod.errors).toEqual([]);
    expect(prod.delivered).toHaveLength(45);
    for (const [key, parts] of partitionsPerKey(prod.delivered)) expect(parts.size, `key ${key}`).toBe(1);

    const got = await runPythonScript<ConsumeReply>('kp.py', { op: 'consume', bootstrap: b.bootstrap, topic });
    expect(got.complete).toBe(true);
    expect(got.records).toHaveLength(45);
    expect(contiguous(got.records)).toBe(true);
    const where = new Map(prod.delivered.map((d) => [d.value, d]));
    for (const r of got.records) {
      const i = Number(r.value!.split('-').pop());
      expect(r.key).toBe(records[i]!.key);
      expect(r.headers).toEqual(records[i]!.headers);
      expect(r.partition).toBe(where.get(r.value)!.partition);
      expect(r.offset).toBe(where.get(r.value)!.offset);
    }
    for (const list of byPartition(got.records).values()) {
      const seq = list.map((r) => Number(r.headers[0]![1]));
      expect(seq).toEqual([...seq].sort((x, y) => x - y));
    }
  });

  it.skipIf(missing(kc))('records produced by kafka-python read back by kcat', async () => {
    const topic = uniqueTopic('kp-to-kcat');
    await createTopics([{ name: topic, partitions: 3 }]);
    const records = keyedRecords('kp2', 20, 4);
    const prod = await runPythonScript<ProduceReply>('kp.py', {
      op: 'produce',
      bootstrap: b.bootstrap,
      topic,
      records,
      config: { compression_type: 'gzip' },
    });
    expect(prod.errors).toEqual([]);
    const recs = await kcatConsumeAll(b.bootstrap, topic);
    expect(recs).toHaveLength(20);
    for (const r of recs) {
      const i = Number(r.payload!.split('-').pop());
      expect(r.key).toBe(records[i]!.key);
      expect(r.headers).toEqual(records[i]!.headers!.flat());
    }
  });

  it.skipIf(missing(ck))('records produced by kafka-python read back by confluent-kafka', async () => {
    const topic = uniqueTopic('kp-to-ck');
    await createTopics([{ name: topic, partitions: 3 }]);
    const records = keyedRecords('kp3', 20, 4);
    const prod = await runPythonScript<ProduceReply>('kp.py', { op: 'produce', bootstrap: b.bootstrap, topic, records });
    expect(prod.errors).toEqual([]);
    const got = await runPythonScript<ConsumeReply>('ck.py', { op: 'consume', bootstrap: b.bootstrap, topic });
    expect(got.complete).toBe(true);
    expect(got.records).toHaveLength(20);
    for (const r of got.records) expect(r.headers).toEqual(records[Number(r.value!.split('-').pop())]!.headers);
  });

  it('beginning/end offsets and offsets_for_times', async () => {
    const topic = uniqueTopic('kp-offsets');
    await createTopics([{ name: topic, partitions: 2 }]);
    const base = 1_600_000_000_000;
    const records = [0, 1, 2].map((i) => ({ key: `k${i}`, value: `v${i}`, partition: 1, timestamp: base + i * 1000 }));
    const prod = await runPythonScript<ProduceReply>('kp.py', { op: 'produce', bootstrap: b.bootstrap, topic, records });
    expect(prod.errors).toEqual([]);
    const r = await runPythonScript<{ watermarks: Record<string, [number, number]>; times: Record<string, number | null> }>('kp.py', {
      op: 'offsets',
      bootstrap: b.bootstrap,
      topic,
      partitions: [0, 1],
      timestamp: base + 500,
    });
    expect(r.watermarks).toEqual({ '0': [0, 0], '1': [0, 3] });
    expect(r.times).toEqual({ '0': null, '1': 1 });
  });

  it('a seek past the end is reset by auto_offset_reset=earliest', async () => {
    const topic = uniqueTopic('kp-oor');
    await createTopics([{ name: topic, partitions: 1 }]);
    const prod = await runPythonScript<ProduceReply>('kp.py', {
      op: 'produce',
      bootstrap: b.bootstrap,
      topic,
      records: [0, 1, 2].map((i) => ({ key: null, value: `v${i}` })),
    });
    expect(prod.errors).toEqual([]);
    const got = await runPythonScript<ConsumeReply>('kp.py', {
      op: 'consume',
      bootstrap: b.bootstrap,
      topic,
      partitions: [0],
      start: 1000,
      config: { auto_offset_reset: 'earliest' },
    });
    expect(got.complete).toBe(true);
    expect(got.records.map((r) => [r.offset, r.value])).toEqual([
      [0, 'v0'],
      [1, 'v1'],
      [2, 'v2'],
    ]);
  });
});
