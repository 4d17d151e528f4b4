/**
 * Kafka RecordBatch v2 (magic 2): header parsing and validation, splitting a produce
 * request's records field into batches, in-place rewriting of the fields outside the CRC,
 * iteration over the records of uncompressed batches, and an (uncompressed or gzip)
 * encoder for tests and benchmarks. Written from the Kafka protocol documentation.
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
import {
  batchHeaderBytes,
  currentMagic,
  defaultMaxBatchBytes,
  maxAppendBytes,
  maxHeadersPerRecord,
  maxRecordsPerBatch,
  minBatchLength,
  minRecordBytes,
} from './limits.js';
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
export const timestampTypeBit = 0x08;
const transactionalBit = 0x10;
const controlBit = 0x20;
/** Codec ids 0-4 are none, gzip, snappy, lz4 and zstd; 5-7 do not exist. */
const maxCompressionCodec = 4;
const twoPow32 = 2 ** 32;

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

function writeInt64(buf: Buffer, pos: number, value: number): void {
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
    throw new StorageError(
      'INVALID_RECORD',
      `batch lastOffsetDelta ${h.lastOffsetDelta} is inconsistent with recordCount ${h.recordCount}`,
    );
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

/** Last offset of a parsed batch. */
export function lastOffsetOf(h: BatchHeader): number {
  return h.baseOffset + h.lastOffsetDelta;
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
// Records of uncompressed batches.

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
 * Iterates the records of the batch at the start of `batch`, with every length bounds-checked
 * and the record count checked against the header. Uncompressed batches only: a compressed
 * batch is a caller bug (decompression belongs to the CPU worker pool), except gzip which
 * tests may ask for explicitly with `allowGzip`.
 */
export function* iterateRecords(batch: Uint8Array, opts: { allowGzip?: boolean } = {}): Generator<BatchRecord> {
  const buf = asBuffer(batch);
  const h = parseBatchHeader(buf, 0, { maxBatchBytes: Number.MAX_SAFE_INTEGER, allowSparse: true });
  let body = buf.subarray(batchHeaderBytes, h.sizeBytes);
  if (h.compression === 1 && opts.allowGzip) body = gunzipSync(body);
  else if (h.compression !== 0) throw new Error(`iterateRecords: compressed batch (codec ${h.compression}) not supported`);
  const reader = new ByteReader(body, 0, body.length);
  const count = Math.min(h.recordCount, maxRecordsPerBatch);
  for (let i = 0; i < count; i++) yield readRecord(reader, h);
  if (reader.pos !== reader.end) throw corrupt(`${reader.end - reader.pos} bytes left after the last record`);
}

function readRecord(reader: ByteReader, h: BatchHeader): BatchRecord {
  const length = reader.varint('record length');
  reader.need(length, 'record body');
  const end = reader.pos + length;
  const attributes = reader.int8('record attributes');
  const timestampDelta = reader.varint('timestampDelta');
  const offsetDelta = reader.varint('offsetDelta');
  if (offsetDelta < 0 || offsetDelta > h.lastOffsetDelta) throw corrupt(`record offsetDelta ${offsetDelta} outside the batch`);
  const key = readNullableBytes(reader, 'key');
  const value = readNullableBytes(reader, 'value');
  const headers = readHeaders(reader);
  if (reader.pos !== end) throw corrupt(`record length ${length} does not match its content`);
  const timestampMs = h.timestampType === 'LogAppendTime' ? h.maxTimestamp : h.baseTimestamp + timestampDelta;
  return { offset: h.baseOffset + offsetDelta, timestampMs, attributes, key, value, headers };
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
  const baseTimestamp = timestamps[0];
  const maxTimestamp = timestamps.reduce((max, t) => (t > max ? t : max), baseTimestamp);
  let body: Buffer = Buffer.concat(o.records.map((r, i) => encodeRecord(r, i, timestamps[i] - baseTimestamp)));
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
  buf.writeUInt32BE(crc32c(buf.subarray(at.attributes)), at.crc);
  return buf;
}
