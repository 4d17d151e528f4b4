/**
 * The compression codecs: round trips of every codec over varied payloads, and hand-built
 * vectors in each wire format (raw and xerial-framed snappy, an LZ4 frame with an uncompressed
 * block, a zstd frame with a raw block) so decoding is checked against the formats themselves
 * rather than against the library that encodes.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compress, CompressionError, decompress, isXerialFramed, xerialFrame } from '../../src/compression/index.js';

const payloads: [string, Buffer][] = [
  ['empty', Buffer.alloc(0)],
  ['one byte', Buffer.from([7])],
  ['text', Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(200))],
  ['random 100 KiB', randomBytes(100 * 1024)],
  ['zeros 1 MiB', Buffer.alloc(1024 * 1024)],
];

describe('compression round trips', () => {
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    for (const [name, data] of payloads) {
      it(`${codec}: ${name}`, async () => {
        const c = await compress(codec, data);
        const d = await decompress(codec, c);
        expect(d.equals(data)).toBe(true);
      });
    }
  }

  it('codec numbers match the batch attributes', async () => {
    const data = Buffer.from('abcabcabc'.repeat(50));
    for (const id of [1, 2, 3, 4]) expect((await decompress(id, await compress(id, data))).equals(data)).toBe(true);
  });

  it('rejects unknown codecs and malformed input with CompressionError', async () => {
    await expect(compress(5, Buffer.from('x'))).rejects.toBeInstanceOf(CompressionError);
    for (const id of [1, 2, 3, 4]) {
      await expect(decompress(id, Buffer.from('definitely not compressed data'))).rejects.toBeInstanceOf(CompressionError);
    }
  });
});

describe('known vectors', () => {
  const hello = Buffer.from('hello world!!');
  // Raw snappy: varint length 13, then one literal tag ((13 - 1) << 2) and the bytes.
  const rawSnappy = Buffer.concat([Buffer.from([0x0d, 0x30]), hello]);

  it('raw snappy literal block', async () => {
    expect((await decompress('snappy', rawSnappy)).toString()).toBe('hello world!!');
  });

  it('xerial-framed snappy as the Java client and kafka-python write it', async () => {
    const framed = Buffer.concat([
      Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]), // magic
      Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]), // version 1, compatible version 1
      Buffer.from([0, 0, 0, rawSnappy.length]),
      rawSnappy,
      Buffer.from([0, 0, 0, rawSnappy.length]),
      rawSnappy,
    ]);
    expect(isXerialFramed(framed)).toBe(true);
    expect((await decompress(2, framed)).toString()).toBe('hello world!!hello world!!');
  });

  it('xerial framing of many chunks round-trips', async () => {
    const data = randomBytes(200_000);
    expect((await decompress(2, xerialFrame(data, 32 * 1024))).equals(data)).toBe(true);
  });

  it('xerial chunk longer than the payload is rejected', async () => {
    const bad = Buffer.concat([xerialFrame(hello).subarray(0, 16), Buffer.from([0, 0, 1, 0]), rawSnappy]);
    await expect(decompress(2, bad)).rejects.toBeInstanceOf(CompressionError);
  });

  it('LZ4 frame with one uncompressed block (Kafka magic v2 framing)', async () => {
    const frame = Buffer.concat([
      Buffer.from([0x04, 0x22, 0x4d, 0x18]), // magic
      Buffer.from([0x60, 0x40, 0x82]), // FLG (v01, independent blocks), BD (64 KiB), header checksum
      Buffer.from([hello.length, 0, 0, 0x80]),
      hello, // block size with the "uncompressed" bit
      Buffer.from([0, 0, 0, 0]), // end mark
    ]);
    expect((await decompress('lz4', frame)).toString()).toBe('hello world!!');
  });

  it('LZ4 encoder writes a frame with independent blocks', async () => {
    const c = await compress('lz4', hello);
    expect(c.readUInt32LE(0)).toBe(0x184d2204);
    expect(c[4]! & 0x20).toBe(0x20);
  });

  it('zstd frame with one raw block', async () => {
    const frame = Buffer.concat([
      Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), // magic
      Buffer.from([0x20, hello.length]), // single segment, 1-byte content size
      Buffer.from([(hello.length << 3) | 1, 0, 0]), // last block, raw, size
      hello,
    ]);
    expect((await decompress('zstd', frame)).toString()).toBe('hello world!!');
  });

  it('gzip written by another encoder', async () => {
    expect((await decompress(1, gzipSync(hello, { level: 9 }))).toString()).toBe('hello world!!');
  });
});
