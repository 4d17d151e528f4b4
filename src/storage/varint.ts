/**
 * Zigzag varint reading and writing as used by RecordBatch v2 records (record-batch.ts is its
 * one user). Values are JS numbers: a varlong beyond 2^53 is rejected as CORRUPT_MESSAGE rather
 * than rounded.
 *
 * Pure functions and a reader object owned by its caller: safe on any thread.
 */
import { StorageError } from './storage-error.js';

const twoPow53 = 2 ** 53;
/** A varlong has at most ten bytes (70 bits of payload for 64 bits of value). */
const maxVarintBytes = 10;

/** A read position over a byte range, with bounds checked on every read. */
export class ByteReader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  need(bytes: number, what: string): void {
    if (bytes < 0 || this.pos + bytes > this.end) {
      throw new StorageError('CORRUPT_MESSAGE', `record truncated reading ${what} at byte ${this.pos}`);
    }
  }

  int8(what: string): number {
    this.need(1, what);
    return this.buf.readInt8(this.pos++);
  }

  /** Reads a zigzag varint or varlong. */
  varint(what: string): number {
    let raw = 0;
    let scale = 1;
    for (let i = 0; i < maxVarintBytes; i++) {
      this.need(1, what);
      const byte = this.buf[this.pos++]!; // need(1) checked it is there
      raw += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return zigzagDecode(raw, what);
      scale *= 128;
    }
    throw new StorageError('CORRUPT_MESSAGE', `varint too long reading ${what}`);
  }

  /** Reads `length` bytes as a view (no copy). */
  bytes(length: number, what: string): Buffer {
    this.need(length, what);
    const view = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return view;
  }
}

function zigzagDecode(raw: number, what: string): number {
  if (raw >= twoPow53) throw new StorageError('CORRUPT_MESSAGE', `${what} exceeds 2^53`);
  return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
}

/** Bytes taken by the zigzag varint encoding of `value`. */
export function varintSize(value: number): number {
  let raw = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (raw >= 128) {
    raw = Math.floor(raw / 128);
    size++;
  }
  return size;
}

/** Writes the zigzag varint encoding of `value` at `pos`; returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, value: number): number {
  let raw = value >= 0 ? value * 2 : -value * 2 - 1;
  while (raw >= 128) {
    buf[pos++] = (raw % 128) | 0x80;
    raw = Math.floor(raw / 128);
  }
  buf[pos++] = raw;
  return pos;
}
