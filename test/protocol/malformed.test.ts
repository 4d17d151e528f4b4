// Malformed input corpus: every case must end in ProtocolError (or, for a well-formed header that
// names an api/version Brook does not speak, UnknownApiError/UnsupportedVersionError), never in a
// RangeError from Buffer, a hang, or an allocation sized by an unchecked count.
import { describe, expect, it } from 'vitest';
import {
  API_SPECS,
  ProtocolError,
  Reader,
  UnknownApiError,
  UnsupportedVersionError,
  decodeConsumerProtocolAssignment,
  decodeRequest,
  encodeRequest,
  type ApiSpec,
} from '../../src/protocol/index.js';
import { messageValue } from './schema-values.js';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

function expectProtocolError(frame: Buffer, message?: RegExp): void {
  let thrown: unknown;
  try {
    decodeRequest(frame);
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `frame ${frame.toString('hex')}`).toBeInstanceOf(ProtocolError);
  if (message !== undefined) expect((thrown as Error).message).toMatch(message);
}

/** Valid frames (without size prefix) of the busiest apis at old and flexible versions. */
function sampleFrames(): { label: string; frame: Buffer }[] {
  const picks: [number, number][] = [
    [0, 3],
    [0, 9],
    [0, 11],
    [1, 4],
    [1, 13],
    [1, 17],
    [3, 1],
    [3, 12],
    [18, 0],
    [18, 3],
    [11, 9],
    [14, 5],
    [19, 7],
    [8, 9],
    [60, 1],
  ];
  return picks.map(([key, v]) => {
    const api = (API_SPECS as Record<number, ApiSpec>)[key]!;
    const frame = encodeRequest(api.apiKey, v, 42, 'fuzz', messageValue(api.request, v, 'full') as never).subarray(4);
    return { label: `${api.name} v${v}`, frame };
  });
}

describe('truncation', () => {
  for (const { label, frame } of sampleFrames()) {
    it(`${label}: every proper prefix (${frame.length} bytes) throws ProtocolError`, () => {
      for (let cut = 0; cut < frame.length; cut++) expectProtocolError(frame.subarray(0, cut));
      expect(() => decodeRequest(frame)).not.toThrow();
    });
  }
});

describe('hostile lengths and counts', () => {
  // Produce v3: header (api 0, v3, corr 1, client "p") then transactional id null, acks, timeout.
  const produceV3Head = '0000 0003 00000001 0001 70   ffff ffff 00007530';
  // Produce v9 with header v2.
  const produceV9Head = '0000 0009 00000001 0001 70 00   00 ffff 00007530';

  it('INT32_MAX array count fails at once', () => {
    expectProtocolError(hex(`${produceV3Head} 7fffffff 0001 74`), /count 2147483647/);
  });
  it('negative array count other than -1 fails', () => {
    expectProtocolError(hex(`${produceV3Head} fffffffe`), /negative array length/);
  });
  it('null in a non-nullable array fails', () => {
    expectProtocolError(hex(`${produceV3Head} ffffffff`), /null in non-nullable array/);
  });
  it('huge compact array count fails at once', () => {
    expectProtocolError(hex(`${produceV9Head} ffffffff0f`), /count/);
  });
  it('negative string length fails', () => {
    expectProtocolError(hex(`${produceV3Head} 00000001 fffe 00000000 0000`), /negative string length/);
  });
  it('null in a non-nullable string fails', () => {
    expectProtocolError(hex(`${produceV3Head} 00000001 ffff 00000000 0000`), /null in a non-nullable string/);
  });
  it('string longer than the frame fails', () => {
    expectProtocolError(hex(`${produceV3Head} 00000001 7fff 7474 00000000`), /truncated/);
  });
  it('negative bytes length fails', () => {
    expectProtocolError(hex(`${produceV3Head} 00000001 0001 74 00000001 00000000 fffffff0`), /negative bytes length/);
  });
  it('INT32_MAX bytes length fails', () => {
    expectProtocolError(hex(`${produceV3Head} 00000001 0001 74 00000001 00000000 7fffffff 00`), /truncated/);
  });
  it('negative client id length fails', () => {
    expectProtocolError(hex('0012 0000 00000001 fff0'), /negative string length/);
  });
  it('huge tagged-field count in the header fails at once', () => {
    expectProtocolError(hex('0000 0009 00000001 0001 70 ffffffff0f'), /count 4294967295/);
  });
  it('huge tagged-field count in the body fails at once', () => {
    expectProtocolError(hex(`${produceV9Head} 01 ffffffff0f`), /count/);
  });
  it('tagged field larger than the frame fails', () => {
    expectProtocolError(hex(`${produceV9Head} 01 01 05 ffffff7f 00`), /truncated/);
  });
  it('tagged field whose contents disagree with its size fails', () => {
    // ApiVersions v3 response carries known tagged fields; decode it as a request is not possible,
    // so use the Fetch v12 request's ClusterId tag (0): declared 3 bytes, compact string of 1.
    const fetchV12 = encodeRequest(1, 12, 1, 'p', { maxWaitMs: 0, minBytes: 0, topics: [], forgottenTopicsData: [] }).subarray(4);
    const withTag = Buffer.concat([fetchV12.subarray(0, fetchV12.length - 1), hex('01 00 03 02 61 00')]);
    expectProtocolError(withTag, /does not match/);
  });
  it('overlong varint (6 bytes) fails', () => {
    // The fifth byte of a 32-bit varint may carry only 4 bits, so a continuation bit there is
    // already rejected as overflow before a sixth byte is read.
    expectProtocolError(hex(`${produceV9Head} ffffffffff01`), /varint overflows 32 bits/);
  });
  it('varint above 32 bits fails', () => {
    expectProtocolError(hex(`${produceV9Head} ffffffff1f`), /overflows 32 bits/);
  });
  it('empty and tiny frames fail', () => {
    for (let n = 0; n < 8; n++) expectProtocolError(Buffer.alloc(n));
  });
  it('hostile consumer protocol bytes fail', () => {
    expect(() => decodeConsumerProtocolAssignment(hex('0000 7fffffff'))).toThrow(ProtocolError);
    expect(() => decodeConsumerProtocolAssignment(hex('ffff'))).toThrow(ProtocolError);
  });
  it('a reader never reads past its end even inside a larger buffer', () => {
    const r = new Reader(hex('00000005 0102030405'), 0, 6);
    expect(() => r.readBytes()).toThrow(ProtocolError);
  });
});

describe('unsupported apis and versions', () => {
  it('unknown api key carries the header for the gateway', () => {
    try {
      decodeRequest(hex('03e7 0000 0000002a 0000'));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(UnknownApiError);
      expect(err).toMatchObject({ apiKey: 999, apiVersion: 0, correlationId: 42 });
    }
  });
  it('unsupported version carries correlation id and client id', () => {
    try {
      decodeRequest(hex('0012 0063 0000002b 0003 616263 00'));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(UnsupportedVersionError);
      expect(err).toMatchObject({ apiKey: 18, apiVersion: 99, correlationId: 43, clientId: 'abc' });
    }
  });
});
