// Property tests: random bytes and random mutations of valid frames only ever decode or throw one
// of the codec's errors (never RangeError, TypeError or a hang).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { API_SPECS, ProtocolError, UnknownApiError, UnsupportedVersionError, decodeRequest, encodeRequest, type ApiSpec } from '../../src/protocol/index.js';
import { messageValue } from './schema-values.js';

const apis = Object.values<ApiSpec>(API_SPECS);
const RUNS = 3000;
const SEED = 20240601;

function decodesOrRejects(frame: Buffer): boolean {
  try {
    decodeRequest(frame);
    return true;
  } catch (err) {
    if (err instanceof ProtocolError || err instanceof UnknownApiError || err instanceof UnsupportedVersionError) return true;
    throw err;
  }
}

/** Every valid request frame (no size prefix) of every api and version, in both value styles. */
const validFrames: Buffer[] = apis.flatMap((api) => {
  const out: Buffer[] = [];
  for (let v = api.request.validVersions[0]; v <= api.request.validVersions[1]; v++) {
    for (const style of ['full', 'sparse'] as const) {
      out.push(encodeRequest(api.apiKey, v, 7, 'fz', messageValue(api.request, v, style) as never).subarray(4));
    }
  }
  return out;
});

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), byte: fc.constant(0) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), byte: fc.constant(0) }),
);

function mutate(frame: Buffer, ms: { kind: 'set' | 'insert' | 'delete' | 'truncate'; at: number; byte: number }[]): Buffer {
  let b = Buffer.from(frame);
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'set') b[at] = m.byte;
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
    else b = b.subarray(0, at);
  }
  return b;
}

describe('fuzz', () => {
  it('random bytes decode or throw a codec error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesOrRejects(Buffer.from(bytes))),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('random bodies behind valid headers decode or throw a codec error', () => {
    const headerFor = fc.constantFrom(...apis).chain((api) => fc.tuple(fc.constant(api), fc.integer({ min: api.request.validVersions[0], max: api.request.validVersions[1] })));
    fc.assert(
      fc.property(headerFor, fc.uint8Array({ maxLength: 256 }), ([api, v], body) => {
        const head = encodeRequest(api.apiKey, v, 1, 'x', messageValue(api.request, v, 'sparse') as never).subarray(4);
        // Keep the header (api, version, correlation id, client id "x", header tags) and replace the body.
        const headerBytes = 8 + 3 + (api.headerVersions[v]![0] >= 2 ? 1 : 0);
        return decodesOrRejects(Buffer.concat([head.subarray(0, headerBytes), Buffer.from(body)]));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('mutations of valid frames decode or throw a codec error', () => {
    fc.assert(
      fc.property(fc.nat({ max: validFrames.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), (i, ms) => decodesOrRejects(mutate(validFrames[i]!, ms))),
      { numRuns: RUNS * 3, seed: SEED },
    );
  });

  it('every valid frame decodes', () => {
    for (const f of validFrames) expect(() => decodeRequest(f)).not.toThrow();
  });
});
