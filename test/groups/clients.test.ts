/**
 * Consumer groups with the Debian-packaged clients against a real node: kcat -G balanced
 * consumption, confluent-kafka-python (librdkafka) and kafka-python groups, and one group mixing
 * librdkafka and kafka-python members with the range assignor. Each consumes as a group,
 * commits, and after a node restart resumes from its committed offsets without re-reading.
 * Skipped, naming the Debian package, where a client is not installed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { describeIf, kcat, kcatRequirement, pythonRequirement, uniqueTopic } from '../helpers/clients.js';
import { kafkajs } from '../interop/setup.js';
import { PyMember, waitFor } from './py-member.js';

const kc = kcatRequirement();
const ck = pythonRequirement('confluent_kafka');
const kp = pythonRequirement('kafka');

describe('consumer groups: Debian-packaged clients', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'brook-groups-clients-'));
  let b: EmbeddedBroker;
  let producer: Producer;
  let seq = 0;

  async function start(): Promise<void> {
    b = await startBroker({ logLevel: 'warn', dataDir, groupInitialRebalanceDelayMs: 1_000 });
    producer = kafkajs(b.bootstrap, 'groups-clients').producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  }
  async function restart(): Promise<void> {
    await producer.disconnect();
    await b.stop();
    await start();
  }
  async function topicWith(partitions: number): Promise<string> {
    const topic = uniqueTopic('groups-clients');
    const admin = kafkajs(b.bootstrap).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    await admin.disconnect();
    return topic;
  }
  async function send(topic: string, partitions: number, n: number): Promise<string[]> {
    const values = Array.from({ length: n }, () => `v${seq++}`);
    await producer.send({ topic, messages: values.map((value, i) => ({ value, partition: i % partitions })) });
    return values;
  }
  function stopFile(): string {
    return join(dataDir, `stop-${seq++}-${Date.now()}`);
  }

  beforeAll(start);
  afterAll(async () => {
    await producer?.disconnect();
    await b?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  describeIf(kc, 'kcat -G', () => {
    it('consumes as a balanced group, commits, and after a restart resumes without re-reading', async () => {
      const topic = await topicWith(3);
      const group = `${topic}-kcat`;
      const consume = async () => {
        const r = await kcat(['-b', b.bootstrap, '-G', group, '-X', 'auto.offset.reset=earliest', '-e', '-q', '-f', '%s\\n', topic], { timeoutMs: 30_000 });
        return r.stdout.split('\n').filter((l) => l !== '');
      };
      const first = await send(topic, 3, 30);
      expect((await consume()).sort()).toEqual([...first].sort());
      await restart();
      const second = await send(topic, 3, 12);
      expect((await consume()).sort()).toEqual([...second].sort());
    });
  });

  async function groupOf(clients: ('ck' | 'kp')[], assignor: string): Promise<void> {
    const partitions = 6;
    const topic = await topicWith(partitions);
    const group = `${topic}-${clients.join('-')}`;
    const first = await send(topic, partitions, 60);
    let members = clients.map((c) => new PyMember(c, b.bootstrap, topic, group, stopFile(), { assignor }));
    await waitFor('every record consumed', () => members.reduce((n, m) => n + m.records.length, 0) >= first.length, 40_000);
    // Each member holds a disjoint part of the topic once the group has settled.
    if (clients.length > 1) {
      await waitFor('every member assigned', () => members.every((m) => (m.assignments.at(-1)?.length ?? 0) > 0), 20_000);
      const owned = members.flatMap((m) => m.assignments.at(-1)!);
      expect(owned.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    }
    await Promise.all(members.map((m) => m.stop()));
    const seen = members.flatMap((m) => m.records.map((r) => r.value));
    expect(seen.sort()).toEqual([...first].sort());

    await restart();
    const second = await send(topic, partitions, 24);
    members = clients.map((c) => new PyMember(c, b.bootstrap, topic, group, stopFile(), { assignor }));
    await waitFor('the new records consumed', () => members.reduce((n, m) => n + m.records.length, 0) >= second.length, 40_000);
    await new Promise((r) => setTimeout(r, 1_000));
    await Promise.all(members.map((m) => m.stop()));
    expect(members.flatMap((m) => m.records.map((r) => r.value)).sort()).toEqual([...second].sort());
  }

  describeIf(ck, 'confluent-kafka-python', () => {
    it('two members share a topic, commit, and resume after a restart', () => groupOf(['ck', 'ck'], 'roundrobin'), 120_000);
  });

  describeIf(kp, 'kafka-python', () => {
    it('two members share a topic, commit, and resume after a restart', () => groupOf(['kp', 'kp'], 'range'), 120_000);
  });

  describeIf([ck, kp], 'librdkafka and kafka-python in one group', () => {
    it('share a topic with the range assignor, commit, and resume after a restart', () => groupOf(['ck', 'kp'], 'range'), 120_000);
  });
});
