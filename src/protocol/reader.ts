import { ProtocolError } from './errors.js';
import { ARRAY_ELEMENT_BYTES_MIN, TAGGED_FIELD_BYTES_MIN, VARINT_BYTES_MAX, VARLONG_BYTES_MAX } from './limits.js';

const TWO_POW_32 = 4294967296;

/** Two hex digits for every byte value, so a uuid decodes with 16 table lookups. */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A bounds-checked cursor over one frame. Every read checks the bytes it needs against `end`
 * first and throws ProtocolError, so malformed input never reaches Buffer's RangeError and no
 * length or count taken from the wire allocates before it has been checked against what remains.
 *
 * Bytes and strings returned by the bytes readers are subarray views of the frame (zero copy):
 * they stay valid only while the frame's memory is not reused. Not thread-safe; one reader per
 * frame.
 */
export class Reader {
  offset: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    end = buf.length,
  ) {
    if (offset < 0 || end > buf.length || offset > end) throw new ProtocolError('reader bounds outside the buffer');
    this.offset = offset;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  /** Throws unless n more bytes are available. */
  need(n: number): void {
    if (n > this.end - this.offset) {
      throw new ProtocolError(`truncated: need ${n} bytes at offset ${this.offset}, ${this.end - this.offset} remain`);
    }
  }

  skip(n: number): void {
    this.need(n);
    this.offset += n;
  }

  readInt8(): number {
    this.need(1);
    return this.buf.readInt8(this.offset++);
  }

  readBool(): boolean {
    this.need(1);
    return this.buf[this.offset++] !== 0;
  }

  readInt16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  readUint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  readInt32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  readUint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  /**
   * int64 as a JS number. Combining the two halves avoids allocating a BigInt per field (several
   * times faster); it rounds exactly as Number(bigint) does. Offsets and timestamps fit in 2^53;
   * sentinels such as Long.MAX_VALUE lose precision harmlessly and encode back clamped.
   */
  readInt64(): number {
    this.need(8);
    const hi = this.buf.readInt32BE(this.offset);
    const lo = this.buf.readUInt32BE(this.offset + 4);
    this.offset += 8;
    return hi * TWO_POW_32 + lo;
  }

  readFloat64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }

  /** Unsigned 32-bit varint; more than 5 bytes, or a value above 2^32-1, is malformed. */
  readUVarint(): number {
    const buf = this.buf;
    let off = this.offset;
    // `end` is at most the buffer's length, so below it an index is a byte, never undefined.
    if (off < this.end && buf[off]! < 0x80) {
      this.offset = off + 1;
      return buf[off]!;
    }
    let value = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      if (off >= this.end) throw new ProtocolError(`truncated varint at offset ${this.offset}`);
      const b = buf[off++]!;
      if (i === VARINT_BYTES_MAX - 1 && b > 0x0f) throw new ProtocolError(`varint overflows 32 bits at offset ${this.offset}`);
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.offset = off;
        return value;
      }
      scale *= 128;
    }
    throw new ProtocolError(`overlong varint at offset ${this.offset}`);
  }

  /** Signed zigzag 32-bit varint (record format). */
  readVarint(): number {
    const n = this.readUVarint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  /** Unsigned 64-bit varlong as a number (precision beyond 2^53 is lost, as for int64). */
  readUVarlong(): number {
    const buf = this.buf;
    let off = this.offset;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < VARLONG_BYTES_MAX; i++) {
      if (off >= this.end) throw new ProtocolError(`truncated varlong at offset ${this.offset}`);
      const b = buf[off++]!;
      if (i === VARLONG_BYTES_MAX - 1 && b > 0x01) throw new ProtocolError(`varlong overflows 64 bits at offset ${this.offset}`);
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.offset = off;
        return value;
      }
      scale *= 128;
    }
    throw new ProtocolError(`overlong varlong at offset ${this.offset}`);
  }

  /** Signed zigzag 64-bit varlong (record format). */
  readVarlong(): number {
    const n = this.readUVarlong();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  private utf8(len: number): string {
    this.need(len);
    const start = this.offset;
    this.offset += len;
    return this.buf.toString('utf8', start, start + len);
  }

  private slice(len: number): Buffer {
    this.need(len);
    const start = this.offset;
    this.offset += len;
    return this.buf.subarray(start, start + len);
  }

  /** int16-length string; -1 (null) is an error here. */
  readString(): string {
    const len = this.readInt16();
    if (len < 0) throw new ProtocolError(len === -1 ? 'null in a non-nullable string' : `negative string length ${len}`);
    return this.utf8(len);
  }

  readNullableString(): string | null {
    const len = this.readInt16();
    if (len < 0) {
      if (len === -1) return null;
      throw new ProtocolError(`negative string length ${len}`);
    }
    return this.utf8(len);
  }

  /** Compact string: uvarint length+1, 0 meaning null (an error here). */
  readCompactString(): string {
    const n = this.readUVarint();
    if (n === 0) throw new ProtocolError('null in a non-nullable compact string');
    return this.utf8(n - 1);
  }

  readCompactNullableString(): string | null {
    const n = this.readUVarint();
    return n === 0 ? null : this.utf8(n - 1);
  }

  /** int32-length bytes as a view of the frame; -1 (null) is an error here. */
  readBytes(): Buffer {
    const len = this.readInt32();
    if (len < 0) throw new ProtocolError(len === -1 ? 'null in non-nullable bytes' : `negative bytes length ${len}`);
    return this.slice(len);
  }

  readNullableBytes(): Buffer | null {
    const len = this.readInt32();
    if (len < 0) {
      if (len === -1) return null;
      throw new ProtocolError(`negative bytes length ${len}`);
    }
    return this.slice(len);
  }

  readCompactBytes(): Buffer {
    const n = this.readUVarint();
    if (n === 0) throw new ProtocolError('null in non-nullable compact bytes');
    return this.slice(n - 1);
  }

  readCompactNullableBytes(): Buffer | null {
    const n = this.readUVarint();
    return n === 0 ? null : this.slice(n - 1);
  }

  /** A uuid as its lowercase canonical string 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx'. */
  readUuid(): string {
    this.need(16); // so b[o] to b[o + 15] are bytes
    const b = this.buf;
    const o = this.offset;
    this.offset += 16;
    return (
      HEX_BYTE[b[o]!]! +
      HEX_BYTE[b[o + 1]!]! +
      HEX_BYTE[b[o + 2]!]! +
      HEX_BYTE[b[o + 3]!]! +
      '-' +
      HEX_BYTE[b[o + 4]!]! +
      HEX_BYTE[b[o + 5]!]! +
      '-' +
      HEX_BYTE[b[o + 6]!]! +
      HEX_BYTE[b[o + 7]!]! +
      '-' +
      HEX_BYTE[b[o + 8]!]! +
      HEX_BYTE[b[o + 9]!]! +
      '-' +
      HEX_BYTE[b[o + 10]!]! +
      HEX_BYTE[b[o + 11]!]! +
      HEX_BYTE[b[o + 12]!]! +
      HEX_BYTE[b[o + 13]!]! +
      HEX_BYTE[b[o + 14]!]! +
      HEX_BYTE[b[o + 15]!]!
    );
  }

  /**
   * int32 array count; returns -1 for null. The count is checked against the remaining bytes at
   * elementBytesMin each before the caller allocates, so INT32_MAX counts fail at once.
   */
  readArrayLength(elementBytesMin: number): number {
    const n = this.readInt32();
    if (n < 0) {
      if (n === -1) return -1;
      throw new ProtocolError(`negative array length ${n}`);
    }
    this.checkCount(n, elementBytesMin);
    return n;
  }

  /** Compact array count (uvarint count+1, 0 meaning null); returns -1 for null. */
  readCompactArrayLength(elementBytesMin: number): number {
    const n = this.readUVarint() - 1;
    if (n >= 0) this.checkCount(n, elementBytesMin);
    return n;
  }

  /** Number of tagged fields that follow, checked against the remaining bytes. */
  readTaggedFieldCount(): number {
    const n = this.readUVarint();
    this.checkCount(n, TAGGED_FIELD_BYTES_MIN);
    return n;
  }

  /** Skips a whole tagged-field section (for headers, whose tagged fields Brook does not use). */
  skipTaggedFields(): void {
    const n = this.readTaggedFieldCount();
    for (let i = 0; i < n; i++) {
      this.readUVarint();
      this.skip(this.readUVarint());
    }
  }

  private checkCount(n: number, elementBytesMin: number): void {
    const min = elementBytesMin > ARRAY_ELEMENT_BYTES_MIN ? elementBytesMin : ARRAY_ELEMENT_BYTES_MIN;
    if (n * min > this.end - this.offset) {
      throw new ProtocolError(`count ${n} needs at least ${n * min} bytes at offset ${this.offset}, ${this.end - this.offset} remain`);
    }
  }
}
