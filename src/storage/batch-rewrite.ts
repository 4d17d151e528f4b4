/**
 * Pure rewrites of stored record batches: recompressing to another codec, rebuilding a batch
 * with a subset of its records (compaction), and the compacted-topic key check on append. The
 * batches are read with record-batch.ts (decodeBatch, the one record walker); none of these
 * touch a database, so each can run on any thread. The codecs are those of src/compression,
 * passed in so a caller (or a test) can substitute them.
 *
 * A rebuilt batch keeps the original header except batchLength, attributes (codec bits),
 * maxTimestamp, recordCount and the CRC: in particular baseOffset, lastOffsetDelta,
 * baseTimestamp, producer id/epoch and baseSequence stay, so every surviving record keeps
 * its offset and the batch's last offset (and hence its producer's last sequence) is the
 * same as before, as Kafka's MemoryRecords.filterTo does with overrideLastOffset.
 */
import { batchHeaderBytes } from './limits.js';
import {
  type BatchCodecs,
  type BatchHeader,
  type CompressionCodec,
  type DecodedBatch,
  type RecordSpan,
  asBuffer,
  batchFieldPositions as at,
  compressionMask,
  decodeBatch,
  defaultBatchCodecs,
  parseBatchHeader,
  splitBatches,
  storedBatchOptions,
  writeBatchCrc,
  writeInt64,
} from './record-batch.js';
import { StorageError } from './storage-error.js';

/** Re-exported for src/compression's worker pool, which implements it. */
export type { BatchCodecs } from './record-batch.js';

/**
 * Builds the batch holding only `kept` (a non-empty subset of decoded.spans, in order),
 * compressed with the original codec. maxTimestamp is recomputed from the kept records for
 * CreateTime batches; a LogAppendTime batch keeps the time the broker stamped.
 */
export async function rebuildBatch(decoded: DecodedBatch, kept: readonly RecordSpan[], codecs: BatchCodecs = defaultBatchCodecs): Promise<Buffer> {
  if (kept.length === 0) throw new Error('rebuildBatch: an emptied batch is dropped, not rebuilt');
  const { header, body } = decoded;
  const records = Buffer.concat(kept.map((s) => body.subarray(s.start, s.end)));
  const payload = header.compression === 0 ? records : await codecs.compress(header.compression, records);
  let maxTimestamp = header.maxTimestamp;
  if (header.timestampType === 'CreateTime') {
    maxTimestamp = header.baseTimestamp + Math.max(...kept.map((s) => s.timestampDelta));
  }
  return assemble(decoded.batch, header, payload, { attributes: header.attributes, maxTimestamp, recordCount: kept.length });
}

/**
 * compression.type support: the same batch with its records compressed by `codec` (0 for
 * uncompressed) and a new CRC. A batch already in `codec`, and control batches (which Kafka
 * never compresses), are returned unchanged. Pure and self-contained, so it can run in a
 * worker pool; the result is a new buffer.
 */
export async function recompressBatch(bytes: Uint8Array, codec: CompressionCodec, codecs: BatchCodecs = defaultBatchCodecs): Promise<Buffer> {
  const batch = asBuffer(bytes);
  const header = parseBatchHeader(batch, 0, storedBatchOptions);
  const own = batch.subarray(0, header.sizeBytes);
  if (header.compression === codec || header.isControl) return own;
  const decoded = await decodeBatch(own, codecs);
  const payload = codec === 0 ? decoded.body : await codecs.compress(codec, decoded.body);
  const attributes = (header.attributes & ~compressionMask) | codec;
  return assemble(own, header, payload, { attributes, maxTimestamp: header.maxTimestamp, recordCount: header.recordCount });
}

/**
 * Recompresses every batch of a produce request's records field (validated as on append).
 * Returns the input itself when no batch needs it, so the common case copies nothing.
 */
export async function recompressRecords(records: Uint8Array, codec: CompressionCodec, codecs: BatchCodecs = defaultBatchCodecs): Promise<Buffer> {
  const buf = asBuffer(records);
  const headers = splitBatches(buf, { maxBatchBytes: Number.MAX_SAFE_INTEGER });
  if (!needsRecompression(headers, codec)) return buf;
  const out = await Promise.all(headers.map((h) => recompressBatch(buf.subarray(h.position, h.position + h.sizeBytes), codec, codecs)));
  return Buffer.concat(out);
}

/**
 * Rejects records without a key, as Kafka does for compacted topics (a keyless record could
 * never be compacted away). Decodes every data batch, decompressing if needed; control batches
 * carry no user records and are skipped.
 */
export async function requireKeys(records: Uint8Array, codecs: BatchCodecs = defaultBatchCodecs): Promise<void> {
  const buf = asBuffer(records);
  for (const h of splitBatches(buf, { maxBatchBytes: Number.MAX_SAFE_INTEGER })) {
    if (h.isControl) continue;
    const decoded = await decodeBatch(buf.subarray(h.position, h.position + h.sizeBytes), codecs);
    const keyless = decoded.spans.find((s) => s.key === null);
    if (keyless) {
      throw new StorageError('INVALID_RECORD', `compacted topic cannot accept a record without a key (offset delta ${keyless.offsetDelta} of its batch)`);
    }
  }
}

/** Whether any data batch is in a codec other than `codec`. */
export function needsRecompression(headers: readonly BatchHeader[], codec: CompressionCodec): boolean {
  return headers.some((h) => !h.isControl && h.compression !== codec);
}

interface HeaderChanges {
  attributes: number;
  maxTimestamp: number;
  recordCount: number;
}

function assemble(original: Buffer, h: BatchHeader, payload: Buffer, changes: HeaderChanges): Buffer {
  const out = Buffer.allocUnsafe(batchHeaderBytes + payload.length);
  original.copy(out, 0, 0, batchHeaderBytes);
  out.writeInt32BE(out.length - 12, at.batchLength);
  out.writeInt16BE(changes.attributes, at.attributes);
  writeInt64(out, at.maxTimestamp, changes.maxTimestamp);
  out.writeInt32BE(changes.recordCount, at.recordCount);
  payload.copy(out, batchHeaderBytes);
  writeBatchCrc(out, 0, out.length);
  // Checked just after writing: a rebuilt batch must parse exactly as the one it replaces.
  const check = parseBatchHeader(out, 0, storedBatchOptions);
  if (check.baseOffset !== h.baseOffset || check.lastOffsetDelta !== h.lastOffsetDelta) {
    throw new Error('storage invariant violated: a rebuilt batch changed its offsets');
  }
  return out;
}
