import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type EmbeddedBroker } from '../../src/embedded.js';
import { waitFor } from '../helpers/tmp.js';

const bin = join(import.meta.dirname, '../../bin/brook.js');
let broker: EmbeddedBroker;
let base: string;

beforeAll(async () => {
  broker = await startBroker({ logLevel: 'silent', workers: 1 });
  base = `http://127.0.0.1:${broker.node.httpPort}`;
});
afterAll(async () => {
  await broker.stop();
});

/** Runs the CLI without blocking this process's event loop, where the broker runs too. */
function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function api<T>(path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(base + path, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: (await res.json()) as T };
}

async function produce(topic: string, n: number): Promise<void> {
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 50 } });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
  await producer.disconnect();
}

describe('HTTP gateway', () => {
  it('lists actors per thread with their partition state, and brook actors prints them', async () => {
    await produce('http-actors', 3);
    const { json } = await api<{ id: string; kind: string; threadIndex: number; state: { logEndOffset: number } }[]>('/api/actors');
    const a = json.find((x) => x.id === 'partition:http-actors:0')!;
    expect(a.kind).toBe('partition');
    expect(a.threadIndex).toBe(0);
    expect(a.state.logEndOffset).toBe(3);
    const r = await cli(['actors', '--http', `127.0.0.1:${broker.node.httpPort}`]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('THREAD 0');
    expect(r.stdout).toMatch(/partition:http-actors:0\s+partition\s+running\s+0\s+0\s+start=0 end=3 hw=3/);
  });

  it('switches a failure point on and the supervisor restarts the actor', async () => {
    await produce('http-faults', 1);
    const id = 'partition:http-faults:0';
    const set = await api<{ armed: string[] }>(`/api/actors/${id}/failure-points`, { point: 'append', enabled: true, times: 1 });
    expect(set.json.armed).toEqual(['append']);
    await produce('http-faults', 1); // the first attempt crashes the actor; kafkajs retries after the restart
    await waitFor(async () => (await api<{ restarts: number }>(`/api/actors/${id}`)).json.restarts === 1, 10_000, 'restart');
    const after = await api<{ status: string; state: { logEndOffset: number } }>(`/api/actors/${id}`);
    expect(after.json.status).toBe('running');
    expect(after.json.state.logEndOffset).toBe(2);
    const bad = await api<{ error: string }>(`/api/actors/${id}/failure-points`, { point: 'disk', enabled: true });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain('append, commit, read');
  });

  it('the overview shows the batch cache: its bound, what it holds, and fetches it answered', async () => {
    await produce('http-cache', 3);
    await cli(['consume', 'http-cache', '--from-beginning', '--max-messages', '3', '--bootstrap-server', broker.bootstrap]);
    const { json } = await api<{ fetchCache: { maxBytes: number; bytes: number; partitions: number; hits: number; misses: number } }>('/api/overview');
    expect(json.fetchCache.maxBytes).toBeGreaterThan(0);
    expect(json.fetchCache.bytes).toBeGreaterThan(0);
    expect(json.fetchCache.partitions).toBeGreaterThan(0);
    expect(json.fetchCache.hits + json.fetchCache.misses).toBeGreaterThan(0);
  });

  it('adds a worker thread and moves actors to it (brook workers add)', async () => {
    await produce('http-move', 1);
    const r = await cli(['workers', 'add', '1', '--http', `127.0.0.1:${broker.node.httpPort}`]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/added thread\(s\) \d+; moved \d+ actor\(s\)/);
    const { json } = await api<{ threads: { actors: string[] }[] }>('/api/overview');
    expect(json.threads.length).toBe(2);
    const counts = json.threads.map((t) => t.actors.length);
    expect(Math.abs(counts[0]! - counts[1]!)).toBeLessThanOrEqual(1);
  });

  it('shows each partition with its leader, replicas, ISR and health, in the topic and placement views and /metrics', async () => {
    await produce('http-replicas', 2);
    const { json: t } = await api<{
      underReplicated: number;
      offline: number;
      followersUnavailable: number[];
      partitions: { partition: number; leader: number; replicas: number[]; isr: number[]; underReplicated: boolean; offline: boolean; role: string; followers: unknown }[];
    }>('/api/topics/http-replicas');
    expect(t).toMatchObject({ underReplicated: 0, offline: 0, followersUnavailable: [] });
    // A single node leads alone: no followers to show.
    expect(t.partitions[0]).toMatchObject({ partition: 0, leader: 0, replicas: [0], isr: [0], underReplicated: false, offline: false, role: 'leader', followers: [] });
    expect((await api<{ nodeId: number; partitions: unknown[] }>('/api/topics/http-replicas/followers')).json).toEqual({
      nodeId: 0,
      partitions: [{ partition: 0, leaderEpoch: 0, followers: [] }],
    });
    const { json: placement } = await api<{ partitions: { topic: string; replicas: number[]; isr: number[]; underReplicated: boolean; offline: boolean }[] }>(
      '/api/cluster/placement',
    );
    expect(placement.partitions.find((p) => p.topic === 'http-replicas')).toMatchObject({ replicas: [0], isr: [0], underReplicated: false, offline: false });
    const { json: cluster } = await api<{ offlinePartitions: number; underReplicatedPartitions: number; nodes: { replicas: number; underReplicated: number }[] }>('/api/cluster');
    expect(cluster).toMatchObject({ offlinePartitions: 0, underReplicatedPartitions: 0 });
    expect(cluster.nodes[0]!.replicas).toBeGreaterThanOrEqual(1);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^kafka_server_replicamanager_underreplicatedpartitions\{node="0"\} 0$/m);
    expect(text).toMatch(/^kafka_controller_kafkacontroller_offlinepartitionscount\{node="0"\} 0$/m);
    expect(text).toMatch(/^kafka_server_replicafetchermanager_maxlag\{clientId="Replica",node="0"\} 0$/m);
    expect(text).toMatch(/^brook_partition_isr_size\{topic="http-replicas",partition="0",node="0"\} 1$/m);
  });

  it('serves Prometheus metrics with records produced per topic and actor mailboxes', async () => {
    await produce('http-metrics', 5);
    const text = await (await fetch(`${base}/metrics`)).text();
    // Every sample carries the node's id (one scrape config for a whole cluster).
    expect(text).toMatch(/brook_kafka_records_produced_total\{topic="http-metrics",node="0"\} 5/);
    expect(text).toMatch(/brook_kafka_request_latency_seconds_count\{node="0",api="Produce"\} \d+/);
    expect(text).toMatch(/brook_actor_mailbox_depth\{actor="partition:http-metrics:0",kind="partition",thread="\d+",node="0"\} 0/);
    expect(text).toMatch(/brook_worker_threads\{node="0"\} \d/);
  });
});
