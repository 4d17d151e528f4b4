/**
 * Retention through a real node: by time (records whose CreateTime and arrival are both past
 * retention.ms), by size (retention.bytes), and a live retention.ms change made with
 * IncrementalAlterConfigs, which DescribeConfigs reports as a TOPIC_CONFIG override and the
 * partition acts on without a restart. In each case ListOffsets earliest moves, a fetch below
 * it gets OFFSET_OUT_OF_RANGE, and kafkajs, kcat and confluent-kafka see only the retained
 * records. Records with no timestamp (-1) or a CreateTime near 1970 are not deleted on arrival:
 * they stay readable from offset 0 over several retention checks. The node checks retention
 * every 100 ms here (log.retention.check.interval.ms, 5 minutes by default).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer } from '../../src/client/index.js';
import { kcatConsumeAll, kcatRequirement, missing, pythonRequirement, runPythonScript, uniqueTopic } from '../helpers/clients.js';
import { fetchOnce, type RawClient } from '../helpers/raw-client.js';
import { broker, kafkajs, type EmbeddedBroker } from '../interop/setup.js';
import type { PartitionState } from '../../actors/partition/messages.js';
import { resolveConfig } from '../../src/config.js';
import { confluentReadAll, kafkajsReadAll, listOffset, rawClient, storedBatches, waitFor } from './e2e-helpers.js';

const kc = kcatRequirement();
const ck = pythonRequirement('confluent_kafka');

const OFFSET_OUT_OF_RANGE = 1;
const INVALID_CONFIG = 40;
const TOPIC_CONFIG = 1; // DescribeConfigs configSource DYNAMIC_TOPIC_CONFIG
const DEFAULT_CONFIG = 5;
const STATIC_BROKER_CONFIG = 4;
const retentionCheckIntervalMs = 100;

describe('lifecycle e2e: retention', () => {
  let b: EmbeddedBroker;
  let admin: Admin;
  let producer: Producer;
  let raw: RawClient;
  beforeAll(async () => {
    b = await broker({ groupInitialRebalanceDelayMs: 0, logRetentionCheckIntervalMs: retentionCheckIntervalMs });
    admin = new Admin({ bootstrapServers: [b.bootstrap] });
    producer = new Producer({ bootstrapServers: [b.bootstrap], lingerMs: 0 });
    raw = await rawClient(b.bootstrap);
  });
  afterAll(async () => {
    raw?.close();
    await producer?.close();
    await admin?.close();
    await b?.stop();
  });

  /** One send (one batch) per group of values, awaited in turn so each is its own batch. */
  async function sendBatches(topic: string, groups: string[][], timestamp?: number): Promise<void> {
    for (const values of groups) {
      await producer.send({ topic, messages: values.map((value) => ({ key: null, value, partition: 0, timestamp })) });
    }
  }

  async function expectOutOfRangeBelow(topic: string, earliest: number): Promise<void> {
    for (const offset of [0, earliest - 1]) {
      const f = await fetchOnce(raw, topic, 0, offset);
      expect(f.errorCode, `fetch at ${offset}`).toBe(OFFSET_OUT_OF_RANGE);
    }
    const ok = await fetchOnce(raw, topic, 0, earliest);
    expect(ok.errorCode).toBe(0);
  }

  /** The partition actor's own state, as the console sees it. */
  async function partitionState(topic: string): Promise<PartitionState> {
    const inspection = await b.node.supervisor.inspect(`partition:${topic}:0`);
    if (!inspection) throw new Error(`no actor for ${topic}-0`);
    return inspection.state as PartitionState;
  }

  it('by time: segments whose records and arrival are older than retention.ms go; readers see only the rest', async () => {
    const topic = uniqueTopic('ret-time');
    // segment.bytes=14 (Kafka's minimum) puts every batch in its own segment.
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 1, configs: { 'segment.bytes': '14', 'retention.ms': '2000' } }] });
    // Records timestamped an hour ago go once they arrived more than retention.ms ago too;
    // records timestamped an hour ahead stay for that hour (retention keys on the max timestamp).
    await sendBatches(
      topic,
      [0, 1, 2, 3, 4].map((i) => [`old-${2 * i}`, `old-${2 * i + 1}`]),
      Date.now() - 3_600_000,
    );
    await sendBatches(
      topic,
      [0, 1, 2].map((i) => [`new-${2 * i}`, `new-${2 * i + 1}`]),
      Date.now() + 3_600_000,
    );
    expect(await listOffset(raw, topic, 0, -1)).toBe(16);

    await waitFor('log start offset 10', async () => ((await listOffset(raw, topic, 0, -2)) === 10 ? true : undefined), 10_000);
    expect(await admin.listOffsets({ topic, at: 'earliest' })).toEqual([expect.objectContaining({ partition: 0, offset: 10 })]);
    await expectOutOfRangeBelow(topic, 10);

    const expected = [0, 1, 2, 3, 4, 5].map((i) => ({ offset: 10 + i, key: null, value: `new-${i}` }));
    expect(await kafkajsReadAll(b.bootstrap, topic, 6)).toEqual(expected);
    if (!missing(kc)) {
      const recs = await kcatConsumeAll(b.bootstrap, topic, 0);
      expect(recs.map((r) => ({ offset: r.offset, key: r.key, value: r.payload }))).toEqual(expected);
    }
  });

  it('by size: the oldest segments go while the rest still holds retention.bytes', async () => {
    const topic = uniqueTopic('ret-size');
    const retentionBytes = 1000;
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 1, configs: { 'segment.bytes': '14', 'retention.bytes': String(retentionBytes) } }] });
    const value = (i: number) => `v${String(i).padStart(2, '0')}-${'x'.repeat(200)}`;
    await sendBatches(
      topic,
      Array.from({ length: 20 }, (_, i) => [value(i)]),
    );

    // Kafka's rule: delete the oldest segment while the log without it still holds
    // retention.bytes. So in the end retention.bytes <= size < retention.bytes + oldest.
    const batches = await waitFor(
      'size retention',
      async () => {
        const hs = await storedBatches(raw, topic, 0, await listOffset(raw, topic, 0, -2));
        const size = hs.reduce((n, h) => n + h.sizeBytes, 0);
        return size - hs[0]!.sizeBytes < retentionBytes ? hs : undefined;
      },
      10_000,
    );
    const size = batches.reduce((n, h) => n + h.sizeBytes, 0);
    expect(size).toBeGreaterThanOrEqual(retentionBytes);
    const earliest = batches[0]!.baseOffset;
    expect(earliest).toBeGreaterThan(0);
    expect(await listOffset(raw, topic, 0, -2)).toBe(earliest);
    await expectOutOfRangeBelow(topic, earliest);

    const expected = Array.from({ length: 20 - earliest }, (_, i) => ({ offset: earliest + i, key: null, value: value(earliest + i) }));
    if (!missing(kc)) {
      const recs = await kcatConsumeAll(b.bootstrap, topic, 0);
      expect(recs.map((r) => ({ offset: r.offset, key: r.key, value: r.payload }))).toEqual(expected);
    }
    if (!missing(ck)) expect(await confluentReadAll(b.bootstrap, topic)).toEqual(expected);
  });

  it('a retention.ms override set on a live topic shows as TOPIC_CONFIG and takes effect without a restart', async () => {
    const topic = uniqueTopic('ret-live');
    // Default segment settings: one segment of 1 GiB / 7 days holds everything.
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 1 }] });
    await sendBatches(topic, [
      ['a', 'b', 'c'],
      ['d', 'e'],
      ['f', 'g', 'h', 'i', 'j'],
    ]);
    const describe = async () => {
      const [res] = await admin.describeConfigs({ resources: [{ type: 'topic', name: topic }] });
      return new Map(res!.configs.map((c) => [c.name, c]));
    };
    expect((await describe()).get('retention.ms')).toMatchObject({ value: '604800000', source: DEFAULT_CONFIG, isDefault: true });

    // A bad value is refused with INVALID_CONFIG and a reason.
    const bad = await admin
      .incrementalAlterConfigs({ resources: [{ type: 'topic', name: topic, ops: [{ name: 'retention.ms', op: 'set', value: 'soon' }] }] })
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: INVALID_CONFIG });
    expect(String((bad as Error).message)).toMatch(/retention\.ms/);

    await admin.incrementalAlterConfigs({ resources: [{ type: 'topic', name: topic, ops: [{ name: 'retention.ms', op: 'set', value: '1000' }] }] });
    expect((await describe()).get('retention.ms')).toMatchObject({ value: '1000', source: TOPIC_CONFIG, isDefault: false });
    // kafkajs and librdkafka see the same source.
    const kjsAdmin = kafkajs(b.bootstrap).admin();
    await kjsAdmin.connect();
    try {
      const d = await kjsAdmin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }] });
      expect(d.resources[0]!.configEntries).toEqual([expect.objectContaining({ configName: 'retention.ms', configValue: '1000', configSource: TOPIC_CONFIG })]);
    } finally {
      await kjsAdmin.disconnect();
    }
    if (!missing(ck)) {
      const d = await runPythonScript<{ configs: Record<string, { value: string; source: string; is_default: boolean }> }>('ck.py', {
        op: 'describe_configs_detailed',
        bootstrap: b.bootstrap,
        topic,
      });
      expect(d.configs['retention.ms']).toEqual({ value: '1000', source: 'DYNAMIC_TOPIC_CONFIG', is_default: false });
      expect(d.configs['retention.bytes']).toMatchObject({ value: '-1', source: 'DEFAULT_CONFIG' });
    }

    // Every record arrived more than a second ago within a few retention checks: all of them go,
    // as in Kafka, which rolls a new empty active segment when every segment is past retention.
    await waitFor('all records deleted', async () => ((await listOffset(raw, topic, 0, -2)) === 10 ? true : undefined), 10_000);
    expect(await listOffset(raw, topic, 0, -1)).toBe(10);
    await expectOutOfRangeBelow(topic, 10);

    // Back to the default (legacy AlterConfigs replaces the whole set), then new records stay.
    await admin.alterConfigs({ resources: [{ type: 'topic', name: topic, configs: {} }] });
    expect((await describe()).get('retention.ms')).toMatchObject({ value: '604800000', source: DEFAULT_CONFIG });
    await sendBatches(topic, [['k']]);
    expect(await kafkajsReadAll(b.bootstrap, topic, 1)).toEqual([{ offset: 10, key: null, value: 'k' }]);
    expect(await listOffset(raw, topic, 0, -2)).toBe(10);
  });

  it('keeps records with no timestamp or a CreateTime near 1970 over several retention checks, readable from offset 0', async () => {
    const defaults = uniqueTopic('ret-notime-default');
    const short = uniqueTopic('ret-notime-short');
    await admin.createTopics({
      topics: [
        { name: defaults, numPartitions: 1 },
        // One minute: far shorter than the records' age by timestamp, far longer than the test.
        { name: short, numPartitions: 1, configs: { 'retention.ms': '60000', 'segment.bytes': '14' } },
      ],
    });
    const expected = ['none-0', 'none-1', 'epoch-0', 'epoch-1', 'zero-0'].map((value, offset) => ({ offset, key: null, value }));
    for (const topic of [defaults, short]) {
      await sendBatches(topic, [['none-0', 'none-1']], -1);
      await sendBatches(topic, [['epoch-0', 'epoch-1']], 1_000);
      await sendBatches(topic, [['zero-0']], 0);
      expect(await listOffset(raw, topic, 0, -1)).toBe(5);
    }
    // Several retention checks must run after the appends; the wait also ends, and the test
    // fails below, if the log start moves first (records deleted on arrival).
    const checksBefore = new Map<string, number>();
    for (const topic of [defaults, short]) checksBefore.set(topic, (await partitionState(topic)).retentionChecks ?? 0);
    for (const topic of [defaults, short]) {
      await waitFor(
        `3 retention checks of ${topic}`,
        async () => {
          const state = await partitionState(topic);
          return state.logStartOffset > 0 || (state.retentionChecks ?? 0) >= checksBefore.get(topic)! + 3 ? true : undefined;
        },
        10_000,
      );
    }
    for (const topic of [defaults, short]) {
      expect(await listOffset(raw, topic, 0, -2), `${topic} log start`).toBe(0);
      expect((await partitionState(topic)).lastMaintenanceError).toBeUndefined();
      const read = await kafkajsReadAll(b.bootstrap, topic, expected.length);
      expect(read, topic).toEqual(expected);
    }
  });

  it('reports log.retention.check.interval.ms among the broker configs', async () => {
    const [res] = await admin.describeConfigs({ resources: [{ type: 'broker', name: '0' }] });
    const entry = res!.configs.find((c) => c.name === 'log.retention.check.interval.ms');
    expect(entry).toMatchObject({ value: String(retentionCheckIntervalMs), source: STATIC_BROKER_CONFIG });
  });

  it('takes the check interval from --log-retention-check-interval-ms over BROOK_LOG_RETENTION_CHECK_INTERVAL_MS, else 5 minutes', () => {
    expect(resolveConfig({}).logRetentionCheckIntervalMs).toBe(300_000);
    const env = { BROOK_LOG_RETENTION_CHECK_INTERVAL_MS: '60000' };
    expect(resolveConfig({ env }).logRetentionCheckIntervalMs).toBe(60_000);
    expect(resolveConfig({ env, flags: { logRetentionCheckIntervalMs: '250' } }).logRetentionCheckIntervalMs).toBe(250);
    expect(() => resolveConfig({ flags: { logRetentionCheckIntervalMs: '0' } })).toThrow(/--log-retention-check-interval-ms/);
  });
});
