/**
 * Requests carrying nulls, on one real node whose log is captured. A request field that the
 * request's version lets be null may be echoed into an answer whose version has no null for it
 * (Metadata v10-11's topic name): the node must answer INVALID_REQUEST for that item, as Kafka
 * does, or close the connection, and never treat the client's null as its own failure (an
 * error-level log line per request). Nulls where no version allows one never decode, and close
 * the connection quietly.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig, type NodeConfig } from '../../src/config.js';
import { handlerFor } from '../../src/gateway/handlers/index.js';
import { BrookNode } from '../../src/node.js';
import { API_SPECS, decodeResponse, encodeRequest, errorCode, inVersionRange, type ApiKey, type ApiSpec, type FieldSpec, type PrimitiveType } from '../../src/protocol/index.js';
import { ensureTopic, frameOf, rawHeader, RawClient } from '../helpers/raw-client.js';
import { tempDir } from '../helpers/tmp.js';

interface LogLine {
  level: number;
  msg: string;
  err?: { message?: string };
}

/** pino's level number for 'error'. */
const ERROR_LEVEL = 50;
const TOPIC = 'null-fields';

const dir = tempDir('brook-null-fields-');
const lines: LogLine[] = [];
let node: BrookNode;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  const config: NodeConfig = { ...defaultConfig(), port: 0, httpPort: 0, workers: 1, logLevel: 'warn', dataDir: dir.dir };
  node = await BrookNode.start(config, { logger: pino({ level: 'warn' }, sink) });
  const c = await connect();
  try {
    await ensureTopic(c, TOPIC);
  } finally {
    c.close();
  }
}, 60_000);

afterAll(async () => {
  await node?.stop();
  dir.cleanup();
}, 60_000);

beforeEach(() => {
  lines.length = 0;
});

function connect(): Promise<RawClient> {
  return RawClient.connect(node.advertised.host, node.advertised.port, { clientId: 'null-fields' });
}

function errorLines(): string[] {
  return lines.filter((l) => l.level >= ERROR_LEVEL).map((l) => `${l.msg}: ${l.err?.message ?? ''}`);
}

function int16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(n, 0);
  return b;
}

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
}

function str(s: string): Buffer {
  return Buffer.concat([int16(Buffer.byteLength(s)), Buffer.from(s)]);
}

describe('Metadata topic names', () => {
  it('a null name in v10 and v11 (whose answer has no null name) is answered INVALID_REQUEST with an empty name', async () => {
    const c = await connect();
    try {
      for (const version of [10, 11]) {
        const unknownId = randomUUID();
        const res = await c.request(3, version, { topics: [{ name: null, topicId: unknownId }, { name: TOPIC }], allowAutoTopicCreation: false }, 5_000);
        expect(res.topics.map((t) => [t.name, t.errorCode])).toEqual([
          ['', errorCode('INVALID_REQUEST')],
          [TOPIC, 0],
        ]);
        expect(res.topics[0]!.topicId).toBe(unknownId);
        expect(res.topics[1]!.partitions.length).toBeGreaterThan(0);
      }
      // v12 carries the null name back, with the unknown id's own error.
      const v12 = await c.request(3, 12, { topics: [{ name: null, topicId: randomUUID() }] }, 5_000);
      expect(v12.topics.map((t) => [t.name, t.errorCode])).toEqual([[null, errorCode('UNKNOWN_TOPIC_ID')]]);
      expect(c.closed).toBe(false);
    } finally {
      c.close();
    }
    expect(errorLines()).toEqual([]);
  });

  it('an empty name before v10 (no topic ids yet) is a name, refused as one', async () => {
    const c = await connect();
    try {
      for (const version of [1, 4, 8, 9]) {
        const res = await c.request(3, version, { topics: [{ name: '' }], allowAutoTopicCreation: true }, 5_000);
        expect(res.topics.map((t) => t.name)).toEqual(['']);
        expect(res.topics[0]!.errorCode).toBe(errorCode('INVALID_TOPIC_EXCEPTION'));
      }
      expect(c.closed).toBe(false);
    } finally {
      c.close();
    }
    expect(errorLines()).toEqual([]);
  });
});

describe('nulls where no version allows one', () => {
  it('CreateTopics, DeleteTopics, DescribeConfigs, OffsetCommit and Metadata v0 with such a null close the connection quietly', async () => {
    const frames: [string, Buffer][] = [
      // CreateTopics v2: one topic, name null.
      ['CreateTopics v2 name', frameOf(Buffer.concat([rawHeader(19, 2, 1, 'c'), int32(1), int16(-1), int32(1), int16(1), int32(0), int32(0), int32(1000), Buffer.from([0])]))],
      // DeleteTopics v1: topic names [null].
      ['DeleteTopics v1 name', frameOf(Buffer.concat([rawHeader(20, 1, 1, 'c'), int32(1), int16(-1), int32(1000)]))],
      // DescribeConfigs v1: one topic resource, name null, all keys.
      ['DescribeConfigs v1 resourceName', frameOf(Buffer.concat([rawHeader(32, 1, 1, 'c'), int32(1), Buffer.from([2]), int16(-1), int32(-1), Buffer.from([0])]))],
      // OffsetCommit v2: group id null.
      ['OffsetCommit v2 groupId', frameOf(Buffer.concat([rawHeader(8, 2, 1, 'c'), int16(-1), int32(-1), str('m'), Buffer.alloc(8), int32(0)]))],
      // Metadata v0: a null topic list (null means every topic only from v1).
      ['Metadata v0 topics', frameOf(Buffer.concat([rawHeader(3, 0, 1, 'c'), int32(-1)]))],
    ];
    for (const [label, frame] of frames) {
      const c = await connect();
      try {
        c.sendRaw(frame);
        expect(await c.waitClosed(2_000), label).toBe(true);
        expect(c.frames, label).toEqual([]);
      } finally {
        c.close();
      }
    }
    expect(errorLines()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Every field that a served request version lets be null, sent as null.

/** Plausible values for every other field: short strings, zero numbers, one element per array. */
function primitive(f: FieldSpec, type: PrimitiveType): unknown {
  switch (type) {
    case 'string':
      return f.name === 'name' || f.name === 'topic' ? TOPIC : 'null-fields';
    case 'bool':
      return false;
    case 'uuid':
      return '00000000-0000-0000-0000-000000000000';
    case 'bytes':
      return Buffer.alloc(0);
    case 'records':
      return null;
    // acks, partition counts and replication factors of -1 mean "all" and "the default".
    default:
      return ['acks', 'numPartitions', 'replicationFactor'].includes(f.name) ? -1 : 0;
  }
}

function structWith(fields: readonly FieldSpec[], version: number, nullAt: string, path: string): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) {
    if (!inVersionRange(f.versions, version)) continue;
    const here = `${path}.${f.name}`;
    if (here === nullAt) o[f.name] = null;
    else if (f.type === 'struct') o[f.name] = structWith(f.fields ?? [], version, nullAt, here);
    else if (f.type === 'array') {
      o[f.name] = [f.items === 'struct' ? structWith(f.fields ?? [], version, nullAt, here) : primitive(f, f.items as PrimitiveType)];
    } else o[f.name] = primitive(f, f.type);
  }
  return o;
}

function nullablePaths(fields: readonly FieldSpec[], version: number, path = ''): string[] {
  return fields.flatMap((f) => {
    if (!inVersionRange(f.versions, version)) return [];
    const here = `${path}.${f.name}`;
    return [...(inVersionRange(f.nullableVersions, version) ? [here] : []), ...nullablePaths(f.fields ?? [], version, here)];
  });
}

const served = Object.values<ApiSpec>(API_SPECS).flatMap((api) => {
  const entry = handlerFor(api.apiKey);
  if (!entry) return [];
  const cases: { label: string; apiKey: ApiKey; version: number; body: Record<string, unknown> }[] = [];
  for (let v = entry.minVersion; v <= entry.maxVersion; v++) {
    for (const nullAt of nullablePaths(api.request.fields, v)) {
      cases.push({ label: `${api.name} v${v} ${nullAt}`, apiKey: api.apiKey, version: v, body: structWith(api.request.fields, v, nullAt, '') });
    }
  }
  return cases;
});

describe('every nullable request field, null', () => {
  it('is answered (or the connection closed) without an error-level log line', async () => {
    expect(served.length).toBeGreaterThan(50);
    const outcomes: string[] = [];
    let c = await connect();
    try {
      for (const s of served) {
        if (c.closed) c = await connect();
        try {
          await c.request(s.apiKey, s.version, s.body, 10_000);
        } catch (err) {
          if (!c.closed) throw new Error(`${s.label}: ${(err as Error).message}`, { cause: err });
          outcomes.push(`${s.label}: closed`);
        }
      }
    } finally {
      c.close();
    }
    // Closing is allowed, but none of these requests is undecodable: today each gets an answer.
    expect(outcomes).toEqual([]);
    expect(errorLines()).toEqual([]);
  }, 120_000);
});

describe('fuzz', () => {
  it('mutated Metadata requests of every version are answered or closed without an error-level log line', async () => {
    const bases: Buffer[] = [];
    for (let v = 0; v <= 12; v++) {
      bases.push(encodeRequest(3, v, 7, 'fz', structWith(API_SPECS[3].request.fields, v, '', '') as never).subarray(4));
    }
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: bases.length - 1 }),
        fc.array(fc.record({ at: fc.nat(), byte: fc.oneof(fc.constant(0), fc.constant(0xff), fc.integer({ min: 0, max: 255 })) }), { minLength: 1, maxLength: 3 }),
        async (which, sets) => {
          const frame = Buffer.from(bases[which]!);
          // The header (api key, version, correlation id) stays; the body and client id change.
          for (const s of sets) frame[8 + (s.at % (frame.length - 8))] = s.byte;
          const c = await connect();
          try {
            const answer = c.expect(7, (f) => decodeResponse(3, which, f), 5_000).catch(() => undefined);
            c.sendRaw(frameOf(frame));
            await Promise.race([answer, c.waitClosed(5_000)]);
          } finally {
            c.close();
          }
          expect(errorLines()).toEqual([]);
        },
      ),
      { numRuns: 400, seed: 20261127 },
    );
  }, 120_000);
});
