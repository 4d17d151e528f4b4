/**
 * The admin apis against a real node: kafkajs' admin client for what it speaks, and Brook's own
 * codec over a socket for what it does not (IncrementalAlterConfigs, DescribeConfigs v4,
 * CreateTopics v7, DeleteTopics v6 by id, duplicate names kafkajs refuses to send).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, ConfigResourceTypes, type Admin } from 'kafkajs';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { decodeResponse, encodeRequest, errorCode, type ApiKey, type RequestInputs, type ResponseBodies } from '../../src/protocol/index.js';
import { effectiveTopicConfig, messageTimestampLimits } from '../../src/cluster/topic-configs.js';

const TOPIC_CONFIG = 1;
const DYNAMIC_DEFAULT_BROKER_CONFIG = 3;
const STATIC_BROKER_CONFIG = 4;
const DEFAULT_CONFIG = 5;
const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;

/** A minimal Kafka client over one socket: one request in flight at a time. */
class RawClient {
  private buffered = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | null = null;
  private correlationId = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.deliver();
    });
  }

  static open(host: string, port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  async send<K extends ApiKey>(apiKey: K, apiVersion: number, body: RequestInputs[K]): Promise<ResponseBodies[K]> {
    const frame = new Promise<Buffer>((resolve) => {
      this.waiting = resolve;
    });
    this.socket.write(encodeRequest(apiKey, apiVersion, ++this.correlationId, 'admin-test', body));
    return decodeResponse(apiKey, apiVersion, await frame).body;
  }

  close(): void {
    this.socket.destroy();
  }

  private deliver(): void {
    if (this.buffered.length < 4 || !this.waiting) return;
    const size = this.buffered.readInt32BE(0);
    if (this.buffered.length < 4 + size) return;
    const frame = this.buffered.subarray(4, 4 + size);
    this.buffered = this.buffered.subarray(4 + size);
    const resolve = this.waiting;
    this.waiting = null;
    resolve(frame);
  }
}

let broker: EmbeddedBroker;
let admin: Admin;
let kafka: Kafka;
let raw: RawClient;

beforeAll(async () => {
  broker = await startBroker({ port: 0, logLevel: 'silent', nodeId: 1, numPartitions: 2 });
  kafka = new Kafka({ clientId: 'admin-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  admin = kafka.admin();
  await admin.connect();
  raw = await RawClient.open(broker.host, broker.port);
});

afterAll(async () => {
  raw?.close();
  await admin?.disconnect();
  await broker?.stop();
});

/** The kafkajs error types a failed admin call carries (aggregate or single). */
function errorTypes(err: unknown): string[] {
  const e = err as { type?: string; errors?: { type?: string }[] };
  return e.errors ? e.errors.map((x) => x.type ?? '') : [e.type ?? ''];
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

describe('CreateTopics and DeleteTopics', () => {
  it('creates a topic with partitions and config overrides', async () => {
    const created = await admin.createTopics({
      topics: [{ topic: 'orders', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
    });
    expect(created).toBe(true);
    const meta = await admin.fetchTopicMetadata({ topics: ['orders'] });
    expect(meta.topics[0]!.partitions).toHaveLength(3);
    const again = await admin.createTopics({ topics: [{ topic: 'orders' }] });
    expect(again).toBe(false);
  });

  it('validates without creating when validateOnly is set', async () => {
    // kafkajs would wait for the (never created) topic's leaders; Kafka behaves the same.
    await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic: 'dry-run', numPartitions: 2 }] });
    expect(await admin.listTopics()).not.toContain('dry-run');
  });

  it('rejects an invalid config value with INVALID_CONFIG', async () => {
    const err = await failure(
      admin.createTopics({
        topics: [{ topic: 'bad-config', configEntries: [{ name: 'cleanup.policy', value: 'shred' }] }],
      }),
    );
    expect(errorTypes(err)).toEqual(['INVALID_CONFIG']);
    expect(await admin.listTopics()).not.toContain('bad-config');
  });

  it('answers each entry of a topic named twice with INVALID_REQUEST', async () => {
    const topic = { name: 'twice', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] };
    const res = await raw.send(19, 5, { topics: [topic, topic, { ...topic, name: 'once' }], timeoutMs: 5000 });
    expect(res.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['twice', errorCode('INVALID_REQUEST')],
      ['twice', errorCode('INVALID_REQUEST')],
      ['once', 0],
    ]);
    expect(res.topics[0]!.errorMessage).toMatch(/more than once/);
    expect(await admin.listTopics()).not.toContain('twice');
  });

  it('reports topic id, shape and resulting configs in CreateTopics v7', async () => {
    const res = await raw.send(19, 7, {
      topics: [{ name: 'shaped', numPartitions: -1, replicationFactor: -1, assignments: [], configs: [{ name: 'cleanup.policy', value: 'compact' }] }],
      timeoutMs: 5000,
    });
    const t = res.topics[0]!;
    expect(t.errorCode).toBe(0);
    expect(t.topicId).not.toBe('00000000-0000-0000-0000-000000000000');
    expect(t.numPartitions).toBe(2);
    expect(t.replicationFactor).toBe(1);
    const policy = t.configs!.find((c) => c.name === 'cleanup.policy')!;
    expect(policy).toMatchObject({ value: 'compact', configSource: TOPIC_CONFIG, readOnly: false });
    expect(t.configs!.find((c) => c.name === 'retention.ms')).toMatchObject({ value: '604800000', configSource: DEFAULT_CONFIG });
  });

  it('deletes a topic and recreates it under the same name, empty', async () => {
    await admin.createTopics({ topics: [{ topic: 'phoenix', numPartitions: 1 }] });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic: 'phoenix', messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();
    await admin.deleteTopics({ topics: ['phoenix'] });
    expect(await admin.listTopics()).not.toContain('phoenix');
    await admin.createTopics({ topics: [{ topic: 'phoenix', numPartitions: 2 }] });
    const offsets = await admin.fetchTopicOffsets('phoenix');
    expect(offsets.map((o) => o.high)).toEqual(['0', '0']);
  });

  it('fails to delete an unknown topic with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const res = await raw.send(20, 5, { topicNames: ['never-was'], timeoutMs: 5000 });
    expect(res.responses[0]).toMatchObject({ name: 'never-was', errorCode: errorCode('UNKNOWN_TOPIC_OR_PARTITION') });
    expect(res.responses[0]!.errorMessage).toMatch(/does not exist/);
  });

  it('deletes by topic id in DeleteTopics v6', async () => {
    await admin.createTopics({ topics: [{ topic: 'by-id' }] });
    const meta = await raw.send(3, 12, { topics: [{ name: 'by-id', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false });
    const topicId = meta.topics[0]!.topicId;
    const res = await raw.send(20, 6, { topics: [{ name: null, topicId }], timeoutMs: 5000 });
    expect(res.responses[0]).toMatchObject({ name: 'by-id', topicId, errorCode: 0 });
    const unknown = await raw.send(20, 6, { topics: [{ name: null, topicId }], timeoutMs: 5000 });
    expect(unknown.responses[0]!.errorCode).toBe(errorCode('UNKNOWN_TOPIC_ID'));
  });
});

describe('CreatePartitions', () => {
  it('grows a topic, and refuses to shrink it', async () => {
    await admin.createTopics({ topics: [{ topic: 'growing', numPartitions: 1 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 3 }] });
    const meta = await admin.fetchTopicMetadata({ topics: ['growing'] });
    expect(meta.topics[0]!.partitions).toHaveLength(3);
    const err = await failure(admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 2 }] }));
    expect(errorTypes(err)).toEqual(['INVALID_PARTITIONS']);
  });

  it('changes nothing when validateOnly is set', async () => {
    await admin.createPartitions({ validateOnly: true, topicPartitions: [{ topic: 'growing', count: 5 }] });
    const meta = await admin.fetchTopicMetadata({ topics: ['growing'] });
    expect(meta.topics[0]!.partitions).toHaveLength(3);
  });
});

describe('DeleteRecords', () => {
  beforeAll(async () => {
    await admin.createTopics({ topics: [{ topic: 'trimmed', numPartitions: 1 }] });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic: 'trimmed', messages: Array.from({ length: 5 }, (_, i) => ({ value: `m${i}` })) });
    await producer.disconnect();
  });

  it('moves the log start offset forward', async () => {
    // kafkajs looks up leaders in its metadata cache before refreshing it; fetching offsets fills it.
    await admin.fetchTopicOffsets('trimmed');
    await admin.deleteTopicRecords({ topic: 'trimmed', partitions: [{ partition: 0, offset: '2' }] });
    const [p0] = await admin.fetchTopicOffsets('trimmed');
    expect(p0).toMatchObject({ low: '2', high: '5' });
  });

  it('treats offset -1 as the high watermark', async () => {
    const res = await raw.send(21, 2, { topics: [{ name: 'trimmed', partitions: [{ partitionIndex: 0, offset: -1 }] }], timeoutMs: 5000 });
    expect(res.topics[0]!.partitions[0]).toEqual({ partitionIndex: 0, lowWatermark: 5, errorCode: 0 });
  });

  it('answers an offset above the high watermark and an unknown partition with their errors', async () => {
    const res = await raw.send(21, 1, {
      topics: [
        {
          name: 'trimmed',
          partitions: [
            { partitionIndex: 0, offset: 99 },
            { partitionIndex: 7, offset: 0 },
          ],
        },
        { name: 'no-such-topic', partitions: [{ partitionIndex: 0, offset: 0 }] },
      ],
      timeoutMs: 5000,
    });
    expect(res.topics[0]!.partitions.map((p) => p.errorCode)).toEqual([errorCode('OFFSET_OUT_OF_RANGE'), errorCode('UNKNOWN_TOPIC_OR_PARTITION')]);
    expect(res.topics[1]!.partitions[0]).toMatchObject({ lowWatermark: -1, errorCode: errorCode('UNKNOWN_TOPIC_OR_PARTITION') });
  });
});

describe('DescribeConfigs and AlterConfigs', () => {
  beforeAll(async () => {
    await admin.createTopics({ topics: [{ topic: 'configured', configEntries: [{ name: 'retention.ms', value: '60000' }] }] });
  });

  async function topicConfigs(topic: string): Promise<Map<string, { configValue: string; configSource: number; readOnly: boolean }>> {
    const res = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
    return new Map(res.resources[0]!.configEntries.map((e) => [e.configName, e as never]));
  }

  it('describes a topic: overrides as TOPIC_CONFIG, the rest as DEFAULT_CONFIG', async () => {
    const configs = await topicConfigs('configured');
    expect(configs.get('retention.ms')).toMatchObject({ configValue: '60000', configSource: TOPIC_CONFIG, readOnly: false });
    expect(configs.get('cleanup.policy')).toMatchObject({ configValue: 'delete', configSource: DEFAULT_CONFIG });
    expect(configs.size).toBeGreaterThan(10);
  });

  it('filters by config name and lists synonyms', async () => {
    const res = await admin.describeConfigs({
      includeSynonyms: true,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'configured', configNames: ['retention.ms'] }],
    });
    const entries = res.resources[0]!.configEntries;
    expect(entries.map((e) => e.configName)).toEqual(['retention.ms']);
    expect(entries[0]!.configSynonyms.map((s) => [s.configName, s.configSource])).toEqual([
      ['retention.ms', TOPIC_CONFIG],
      ['log.retention.ms', DEFAULT_CONFIG],
    ]);
  });

  it('describes this broker: dynamic names and read-only static settings', async () => {
    const res = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1' }] });
    const entries = new Map(res.resources[0]!.configEntries.map((e) => [e.configName, e]));
    expect(entries.get('log.retention.ms')).toMatchObject({ configValue: '604800000', configSource: DEFAULT_CONFIG, readOnly: false });
    expect(entries.get('num.partitions')).toMatchObject({ configSource: STATIC_BROKER_CONFIG, readOnly: true });
    expect(entries.get('log.dirs')).toMatchObject({ configValue: broker.dataDir, readOnly: true });
  });

  it('replaces the whole override set with AlterConfigs', async () => {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'configured', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
    });
    const configs = await topicConfigs('configured');
    expect(configs.get('cleanup.policy')).toMatchObject({ configValue: 'compact', configSource: TOPIC_CONFIG });
    // Replace semantics: the retention.ms override set at creation is gone.
    expect(configs.get('retention.ms')).toMatchObject({ configValue: '604800000', configSource: DEFAULT_CONFIG });
  });

  it('rejects an invalid value with INVALID_CONFIG and changes nothing', async () => {
    const err = await failure(
      admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'configured', configEntries: [{ name: 'retention.ms', value: 'forever' }] }],
      }),
    );
    expect(errorTypes(err)).toEqual(['INVALID_CONFIG']);
    const res = await raw.send(33, 2, {
      resources: [{ resourceType: RESOURCE_TOPIC, resourceName: 'configured', configs: [{ name: 'retention.ms', value: 'forever' }] }],
      validateOnly: false,
    });
    expect(res.responses[0]!.errorCode).toBe(errorCode('INVALID_CONFIG'));
    expect(res.responses[0]!.errorMessage).toMatch(/retention\.ms/);
    expect((await topicConfigs('configured')).get('cleanup.policy')!.configValue).toBe('compact');
  });

  it('shows a cluster-wide default as DYNAMIC_DEFAULT_BROKER_CONFIG on topics without an override', async () => {
    // kafkajs refuses the empty resource name that stands for the cluster default, so this one goes raw.
    const setDefaults = (configs: { name: string; value: string }[]) =>
      raw.send(33, 0, {
        resources: [{ resourceType: RESOURCE_BROKER, resourceName: '', configs }],
        validateOnly: false,
      });
    expect((await setDefaults([{ name: 'log.retention.ms', value: '7200000' }])).responses[0]!.errorCode).toBe(0);
    const configs = await topicConfigs('configured');
    expect(configs.get('retention.ms')).toMatchObject({ configValue: '7200000', configSource: DYNAMIC_DEFAULT_BROKER_CONFIG });
    // An override on the topic still wins over the cluster default.
    expect(configs.get('cleanup.policy')).toMatchObject({ configValue: 'compact', configSource: TOPIC_CONFIG });
    expect((await setDefaults([])).responses[0]!.errorCode).toBe(0);
    expect((await topicConfigs('configured')).get('retention.ms')!.configSource).toBe(DEFAULT_CONFIG);
  });

  it('answers an unknown topic with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const res = await raw.send(32, 4, {
      resources: [
        { resourceType: RESOURCE_TOPIC, resourceName: 'ghost', configurationKeys: null },
        { resourceType: 99, resourceName: 'x', configurationKeys: null },
      ],
    });
    expect(res.results.map((r) => r.errorCode)).toEqual([errorCode('UNKNOWN_TOPIC_OR_PARTITION'), errorCode('INVALID_REQUEST')]);
  });
});

describe('IncrementalAlterConfigs and DescribeConfigs v4 (Brook codec)', () => {
  beforeAll(async () => {
    await admin.createTopics({ topics: [{ topic: 'incremental' }] });
  });

  async function alter(resourceType: number, resourceName: string, configs: { name: string; configOperation: number; value: string | null }[], validateOnly = false) {
    const res = await raw.send(44, 1, { resources: [{ resourceType, resourceName, configs }], validateOnly });
    return res.responses[0]!;
  }

  async function describeTopic(keys: string[] | null) {
    const res = await raw.send(32, 4, {
      resources: [{ resourceType: RESOURCE_TOPIC, resourceName: 'incremental', configurationKeys: keys }],
      includeSynonyms: true,
      includeDocumentation: true,
    });
    return res.results[0]!;
  }

  it('sets, appends, subtracts and deletes', async () => {
    expect(await alter(RESOURCE_TOPIC, 'incremental', [{ name: 'retention.ms', configOperation: 0, value: '1000' }])).toMatchObject({ errorCode: 0, errorMessage: null });
    expect((await alter(RESOURCE_TOPIC, 'incremental', [{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }])).errorCode).toBe(0);
    let configs = (await describeTopic(['retention.ms', 'cleanup.policy'])).configs;
    expect(configs.map((c) => [c.name, c.value, c.configSource])).toEqual([
      ['cleanup.policy', 'delete,compact', TOPIC_CONFIG],
      ['retention.ms', '1000', TOPIC_CONFIG],
    ]);
    expect(
      (
        await alter(RESOURCE_TOPIC, 'incremental', [
          { name: 'cleanup.policy', configOperation: 3, value: 'delete' },
          { name: 'retention.ms', configOperation: 1, value: null },
        ])
      ).errorCode,
    ).toBe(0);
    configs = (await describeTopic(['retention.ms', 'cleanup.policy'])).configs;
    expect(configs.map((c) => [c.name, c.value, c.configSource])).toEqual([
      ['cleanup.policy', 'compact', TOPIC_CONFIG],
      ['retention.ms', '604800000', DEFAULT_CONFIG],
    ]);
  });

  it('refuses APPEND on a non-list config and an invalid value, with a message', async () => {
    const append = await alter(RESOURCE_TOPIC, 'incremental', [{ name: 'retention.ms', configOperation: 2, value: '5' }]);
    expect(append.errorCode).toBe(errorCode('INVALID_CONFIG'));
    expect(append.errorMessage).toMatch(/list/);
    const bad = await alter(RESOURCE_TOPIC, 'incremental', [{ name: 'min.insync.replicas', configOperation: 0, value: '0' }]);
    expect(bad.errorCode).toBe(errorCode('INVALID_CONFIG'));
    expect(bad.errorMessage).toMatch(/min\.insync\.replicas/);
    const unknown = await alter(RESOURCE_TOPIC, 'incremental', [{ name: 'no.such.config', configOperation: 0, value: '1' }]);
    expect(unknown.errorCode).toBe(errorCode('INVALID_CONFIG'));
  });

  it('changes nothing when validateOnly is set', async () => {
    expect((await alter(RESOURCE_TOPIC, 'incremental', [{ name: 'segment.ms', configOperation: 0, value: '1000' }], true)).errorCode).toBe(0);
    expect((await describeTopic(['segment.ms'])).configs[0]!.configSource).toBe(DEFAULT_CONFIG);
  });

  it('sets a cluster default for brokers and reports it with synonyms and documentation', async () => {
    expect((await alter(RESOURCE_BROKER, '', [{ name: 'log.segment.bytes', configOperation: 0, value: '1048576' }])).errorCode).toBe(0);
    const [entry] = (await describeTopic(['segment.bytes'])).configs;
    expect(entry).toMatchObject({ value: '1048576', configSource: DYNAMIC_DEFAULT_BROKER_CONFIG, configType: 3, readOnly: false });
    expect(entry!.documentation).toEqual(expect.any(String));
    expect(entry!.synonyms.map((s) => [s.name, s.value, s.source])).toEqual([
      ['log.segment.bytes', '1048576', DYNAMIC_DEFAULT_BROKER_CONFIG],
      ['log.segment.bytes', '1073741824', DEFAULT_CONFIG],
    ]);
    const defaults = await raw.send(32, 4, {
      resources: [{ resourceType: RESOURCE_BROKER, resourceName: '', configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    expect(defaults.results[0]!.configs.map((c) => [c.name, c.value])).toEqual([['log.segment.bytes', '1048576']]);
    expect(defaults.results[0]!.configs[0]!.documentation).toBeNull();
    expect((await alter(RESOURCE_BROKER, '', [{ name: 'log.segment.bytes', configOperation: 1, value: null }])).errorCode).toBe(0);
  });

  it('refuses read-only and unknown broker names', async () => {
    const readOnly = await alter(RESOURCE_BROKER, '1', [{ name: 'num.partitions', configOperation: 0, value: '4' }]);
    expect(readOnly.errorCode).toBe(errorCode('INVALID_CONFIG'));
    const other = await alter(RESOURCE_BROKER, '42', [{ name: 'log.retention.ms', configOperation: 0, value: '4' }]);
    expect(other.errorCode).toBe(errorCode('INVALID_REQUEST'));
  });
});

describe('DescribeConfigs include_synonyms and include_documentation (raw, v1-v4)', () => {
  beforeAll(async () => {
    await admin.createTopics({ topics: [{ topic: 'flags', configEntries: [{ name: 'retention.ms', value: '90000' }] }] });
  });

  async function describeFlags(version: number, includeSynonyms: boolean, includeDocumentation: boolean) {
    const res = await raw.send(32, version, {
      resources: [
        { resourceType: RESOURCE_TOPIC, resourceName: 'flags', configurationKeys: ['retention.ms', 'cleanup.policy'] },
        { resourceType: RESOURCE_BROKER, resourceName: '1', configurationKeys: ['log.retention.ms', 'num.partitions'] },
      ],
      includeSynonyms,
      includeDocumentation,
    });
    expect(res.results.map((r) => r.errorCode)).toEqual([0, 0]);
    return res.results.flatMap((r) => r.configs);
  }

  it('lists synonyms only when asked, in every version that has them', async () => {
    for (const version of [1, 2, 3, 4]) {
      const without = await describeFlags(version, false, false);
      expect(without).toHaveLength(4);
      expect(without.map((c) => c.synonyms)).toEqual([[], [], [], []]);
      const withSynonyms = await describeFlags(version, true, false);
      const retention = withSynonyms.find((c) => c.name === 'retention.ms')!;
      expect(retention.synonyms.map((s) => [s.name, s.value, s.source])).toEqual([
        ['retention.ms', '90000', TOPIC_CONFIG],
        ['log.retention.ms', '604800000', DEFAULT_CONFIG],
      ]);
      expect(withSynonyms.every((c) => c.synonyms.length > 0)).toBe(true);
      // The source is the same either way: it comes from the chain, not from the flag.
      expect(without.map((c) => c.configSource)).toEqual(withSynonyms.map((c) => c.configSource));
    }
  });

  it('carries documentation only when asked, from v3 (v1-v2 have no such field)', async () => {
    for (const version of [3, 4]) {
      expect((await describeFlags(version, true, false)).map((c) => c.documentation)).toEqual([null, null, null, null]);
      const documented = await describeFlags(version, false, true);
      expect(documented.every((c) => typeof c.documentation === 'string' && c.documentation.length > 0)).toBe(true);
      // And config types, also a v3 field.
      expect(documented.find((c) => c.name === 'retention.ms')!.configType).toBe(5);
      expect(documented.map((c) => c.synonyms)).toEqual([[], [], [], []]);
    }
    // v1-v2 requests cannot ask for documentation (the field is v3+), and their answers have none.
    for (const version of [1, 2]) expect(await describeFlags(version, true, true)).toHaveLength(4);
  });
});

describe('topic config names Kafka 3.x still accepts though deprecated', () => {
  const LONG_MAX = '9223372036854775807';

  async function describeTopic(topic: string, keys: string[]) {
    const res = await raw.send(32, 4, {
      resources: [{ resourceType: RESOURCE_TOPIC, resourceName: topic, configurationKeys: keys }],
      includeSynonyms: true,
      includeDocumentation: true,
    });
    return new Map(res.results[0]!.configs.map((c) => [c.name, c]));
  }

  const limits = (topic: string) => messageTimestampLimits(effectiveTopicConfig(broker.node.controller.image, topic, 1));

  it('creates a topic with message.timestamp.difference.max.ms (kafkajs), which applies to both sides, as in Kafka 3.6+', async () => {
    const created = await admin.createTopics({
      topics: [{ topic: 'old-timestamps', configEntries: [{ name: 'message.timestamp.difference.max.ms', value: '1000' }] }],
    });
    expect(created).toBe(true);
    // Shown as Kafka shows it: the deprecated name carries the value; the new ones keep their defaults.
    const configs = await describeTopic('old-timestamps', ['message.timestamp.difference.max.ms', 'message.timestamp.before.max.ms', 'message.timestamp.after.max.ms']);
    expect(configs.get('message.timestamp.difference.max.ms')).toMatchObject({ value: '1000', configSource: TOPIC_CONFIG, configType: 5 });
    expect(configs.get('message.timestamp.difference.max.ms')!.synonyms.map((s) => [s.name, s.value, s.source])).toEqual([
      ['message.timestamp.difference.max.ms', '1000', TOPIC_CONFIG],
      ['log.message.timestamp.difference.max.ms', LONG_MAX, DEFAULT_CONFIG],
    ]);
    expect(configs.get('message.timestamp.before.max.ms')).toMatchObject({ value: LONG_MAX, configSource: DEFAULT_CONFIG });
    expect(configs.get('message.timestamp.after.max.ms')).toMatchObject({ value: LONG_MAX, configSource: DEFAULT_CONFIG });
    expect(limits('old-timestamps')).toEqual({ beforeMaxMs: 1000, afterMaxMs: 1000 });
  });

  it('enforces the mapped limits on produce: a CreateTime too far in the past or the future is INVALID_TIMESTAMP', async () => {
    const producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    try {
      const send = (timestamp: number) => producer.send({ topic: 'old-timestamps', messages: [{ value: 'v', timestamp: String(timestamp) }] });
      await expect(send(1000)).rejects.toMatchObject({ type: 'INVALID_TIMESTAMP' });
      await expect(send(Date.now() + 3_600_000)).rejects.toMatchObject({ type: 'INVALID_TIMESTAMP' });
      await expect(send(Date.now())).resolves.toEqual([expect.objectContaining({ errorCode: 0 })]);
    } finally {
      await producer.disconnect();
    }
  });

  it('lets message.timestamp.before.max.ms and .after.max.ms, once set, win over the deprecated name (IncrementalAlterConfigs)', async () => {
    const res = await raw.send(44, 1, {
      resources: [{ resourceType: RESOURCE_TOPIC, resourceName: 'old-timestamps', configs: [{ name: 'message.timestamp.before.max.ms', configOperation: 0, value: '5000' }] }],
      validateOnly: false,
    });
    expect(res.responses[0]!.errorCode).toBe(0);
    expect(limits('old-timestamps')).toEqual({ beforeMaxMs: 5000, afterMaxMs: 1000 });
    const incremental = await raw.send(44, 1, {
      resources: [{ resourceType: RESOURCE_TOPIC, resourceName: 'old-timestamps', configs: [{ name: 'message.timestamp.difference.max.ms', configOperation: 0, value: '2000' }] }],
      validateOnly: false,
    });
    expect(incremental.responses[0]!.errorCode).toBe(0);
    expect(limits('old-timestamps')).toEqual({ beforeMaxMs: 5000, afterMaxMs: 2000 });
  });

  it('accepts it in AlterConfigs (kafkajs) and as a cluster-wide default (log.message.timestamp.difference.max.ms)', async () => {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'old-timestamps', configEntries: [{ name: 'message.timestamp.difference.max.ms', value: '3000' }] }],
    });
    // AlterConfigs replaces the set: before.max.ms is back at its default, so 3000 applies both ways.
    expect(limits('old-timestamps')).toEqual({ beforeMaxMs: 3000, afterMaxMs: 3000 });
    const setDefault = (value: string | null) =>
      raw.send(44, 1, {
        resources: [
          { resourceType: RESOURCE_BROKER, resourceName: '', configs: [{ name: 'log.message.timestamp.difference.max.ms', configOperation: value === null ? 1 : 0, value }] },
        ],
        validateOnly: false,
      });
    expect((await setDefault('60000')).responses[0]!.errorCode).toBe(0);
    await admin.createTopics({ topics: [{ topic: 'default-timestamps' }] });
    expect(limits('default-timestamps')).toEqual({ beforeMaxMs: 60000, afterMaxMs: 60000 });
    expect(limits('old-timestamps')).toEqual({ beforeMaxMs: 3000, afterMaxMs: 3000 });
    expect((await setDefault(null)).responses[0]!.errorCode).toBe(0);
    expect(limits('default-timestamps')).toEqual({ beforeMaxMs: Number.POSITIVE_INFINITY, afterMaxMs: Number.POSITIVE_INFINITY });
  });

  it('accepts message.format.version and message.downconversion.enable (CreateTopics v2 and v7), documented as ignored', async () => {
    await admin.createTopics({
      topics: [
        {
          topic: 'legacy-format',
          configEntries: [
            { name: 'message.format.version', value: '2.8' },
            { name: 'message.downconversion.enable', value: 'false' },
          ],
        },
      ],
    });
    const v7 = await raw.send(19, 7, {
      topics: [{ name: 'legacy-format-7', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'message.format.version', value: '0.10.2-IV0' }] }],
      timeoutMs: 5000,
    });
    expect(v7.topics[0]!.errorCode).toBe(0);
    expect(v7.topics[0]!.configs!.find((c) => c.name === 'message.format.version')).toMatchObject({ value: '0.10.2-IV0', configSource: TOPIC_CONFIG });
    const configs = await describeTopic('legacy-format', ['message.format.version', 'message.downconversion.enable']);
    expect(configs.get('message.format.version')).toMatchObject({ value: '2.8', configSource: TOPIC_CONFIG, configType: 2 });
    expect(configs.get('message.downconversion.enable')).toMatchObject({ value: 'false', configSource: TOPIC_CONFIG, configType: 1 });
    expect(configs.get('message.format.version')!.documentation).toMatch(/ignored/);
    expect(configs.get('message.downconversion.enable')!.documentation).toMatch(/ignored/);
  });

  it('refuses invalid values for them with INVALID_CONFIG', async () => {
    const res = await raw.send(19, 5, {
      topics: [
        { name: 'bad-format', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'message.format.version', value: '9.9' }] },
        { name: 'bad-difference', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'message.timestamp.difference.max.ms', value: '-1' }] },
        { name: 'bad-downconversion', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'message.downconversion.enable', value: 'maybe' }] },
      ],
      timeoutMs: 5000,
    });
    expect(res.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['bad-format', errorCode('INVALID_CONFIG')],
      ['bad-difference', errorCode('INVALID_CONFIG')],
      ['bad-downconversion', errorCode('INVALID_CONFIG')],
    ]);
    expect(res.topics[0]!.errorMessage).toMatch(/message\.format\.version/);
  });
});
