/**
 * A three-node Brook cluster on etcd as each node tells it: Metadata lists the live nodes and
 * one controller everywhere; a partition answers only on its leader (NOT_LEADER_OR_FOLLOWER
 * elsewhere); topic admin requests sent to a node that is not the controller are forwarded;
 * a replication factor above the live node count is refused; GET /api/cluster, the node label
 * on /metrics, and `brook cluster nodes|describe`.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIf, uniqueTopic } from '../helpers/clients.js';
import { BrookCluster, waitUntil, type ClusterApi, type ClusterApiNode } from '../helpers/cluster.js';
import { etcdRequirement } from '../helpers/etcd.js';
import { fetchOnce } from '../helpers/raw-client.js';
import { buildBatch } from '../../src/storage/record-batch.js';

const NOT_LEADER_OR_FOLLOWER = 6;
const INVALID_REPLICATION_FACTOR = 38;

describeIf(etcdRequirement(), 'cluster: metadata, routing, forwarding, HTTP and CLI on three nodes', () => {
  let cluster: BrookCluster;
  const IDS = [1, 2, 3];
  const RACKS: Record<number, string> = { 1: 'rack-a', 2: 'rack-b', 3: 'rack-c' };

  beforeAll(async () => {
    cluster = BrookCluster.create({ nodeIds: IDS, racks: RACKS });
    await cluster.startAll();
    for (const id of IDS) await cluster.waitForBrokers(IDS, id);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  /** A node that is not the controller. */
  async function nonController(): Promise<{ controller: number; other: number }> {
    const controller = await cluster.waitForController(1);
    return { controller, other: IDS.find((id) => id !== controller)! };
  }

  it('every node lists the three nodes at their advertised addresses with their racks, the same controller and cluster id', async () => {
    const seen = await Promise.all(IDS.map((id) => cluster.metadata(id, [])));
    for (const md of seen) {
      expect(md.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })).sort((a, b) => a.nodeId - b.nodeId)).toEqual(
        IDS.map((id) => ({ nodeId: id, host: '127.0.0.1', port: cluster.node(id).port, rack: RACKS[id] })),
      );
      expect(IDS).toContain(md.controllerId);
      expect(md.controllerId).toBe(seen[0]!.controllerId);
      expect(md.clusterId).toBeTruthy();
      expect(md.clusterId).toBe(seen[0]!.clusterId);
    }
  });

  it('a partition answers produce and fetch on its leader and NOT_LEADER_OR_FOLLOWER on the other nodes', async () => {
    const topic = uniqueTopic('cl-route');
    const parts = await cluster.createTopic(topic, 3);
    expect(new Set(parts.map((p) => p.leaderId))).toEqual(new Set(IDS));
    for (const p of parts) {
      const records = buildBatch({ records: [{ key: null, value: Buffer.from(`p${p.partitionIndex}`) }] });
      for (const id of IDS) {
        const produced = await cluster.withRaw(id, (c) =>
          c.request(0, 9, { acks: -1, timeoutMs: 5_000, topicData: [{ name: topic, partitionData: [{ index: p.partitionIndex, records }] }] }),
        );
        const pr = produced.responses[0]!.partitionResponses[0]!;
        const fetched = await cluster.withRaw(id, (c) => fetchOnce(c, topic, p.partitionIndex, 0));
        if (id === p.leaderId) {
          expect(pr.errorCode, `produce ${topic}-${p.partitionIndex} on its leader ${id}`).toBe(0);
          expect(fetched.errorCode, `fetch ${topic}-${p.partitionIndex} on its leader ${id}`).toBe(0);
          expect(fetched.highWatermark).toBe(1);
        } else {
          expect(pr.errorCode, `produce ${topic}-${p.partitionIndex} (leader ${p.leaderId}) on node ${id}`).toBe(NOT_LEADER_OR_FOLLOWER);
          expect(fetched.errorCode, `fetch ${topic}-${p.partitionIndex} (leader ${p.leaderId}) on node ${id}`).toBe(NOT_LEADER_OR_FOLLOWER);
        }
      }
    }
  });

  it('CreateTopics, CreatePartitions, AlterConfigs and DeleteTopics sent to a node that is not the controller are forwarded', async () => {
    const { other } = await nonController();
    const topic = uniqueTopic('cl-fwd');
    const created = await cluster.createTopicsVia(other, [{ name: topic, numPartitions: 2 }]);
    expect(created.map((t) => [t.name, t.errorCode, t.errorMessage])).toEqual([[topic, 0, null]]);
    for (const id of IDS) await cluster.waitForLeaders(id, topic);

    const grown = await cluster.withRaw(other, (c) => c.request(37, 3, { topics: [{ name: topic, count: 4, assignments: null }], timeoutMs: 10_000, validateOnly: false }, 15_000));
    expect(grown.results.map((r) => [r.name, r.errorCode])).toEqual([[topic, 0]]);
    for (const id of IDS) {
      const parts = await cluster.waitForMetadata(
        id,
        (md) => md.topics[0]?.partitions.length === 4 && md.topics[0].partitions.every((p) => p.leaderId >= 0),
        `${topic} with 4 partitions`,
        {
          topics: [topic],
        },
      );
      expect(parts.topics[0]!.partitions).toHaveLength(4);
    }

    const altered = await cluster.withRaw(other, (c) =>
      c.request(33, 2, { resources: [{ resourceType: 2, resourceName: topic, configs: [{ name: 'retention.ms', value: '123456789' }] }], validateOnly: false }, 15_000),
    );
    expect(altered.responses.map((r) => [r.resourceName, r.errorCode, r.errorMessage])).toEqual([[topic, 0, null]]);
    for (const id of IDS) {
      await waitUntil(
        async () => {
          const res = await cluster.withRaw(id, (c) => c.request(32, 4, { resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ['retention.ms'] }] }));
          return res.results[0]?.configs.find((x) => x.name === 'retention.ms')?.value === '123456789' ? true : undefined;
        },
        15_000,
        `retention.ms of ${topic} on node ${id}`,
      );
    }

    const deleted = await cluster.withRaw(other, (c) =>
      c.request(20, 6, { topics: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000' }], timeoutMs: 10_000 }, 15_000),
    );
    expect(deleted.responses.map((r) => [r.name, r.errorCode])).toEqual([[topic, 0]]);
    for (const id of IDS) {
      await cluster.waitForMetadata(id, (md) => md.topics[0]?.errorCode === 3, `${topic} gone (UNKNOWN_TOPIC_OR_PARTITION)`, { topics: [topic] });
    }
  });

  it('a replication factor above the live node count is INVALID_REPLICATION_FACTOR; three replicas on three nodes are placed on all three', async () => {
    const { other } = await nonController();
    const tooMany = uniqueTopic('cl-rf4');
    const refused = await cluster.createTopicsVia(other, [{ name: tooMany, numPartitions: 1, replicationFactor: 4 }]);
    expect(refused[0]!.errorCode, JSON.stringify(refused)).toBe(INVALID_REPLICATION_FACTOR);
    const md = await cluster.metadata(other, [tooMany]);
    expect(md.topics[0]!.errorCode).toBe(3);

    const three = uniqueTopic('cl-rf3');
    const ok = await cluster.createTopicsVia(other, [{ name: three, numPartitions: 3, replicationFactor: 3 }]);
    expect(ok[0]!.errorCode, JSON.stringify(ok)).toBe(0);
    const parts = await cluster.waitForLeaders(other, three);
    for (const p of parts) {
      expect([...p.replicaNodes].sort()).toEqual(IDS);
      expect(p.replicaNodes).toContain(p.leaderId);
    }
    expect(new Set(parts.map((p) => p.leaderId))).toEqual(new Set(IDS));
  });

  it('GET /api/cluster on every node: three alive nodes, one controller, the store and the metadata offset', async () => {
    const controller = await cluster.waitForController(1);
    const views: ClusterApi[] = [];
    for (const id of IDS) {
      await cluster.clusterApi(id); // the route answers at all (a 404 fails here, not after the wait)
      const v = await waitUntil(
        async () => {
          const c = await cluster.clusterApi(id);
          return c.nodes.length === 3 && c.nodes.every((n) => n.state === 'alive') ? c : undefined;
        },
        15_000,
        `/api/cluster of node ${id} with three alive nodes`,
      );
      views.push(v);
    }
    for (const v of views) {
      expect(v.controllerId).toBe(controller);
      expect(v.clusterId).toBe(views[0]!.clusterId);
      expect(v.metadataStore).toContain(cluster.etcd.endpoint);
      expect(typeof v.metadataOffset).toBe('number');
      expect(v.metadataOffset).toBeGreaterThan(0);
      const nodes = [...v.nodes].sort((a, b) => a.nodeId - b.nodeId);
      expect(nodes.map((n: ClusterApiNode) => ({ nodeId: n.nodeId, state: n.state, host: n.host, port: n.port, httpPort: n.httpPort, controller: n.controller }))).toEqual(
        IDS.map((id) => ({ nodeId: id, state: 'alive', host: '127.0.0.1', port: cluster.node(id).port, httpPort: cluster.node(id).httpPort, controller: id === controller })),
      );
      for (const n of nodes) {
        expect(typeof n.leaderships).toBe('number');
        expect(n.rack, `rack of node ${n.nodeId}`).toBe(RACKS[n.nodeId]);
      }
    }
    // leaderships: the partitions (of every topic) a node leads, as Metadata shows them.
    const md = await cluster.metadata(1, null);
    const led = (id: number) => md.topics.reduce((n, t) => n + t.partitions.filter((p) => p.leaderId === id).length, 0);
    const api = await cluster.clusterApi(1);
    expect(
      Object.fromEntries(api.nodes.map((n) => [n.nodeId, n.leaderships])),
      `leaderships in /api/cluster against the leaders in Metadata (topics ${md.topics.map((t) => t.name).join(', ')})`,
    ).toEqual(Object.fromEntries(IDS.map((id) => [id, led(id)])));
  });

  it('/metrics on every node labels every sample with its node id', async () => {
    for (const id of IDS) {
      const res = await fetch(`http://127.0.0.1:${cluster.node(id).httpPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
      expect(res.status).toBe(200);
      const samples = (await res.text()).split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
      expect(samples.length).toBeGreaterThan(0);
      const unlabelled = samples.filter((l) => !l.includes(`node="${id}"`));
      expect(unlabelled.slice(0, 5), `samples of node ${id} without node="${id}"`).toEqual([]);
    }
  });

  it('brook cluster nodes --json and the table', async () => {
    const controller = await cluster.waitForController(1);
    const http = `127.0.0.1:${cluster.node(2).httpPort}`;
    const r = await cluster.cli(['cluster', 'nodes', '--http', http, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const nodes = (JSON.parse(r.stdout) as ClusterApiNode[]).sort((a, b) => a.nodeId - b.nodeId);
    expect(nodes.map((n) => [n.nodeId, n.state, n.port, n.controller])).toEqual(IDS.map((id) => [id, 'alive', cluster.node(id).port, id === controller]));

    const t = await cluster.cli(['cluster', 'nodes', '--http', http]);
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4); // a header and a line per node
    for (const id of IDS)
      expect(
        lines.some((l) => new RegExp(`(^|\\s)${id}\\s`).test(l) && l.includes(String(cluster.node(id).port)) && l.includes('alive')),
        t.stdout,
      ).toBe(true);
  });

  it('brook cluster describe --json', async () => {
    const md = await cluster.metadata(3, []);
    const r = await cluster.cli(['cluster', 'describe', '--http', `127.0.0.1:${cluster.node(3).httpPort}`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(d.controllerId).toBe(md.controllerId);
    expect(d.clusterId).toBe(md.clusterId);
    // The same names as GET /api/cluster.
    expect(String(d.metadataStore)).toContain(cluster.etcd.endpoint);
    expect(typeof d.metadataOffset, `metadataOffset in ${r.stdout}`).toBe('number');
    expect(d.metadataOffset as number).toBeGreaterThan(0);

    const text = await cluster.cli(['cluster', 'describe', '--http', `127.0.0.1:${cluster.node(3).httpPort}`]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(String(md.clusterId));
    expect(text.stdout).toContain(cluster.etcd.endpoint);
  });
});
