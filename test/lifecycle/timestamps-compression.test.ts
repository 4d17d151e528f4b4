/**
 * message.timestamp.type=LogAppendTime stamps the broker's time with a valid CRC;
 * max.message.bytes is enforced per batch; recompressBatch round-trips through every codec;
 * and the cluster resolves a topic's effective configs as DescribeConfigs does.
 */
import { describe, expect, it } from 'vitest';
import { MetadataImage } from '../../src/cluster/metadata-image.js';
import { effectiveTopicConfig, parseTopicConfig } from '../../src/cluster/topic-configs.js';
import { needsRecompression, recompressBatch, recompressRecords } from '../../src/storage/batch-rewrite.js';
import { StorageError } from '../../src/storage/storage-error.js';
import { type CompressionCodec, buildBatch, decodeBatch, iterateRecords, parseBatchHeader, splitBatches } from '../../src/storage/record-batch.js';
import { defaultTopicConfig } from '../../src/storage/topic-config.js';
import { useTempLogs, withoutRewrittenFields } from '../storage/helpers.js';

const temp = useTempLogs();

describe('LogAppendTime', () => {
  it('sets the timestamp type bit and maxTimestamp to now, recomputes the CRC, and returns logAppendTimeMs', () => {
    const now = 1_700_000_000_000;
    const log = temp.open({ clock: () => now, config: { messageTimestampType: 'LogAppendTime' } });
    const batch = buildBatch({
      records: [
        { key: 'a', value: '1', timestamp: 5 },
        { key: 'b', value: '2', timestamp: 9 },
      ],
      timestampMs: 5,
    });
    expect(log.append(batch)).toMatchObject({ baseOffset: 0, logAppendTimeMs: now });
    const [stored] = log.read(0, 1 << 20).batches;
    const h = parseBatchHeader(stored!, 0);
    expect(h).toMatchObject({ timestampType: 'LogAppendTime', maxTimestamp: now, baseTimestamp: 5 });
    expect([...iterateRecords(stored!)].map((r) => r.timestampMs)).toEqual([now, now]);
    expect(log.maxTimestampOffset()).toEqual({ offset: 0, timestampMs: now });
  });

  it('stamps compressed batches too and leaves CreateTime topics alone', async () => {
    const log = temp.open({ clock: () => 42_000, config: { messageTimestampType: 'LogAppendTime' } });
    log.append(await recompressBatch(buildBatch({ records: [{ value: 'x' }], timestampMs: 1 }), 2));
    expect(parseBatchHeader(log.read(0, 1 << 20).batches[0]!, 0)).toMatchObject({ timestampType: 'LogAppendTime', maxTimestamp: 42_000 });
    const plain = temp.open({ clock: () => 42_000 });
    expect(plain.append(buildBatch({ records: [{ value: 'x' }], timestampMs: 1 })).logAppendTimeMs).toBe(-1);
  });
});

describe('max.message.bytes', () => {
  it('rejects a batch larger than max.message.bytes with MESSAGE_TOO_LARGE, and follows setConfig', () => {
    const batch = buildBatch({ records: [{ value: 'x'.repeat(200) }] });
    const log = temp.open({ config: { maxMessageBytes: batch.length - 1 } });
    expect(() => log.append(Buffer.from(batch))).toThrow(expect.objectContaining({ code: 'MESSAGE_TOO_LARGE' }) as StorageError);
    log.setConfig({ ...log.config, maxMessageBytes: batch.length });
    expect(log.append(Buffer.from(batch)).baseOffset).toBe(0);
  });
});

describe('recompression', () => {
  const codecs: CompressionCodec[] = [0, 1, 2, 3, 4];
  const original = buildBatch({
    records: Array.from({ length: 50 }, (_, i) => ({ key: `key-${i}`, value: `value ${i} `.repeat(20), headers: [{ key: 'h', value: 'v' }] })),
    producerId: 3,
    producerEpoch: 1,
    baseSequence: 10,
    timestampMs: 1_000,
  });
  for (const from of codecs) {
    for (const to of codecs) {
      it(`codec ${from} -> ${to} keeps every record and header field`, async () => {
        const source = await recompressBatch(original, from);
        const out = await recompressBatch(source, to);
        const h = parseBatchHeader(out, 0);
        expect(h.compression).toBe(to);
        const { compression: _a, crc: _b, attributes: _c, batchLength: _d, sizeBytes: _e, ...rest } = h;
        const { compression: _f, crc: _g, attributes: _h, batchLength: _i, sizeBytes: _j, ...want } = parseBatchHeader(original, 0);
        expect(rest).toEqual(want);
        const decoded = await decodeBatch(out);
        const plain = await decodeBatch(original);
        expect(decoded.body.equals(plain.body)).toBe(true);
        if (to === 0) expect(withoutRewrittenFields(out)).toEqual(withoutRewrittenFields(original));
      });
    }
  }

  it('recompressRecords returns the input itself when every batch is already in the codec', async () => {
    const two = Buffer.concat([original, original]);
    expect(await recompressRecords(two, 0)).toBe(two);
    const gz = await recompressRecords(two, 1);
    expect(splitBatches(gz).map((h) => h.compression)).toEqual([1, 1]);
    expect(needsRecompression(splitBatches(gz), 1)).toBe(false);
  });
});

describe('effective topic configs', () => {
  it('resolves topic override, then broker dynamic, then cluster default, then built-in', () => {
    const image = new MetadataImage();
    image.apply({ type: 'Topic', name: 't', topicId: 'id' } as never);
    image.apply({ type: 'Config', resourceType: 'topic', resourceName: 't', name: 'retention.ms', value: '1000' } as never);
    image.apply({ type: 'Config', resourceType: 'broker', resourceName: '', name: 'log.retention.bytes', value: '5000' } as never);
    image.apply({ type: 'Config', resourceType: 'broker', resourceName: '', name: 'log.cleanup.policy', value: 'delete' } as never);
    image.apply({ type: 'Config', resourceType: 'broker', resourceName: '1', name: 'log.cleanup.policy', value: 'delete,compact' } as never);
    const map = effectiveTopicConfig(image, 't', 1);
    expect(map).toMatchObject({ 'retention.ms': '1000', 'retention.bytes': '5000', 'cleanup.policy': 'delete,compact', 'segment.bytes': '1073741824' });
    expect(effectiveTopicConfig(image, 't')['cleanup.policy']).toBe('delete');
    const cfg = parseTopicConfig(map);
    expect(cfg).toMatchObject({ retentionMs: 1000, retentionBytes: 5000, cleanupPolicy: 'compact,delete', maxCompactionLagMs: Infinity });
    expect(parseTopicConfig(effectiveTopicConfig(new MetadataImage(), 'none'))).toEqual(defaultTopicConfig);
  });
});
