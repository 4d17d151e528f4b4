// The encoder's refusal of a null a version cannot carry, and the INVALID_REQUEST answer the
// gateway builds from such a response (invalidRequestResponse).
import { describe, expect, it } from 'vitest';
import { encodeResponse, errorCode, invalidRequestResponse, NullFieldError, ProtocolError, type ResponseInputs } from '../../src/protocol/index.js';

const INVALID_REQUEST = errorCode('INVALID_REQUEST');

function metadataWithNullName(): ResponseInputs[3] {
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
    clusterId: 'c',
    controllerId: 1,
    topics: [
      { errorCode: 100, name: null, topicId: '6a6a1a0e-1b7c-4c55-9b0a-3d3b8f3f2e11', isInternal: false, partitions: [] },
      { errorCode: 0, name: 'kept', topicId: '00000000-0000-0000-0000-000000000000', isInternal: false, partitions: [] },
    ],
  };
}

describe('a null in a field the version cannot carry', () => {
  it('makes the encoder throw NullFieldError (a ProtocolError) naming the field', () => {
    let thrown: unknown;
    try {
      encodeResponse(3, 11, 1, metadataWithNullName());
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(NullFieldError);
    expect(thrown).toBeInstanceOf(ProtocolError);
    expect((thrown as NullFieldError).field).toBe('name');
    expect(() => encodeResponse(3, 12, 1, metadataWithNullName())).not.toThrow();
  });

  it('becomes INVALID_REQUEST with an empty value in the nearest struct with an error code, leaving the rest', () => {
    const body = metadataWithNullName();
    const answer = invalidRequestResponse(3, 11, body, 'name may not be null')!;
    expect(answer.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['', INVALID_REQUEST],
      ['kept', 0],
    ]);
    // The handler's value is not modified.
    expect(body.topics[0]!.name).toBeNull();
    expect(() => encodeResponse(3, 11, 1, answer)).not.toThrow();
  });

  it('fills the error message when that struct has one', () => {
    const body: ResponseInputs[32] = {
      throttleTimeMs: 0,
      results: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: null as unknown as string, configs: [] }],
    };
    const answer = invalidRequestResponse(32, 4, body, 'resourceName may not be null')!;
    expect(answer.results[0]).toMatchObject({ errorCode: INVALID_REQUEST, errorMessage: 'resourceName may not be null', resourceName: '' });
  });

  it('is null when no struct above the null has an error code', () => {
    // A broker's host: neither the broker struct nor Metadata's top level has an error code.
    const body = { ...metadataWithNullName(), brokers: [{ nodeId: 1, host: null as unknown as string, port: 9092, rack: null }], topics: [] };
    expect(invalidRequestResponse(3, 11, body, 'x')).toBeNull();
  });
});
