/**
 * Shared pieces of the topic lifecycle end-to-end tests (test/lifecycle/*-e2e.test.ts): a real
 * node, bounded waits, raw fetches that expose the stored batches' headers, and readers for
 * kafkajs and both Python clients. Every wait has a deadline.
 */
import { inspect } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { runPythonScript } from '../helpers/clients.js';
import { RawClient, fetchOnce } from '../helpers/raw-client.js';
import { type BatchHeader, parseBatchHeader } from '../../src/storage/record-batch.js';
import type { ConsumeReply } from '../interop/setup.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined; throws (with the last value seen) after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last instanceof Error ? String(last) : inspect(last)}` : ''}`);
    await sleep(everyMs);
  }
}

export async function rawClient(bootstrap: string): Promise<RawClient> {
  const [host, port] = bootstrap.split(':');
  return RawClient.connect(host!, Number(port));
}

/** ListOffsets v7 of one partition at -2 (earliest) or -1 (latest). */
export async function listOffset(c: RawClient, topic: string, partition: number, timestamp: -1 | -2): Promise<number> {
  const res = await c.request(2, 7, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp }] }] });
  const p = res.topics[0]!.partitions[0]!;
  if (p.errorCode !== 0) throw new Error(`ListOffsets ${topic}-${partition} at ${timestamp}: error ${p.errorCode}`);
  return p.offset;
}

/** Every stored batch header from `from` to the high watermark, by raw Fetch v12 (the bytes as the broker stores them). */
export async function storedBatches(c: RawClient, topic: string, partition = 0, from = 0): Promise<BatchHeader[]> {
  const out: BatchHeader[] = [];
  let offset = from;
  for (let i = 0; i < 1000; i++) {
    const f = await fetchOnce(c, topic, partition, offset);
    if (f.errorCode !== 0) throw new Error(`Fetch ${topic}-${partition} at ${offset}: error ${f.errorCode}`);
    let pos = 0;
    let got = 0;
    while (f.records.length - pos >= 61) {
      const h = parseBatchHeader(f.records, pos, { maxBatchBytes: Number.MAX_SAFE_INTEGER, allowSparse: true });
      if (pos + h.sizeBytes > f.records.length) break;
      if (h.baseOffset + h.lastOffsetDelta >= offset) {
        out.push(h);
        got++;
        offset = h.baseOffset + h.lastOffsetDelta + 1;
      }
      pos += h.sizeBytes;
    }
    if (offset >= f.highWatermark) return out;
    if (got === 0) throw new Error(`Fetch ${topic}-${partition} at ${offset} returned no batch below the high watermark ${f.highWatermark}`);
  }
  throw new Error('storedBatches: too many fetches');
}

export interface ValueRecord {
  offset: number;
  key: string | null;
  value: string | null;
}

/** kafkajs reads the whole topic (one partition) through a consumer group, from the beginning up to `expected` records. */
export async function kafkajsReadAll(bootstrap: string, topic: string, expected: number, timeoutMs = 20_000): Promise<ValueRecord[]> {
  const kafka = new Kafka({ clientId: 'brook-lifecycle-e2e', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1_000 } });
  const consumer = kafka.consumer({ groupId: `${topic}-kjs`, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 200 });
  const got: ValueRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        got.push({ offset: Number(message.offset), key: message.key?.toString('utf8') ?? null, value: message.value?.toString('utf8') ?? null });
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (got.length < expected && Date.now() < deadline) await sleep(50);
    // A little longer, so that a record too many would show.
    await sleep(200);
  } finally {
    await consumer.disconnect();
  }
  return got.sort((a, b) => a.offset - b.offset);
}

/** kafka-python reads partition 0 from the beginning to the end. */
export async function kafkaPythonReadAll(bootstrap: string, topic: string): Promise<ValueRecord[]> {
  const r = await runPythonScript<ConsumeReply>('kp.py', { op: 'consume', bootstrap, topic, partitions: [0], timeout: 15 });
  if (!r.complete) throw new Error(`kafka-python did not reach the end of ${topic}: ${JSON.stringify(r).slice(0, 500)}`);
  return r.records.map(({ offset, key, value }) => ({ offset, key, value }));
}

/** confluent-kafka-python reads partition 0 from the beginning to the end. */
export async function confluentReadAll(bootstrap: string, topic: string): Promise<ValueRecord[]> {
  const r = await runPythonScript<ConsumeReply>('ck.py', { op: 'consume', bootstrap, topic, partitions: [0], timeout: 15 });
  if (!r.complete || (r.errors?.length ?? 0) > 0) throw new Error(`confluent-kafka did not read ${topic} cleanly: ${JSON.stringify(r).slice(0, 500)}`);
  return r.records.map(({ offset, key, value }) => ({ offset, key, value }));
}
