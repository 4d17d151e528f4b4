/**
 * Brook's client and kafkajs 2.2.4 against the same Brook node, both ways: records produced by
 * one are consumed by the other with keys, values, headers and offsets intact, and a key lands
 * in the same partition whichever client produced it. Compressed batches (gzip, which kafkajs
 * ships) cross too.
 */
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../src/client/admin.js';
import { Consumer, type ConsumerRecord } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import { broker, sleep, uniqueTopic, type EmbeddedBroker } from './helpers.js';

let b: EmbeddedBroker;
let admin: Admin;
let kafka: Kafka;

beforeAll(async () => {
  b = await broker();
  admin = new Admin({ bootstrapServers: [b.bootstrap] });
  kafka = new Kafka({ brokers: [b.bootstrap], logLevel: logLevel.NOTHING, clientId: 'interop' });
});
afterAll(async () => {
  await admin?.close();
  await b?.stop();
});

const keys = Array.from({ length: 50 }, (_, i) => `user-${i * 7919}`);

describe('interop with kafkajs', () => {
  it('Brook produces, kafkajs consumes: same records, same partitions', async () => {
    const topic = uniqueTopic('b2k');
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 5 }] });
    const producer = new Producer({ bootstrapServers: [b.bootstrap], compression: 'gzip' });
    const acks = await producer.send({ topic, messages: keys.map((key) => ({ key, value: `brook|${key}`, headers: { origin: 'brook' } })) });
    await producer.close();

    const consumer = kafka.consumer({ groupId: uniqueTopic('kg') });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const got: { key: string; value: string; partition: number; offset: number; origin: string }[] = [];
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.push({ key: message.key!.toString(), value: message.value!.toString(), partition, offset: Number(message.offset), origin: String(message.headers!.origin) });
      },
    });
    const deadline = Date.now() + 30_000;
    while (got.length < keys.length && Date.now() < deadline) await sleep(50);
    await consumer.disconnect();
    expect(got.length).toBe(keys.length);
    for (const [i, key] of keys.entries()) {
      const r = got.find((g) => g.key === key)!;
      expect(r.value).toBe(`brook|${key}`);
      expect(r.origin).toBe('brook');
      expect(r.partition).toBe(acks[i]!.partition);
      expect(r.offset).toBe(acks[i]!.offset);
    }
  });

  it('kafkajs produces, Brook consumes: same records; keys land where Brook would put them', async () => {
    const topic = uniqueTopic('k2b');
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 5 }] });
    const kp = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await kp.connect();
    await kp.send({ topic, compression: CompressionTypes.GZIP, messages: keys.map((key) => ({ key, value: `kafkajs|${key}`, headers: { origin: 'kafkajs' } })) });
    await kp.disconnect();

    // The same keys through Brook's producer must land in the same partitions.
    const producer = new Producer({ bootstrapServers: [b.bootstrap] });
    await producer.send({ topic, messages: keys.map((key) => ({ key, value: `brook|${key}` })) });
    await producer.close();

    const consumer = new Consumer({ bootstrapServers: [b.bootstrap], groupId: uniqueTopic('bg') });
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const got: ConsumerRecord[] = [];
    const timer = setTimeout(() => void consumer.close(), 30_000);
    for await (const r of consumer) {
      got.push(r);
      if (got.length === keys.length * 2) break;
    }
    clearTimeout(timer);
    await consumer.close();
    expect(got.length).toBe(keys.length * 2);
    for (const key of keys) {
      const mine = got.filter((r) => r.key!.toString() === key);
      expect(mine.length).toBe(2);
      expect(mine[0]!.partition).toBe(mine[1]!.partition);
      const fromKafkajs = mine.find((r) => r.value!.toString().startsWith('kafkajs|'))!;
      expect(fromKafkajs.headers).toEqual([{ key: 'origin', value: Buffer.from('kafkajs') }]);
    }
  });

  it('a Brook consumer group reads what kafkajs committed', async () => {
    const topic = uniqueTopic('kcommit');
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 1 }] });
    const kp = kafka.producer();
    await kp.connect();
    await kp.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) });
    await kp.disconnect();
    const groupId = uniqueTopic('shared');
    const kadmin = kafka.admin();
    await kadmin.connect();
    await kadmin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '6' }] });
    await kadmin.disconnect();
    const consumer = new Consumer({ bootstrapServers: [b.bootstrap], groupId });
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const got: number[] = [];
    for await (const r of consumer) {
      got.push(r.offset);
      if (got.length === 4) break;
    }
    await consumer.close();
    expect(got).toEqual([6, 7, 8, 9]);
  });
});
