/**
 * "Same key, same partition" across clients: kafkajs's DefaultPartitioner, kafka-python's
 * default partitioner and librdkafka's murmur2_random (confluent-kafka-python and kcat) all
 * implement the Java client's murmur2 partitioner, so records with one key land in one
 * partition whichever client produced them. Brook must honour the partition each client picks.
 */
import { Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kcat, kcatConsumeAll, kcatRequirement, missing, pythonRequirement, runPythonScript, uniqueTopic } from '../helpers/clients.js';
import { broker, kafkajs, partitionsPerKey, type EmbeddedBroker, type ProduceReply } from './setup.js';

const kc = kcatRequirement();
const kp = pythonRequirement('kafka');
const ck = pythonRequirement('confluent_kafka');

describe.skipIf(missing(kc))('interop: same key, same partition across clients', () => {
  let b: EmbeddedBroker;
  beforeAll(async () => {
    b = await broker();
  });
  afterAll(async () => {
    await b?.stop();
  });

  for (const numPartitions of [3, 7]) {
    it(`${numPartitions} partitions: kafkajs, kafka-python, librdkafka and kcat agree`, async () => {
      const topic = uniqueTopic(`xkey-${numPartitions}`);
      const admin = kafkajs(b.bootstrap).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true, timeout: 10_000 });
      await admin.disconnect();
      const keys = Array.from({ length: 40 }, (_, i) => `user-${i * 7919}`);

      // kafkajs
      const p = kafkajs(b.bootstrap).producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      await p.connect();
      await p.send({ topic, messages: keys.map((key) => ({ key, value: `kafkajs|${key}` })) });
      await p.disconnect();

      // kafka-python
      if (kp.available) {
        const r = await runPythonScript<ProduceReply>('kp.py', {
          op: 'produce',
          bootstrap: b.bootstrap,
          topic,
          records: keys.map((key) => ({ key, value: `kafka-python|${key}` })),
        });
        expect(r.errors).toEqual([]);
      }
      // confluent-kafka-python with the Java-compatible partitioner
      if (ck.available) {
        const r = await runPythonScript<ProduceReply>('ck.py', {
          op: 'produce',
          bootstrap: b.bootstrap,
          topic,
          records: keys.map((key) => ({ key, value: `librdkafka|${key}` })),
          config: { partitioner: 'murmur2_random', 'enable.idempotence': true },
        });
        expect(r.errors).toEqual([]);
      }
      // kcat with the same partitioner
      await kcat(['-b', b.bootstrap, '-P', '-t', topic, '-K', '\t', '-X', 'partitioner=murmur2_random'], {
        input: keys.map((k) => `${k}\tkcat|${k}`).join('\n') + '\n',
        timeoutMs: 15_000,
      });

      const recs = await kcatConsumeAll(b.bootstrap, topic);
      const clients = 2 + (kp.available ? 1 : 0) + (ck.available ? 1 : 0);
      expect(recs).toHaveLength(keys.length * clients);
      const perKey = partitionsPerKey(recs);
      const split = [...perKey]
        .filter(([, ps]) => ps.size !== 1)
        .map(([k]) => {
          const who = recs.filter((r) => r.key === k).map((r) => `${r.payload!.split('|')[0]}→${r.partition}`);
          return `${k}: ${who.join(', ')}`;
        });
      expect(split, 'keys whose records landed in different partitions').toEqual([]);
      expect(new Set(recs.map((r) => r.partition)).size).toBe(numPartitions);

      // And the partition is the Java murmur2 one, computed independently by kafka-python.
      if (kp.available) {
        const expected = await runPythonScript<{ partitions: Record<string, number> }>('kp.py', {
          op: 'partition_for',
          partitions: numPartitions,
          keys,
        });
        for (const key of keys) expect([...perKey.get(key)!][0], key).toBe(expected.partitions[key]);
      }
    });
  }
});
