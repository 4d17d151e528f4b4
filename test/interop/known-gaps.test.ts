/**
 * Client-visible differences from Apache Kafka that Brook has today, written as `it.fails`:
 * each passes while the gap exists and starts failing (so someone turns it into a normal test)
 * once Brook behaves like Kafka. See each test's comment for what Kafka does.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, kcatConsumeAll, kcatRequirement, pythonRequirement, runPythonScript, uniqueTopic } from '../helpers/clients.js';
import { broker, type ConsumeReply, type EmbeddedBroker, type ProduceReply } from './setup.js';

const ck = pythonRequirement('confluent_kafka');
const kc = kcatRequirement();

describeIf([ck, kc], 'interop: known gaps', () => {
  let b: EmbeddedBroker;
  beforeAll(async () => {
    b = await broker();
  });
  afterAll(async () => {
    await b?.stop();
  });

  // Kafka, for a topic with message.timestamp.type=LogAppendTime, sets the batch's timestamp
  // type bit and max timestamp to the broker's append time, and answers Produce with
  // log_append_time_ms; librdkafka then reports TIMESTAMP_LOG_APPEND_TIME (2) and kcat prints
  // "tstype":"logappend". Brook stores the config but keeps the producer's CreateTime
  // (src/storage/partition-log.ts: "LogAppendTime topics are not supported yet").
  it.fails('message.timestamp.type=LogAppendTime stamps records with the broker time', async () => {
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
});
