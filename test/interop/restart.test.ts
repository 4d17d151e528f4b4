/**
 * Restart: every client produces into one topic, the node stops, a new node starts on the same
 * data dir, and every consumer reads everything back in order. Idempotent producers started
 * after the restart continue the logs.
 */
import { Partitioners } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { kcat, kcatConsumeAll, kcatRequirement, missing, pythonRequirement, runPythonScript, uniqueTopic } from '../helpers/clients.js';
import { tempDir } from '../helpers/tmp.js';
import { broker, kafkajs, type ConsumeReply, type EmbeddedBroker, type ProduceReply } from './setup.js';

const kc = kcatRequirement();
const kp = pythonRequirement('kafka');
const ck = pythonRequirement('confluent_kafka');

interface Row {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: [string, string][];
}

function norm(rows: Row[]): string[] {
  return rows.map((r) => `${r.partition}/${String(r.offset).padStart(6, '0')} ${r.key} ${r.value} ${JSON.stringify(r.headers)}`).sort();
}

async function readWithKcat(bootstrap: string, topic: string): Promise<Row[]> {
  const recs = await kcatConsumeAll(bootstrap, topic);
  return recs.map((r) => {
    const h: [string, string][] = [];
    for (let i = 0; i + 1 < (r.headers ?? []).length; i += 2) h.push([r.headers![i]!, r.headers![i + 1]!]);
    return { partition: r.partition, offset: r.offset, key: r.key, value: r.payload, headers: h };
  });
}

describe.skipIf(missing(kc))('interop: restart on the same data dir', () => {
  const data = tempDir('brook-interop-restart-');
  let b: EmbeddedBroker | undefined;
  afterAll(async () => {
    await b?.stop();
    data.cleanup();
  });

  it('records from every client survive a restart and read back in order with every consumer', async () => {
    b = await broker({ dataDir: data.dir });
    const topic = uniqueTopic('restart');
    const admin = kafkajs(b.bootstrap).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true, timeout: 10_000 });
    await admin.disconnect();

    const recs = (who: string, n: number) => Array.from({ length: n }, (_, i) => ({ key: `key-${i % 6}`, value: `${who}-${i}`, headers: [['who', who]] as [string, string][] }));

    const p = kafkajs(b.bootstrap).producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await p.connect();
    await p.send({ topic, messages: recs('kafkajs', 20).map((r) => ({ key: r.key, value: r.value, headers: { who: 'kafkajs' } })) });
    await p.disconnect();
    if (ck.available) {
      const r = await runPythonScript<ProduceReply>('ck.py', {
        op: 'produce',
        bootstrap: b.bootstrap,
        topic,
        records: recs('librdkafka', 20),
        config: { 'enable.idempotence': true },
      });
      expect(r.errors).toEqual([]);
    }
    if (kp.available) {
      const r = await runPythonScript<ProduceReply>('kp.py', { op: 'produce', bootstrap: b.bootstrap, topic, records: recs('kafka-python', 20) });
      expect(r.errors).toEqual([]);
    }
    await kcat(['-b', b.bootstrap, '-P', '-t', topic, '-K:', '-H', 'who=kcat', '-X', 'partitioner=murmur2_random'], {
      input:
        recs('kcat', 20)
          .map((r) => `${r.key}:${r.value}`)
          .join('\n') + '\n',
      timeoutMs: 15_000,
    });
    const before = norm(await readWithKcat(b.bootstrap, topic));
    const expectedCount = 20 * (2 + (ck.available ? 1 : 0) + (kp.available ? 1 : 0));
    expect(before).toHaveLength(expectedCount);

    await b.stop();
    b = await broker({ dataDir: data.dir });

    // Metadata survives.
    const admin2 = kafkajs(b.bootstrap).admin();
    await admin2.connect();
    const md = await admin2.fetchTopicMetadata({ topics: [topic] });
    expect(md.topics[0]!.partitions).toHaveLength(3);
    const offsets = await admin2.fetchTopicOffsets(topic);
    expect(offsets.reduce((n, o) => n + Number(o.high), 0)).toBe(expectedCount);
    await admin2.disconnect();

    const reread = await readWithKcat(b.bootstrap, topic);
    expect(norm(reread)).toEqual(before);
    // Each producer's records keep their produce order within a partition.
    for (const part of [0, 1, 2]) {
      const list = reread.filter((r) => r.partition === part).sort((x, y) => x.offset - y.offset);
      expect(list.map((r) => r.offset)).toEqual(list.map((_, i) => i));
      for (const who of ['kafkajs', 'librdkafka', 'kafka-python', 'kcat']) {
        const seq = list.filter((r) => r.value!.startsWith(`${who}-`)).map((r) => Number(r.value!.slice(who.length + 1)));
        expect(seq, `${who} order in partition ${part}`).toEqual([...seq].sort((x, y) => x - y));
      }
    }
    if (ck.available) {
      const got = await runPythonScript<ConsumeReply>('ck.py', { op: 'consume', bootstrap: b.bootstrap, topic });
      expect(got.complete).toBe(true);
      expect(norm(got.records)).toEqual(before);
    }
    if (kp.available) {
      const got = await runPythonScript<ConsumeReply>('kp.py', { op: 'consume', bootstrap: b.bootstrap, topic });
      expect(got.complete).toBe(true);
      expect(norm(got.records)).toEqual(before);
    }

    // New idempotent producers after the restart append after the old records.
    const p2 = kafkajs(b.bootstrap).producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await p2.connect();
    await p2.send({ topic, messages: [0, 1, 2].map((i) => ({ value: `after-${i}`, partition: i })) });
    await p2.disconnect();
    if (ck.available) {
      const r = await runPythonScript<ProduceReply>('ck.py', {
        op: 'produce',
        bootstrap: b.bootstrap,
        topic,
        records: [{ key: 'x', value: 'after-ck', partition: 0 }],
        config: { 'enable.idempotence': true },
      });
      expect(r.errors).toEqual([]);
    }
    const after = await readWithKcat(b.bootstrap, topic);
    expect(after).toHaveLength(expectedCount + 3 + (ck.available ? 1 : 0));
    for (const part of [0, 1, 2]) {
      const list = after.filter((r) => r.partition === part).sort((x, y) => x.offset - y.offset);
      expect(list.map((r) => r.offset)).toEqual(list.map((_, i) => i));
      const firstAfter = list.findIndex((r) => r.value!.startsWith('after-'));
      expect(list.slice(firstAfter).every((r) => r.value!.startsWith('after-'))).toBe(true);
    }
  });

  it('a connected idempotent kafkajs producer keeps producing across a restart on the same port', async () => {
    const dir = tempDir('brook-interop-live-');
    let node = await broker({ dataDir: dir.dir });
    const port = node.port;
    try {
      const topic = uniqueTopic('restart-live');
      const kafka = kafkajs(node.bootstrap);
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true, timeout: 10_000 });
      await admin.disconnect();
      const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      await p.connect();
      for (let i = 0; i < 3; i++) await p.send({ topic, messages: [{ value: `before-${i}`, partition: 0 }] });
      await node.stop();
      node = await broker({ dataDir: dir.dir, port });
      // Same producer id and epoch, next sequence numbers: the restarted node must know them.
      for (let i = 0; i < 3; i++) {
        const [m] = await p.send({ topic, messages: [{ value: `after-${i}`, partition: 0 }] });
        expect(m!.errorCode).toBe(0);
        expect(m!.baseOffset).toBe(String(3 + i));
      }
      await p.disconnect();
      const recs = await kcatConsumeAll(node.bootstrap, topic, 0);
      expect(recs.map((r) => `${r.offset}:${r.payload}`)).toEqual(['0:before-0', '1:before-1', '2:before-2', '3:after-0', '4:after-1', '5:after-2']);
    } finally {
      await node.stop();
      dir.cleanup();
    }
  });
});
