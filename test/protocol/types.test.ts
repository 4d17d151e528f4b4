// Type-level checks (run by `tsc -p tsconfig.test.json`) that the generated types keep handler
// code honest, plus the runtime facts they rest on.
import { describe, expect, it } from 'vitest';
import { ApiKeys, decodeRequest, encodeRequest, encodeResponse, errorCode, isRetriable, KAFKA_ERRORS } from '../../src/protocol/index.js';

describe('typed bodies', () => {
  it('narrow on apiKey and reject malformed inputs at compile time', () => {
    const frame = encodeRequest(ApiKeys.Heartbeat, 4, 1, 'c', { groupId: 'g', generationId: 1, memberId: 'm' }).subarray(4);
    const req = decodeRequest(frame);
    switch (req.apiKey) {
      case ApiKeys.Heartbeat:
        expect(req.body.groupId).toBe('g');
        expect(req.body.groupInstanceId).toBeNull();
        // @ts-expect-error Heartbeat requests have no topics.
        void req.body.topics;
        break;
      default:
        throw new Error('expected Heartbeat');
    }
    // @ts-expect-error errorCode is required in every Heartbeat response version.
    expect(() => encodeResponse(ApiKeys.Heartbeat, 4, 1, { throttleTimeMs: 0 })).toBeDefined();
    // @ts-expect-error a Produce response body is not a Heartbeat response.
    void (() => encodeResponse(ApiKeys.Heartbeat, 4, 1, { responses: [] }));
  });
});

describe('error codes', () => {
  it('names, codes and retriable flags', () => {
    expect(errorCode('NONE')).toBe(0);
    expect(errorCode('NOT_LEADER_OR_FOLLOWER')).toBe(6);
    expect(errorCode('UNSUPPORTED_VERSION')).toBe(35);
    expect(isRetriable(6)).toBe(true);
    expect(isRetriable(35)).toBe(false);
    const codes = Object.values(KAFKA_ERRORS).map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (let c = -1; c <= 120; c++) expect(codes).toContain(c);
  });
});
