/**
 * Real Kafka clients against a three-node Brook cluster on etcd, each bootstrapped from one
 * node only: kcat -L sees three brokers and a topic led by all three; kafkajs,
 * confluent-kafka-python and kafka-python produce and consume across the nodes; a kafkajs
 * consumer group whose coordinator is on another node than the bootstrap node commits and a
 * restarted consumer resumes from the committed offset.
 */
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, kcat, kcatRequirement, missing, pythonRequirement, runPythonScript, uniqueTopic } from '../helpers/clients.js';
import { BrookCluster, waitUntil } from '../helpers/cluster.js';
import { etcdRequirement } from '../helpers/etcd.js';
import { groupPartition } from '../../src/cluster/offsets-topic.js';
import { RawClient } from '../helpers/raw-client.js';
import { contiguous, kafkajs, keyedRecords, partitionsPerKey, type ConsumeReply, type ProduceReply } from '../interop/setup.js';

const ck = pythonRequirement('confluent_kafka');
const kp = pythonRequirement('kafka');
const kc = kcatRequirement();

describeIf(etcdRequirement(), 'cluster: real clients against three nodes', () => {
  let cluster: BrookCluster;
  const clients: { disconnect(): Promise<void> }[] = [];

  beforeAll(async () => {
    cluster = BrookCluster.create({ nodeIds: [1, 2, 3], extraArgs: ['--group-initial-rebalance-delay-ms', '0'] });
    await cluster.startAll();
    await cluster.waitForBrokers([1, 2, 3], 1);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.disconnect().catch(() => undefined)));
    await cluster?.stop();
  });

  /** Leader of each partition (index = partition) as node `via` reports it. */
  async function leaders(topic: string, via = 1): Promise<number[]> {
    const parts = await cluster.waitForLeaders(via, topic);
    return parts.map((p) => p.leaderId);
  }

  it('kcat -L lists three brokers, the controller, and a topic whose leaders are on all three', async (ctx) => {
    if (missing(kc)) return ctx.skip();
    const topic = uniqueTopic('cl-kcat');
    await cluster.createTopic(topic, 6);
    const r = await kcat(['-b', cluster.bootstrap(2), '-L', '-J', '-t', topic], { timeoutMs: 15_000 });
    const md = JSON.parse(r.stdout) as {
      controllerid: number;
      brokers: { id: number; name: string }[];
      topics: { topic: string; partitions: { partition: number; leader: number }[] }[];
    };
    expect(md.brokers.map((b) => b.id).sort()).toEqual([1, 2, 3]);
    for (const b of md.brokers) expect(b.name).toBe(cluster.node(b.id).bootstrap);
    expect([1, 2, 3]).toContain(md.controllerid);
    const t = md.topics.find((x) => x.topic === topic);
    expect(t, `topic ${topic} in kcat -L: ${r.stdout}`).toBeDefined();
    expect(t!.partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set(t!.partitions.map((p) => p.leader))).toEqual(new Set([1, 2, 3]));
  });

  it('kafkajs bootstrapped from node 2 produces keyed records to six partitions on three nodes and a group reads them all', async () => {
    const topic = uniqueTopic('cl-kafkajs');
    await cluster.createTopic(topic, 6);
    expect(new Set(await leaders(topic))).toEqual(new Set([1, 2, 3]));
    const kafka: Kafka = kafkajs(cluster.bootstrap(2), 'cluster-kafkajs');
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    clients.push(producer);
    await producer.connect();
    const sent = Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 12}`, value: `v${i}` }));
    const meta = await producer.send({ topic, acks: -1, messages: sent });
    expect(meta.every((m) => m.errorCode === 0)).toBe(true);
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueTopic('cl-kafkajs-g'), sessionTimeout: 10_000, heartbeatInterval: 500 });
    clients.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: { partition: number; offset: number; key: string; value: string }[] = [];
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        got.push({ partition, offset: Number(message.offset), key: message.key!.toString(), value: message.value!.toString() });
      },
    });
    await waitUntil(
      async () => (got.length >= 60 ? true : undefined),
      30_000,
      '60 records through the kafkajs group',
      () => got.length,
    );
    await consumer.disconnect();
    expect(got.map((r) => r.value).sort()).toEqual(sent.map((r) => r.value).sort());
    expect(new Set(got.map((r) => r.partition))).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    for (const [key, parts] of partitionsPerKey(got)) expect(parts.size, `key ${key} in one partition`).toBe(1);
    expect(contiguous(got)).toBe(true);
  });

  it('confluent-kafka-python bootstrapped from node 3 produces idempotently and reads every partition back', async (ctx) => {
    if (missing(ck)) return ctx.skip();
    const topic = uniqueTopic('cl-ck');
    await cluster.createTopic(topic, 3);
    expect(new Set(await leaders(topic))).toEqual(new Set([1, 2, 3]));
    const records = keyedRecords('ck', 60, 10);
    const prod = await runPythonScript<ProduceReply>(
      'ck.py',
      { op: 'produce', bootstrap: cluster.bootstrap(3), topic, records, config: { 'enable.idempotence': true, 'linger.ms': 5 } },
      { timeoutMs: 40_000 },
    );
    expect(prod.errors).toEqual([]);
    expect(prod.delivered).toHaveLength(60);
    expect(new Set(prod.delivered.map((d) => d.partition)).size).toBe(3);
    const cons = await runPythonScript<ConsumeReply>('ck.py', { op: 'consume', bootstrap: cluster.bootstrap(3), topic, timeout: 20 }, { timeoutMs: 40_000 });
    expect(cons.errors ?? []).toEqual([]);
    expect(cons.complete).toBe(true);
    expect(cons.records.map((r) => r.value).sort()).toEqual(records.map((r) => r.value).sort());
    expect(contiguous(cons.records)).toBe(true);
  });

  it('kafka-python bootstrapped from node 1 produces acks=all and reads every partition back', async (ctx) => {
    if (missing(kp)) return ctx.skip();
    const topic = uniqueTopic('cl-kp');
    await cluster.createTopic(topic, 3);
    expect(new Set(await leaders(topic))).toEqual(new Set([1, 2, 3]));
    const records = keyedRecords('kp', 45, 9);
    const prod = await runPythonScript<ProduceReply>('kp.py', { op: 'produce', bootstrap: cluster.bootstrap(1), topic, records }, { timeoutMs: 40_000 });
    expect(prod.errors).toEqual([]);
    expect(prod.delivered).toHaveLength(45);
    expect(new Set(prod.delivered.map((d) => d.partition)).size).toBe(3);
    const cons = await runPythonScript<ConsumeReply>('kp.py', { op: 'consume', bootstrap: cluster.bootstrap(1), topic, timeout: 20 }, { timeoutMs: 40_000 });
    expect(cons.complete).toBe(true);
    expect(cons.records.map((r) => r.value).sort()).toEqual(records.map((r) => r.value).sort());
    expect(contiguous(cons.records)).toBe(true);
  });

  it('a kafkajs group whose coordinator is on another node than the bootstrap node commits, and a restarted consumer resumes from the commit', async () => {
    // The group's coordinator (the leader of its __consumer_offsets partition) as every node
    // names it; the clients bootstrap from a node that is not the coordinator.
    const groupId = uniqueTopic('cl-group');
    const named: number[] = [];
    for (const id of [1, 2, 3]) {
      const c = await RawClient.connect('127.0.0.1', cluster.node(id).port, { clientId: 'cluster-test' });
      try {
        const res = await c.request(10, 3, { key: groupId, keyType: 0 });
        expect(res.errorCode, `FindCoordinator ${groupId} on node ${id}: ${res.errorMessage}`).toBe(0);
        expect(res.port).toBe(cluster.node(res.nodeId).port);
        named.push(res.nodeId);
      } finally {
        c.close();
      }
    }
    const coordinator = named[0]!;
    expect(named, `coordinator of ${groupId} according to nodes 1, 2, 3`).toEqual([coordinator, coordinator, coordinator]);
    expect([1, 2, 3]).toContain(coordinator);
    // ... the leader of the group's __consumer_offsets partition (Kafka's abs(hashCode) % partitions).
    const offsets = (await cluster.metadata(1, ['__consumer_offsets'])).topics[0]!;
    expect(offsets.errorCode).toBe(0);
    const groupPart = offsets.partitions.find((p) => p.partitionIndex === groupPartition(groupId, offsets.partitions.length));
    expect(groupPart?.leaderId, `leader of __consumer_offsets-${groupPart?.partitionIndex}`).toBe(coordinator);
    const bootstrapNode = [1, 2, 3].find((id) => id !== coordinator)!;

    const topic = uniqueTopic('cl-group-t');
    await cluster.createTopic(topic, 3);
    const kafka = kafkajs(cluster.bootstrap(bootstrapNode), 'cluster-group');
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    clients.push(producer);
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 5}`, value: `first-${i}` })) });

    const consume = async (want: number) => {
      const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
      clients.push(consumer);
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const got: string[] = [];
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
          got.push(message.value!.toString());
        },
      });
      await waitUntil(
        async () => (got.length >= want ? true : undefined),
        30_000,
        `${want} records in group ${groupId}`,
        () => got,
      );
      await consumer.disconnect();
      return got;
    };

    const first = await consume(20);
    expect(first.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `first-${i}`).sort());
    const admin = kafka.admin();
    clients.push(admin);
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0)).toBe(20);
    await admin.disconnect();

    await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i % 5}`, value: `second-${i}` })) });
    await producer.disconnect();
    // Resuming from the commit, the new consumer's first ten records are the ten new ones.
    const second = await consume(10);
    expect(second.slice(0, 10).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `second-${i}`).sort());
  });
});
