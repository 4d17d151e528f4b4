import { describe, expect, it } from 'vitest';
import {
  API_SPECS,
  consumerProtocolAssignmentSpec,
  consumerProtocolSubscriptionSpec,
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  decodeResponseHeader,
  decodeStruct,
  encodeConsumerProtocolAssignment,
  encodeConsumerProtocolSubscription,
  encodeRequest,
  encodeRequestHeader,
  encodeResponse,
  encodeResponseHeader,
  encodeResponseSegments,
  encodeRequestSegments,
  GATHER_RECORDS_MIN_BYTES,
  encodeStruct,
  requestHeaderVersion,
  responseHeaderVersion,
  type ApiSpec,
  type MessageSpec,
  RecordSet,
} from '../../src/protocol/index.js';
import { messageValue, type ValueStyle } from './schema-values.js';

const apis = Object.values<ApiSpec>(API_SPECS);
const STYLES: ValueStyle[] = ['full', 'sparse'];

function versions(spec: MessageSpec): number[] {
  const out: number[] = [];
  for (let v = spec.validVersions[0]; v <= spec.validVersions[1]; v++) out.push(v);
  return out;
}

describe('every request and response round-trips at every valid version', () => {
  for (const api of apis) {
    it(`${api.name} (${api.apiKey}) v${api.request.validVersions[0]}-${api.request.validVersions[1]}`, () => {
      for (const v of versions(api.request)) {
        for (const style of STYLES) {
          const req = messageValue(api.request, v, style);
          const frame = encodeRequest(api.apiKey, v, 1000 + v, 'client-é', req as never);
          expect(frame.readInt32BE(0)).toBe(frame.length - 4);
          const decoded = decodeRequest(frame.subarray(4));
          expect(decoded.header).toEqual({ apiKey: api.apiKey, apiVersion: v, correlationId: 1000 + v, clientId: 'client-é' });
          expect(decoded.body, `${api.name} request v${v} ${style}`).toEqual(req);

          const res = messageValue(api.response, v, style);
          const out = encodeResponse(api.apiKey, v, 2000 + v, res as never);
          expect(out.readInt32BE(0)).toBe(out.length - 4);
          const back = decodeResponse(api.apiKey, v, out.subarray(4));
          expect(back.correlationId).toBe(2000 + v);
          expect(back.body, `${api.name} response v${v} ${style}`).toEqual(res);
        }
      }
    });
  }
});

describe('consumer protocol structs round-trip at every version', () => {
  it('ConsumerProtocolSubscription', () => {
    for (const v of versions(consumerProtocolSubscriptionSpec)) {
      for (const style of STYLES) {
        const value = messageValue(consumerProtocolSubscriptionSpec, v, style);
        expect(decodeStruct(consumerProtocolSubscriptionSpec, v, encodeStruct(consumerProtocolSubscriptionSpec, v, value))).toEqual(value);
        const framed = encodeConsumerProtocolSubscription(v, value as never);
        expect(framed.readInt16BE(0)).toBe(v);
        expect(decodeConsumerProtocolSubscription(framed)).toEqual({ version: v, value });
      }
    }
  });
  it('ConsumerProtocolAssignment', () => {
    for (const v of versions(consumerProtocolAssignmentSpec)) {
      for (const style of STYLES) {
        const value = messageValue(consumerProtocolAssignmentSpec, v, style);
        expect(decodeStruct(consumerProtocolAssignmentSpec, v, encodeStruct(consumerProtocolAssignmentSpec, v, value))).toEqual(value);
        expect(decodeConsumerProtocolAssignment(encodeConsumerProtocolAssignment(v, value as never))).toEqual({ version: v, value });
      }
    }
  });
  it('reads a newer subscription version with the newest known layout', () => {
    const max = consumerProtocolSubscriptionSpec.validVersions[1];
    const value = messageValue(consumerProtocolSubscriptionSpec, max, 'full');
    const framed = encodeConsumerProtocolSubscription(max, value as never);
    framed.writeInt16BE(max + 5, 0);
    expect(decodeConsumerProtocolSubscription(framed)).toEqual({ version: max + 5, value });
  });
});

describe('headers', () => {
  it('request headers v0-v2 round-trip', () => {
    const header = { apiKey: 3, apiVersion: 12, correlationId: -7, clientId: 'rdkafka' };
    for (const hv of [0, 1, 2]) {
      const buf = encodeRequestHeader(header, hv);
      const { header: back, bodyOffset } = decodeRequestHeader(buf, hv);
      expect(bodyOffset).toBe(buf.length);
      expect(back).toEqual(hv === 0 ? { ...header, clientId: null } : header);
    }
    const nullClient = { ...header, clientId: null };
    expect(decodeRequestHeader(encodeRequestHeader(nullClient, 2), 2).header).toEqual(nullClient);
  });
  it('response headers v0-v1 round-trip', () => {
    for (const hv of [0, 1]) {
      const buf = encodeResponseHeader(123456, hv);
      expect(buf.length).toBe(4 + hv);
      expect(decodeResponseHeader(buf, hv)).toEqual({ correlationId: 123456, bodyOffset: buf.length });
    }
  });
  it('header versions follow flexibility, except ApiVersions responses', () => {
    expect(requestHeaderVersion(0, 8)).toBe(1);
    expect(requestHeaderVersion(0, 9)).toBe(2);
    expect(responseHeaderVersion(0, 8)).toBe(0);
    expect(responseHeaderVersion(0, 9)).toBe(1);
    expect(requestHeaderVersion(18, 3)).toBe(2);
    expect(responseHeaderVersion(18, 3)).toBe(0);
    expect(responseHeaderVersion(18, 4)).toBe(0);
  });
});

describe('gathered Fetch responses (encodeResponseSegments)', () => {
  const spec = API_SPECS[1];
  const records = (n: number, fill: number) => Buffer.alloc(n, fill);
  it('are the bytes encodeResponse writes, with large record sets as their own segments, at every version', () => {
    const [minVersion, maxVersion] = spec.response.validVersions;
    for (let v = minVersion; v <= maxVersion; v++) {
      const big = records(GATHER_RECORDS_MIN_BYTES, 7);
      const bigger = records(3 * GATHER_RECORDS_MIN_BYTES + 5, 9);
      const body = {
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 0,
        responses: [
          {
            topic: 't',
            topicId: '6f3c36d8-6a51-4d1e-9a34-2d0e7f7b9a11',
            partitions: [
              { partitionIndex: 0, errorCode: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 0, abortedTransactions: [], preferredReadReplica: -1, records: big },
              {
                partitionIndex: 1,
                errorCode: 0,
                highWatermark: 3,
                lastStableOffset: 3,
                logStartOffset: 0,
                abortedTransactions: [],
                preferredReadReplica: -1,
                records: records(100, 1),
              },
              { partitionIndex: 2, errorCode: 6, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, abortedTransactions: null, preferredReadReplica: -1, records: null },
              { partitionIndex: 3, errorCode: 0, highWatermark: 99, lastStableOffset: 99, logStartOffset: 0, abortedTransactions: [], preferredReadReplica: -1, records: bigger },
            ],
          },
        ],
      };
      const whole = encodeResponse(1, v, 42, body);
      const segments = encodeResponseSegments(1, v, 42, body);
      expect(Buffer.concat(segments).equals(whole), `Fetch v${v}`).toBe(true);
      // The large record sets are the caller's buffers, not copies.
      expect(segments.includes(big), `Fetch v${v}`).toBe(true);
      expect(segments.includes(bigger), `Fetch v${v}`).toBe(true);
      expect(segments.reduce((n, s) => n + s.length, 0)).toBe(whole.length);
    }
  });

  it('write a RecordSet as its parts one after another: large parts are segments, small ones copied, and it decodes as one buffer', () => {
    const [minVersion, maxVersion] = spec.response.validVersions;
    for (let v = minVersion; v <= maxVersion; v++) {
      const big = records(GATHER_RECORDS_MIN_BYTES + 3, 5);
      const small = records(40, 6);
      const last = records(2 * GATHER_RECORDS_MIN_BYTES, 8);
      const partition = (records: Buffer | RecordSet) => ({
        partitionIndex: 0,
        errorCode: 0,
        highWatermark: 10,
        lastStableOffset: 10,
        logStartOffset: 0,
        abortedTransactions: [],
        preferredReadReplica: -1,
        records,
      });
      const body = (records: Buffer | RecordSet) => ({
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 0,
        responses: [{ topic: 't', topicId: '6f3c36d8-6a51-4d1e-9a34-2d0e7f7b9a11', partitions: [partition(records)] }],
      });
      const set = new RecordSet([big, small, last]);
      const joined = Buffer.concat([big, small, last]);
      expect(set.length).toBe(joined.length);
      const whole = encodeResponse(1, v, 9, body(joined));
      expect(encodeResponse(1, v, 9, body(set)).equals(whole), `Fetch v${v}`).toBe(true);
      const segments = encodeResponseSegments(1, v, 9, body(set));
      expect(Buffer.concat(segments).equals(whole), `Fetch v${v}`).toBe(true);
      expect(segments.includes(big) && segments.includes(last) && !segments.includes(small), `Fetch v${v}`).toBe(true);
      const decoded = decodeResponse(1, v, whole.subarray(4)).body.responses[0]!.partitions[0]!.records;
      expect(decoded?.equals(joined), `Fetch v${v}`).toBe(true);
    }
  });

  it("Produce requests too: large record batches are the caller's buffers, at every version", () => {
    const [minVersion, maxVersion] = API_SPECS[0].request.validVersions;
    for (let v = minVersion; v <= maxVersion; v++) {
      const big = records(GATHER_RECORDS_MIN_BYTES, 4);
      const small = records(300, 2);
      const body = {
        transactionalId: null,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [
          {
            name: 't',
            topicId: '6f3c36d8-6a51-4d1e-9a34-2d0e7f7b9a11',
            partitionData: [
              { index: 0, records: big },
              { index: 1, records: small },
            ],
          },
        ],
      };
      const whole = encodeRequest(0, v, 5, 'client', body);
      const segments = encodeRequestSegments(0, v, 5, 'client', body);
      expect(Buffer.concat(segments).equals(whole), `Produce v${v}`).toBe(true);
      expect(segments.includes(big) && !segments.includes(small), `Produce v${v}`).toBe(true);
      expect(encodeRequestSegments(18, 3, 1, 'client', { clientSoftwareName: 'b', clientSoftwareVersion: '1' })).toEqual([
        encodeRequest(18, 3, 1, 'client', { clientSoftwareName: 'b', clientSoftwareVersion: '1' }),
      ]);
    }
  });

  it('are a single buffer when nothing is large enough, and for every other API', () => {
    const small = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: 't',
          topicId: '6f3c36d8-6a51-4d1e-9a34-2d0e7f7b9a11',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 1,
              lastStableOffset: 1,
              logStartOffset: 0,
              abortedTransactions: [],
              preferredReadReplica: -1,
              records: records(GATHER_RECORDS_MIN_BYTES - 1, 3),
            },
          ],
        },
      ],
    };
    expect(encodeResponseSegments(1, 12, 7, small)).toEqual([encodeResponse(1, 12, 7, small)]);
    const apiVersions = { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 11 }], throttleTimeMs: 0 };
    expect(encodeResponseSegments(18, 3, 1, apiVersions)).toEqual([encodeResponse(18, 3, 1, apiVersions)]);
  });
});
