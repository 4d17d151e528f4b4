/**
 * Records as the console shows them (main thread): stored batches, read from a partition actor,
 * are split, decompressed when needed and decoded into plain JSON rows. Keys, values and header
 * values travel as base64 with their size, cut at `displayValueBytesMax` (and flagged), so a
 * large record cannot make a reply large; the browser renders them as text, JSON or hex.
 */
import { type BatchRecord, batchBody, recordAt, recordSpans, splitBatches } from '../storage/record-batch.js';
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
type RawRecord = BatchRecord;

export function bytesView(b: Buffer | null): BytesView | null {
  if (b === null) return null;
  const max = httpLimits.displayValueBytesMax;
  return { b64: b.subarray(0, max).toString('base64'), size: b.length, truncated: b.length > max };
}

/**
 * Decodes stored batches into records at or after `fromOffset`, skipping control batches.
 * Batches and records are read with storage's record-batch module, as the broker reads them.
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
    const body = await batchBody(buf, h);
    for (const span of recordSpans(body, h)) {
      if (h.baseOffset + span.offsetDelta < fromOffset) continue;
      const r = recordAt(body, span, h);
      if (match && !match(r)) continue;
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

/** A case-insensitive substring match on the key or value as UTF-8 text. */
export function textMatcher(search: string): (r: RawRecord) => boolean {
  const needle = search.toLowerCase();
  const has = (b: Buffer | null) => b !== null && b.toString('utf8').toLowerCase().includes(needle);
  return (r) => has(r.key) || has(r.value);
}
