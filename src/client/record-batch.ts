/**
 * The client's record batch (magic 2) encoder and decoder, written for the hot paths.
 *
 * Encoding: a BatchBuilder writes each record straight into one preallocated buffer (key and
 * value strings are written in place, never copied through a temporary Buffer), so appending a
 * record allocates nothing. The 61-byte header is filled in by finish(), once the producer id,
 * epoch and sequence are known; the CRC-32C then covers attributes to the end, as the format
 * requires. A finished batch is kept as bytes so a retry resends exactly the same batch.
 *
 * Decoding: decodeBatches() walks a fetch response's records bytes, checks each batch's CRC,
 * decompresses, skips control batches and (read_committed) aborted transactions, checks every
 * record's fields, and returns FetchedRecords: each makes its key, value and headers (views into
 * the fetched bytes) only when they are read.
 *
 * The broker reads and builds batches with its own module (src/storage/record-batch.ts); this
 * one is kept apart because it is faster on the paths a client runs per record (measured by
 * `node bench/record-batch.mjs`, figures in that module's header), and a client must not
 * depend on the broker's storage layer.
 *
 * Pure functions and a per-batch builder; safe on any thread.
 */
import { crc32c } from '@node-rs/crc32';
import { compress, decompress } from '../compression/index.js';
import { KafkaClientError } from './errors.js';

export const BATCH_HEADER_BYTES = 61;
/** First buffer size of a batch; it grows by doubling up to the producer's batch limit. */
const INITIAL_BATCH_BYTES = 16 * 1024;
const TWO_POW_32 = 2 ** 32;
const EMPTY_HEADERS: readonly RecordHeader[] = Object.freeze([]);

export type Bytes = Buffer | string;

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** Headers as producers pass them: an object (kafkajs style) or a list (duplicate keys allowed). */
export type HeadersInput = Record<string, Bytes | null | undefined> | { key: string; value: Bytes | null | undefined }[];

function bytesLength(v: Bytes | null | undefined): number {
  if (v === null || v === undefined) return -1;
  return typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
}

function varintSize(n: number): number {
  // Zigzag of a 32-bit int, as an unsigned varint.
  const z = ((n << 1) ^ (n >> 31)) >>> 0;
  return z < 0x80 ? 1 : z < 0x4000 ? 2 : z < 0x200000 ? 3 : z < 0x10000000 ? 4 : 5;
}

function varlongSize(n: number): number {
  if (n >= -0x40000000 && n < 0x40000000) return varintSize(n);
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  let size = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  let z = ((n << 1) ^ (n >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

function writeVarlong(buf: Buffer, pos: number, n: number): number {
  if (n >= -0x40000000 && n < 0x40000000) return writeVarint(buf, pos, n);
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  while (z >= 128) {
    buf[pos++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[pos++] = z;
  return pos;
}

function writeInt64(buf: Buffer, pos: number, value: number): void {
  const hi = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * TWO_POW_32, pos + 4);
}

function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
}

function normalizeHeaders(h: HeadersInput | undefined): { key: string; value: Bytes | null | undefined }[] | null {
  if (h === undefined || h === null) return null;
  if (Array.isArray(h)) return h.length === 0 ? null : h;
  const keys = Object.keys(h);
  if (keys.length === 0) return null;
  return keys.map((key) => ({ key, value: h[key] }));
}

function writeBytes(buf: Buffer, pos: number, v: Bytes | null | undefined, length: number): number {
  pos = writeVarint(buf, pos, length);
  if (length <= 0) return pos;
  if (typeof v === 'string') return pos + buf.write(v, pos, length, 'utf8');
  return pos + (v as Buffer).copy(buf, pos);
}

export interface FinishOptions {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  compression: number;
  isTransactional?: boolean;
}

/**
 * Accumulates records of one partition into one batch. Not thread-safe; owned by the producer's
 * accumulator. `sizeBytes` is the batch's uncompressed size so far.
 */
export class BatchBuilder {
  private buf: Buffer;
  private pos = BATCH_HEADER_BYTES;
  count = 0;
  private baseTimestamp = 0;
  private maxTimestamp = 0;
  readonly createdAtMs = Date.now();

  /**
   * The buffer starts at INITIAL_BATCH_BYTES (or the batch limit, if smaller) and doubles up to
   * `batchBytesMax`, so a producer writing to many partitions holds memory in proportion to the
   * records it has, not to the batch limit times the partition count. `expectedBytes` (the size
   * the partition's previous batch reached) starts it larger: under load every batch would
   * otherwise copy itself through each doubling, as many bytes again as it holds.
   */
  constructor(
    readonly batchBytesMax: number,
    expectedBytes = 0,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(batchBytesMax, Math.max(INITIAL_BATCH_BYTES, expectedBytes)));
  }

  get sizeBytes(): number {
    return this.pos;
  }

  /** Size a record takes in a batch (with its length prefix), for buffer accounting before append. */
  static recordSize(key: Bytes | null | undefined, value: Bytes | null | undefined, headers: HeadersInput | undefined, offsetDelta: number, timestampDelta: number): number {
    const kl = bytesLength(key);
    const vl = bytesLength(value);
    let body = 1 + varlongSize(timestampDelta) + varintSize(offsetDelta) + varintSize(kl) + Math.max(kl, 0) + varintSize(vl) + Math.max(vl, 0);
    const hs = normalizeHeaders(headers);
    body += varintSize(hs?.length ?? 0);
    if (hs !== null) {
      for (const h of hs) {
        const hk = Buffer.byteLength(h.key, 'utf8');
        const hv = bytesLength(h.value);
        body += varintSize(hk) + hk + varintSize(hv) + Math.max(hv, 0);
      }
    }
    return varintSize(body) + body;
  }

  /**
   * Appends one record, or returns false when the batch holds records and this one does not fit.
   * The first record always fits: the buffer grows for a record larger than the batch size.
   */
  tryAppend(key: Bytes | null | undefined, value: Bytes | null | undefined, headers: HeadersInput | undefined, timestampMs: number): boolean {
    if (this.count === 0) {
      this.baseTimestamp = timestampMs;
      this.maxTimestamp = timestampMs;
    }
    const tsDelta = timestampMs - this.baseTimestamp;
    const kl = bytesLength(key);
    const vl = bytesLength(value);
    const hs = normalizeHeaders(headers);
    let body = 1 + varlongSize(tsDelta) + varintSize(this.count) + varintSize(kl) + Math.max(kl, 0) + varintSize(vl) + Math.max(vl, 0) + varintSize(hs?.length ?? 0);
    if (hs !== null) {
      for (const h of hs) {
        const hk = Buffer.byteLength(h.key, 'utf8');
        const hv = bytesLength(h.value);
        body += varintSize(hk) + hk + varintSize(hv) + Math.max(hv, 0);
      }
    }
    const total = varintSize(body) + body;
    if (this.pos + total > this.buf.length) {
      if (this.count > 0 && this.pos + total > this.batchBytesMax) return false;
      // Grow: double (amortised O(1) per byte), at least to fit, at most to the batch limit
      // unless this is the first record, which always fits.
      const want = Math.max(this.pos + total, Math.min(this.batchBytesMax, this.buf.length * 2));
      const bigger = Buffer.allocUnsafe(want);
      this.buf.copy(bigger, 0, 0, this.pos);
      this.buf = bigger;
    }
    const buf = this.buf;
    let pos = writeVarint(buf, this.pos, body);
    buf[pos++] = 0; // Record attributes: unused.
    pos = writeVarlong(buf, pos, tsDelta);
    pos = writeVarint(buf, pos, this.count);
    pos = writeBytes(buf, pos, key, kl);
    pos = writeBytes(buf, pos, value, vl);
    pos = writeVarint(buf, pos, hs?.length ?? 0);
    if (hs !== null) {
      for (const h of hs) {
        pos = writeBytes(buf, pos, h.key, Buffer.byteLength(h.key, 'utf8'));
        pos = writeBytes(buf, pos, h.value, bytesLength(h.value));
      }
    }
    this.pos = pos;
    this.count++;
    if (timestampMs > this.maxTimestamp) this.maxTimestamp = timestampMs;
    return true;
  }

  /** Fills in the header (compressing the records if asked) and returns the batch's bytes. */
  async finish(opts: FinishOptions): Promise<Buffer> {
    let out: Buffer;
    if (opts.compression === 0) {
      out = this.buf.subarray(0, this.pos);
    } else {
      const compressed = await compress(opts.compression, this.buf.subarray(BATCH_HEADER_BYTES, this.pos));
      out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + compressed.length);
      compressed.copy(out, BATCH_HEADER_BYTES);
    }
    writeInt64(out, 0, 0); // baseOffset: assigned by the broker.
    out.writeInt32BE(out.length - 12, 8);
    out.writeInt32BE(-1, 12); // partitionLeaderEpoch: set by the broker.
    out[16] = 2; // magic
    out.writeInt16BE((opts.compression & 0x07) | (opts.isTransactional ? 0x10 : 0), 21);
    out.writeInt32BE(this.count - 1, 23);
    writeInt64(out, 27, this.baseTimestamp);
    writeInt64(out, 35, this.maxTimestamp);
    writeInt64(out, 43, opts.producerId);
    out.writeInt16BE(opts.producerEpoch, 51);
    out.writeInt32BE(opts.baseSequence, 53);
    out.writeInt32BE(this.count, 57);
    out.writeUInt32BE(crc32c(out.subarray(21)), 17);
    return out;
  }
}

// ---------------------------------------------------------------------------------------
// Decoding.

export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: readonly RecordHeader[];
}

export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
}

export interface DecodeOptions {
  topic: string;
  partition: number;
  /** Records below this offset (earlier records of the first batch) are skipped. */
  fromOffset: number;
  /** read_committed: the fetch's aborted transactions; null for read_uncommitted. */
  abortedTransactions: AbortedTransaction[] | null;
  checkCrc?: boolean;
}

export interface DecodedRecords {
  records: ConsumerRecord[];
  /** The offset after the last whole batch seen (control and aborted batches included). */
  nextOffset: number;
  bytes: number;
}

export class CorruptRecordError extends KafkaClientError {
  override readonly name: string = 'CorruptRecordError';
  constructor(message: string) {
    super(message, 2, false);
  }
}

/** The whole batches of a fetch response that hold records to deliver, found from headers only. */
export interface ScannedBatches {
  /** Deliverable batches (control and aborted ones left out), each a view of the fetched bytes, CRC checked. */
  batches: Buffer[];
  /** Each batch's record count from its header (records below fromOffset included). */
  recordCounts: number[];
  /** The offset after the last whole batch seen (control and aborted batches included). */
  nextOffset: number;
  bytes: number;
}

/**
 * Walks a fetch response's records bytes by batch header: checks each batch's length, magic and
 * CRC, skips control batches and (read_committed) aborted transactions, and returns the batches
 * left, undecoded. A trailing partial batch (the broker cut the response at the size limit) is
 * ignored, as Kafka's clients do. Records are decoded later by decodeScanned, so a consumer's
 * prefetch buffer holds bytes rather than one object per record.
 */
export function scanBatches(data: Buffer, opts: DecodeOptions): ScannedBatches {
  const batches: Buffer[] = [];
  const recordCounts: number[] = [];
  let nextOffset = opts.fromOffset;
  let pos = 0;
  const aborted = opts.abortedTransactions === null ? null : [...opts.abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<number>();
  let abortedIndex = 0;
  while (data.length - pos >= BATCH_HEADER_BYTES) {
    const batchLength = data.readInt32BE(pos + 8);
    const size = batchLength + 12;
    if (batchLength < BATCH_HEADER_BYTES - 12 || pos + size > data.length) break;
    const baseOffset = readInt64(data, pos);
    const magic = data[pos + 16];
    if (magic !== 2) throw new CorruptRecordError(`batch at offset ${baseOffset} has magic ${magic}; only magic 2 is supported`);
    const batch = data.subarray(pos, pos + size);
    pos += size;
    if (opts.checkCrc !== false && crc32c(batch.subarray(21)) !== batch.readUInt32BE(17)) {
      throw new CorruptRecordError(`batch at offset ${baseOffset} of ${opts.topic}-${opts.partition} failed its CRC check`);
    }
    const attributes = batch.readInt16BE(21);
    const lastOffset = baseOffset + batch.readInt32BE(23);
    if (lastOffset < opts.fromOffset) continue;
    nextOffset = lastOffset + 1;
    const producerId = readInt64(batch, 43);
    const isControl = (attributes & 0x20) !== 0;
    const isTransactional = (attributes & 0x10) !== 0;
    if (aborted !== null) {
      while (abortedIndex < aborted.length && aborted[abortedIndex]!.firstOffset <= lastOffset) abortedProducers.add(aborted[abortedIndex++]!.producerId);
      if (isControl) {
        // An ABORT marker (control record type 0) ends that producer's aborted transaction.
        if (isTransactional && abortedProducers.has(producerId)) abortedProducers.delete(producerId);
        continue;
      }
      if (isTransactional && abortedProducers.has(producerId)) continue;
    }
    if (isControl) continue;
    batches.push(batch);
    recordCounts.push(batch.readInt32BE(57));
  }
  return { batches, recordCounts, nextOffset, bytes: pos };
}

/**
 * Decodes the records of scanned batches into `out`. Synchronous unless a batch is compressed
 * (the codecs are asynchronous), so the common case costs no promise.
 */
export function decodeScanned(batches: readonly Buffer[], opts: DecodeOptions, out: ConsumerRecord[]): void | Promise<void> {
  for (let i = 0; i < batches.length; i++) {
    const batch = batches[i]!;
    const attributes = batch.readInt16BE(21);
    if ((attributes & 0x07) !== 0) return decodeCompressedFrom(batches, i, opts, out);
    readRecords(batch.subarray(BATCH_HEADER_BYTES), batch, readInt64(batch, 0), attributes, opts, out);
  }
}

async function decodeCompressedFrom(batches: readonly Buffer[], from: number, opts: DecodeOptions, out: ConsumerRecord[]): Promise<void> {
  for (let i = from; i < batches.length; i++) {
    const batch = batches[i]!;
    const attributes = batch.readInt16BE(21);
    const codec = attributes & 0x07;
    let body = batch.subarray(BATCH_HEADER_BYTES);
    if (codec !== 0) body = await decompress(codec, body);
    readRecords(body, batch, readInt64(batch, 0), attributes, opts, out);
  }
}

/** scanBatches then decodeScanned: every record of every whole batch in `data`. */
export async function decodeBatches(data: Buffer, opts: DecodeOptions): Promise<DecodedRecords> {
  const scanned = scanBatches(data, opts);
  const records: ConsumerRecord[] = [];
  await decodeScanned(scanned.batches, opts, records);
  return { records, nextOffset: scanned.nextOffset, bytes: scanned.bytes };
}

/**
 * A fetched record whose key, value and headers are made when read. Decoding walks every field
 * and checks every length (a record that does not end where its length says is corrupt at fetch
 * time, as before), but keeps only where the record's fields start: a handler that reads only
 * values makes no key views and no header objects, and one that only counts records makes no
 * Buffer at all. Measured with bench/record-batch.mjs and bench/consume-clients.mjs (figures in
 * docs/ARCHITECTURE.md): this halves the decoder's cost per 100 B record.
 *
 * The shape is tuned: seven fields in all (V8 keeps them inside the object), and key and value
 * are not cached, because a view cached on a record that has already survived a young-generation
 * GC is an old-to-young reference that the next collections must trace; measured, caching them
 * made a consumer that reads every value 1.9x slower than making a fresh view per read. So
 * `r.value` returns a new view of the same bytes each time: equal, not identical (keep it in a
 * variable to compare identities). Headers are parsed once and kept. Assigning key, value or
 * headers replaces the field, as on a plain object. An object spread or Object.keys sees only
 * topic, partition, offset and timestamp (and any assigned field); JSON.stringify (toJSON) and
 * util.inspect show every field.
 */
export class FetchedRecord implements ConsumerRecord {
  /** The batch's records bytes (decompressed if the batch was compressed). */
  readonly #body: Buffer;
  /** Position in #body of the record's key length; value and headers follow it. */
  readonly #at: number;
  #headers: readonly RecordHeader[] | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly timestamp: number,
    body: Buffer,
    at: number,
  ) {
    this.#body = body;
    this.#at = at;
  }

  get key(): Buffer | null {
    return readNullableBytes(this.#body, this.#at, this.#body.length);
  }

  set key(v: Buffer | null) {
    Object.defineProperty(this, 'key', { value: v, writable: true, enumerable: true, configurable: true });
  }

  get value(): Buffer | null {
    const body = this.#body;
    skipNullableBytes(body, this.#at, body.length);
    return readNullableBytes(body, cursor, body.length);
  }

  set value(v: Buffer | null) {
    Object.defineProperty(this, 'value', { value: v, writable: true, enumerable: true, configurable: true });
  }

  get headers(): readonly RecordHeader[] {
    if (this.#headers === undefined) {
      const body = this.#body;
      skipNullableBytes(body, this.#at, body.length);
      skipNullableBytes(body, cursor, body.length);
      this.#headers = body[cursor] === 0 ? EMPTY_HEADERS : readHeaders(body, cursor);
    }
    return this.#headers;
  }

  set headers(v: readonly RecordHeader[]) {
    Object.defineProperty(this, 'headers', { value: v, writable: true, enumerable: true, configurable: true });
  }

  toJSON(): ConsumerRecord {
    return { topic: this.topic, partition: this.partition, offset: this.offset, timestamp: this.timestamp, key: this.key, value: this.value, headers: this.headers };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): ConsumerRecord {
    return this.toJSON();
  }
}

/**
 * The record loop is the consumer's hot path: varints are read by module-level functions that
 * leave the next position in `cursor` (no reader object, no method dispatch), and the common
 * one-byte varint is decoded inline. Every length is still checked against the batch's end.
 */
let cursor = 0;

function readVarint(buf: Buffer, pos: number, end: number): number {
  let z = 0;
  let shift = 0;
  for (;;) {
    if (pos >= end) throw new CorruptRecordError('varint runs past the end of its batch');
    const b = buf[pos++]!;
    z |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    if (shift > 28) throw new CorruptRecordError('varint longer than 5 bytes');
  }
  cursor = pos;
  return (z >>> 1) ^ -(z & 1);
}

/** readVarint with the one- and two-byte cases (below 8192 in magnitude: record lengths up to 8 KiB) inline. */
function readShortVarint(buf: Buffer, pos: number, end: number): number {
  if (pos + 1 < end) {
    const b0 = buf[pos]!;
    if (b0 < 0x80) {
      cursor = pos + 1;
      return (b0 >>> 1) ^ -(b0 & 1);
    }
    const b1 = buf[pos + 1]!;
    if (b1 < 0x80) {
      const z = (b0 & 0x7f) | (b1 << 7);
      cursor = pos + 2;
      return (z >>> 1) ^ -(z & 1);
    }
  }
  return readVarint(buf, pos, end);
}

function readVarlong(buf: Buffer, pos: number, end: number): number {
  // Timestamp deltas within a batch are mostly small: up to 13 bits without the loop.
  if (pos + 1 < end) {
    const b0 = buf[pos]!;
    if (b0 < 0x80) {
      cursor = pos + 1;
      return (b0 >>> 1) ^ -(b0 & 1);
    }
    const b1 = buf[pos + 1]!;
    if (b1 < 0x80) {
      const z = (b0 & 0x7f) | (b1 << 7);
      cursor = pos + 2;
      return (z >>> 1) ^ -(z & 1);
    }
  }
  let z = 0;
  let mul = 1;
  for (let i = 0; ; i++) {
    if (pos >= end || i >= 10) throw new CorruptRecordError('malformed varlong');
    const b = buf[pos++]!;
    z += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) break;
    mul *= 128;
  }
  cursor = pos;
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Reads a length (-1 for null) and checks the bytes it announces fit before `end`; leaves `cursor` after them. */
function skipNullableBytes(buf: Buffer, pos: number, end: number): number {
  const n = readShortVarint(buf, pos, end);
  if (n < 0) return n;
  if (cursor + n > end) throw new CorruptRecordError('bytes run past the end of their batch');
  cursor += n;
  return n;
}

function readNullableBytes(buf: Buffer, pos: number, end: number): Buffer | null {
  const n = skipNullableBytes(buf, pos, end);
  return n < 0 ? null : buf.subarray(cursor - n, cursor);
}

/** The headers of a record whose structure decoding already checked (so its count is at `pos` and its fields fit). */
function readHeaders(body: Buffer, pos: number): RecordHeader[] {
  const end = body.length;
  const count = readVarint(body, pos, end);
  const hs: RecordHeader[] = [];
  for (let h = 0; h < count; h++) {
    const hk = readNullableBytes(body, cursor, end);
    hs.push({ key: hk === null ? '' : hk.toString('utf8'), value: readNullableBytes(body, cursor, end) });
  }
  return hs;
}

function readRecords(body: Buffer, batch: Buffer, baseOffset: number, attributes: number, opts: DecodeOptions, out: ConsumerRecord[]): void {
  const count = batch.readInt32BE(57);
  const logAppendTime = (attributes & 0x08) !== 0;
  const baseTimestamp = readInt64(batch, 27);
  const maxTimestamp = readInt64(batch, 35);
  const { topic, partition, fromOffset } = opts;
  const bodyEnd = body.length;
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const length = readShortVarint(body, pos, bodyEnd);
    const start = cursor;
    const end = start + length;
    if (length < 0 || end > bodyEnd) throw new CorruptRecordError(`record ${i} of the batch at ${baseOffset} overruns its batch`);
    const tsDelta = readVarlong(body, start + 1, end); // +1 skips the record attributes.
    const offset = baseOffset + readShortVarint(body, cursor, end);
    const at = cursor;
    skipNullableBytes(body, at, end); // key
    skipNullableBytes(body, cursor, end); // value
    const headerCount = readShortVarint(body, cursor, end);
    if (headerCount !== 0) {
      // Checked now, made when read: a record whose headers overrun it is corrupt at fetch time.
      if (headerCount < 0 || headerCount > length) throw new CorruptRecordError(`record at ${offset} claims ${headerCount} headers`);
      for (let h = 0; h < headerCount; h++) {
        skipNullableBytes(body, cursor, end);
        skipNullableBytes(body, cursor, end);
      }
    }
    if (cursor !== end) throw new CorruptRecordError(`record at ${offset} has length ${length} but its fields end elsewhere`);
    pos = end;
    if (offset < fromOffset) continue;
    out.push(new FetchedRecord(topic, partition, offset, logAppendTime ? maxTimestamp : baseTimestamp + tsDelta, body, at));
  }
}
