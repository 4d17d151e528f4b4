/**
 * Kafka's record-batch compression codecs behind one interface, numbered as in the batch
 * attributes: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. Shared by the client and, later, the
 * broker (recompression, validation). Stateless; safe on any thread.
 *
 * - gzip: node:zlib, asynchronous so large batches compress on libuv's thread pool.
 * - snappy: the napi-rs `snappy` binding. Encoding writes raw snappy, as librdkafka and kafkajs
 *   do; decoding accepts raw snappy and the xerial framing that the Java client and
 *   kafka-python write (a magic header, then length-prefixed raw chunks).
 * - lz4: Kafka uses the LZ4 frame format (magic 0x184D2204, independent blocks), which
 *   `lz4-napi`'s frame functions read and write.
 * - zstd: `@mongodb-js/zstd` (napi-rs, prebuilt binaries from the npm registry); Node 20's zlib
 *   has no zstd.
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
import { compressFrame as lz4CompressFrame, decompressFrame as lz4DecompressFrame } from 'lz4-napi';
import { compressSync as snappyCompressSync, uncompressSync as snappyUncompressSync } from 'snappy';
import { DECOMPRESSED_BYTES_MAX, GZIP_LEVEL_DEFAULT, XERIAL_CHUNK_BYTES_MAX, ZSTD_LEVEL_DEFAULT } from './limits.js';

export * from './limits.js';

/** Codec numbers as in bits 0-2 of a record batch's attributes. */
export const CompressionCodecs = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof CompressionCodecs;
export type CompressionCodecId = (typeof CompressionCodecs)[CompressionName];

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** A compressed payload that is malformed, too large once expanded, or of an unknown codec. */
export class CompressionError extends Error {
  override readonly name: string = 'CompressionError';
  constructor(
    readonly codec: number,
    message: string,
  ) {
    super(message);
  }
}

/** The codec number for a name or number, validated. */
export function codecId(codec: CompressionName | number): CompressionCodecId {
  const id = typeof codec === 'number' ? codec : CompressionCodecs[codec];
  if (id === undefined || !Number.isInteger(id) || id < 0 || id > 4) throw new CompressionError(Number(id), `unknown compression codec ${String(codec)}`);
  return id as CompressionCodecId;
}

/** Compresses `buf` with a codec; codec 0 returns the input itself. */
export async function compress(codec: CompressionName | number, buf: Buffer): Promise<Buffer> {
  switch (codecId(codec)) {
    case 0:
      return buf;
    case 1:
      return gzipAsync(buf, { level: GZIP_LEVEL_DEFAULT });
    case 2:
      return snappyCompressSync(buf);
    case 3:
      return lz4CompressFrame(buf);
    case 4:
      return zstdCompress(buf, ZSTD_LEVEL_DEFAULT);
  }
}

/** Decompresses `buf`; throws CompressionError for malformed input or output past DECOMPRESSED_BYTES_MAX. */
export async function decompress(codec: CompressionName | number, buf: Buffer): Promise<Buffer> {
  const id = codecId(codec);
  let out: Buffer;
  try {
    switch (id) {
      case 0:
        return buf;
      case 1:
        out = await gunzipAsync(buf, { maxOutputLength: DECOMPRESSED_BYTES_MAX });
        break;
      case 2:
        out = snappyDecode(buf);
        break;
      case 3:
        out = await lz4DecompressFrame(buf);
        break;
      case 4:
        out = await zstdDecompress(buf);
        break;
    }
  } catch (err) {
    if (err instanceof CompressionError) throw err;
    throw new CompressionError(id, `codec ${id}: ${(err as Error).message}`);
  }
  // zstd and lz4 frames may omit their content size, so their output is checked after the fact.
  if (out.length > DECOMPRESSED_BYTES_MAX) throw new CompressionError(id, `decompressed ${out.length} bytes, more than ${DECOMPRESSED_BYTES_MAX}`);
  return out;
}

// ---------------------------------------------------------------------------------------
// Snappy: raw blocks and xerial framing.

/** The xerial snappy-java stream header: 0x82 'SNAPPY' 0x00, then int32 version and int32 compatible version. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

export function isXerialFramed(buf: Buffer): boolean {
  return buf.length >= XERIAL_HEADER_BYTES && buf.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

function snappyDecode(buf: Buffer): Buffer {
  if (!isXerialFramed(buf)) return snappyRawDecode(buf);
  const chunks: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_BYTES;
  while (pos < buf.length) {
    if (buf.length - pos < 4) throw new CompressionError(2, 'xerial snappy: truncated chunk length');
    const length = buf.readInt32BE(pos);
    pos += 4;
    if (length < 0 || length > XERIAL_CHUNK_BYTES_MAX || length > buf.length - pos) {
      throw new CompressionError(2, `xerial snappy: chunk length ${length} with ${buf.length - pos} bytes left`);
    }
    const chunk = snappyRawDecode(buf.subarray(pos, pos + length));
    pos += length;
    total += chunk.length;
    if (total > DECOMPRESSED_BYTES_MAX) throw new CompressionError(2, `decompressed more than ${DECOMPRESSED_BYTES_MAX} bytes`);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** Raw snappy starts with the uncompressed length as a varint, checked before anything is allocated. */
function snappyRawDecode(buf: Buffer): Buffer {
  let length = 0;
  for (let i = 0, shift = 0; ; i++, shift += 7) {
    if (i >= 5 || i >= buf.length) throw new CompressionError(2, 'snappy: malformed length preamble');
    const b = buf[i]!;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  if (length > DECOMPRESSED_BYTES_MAX) throw new CompressionError(2, `snappy: declared ${length} bytes, more than ${DECOMPRESSED_BYTES_MAX}`);
  return snappyUncompressSync(buf, { asBuffer: true }) as Buffer;
}

/** Wraps raw snappy in xerial framing (for tests and for peers that insist on it). */
export function xerialFrame(data: Buffer, chunkBytes = 32 * 1024): Buffer {
  const parts: Buffer[] = [XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])];
  for (let pos = 0; pos < data.length; pos += chunkBytes) {
    const c = snappyCompressSync(data.subarray(pos, pos + chunkBytes));
    const len = Buffer.allocUnsafe(4);
    len.writeInt32BE(c.length, 0);
    parts.push(len, c);
  }
  return Buffer.concat(parts);
}
