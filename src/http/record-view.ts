/**
 * Records as the console shows them (main thread): stored batches, read from a partition actor,
 * are split, decompressed when needed and decoded into plain JSON rows. Keys, values and header
 * values travel as base64 with their size, cut at `displayValueBytesMax` (and flagged), so a
 * large record cannot make a reply large; the browser renders them as text, JSON or hex.
 */
import { decompress } from '../compression/index.js';
import { partitionActorId } from '../cluster/routing-table.js';
import type { BrookNode } from '../node.js';
import { batchHeaderBytes } from '../storage/limits.js';
import { splitBatches, type BatchHeader } from '../storage/record-batch.js';
import { ByteReader } from '../storage/varint.js';
import type { PartitionOffsets, ReadResult } from '../../actors/partition/messages.js';
import { httpLimits } from './limits.js';

export interface BytesView {
  /** The first `displayValueBytesMax` bytes, base64. */
  readonly b64: string;
  readonly size: number;
  readonly truncated: boolean;
}

export interface RecordView {
  readonly partition: number;
  readonly offset: number;
  readonly timestampMs: number;
  readonly timestampType: string;
  readonly key: BytesView | null;
  readonly value: BytesView | null;
  readonly headers: { key: string; value: BytesView | null }[];
  readonly compression: number;
  readonly producerId: number;
}

/** Raw record before it is cut for display; search matches on the whole key and value. */
interface RawRecord {
  offset: number;
  timestampMs: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
}

const codecNames = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export function bytesView(b: Buffer | null): BytesView | null {
  if (b === null) return null;
  const max = httpLimits.displayValueBytesMax;
  return { b64: b.subarray(0, max).toString('base64'), size: b.length, truncated: b.length > max };
}

export function partitionOffsets(node: BrookNode, topic: string, partition: number): Promise<PartitionOffsets> {
  return node.supervisor.ask<PartitionOffsets>(partitionActorId(topic, partition), { type: 'GetOffsets' });
}

/** Reads whole batches from `fetchOffset` (at most about `maxBytes`) through the partition actor. */
export function readBatches(node: BrookNode, topic: string, partition: number, fetchOffset: number, maxBytes: number): Promise<ReadResult> {
  return node.supervisor.ask<ReadResult>(partitionActorId(topic, partition), { type: 'Read', fetchOffset, maxBytes });
}

/**
 * Decodes stored batches into records at or after `fromOffset`, skipping control batches.
 * `match`, when given, keeps only records it accepts. Returns the offset after the last batch.
 */
export async function decodeRecords(
  stored: Uint8Array,
  partition: number,
  fromOffset: number,
  match?: (r: RawRecord) => boolean,
): Promise<{ records: RecordView[]; nextOffset: number }> {
  const buf = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const records: RecordView[] = [];
  let nextOffset = fromOffset;
  for (const h of splitBatches(buf, { maxBatchBytes: Number.MAX_SAFE_INTEGER, allowSparse: true })) {
    nextOffset = Math.max(nextOffset, h.baseOffset + h.lastOffsetDelta + 1);
    if (h.isControl) continue;
    const payload = buf.subarray(h.position + batchHeaderBytes, h.position + h.sizeBytes);
    const body = h.compression === 0 ? payload : await decompress(h.compression, payload);
    for (const r of parseRecords(body, h)) {
      if (r.offset < fromOffset || (match && !match(r))) continue;
      records.push({
        partition,
        offset: r.offset,
        timestampMs: r.timestampMs,
        timestampType: h.timestampType,
        key: bytesView(r.key),
        value: bytesView(r.value),
        headers: r.headers.map((x) => ({ key: x.key, value: bytesView(x.value) })),
        compression: h.compression,
        producerId: h.producerId,
      });
    }
  }
  return { records, nextOffset };
}

export function codecName(codec: number): string {
  return codecNames[codec] ?? String(codec);
}

/** The records of a (decompressed) batch body; every length is bounds-checked by ByteReader. */
function parseRecords(body: Buffer, h: BatchHeader): RawRecord[] {
  const reader = new ByteReader(body, 0, body.length);
  const out: RawRecord[] = [];
  for (let i = 0; i < h.recordCount && reader.pos < reader.end; i++) {
    const length = reader.varint('record length');
    reader.need(length, 'record body');
    const end = reader.pos + length;
    reader.int8('attributes');
    const timestampDelta = reader.varint('timestampDelta');
    const offsetDelta = reader.varint('offsetDelta');
    const key = nullableBytes(reader, 'key');
    const value = nullableBytes(reader, 'value');
    const headerCount = reader.varint('header count');
    const headers: RawRecord['headers'] = [];
    for (let j = 0; j < headerCount; j++) {
      const k = reader.bytes(reader.varint('header key length'), 'header key').toString('utf8');
      headers.push({ key: k, value: nullableBytes(reader, 'header value') });
    }
    reader.pos = end;
    const timestampMs = h.timestampType === 'LogAppendTime' ? h.maxTimestamp : h.baseTimestamp + timestampDelta;
    out.push({ offset: h.baseOffset + offsetDelta, timestampMs, key, value, headers });
  }
  return out;
}

function nullableBytes(reader: ByteReader, what: string): Buffer | null {
  const n = reader.varint(`${what} length`);
  return n < 0 ? null : reader.bytes(n, what);
}

/** A case-insensitive substring match on the key or value as UTF-8 text. */
export function textMatcher(search: string): (r: RawRecord) => boolean {
  const needle = search.toLowerCase();
  const has = (b: Buffer | null) => b !== null && b.toString('utf8').toLowerCase().includes(needle);
  return (r) => has(r.key) || has(r.value);
}
