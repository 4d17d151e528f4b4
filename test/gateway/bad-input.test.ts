/**
 * The Kafka gateway against hostile or broken input, on one real in-process node: a corpus of
 * malformed frames (each on its own connection), malformed record batches, memory bounds on
 * announced frame sizes, and a seeded fuzz of mutated valid requests. After each input the
 * node must have answered properly (a response with a Kafka error code) or closed that
 * connection, and a well-behaved client on another connection must still get answers.
 */
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { freePort, startChildNode, type ChildNode } from '../crash/child-node.js';
import { tempDir } from '../helpers/tmp.js';
import { decodeRequest, decodeResponse, encodeRequest, type ApiKey } from '../../src/protocol/index.js';
import { buildBatch } from '../../src/storage/record-batch.js';
import { ensureTopic, fetchAll, frameOf, latestOffset, produceBatch, rawHeader, RawClient } from '../helpers/raw-client.js';

let broker: EmbeddedBroker;
const HEALTH = 'bad-input-health';
let healthRound = 0;

beforeAll(async () => {
  broker = await startBroker({ logLevel: 'silent' });
  const c = await connect();
  try {
    await ensureTopic(c, HEALTH);
  } finally {
    c.close();
  }
}, 60_000);

afterAll(async () => {
  await broker?.stop();
}, 60_000);

function connect(): Promise<RawClient> {
  return RawClient.connect(broker.host, broker.port, { clientId: 'bad-input' });
}

/** A well-behaved client on a fresh connection: ApiVersions, Metadata, a produce and its fetch. */
async function assertHealthy(): Promise<void> {
  const c = await connect();
  try {
    const av = await c.request(18, 3, { clientSoftwareName: 'brook-test', clientSoftwareVersion: '1.0' }, 5_000);
    expect(av.errorCode).toBe(0);
    expect(av.apiKeys.map((k) => k.apiKey)).toEqual(expect.arrayContaining([0, 1, 2, 3, 18]));
    const md = await c.request(3, 12, { topics: [{ name: HEALTH }], allowAutoTopicCreation: false }, 5_000);
    expect(md.topics[0]!.errorCode).toBe(0);
    const value = `health-${process.pid}-${healthRound++}`;
    const p = await produceBatch(c, HEALTH, 0, buildBatch({ records: [{ key: 'k', value }] }), -1, 5_000);
    expect(p.errorCode).toBe(0);
    const { records } = await fetchAll(c, HEALTH, 0, p.baseOffset, 5_000);
    expect(records[0]).toEqual({ offset: p.baseOffset, key: 'k', value });
  } finally {
    c.close();
  }
}

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
}

function int16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(n, 0);
  return b;
}

/** Unsigned varint, as Kafka writes compact lengths and tagged-field counts. */
function uvarint(n: number): Buffer {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

const CLOSE_MS = 2_000;

/** Sends `bytes` on a fresh connection and asserts the node closes it within `CLOSE_MS`, then that it is healthy. */
async function expectClosed(bytes: Buffer, opts: { before?: (c: RawClient) => Promise<void> } = {}): Promise<void> {
  const c = await connect();
  try {
    if (opts.before) await opts.before(c);
    c.sendRaw(bytes);
    expect(await c.waitClosed(CLOSE_MS)).toBe(true);
    expect(c.unmatched).toEqual([]);
  } finally {
    c.close();
  }
  await assertHealthy();
}

async function trust(c: RawClient): Promise<void> {
  const av = await c.request(18, 3, { clientSoftwareName: 'brook-test', clientSoftwareVersion: '1.0' }, 5_000);
  expect(av.errorCode).toBe(0);
}

describe('malformed frames', () => {
  it('negative frame size closes the connection', async () => {
    await expectClosed(Buffer.concat([int32(-1), Buffer.alloc(16)]));
    await expectClosed(Buffer.concat([int32(-2147483648), Buffer.alloc(16)]));
  });

  it('a frame size above the untrusted cap closes a fresh connection', async () => {
    await expectClosed(Buffer.concat([int32(2 * 1024 * 1024), Buffer.alloc(64)]));
  });

  it('a frame size above 100 MiB closes a trusted connection, and a large legal size is awaited', async () => {
    await expectClosed(Buffer.concat([int32(100 * 1024 * 1024 + 1), Buffer.alloc(64)]), { before: trust });
    // After a well-formed request, a 2 MiB frame is legal: the node waits for its bytes.
    const c = await connect();
    try {
      await trust(c);
      c.sendRaw(Buffer.concat([int32(2 * 1024 * 1024), Buffer.alloc(64)]));
      expect(await c.waitClosed(300)).toBe(false);
    } finally {
      c.close();
    }
    await assertHealthy();
  });

  it('a frame announcing 1 GiB then sending little is closed at once', async () => {
    const c = await connect();
    try {
      const t0 = Date.now();
      c.sendRaw(Buffer.concat([int32(1024 * 1024 * 1024), Buffer.from('abcdefgh')]));
      expect(await c.waitClosed(CLOSE_MS)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(1_000);
    } finally {
      c.close();
    }
    await assertHealthy();
  });

  it('a truncated frame is awaited, and closed when the client goes away', async () => {
    const whole = encodeRequest(18, 3, 7, 'bad-input', { clientSoftwareName: 'x', clientSoftwareVersion: '1' });
    for (const keep of [4, 5, 10, whole.length - 1]) {
      const c = await connect();
      try {
        c.sendRaw(whole.subarray(0, keep));
        expect(await c.waitClosed(200)).toBe(false);
        c.end();
        expect(await c.waitClosed(CLOSE_MS)).toBe(true);
        expect(c.frames).toEqual([]);
      } finally {
        c.close();
      }
    }
    // A size of 1000 with 20 bytes, on a trusted connection.
    const c = await connect();
    try {
      await trust(c);
      c.sendRaw(Buffer.concat([int32(1000), Buffer.alloc(20, 1)]));
      expect(await c.waitClosed(200)).toBe(false);
      c.end();
      expect(await c.waitClosed(CLOSE_MS)).toBe(true);
    } finally {
      c.close();
    }
    await assertHealthy();
  });

  it('INT32_MAX array counts in Metadata and Produce bodies close the connection', async () => {
    const t0 = Date.now();
    // Metadata v4 (int32 counts): topics = INT32_MAX then one short name.
    await expectClosed(frameOf(Buffer.concat([rawHeader(3, 4, 1, 'c'), int32(0x7fffffff), int16(1), Buffer.from('a'), Buffer.from([1])])));
    // Metadata v12 (compact counts): topics = 2^31 - 2 (varint of 2^31 - 1).
    await expectClosed(frameOf(Buffer.concat([rawHeader(3, 12, 1, 'c', true), uvarint(0x7fffffff), Buffer.alloc(20)])));
    // Metadata v12 with the largest 5-byte varint (0xffffffff).
    await expectClosed(frameOf(Buffer.concat([rawHeader(3, 12, 1, 'c', true), uvarint(0xffffffff), Buffer.alloc(20)])));
    // Produce v3: transactionalId null, acks -1, timeout, topicData = INT32_MAX.
    await expectClosed(frameOf(Buffer.concat([rawHeader(0, 3, 1, 'c'), int16(-1), int16(-1), int32(1000), int32(0x7fffffff), int16(1), Buffer.from('t')])));
    // Produce v3: one topic whose partitionData count is INT32_MAX.
    await expectClosed(frameOf(Buffer.concat([rawHeader(0, 3, 1, 'c'), int16(-1), int16(-1), int32(1000), int32(1), int16(1), Buffer.from('t'), int32(0x7fffffff), int32(0)])));
    // Produce v9 (compact): topicData count of 2^31 - 2.
    await expectClosed(frameOf(Buffer.concat([rawHeader(0, 9, 1, 'c', true), uvarint(0), int16(-1), int32(1000), uvarint(0x7fffffff), Buffer.alloc(20)])));
    // Produce v9: a records field announcing 2^31 - 2 bytes.
    await expectClosed(
      frameOf(
        Buffer.concat([
          rawHeader(0, 9, 1, 'c', true),
          uvarint(0),
          int16(-1),
          int32(1000),
          uvarint(2),
          uvarint(2),
          Buffer.from('t'),
          uvarint(2),
          int32(0),
          uvarint(0x7fffffff),
          Buffer.alloc(20),
        ]),
      ),
    );
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('huge tagged-field counts and sizes in a flexible header close the connection', async () => {
    const body = Buffer.concat([uvarint(2), Buffer.from('x'), uvarint(2), Buffer.from('1'), uvarint(0)]);
    await expectClosed(frameOf(Buffer.concat([rawHeader(18, 3, 1, 'c', true, uvarint(0x7fffffff)), body])));
    await expectClosed(frameOf(Buffer.concat([rawHeader(18, 3, 1, 'c', true, uvarint(0xffffffff)), body])));
    // One tagged field whose size is 2^31 - 1.
    await expectClosed(frameOf(Buffer.concat([rawHeader(18, 3, 1, 'c', true, Buffer.concat([uvarint(1), uvarint(0), uvarint(0x7fffffff)])), body])));
    // Same in a Metadata v12 body's trailing tagged fields.
    await expectClosed(frameOf(Buffer.concat([rawHeader(3, 12, 1, 'c', true), uvarint(0), Buffer.from([1, 0]), uvarint(0x7fffffff)])));
  });

  it('overlong varints close the connection', async () => {
    const overlong = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    // As the header's tagged-field count.
    await expectClosed(frameOf(Buffer.concat([rawHeader(18, 3, 1, 'c', true, overlong), uvarint(2), Buffer.from('x'), uvarint(2), Buffer.from('1'), uvarint(0)])));
    // As ApiVersions v3's clientSoftwareName length.
    await expectClosed(frameOf(Buffer.concat([rawHeader(18, 3, 1, 'c', true), overlong, Buffer.from('x'), uvarint(2), Buffer.from('1'), uvarint(0)])));
    // As Metadata v12's topics count.
    await expectClosed(frameOf(Buffer.concat([rawHeader(3, 12, 1, 'c', true), overlong, Buffer.alloc(8)])));
    // A varint that never ends before the frame does.
    await expectClosed(frameOf(Buffer.concat([rawHeader(3, 12, 1, 'c', true), Buffer.alloc(12, 0xff)])));
  });

  it('unknown api keys close the connection', async () => {
    await expectClosed(frameOf(Buffer.concat([rawHeader(9999, 0, 1, 'c'), Buffer.alloc(8)])));
    await expectClosed(frameOf(Buffer.concat([rawHeader(-1, 0, 1, 'c'), Buffer.alloc(8)])));
    await expectClosed(frameOf(Buffer.concat([rawHeader(32767, 32767, 1, 'c'), Buffer.alloc(8)])));
    // Frames too short for a header (the zero-length frame is tested against a child process below).
    await expectClosed(frameOf(Buffer.from([0, 18, 0])));
    await expectClosed(Buffer.concat([int32(0), int32(0)]));
  });

  it('unsupported Produce versions (v2, v99) close the connection', async () => {
    const batch = buildBatch({ records: [{ value: 'v' }] });
    // v2 is a version the codec knows but the gateway does not serve.
    await expectClosed(encodeRequest(0, 2, 1, 'c', { acks: -1, timeoutMs: 1000, topicData: [{ name: HEALTH, partitionData: [{ index: 0, records: batch }] }] }));
    await expectClosed(frameOf(Buffer.concat([rawHeader(0, 99, 1, 'c', true), uvarint(0), int16(-1), int32(1000), uvarint(1), uvarint(0)])));
    await expectClosed(frameOf(Buffer.concat([rawHeader(0, -1, 1, 'c'), Buffer.alloc(16)])));
  });

  it('ApiVersions v99 answers error 35 in a v0 body with the api list, and the connection stays usable', async () => {
    const c = await connect();
    try {
      for (const version of [99, 5, 32767]) {
        const correlationId = c.allocateCorrelationId();
        const res = c.expect(correlationId, (f) => decodeResponse(18, 0, f), 5_000);
        c.sendRaw(frameOf(Buffer.concat([rawHeader(18, version, correlationId, 'c', true), uvarint(2), Buffer.from('x'), uvarint(2), Buffer.from('1'), uvarint(0)])));
        const r = await res;
        expect(r.correlationId).toBe(correlationId);
        expect(r.body.errorCode).toBe(35);
        const byKey = new Map(r.body.apiKeys.map((k) => [k.apiKey, k]));
        expect(byKey.get(18)).toMatchObject({ minVersion: 0, maxVersion: 4 });
        expect(byKey.get(0)).toMatchObject({ minVersion: 0, maxVersion: 11 }); // v0-2 advertised for librdkafka's codec check, not served
        expect(byKey.get(1)).toMatchObject({ minVersion: 4, maxVersion: 17 });
        expect(byKey.get(3)).toMatchObject({ minVersion: 0, maxVersion: 12 });
        expect(byKey.get(2)).toMatchObject({ minVersion: 1, maxVersion: 9 });
      }
      await trust(c);
      const md = await c.request(3, 12, { topics: [{ name: HEALTH }] }, 5_000);
      expect(md.topics[0]!.errorCode).toBe(0);
      expect(c.closed).toBe(false);
    } finally {
      c.close();
    }
    await assertHealthy();
  });
});

/**
 * A zero-length frame whose size prefix ends a TCP chunk made the gateway throw from its socket
 * 'data' handler (Connection.take(0) on an empty chunk list): an uncaught exception that kills
 * the node's process. Tested against a child process so that failure is observable here.
 */
describe('a zero-length frame (node as a child process)', () => {
  let child: ChildNode | undefined;
  const dir = tempDir('brook-zero-frame-');

  afterAll(async () => {
    await child?.kill9().catch(() => undefined);
    dir.cleanup();
  });

  it('does not kill the node, on a fresh connection or after a well-formed request', async () => {
    child = await startChildNode({ port: await freePort(), dataDir: dir.dir, workers: 1 });
    const send = async (before: boolean) => {
      const c = await RawClient.connect(child!.host, child!.port);
      try {
        if (before) await trust(c);
        c.sendRaw(int32(0)); // exactly 00 00 00 00, in a write of its own
        expect(await c.waitClosed(CLOSE_MS)).toBe(true);
      } finally {
        c.close();
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(child!.alive(), `node died:\n${child!.output().slice(-2000)}`).toBe(true);
      const ok = await RawClient.connect(child!.host, child!.port);
      try {
        expect((await ok.request(18, 3, {}, 5_000)).errorCode).toBe(0);
      } finally {
        ok.close();
      }
    };
    await send(false);
    await send(true);
  }, 40_000);
});

describe('malformed record batches', () => {
  const A = 'bad-batch-a';
  const B = 'bad-batch-b';

  beforeAll(async () => {
    const c = await connect();
    try {
      await ensureTopic(c, A);
      await ensureTopic(c, B);
      expect((await produceBatch(c, A, 0, buildBatch({ records: [{ value: 'seed-a' }] }))).errorCode).toBe(0);
    } finally {
      c.close();
    }
  });

  function recrc(batch: Buffer): Buffer {
    batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
    return batch;
  }

  /** Produces `bad` to A and a good batch to B in one request; A must fail with a nonzero code, B succeed, A's log unchanged. */
  async function rejects(bad: Buffer, expectedCode?: number): Promise<number> {
    const c = await connect();
    try {
      const before = await latestOffset(c, A, 0);
      const beforeB = await latestOffset(c, B, 0);
      const res = await c.request(
        0,
        9,
        {
          acks: -1,
          timeoutMs: 5_000,
          topicData: [
            { name: A, partitionData: [{ index: 0, records: bad }] },
            { name: B, partitionData: [{ index: 0, records: buildBatch({ records: [{ value: 'good' }] }) }] },
          ],
        },
        10_000,
      );
      const a = res.responses.find((t) => t.name === A)!.partitionResponses[0]!;
      const b = res.responses.find((t) => t.name === B)!.partitionResponses[0]!;
      if (expectedCode !== undefined) expect(a.errorCode).toBe(expectedCode);
      expect(a.errorCode).not.toBe(0);
      expect(a.baseOffset).toBe(-1);
      expect(b.errorCode).toBe(0);
      expect(b.baseOffset).toBe(beforeB);
      expect(await latestOffset(c, A, 0)).toBe(before);
      expect(await latestOffset(c, B, 0)).toBe(beforeB + 1);
      expect(c.closed).toBe(false);
      return a.errorCode;
    } finally {
      c.close();
    }
  }

  const good = () =>
    buildBatch({
      records: [
        { key: 'k', value: 'one' },
        { key: 'k', value: 'two' },
        { key: 'k', value: 'three' },
      ],
    });

  it('a bad CRC is CORRUPT_MESSAGE for its partition; the other partition in the request succeeds', async () => {
    const bad = good();
    bad.writeUInt32BE((bad.readUInt32BE(17) ^ 1) >>> 0, 17);
    await rejects(bad, 2);
    const flipped = good();
    flipped[flipped.length - 1]! ^= 0xff; // the body changes, the CRC does not
    await rejects(flipped, 2);
    await assertHealthy();
  });

  it('a batchLength that disagrees with the bytes is rejected', async () => {
    const longer = good();
    longer.writeInt32BE(longer.readInt32BE(8) + 10, 8);
    await rejects(longer);
    const shorter = good();
    shorter.writeInt32BE(shorter.readInt32BE(8) - 5, 8);
    await rejects(shorter);
    const tiny = good();
    tiny.writeInt32BE(0, 8);
    await rejects(tiny);
    const negative = good();
    negative.writeInt32BE(-1, 8);
    await rejects(negative);
    const huge = good();
    huge.writeInt32BE(0x7fffffff, 8);
    await rejects(huge);
    // A valid batch followed by trailing garbage.
    await rejects(Buffer.concat([good(), Buffer.from([1, 2, 3])]));
    // A batch cut short.
    await rejects(good().subarray(0, 40));
    await assertHealthy();
  });

  it('a record count that disagrees with lastOffsetDelta is rejected', async () => {
    const more = good();
    more.writeInt32BE(4, 57);
    await rejects(recrc(more));
    const fewer = good();
    fewer.writeInt32BE(2, 57);
    await rejects(recrc(fewer));
    const delta = good();
    delta.writeInt32BE(5, 23);
    await rejects(recrc(delta));
    const negativeCount = good();
    negativeCount.writeInt32BE(-1, 57);
    await rejects(recrc(negativeCount));
    const maxCount = good();
    maxCount.writeInt32BE(0x7fffffff, 57);
    maxCount.writeInt32BE(0x7ffffffe, 23);
    await rejects(recrc(maxCount));
    await assertHealthy();
  });

  it('magic 0, 1 and 3 are rejected', async () => {
    for (const magic of [0, 1, 3]) {
      const b = good();
      b.writeInt8(magic, 16);
      await rejects(b);
    }
    await assertHealthy();
  });
});

describe('well-formed requests with hostile values', () => {
  it('answer with Kafka error codes, on a connection that stays open', async () => {
    const c = await connect();
    try {
      const batch = buildBatch({ records: [{ value: 'x' }] });
      const before = await latestOffset(c, HEALTH, 0);
      // acks=2: INVALID_REQUIRED_ACKS (21).
      const badAcks = await c.request(0, 9, { acks: 2, timeoutMs: 1000, topicData: [{ name: HEALTH, partitionData: [{ index: 0, records: batch }] }] });
      expect(badAcks.responses[0]!.partitionResponses[0]!.errorCode).toBe(21);
      // Partitions that do not exist: UNKNOWN_TOPIC_OR_PARTITION (3).
      for (const index of [-1, 1, 0x7fffffff]) {
        const r = await c.request(0, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: HEALTH, partitionData: [{ index, records: batch }] }] });
        expect(r.responses[0]!.partitionResponses[0]!.errorCode, `produce to partition ${index}`).toBe(3);
      }
      // A topic that does not exist, and one whose name is not legal.
      for (const name of ['no-such-topic-xyz', '../../etc', 'a'.repeat(300), '']) {
        const r = await c.request(0, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name, partitionData: [{ index: 0, records: batch }] }] });
        expect(r.responses[0]!.partitionResponses[0]!.errorCode, `produce to ${JSON.stringify(name.slice(0, 20))}`).not.toBe(0);
      }
      // Metadata auto-creation of illegal names: INVALID_TOPIC_EXCEPTION (17).
      for (const name of ['../../escape', 'a/b', 'a'.repeat(250), '.', '..', 'white space']) {
        const md = await c.request(3, 12, { topics: [{ name }], allowAutoTopicCreation: true });
        expect(md.topics[0]!.errorCode, `metadata for ${JSON.stringify(name.slice(0, 20))}`).toBe(17);
      }
      // A null record set, and an empty one.
      for (const records of [null, Buffer.alloc(0)]) {
        const r = await c.request(0, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: HEALTH, partitionData: [{ index: 0, records }] }] });
        expect(r.responses[0]!.partitionResponses[0]!.errorCode).not.toBe(0);
      }
      // acks=0 with a corrupt batch: no response, the connection stays usable.
      const corrupt = Buffer.from(batch);
      corrupt[corrupt.length - 1]! ^= 0xff;
      c.sendRaw(encodeRequest(0, 9, c.allocateCorrelationId(), 'c', { acks: 0, timeoutMs: 1000, topicData: [{ name: HEALTH, partitionData: [{ index: 0, records: corrupt }] }] }));
      // Fetch at hostile offsets and sizes.
      for (const [fetchOffset, partitionMaxBytes] of [
        [-1, 1024],
        [-0x80000000, 1024],
        [2 ** 52, 1024],
        [0, -1],
        [0, 0],
      ] as const) {
        const r = await c.request(
          1,
          12,
          {
            maxWaitMs: 0,
            minBytes: 0,
            maxBytes: partitionMaxBytes,
            sessionEpoch: -1,
            topics: [{ topic: HEALTH, partitions: [{ partition: 0, fetchOffset, partitionMaxBytes }] }],
          },
          5_000,
        );
        const p = r.responses[0]!.partitions[0]!;
        if (fetchOffset < 0 || fetchOffset > 1e6) expect(p.errorCode, `fetch at ${fetchOffset}`).toBe(1);
      }
      // Fetch of a partition that does not exist, with a long max wait: an error, not a long poll.
      const t0 = Date.now();
      const nf = await c.request(
        1,
        12,
        {
          maxWaitMs: 30_000,
          minBytes: 1,
          sessionEpoch: -1,
          topics: [{ topic: HEALTH, partitions: [{ partition: 7, fetchOffset: 0, partitionMaxBytes: 1024 }] }],
        },
        10_000,
      );
      expect(nf.responses[0]!.partitions[0]!.errorCode).toBe(3);
      expect(Date.now() - t0).toBeLessThan(5_000);
      // ListOffsets with an odd timestamp (Kafka treats unknown negatives as a timestamp search): any proper answer.
      const lo = await c.request(2, 7, { replicaId: -1, topics: [{ name: HEALTH, partitions: [{ partitionIndex: 0, timestamp: -99 }] }] });
      expect(lo.topics[0]!.partitions[0]!.partitionIndex).toBe(0);
      expect(await latestOffset(c, HEALTH, 0)).toBe(before);
      expect(c.closed).toBe(false);
    } finally {
      c.close();
    }
    await assertHealthy();
  });
});

describe('memory', () => {
  function rss(): number {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage().rss;
  }

  it('200 frames each announcing 512 MiB do not grow RSS', async () => {
    const before = rss();
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const c = await connect();
          try {
            if (i % 2 === 1) await trust(c);
            c.sendRaw(Buffer.concat([int32(512 * 1024 * 1024), Buffer.alloc(1024, 7)]));
            expect(await c.waitClosed(CLOSE_MS)).toBe(true);
          } finally {
            c.close();
          }
        }),
      );
    }
    const growth = rss() - before;
    console.log(`RSS growth after 200 frames announcing 512 MiB: ${(growth / 1024 / 1024).toFixed(1)} MiB`);
    expect(growth).toBeLessThan(64 * 1024 * 1024);
    await assertHealthy();
  });

  it('40 trusted connections each announcing a legal 99 MiB frame and sending 64 KiB do not grow RSS', async () => {
    const before = rss();
    const clients: RawClient[] = [];
    try {
      for (let i = 0; i < 40; i++) {
        const c = await connect();
        clients.push(c);
        await trust(c);
        c.sendRaw(Buffer.concat([int32(99 * 1024 * 1024), Buffer.alloc(64 * 1024, 7)]));
      }
      await new Promise((r) => setTimeout(r, 300));
      for (const c of clients) expect(c.closed).toBe(false);
      const growth = rss() - before;
      console.log(`RSS growth with 40 connections awaiting 99 MiB frames: ${(growth / 1024 / 1024).toFixed(1)} MiB`);
      expect(growth).toBeLessThan(64 * 1024 * 1024);
    } finally {
      for (const c of clients) c.close();
    }
    await assertHealthy();
  });
});

// ---------------------------------------------------------------------------------------
// Fuzz: random mutations of valid request frames.

const FUZZ_TOPIC = 'bad-input-fuzz';
const FOLLOW_ID = 0x7eadbeef;

function baseFrames(): Buffer[] {
  const batch = buildBatch({
    records: [
      { key: 'fk', value: 'fuzz-value', headers: [{ key: 'h', value: 'v' }] },
      { key: null, value: 'two' },
    ],
    timestampMs: 1_700_000_000_000,
  });
  // Frames without their size prefix; correlation ids 1..4.
  return [
    encodeRequest(0, 9, 1, 'fuzz', { acks: -1, timeoutMs: 2_000, topicData: [{ name: FUZZ_TOPIC, partitionData: [{ index: 0, records: batch }] }] }),
    encodeRequest(1, 12, 2, 'fuzz', {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 65536,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: FUZZ_TOPIC, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 65536 }] }],
    }),
    encodeRequest(3, 12, 3, 'fuzz', { topics: [{ name: FUZZ_TOPIC }], allowAutoTopicCreation: false }),
    encodeRequest(18, 3, 4, 'fuzz', { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1.0' }),
  ].map((f) => f.subarray(4));
}

type Mutation =
  | { kind: 'bit'; pos: number; bit: number }
  | { kind: 'byte'; pos: number; value: number }
  | { kind: 'int32'; pos: number; value: number }
  | { kind: 'insert'; pos: number; bytes: number[] }
  | { kind: 'delete'; pos: number; len: number }
  | { kind: 'dup'; pos: number; len: number };

const interestingInt32 = fc.constantFrom(0, 1, -1, 0x7fffffff, -0x80000000, 0x7ffffffe, 255, 256, 65535, 0x10000000);

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('bit' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('byte' as const), pos: fc.nat(), value: fc.oneof(fc.constantFrom(0, 0x7f, 0x80, 0xff, 0xfe, 1), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('int32' as const), pos: fc.nat(), value: interestingInt32 }),
  fc.record({ kind: fc.constant('insert' as const), pos: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('dup' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 32 }) }),
);

function mutate(frame: Buffer, mutations: Mutation[]): Buffer {
  let b = Buffer.from(frame);
  for (const m of mutations) {
    if (b.length === 0) break;
    const pos = m.pos % b.length;
    switch (m.kind) {
      case 'bit':
        b[pos]! ^= 1 << m.bit;
        break;
      case 'byte':
        b[pos] = m.value;
        break;
      case 'int32':
        if (pos + 4 <= b.length) b.writeInt32BE(m.value, pos);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, pos), Buffer.from(m.bytes), b.subarray(pos)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, pos), b.subarray(Math.min(b.length, pos + m.len))]);
        break;
      case 'dup':
        b = Buffer.concat([b.subarray(0, pos + m.len), b.subarray(pos, Math.min(b.length, pos + m.len)), b.subarray(pos + m.len)]);
        break;
    }
  }
  return b;
}

/** How to decode the response the node may send to a (mutated) request frame. */
function responseDecoder(frame: Buffer): ((f: Buffer) => unknown) | null {
  if (frame.length < 8) return null;
  const apiKey = frame.readInt16BE(0);
  const version = frame.readInt16BE(2);
  if (apiKey === 18 && (version < 0 || version > 4)) return (f) => decodeResponse(18, 0, f);
  return (f) => decodeResponse(apiKey as ApiKey, version, f);
}

/** A frame the node may legitimately leave unanswered for a while: a long-poll fetch or an acks=0 produce. */
function mayStayQuiet(frame: Buffer): string | null {
  try {
    const req = decodeRequest(frame);
    if (req.apiKey === 1 && req.body.maxWaitMs > 3_000 && req.body.minBytes > 0) return `long-poll fetch of ${req.body.maxWaitMs} ms`;
    if (req.apiKey === 0 && req.body.timeoutMs > 3_000) return `produce with timeout ${req.body.timeoutMs} ms`;
  } catch {
    return null;
  }
  return null;
}

describe('fuzz', () => {
  beforeAll(async () => {
    const c = await connect();
    try {
      await ensureTopic(c, FUZZ_TOPIC);
    } finally {
      c.close();
    }
  });

  it('mutated Produce v9, Fetch v12, Metadata v12 and ApiVersions v3 frames get well-formed answers or a close', async () => {
    const bases = baseFrames();
    const outcomes = { answered: 0, closed: 0, quiet: 0, truncatedClosed: 0 };
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: bases.length - 1 }),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        fc.oneof({ weight: 19, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 64 }) }),
        async (which, mutations, shortBy) => {
          const frame = mutate(bases[which]!, mutations);
          const c = await connect();
          try {
            if (shortBy > 0) {
              // The size prefix promises more than is sent; the client then goes away.
              c.sendRaw(Buffer.concat([int32(frame.length + shortBy), frame]));
              c.end();
              expect(await c.waitClosed(5_000)).toBe(true);
              outcomes.truncatedClosed++;
              return;
            }
            const decoder = responseDecoder(frame);
            const correlationId = frame.length >= 8 ? frame.readInt32BE(4) : null;
            const answers: Promise<unknown>[] = [];
            let mutatedAnswer: Promise<unknown> | null = null;
            if (decoder && correlationId !== null && correlationId !== FOLLOW_ID) {
              mutatedAnswer = c.expect(correlationId, decoder, 15_000, 'mutated request').catch((err: Error) => err);
              answers.push(mutatedAnswer);
            }
            const follow = c.expect(FOLLOW_ID, (f) => decodeResponse(18, 3, f), 15_000, 'follow-up ApiVersions').catch((err: Error) => err);
            c.sendRaw(frameOf(frame));
            c.sendRaw(encodeRequest(18, 3, FOLLOW_ID, 'fuzz', { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1.0' }));
            // Either the follow-up is answered (in order, after the mutated request) or the node closes.
            const settled = await Promise.race([follow.then(() => 'follow' as const), c.waitClosed(5_000).then((closed) => (closed ? ('closed' as const) : ('quiet' as const)))]);
            if (settled === 'quiet') {
              const why = mayStayQuiet(frame);
              expect(why, `no answer and no close for ${frame.toString('hex')}`).not.toBeNull();
              outcomes.quiet++;
              return;
            }
            if (settled === 'follow') {
              const f = await follow;
              expect(f, `follow-up failed after ${frame.toString('hex')}`).not.toBeInstanceOf(Error);
              expect((f as { body: { errorCode: number } }).body.errorCode).toBe(0);
              outcomes.answered++;
            } else {
              outcomes.closed++;
            }
            // Any response the node did send to the mutated request must decode, for the api and version it names.
            if (mutatedAnswer) {
              const m = await Promise.race([mutatedAnswer, new Promise((r) => setTimeout(() => r('pending'), 100))]);
              if (settled === 'follow' && frame.readInt16BE(0) !== 0) {
                // Non-produce requests always answer; responses come in request order.
                expect(m, `mutated request ${frame.toString('hex')}`).not.toBeInstanceOf(Error);
              } else if (m instanceof Error) {
                expect(m.message, `mutated request ${frame.toString('hex')}`).not.toMatch(/failed to decode/);
              }
            }
            expect(
              c.unmatched.map((u) => u.toString('hex')),
              `unexpected frames after ${frame.toString('hex')}`,
            ).toEqual([]);
          } finally {
            c.close();
          }
        },
      ),
      { numRuns: Number(process.env.BROOK_FUZZ_RUNS ?? 1000), seed: Number(process.env.BROOK_FUZZ_SEED ?? 20240601), endOnFailure: true, interruptAfterTimeLimit: 25_000 },
    );
    console.log(`fuzz outcomes: ${JSON.stringify(outcomes)} in ${Date.now() - started} ms`);
    await assertHealthy();
  }, 90_000);
});
