/**
 * The batch cache (src/cluster/batch-cache.ts) through a real node: fetches near the tail are
 * answered from the main thread's cache with exactly the bytes, high watermark and log start the
 * partition's SQLite log gives; it never answers past the high watermark, below a log start moved
 * by DeleteRecords or retention (OFFSET_OUT_OF_RANGE, as before), after a truncation, for a
 * compacted topic, after passivation, or for a read_committed consumer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../src/client/index.js';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { fetchCompare } from '../helpers/fetch-compare.js';
import { RawClient } from '../helpers/raw-client.js';

const OFFSET_OUT_OF_RANGE = 1;

describe('batch cache', () => {
  let b: EmbeddedBroker;
  let c: RawClient;
  let admin: Admin;
  let topics = 0;

  beforeAll(async () => {
    // Reader threads off: a fetch the cache does not answer goes to the actor, as these tests count.
    b = await startBroker({ logLevel: 'warn', workers: 1, logRetentionCheckIntervalMs: 100, fetchReaderThreads: 0 });
    c = await RawClient.connect(b.host, b.port);
    admin = new Admin({ bootstrapServers: [b.bootstrap] });
  });
  afterAll(async () => {
    await admin?.close();
    c?.close();
    await b?.stop();
  });

  const stats = () => b.node.partitions.batchCache.stats();

  async function newTopic(configs: Record<string, string> = {}): Promise<string> {
    const topic = `cache-${++topics}`;
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 1, configs }] });
    return topic;
  }

  const { produce, fromLog, fetch, expectSameAsLog, logStartAfterRetention } = fetchCompare(
    () => b,
    () => c,
  );

  it('answers tail fetches from the cache with what SQLite returns', async () => {
    const topic = await newTopic();
    const hw = await produce(topic, 12);
    expect(hw).toBeGreaterThan(20);
    const before = stats();
    await expectSameAsLog(topic, 0, hw);
    const after = stats();
    // Most from the cache (a fetch that meets the actor publishing its offsets goes to the actor).
    expect(after.hits - before.hits).toBeGreaterThan(hw * 2);
    expect(after.bytes).toBeGreaterThan(0);
    const metrics = await b.node.metricsText();
    for (const stat of ['hits', 'misses', 'evictions', 'bytes', 'max_bytes']) expect(metrics).toMatch(new RegExp(`brook_fetch_cache\\{[^}]*stat="${stat}"`));
    // At the high watermark and past it the actor answers, as before: nothing, then OFFSET_OUT_OF_RANGE.
    expect((await fetch(topic, hw)).records.length).toBe(0);
    expect((await fetch(topic, hw + 1)).errorCode).toBe(OFFSET_OUT_OF_RANGE);
  });

  it('caches what the actor stored for a recompressing topic (compression.type), not what the producer sent', async () => {
    const topic = await newTopic({ 'compression.type': 'gzip' });
    const hw = await produce(topic, 5);
    const hits = stats().hits;
    await expectSameAsLog(topic, 0, hw);
    expect(stats().hits).toBeGreaterThan(hits);
  });

  it('never answers past the high watermark: after a truncation the cache no longer serves the truncated batches', async () => {
    const topic = await newTopic();
    const hw = await produce(topic, 6);
    await fetch(topic, 0);
    const cut = 4;
    const t = await b.node.partitions.askByName(topic, 0, { type: 'TruncateTo', offset: cut });
    expect(t.ok).toBe(true);
    const hitsBefore = stats().hits;
    for (let offset = 0; offset < hw; offset++) {
      const got = await fetch(topic, offset);
      const want = await fromLog(topic, offset, 1 << 20);
      expect(got.errorCode, `offset ${offset}`).toBe(want.errorCode);
      expect(got.highWatermark).toBe(want.highWatermark);
      expect(got.records.equals(want.records), `records at ${offset}`).toBe(true);
      if (got.errorCode === 0) expect(got.highWatermark).toBeLessThanOrEqual(cut);
    }
    // The truncation emptied the cache of this partition: those answers were the log's.
    expect(stats().hits).toBe(hitsBefore);
    // Appends after the truncation are cached again and correct.
    const hw2 = await produce(topic, 3);
    await expectSameAsLog(topic, 0, hw2);
    expect(stats().hits).toBeGreaterThan(hitsBefore);
  });

  it('after DeleteRecords the deleted offsets are OFFSET_OUT_OF_RANGE, the rest still served and equal to the log', async () => {
    const topic = await newTopic();
    const hw = await produce(topic, 10);
    await expectSameAsLog(topic, 0, hw);
    const [deleted] = await admin.deleteRecords({ topic, partitions: [{ partition: 0, offset: 7 }] });
    expect(deleted!.lowWatermark).toBe(7);
    for (let offset = 0; offset < 7; offset++) expect((await fetch(topic, offset)).errorCode, `offset ${offset}`).toBe(OFFSET_OUT_OF_RANGE);
    const hits = stats().hits;
    await expectSameAsLog(topic, 7, hw);
    expect(stats().hits).toBeGreaterThan(hits);
    expect((await fetch(topic, 7)).logStartOffset).toBe(7);
  });

  it('after retention moves the log start, offsets below it are OFFSET_OUT_OF_RANGE', async () => {
    // segment.bytes=14 puts every batch in its own segment; retention.bytes keeps about the last few.
    const topic = await newTopic({ 'segment.bytes': '14', 'retention.bytes': '3000' });
    const hw = await produce(topic, 12);
    // Fill the cache's view of the whole log before retention runs (it may already have).
    for (let offset = 0; offset < hw; offset++) await fetch(topic, offset);
    const logStart = await logStartAfterRetention(topic);
    expect(logStart).toBeGreaterThan(0);
    for (let offset = 0; offset < logStart; offset++) expect((await fetch(topic, offset)).errorCode, `offset ${offset}`).toBe(OFFSET_OUT_OF_RANGE);
    await expectSameAsLog(topic, logStart, hw);
  });

  it('never caches a compacted topic, and stops serving a topic that becomes compacted', async () => {
    const compacted = await newTopic({ 'cleanup.policy': 'compact' });
    const before = stats();
    const hw = await produce(compacted, 6, true);
    await expectSameAsLog(compacted, 0, hw);
    expect(stats().hits).toBe(before.hits);
    expect(stats().partitions).toBe(before.partitions);

    const topic = await newTopic();
    const hw2 = await produce(topic, 6, true);
    await fetch(topic, 0);
    await admin.incrementalAlterConfigs({ resources: [{ type: 'topic', name: topic, ops: [{ name: 'cleanup.policy', op: 'set', value: 'compact' }] }] });
    // The config reaches the actor asynchronously; once it has, nothing of the topic is served from the cache.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const s = await b.node.partitions.askByName(topic, 0, { type: 'GetOffsets' });
      const state = (await b.node.supervisor.inspect(`partition:${topic}:0`))?.state as { config?: { cleanupPolicy?: string } } | undefined;
      if (s.ok && state?.config?.cleanupPolicy?.includes('compact')) break;
      if (Date.now() > deadline) throw new Error('cleanup.policy=compact never reached the partition');
      await new Promise((r) => setTimeout(r, 50));
    }
    const hits = stats().hits;
    await expectSameAsLog(topic, 0, hw2);
    await produce(topic, 2, true);
    await fetch(topic, hw2);
    expect(stats().hits).toBe(hits);
  });

  it('is bypassed by read_committed fetches and emptied by passivation', async () => {
    const topic = await newTopic();
    const hw = await produce(topic, 4);
    let hits = stats().hits;
    const committed = await fetch(topic, 0, 1 << 20, 1);
    expect(committed.records.equals((await fromLog(topic, 0, 1 << 20)).records)).toBe(true);
    expect(stats().hits).toBe(hits);
    expect((await fetch(topic, 0)).errorCode).toBe(0);
    expect(stats().hits).toBe(hits + 1);
    expect(await b.node.supervisor.passivateActor(`partition:${topic}:0`)).toBe(true);
    hits = stats().hits;
    await expectSameAsLog(topic, 0, hw);
    expect(stats().hits).toBe(hits);
  });
});
