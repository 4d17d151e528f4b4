/**
 * The Admin against a real Brook node: topics (create, list, describe, delete, add partitions),
 * configs (describe, alter, incremental), list offsets (earliest, latest, by timestamp), delete
 * records, groups (list, describe, committed offsets, reset, delete) and the cluster description.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../src/client/admin.js';
import { Consumer } from '../../src/client/consumer.js';
import { KafkaProtocolError } from '../../src/client/errors.js';
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

describe('Admin', () => {
  it('creates, lists, describes, grows and deletes topics', async () => {
    const topic = uniqueTopic('adm');
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 3, configs: { 'retention.ms': '3600000' } }] });
    expect(await admin.listTopics()).toContain(topic);
    const [d] = await admin.describeTopics([topic]);
    expect(d!.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(d!.partitions.every((p) => p.leader >= 0)).toBe(true);
    await expect(admin.createTopics({ topics: [{ name: topic, numPartitions: 3 }] })).rejects.toMatchObject({ type: 'TOPIC_ALREADY_EXISTS', retriable: false });
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 3 }], ifNotExists: true });
    await admin.createPartitions({ topics: [{ name: topic, count: 5 }] });
    expect((await admin.describeTopics([topic]))[0]!.partitions.length).toBe(5);
    await admin.deleteTopics({ topics: [topic] });
    expect(await admin.listTopics()).not.toContain(topic);
    await expect(admin.describeTopics([topic])).rejects.toBeInstanceOf(KafkaProtocolError);
  });

  it('describes and alters topic configs (whole and incremental)', async () => {
    const topic = uniqueTopic('cfg');
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 1, configs: { 'retention.ms': '3600000' } }] });
    const value = async (key: string) => (await admin.describeConfigs({ resources: [{ type: 'topic', name: topic, keys: [key] }] }))[0]!.configs.find((c) => c.name === key);
    expect((await value('retention.ms'))!.value).toBe('3600000');
    await admin.incrementalAlterConfigs({ resources: [{ type: 'topic', name: topic, ops: [{ name: 'retention.ms', op: 'set', value: '7200000' }] }] });
    expect((await value('retention.ms'))!.value).toBe('7200000');
    await admin.incrementalAlterConfigs({ resources: [{ type: 'topic', name: topic, ops: [{ name: 'retention.ms', op: 'delete' }] }] });
    expect((await value('retention.ms'))!.isDefault).toBe(true);
    await admin.alterConfigs({ resources: [{ type: 'topic', name: topic, configs: { 'cleanup.policy': 'compact' } }] });
    expect((await value('cleanup.policy'))!.value).toBe('compact');
    const all = await admin.describeConfigs({ resources: [{ type: 'topic', name: topic }] });
    expect(all[0]!.configs.length).toBeGreaterThan(3);
  });

  it('lists offsets (earliest, latest, by timestamp) and deletes records', async () => {
    const topic = uniqueTopic('off');
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 2 }] });
    const t0 = Date.now() - 10_000;
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: 0, timestamp: t0 + i * 1000 })) });
    expect((await admin.listOffsets({ topic, at: 'latest' })).map((o) => o.offset)).toEqual([10, 0]);
    expect((await admin.listOffsets({ topic, at: 'earliest' })).map((o) => o.offset)).toEqual([0, 0]);
    const [byTime] = await admin.listOffsets({ topic, partitions: [0], at: { timestamp: t0 + 4500 } });
    expect(byTime!.offset).toBe(5);
    const low = await admin.deleteRecords({ topic, partitions: [{ partition: 0, offset: 4 }] });
    expect(low).toEqual([{ partition: 0, lowWatermark: 4 }]);
    expect((await admin.listOffsets({ topic, partitions: [0], at: 'earliest' }))[0]!.offset).toBe(4);
  });

  it('lists, describes, resets and deletes groups', async () => {
    const topic = uniqueTopic('grp');
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 2 }] });
    await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })) });
    const groupId = uniqueTopic('g');
    const c = new Consumer({ bootstrapServers: [b.bootstrap], groupId });
    await c.subscribe({ topics: [topic], fromBeginning: true });
    let n = 0;
    for await (const _ of c) if (++n === 20) break;
    await c.commit();
    expect((await admin.listGroups()).map((g) => g.groupId)).toContain(groupId);
    const [desc] = await admin.describeGroups([groupId]);
    expect(desc!.state).toBe('Stable');
    expect(desc!.members.length).toBe(1);
    expect(desc!.members[0]!.subscription).toEqual([topic]);
    expect(desc!.members[0]!.assignment.length).toBe(2);
    expect((await admin.fetchOffsets({ groupId })).map((o) => o.offset)).toEqual([10, 10]);
    await c.close();

    await admin.resetOffsets({ groupId, topic, to: 'earliest' });
    expect((await admin.fetchOffsets({ groupId })).map((o) => o.offset)).toEqual([0, 0]);
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 1, offset: 7 }] });
    expect((await admin.fetchOffsets({ groupId, topics: [topic] })).map((o) => o.offset)).toEqual([0, 7]);
    await admin.deleteOffsets({ groupId, topic, partitions: [0] });
    expect((await admin.fetchOffsets({ groupId })).map((o) => [o.partition, o.offset])).toEqual([[1, 7]]);
    await admin.deleteGroups([groupId]);
    await sleep(50);
    expect((await admin.listGroups()).map((g) => g.groupId)).not.toContain(groupId);
  });

  it('describes the cluster', async () => {
    const d = await admin.describeCluster();
    expect(d.brokers.length).toBe(1);
    expect(d.brokers[0]!.port).toBe(b.port);
    expect(d.controllerId).toBeGreaterThanOrEqual(0);
    expect(typeof d.clusterId).toBe('string');
  });
});
