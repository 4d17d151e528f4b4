/**
 * /metrics scraped and parsed: consumer group lag and committed offsets (kafka_exporter's names)
 * match what a groups describe computes from the Kafka API (kafkajs admin: committed offsets and
 * the partitions' latest offsets), and the console's /api/groups agrees; event-loop delay per
 * thread and the per-second history are there.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { waitFor } from '../helpers/tmp.js';

let broker: EmbeddedBroker;
let base: string;
let kafka: Kafka;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition format (the lines prom-client writes). */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(): Promise<Sample[]> {
  return parseMetrics(await (await fetch(`${base}/metrics`)).text());
}

beforeAll(async () => {
  broker = await startBroker({ logLevel: 'silent', workers: 2 });
  base = `http://127.0.0.1:${broker.node.httpPort}`;
  kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
});
afterAll(async () => {
  await broker.stop();
});

describe('/metrics', () => {
  it('reports consumer group lag and committed offsets that match a groups describe', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'lagging', numPartitions: 2 }] });
    const producer = kafka.producer();
    await producer.connect();
    const batch = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ partition: i % 2, key: `k${from + i}`, value: `v${from + i}` }));
    await producer.send({ topic: 'lagging', messages: batch(10, 0) });

    const consumer = kafka.consumer({ groupId: 'lag-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'lagging', fromBeginning: true });
    let seen = 0;
    await consumer.run({
      eachMessage: async () => {
        seen++;
      },
    });
    await waitFor(() => seen === 10, 30_000, 'consume 10');
    await consumer.disconnect(); // commits on the way out
    await producer.send({ topic: 'lagging', messages: batch(7, 10) });
    await producer.disconnect();

    // The describe, as `groups describe` computes it: latest offset minus committed offset.
    const committed = (await admin.fetchOffsets({ groupId: 'lag-group', topics: ['lagging'] }))[0]!.partitions;
    const latest = await admin.fetchTopicOffsets('lagging');
    await admin.disconnect();
    const expected = new Map(committed.map((c) => [c.partition, Number(latest.find((l) => l.partition === c.partition)!.high) - Number(c.offset)]));
    expect([...expected.values()].reduce((a, b) => a + b, 0)).toBe(7);

    const samples = await scrape();
    const of = (name: string) => samples.filter((s) => s.name === name && s.labels.consumergroup === 'lag-group' && s.labels.topic === 'lagging');
    const lag = of('kafka_consumergroup_lag');
    expect(lag.length).toBe(2);
    for (const s of lag) expect(s.value).toBe(expected.get(Number(s.labels.partition)));
    for (const s of of('kafka_consumergroup_current_offset')) {
      expect(s.value).toBe(Number(committed.find((c) => c.partition === Number(s.labels.partition))!.offset));
    }
    expect(of('kafka_consumergroup_lag_sum')[0]!.value).toBe(7);

    const groups = (await (await fetch(`${base}/api/groups`)).json()) as { groupId: string; totalLag: number; state: string }[];
    const g = groups.find((x) => x.groupId === 'lag-group')!;
    expect(g.totalLag).toBe(7);
    expect(g.state).toBe('Empty');
  });

  it('reports event-loop delay per thread, partition offsets, and keeps a per-second history', async () => {
    const samples = await scrape();
    const delay = samples.filter((s) => s.name === 'brook_thread_event_loop_delay_seconds');
    expect(new Set(delay.map((s) => s.labels.thread))).toEqual(new Set(['0', '1']));
    expect(new Set(delay.map((s) => s.labels.quantile))).toEqual(new Set(['0.5', '0.99', '1']));
    for (const s of delay) expect(s.value).toBeGreaterThanOrEqual(0);
    const hw = samples.filter((s) => s.name === 'kafka_topic_partition_current_offset' && s.labels.topic === 'lagging');
    expect(hw.map((s) => s.value).reduce((a, b) => a + b, 0)).toBe(17);
    expect(samples.find((s) => s.name === 'brook_kafka_records_produced_total' && s.labels.topic === 'lagging')!.value).toBe(17);
    await new Promise((r) => setTimeout(r, 1100));
    const history = (await (await fetch(`${base}/api/history?seconds=120`)).json()) as { producedRecords: number; fetchedRecords: number }[];
    expect(history.length).toBe(120);
    expect(history.reduce((a, s) => a + s.producedRecords, 0)).toBe(17);
    expect(history.reduce((a, s) => a + s.fetchedRecords, 0)).toBeGreaterThanOrEqual(10);
  });

  it('shows the checkpointer thread at work once partitions have written a few WAL checkpoints worth', async () => {
    const producer = kafka.producer();
    await producer.connect();
    const value = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < 16; i++) {
      // 16 x 8 x 64 KiB = 8 MiB to one partition: about two requests
      await producer.send({ topic: 'wal-busy', messages: Array.from({ length: 8 }, () => ({ value })) });
    }
    await producer.disconnect();
    let wal = new Map<string, number>();
    await waitFor(
      async () => {
        wal = new Map((await scrape()).filter((s) => s.name === 'brook_wal_checkpoints_total').map((s) => [s.labels.outcome!, s.value]));
        return (wal.get('run') ?? 0) >= 1;
      },
      20_000,
      'a checkpoint run',
    );
    expect(wal.get('requested')).toBeGreaterThanOrEqual(1);
    expect(wal.get('error')).toBe(0);
    expect(wal.get('dropped')).toBe(0);
  });
});
