/**
 * The console's record view (src/http/record-view.ts) decodes stored batches with storage's
 * record-batch module: plain and compressed batches, control batches skipped, the first batch's
 * records below the requested offset left out, values cut for display. Runs in the test process.
 */
import { describe, expect, it } from 'vitest';
import { decodeRecords, textMatcher } from '../../src/http/record-view.js';
import { httpLimits } from '../../src/http/limits.js';
import { buildBatch } from '../../src/storage/record-batch.js';

const plain = buildBatch({
  baseOffset: 0,
  records: [
    { key: 'k0', value: 'apple', timestamp: 100, headers: [{ key: 'h', value: 'hv' }] },
    { key: 'k1', value: null, timestamp: 101 },
  ],
});
const gzip = buildBatch({ baseOffset: 2, compression: 1, records: [{ key: 'k2', value: 'Banana', timestamp: 102 }] });
const marker = buildBatch({ baseOffset: 3, isControl: true, producerId: 1, producerEpoch: 0, records: [{ key: Buffer.from([0, 0, 0, 0]), value: null }] });

describe('decodeRecords', () => {
  it('decodes plain and compressed batches from fromOffset, skipping control batches', async () => {
    const { records, nextOffset } = await decodeRecords(Buffer.concat([plain, gzip, marker]), 4, 1);
    expect(nextOffset).toBe(4);
    expect(records.map((r) => [r.partition, r.offset, r.timestampMs, r.compression, r.key?.b64, r.value?.b64 ?? null])).toEqual([
      [4, 1, 101, 0, Buffer.from('k1').toString('base64'), null],
      [4, 2, 102, 1, Buffer.from('k2').toString('base64'), Buffer.from('Banana').toString('base64')],
    ]);
  });

  it('returns headers and keeps only what the matcher accepts', async () => {
    const { records } = await decodeRecords(Buffer.concat([plain, gzip]), 0, 0, textMatcher('APPLE'));
    expect(records).toHaveLength(1);
    expect(records[0]!.headers).toEqual([{ key: 'h', value: { b64: Buffer.from('hv').toString('base64'), size: 2, truncated: false } }]);
  });

  it('cuts large values for display and says so', async () => {
    const big = 'x'.repeat(httpLimits.displayValueBytesMax + 10);
    const { records } = await decodeRecords(buildBatch({ records: [{ key: 'k', value: big, timestamp: 1 }] }), 0, 0);
    expect(records[0]!.value).toMatchObject({ size: big.length, truncated: true });
  });
});
