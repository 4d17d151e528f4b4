/**
 * The client connection's framing against a real TCP server that cuts its responses at random
 * places: several responses in one write, one response over many writes (down to single bytes),
 * and fetch responses large enough to be read straight into a buffer of their own. Every
 * response must arrive whole, to the request it answers, with its record bytes intact.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../../src/client/connection.js';
import { DIRECT_FRAME_BYTES_MIN, READ_BUFFER_BYTES } from '../../src/client/limits.js';
import { decodeRequest, encodeResponse } from '../../src/protocol/index.js';
import { prng } from '../helpers/prng.js';

/** Record bytes for a fetch at `offset`: `size` bytes derived from the offset, to check end to end. */
function recordsFor(offset: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (offset * 31 + i) & 0xff;
  return b;
}

let server: Server | undefined;
let conn: Connection | undefined;

afterEach(async () => {
  conn?.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/**
 * A broker stand-in: answers ApiVersions and Fetch (records sized by the fetch's partition max
 * bytes, filled from its fetch offset), and writes what it owes in pieces of random size.
 */
async function startServer(seed: number, maxPiece: number): Promise<number> {
  const rnd = prng(seed);
  server = createServer((socket: Socket) => {
    let inbound = Buffer.alloc(0);
    socket.setNoDelay(true);
    socket.on('error', () => undefined); // the client closing first resets it
    const outbound: Buffer[] = [];
    let flushing = false;
    // Each write takes `n` bytes across response boundaries, so responses share writes too.
    const step = (): void => {
      if (outbound.length === 0 || socket.destroyed) {
        flushing = false;
        return;
      }
      let n = Math.max(1, Math.floor(rnd() * maxPiece));
      const piece: Buffer[] = [];
      while (n > 0 && outbound.length > 0) {
        const head = outbound[0]!;
        const k = Math.min(n, head.length);
        piece.push(head.subarray(0, k));
        if (k === head.length) outbound.shift();
        else outbound[0] = head.subarray(k);
        n -= k;
      }
      socket.write(Buffer.concat(piece));
      setImmediate(step);
    };
    const flush = (): void => {
      if (flushing) return;
      flushing = true;
      step();
    };
    socket.on('data', (chunk: Buffer) => {
      inbound = Buffer.concat([inbound, chunk]);
      while (inbound.length >= 4 && inbound.length >= 4 + inbound.readInt32BE(0)) {
        const size = inbound.readInt32BE(0);
        const { header, body } = decodeRequest(inbound.subarray(4, 4 + size));
        inbound = inbound.subarray(4 + size);
        if (header.apiKey === 18) {
          outbound.push(encodeResponse(18, header.apiVersion, header.correlationId, { errorCode: 0, apiKeys: [{ apiKey: 1, minVersion: 4, maxVersion: 12 }], throttleTimeMs: 0 }));
        } else if (header.apiKey === 1) {
          const p = (body as { topics: { partitions: { fetchOffset: number; partitionMaxBytes: number }[] }[] }).topics[0]!.partitions[0]!;
          const partition = {
            partitionIndex: 0,
            errorCode: 0,
            highWatermark: p.fetchOffset + 1,
            lastStableOffset: p.fetchOffset + 1,
            logStartOffset: 0,
            abortedTransactions: null,
            preferredReadReplica: -1,
            records: recordsFor(p.fetchOffset, p.partitionMaxBytes),
          };
          outbound.push(
            encodeResponse(1, header.apiVersion, header.correlationId, { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: 't', partitions: [partition] }] }),
          );
        }
      }
      flush();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

function fetchOf(offset: number, bytes: number) {
  return conn!.request(1, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 64 << 20,
    isolationLevel: 0,
    topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: bytes }] }],
  });
}

describe('client connection framing', () => {
  // Sizes around every boundary the reader has: tiny, its direct-read threshold, its read buffer, and megabytes.
  const sizes = [0, 1, 100, DIRECT_FRAME_BYTES_MIN - 200, DIRECT_FRAME_BYTES_MIN, DIRECT_FRAME_BYTES_MIN + 7, READ_BUFFER_BYTES - 50, READ_BUFFER_BYTES + 3, 3 << 20];

  for (const [seed, maxPiece] of [
    [1, 3],
    [2, 700],
    [3, 70_000],
    [4, 1 << 22],
  ] as const) {
    it(`delivers every response whole and to its request, cut into pieces of up to ${maxPiece} bytes (seed ${seed})`, async () => {
      const port = await startServer(seed, maxPiece);
      conn = await Connection.open({ host: '127.0.0.1', port, clientId: 'framing', connectTimeoutMs: 5_000, requestTimeoutMs: 10_000 });
      const rnd = prng(seed + 100);
      // Pipelined: many requests in flight, so responses also share the server's writes.
      // Pieces of a few bytes take one write each: those runs skip the megabyte responses.
      const some = maxPiece < 1000 ? sizes.filter((n) => n < 1 << 20) : sizes;
      const wanted = Array.from({ length: maxPiece < 10 ? 16 : 60 }, (_, i) => ({ offset: i, bytes: some[Math.floor(rnd() * some.length)]! }));
      const answers = await Promise.all(wanted.map((w) => fetchOf(w.offset, w.bytes)));
      answers.forEach((res, i) => {
        const p = res.responses[0]!.partitions[0]!;
        expect(p.highWatermark).toBe(wanted[i]!.offset + 1);
        expect(p.records?.equals(recordsFor(wanted[i]!.offset, wanted[i]!.bytes)), `response ${i} (${wanted[i]!.bytes} bytes)`).toBe(true);
      });
    }, 60_000);
  }

  it('keeps an unfinished small response when its read buffer fills and moves it to the front', async () => {
    // Back-to-back responses just under the direct-read size fill the read buffer with whole
    // responses and end it with a partial one, which the reader must move before reading on.
    const port = await startServer(5, 3 * READ_BUFFER_BYTES);
    conn = await Connection.open({ host: '127.0.0.1', port, clientId: 'framing', connectTimeoutMs: 5_000, requestTimeoutMs: 10_000 });
    const bytes = DIRECT_FRAME_BYTES_MIN - 300;
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => fetchOf(i, bytes + i)));
    answers.forEach((res, i) => expect(res.responses[0]!.partitions[0]!.records?.equals(recordsFor(i, bytes + i)), `response ${i}`).toBe(true));
  });
});
