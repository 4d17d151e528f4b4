/**
 * The admin apis with every client: CreatePartitions, DeleteRecords, AlterConfigs, and a topic
 * deleted and re-created with fewer partitions, before and after a restart.
 */
import { Partitioners, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kcatConsumeAll, kcatRequirement, missing, pythonRequirement, runPythonScript, uniqueTopic } from '../helpers/clients.js';
import { tempDir } from '../helpers/tmp.js';
import { broker, kafkajs, type EmbeddedBroker } from './setup.js';

const kc = kcatRequirement();
const kp = pythonRequirement('kafka');
const ck = pythonRequirement('confluent_kafka');

describe('interop: admin apis across clients', () => {
  const data = tempDir('brook-interop-admin-');
  let b: EmbeddedBroker;
  let admin: Admin;
  beforeAll(async () => {
    b = await broker({ dataDir: data.dir });
    admin = kafkajs(b.bootstrap).admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.disconnect();
    await b?.stop();
    data.cleanup();
  });

  const partitionCount = async (topic: string) => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length;

  it('CreatePartitions with kafkajs, confluent-kafka and kafka-python', async () => {
    const topic = uniqueTopic('adm-parts');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true, timeout: 10_000 });
    await admin.createPartitions({ topicPartitions: [{ topic, count: 2 }], timeout: 10_000 });
    expect(await partitionCount(topic)).toBe(2);
    if (ck.available) {
      const r = await runPythonScript<{ results: Record<string, string | null> }>('ck.py', { op: 'create_partitions', bootstrap: b.bootstrap, topic, count: 3 });
      expect(r.results).toEqual({ [topic]: null });
      expect(await partitionCount(topic)).toBe(3);
      // Fewer partitions than now is INVALID_PARTITIONS.
      const bad = await runPythonScript<{ results: Record<string, string | null> }>('ck.py', { op: 'create_partitions', bootstrap: b.bootstrap, topic, count: 2 });
      expect(bad.results[topic]).toMatch(/INVALID_PARTITIONS/);
    }
    if (kp.available) {
      const r = await runPythonScript<{ results: Record<string, number> }>('kp.py', { op: 'create_partitions', bootstrap: b.bootstrap, topic, count: 5 });
      expect(r.results).toEqual({ [topic]: 0 });
      expect(await partitionCount(topic)).toBe(5);
    }
    // The new partitions take records.
    const p = kafkajs(b.bootstrap).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await p.connect();
    const n = await partitionCount(topic);
    await p.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ value: `p${i}`, partition: i })) });
    await p.disconnect();
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.map((o) => o.high)).toEqual(Array(n).fill('1'));
  });

  it('AlterConfigs and DescribeConfigs with confluent-kafka and kafka-python agree with kafkajs', async () => {
    const topic = uniqueTopic('adm-configs');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true, timeout: 10_000 });
    const describe = async () => {
      const d = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic, configNames: ['retention.ms', 'cleanup.policy'] }] });
      return Object.fromEntries(d.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    };
    if (ck.available) {
      const r = await runPythonScript<{ results: Record<string, string | null> }>('ck.py', {
        op: 'alter_configs',
        bootstrap: b.bootstrap,
        topic,
        configs: { 'retention.ms': '111000', 'cleanup.policy': 'compact' },
      });
      expect(r.results).toEqual({ [topic]: null });
      expect(await describe()).toEqual({ 'retention.ms': '111000', 'cleanup.policy': 'compact' });
    }
    if (kp.available) {
      // Legacy AlterConfigs replaces the whole set: cleanup.policy goes back to its default.
      const r = await runPythonScript<{ results: Record<string, number> }>('kp.py', {
        op: 'alter_configs',
        bootstrap: b.bootstrap,
        topic,
        configs: { 'retention.ms': '222000' },
      });
      expect(r.results).toEqual({ [topic]: 0 });
      expect(await describe()).toEqual({ 'retention.ms': '222000', 'cleanup.policy': 'delete' });
    }
  });

  it('DeleteRecords (kafkajs) moves the log start offset, seen by every client, and survives a restart', async () => {
    const topic = uniqueTopic('adm-delrec');
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true, timeout: 10_000 });
    const p = kafkajs(b.bootstrap).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await p.connect();
    await p.send({ topic, messages: Array.from({ length: 6 }, (_, i) => ({ value: `v${i}`, partition: 0 })) });
    await p.disconnect();
    // kafkajs finds the leaders in its cluster metadata cache, which createTopics does not fill:
    // fetch the topic's metadata first or deleteTopicRecords reports "Could not find the leader".
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] });
    const check = async () => {
      const offs = await admin.fetchTopicOffsets(topic);
      expect(offs.find((o) => o.partition === 0)).toMatchObject({ low: '4', high: '6' });
      if (kc.available) expect((await kcatConsumeAll(b.bootstrap, topic, 0)).map((r) => r.payload)).toEqual(['v4', 'v5']);
      if (ck.available) {
        const r = await runPythonScript<{ watermarks: Record<string, [number, number]> }>('ck.py', { op: 'offsets', bootstrap: b.bootstrap, topic, partitions: [0] });
        expect(r.watermarks['0']).toEqual([4, 6]);
      }
      if (kp.available) {
        const r = await runPythonScript<{ records: { value: string }[] }>('kp.py', { op: 'consume', bootstrap: b.bootstrap, topic, partitions: [0] });
        expect(r.records.map((x) => x.value)).toEqual(['v4', 'v5']);
      }
    };
    await check();
    await admin.disconnect();
    await b.stop();
    b = await broker({ dataDir: data.dir });
    admin = kafkajs(b.bootstrap).admin();
    await admin.connect();
    await check();
  });

  it.skipIf(missing(kc))('a topic deleted and re-created with fewer partitions starts empty, also after a restart', async () => {
    const topic = uniqueTopic('adm-recreate');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true, timeout: 10_000 });
    const p = kafkajs(b.bootstrap).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await p.connect();
    await p.send({ topic, messages: [0, 1, 2].map((i) => ({ value: `old${i}`, partition: i })) });
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    expect(await admin.listTopics()).not.toContain(topic);
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true, timeout: 10_000 });
    expect((await admin.fetchTopicOffsets(topic)).map((o) => [o.low, o.high])).toEqual([
      ['0', '0'],
      ['0', '0'],
    ]);
    expect(await kcatConsumeAll(b.bootstrap, topic)).toEqual([]);
    await p.send({ topic, messages: [{ value: 'new0', partition: 1 }] });
    await p.disconnect();

    await admin.disconnect();
    await b.stop();
    b = await broker({ dataDir: data.dir });
    admin = kafkajs(b.bootstrap).admin();
    await admin.connect();
    expect(await partitionCount(topic)).toBe(2);
    const recs = await kcatConsumeAll(b.bootstrap, topic);
    expect(recs.map((r) => [r.partition, r.offset, r.payload])).toEqual([[1, 0, 'new0']]);
  });
});
