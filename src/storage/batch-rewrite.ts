/**
 * Pure rewrites of stored record batches: stamping LogAppendTime, recompressing to another
 * codec, and decoding/rebuilding a batch with a subset of its records (compaction). None of
 * these touch a database, so each can run on any thread, including a piscina worker when a
 * batch is large. The codecs are those of src/compression, passed in so a caller (or a test)
 * can substitute them.
 *
 * A rebuilt batch keeps the original header except batchLength, attributes (codec bits),
 * maxTimestamp, recordCount and the CRC: in particular baseOffset, lastOffsetDelta,
 * baseTimestamp, producer id/epoch and baseSequence stay, so every surviving record keeps
 * its offset and the batch's last offset (and hence its producer's last sequence) is the
 * same as before, as Kafka's MemoryRecords.filterTo does with overrideLastOffset.
 */
import { crc32c } from '@node-rs/crc32';
import { compress, decompress } from '../compression/index.js';
import { batchHeaderBytes } from './limits.js';
import {
  type BatchHeader,
  type CompressionCodec,
  asBuffer,
  batchFieldPositions as at,
  compressionMask,
  parseBatchHeader,
  splitBatches,
  timestampTypeBit,
} from './record-batch.js';
import { StorageError } from './storage-error.js';
import { ByteReader } from './varint.js';

/** The codec functions batch rewrites use; src/compression's by default. */
export interface BatchCodecs {
  compress(codec: number, buf: Buffer): Promise<Buffer>;
  decompress(codec: number, buf: Buffer): Promise<Buffer>;
}

export const defaultBatchCodecs: BatchCodecs = { compress, decompress };

/** Where one record sits in a batch's decompressed body, and what compaction needs to know of it. */
export interface RecordSpan {
  /** Byte range [start, end) in the body, length prefix included: copying it copies the record as is. */
  start: number;
  end: number;
  offsetDelta: number;
  timestampDelta: number;
  /** A view into the body; null for a record without a key. */
  key: Buffer | null;
  /** A record with a null value: a tombstone, in a compacted topic. */
  isTombstone: boolean;
}

export interface DecodedBatch {
  header: BatchHeader;
  /** The batch as stored (header and compressed records). */
  batch: Buffer;
  /** The records section, decompressed. */
  body: Buffer;
  spans: RecordSpan[];
}

const anyBatchSize = { maxBatchBytes: Number.MAX_SAFE_INTEGER, allowSparse: true };

/**
 * Sets the LogAppendTime attribute bit and maxTimestamp of the batch at `position` in place
 * and recomputes its CRC, as Kafka's LogValidator does for message.timestamp.type=LogAppendTime:
 * the records keep their timestamp deltas, and readers take every record's timestamp from
 * maxTimestamp when the bit is set.
 */
export function stampLogAppendTime(input: Uint8Array, position: number, sizeBytes: number, nowMs: number): void {
  const buf = asBuffer(input);
  const attributes = buf.readInt16BE(position + at.attributes);
  buf.writeInt16BE(attributes | timestampTypeBit, position + at.attributes);
  writeInt64(buf, position + at.maxTimestamp, nowMs);
  writeCrc(buf, position, sizeBytes);
}

/** Decompresses a stored batch's records and locates each record in the result. */
export async function decodeBatch(batch: Buffer, codecs: BatchCodecs = defaultBatchCodecs): Promise<DecodedBatch> {
  const header = parseBatchHeader(batch, 0, anyBatchSize);
  const payload = batch.subarray(batchHeaderBytes, header.sizeBytes);
  const body = header.compression === 0 ? payload : await decompressOrCorrupt(codecs, header.compression, payload);
  return { header, batch, body, spans: recordSpans(body, header) };
}

async function decompressOrCorrupt(codecs: BatchCodecs, codec: number, payload: Buffer): Promise<Buffer> {
  try {
    return await codecs.decompress(codec, payload);
  } catch (err) {
    throw new StorageError('CORRUPT_MESSAGE', `cannot decompress batch (codec ${codec}): ${(err as Error).message}`, { cause: err });
  }
}

/** Bounds-checked walk over the records of a decompressed body; every byte must belong to a record. */
export function recordSpans(body: Buffer, h: BatchHeader): RecordSpan[] {
  const reader = new ByteReader(body, 0, body.length);
  const spans: RecordSpan[] = [];
  for (let i = 0; i < h.recordCount; i++) {
    const start = reader.pos;
    const length = reader.varint('record length');
    reader.need(length, 'record body');
    const end = reader.pos + length;
    reader.int8('record attributes');
    const timestampDelta = reader.varint('timestampDelta');
    const offsetDelta = reader.varint('offsetDelta');
    if (offsetDelta < 0 || offsetDelta > h.lastOffsetDelta) throw corrupt(`record offsetDelta ${offsetDelta} outside the batch`);
    const keyLength = reader.varint('key length');
    const key = keyLength === -1 ? null : reader.bytes(keyLength, 'key');
    const valueLength = reader.varint('value length');
    if (keyLength < -1 || valueLength < -1) throw corrupt(`record key length ${keyLength}, value length ${valueLength}`);
    // Headers are not needed to compact: the record is copied whole by its byte range.
    reader.pos = end;
    spans.push({ start, end, offsetDelta, timestampDelta, key, isTombstone: valueLength === -1 });
  }
  if (reader.pos !== body.length) throw corrupt(`${body.length - reader.pos} bytes left after the last record`);
  return spans;
}

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
  const header = parseBatchHeader(batch, 0, anyBatchSize);
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
  writeCrc(out, 0, out.length);
  // Checked just after writing: a rebuilt batch must parse exactly as the one it replaces.
  const check = parseBatchHeader(out, 0, anyBatchSize);
  if (check.baseOffset !== h.baseOffset || check.lastOffsetDelta !== h.lastOffsetDelta) {
    throw new Error('storage invariant violated: a rebuilt batch changed its offsets');
  }
  return out;
}

function writeCrc(buf: Buffer, position: number, sizeBytes: number): void {
  buf.writeUInt32BE(crc32c(buf.subarray(position + at.attributes, position + sizeBytes)), position + at.crc);
}

function writeInt64(buf: Buffer, pos: number, value: number): void {
  const hi = Math.floor(value / 2 ** 32);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * 2 ** 32, pos + 4);
}

function corrupt(message: string): StorageError {
  return new StorageError('CORRUPT_MESSAGE', message);
}
