// Byte-exact encodings written by hand from Kafka's protocol guide (docs/protocol.html): the
// request/response header layouts, int16-length strings in classic versions, compact
// (uvarint length+1) strings and arrays plus a tagged-field section ending every struct in
// flexible versions, and the ClientId that stays an int16-length string even in header v2.
import { describe, expect, it } from 'vitest';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/protocol/index.js';

/** Hex with spaces, comments after '|' ignored: lets each test lay the bytes out field by field. */
function hex(...parts: string[]): Buffer {
  return Buffer.from(
    parts
      .map((p) => p.split('|')[0])
      .join('')
      .replace(/\s+/g, ''),
    'hex',
  );
}
const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

describe('hand-verified encodings', () => {
  it('ApiVersions v0 request (header v1, empty body)', () => {
    const expected = hex(
      '00 00 00 11 | size 17',
      '00 12       | api key 18',
      '00 00       | api version 0',
      '00 00 00 01 | correlation id 1',
      '00 07       | client id length 7',
      ascii('kafkajs'),
    );
    expect(encodeRequest(18, 0, 1, 'kafkajs', {})).toEqual(expected);
    const d = decodeRequest(expected.subarray(4));
    expect(d.header).toEqual({ apiKey: 18, apiVersion: 0, correlationId: 1, clientId: 'kafkajs' });
    expect(d.body).toEqual({ clientSoftwareName: '', clientSoftwareVersion: '' });
  });

  it('ApiVersions v3 request (header v2, compact strings, tagged fields)', () => {
    const expected = hex(
      '00 00 00 24 | size 36',
      '00 12 00 03 | api key 18, version 3',
      '00 00 00 02 | correlation id 2',
      '00 07       | client id: still an int16 length in header v2',
      ascii('rdkafka'),
      '00          | header tagged fields: none',
      '0b          | compact string length 10+1',
      ascii('librdkafka'),
      '06          | compact string length 5+1',
      ascii('2.3.0'),
      '00          | body tagged fields: none',
    );
    const body = { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.3.0' };
    expect(encodeRequest(18, 3, 2, 'rdkafka', body)).toEqual(expected);
    expect(decodeRequest(expected.subarray(4)).body).toEqual(body);
  });

  it('ApiVersions v3 response uses response header v0 and carries a tagged field', () => {
    const expected = hex(
      '00 00 00 1d | size 29',
      '00 00 00 09 | correlation id 9; no header tagged fields (header v0)',
      '00 00       | error code 0',
      '02          | compact array of 1',
      '00 12 00 00 00 04 00 | api key 18, min 0, max 4, no tagged fields',
      '00 00 00 00 | throttle time 0',
      '01          | one tagged field',
      '01 08       | tag 1 (FinalizedFeaturesEpoch), 8 bytes',
      '00 00 00 00 00 00 00 05 | epoch 5',
    );
    const body = { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }], throttleTimeMs: 0, finalizedFeaturesEpoch: 5 };
    expect(encodeResponse(18, 3, 9, body)).toEqual(expected);
    expect(decodeResponse(18, 3, expected.subarray(4)).body).toEqual({
      ...body,
      supportedFeatures: [],
      finalizedFeatures: [],
      zkMigrationReady: false,
    });
  });

  it('Metadata v1 request (int32 array of int16 strings; -1 means all topics)', () => {
    const expected = hex(
      '00 00 00 19 | size 25',
      '00 03 00 01 | api key 3, version 1',
      '00 00 00 03 | correlation id 3',
      '00 01',
      ascii('c'),
      '00 00 00 02 | two topics',
      '00 03',
      ascii('foo'),
      '00 03',
      ascii('bar'),
    );
    expect(encodeRequest(3, 1, 3, 'c', { topics: [{ name: 'foo' }, { name: 'bar' }] })).toEqual(expected);
    expect(decodeRequest(expected.subarray(4)).body).toEqual({
      topics: [
        { topicId: '00000000-0000-0000-0000-000000000000', name: 'foo' },
        { topicId: '00000000-0000-0000-0000-000000000000', name: 'bar' },
      ],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    const all = encodeRequest(3, 1, 3, 'c', { topics: null });
    expect(all.subarray(all.length - 4)).toEqual(hex('ff ff ff ff'));
    expect(decodeRequest(all.subarray(4)).body).toMatchObject({ topics: null });
  });

  it('Metadata v12 request (compact nullable array, uuid, compact nullable string)', () => {
    const expected = hex(
      '00 00 00 25 | size 37',
      '00 03 00 0c | api key 3, version 12',
      '00 00 00 04 | correlation id 4',
      '00 01',
      ascii('c'),
      '00 | header tagged fields',
      '02          | compact array of 1',
      '00000000 00000000 00000000 00000000 | topic id: zero uuid',
      '04',
      ascii('foo'),
      '00 | name, topic tagged fields',
      '01          | allow auto topic creation',
      '00          | include topic authorized operations',
      '00          | body tagged fields',
    );
    const body = {
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'foo' }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    };
    expect(encodeRequest(3, 12, 4, 'c', body)).toEqual(expected);
    expect(decodeRequest(expected.subarray(4)).body).toEqual(body);
  });

  it('Metadata v12 response', () => {
    const expected = hex(
      '00 00 00 61 | size 97: header 5 + body 92 (brokers 21, topics 56)',
      '00 00 00 04 00 | correlation id 4, header tagged fields (header v1)',
      '00 00 00 00 | throttle time',
      '02          | one broker',
      '00 00 00 01 | node id 1',
      '0a',
      ascii('localhost'),
      '00 00 23 84 | port 9092',
      '00          | rack null',
      '00          | broker tagged fields',
      '06',
      ascii('brook'),
      '| cluster id',
      '00 00 00 01 | controller id 1',
      '02          | one topic',
      '00 00       | error code',
      '04',
      ascii('foo'),
      'f81d4fae 7dec 11d0 a765 00a0c91e6bf6 | topic id',
      '00          | not internal',
      '02          | one partition',
      '00 00 | error code 0',
      '00 00 00 00 | partition 0',
      '00 00 00 01 | leader 1',
      '00 00 00 05 | leader epoch 5',
      '02 00 00 00 01 | replicas [1]',
      '02 00 00 00 01 | isr [1]',
      '01          | offline replicas []',
      '00          | partition tagged fields',
      '80 00 00 00 | topic authorized operations INT32_MIN',
      '00          | topic tagged fields',
      '00          | body tagged fields',
    );
    const body = {
      throttleTimeMs: 0,
      brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }],
      clusterId: 'brook',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'foo',
          topicId: 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
          isInternal: false,
          partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 5, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }],
          topicAuthorizedOperations: -2147483648,
        },
      ],
      clusterAuthorizedOperations: -2147483648,
    };
    expect(expected.length).toBe(101);
    expect(encodeResponse(3, 12, 4, body)).toEqual(expected);
    expect(decodeResponse(3, 12, expected.subarray(4))).toEqual({ correlationId: 4, body });
  });

  it('Produce v3 request (nullable transactional id, int32-length records)', () => {
    const expected = hex(
      '00 00 00 29 | size 41',
      '00 00 00 03 | api key 0, version 3',
      '00 00 00 05 | correlation id 5',
      '00 01',
      ascii('p'),
      'ff ff       | transactional id null',
      'ff ff       | acks -1',
      '00 00 75 30 | timeout 30000 ms',
      '00 00 00 01 | one topic',
      '00 01',
      ascii('t'),
      '00 00 00 01 | one partition',
      '00 00 00 00 | index 0',
      '00 00 00 03 aa bb cc | records: 3 bytes',
    );
    const body = { transactionalId: null, acks: -1, timeoutMs: 30000, topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.from([0xaa, 0xbb, 0xcc]) }] }] };
    expect(encodeRequest(0, 3, 5, 'p', body)).toEqual(expected);
    expect(decodeRequest(expected.subarray(4)).body).toEqual(body);
  });

  it('Produce v9 request (flexible: compact everything, tagged sections per struct)', () => {
    const expected = hex(
      '00 00 00 22 | size 34',
      '00 00 00 09 | api key 0, version 9',
      '00 00 00 06 | correlation id 6',
      '00 01',
      ascii('p'),
      '00 | header tagged fields',
      '00          | transactional id null (compact)',
      'ff ff       | acks -1',
      '00 00 75 30 | timeout 30000 ms',
      '02          | one topic',
      '02',
      ascii('t'),
      '02          | one partition',
      '00 00 00 00 | index 0',
      '04 aa bb cc | records: compact bytes of 3',
      '00 00 00    | partition, topic and body tagged fields',
    );
    const body = { transactionalId: null, acks: -1, timeoutMs: 30000, topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.from([0xaa, 0xbb, 0xcc]) }] }] };
    expect(encodeRequest(0, 9, 6, 'p', body)).toEqual(expected);
    const d = decodeRequest(expected.subarray(4));
    expect(d.body).toEqual(body);
    // Records are a zero-copy view of the frame.
    if (d.apiKey !== 0) throw new Error('expected Produce');
    const records = d.body.topicData[0]!.partitionData[0]!.records as Buffer;
    expect(records.buffer).toBe(expected.buffer);
  });
});
