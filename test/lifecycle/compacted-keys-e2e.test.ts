/**
 * A compacted topic refuses records without a key (INVALID_RECORD, as Kafka does: such a record
 * could never be compacted away), uncompressed or compressed, and leaves its log unchanged; keyed
 * records and tombstones are accepted. A topic with cleanup.policy=delete still takes keyless
 * records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { errorCode } from '../../src/protocol/errors.js';
import { buildBatch } from '../../src/storage/record-batch.js';
import { RawClient } from '../helpers/raw-client.js';
import { listOffset } from './e2e-helpers.js';

describe('compacted topics require keys', () => {
  let b: EmbeddedBroker;
  let c: RawClient;
  beforeAll(async () => {
    b = await startBroker({ logLevel: 'warn' });
    c = await RawClient.connect(b.host, b.port);
    const topics = [
      { name: 'keys-compact', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'cleanup.policy', value: 'compact' }] },
      { name: 'keys-delete', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
    ];
    const r = await c.request(19, 5, { topics, timeoutMs: 10_000, validateOnly: false });
    expect(r.topics.map((t) => t.errorCode)).toEqual([0, 0]);
  });
  afterAll(async () => {
    c?.close();
    await b?.stop();
  });

  async function produce(topic: string, records: Buffer): Promise<number> {
    const r = await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
    return r.responses[0]!.partitionResponses[0]!.errorCode;
  }

  it('accepts keyed records and tombstones, refuses keyless ones uncompressed and gzipped', async () => {
    expect(
      await produce(
        'keys-compact',
        buildBatch({
          records: [
            { key: Buffer.from('a'), value: Buffer.from('1') },
            { key: Buffer.from('b'), value: null },
          ],
        }),
      ),
    ).toBe(0);
    expect(await listOffset(c, 'keys-compact', 0, -1)).toBe(2);
    const invalid = errorCode('INVALID_RECORD');
    expect(
      await produce(
        'keys-compact',
        buildBatch({
          records: [
            { key: Buffer.from('c'), value: Buffer.from('2') },
            { key: null, value: Buffer.from('3') },
          ],
        }),
      ),
    ).toBe(invalid);
    expect(await produce('keys-compact', buildBatch({ compression: 1, records: [{ key: null, value: Buffer.from('4') }] }))).toBe(invalid);
    expect(await listOffset(c, 'keys-compact', 0, -1)).toBe(2);
    expect(await produce('keys-delete', buildBatch({ records: [{ key: null, value: Buffer.from('5') }] }))).toBe(0);
  });
});
