/**
 * Codecs, recompression and LogAppendTime through a real node, with real clients:
 * - every codec (gzip, snappy, lz4, zstd) produced by kcat -z and by Brook's client is stored as
 *   sent (compression.type=producer) and read back by kafka-python, confluent-kafka-python and
 *   kafkajs (gzip only: kafkajs has snappy/lz4/zstd only through codec plug-ins, not installed);
 * - compression.type=gzip/snappy/lz4/zstd/uncompressed makes the broker recompress whatever
 *   arrives (uncompressed, another codec, kafka-python's xerial-framed snappy): a raw fetch
 *   shows every stored batch in the topic's codec, and every client still reads the values;
 * - message.timestamp.type=LogAppendTime batches, compressed or not, are read by kafka-python
 *   (which checks CRCs) with timestamp type 1 and the broker's time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer } from '../../src/client/index.js';
import type { CompressionName } from '../../src/compression/index.js';
import { kcat, kcatConsumeAll, kcatRequirement, missing, pythonRequirement, runPythonScript, uniqueTopic } from '../helpers/clients.js';
import type { RawClient } from '../helpers/raw-client.js';
import { broker, type EmbeddedBroker, type ProduceReply } from '../interop/setup.js';
import { confluentReadAll, kafkaPythonReadAll, kafkajsReadAll, rawClient, storedBatches, type ValueRecord } from './e2e-helpers.js';

const kc = kcatRequirement();
const kp = pythonRequirement('kafka');
const ck = pythonRequirement('confluent_kafka');

type Codec = 'gzip' | 'snappy' | 'lz4' | 'zstd';
const CODECS: Codec[] = ['gzip', 'snappy', 'lz4', 'zstd'];
const CODEC_ID = { uncompressed: 0, none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
/** The Debian package that gives kafka-python each codec. */
const KP_CODEC_PACKAGE: Record<Codec, string> = { gzip: 'python3 (zlib)', snappy: 'python3-snappy', lz4: 'python3-lz4', zstd: 'python3-zstandard' };

/** Compressible values, so that no client falls back to sending a batch uncompressed. */
const value = (tag: string, i: number) => `${tag}-value-${i}-${'abcdefgh'.repeat(16)}`;

describe('lifecycle e2e: codecs, recompression, LogAppendTime', () => {
  let b: EmbeddedBroker;
  let admin: Admin;
  let raw: RawClient;
  let kpCodecs: Record<Codec, boolean> = { gzip: false, snappy: false, lz4: false, zstd: false };
  const producers = new Map<string, Producer>();

  beforeAll(async () => {
    b = await broker({ groupInitialRebalanceDelayMs: 0 });
    admin = new Admin({ bootstrapServers: [b.bootstrap] });
    raw = await rawClient(b.bootstrap);
    if (kp.available) kpCodecs = await runPythonScript<Record<Codec, boolean>>('kp.py', { op: 'codecs' });
  });
  afterAll(async () => {
    for (const p of producers.values()) await p.close();
    raw?.close();
    await admin?.close();
    await b?.stop();
  });

  function producer(compression: CompressionName): Producer {
    let p = producers.get(compression);
    if (p === undefined) producers.set(compression, (p = new Producer({ bootstrapServers: [b.bootstrap], compression, lingerMs: 0 })));
    return p;
  }

  async function brookSend(topic: string, compression: CompressionName, recs: ValueRecord[], timestamp?: number): Promise<void> {
    await producer(compression).send({ topic, messages: recs.map((r) => ({ key: r.key, value: r.value, partition: 0, timestamp })) });
  }

  async function kcatSend(topic: string, codec: Codec, recs: ValueRecord[]): Promise<void> {
    const input = recs.map((r) => `${r.key}:${r.value}`).join('\n') + '\n';
    await kcat(['-b', b.bootstrap, '-P', '-t', topic, '-p', '0', '-K:', '-z', codec], { input, timeoutMs: 15_000 });
  }

  async function kafkaPythonSend(topic: string, codec: Codec, recs: ValueRecord[]): Promise<void> {
    const r = await runPythonScript<ProduceReply>('kp.py', {
      op: 'produce',
      bootstrap: b.bootstrap,
      topic,
      config: { compression_type: codec },
      records: recs.map((x) => ({ key: x.key, value: x.value, partition: 0 })),
    });
    expect(r.errors).toEqual([]);
  }

  /** Records `from`..`from+n-1` of a producer tagged `tag`. */
  const recsOf = (tag: string, from: number, n: number): ValueRecord[] =>
    Array.from({ length: n }, (_, i) => ({ offset: from + i, key: `${tag}-k${i % 5}`, value: value(tag, i) }));

  /** kafka-python's read, unless it lacks `codec` (warned, naming the Debian package). */
  async function kafkaPythonCheck(topic: string, codec: Codec | 'uncompressed', want: ValueRecord[]): Promise<void> {
    if (missing(kp)) return;
    if (codec !== 'uncompressed' && !kpCodecs[codec]) {
      console.warn(`skipping kafka-python's read of ${codec}: install Debian package ${KP_CODEC_PACKAGE[codec]}`);
      return;
    }
    expect(await kafkaPythonReadAll(b.bootstrap, topic), `kafka-python reads ${topic}`).toEqual(want);
  }

  async function createTopic(topic: string, configs: Record<string, string> = {}): Promise<void> {
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 1, configs }] });
  }

  for (const codec of CODECS) {
    it(`${codec}: kcat -z ${codec} and the Brook client's batches are stored as sent and read by every client`, async () => {
      const topic = uniqueTopic(`codec-${codec}`);
      await createTopic(topic);
      const want = [...recsOf('brook', 0, 20)];
      await brookSend(topic, codec, want);
      if (!missing(kc)) {
        const fromKcat = recsOf('kcat', 20, 20);
        await kcatSend(topic, codec, fromKcat);
        want.push(...fromKcat);
      }
      const batches = await storedBatches(raw, topic);
      expect(batches.map((h) => h.compression)).toEqual(batches.map(() => CODEC_ID[codec]));
      await kafkaPythonCheck(topic, codec, want);
      if (!missing(ck)) expect(await confluentReadAll(b.bootstrap, topic)).toEqual(want);
      // kafkajs decodes gzip itself; snappy, lz4 and zstd need codec plug-ins that are not installed.
      if (codec === 'gzip') expect(await kafkajsReadAll(b.bootstrap, topic, want.length)).toEqual(want);
    });
  }

  const targets = ['uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
  for (const [i, target] of targets.entries()) {
    // Something other than the target arrives from each producer.
    const brookCodec: CompressionName = target === 'uncompressed' ? 'zstd' : 'none';
    const kcatCodec: Codec = CODECS.filter((c) => c !== target)[i % 3]!;
    const kpCodec: Codec = target === 'snappy' ? 'lz4' : 'snappy'; // kafka-python's snappy is xerial-framed
    it(`compression.type=${target}: the broker recompresses ${brookCodec}, kcat's ${kcatCodec} and kafka-python's ${kpCodec}`, async () => {
      const topic = uniqueTopic(`recompress-${target}`);
      await createTopic(topic, { 'compression.type': target });
      const want = recsOf('brook', 0, 20);
      await brookSend(topic, brookCodec, want);
      if (!missing(kc)) {
        const more = recsOf('kcat', want.length, 20);
        await kcatSend(topic, kcatCodec, more);
        want.push(...more);
      }
      if (!missing(kp) && kpCodecs[kpCodec]) {
        const more = recsOf('kp', want.length, 20);
        await kafkaPythonSend(topic, kpCodec, more);
        want.push(...more);
      }
      const batches = await storedBatches(raw, topic);
      expect(batches.length).toBeGreaterThanOrEqual(1);
      expect(batches.map((h) => h.compression)).toEqual(batches.map(() => CODEC_ID[target]));

      await kafkaPythonCheck(topic, target, want);
      if (!missing(ck)) expect(await confluentReadAll(b.bootstrap, topic)).toEqual(want);
      if (!missing(kc)) {
        const recs = await kcatConsumeAll(b.bootstrap, topic, 0);
        expect(recs.map((r) => ({ offset: r.offset, key: r.key, value: r.payload }))).toEqual(want);
      }
      // kafkajs: gzip and uncompressed only (no codec plug-ins installed).
      if (target === 'uncompressed' || target === 'gzip') expect(await kafkajsReadAll(b.bootstrap, topic, want.length)).toEqual(want);
    });
  }

  it.skipIf(missing(kp))('LogAppendTime: kafka-python reads stamped batches (plain, gzip, lz4, and recompressed to zstd) with valid CRCs and timestamp type 1', async () => {
    const plain = uniqueTopic('lat-plain');
    const recompressed = uniqueTopic('lat-zstd');
    await createTopic(plain, { 'message.timestamp.type': 'LogAppendTime' });
    await createTopic(recompressed, { 'message.timestamp.type': 'LogAppendTime', 'compression.type': 'zstd' });
    const before = Date.now();
    for (const topic of [plain, recompressed]) {
      await brookSend(topic, 'none', recsOf('none', 0, 5), 1_000);
      await brookSend(topic, 'gzip', recsOf('gzip', 5, 5), 1_000);
      if (kpCodecs.lz4) await kafkaPythonSend(topic, 'lz4', recsOf('lz4', 10, 5));
    }
    const after = Date.now();
    for (const topic of [plain, recompressed]) {
      const batches = await storedBatches(raw, topic);
      expect(batches.every((h) => h.timestampType === 'LogAppendTime')).toBe(true);
      if (topic === recompressed) expect(batches.every((h) => h.compression === CODEC_ID.zstd)).toBe(true);
      // One batch per Brook send; kafka-python (linger_ms 0) may split its five records.
      else expect(batches.map((h) => h.compression)).toEqual([0, 1, ...batches.slice(2).map(() => 3)]);

      const r = await runPythonScript<{ records: (ValueRecord & { timestamp: number; timestamp_type: number })[]; complete: boolean; error: string | null }>('kp.py', {
        op: 'consume_detailed',
        bootstrap: b.bootstrap,
        topic,
        partitions: [0],
        timeout: 15,
      });
      expect(r.error).toBeNull(); // a CRC mismatch would be kafka-python's CorruptRecordException here
      expect(r.complete).toBe(true);
      const want = [...recsOf('none', 0, 5), ...recsOf('gzip', 5, 5), ...(kpCodecs.lz4 ? recsOf('lz4', 10, 5) : [])];
      expect(r.records.map(({ offset, key, value }) => ({ offset, key, value }))).toEqual(want);
      for (const rec of r.records) {
        expect(rec.timestamp_type, `record ${rec.offset}`).toBe(1);
        expect(rec.timestamp, `record ${rec.offset}`).toBeGreaterThanOrEqual(before);
        expect(rec.timestamp, `record ${rec.offset}`).toBeLessThanOrEqual(after);
      }
    }
  });
});
