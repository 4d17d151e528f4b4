/**
 * The CPU pool inside a real node: a topic whose compression.type differs from the producer's is
 * recompressed on the worker thread's CPU pool (piscina) when a batch is large, and stays correct;
 * `cpuPoolThreads: 0` keeps the same work inline on the partition's thread. A compacted topic's
 * key check runs there too and still refuses a keyless record with INVALID_RECORD.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Admin, Consumer, Producer } from '../../src/client/index.js';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import type { PartitionState } from '../../actors/partition/messages.js';
import { rawClient, storedBatches } from './e2e-helpers.js';

let broker: EmbeddedBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

async function stateOf(b: EmbeddedBroker, topic: string): Promise<PartitionState> {
  const inspection = await b.node.supervisor.inspect(`partition:${topic}:0`);
  if (!inspection) throw new Error(`no actor for ${topic}-0`);
  return inspection.state as PartitionState;
}

/** 200 JSON-like records of ~1 KiB: one ~200 KiB batch, far above the pool's inline threshold. */
const big = Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 9}`, value: JSON.stringify({ id: i, kind: 'order' }).padEnd(1000, '.'), partition: 0 }));

async function produceAndRead(b: EmbeddedBroker, topic: string, configs: Record<string, string>): Promise<string[]> {
  const admin = new Admin({ bootstrapServers: [b.bootstrap] });
  await admin.createTopics({ topics: [{ name: topic, numPartitions: 1, configs }], waitForLeaders: true });
  await admin.close();
  const producer = new Producer({ bootstrapServers: [b.bootstrap], compression: 'none', lingerMs: 0 });
  await producer.send({ topic, messages: big });
  await producer.close();
  const consumer = new Consumer({ bootstrapServers: [b.bootstrap], autoOffsetReset: 'earliest' });
  await consumer.assign([{ topic, partition: 0 }]);
  const values: string[] = [];
  for await (const r of consumer) {
    values.push(String(r.value));
    if (values.length === big.length) break;
  }
  await consumer.close();
  return values;
}

describe('the CPU pool in a node', () => {
  for (const threads of [1, 0]) {
    it(`recompresses a large batch to the topic's zstd ${threads ? 'on the pool' : 'inline (cpuPoolThreads 0)'}, readable as sent`, async () => {
      broker = await startBroker({ workers: 1, logLevel: 'silent', cpuPoolThreads: threads });
      const values = await produceAndRead(broker, 'zstd-topic', { 'compression.type': 'zstd' });
      expect(values).toEqual(big.map((m) => m.value));
      const raw = await rawClient(broker.bootstrap);
      try {
        const batches = await storedBatches(raw, 'zstd-topic');
        expect(batches.length).toBeGreaterThan(0);
        expect(batches.every((h) => h.compression === 4)).toBe(true);
      } finally {
        raw.close();
      }
      const { cpuPool } = await stateOf(broker, 'zstd-topic');
      if (threads) expect(cpuPool.completedInPool).toBeGreaterThan(0);
      else expect(cpuPool).toMatchObject({ completedInPool: 0, threads: 0 });
    });
  }

  it("checks a compacted topic's keys on the pool: a keyless record is INVALID_RECORD, keyed ones are stored", async () => {
    broker = await startBroker({ workers: 1, logLevel: 'silent' });
    const admin = new Admin({ bootstrapServers: [broker.bootstrap] });
    await admin.createTopics({ topics: [{ name: 'compacted', numPartitions: 1, configs: { 'cleanup.policy': 'compact' } }], waitForLeaders: true });
    await admin.close();
    const producer = new Producer({ bootstrapServers: [broker.bootstrap], compression: 'none', lingerMs: 0 });
    try {
      await producer.send({ topic: 'compacted', messages: big });
      await expect(producer.send({ topic: 'compacted', messages: [...big.slice(0, 50), { key: null, value: 'x'.repeat(1000), partition: 0 }] })).rejects.toThrow(/INVALID_RECORD/);
    } finally {
      await producer.close();
    }
    const state = await stateOf(broker, 'compacted');
    expect(state.logEndOffset).toBe(big.length);
    expect(state.cpuPool.completedInPool).toBeGreaterThan(0);
  });
});
