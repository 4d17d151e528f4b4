/**
 * murmur2 against Kafka's own vectors (UtilsTest.testMurmur2 in the Java client) and the
 * partition choice against kafkajs's DefaultPartitioner for many keys and partition counts.
 */
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey, toPositive } from '../../src/client/partitioner.js';

describe('murmur2', () => {
  const cases: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [input, expected] of cases) {
    it(`murmur2("${input}") is ${expected} as in Kafka's UtilsTest`, () => {
      expect(murmur2(Buffer.from(input))).toBe(expected);
    });
  }

  it('toPositive clears the sign bit like Kafka (not Math.abs)', () => {
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(-1)).toBe(0x7fffffff);
  });

  it('agrees with kafkajs DefaultPartitioner', () => {
    const kjs = Partitioners.DefaultPartitioner();
    for (const numPartitions of [1, 2, 3, 7, 12, 64]) {
      const partitionMetadata = Array.from({ length: numPartitions }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
      for (let i = 0; i < 300; i++) {
        const key = `key-${i * 7919}-é`;
        const theirs = kjs({ topic: 't', partitionMetadata, message: { key, value: 'v' } });
        expect(partitionForKey(key, numPartitions)).toBe(theirs);
      }
    }
  });
});
