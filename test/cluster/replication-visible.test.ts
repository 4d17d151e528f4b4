/**
 * Replication made visible on a three-node cluster (etcd, session timeout 2 s): a topic with
 * replication factor 3 shows full ISRs and its followers' lag in the HTTP API (from any node: a
 * partition led elsewhere is asked of its leader), /metrics and `brook topics describe`. One node
 * SIGKILLed: `brook topics describe --under-replicated-partitions` lists every partition of the
 * topic with the dead node out of its ISR; the leaders' /metrics count them
 * (kafka_server_replicamanager_underreplicatedpartitions, brook_partition_under_replicated,
 * redpanda_kafka_under_replicated_replicas); the API and the Cluster page's counts say so; a
 * replication-factor-1 partition on the dead node is offline (`--unavailable-partitions`, the
 * controller's kafka_controller_kafkacontroller_offlinepartitionscount). Restarted: everything
 * back to 0.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Producer } from '../../src/client/index.js';
import { describeIf, uniqueTopic } from '../helpers/clients.js';
import { BrookCluster, waitUntil } from '../helpers/cluster.js';
import { etcdRequirement } from '../helpers/etcd.js';

const chromiumPath = '/usr/bin/chromium';
const shots = join(import.meta.dirname, '../console/screenshots');

/**
 * The console of node `id` in chromium (when installed): the Cluster page's under-replicated and
 * offline cards and the topic page's ISR, status and follower-lag columns. Screenshots go to
 * test/console/screenshots/.
 */
async function consoleShows(httpPort: number, topic: string, victim: number): Promise<void> {
  if (!existsSync(chromiumPath)) return;
  mkdirSync(shots, { recursive: true });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`http://127.0.0.1:${httpPort}/#/cluster`);
    await page.waitForSelector('main[data-ready="cluster"]');
    await page.waitForSelector('#card-under-replicated .value');
    expect(Number(await page.locator('#card-under-replicated .value').innerText())).toBeGreaterThanOrEqual(3);
    expect(Number(await page.locator('#card-offline .value').innerText())).toBeGreaterThanOrEqual(1);
    const row = page.locator(`#cluster-placement-table tr[data-topic="${topic}"][data-partition="0"]`);
    expect(await row.locator('[data-status]').getAttribute('data-status')).toBe('under-replicated');
    expect(await row.locator('s.out-of-isr').innerText()).toBe(String(victim));
    await page.screenshot({ path: join(shots, 'cluster-under-replicated.png'), fullPage: false });
    await page.goto(`http://127.0.0.1:${httpPort}/#/topics/${topic}`);
    await page.waitForSelector('#partitions-table tr[data-partition="2"]');
    expect(await page.locator('#topic-under-replicated').innerText()).toBe('3 under-replicated');
    for (const p of [0, 1, 2]) {
      const r = page.locator(`#partitions-table tr[data-partition="${p}"]`);
      expect(await r.locator('[data-status]').getAttribute('data-status')).toBe('under-replicated');
      // The leader's view of its followers: the dead one lagging, out of the ISR.
      expect(await r.locator('.follower-lag .lagging').innerText()).toMatch(new RegExp(`^${victim}: `));
    }
    await page.screenshot({ path: join(shots, 'topic-under-replicated.png'), fullPage: false });
  } finally {
    await browser.close();
  }
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition format, as prom-client writes it. */
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

interface FollowerApi {
  nodeId: number;
  inIsr: boolean;
  logEndOffset: number;
  lagRecords: number | null;
  caughtUpAgoMs: number | null;
}

interface PartitionApi {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  underReplicated: boolean;
  offline: boolean;
  role: 'leader' | 'follower' | null;
  followers: FollowerApi[] | null;
  replicaLagRecords: number | null;
}

interface TopicApi {
  name: string;
  underReplicated: number;
  offline: number;
  partitions: PartitionApi[];
  followersUnavailable: number[];
}

describeIf(etcdRequirement(), 'cluster: replication visible in the API, /metrics and topics describe', () => {
  let cluster: BrookCluster;
  const topic = uniqueTopic('vis');
  const single = uniqueTopic('vis-rf1');

  beforeAll(async () => {
    cluster = BrookCluster.create({ nodeIds: [1, 2, 3] });
    await cluster.startAll();
    await cluster.waitForBrokers([1, 2, 3], 1);
  }, 90_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  async function get<T>(id: number, path: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${cluster.node(id).httpPort}${path}`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`GET ${path} on node ${id}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async function metrics(id: number): Promise<Sample[]> {
    const res = await fetch(`http://127.0.0.1:${cluster.node(id).httpPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
    return parseMetrics(await res.text());
  }

  const value = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

  async function topicsDescribe(via: number, ...args: string[]): Promise<string> {
    const r = await cluster.cli(['topics', 'describe', ...args, '--bootstrap-server', cluster.bootstrap(via)]);
    if (r.code !== 0) throw new Error(`brook topics describe ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** Fails with the nodes' logs. */
  async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000, last?: () => unknown): Promise<T> {
    try {
      return await waitUntil(probe, timeoutMs, what, last);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${cluster.logs(1500)}`, { cause: err });
    }
  }

  it('shows full ISRs, each follower as its leader sees it, and no under-replicated partition', async () => {
    await cluster.createTopic(topic, 3, { replicationFactor: 3 });
    await cluster.createTopic(single, 3, { replicationFactor: 1 });
    const alter = await cluster.cli(['configs', 'alter', '--topic', topic, '--add-config', 'min.insync.replicas=2', '--bootstrap-server', cluster.bootstrap(1)]);
    expect(alter.code, alter.stderr).toBe(0);
    const producer = new Producer({ bootstrapServers: [cluster.bootstrap(1)] });
    try {
      await producer.send({ topic, messages: Array.from({ length: 30 }, (_, i) => ({ partition: i % 3, value: `v${i}` })) });
    } finally {
      await producer.close();
    }
    // From node 1: partitions led by nodes 2 and 3 get their followers from those leaders.
    let seen: TopicApi | undefined;
    const view = await until(
      async () => {
        seen = await get<TopicApi>(1, `/api/topics/${topic}`);
        const ready = seen.partitions.every((p) => p.isr.length === 3 && p.followers?.length === 2 && p.followers.every((f) => f.lagRecords === 0 && f.inIsr));
        return ready ? seen : undefined;
      },
      'every partition with 3 in sync and both followers caught up, seen from node 1',
      30_000,
      () => seen,
    );
    expect(view.underReplicated).toBe(0);
    expect(view.offline).toBe(0);
    expect(view.followersUnavailable).toEqual([]);
    for (const p of view.partitions) {
      expect(p.replicas.length).toBe(3);
      expect(p.underReplicated).toBe(false);
      expect(p.role).toBe(p.leader === 1 ? 'leader' : 'follower');
      expect(p.followers!.map((f) => f.nodeId).sort()).toEqual([1, 2, 3].filter((n) => n !== p.leader));
      expect(p.followers!.every((f) => f.logEndOffset === 10 && f.caughtUpAgoMs !== null)).toBe(true);
    }
    const lines = (await topicsDescribe(1, topic)).trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^Topic: ${topic}\\tTopicId: \\S+\\tPartitionCount: 3\\tReplicationFactor: 3\\t`));
    for (const [i, p] of view.partitions.entries()) {
      expect(lines[i + 1]).toBe(`\tTopic: ${topic}\tPartition: ${p.partition}\tLeader: ${p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}`);
    }
    expect(await topicsDescribe(2, topic, '--under-replicated-partitions')).toBe('');
    expect(await topicsDescribe(2, topic, '--at-min-isr-partitions', '--under-min-isr-partitions')).toBe('');
    for (const id of [1, 2, 3]) {
      const m = await metrics(id);
      expect(value(m, 'kafka_server_replicamanager_underreplicatedpartitions'), `node ${id}`).toBe(0);
      expect(value(m, 'kafka_server_replicamanager_leadercount'), `node ${id}`).toBeGreaterThanOrEqual(1);
      for (const p of [0, 1, 2]) {
        expect(value(m, 'brook_partition_isr_size', { topic, partition: String(p) }), `node ${id} ${topic}-${p}`).toBe(3);
        expect(value(m, 'brook_partition_replicas', { topic, partition: String(p) })).toBe(3);
        expect(value(m, 'brook_partition_under_replicated', { topic, partition: String(p) })).toBe(0);
      }
    }
  });

  it('one node killed: describe --under-replicated-partitions lists the partitions, the leaders count them, the API shows the ISR; back to 0 after its restart', async () => {
    const controller = await cluster.waitForController(1);
    const victim = [3, 2, 1].find((id) => id !== controller)!;
    const survivors = [1, 2, 3].filter((id) => id !== victim);
    const via = survivors[0]!;
    await cluster.kill9(victim);

    // Every partition of the RF-3 topic loses the victim from its ISR (a new leader where it led).
    const expectedLines = await until(async () => {
      const out = await topicsDescribe(via, '--under-replicated-partitions');
      const mine = out.split('\n').filter((l) => l.includes(`Topic: ${topic}\t`));
      return mine.length === 3 ? mine : undefined;
    }, `three under-replicated partitions of ${topic} listed by node ${via}`);
    for (const l of expectedLines) {
      const m = /\tLeader: (\d+)\tReplicas: ([\d,]+)\tIsr: ([\d,]+)$/.exec(l);
      expect(m, l).not.toBeNull();
      expect(m![3]!.split(',').map(Number).sort()).toEqual(survivors);
      expect(survivors).toContain(Number(m![1]));
      expect(m![2]!.split(',').length).toBe(3);
    }
    // Only partition lines: no header.
    expect(await topicsDescribe(via, topic, '--under-replicated-partitions')).not.toMatch(/^Topic:/m);
    // ISR 2 = min.insync.replicas 2: at the minimum, not under it.
    expect((await topicsDescribe(via, topic, '--at-min-isr-partitions')).trimEnd().split('\n')).toHaveLength(3);
    expect(await topicsDescribe(via, topic, '--under-min-isr-partitions')).toBe('');

    const view = await until(async () => {
      const v = await get<TopicApi>(via, `/api/topics/${topic}`);
      return v.underReplicated === 3 && v.partitions.every((p) => survivors.includes(p.leader)) ? v : undefined;
    }, `/api/topics/${topic} on node ${via} with 3 under-replicated partitions`);
    for (const p of view.partitions) {
      expect(p.isr.slice().sort()).toEqual(survivors);
      expect(p.underReplicated).toBe(true);
      expect(p.offline).toBe(false);
      // The leader still tracks the dead follower, out of the ISR.
      const dead = p.followers?.find((f) => f.nodeId === victim);
      expect(dead?.inIsr, JSON.stringify(p)).toBe(false);
    }

    // The leaders' /metrics: Kafka's, Redpanda's and Brook's per-partition figures.
    const leaders = new Map<number, number[]>();
    for (const p of view.partitions) leaders.set(p.leader, [...(leaders.get(p.leader) ?? []), p.partition]);
    for (const [leader, parts] of leaders) {
      const m = await until(async () => {
        const s = await metrics(leader);
        return (value(s, 'kafka_server_replicamanager_underreplicatedpartitions') ?? 0) >= parts.length ? s : undefined;
      }, `node ${leader}'s under-replicated partitions in /metrics`);
      expect(value(m, 'redpanda_kafka_under_replicated_replicas', { redpanda_topic: topic })).toBe(parts.length);
      expect(value(m, 'kafka_server_replicamanager_atminisrpartitioncount')).toBeGreaterThanOrEqual(parts.length);
      for (const p of parts) {
        expect(value(m, 'brook_partition_under_replicated', { topic, partition: String(p) })).toBe(1);
        expect(value(m, 'brook_partition_isr_size', { topic, partition: String(p) })).toBe(2);
        expect(value(m, 'kafka_cluster_partition_underreplicated', { topic, partition: String(p) })).toBe(1);
      }
    }

    // The RF-1 partition on the dead node has no leader: unavailable, and offline on the controller.
    const lost = (await get<TopicApi>(via, `/api/topics/${single}`)).partitions.filter((p) => p.replicas[0] === victim).map((p) => p.partition);
    expect(lost.length).toBeGreaterThanOrEqual(1);
    const unavailable = await until(async () => {
      const out = await topicsDescribe(via, single, '--unavailable-partitions');
      const n = out.split('\n').filter((l) => l.includes('Leader: none')).length;
      return n === lost.length ? out : undefined;
    }, `${single}'s partitions on node ${victim} unavailable`);
    for (const p of lost) expect(unavailable).toContain(`\tTopic: ${single}\tPartition: ${p}\tLeader: none\tReplicas: ${victim}\tIsr: ${victim}`);
    const c = await get<{ controllerId: number; offlinePartitions: number; underReplicatedPartitions: number; nodes: { nodeId: number; underReplicated: number }[] }>(
      via,
      '/api/cluster',
    );
    expect(c.offlinePartitions).toBe(lost.length);
    expect(c.underReplicatedPartitions).toBeGreaterThanOrEqual(3);
    const active = await metrics(c.controllerId);
    expect(value(active, 'kafka_controller_kafkacontroller_offlinepartitionscount')).toBe(lost.length);
    expect(value(active, 'kafka_controller_kafkacontroller_activecontrollercount')).toBe(1);
    const placement = await get<{ partitions: { topic: string; partition: number; isr: number[]; underReplicated: boolean; offline: boolean }[] }>(via, '/api/cluster/placement');
    expect(placement.partitions.filter((p) => p.topic === topic).every((p) => p.underReplicated && !p.isr.includes(victim))).toBe(true);
    expect(placement.partitions.filter((p) => p.topic === single && p.offline).map((p) => p.partition)).toEqual(lost);

    await consoleShows(cluster.node(via).httpPort, topic, victim);

    // Restarted: it catches up, rejoins every ISR, and every figure is back to 0.
    await cluster.startNode(victim);
    await until(
      async () => {
        const out = await topicsDescribe(via, '--under-replicated-partitions', '--unavailable-partitions');
        return out.includes(`Topic: ${topic}\t`) || out.includes(`Topic: ${single}\t`) ? undefined : true;
      },
      'no partition under-replicated or unavailable after the restart',
      60_000,
    );
    for (const id of [1, 2, 3]) {
      await until(async () => {
        const m = await metrics(id);
        const under = value(m, 'kafka_server_replicamanager_underreplicatedpartitions');
        const isr = [0, 1, 2].map((p) => value(m, 'brook_partition_isr_size', { topic, partition: String(p) }));
        return under === 0 && isr.every((n) => n === 3) ? true : undefined;
      }, `node ${id}'s /metrics back to 0 under-replicated`);
    }
    const after = await get<TopicApi>(victim, `/api/topics/${topic}`);
    expect(after.underReplicated).toBe(0);
    expect(after.partitions.every((p) => p.isr.length === 3)).toBe(true);
    await until(async () => ((await get<{ offlinePartitions: number }>(victim, '/api/cluster')).offlinePartitions === 0 ? true : undefined), 'no offline partition');
  });
});
