import { ProtocolError } from './errors.js';
import { RecordSet, type Records } from './record-set.js';

const TWO_POW_32 = 4294967296;
const TWO_POW_63 = 9223372036854775808;
const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;

/** Value of each hex digit by char code, -1 for anything else; used to parse uuids strictly. */
const HEX_VALUE: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[65 + i] = 10 + i;
    t[97 + i] = 10 + i;
  }
  return t;
})();

/**
 * Writes primitives into a buffer that was sized exactly beforehand.
 *
 * Encoding sizes the message in a first pass and then allocates once, instead of writing into a
 * geometrically growing scratch buffer. Brook's hot path is a Fetch response, mostly record bytes:
 * growth would copy them twice (into the scratch buffer, then out into an exact-size result, or
 * hand out an oversized buffer) while sizing copies them once and never reallocates. The price is
 * walking the value twice and measuring each string twice (Buffer.byteLength), which is cheap for
 * Kafka's short names; bench/protocol-codec.mjs shows the sizing pass is a small share of encode.
 *
 * Writing past the end is a sizing bug, so the Buffer's own RangeError is left to surface it.
 * Not thread-safe; one writer per message.
 */
export class Writer {
  offset: number;
  /**
   * Gathering: byte fields of at least `gatherMin` bytes are not copied into `buf` but kept as
   * segments of their own (see `segments`), so a Fetch response's record bytes go to the socket
   * as they came from the partition's thread. `buf` is then sized without them. A RecordSet's
   * parts are gathered or copied each on its own size.
   */
  private readonly gatherMin: number;
  private readonly gathered: Buffer[] | null;
  private segmentStart = 0;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    gatherMin = Number.POSITIVE_INFINITY,
  ) {
    this.offset = offset;
    this.gatherMin = gatherMin;
    this.gathered = gatherMin < Number.POSITIVE_INFINITY ? [] : null;
  }

  /** The message in order: slices of `buf` between the gathered buffers. */
  segments(): Buffer[] {
    if (this.gathered === null) return [this.buf];
    const out = this.gathered;
    if (this.offset > this.segmentStart) out.push(this.buf.subarray(this.segmentStart, this.offset));
    return out;
  }

  writeInt8(v: number): void {
    this.offset = this.buf.writeInt8(v, this.offset);
  }

  writeBool(v: boolean): void {
    this.buf[this.offset++] = v ? 1 : 0;
  }

  writeInt16(v: number): void {
    this.offset = this.buf.writeInt16BE(v, this.offset);
  }

  writeUint16(v: number): void {
    this.offset = this.buf.writeUInt16BE(v, this.offset);
  }

  writeInt32(v: number): void {
    this.offset = this.buf.writeInt32BE(v, this.offset);
  }

  writeUint32(v: number): void {
    this.offset = this.buf.writeUInt32BE(v, this.offset);
  }

  /**
   * int64 from a JS number, clamped to the int64 range: 2^63 (what Long.MAX_VALUE decodes to)
   * writes Long.MAX_VALUE back. Splitting into two int32 halves avoids a BigInt per field; the
   * halves are exact for every integer a double holds.
   */
  writeInt64(v: number): void {
    if (v >= TWO_POW_63 || v < -TWO_POW_63) {
      this.offset = this.buf.writeBigInt64BE(v > 0 ? INT64_MAX : INT64_MIN, this.offset);
      return;
    }
    const n = Math.trunc(v);
    const hi = Math.floor(n / TWO_POW_32);
    this.buf.writeInt32BE(hi, this.offset);
    this.buf.writeUInt32BE(n - hi * TWO_POW_32, this.offset + 4);
    this.offset += 8;
  }

  writeFloat64(v: number): void {
    this.offset = this.buf.writeDoubleBE(v, this.offset);
  }

  /** Unsigned 32-bit varint. */
  writeUVarint(v: number): void {
    const buf = this.buf;
    let n = v >>> 0;
    while (n >= 0x80) {
      buf[this.offset++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[this.offset++] = n;
  }

  /** Signed zigzag 32-bit varint (record format). */
  writeVarint(v: number): void {
    this.writeUVarint((v << 1) ^ (v >> 31));
  }

  /** Unsigned varlong from a non-negative integer number. */
  writeUVarlong(v: number): void {
    const buf = this.buf;
    let n = v;
    while (n >= 0x80) {
      buf[this.offset++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    buf[this.offset++] = n;
  }

  /** Signed zigzag 64-bit varlong (record format). */
  writeVarlong(v: number): void {
    this.writeUVarlong(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  writeString(s: string): void {
    const len = Buffer.byteLength(s);
    this.writeInt16(len);
    this.offset += this.buf.write(s, this.offset, len, 'utf8');
  }

  writeNullableString(s: string | null): void {
    if (s === null) this.writeInt16(-1);
    else this.writeString(s);
  }

  writeCompactString(s: string): void {
    const len = Buffer.byteLength(s);
    this.writeUVarint(len + 1);
    this.offset += this.buf.write(s, this.offset, len, 'utf8');
  }

  writeCompactNullableString(s: string | null): void {
    if (s === null) this.writeUVarint(0);
    else this.writeCompactString(s);
  }

  writeBytes(b: Records): void {
    this.writeInt32(b.length);
    this.writeRaw(b);
  }

  writeNullableBytes(b: Records | null): void {
    if (b === null) this.writeInt32(-1);
    else this.writeBytes(b);
  }

  writeCompactBytes(b: Records): void {
    this.writeUVarint(b.length + 1);
    this.writeRaw(b);
  }

  writeCompactNullableBytes(b: Records | null): void {
    if (b === null) this.writeUVarint(0);
    else this.writeCompactBytes(b);
  }

  writeRaw(b: Records): void {
    if (b instanceof RecordSet) {
      for (const part of b.parts) this.writeRaw(part);
      return;
    }
    if (b.length >= this.gatherMin && this.gathered !== null) {
      if (this.offset > this.segmentStart) this.gathered.push(this.buf.subarray(this.segmentStart, this.offset));
      this.gathered.push(b);
      this.segmentStart = this.offset;
      return;
    }
    this.offset += b.copy(this.buf, this.offset);
  }

  /** A uuid from its canonical string form (either case); anything else is rejected. */
  writeUuid(s: string): void {
    if (typeof s !== 'string' || s.length !== 36) throw new ProtocolError(`not a uuid: ${String(s)}`);
    let i = 0;
    for (let k = 0; k < 16; k++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) {
        if (s.charCodeAt(i) !== 45) throw new ProtocolError(`not a uuid: ${s}`);
        i++;
      }
      // HEX_VALUE has 128 entries: a code masked with 0x7f is always in range.
      const hi = HEX_VALUE[s.charCodeAt(i) & 0x7f]!;
      const lo = HEX_VALUE[s.charCodeAt(i + 1) & 0x7f]!;
      if (hi < 0 || lo < 0 || s.charCodeAt(i) > 0x7f || s.charCodeAt(i + 1) > 0x7f) throw new ProtocolError(`not a uuid: ${s}`);
      this.buf[this.offset++] = (hi << 4) | lo;
      i += 2;
    }
  }
}

/** Bytes an unsigned 32-bit varint takes. */
export function uvarintSize(v: number): number {
  const n = v >>> 0;
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  return 5;
}

export function stringSize(s: string | null): number {
  return s === null ? 2 : 2 + Buffer.byteLength(s);
}

export function compactStringSize(s: string | null): number {
  if (s === null) return 1;
  const len = Buffer.byteLength(s);
  return uvarintSize(len + 1) + len;
}

export function bytesSize(b: Records | null): number {
  return b === null ? 4 : 4 + b.length;
}

export function compactBytesSize(b: Records | null): number {
  return b === null ? 1 : uvarintSize(b.length + 1) + b.length;
}
