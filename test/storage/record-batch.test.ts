import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import {
  type BatchCodecs,
  buildBatch,
  decodeBatch,
  incrementSequence,
  iterateRecords,
  parseBatchHeader,
  recordAt,
  recordSpans,
  setBaseOffset,
  setPartitionLeaderEpoch,
  splitBatches,
  stampLogAppendTime,
} from '../../src/storage/record-batch.js';
import { StorageError, type StorageErrorCode } from '../../src/storage/storage-error.js';
import { batchOf } from './helpers.js';

function codeOf(fn: () => unknown): StorageErrorCode | 'none' {
  try {
    fn();
  } catch (err) {
    if (err instanceof StorageError) return err.code;
    throw err;
  }
  return 'none';
}

/** Rewrites the CRC so that a field change is tested on its own, not caught by the CRC. */
function fixCrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
  return batch;
}

describe('parseBatchHeader', () => {
  it('decodes every header field of a built batch', () => {
    const batch = buildBatch({
      baseOffset: 42,
      partitionLeaderEpoch: 7,
      producerId: 1234,
      producerEpoch: 3,
      baseSequence: 10,
      isTransactional: true,
      records: [
        { value: 'a', timestamp: 100 },
        { value: 'b', timestamp: 150 },
        { value: 'c', timestamp: 120 },
      ],
    });
    const h = parseBatchHeader(batch, 0);
    expect(h).toMatchObject({
      baseOffset: 42,
      partitionLeaderEpoch: 7,
      magic: 2,
      compression: 0,
      timestampType: 'CreateTime',
      isTransactional: true,
      isControl: false,
      lastOffsetDelta: 2,
      baseTimestamp: 100,
      maxTimestamp: 150,
      producerId: 1234,
      producerEpoch: 3,
      baseSequence: 10,
      recordCount: 3,
      sizeBytes: batch.length,
    });
  });

  it('rejects a flipped byte as CORRUPT_MESSAGE (CRC)', () => {
    const batch = batchOf(3);
    batch[batch.length - 2]! ^= 0x01;
    expect(codeOf(() => parseBatchHeader(batch, 0))).toBe('CORRUPT_MESSAGE');
  });

  it('rejects truncated batches and bad lengths as CORRUPT_MESSAGE', () => {
    const batch = batchOf(3);
    expect(codeOf(() => parseBatchHeader(batch.subarray(0, batch.length - 1), 0))).toBe('CORRUPT_MESSAGE');
    expect(codeOf(() => parseBatchHeader(batch.subarray(0, 30), 0))).toBe('CORRUPT_MESSAGE');
    expect(codeOf(() => parseBatchHeader(batch.subarray(0, 10), 0))).toBe('CORRUPT_MESSAGE');
    const short = Buffer.from(batch);
    short.writeInt32BE(48, 8);
    expect(codeOf(() => parseBatchHeader(short, 0))).toBe('CORRUPT_MESSAGE');
    const negative = Buffer.from(batch);
    negative.writeInt32BE(-1, 8);
    expect(codeOf(() => parseBatchHeader(negative, 0))).toBe('CORRUPT_MESSAGE');
  });

  it('rejects magic other than 2 as UNSUPPORTED_FOR_MESSAGE_FORMAT', () => {
    const batch = batchOf(1);
    batch.writeInt8(1, 16);
    expect(codeOf(() => parseBatchHeader(batch, 0))).toBe('UNSUPPORTED_FOR_MESSAGE_FORMAT');
  });

  it('rejects empty batches and count/offset-delta mismatches as INVALID_RECORD', () => {
    const mismatch = Buffer.from(batchOf(3));
    mismatch.writeInt32BE(5, 23);
    expect(codeOf(() => parseBatchHeader(fixCrc(mismatch), 0))).toBe('INVALID_RECORD');
    const empty = Buffer.from(batchOf(1));
    empty.writeInt32BE(0, 57);
    empty.writeInt32BE(-1, 23);
    expect(codeOf(() => parseBatchHeader(fixCrc(empty), 0))).toBe('INVALID_RECORD');
  });

  it('rejects more records than the bytes can hold as CORRUPT_MESSAGE', () => {
    const batch = Buffer.from(batchOf(2));
    batch.writeInt32BE(1000, 57);
    batch.writeInt32BE(999, 23);
    expect(codeOf(() => parseBatchHeader(fixCrc(batch), 0))).toBe('CORRUPT_MESSAGE');
  });

  it('rejects an idempotent producer batch without a sequence, and control batches without a producer', () => {
    expect(codeOf(() => parseBatchHeader(batchOf(1, { producerId: 5, producerEpoch: 0, baseSequence: -1 }), 0))).toBe('INVALID_RECORD');
    expect(codeOf(() => parseBatchHeader(batchOf(1, { isTransactional: true }), 0))).toBe('INVALID_RECORD');
  });

  it('rejects a batch over maxBatchBytes as MESSAGE_TOO_LARGE', () => {
    const batch = batchOf(10);
    expect(codeOf(() => parseBatchHeader(batch, 0, { maxBatchBytes: batch.length - 1 }))).toBe('MESSAGE_TOO_LARGE');
    expect(codeOf(() => parseBatchHeader(batch, 0, { maxBatchBytes: batch.length }))).toBe('none');
  });
});

describe('splitBatches', () => {
  it('splits concatenated batches accounting for every byte', () => {
    const a = batchOf(2);
    const b = batchOf(5);
    const headers = splitBatches(Buffer.concat([a, b]));
    expect(headers.map((h) => [h.position, h.sizeBytes, h.recordCount])).toEqual([
      [0, a.length, 2],
      [a.length, b.length, 5],
    ]);
  });

  it('rejects trailing garbage and an empty records field as CORRUPT_MESSAGE', () => {
    expect(codeOf(() => splitBatches(Buffer.concat([batchOf(2), Buffer.from([1, 2, 3])])))).toBe('CORRUPT_MESSAGE');
    expect(codeOf(() => splitBatches(Buffer.concat([batchOf(2), Buffer.alloc(70)])))).toBe('UNSUPPORTED_FOR_MESSAGE_FORMAT');
    expect(codeOf(() => splitBatches(Buffer.alloc(0)))).toBe('CORRUPT_MESSAGE');
  });

  it('accepts a Uint8Array that is not a Buffer', () => {
    const batch = batchOf(2);
    const copy = new Uint8Array(batch.length);
    copy.set(batch);
    expect(splitBatches(copy)).toHaveLength(1);
  });
});

describe('rewriting fields outside the CRC', () => {
  it('sets baseOffset and partitionLeaderEpoch in place, CRC still valid', () => {
    const batch = batchOf(3);
    setBaseOffset(batch, 2 ** 40 + 5);
    setPartitionLeaderEpoch(batch, 9);
    const h = parseBatchHeader(batch, 0);
    expect(h.baseOffset).toBe(2 ** 40 + 5);
    expect(h.partitionLeaderEpoch).toBe(9);
  });
});

describe('iterateRecords and buildBatch', () => {
  it('round-trips keys, values, null values, headers and timestamps', () => {
    const batch = buildBatch({
      baseOffset: 100,
      records: [
        {
          key: 'a',
          value: 'x'.repeat(300),
          timestamp: 5000,
          headers: [
            { key: 'h1', value: 'hv' },
            { key: 'h2', value: null },
          ],
        },
        { key: null, value: null, timestamp: 4000 },
        { key: Buffer.from([0, 1, 2]), value: 'z', timestamp: 2 ** 42 },
      ],
    });
    const records = [...iterateRecords(batch)];
    expect(records.map((r) => r.offset)).toEqual([100, 101, 102]);
    expect(records.map((r) => r.timestampMs)).toEqual([5000, 4000, 2 ** 42]);
    expect(records[0]!.key!.toString()).toBe('a');
    expect(records[0]!.value!.toString()).toBe('x'.repeat(300));
    expect(records[0]!.headers.map((h) => [h.key, h.value?.toString() ?? null])).toEqual([
      ['h1', 'hv'],
      ['h2', null],
    ]);
    expect(records[1]!.key).toBeNull();
    expect(records[1]!.value).toBeNull();
    expect([...records[2]!.key!]).toEqual([0, 1, 2]);
  });

  it('uses maxTimestamp for every record of a LogAppendTime batch', () => {
    const batch = buildBatch({
      timestampType: 'LogAppendTime',
      records: [
        { value: 'a', timestamp: 1 },
        { value: 'b', timestamp: 9 },
      ],
    });
    expect([...iterateRecords(batch)].map((r) => r.timestampMs)).toEqual([9, 9]);
  });

  it('decodes gzip batches only when asked', () => {
    const batch = buildBatch({
      compression: 1,
      records: [
        { value: 'a', timestamp: 1 },
        { value: 'b', timestamp: 2 },
      ],
    });
    expect(parseBatchHeader(batch, 0).compression).toBe(1);
    expect([...iterateRecords(batch, { allowGzip: true })].map((r) => r.value!.toString())).toEqual(['a', 'b']);
    expect(() => [...iterateRecords(batch)]).toThrow(/compressed/);
  });

  it('rejects a record whose length overruns the batch, with a valid CRC', () => {
    const batch = Buffer.from(batchOf(2));
    batch[61] = 0x7e; // first record's zigzag length: 63 bytes, more than the record holds
    expect(codeOf(() => [...iterateRecords(fixCrc(batch))])).toBe('CORRUPT_MESSAGE');
  });

  it('wraps sequences after 2^31 - 1', () => {
    expect(incrementSequence(0x7fffffff, 1)).toBe(0);
    expect(incrementSequence(0x7ffffffe, 3)).toBe(1);
    expect(incrementSequence(5, 4)).toBe(9);
  });
});

describe('the record walker: recordSpans, recordAt and decodeBatch', () => {
  const batch = buildBatch({
    baseOffset: 10,
    records: [
      { key: 'a', value: 'one', timestamp: 500, headers: [{ key: 'h', value: 'x' }] },
      { key: null, value: null, timestamp: 700 },
      { key: 'c', value: 'three', timestamp: 600 },
    ],
  });

  it('locates each record so that copying its byte range copies it whole, and agrees with iterateRecords', () => {
    const h = parseBatchHeader(batch, 0);
    const body = batch.subarray(61);
    const spans = recordSpans(body, h);
    expect(spans.map((s) => [s.offsetDelta, s.timestampDelta, s.key?.toString() ?? null, s.isTombstone])).toEqual([
      [0, 0, 'a', false],
      [1, 200, null, true],
      [2, 100, 'c', false],
    ]);
    expect(spans[0]!.start).toBe(0);
    expect(spans[2]!.end).toBe(body.length);
    expect(spans.map((s) => recordAt(body, s, h))).toEqual([...iterateRecords(batch)]);
  });

  it('decodes a compressed batch through the codecs it is given', async () => {
    const gzip = buildBatch({ compression: 1, records: [{ key: 'k', value: 'v', timestamp: 1 }] });
    const decoded = await decodeBatch(gzip);
    expect(decoded.header.compression).toBe(1);
    expect(recordAt(decoded.body, decoded.spans[0]!, decoded.header).value!.toString()).toBe('v');
    const failing: BatchCodecs = {
      compress: async (_c, b) => b,
      decompress: async () => {
        throw new Error('bad frame');
      },
    };
    await expect(decodeBatch(gzip, failing)).rejects.toMatchObject({ code: 'CORRUPT_MESSAGE' });
  });

  it('rejects a header list that does not fill its record, with a valid CRC', () => {
    const plain = Buffer.from(buildBatch({ records: [{ key: 'k', value: 'v', timestamp: 1 }] }));
    // The record ends with its header count (0); claiming one header runs past the record.
    plain[plain.length - 1] = 0x02;
    expect(codeOf(() => [...iterateRecords(fixCrc(plain))])).toBe('CORRUPT_MESSAGE');
  });

  it('stamps LogAppendTime in place with a valid CRC: every record then carries the broker time', () => {
    const copy = Buffer.from(batch);
    stampLogAppendTime(copy, 0, copy.length, 9_999);
    const h = parseBatchHeader(copy, 0);
    expect([h.timestampType, h.maxTimestamp, h.baseTimestamp]).toEqual(['LogAppendTime', 9_999, 500]);
    expect([...iterateRecords(copy)].map((r) => r.timestampMs)).toEqual([9_999, 9_999, 9_999]);
  });
});
