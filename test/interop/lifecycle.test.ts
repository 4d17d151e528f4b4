/**
 * Topic lifecycle behaviour as real clients see it: LogAppendTime topics, out-of-range fetch
 * positions and librdkafka's compression negotiation (all once gaps against Apache Kafka, now
 * closed). The rest of the lifecycle end to end is in test/lifecycle/*-e2e.test.ts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, kcatConsumeAll, kcatRequirement, pythonRequirement, runPythonScript, uniqueTopic } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';
import { storedBatches } from '../lifecycle/e2e-helpers.js';
import { broker, type ConsumeReply, type EmbeddedBroker, type ProduceReply } from './setup.js';

const ck = pythonRequirement('confluent_kafka');
const kc = kcatRequirement();

describeIf([ck, kc], 'interop: topic lifecycle', () => {
  let b: EmbeddedBroker;
  beforeAll(async () => {
    b = await broker();
  });
  afterAll(async () => {
    await b?.stop();
  });

  // For a topic with message.timestamp.type=LogAppendTime the broker sets the batch's
  // timestamp type bit and max timestamp to its append time; librdkafka then reports
  // TIMESTAMP_LOG_APPEND_TIME and kcat prints "tstype":"logappend".
  it('message.timestamp.type=LogAppendTime stamps records with the broker time', async () => {
    const topic = uniqueTopic('gap-logappend');
    const c = await runPythonScript<{ results: Record<string, string | null> }>('ck.py', {
      op: 'create_topics',
      bootstrap: b.bootstrap,
      topics: [{ name: topic, partitions: 1, config: { 'message.timestamp.type': 'LogAppendTime' } }],
    });
    expect(c.results[topic]).toBeNull();
    const before = Date.now();
    const r = await runPythonScript<ProduceReply>('ck.py', {
      op: 'produce',
      bootstrap: b.bootstrap,
      topic,
      records: [{ key: 'k', value: 'v', partition: 0, timestamp: 1000 }],
    });
    expect(r.errors).toEqual([]);
    const [rec] = await kcatConsumeAll(b.bootstrap, topic, 0);
    expect(rec!.tstype).toBe('logappend');
    expect(rec!.ts).toBeGreaterThanOrEqual(before - 1000);
  });

  // A Fetch for an offset out of range gets OFFSET_OUT_OF_RANGE with an empty record set, as
  // Kafka's broker sends (never a null one, which librdkafka rejects as "invalid MessageSetSize
  // -1" and then refetches in a tight loop without ever applying auto.offset.reset).
  it('librdkafka resets an out-of-range fetch position with auto.offset.reset=earliest', async () => {
    const topic = uniqueTopic('gap-oor');
    const r = await runPythonScript<ProduceReply>('ck.py', {
      op: 'produce',
      bootstrap: b.bootstrap,
      topic,
      records: [0, 1, 2].map((i) => ({ key: null, value: `v${i}`, partition: 0 })),
    });
    expect(r.errors).toEqual([]);
    const got = await runPythonScript<ConsumeReply>('ck.py', {
      op: 'consume',
      bootstrap: b.bootstrap,
      topic,
      partitions: [0],
      start: 1000,
      timeout: 4,
      config: { 'auto.offset.reset': 'earliest', log_level: 0 },
    });
    expect(got.records.map((x) => x.value)).toEqual(['v0', 'v1', 'v2']);
  });

  // librdkafka before 2.10 (Debian's is 2.0.2) compresses with gzip, snappy or lz4 only when the
  // broker's advertised Produce versions include v0; it used to log "Broker does not support
  // compression type" and send every batch uncompressed. Brook now advertises v0 as Kafka 4.0
  // does (KAFKA-18659) while refusing v0-2 requests.
  it('librdkafka compresses with gzip, snappy and lz4 (not silently uncompressed)', async () => {
    const raw = await RawClient.connect(b.host, b.port);
    try {
      for (const [codec, id] of [
        ['gzip', 1],
        ['snappy', 2],
        ['lz4', 3],
        ['zstd', 4],
      ] as const) {
        const topic = uniqueTopic(`gap-codec-${codec}`);
        const r = await runPythonScript<ProduceReply>('ck.py', {
          op: 'produce',
          bootstrap: b.bootstrap,
          topic,
          config: { 'compression.type': codec, 'linger.ms': 50 },
          records: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `${codec}-${i}-${'x'.repeat(100)}`, partition: 0 })),
        });
        expect(r.errors).toEqual([]);
        const batches = await storedBatches(raw, topic);
        expect(
          batches.map((h) => h.compression),
          codec,
        ).toEqual(batches.map(() => id));
      }
    } finally {
      raw.close();
    }
  });
});
