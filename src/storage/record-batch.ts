/**
 * Kafka RecordBatch v2 (magic 2) on the broker side, the one module that reads and writes
 * batches for storage (append validation, LogAppendTime stamping), compaction and recompression
 * (batch-rewrite.ts, log-cleaner.ts), the group coordinator's replay, and the HTTP record view:
 * header parsing and validation, splitting a produce request's records field into batches,
 * in-place rewriting of header fields, one record walker (readSpan) that everything reading
 * records goes through, decompression of a batch's records, and an (uncompressed or gzip)
 * encoder for tests and benchmarks. Written from the Kafka protocol documentation.
 *
 * It lives in src/storage rather than src/protocol because its errors are the append path's
 * (StorageError with Kafka's codes) and its bounds are storage's (limits.ts); the gateway, the
 * actors and src/http import it from here, as they import the rest of the storage layer.
 *
 * Brook's client keeps its own encoder and decoder (src/client/record-batch.ts), because they
 * are faster: `node bench/record-batch.mjs` (16 KiB batches, 2026-12-06) measured its
 * BatchBuilder, which writes records into one buffer, at 2.29M / 1.12M records/s for 100 B /
 * 1 KiB records against 1.82M / 0.62M for buildBatch here (a buffer per record, then a
 * concat), and its cursor-based record loop at 1.93M / 1.79M records/s decoding against
 * 1.07M / 0.67M for iterateRecords (a ByteReader, a generator, and a record object that
 * recordAt builds from a span). This module favours checks and plain code over speed because
 * only tests, benchmarks and the broker's cold paths encode or decode records with it: the
 * broker's hot paths, append and fetch, read headers only. The client also stays free of the
 * broker's storage layer and its errors.
 *
 * Layout (big-endian): baseOffset int64 @0, batchLength int32 @8, partitionLeaderEpoch
 * int32 @12, magic int8 @16, crc uint32 @17, attributes int16 @21, lastOffsetDelta int32 @23,
 * baseTimestamp int64 @27, maxTimestamp int64 @35, producerId int64 @43, producerEpoch
 * int16 @51, baseSequence int32 @53, recordCount int32 @57, records @61. The CRC-32C covers
 * bytes 21 to the end of the batch, so baseOffset and partitionLeaderEpoch can be
 * rewritten by the broker without recomputing it.
 *
 * Pure functions: safe to call from any thread.
 */
import { crc32c } from '@node-rs/crc32';
import { gunzipSync, gzipSync } from 'node:zlib';
import { compress, decompress } from '../compression/index.js';
import { batchHeaderBytes, currentMagic, defaultMaxBatchBytes, maxAppendBytes, maxHeadersPerRecord, maxRecordsPerBatch, minBatchLength, minRecordBytes } from './limits.js';
import { StorageError } from './storage-error.js';
import { ByteReader, varintSize, writeVarint } from './varint.js';

/** Byte positions of the header fields within a batch. */
export const batchFieldPositions = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
} as const;
const at = batchFieldPositions;

export const compressionMask = 0x07;
const timestampTypeBit = 0x08;
const transactionalBit = 0x10;
const controlBit = 0x20;
/** Codec ids 0-4 are none, gzip, snappy, lz4 and zstd; 5-7 do not exist. */
const maxCompressionCodec = 4;
const twoPow32 = 2 ** 32;
/** For stored batches: any size (max.message.bytes was applied when they were appended), and compaction may have made them sparse. */
export const storedBatchOptions: ParseOptions = { maxBatchBytes: Number.MAX_SAFE_INTEGER, allowSparse: true };

export type CompressionCodec = 0 | 1 | 2 | 3 | 4;
export type TimestampType = 'CreateTime' | 'LogAppendTime';

/** The decoded fixed header of one batch found at `position` in some buffer. */
export interface BatchHeader {
  position: number;
  /** batchLength + 12: the batch's whole size in bytes. */
  sizeBytes: number;
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: CompressionCodec;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface ParseOptions {
  /** Largest batch accepted, header included (the topic's max.message.bytes). */
  maxBatchBytes?: number;
  /**
   * Accepts batches that compaction has rewritten: they keep their baseOffset and
   * lastOffsetDelta (so offsets and sequences stay) but hold fewer records, so recordCount
   * may be below lastOffsetDelta + 1. Producer input is never sparse.
   */
  allowSparse?: boolean;
}

/** A view of `u8` as a Buffer over the same memory (no copy). */
export function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

function corrupt(message: string): StorageError {
  return new StorageError('CORRUPT_MESSAGE', message);
}

function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * twoPow32 + buf.readUInt32BE(pos + 4);
}

function readSafeInt64(buf: Buffer, pos: number, what: string): number {
  const value = readInt64(buf, pos);
  if (!Number.isSafeInteger(value)) {
    throw new StorageError('INVALID_RECORD', `${what} ${value} is outside the supported range of +-2^53`);
  }
  return value;
}

/** Writes an int64 that is a safe JS integer, big-endian. */
export function writeInt64(buf: Buffer, pos: number, value: number): void {
  const hi = Math.floor(value / twoPow32);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * twoPow32, pos + 4);
}

/**
 * Parses and validates the header of the batch at `offset`: lengths, magic, CRC, size bound,
 * attributes and the count/offset-range consistency a producer's batch must have.
 */
export function parseBatchHeader(input: Uint8Array, offset: number, opts: ParseOptions = {}): BatchHeader {
  const buf = asBuffer(input);
  const available = buf.length - offset;
  if (available < at.magic + 1) throw corrupt(`batch truncated: ${available} bytes, fewer than a header`);
  const magic = buf.readInt8(offset + at.magic);
  if (magic !== currentMagic) {
    throw new StorageError('UNSUPPORTED_FOR_MESSAGE_FORMAT', `batch magic ${magic} is not supported; only magic 2 is`);
  }
  if (available < batchHeaderBytes) throw corrupt(`batch truncated: ${available} bytes, fewer than a header`);
  const batchLength = buf.readInt32BE(offset + at.batchLength);
  if (batchLength < minBatchLength) throw corrupt(`batchLength ${batchLength} is below the minimum ${minBatchLength}`);
  const sizeBytes = batchLength + 12;
  if (sizeBytes > available) throw corrupt(`batch truncated: batchLength says ${sizeBytes} bytes, ${available} present`);
  const maxBatchBytes = opts.maxBatchBytes ?? defaultMaxBatchBytes;
  if (sizeBytes > maxBatchBytes) {
    throw new StorageError('MESSAGE_TOO_LARGE', `batch of ${sizeBytes} bytes exceeds max.message.bytes ${maxBatchBytes}`);
  }
  const crc = buf.readUInt32BE(offset + at.crc);
  const actualCrc = crc32c(buf.subarray(offset + at.attributes, offset + sizeBytes));
  if (actualCrc !== crc) throw corrupt(`batch CRC mismatch: stored ${crc}, computed ${actualCrc}`);
  const header = decodeFields(buf, offset, sizeBytes, batchLength, crc);
  validateFields(header, opts.allowSparse ?? false);
  return header;
}

function decodeFields(buf: Buffer, offset: number, sizeBytes: number, batchLength: number, crc: number): BatchHeader {
  const attributes = buf.readInt16BE(offset + at.attributes);
  return {
    position: offset,
    sizeBytes,
    baseOffset: readInt64(buf, offset + at.baseOffset),
    batchLength,
    partitionLeaderEpoch: buf.readInt32BE(offset + at.partitionLeaderEpoch),
    magic: currentMagic,
    crc,
    attributes,
    compression: (attributes & compressionMask) as CompressionCodec,
    timestampType: attributes & timestampTypeBit ? 'LogAppendTime' : 'CreateTime',
    isTransactional: (attributes & transactionalBit) !== 0,
    isControl: (attributes & controlBit) !== 0,
    lastOffsetDelta: buf.readInt32BE(offset + at.lastOffsetDelta),
    baseTimestamp: readSafeInt64(buf, offset + at.baseTimestamp, 'baseTimestamp'),
    maxTimestamp: readSafeInt64(buf, offset + at.maxTimestamp, 'maxTimestamp'),
    producerId: readSafeInt64(buf, offset + at.producerId, 'producerId'),
    producerEpoch: buf.readInt16BE(offset + at.producerEpoch),
    baseSequence: buf.readInt32BE(offset + at.baseSequence),
    recordCount: buf.readInt32BE(offset + at.recordCount),
  };
}

function validateFields(h: BatchHeader, allowSparse: boolean): void {
  if (h.compression > maxCompressionCodec) throw corrupt(`unknown compression codec ${h.compression}`);
  if (h.recordCount < 1) throw new StorageError('INVALID_RECORD', `batch recordCount ${h.recordCount}: a batch must hold records`);
  const consistent = allowSparse ? h.recordCount <= h.lastOffsetDelta + 1 : h.lastOffsetDelta === h.recordCount - 1;
  if (!consistent) {
    throw new StorageError('INVALID_RECORD', `batch lastOffsetDelta ${h.lastOffsetDelta} is inconsistent with recordCount ${h.recordCount}`);
  }
  // A cheap bound that needs no decoding: every uncompressed record takes at least seven bytes.
  if (h.compression === 0 && h.recordCount * minRecordBytes > h.sizeBytes - batchHeaderBytes) {
    throw corrupt(`batch claims ${h.recordCount} records in ${h.sizeBytes - batchHeaderBytes} bytes`);
  }
  // Control batches (transaction markers) carry a producer but no sequence.
  if (h.producerId >= 0 && (h.producerEpoch < 0 || (h.baseSequence < 0 && !h.isControl))) {
    throw new StorageError('INVALID_RECORD', `producerId ${h.producerId} with epoch ${h.producerEpoch}, sequence ${h.baseSequence}`);
  }
  if (h.isTransactional && h.producerId < 0) throw new StorageError('INVALID_RECORD', 'transactional batch without a producerId');
}

/**
 * Splits a produce request's records field into validated batches. Every byte must belong
 * to a batch: trailing bytes are CORRUPT_MESSAGE. Throws on the first invalid batch.
 */
export function splitBatches(records: Uint8Array, opts: ParseOptions = {}): BatchHeader[] {
  const buf = asBuffer(records);
  if (buf.length > maxAppendBytes) {
    throw new StorageError('RECORD_LIST_TOO_LARGE', `records of ${buf.length} bytes exceed the bound ${maxAppendBytes}`);
  }
  if (buf.length === 0) throw corrupt('records field is empty');
  const headers: BatchHeader[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const header = parseBatchHeader(buf, pos, opts);
    headers.push(header);
    pos += header.sizeBytes;
  }
  return headers;
}

/** Rewrites baseOffset of the batch at `position` in place; outside the CRC. */
export function setBaseOffset(buf: Uint8Array, baseOffset: number, position = 0): void {
  writeInt64(asBuffer(buf), position + at.baseOffset, baseOffset);
}

/** Rewrites partitionLeaderEpoch of the batch at `position` in place; outside the CRC. */
export function setPartitionLeaderEpoch(buf: Uint8Array, leaderEpoch: number, position = 0): void {
  asBuffer(buf).writeInt32BE(leaderEpoch, position + at.partitionLeaderEpoch);
}

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
  writeBatchCrc(buf, position, sizeBytes);
}

/** Recomputes the CRC-32C of the batch of `sizeBytes` at `position`, after a change to the bytes it covers. */
export function writeBatchCrc(buf: Buffer, position: number, sizeBytes: number): void {
  buf.writeUInt32BE(crc32c(buf.subarray(position + at.attributes, position + sizeBytes)), position + at.crc);
}

/** Sequence number of the batch's last record, wrapping at 2^31 - 1 as Kafka does. */
export function lastSequenceOf(h: BatchHeader): number {
  return incrementSequence(h.baseSequence, h.lastOffsetDelta);
}

/** Kafka's DefaultRecordBatch.incrementSequence: int32 sequences wrap to 0 after 2^31 - 1. */
export function incrementSequence(sequence: number, increment: number): number {
  const maxInt32 = 0x7fffffff;
  if (sequence > maxInt32 - increment) return increment - (maxInt32 - sequence) - 1;
  return sequence + increment;
}

// ---------------------------------------------------------------------------------------
// Records. One walker (readSpan) locates every record of a batch body; everything that reads
// records goes through it: iterateRecords (coordinator replay, ListOffsets by timestamp, tests),
// decodeBatch (compaction, the compacted-topic key check) and the HTTP record view.

/** Where one record sits in a batch's (decompressed) body, and what can be read without copying. */
export interface RecordSpan {
  /** Byte range [start, end) in the body, length prefix included: copying it copies the record as is. */
  start: number;
  end: number;
  attributes: number;
  offsetDelta: number;
  timestampDelta: number;
  /** A view into the body; null for a record without a key. */
  key: Buffer | null;
  /** Where the value's bytes start in the body (after its length), and its length; -1 for a null value. */
  valueStart: number;
  valueLength: number;
  /** A record with a null value: a tombstone, in a compacted topic. */
  isTombstone: boolean;
}

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** One decoded record; key, value and header values are views into the batch (no copies). */
export interface BatchRecord {
  offset: number;
  timestampMs: number;
  attributes: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/**
 * Reads the record at reader.pos up to its value length and leaves the reader at the record's
 * end. Headers are not read here: compaction copies a record whole by its byte range and never
 * needs them, so only recordAt, which returns them, decodes and checks them.
 */
function readSpan(reader: ByteReader, h: BatchHeader): RecordSpan {
  const start = reader.pos;
  const length = reader.varint('record length');
  reader.need(length, 'record body');
  const end = reader.pos + length;
  const attributes = reader.int8('record attributes');
  const timestampDelta = reader.varint('timestampDelta');
  const offsetDelta = reader.varint('offsetDelta');
  if (offsetDelta < 0 || offsetDelta > h.lastOffsetDelta) throw corrupt(`record offsetDelta ${offsetDelta} outside the batch`);
  const keyLength = reader.varint('key length');
  if (keyLength < -1) throw corrupt(`record key length ${keyLength}`);
  const key = keyLength === -1 ? null : reader.bytes(keyLength, 'key');
  const valueLength = reader.varint('value length');
  if (valueLength < -1) throw corrupt(`record value length ${valueLength}`);
  const valueStart = reader.pos;
  reader.pos = end;
  return { start, end, attributes, offsetDelta, timestampDelta, key, valueStart, valueLength, isTombstone: valueLength === -1 };
}

/** Locates every record of a batch body; every byte must belong to one of recordCount records. */
export function recordSpans(body: Buffer, h: BatchHeader): RecordSpan[] {
  const reader = new ByteReader(body, 0, body.length);
  const spans: RecordSpan[] = [];
  for (let i = 0; i < h.recordCount; i++) spans.push(readSpan(reader, h));
  if (reader.pos !== body.length) throw corrupt(`${body.length - reader.pos} bytes left after the last record`);
  return spans;
}

/**
 * Decodes the rest of a located record: its value and headers, each bounds-checked against the
 * record's own length, which they must fill exactly.
 */
export function recordAt(body: Buffer, span: RecordSpan, h: BatchHeader): BatchRecord {
  const reader = new ByteReader(body, span.valueStart, span.end);
  const value = span.valueLength === -1 ? null : reader.bytes(span.valueLength, 'value');
  const headers = readHeaders(reader);
  if (reader.pos !== span.end) throw corrupt(`record length ${span.end - span.start} does not match its content`);
  const timestampMs = h.timestampType === 'LogAppendTime' ? h.maxTimestamp : h.baseTimestamp + span.timestampDelta;
  return { offset: h.baseOffset + span.offsetDelta, timestampMs, attributes: span.attributes, key: span.key, value, headers };
}

/**
 * Iterates the records of the batch at the start of `batch`, with every length bounds-checked
 * and the record count checked against the header. Uncompressed batches only (the codecs are
 * asynchronous; use decodeBatch), except gzip, which tests may ask for with `allowGzip`.
 */
export function* iterateRecords(batch: Uint8Array, opts: { allowGzip?: boolean } = {}): Generator<BatchRecord> {
  const buf = asBuffer(batch);
  const h = parseBatchHeader(buf, 0, storedBatchOptions);
  let body = buf.subarray(batchHeaderBytes, h.sizeBytes);
  if (h.compression === 1 && opts.allowGzip) body = gunzipSync(body);
  else if (h.compression !== 0) throw new Error(`iterateRecords: compressed batch (codec ${h.compression}) not supported`);
  const reader = new ByteReader(body, 0, body.length);
  const count = Math.min(h.recordCount, maxRecordsPerBatch);
  for (let i = 0; i < count; i++) yield recordAt(body, readSpan(reader, h), h);
  if (reader.pos !== reader.end) throw corrupt(`${reader.end - reader.pos} bytes left after the last record`);
}

function readNullableBytes(reader: ByteReader, what: string): Buffer | null {
  const length = reader.varint(`${what} length`);
  if (length === -1) return null;
  if (length < -1) throw corrupt(`${what} length ${length}`);
  return reader.bytes(length, what);
}

function readHeaders(reader: ByteReader): RecordHeader[] {
  const count = reader.varint('header count');
  if (count < 0 || count > maxHeadersPerRecord) throw corrupt(`header count ${count}`);
  const headers: RecordHeader[] = [];
  for (let i = 0; i < count; i++) {
    const keyLength = reader.varint('header key length');
    if (keyLength < 0) throw corrupt(`header key length ${keyLength}`);
    const key = reader.bytes(keyLength, 'header key').toString('utf8');
    headers.push({ key, value: readNullableBytes(reader, 'header value') });
  }
  return headers;
}

// ---------------------------------------------------------------------------------------
// Compressed batches.

/** The codec functions that decode and rewrite batches use; src/compression's by default. */
export interface BatchCodecs {
  compress(codec: number, buf: Buffer): Promise<Buffer>;
  decompress(codec: number, buf: Buffer): Promise<Buffer>;
}

export const defaultBatchCodecs: BatchCodecs = { compress, decompress };

export interface DecodedBatch {
  header: BatchHeader;
  /** The batch as stored (header and compressed records). */
  batch: Buffer;
  /** The records section, decompressed. */
  body: Buffer;
  spans: RecordSpan[];
}

/** The records section of the batch `h` found in `buf`, decompressed; a codec's failure is CORRUPT_MESSAGE. */
export async function batchBody(buf: Buffer, h: BatchHeader, codecs: BatchCodecs = defaultBatchCodecs): Promise<Buffer> {
  const payload = buf.subarray(h.position + batchHeaderBytes, h.position + h.sizeBytes);
  if (h.compression === 0) return payload;
  try {
    return await codecs.decompress(h.compression, payload);
  } catch (err) {
    throw new StorageError('CORRUPT_MESSAGE', `cannot decompress batch (codec ${h.compression}): ${(err as Error).message}`, { cause: err });
  }
}

/** Decompresses a stored batch's records and locates each record in the result. */
export async function decodeBatch(batch: Buffer, codecs: BatchCodecs = defaultBatchCodecs): Promise<DecodedBatch> {
  const header = parseBatchHeader(batch, 0, storedBatchOptions);
  const body = await batchBody(batch, header, codecs);
  return { header, batch, body, spans: recordSpans(body, header) };
}

// ---------------------------------------------------------------------------------------
// Encoder, for tests and benchmarks.

type BytesLike = Uint8Array | string;

export interface BuildRecordInput {
  key?: BytesLike | null;
  value?: BytesLike | null;
  headers?: { key: string; value?: BytesLike | null }[];
  /** Defaults to the batch's `timestampMs`. */
  timestamp?: number;
}

export interface BuildBatchOptions {
  baseOffset?: number;
  records: BuildRecordInput[];
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
  isTransactional?: boolean;
  isControl?: boolean;
  timestampType?: TimestampType;
  /** 0 (none) or 1 (gzip). */
  compression?: 0 | 1;
  /** Default timestamp of records without one; defaults to Date.now(). */
  timestampMs?: number;
}

function toBytes(value: BytesLike | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : asBuffer(value);
}

function nullableSize(bytes: Buffer | null): number {
  return bytes === null ? varintSize(-1) : varintSize(bytes.length) + bytes.length;
}

function writeNullable(buf: Buffer, pos: number, bytes: Buffer | null): number {
  if (bytes === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, bytes.length);
  return pos + bytes.copy(buf, pos);
}

function encodeRecord(r: BuildRecordInput, offsetDelta: number, timestampDelta: number): Buffer {
  const key = toBytes(r.key);
  const value = toBytes(r.value);
  const headers = (r.headers ?? []).map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: toBytes(h.value) }));
  let bodySize = 1 + varintSize(timestampDelta) + varintSize(offsetDelta) + nullableSize(key) + nullableSize(value);
  bodySize += varintSize(headers.length);
  for (const h of headers) bodySize += nullableSize(h.key) + nullableSize(h.value);
  const out = Buffer.allocUnsafe(varintSize(bodySize) + bodySize);
  let pos = writeVarint(out, 0, bodySize);
  out[pos++] = 0;
  pos = writeVarint(out, pos, timestampDelta);
  pos = writeVarint(out, pos, offsetDelta);
  pos = writeNullable(out, pos, key);
  pos = writeNullable(out, pos, value);
  pos = writeVarint(out, pos, headers.length);
  for (const h of headers) {
    pos = writeNullable(out, pos, h.key);
    pos = writeNullable(out, pos, h.value);
  }
  return out;
}

function attributesOf(o: BuildBatchOptions): number {
  let attributes = o.compression ?? 0;
  if (o.timestampType === 'LogAppendTime') attributes |= timestampTypeBit;
  if (o.isTransactional) attributes |= transactionalBit;
  if (o.isControl) attributes |= controlBit;
  return attributes;
}

/** Encodes a valid RecordBatch v2 (uncompressed, or gzip when asked) with a correct CRC. */
export function buildBatch(o: BuildBatchOptions): Buffer {
  if (o.records.length === 0) throw new Error('buildBatch: a batch needs at least one record');
  const defaultTimestamp = o.timestampMs ?? Date.now();
  const timestamps = o.records.map((r) => r.timestamp ?? defaultTimestamp);
  const baseTimestamp = timestamps[0]!; // at least one record, checked above
  const maxTimestamp = timestamps.reduce((max, t) => (t > max ? t : max), baseTimestamp);
  let body: Buffer = Buffer.concat(o.records.map((r, i) => encodeRecord(r, i, timestamps[i]! - baseTimestamp)));
  if (o.compression === 1) body = gzipSync(body);
  const buf = Buffer.alloc(batchHeaderBytes + body.length);
  writeInt64(buf, at.baseOffset, o.baseOffset ?? 0);
  buf.writeInt32BE(buf.length - 12, at.batchLength);
  buf.writeInt32BE(o.partitionLeaderEpoch ?? -1, at.partitionLeaderEpoch);
  buf.writeInt8(currentMagic, at.magic);
  buf.writeInt16BE(attributesOf(o), at.attributes);
  buf.writeInt32BE(o.records.length - 1, at.lastOffsetDelta);
  writeInt64(buf, at.baseTimestamp, baseTimestamp);
  writeInt64(buf, at.maxTimestamp, maxTimestamp);
  writeInt64(buf, at.producerId, o.producerId ?? -1);
  buf.writeInt16BE(o.producerEpoch ?? -1, at.producerEpoch);
  buf.writeInt32BE(o.baseSequence ?? -1, at.baseSequence);
  buf.writeInt32BE(o.records.length, at.recordCount);
  body.copy(buf, batchHeaderBytes);
  writeBatchCrc(buf, 0, buf.length);
  return buf;
}
