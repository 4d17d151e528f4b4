/**
 * The log reader threads (src/storage/log-readers.ts): fetches the batch cache does not answer
 * are read from the partition's SQLite file on a thread of their own, with exactly the bytes,
 * high watermark and log start the partition's actor gives; never past the high watermark,
 * below a log start moved by DeleteRecords or retention (OFFSET_OUT_OF_RANGE, from the actor),
 * after a truncation, nor from a deleted topic. And on their own: limits, bounds, failures.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin } from '../../src/client/index.js';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { LogReaders, readerQueueMax } from '../../src/storage/log-readers.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { buildBatch, splitBatches } from '../../src/storage/record-batch.js';
import { fetchCompare } from '../helpers/fetch-compare.js';
import { RawClient } from '../helpers/raw-client.js';
import { tempDir } from '../helpers/tmp.js';

const OFFSET_OUT_OF_RANGE = 1;
const UNKNOWN_TOPIC_OR_PARTITION = 3;

describe('log reader threads through a node (batch cache off)', () => {
  let b: EmbeddedBroker;
  let c: RawClient;
  let admin: Admin;
  let topics = 0;

  beforeAll(async () => {
    b = await startBroker({ logLevel: 'warn', workers: 1, logRetentionCheckIntervalMs: 100, fetchCacheBytes: 0, fetchReaderThreads: 1 });
    c = await RawClient.connect(b.host, b.port);
    admin = new Admin({ bootstrapServers: [b.bootstrap] });
  });
  afterAll(async () => {
    await admin?.close();
    c?.close();
    await b?.stop();
  });

  const { produce, fromLog, fetch, expectSameAsLog, logStartAfterRetention } = fetchCompare(
    () => b,
    () => c,
  );
  const reads = () => b.node.partitions.readers.stats().reads;

  async function newTopic(configs: Record<string, string> = {}): Promise<string> {
    const topic = `readers-${++topics}`;
    await admin.createTopics({ topics: [{ name: topic, numPartitions: 1, configs }] });
    return topic;
  }

  it('answers fetches of committed records with what the partition returns', async () => {
    const topic = await newTopic();
    const hw = await produce(topic, 12);
    const before = reads();
    await expectSameAsLog(topic, 0, hw);
    expect(reads() - before).toBeGreaterThan(hw * 2);
    expect(b.node.partitions.readers.stats().failed).toBe(0);
    const metrics = await b.node.metricsText();
    for (const stat of ['threads', 'reads', 'declined', 'failed']) expect(metrics).toMatch(new RegExp(`brook_fetch_readers\\{[^}]*stat="${stat}"`));
    // At the high watermark and past it the actor answers: nothing, then OFFSET_OUT_OF_RANGE.
    const at = reads();
    expect((await fetch(topic, hw)).records.length).toBe(0);
    expect((await fetch(topic, hw + 1)).errorCode).toBe(OFFSET_OUT_OF_RANGE);
    expect(reads()).toBe(at);
  });

  it('after a truncation, DeleteRecords or retention it answers only what the log still holds', async () => {
    const topic = await newTopic();
    const hw = await produce(topic, 10);
    expect((await b.node.partitions.askByName(topic, 0, { type: 'TruncateTo', offset: 8 })).ok).toBe(true);
    for (let offset = 0; offset < hw; offset++) {
      const got = await fetch(topic, offset);
      const want = await fromLog(topic, offset, 1 << 20);
      expect(got.errorCode, `offset ${offset}`).toBe(want.errorCode);
      expect(got.records.equals(want.records), `records at ${offset}`).toBe(true);
      if (got.errorCode === 0) expect(got.highWatermark).toBeLessThanOrEqual(8);
    }
    const [deleted] = await admin.deleteRecords({ topic, partitions: [{ partition: 0, offset: 5 }] });
    expect(deleted!.lowWatermark).toBe(5);
    for (let offset = 0; offset < 5; offset++) expect((await fetch(topic, offset)).errorCode, `offset ${offset}`).toBe(OFFSET_OUT_OF_RANGE);
    await expectSameAsLog(topic, 5, 8);

    const retained = await newTopic({ 'segment.bytes': '14', 'retention.bytes': '3000' });
    const hw2 = await produce(retained, 12);
    const logStart = await logStartAfterRetention(retained);
    expect(logStart).toBeGreaterThan(0);
    for (let offset = 0; offset < logStart; offset++) expect((await fetch(retained, offset)).errorCode, `offset ${offset}`).toBe(OFFSET_OUT_OF_RANGE);
    await expectSameAsLog(retained, logStart, hw2);
  });

  it('reads a passivated partition without reopening it, and nothing of a deleted topic', async () => {
    const topic = await newTopic();
    const hw = await produce(topic, 6);
    await fetch(topic, 0); // the partition has published its offsets
    expect(await b.node.supervisor.passivateActor(`partition:${topic}:0`)).toBe(true);
    const before = reads();
    const got = await fetch(topic, 0);
    expect(got.errorCode).toBe(0);
    expect(reads()).toBe(before + 1);
    expect(b.node.supervisor.passivationStats().passivated).toBeGreaterThan(0);
    await expectSameAsLog(topic, 0, hw);

    await admin.deleteTopics({ topics: [topic] });
    const deadline = Date.now() + 10_000;
    let code = 0;
    while (code !== UNKNOWN_TOPIC_OR_PARTITION && Date.now() < deadline) {
      code = (await fetch(topic, 0)).errorCode;
      if (code === 0)
        expect((await fetch(topic, 0)).records.length).toBeGreaterThan(0); // still there until the deletion lands
      else if (code !== UNKNOWN_TOPIC_OR_PARTITION) await new Promise((r) => setTimeout(r, 20));
    }
    expect(code).toBe(UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('serves a consumer reading while a producer appends: every record once, in order', async () => {
    const topic = await newTopic();
    const total = 3000;
    const producing = (async () => {
      for (let i = 0; i < total; i += 100) {
        const r = await c.request(0, 9, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 10_000,
          topicData: [{ name: topic, partitionData: [{ index: 0, records: buildBatch({ records: Array.from({ length: 100 }, (_, j) => ({ key: null, value: `v${i + j}` })) }) }] }],
        });
        expect(r.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
      }
    })();
    const reader = await RawClient.connect(b.host, b.port);
    let next = 0;
    const deadline = Date.now() + 30_000;
    try {
      while (next < total && Date.now() < deadline) {
        const res = await reader.request(1, 12, {
          maxWaitMs: 100,
          minBytes: 1,
          maxBytes: 4096,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ topic, partitions: [{ partition: 0, fetchOffset: next, partitionMaxBytes: 4096 }] }],
        });
        const p = res.responses[0]!.partitions[0]!;
        expect(p.errorCode).toBe(0);
        for (const h of splitBatches(p.records ?? Buffer.alloc(0))) {
          if (h.baseOffset + h.lastOffsetDelta < next) continue;
          expect(h.baseOffset).toBe(next);
          next = h.baseOffset + h.lastOffsetDelta + 1;
        }
      }
    } finally {
      reader.close();
    }
    await producing;
    expect(next).toBe(total);
  });
});

describe('LogReaders on their own', () => {
  const temp = tempDir('brook-readers-');
  const dir = () => temp.dir;
  let readers: LogReaders;
  let path: string;
  let log: PartitionLog;

  beforeAll(() => {
    readers = new LogReaders(2);
    path = join(dir(), 'p.db');
    log = PartitionLog.open({ path });
    for (let i = 0; i < 20; i++) log.append(buildBatch({ records: Array.from({ length: 5 }, (_, j) => ({ key: null, value: Buffer.alloc(200, i * 5 + j) })) }));
  });
  afterAll(async () => {
    log?.close();
    await readers?.stop();
    temp.cleanup();
  });

  const joined = (r: { batches: Buffer[] }) => Buffer.concat(r.batches);

  it('reads whole batches from the one holding the offset, below the limit, up to maxBytes but at least one', async () => {
    for (const [offset, maxBytes, limit] of [
      [0, 1 << 20, 100],
      [7, 1 << 20, 100],
      [7, 1, 100],
      [12, 3000, 100],
      [0, 1 << 20, 23],
      [99, 1 << 20, 100],
    ] as const) {
      const got = await readers.read({ path, fetchOffset: offset, maxBytes, limit });
      const want = log.read(offset, maxBytes, { maxOffsetExclusive: limit });
      expect(got && Buffer.from(got).equals(joined(want)), `offset ${offset}, max ${maxBytes}, limit ${limit}`).toBe(true);
    }
    // Reads of one file go to one thread whichever the order; both threads serve their files.
    const other = join(dir(), 'q.db');
    const second = PartitionLog.open({ path: other });
    second.append(buildBatch({ records: [{ key: null, value: 'x' }] }));
    expect((await readers.read({ path: other, fetchOffset: 0, maxBytes: 100, limit: 1 }))?.length).toBeGreaterThan(0);
    second.close();
  });

  it('declines what it cannot read: a missing file, and reads past its queue bound', async () => {
    const failedBefore = readers.stats().failed;
    expect(await readers.read({ path: join(dir(), 'missing.db'), fetchOffset: 0, maxBytes: 100, limit: 10 })).toBeNull();
    expect(readers.stats().failed).toBe(failedBefore + 1);
    const declinedBefore = readers.stats().declined;
    const many = await Promise.all(Array.from({ length: readerQueueMax + 10 }, () => readers.read({ path, fetchOffset: 0, maxBytes: 1 << 20, limit: 100 })));
    expect(many.filter((r) => r === null).length).toBeGreaterThanOrEqual(10);
    expect(readers.stats().declined - declinedBefore).toBeGreaterThanOrEqual(10);
    expect(many.filter((r) => r !== null).every((r) => Buffer.from(r).equals(joined(log.read(0, 1 << 20, { maxOffsetExclusive: 100 }))))).toBe(true);
  });

  it('closes its connections when stopped, so the log closes cleanly (no WAL left)', async () => {
    const own = new LogReaders(1);
    const p = join(dir(), 'r.db');
    const l = PartitionLog.open({ path: p });
    l.append(buildBatch({ records: [{ key: null, value: 'y' }] }));
    expect(await own.read({ path: p, fetchOffset: 0, maxBytes: 100, limit: 1 })).not.toBeNull();
    await own.stop();
    expect(own.stats().threads).toBe(0);
    l.close();
    expect(existsSync(`${p}-wal`)).toBe(false);
  });
});
