/**
 * kcat (librdkafka's CLI) against a real Brook node: metadata listing, keyed produce with
 * headers into a 3-partition topic, JSON consume, offsets by timestamp, compression codecs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, kcat, kcatConsumeAll, kcatRequirement } from '../helpers/clients.js';
import { uniqueTopic } from '../helpers/clients.js';
import { broker, kafkajs, partitionsPerKey, type EmbeddedBroker } from './setup.js';

describeIf(kcatRequirement(), 'interop: kcat', () => {
  let b: EmbeddedBroker;
  beforeAll(async () => {
    b = await broker();
  });
  afterAll(async () => {
    await b?.stop();
  });

  async function createTopic(topic: string, numPartitions: number): Promise<void> {
    const admin = kafkajs(b.bootstrap).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true, timeout: 10_000 });
    } finally {
      await admin.disconnect();
    }
  }

  it('-L lists the broker and topics', async () => {
    const topic = uniqueTopic('kcat-list');
    await createTopic(topic, 3);
    const r = await kcat(['-b', b.bootstrap, '-L', '-J'], { timeoutMs: 10_000 });
    const md = JSON.parse(r.stdout) as {
      brokers: { id: number; name: string }[];
      topics: { topic: string; partitions: { partition: number; leader: number }[] }[];
    };
    expect(md.brokers).toHaveLength(1);
    expect(md.brokers[0]!.name).toBe(`${b.host}:${b.port}`);
    const t = md.topics.find((x) => x.topic === topic);
    expect(t, `topic ${topic} in kcat -L: ${r.stdout}`).toBeDefined();
    expect(t!.partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2]);
    for (const p of t!.partitions) expect(p.leader).toBe(md.brokers[0]!.id);
  });

  it('-P with keys and headers into 3 partitions, -C -e -J reads them back', async () => {
    const topic = uniqueTopic('kcat-keyed');
    await createTopic(topic, 3);
    const lines = Array.from({ length: 30 }, (_, i) => `k${i % 6}:v${i}`).join('\n') + '\n';
    await kcat(['-b', b.bootstrap, '-P', '-t', topic, '-K:', '-H', 'trace=abc', '-H', 'empty=', '-X', 'partitioner=murmur2_random'], {
      input: lines,
      timeoutMs: 15_000,
    });
    const recs = await kcatConsumeAll(b.bootstrap, topic);
    expect(recs).toHaveLength(30);
    expect(new Set(recs.map((r) => r.partition)).size).toBeGreaterThan(1);
    for (const [key, parts] of partitionsPerKey(recs)) expect(parts.size, `key ${key} in one partition`).toBe(1);
    for (const r of recs) {
      expect(r.headers).toEqual(['trace', 'abc', 'empty', '']);
      expect(r.key).toMatch(/^k\d$/);
      expect(r.tstype).toBe('create');
    }
    // Per partition, offsets are 0..n-1 and the values keep the order they were produced in.
    const perPartition = new Map<number, typeof recs>();
    for (const r of recs) perPartition.set(r.partition, [...(perPartition.get(r.partition) ?? []), r]);
    for (const list of perPartition.values()) {
      expect(list.map((r) => r.offset)).toEqual(list.map((_, i) => i));
      const seq = list.map((r) => Number(r.payload!.slice(1)));
      expect(seq).toEqual([...seq].sort((x, y) => x - y));
    }
  });

  it('-P auto-creates a topic through Metadata and -p reads one partition', async () => {
    const topic = uniqueTopic('kcat-auto');
    await kcat(['-b', b.bootstrap, '-P', '-t', topic, '-p', '0'], { input: 'a\nb\nc\n', timeoutMs: 15_000 });
    const recs = await kcatConsumeAll(b.bootstrap, topic, 0);
    expect(recs.map((r) => r.payload)).toEqual(['a', 'b', 'c']);
    expect(recs.map((r) => r.key)).toEqual([null, null, null]);
  });

  it('-Q finds offsets by timestamp', async () => {
    const topic = uniqueTopic('kcat-query');
    await createTopic(topic, 1);
    // Three messages with explicit timestamps through kafkajs (kcat -P cannot set them per message).
    const producer = kafkajs(b.bootstrap).producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { value: 'a', timestamp: '1000000000000', partition: 0 },
        { value: 'b', timestamp: '1000000001000', partition: 0 },
        { value: 'c', timestamp: '1000000002000', partition: 0 },
      ],
    });
    await producer.disconnect();
    const q = async (ts: number) => {
      const r = await kcat(['-b', b.bootstrap, '-Q', '-t', `${topic}:0:${ts}`], { timeoutMs: 10_000 });
      const m = /offset (-?\d+)/.exec(r.stdout);
      expect(m, `kcat -Q output: ${r.stdout} ${r.stderr}`).not.toBeNull();
      return Number(m![1]);
    };
    expect(await q(999_999_999_999)).toBe(0);
    expect(await q(1_000_000_001_000)).toBe(1);
    expect(await q(1_000_000_001_500)).toBe(2);
    expect(await q(1_000_000_003_000)).toBe(-1); // no such record: Kafka answers offset -1
    expect(await q(-1)).toBe(3); // latest
    expect(await q(-2)).toBe(0); // earliest
  });

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
    it(`-z ${codec} produce is read back`, async () => {
      const topic = uniqueTopic(`kcat-${codec}`);
      const input = Array.from({ length: 50 }, (_, i) => `k${i}:${codec}-value-${i}-${'x'.repeat(100)}`).join('\n') + '\n';
      await kcat(['-b', b.bootstrap, '-P', '-t', topic, '-p', '0', '-K:', '-z', codec], { input, timeoutMs: 15_000 });
      const recs = await kcatConsumeAll(b.bootstrap, topic, 0);
      expect(recs).toHaveLength(50);
      expect(recs.map((r) => r.offset)).toEqual(recs.map((_, i) => i));
      expect(recs[49]!.payload).toBe(`${codec}-value-49-${'x'.repeat(100)}`);
    });
  }
});
