/**
 * The controller's placement and leadership duties, and the application of metadata deltas,
 * alone: an in-memory MetadataStore stands in for etcd (the same interface; it orders appends,
 * fences writes by controllership and delivers batches in order), so no process or socket is
 * involved. The real store is covered by the cluster tests beside this file.
 */
import { describe, expect, it } from 'vitest';
import { ClusterMetadata, diffImages, type MetadataDelta } from '../../src/cluster/cluster-metadata.js';
import { assignReplicas, Controller, electLeader, nextPartitionState } from '../../src/cluster/controller.js';
import { ControllerChannel } from '../../src/cluster/controller-channel.js';
import { MetadataImage, type PartitionImage } from '../../src/cluster/metadata-image.js';
import type { MetadataRecord } from '../../src/cluster/metadata-records.js';
import { MetadataStoreError, type MetadataStore, type MetadataStoreListener, type NodeRegistration } from '../../src/cluster/metadata-store.js';

/** An in-memory store: one log, a live set the test edits, a controller the test names. */
class MemoryStore implements MetadataStore {
  readonly description = 'memory';
  readonly log: MetadataRecord[][] = [];
  readonly nodes = new Map<number, NodeRegistration>();
  controller = -1;
  private listener: MetadataStoreListener | undefined;
  available = true;

  constructor(private readonly selfId: number) {}

  async open(self: NodeRegistration, listener: MetadataStoreListener): Promise<void> {
    this.listener = listener;
    this.nodes.set(self.nodeId, self);
    let offset = 0;
    for (const b of this.log) {
      await listener.batch({ kind: 'records', offset, records: b });
      offset += b.length;
    }
  }
  register(self: NodeRegistration): Promise<void> {
    this.nodes.set(self.nodeId, self);
    this.listener?.membershipChanged();
    return Promise.resolve();
  }
  liveNodes(): ReadonlyMap<number, NodeRegistration> {
    return this.nodes;
  }
  controllerId(): number {
    return this.controller;
  }
  isController(): boolean {
    return this.controller === this.selfId;
  }
  async append(offset: number, records: readonly MetadataRecord[]): Promise<number> {
    if (!this.available) throw new MetadataStoreError('UNAVAILABLE', 'memory store switched off');
    if (!this.isController()) throw new MetadataStoreError('NOT_CONTROLLER', 'not the controller');
    const end = this.end();
    if (offset !== end) throw new MetadataStoreError('NOT_CONTROLLER', `log moved past ${offset}`);
    this.log.push([...records]);
    await this.listener!.batch({ kind: 'records', offset, records });
    return end + records.length;
  }
  committedEnd(): Promise<number> {
    return Promise.resolve(this.end());
  }
  resign(): Promise<void> {
    this.controller = -1;
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  /** Takes a node out of the live set (its lease expired) and tells the listener. */
  drop(nodeId: number): void {
    this.nodes.delete(nodeId);
    this.listener?.membershipChanged();
  }
  private end(): number {
    return this.log.reduce((n, b) => n + b.length, 0);
  }
}

const quiet = { info: () => undefined, warn: () => undefined };

function node(nodeId: number, rack: string | null = null, state: NodeRegistration['state'] = 'alive'): NodeRegistration {
  return { nodeId, incarnationId: `inc-${nodeId}`, host: '127.0.0.1', port: 9000 + nodeId, httpPort: -1, rack, state };
}

async function controllerOn(nodes: NodeRegistration[], opts: { rf?: number } = {}) {
  const store = new MemoryStore(nodes[0]!.nodeId);
  const metadata = new ClusterMetadata();
  const deltas: MetadataDelta[] = [];
  metadata.onDelta((d) => {
    deltas.push(d);
    return Promise.resolve();
  });
  const controller = new Controller(
    store,
    metadata,
    new ControllerChannel(nodes[0]!.nodeId, 1_000),
    { nodeId: nodes[0]!.nodeId, defaultPartitions: 1, defaultReplicationFactor: opts.rf ?? 1, offsetsTopicPartitions: 3, requestTimeoutMs: 1_000 },
    quiet,
  );
  await store.open(nodes[0]!, {
    batch: (b) => metadata.apply(b),
    membershipChanged: () => controller.membershipChanged(),
    snapshot: () => ({ kind: 'snapshot', offset: metadata.appliedEnd, records: metadata.image.toRecords() }),
  });
  for (const n of nodes) store.nodes.set(n.nodeId, n);
  store.controller = nodes[0]!.nodeId;
  expect(await controller.settle()).toBeUndefined();
  return { store, metadata, controller, deltas };
}

function leaders(metadata: ClusterMetadata, topic: string): number[] {
  return metadata.image.topicsByName.get(topic)!.partitions.map((p) => p.leader);
}

describe('placement', () => {
  it('spreads leaders and replicas round-robin over the live nodes, each replica set distinct', () => {
    const plan = assignReplicas([node(1), node(2), node(3)], 6, 2, 0);
    expect(plan.map((r) => r[0])).toEqual([1, 2, 3, 1, 2, 3]);
    for (const r of plan) expect(new Set(r).size).toBe(2);
    const followers = new Map<number, number>();
    for (const r of plan) followers.set(r[1]!, (followers.get(r[1]!) ?? 0) + 1);
    expect([...followers.values()]).toEqual([2, 2, 2]);
  });

  it('puts the replicas of a partition on different racks when the nodes have racks', () => {
    const nodes = [node(1, 'a'), node(2, 'a'), node(3, 'b'), node(4, 'b'), node(5, 'c'), node(6, 'c')];
    const rackOf = new Map(nodes.map((n) => [n.nodeId, n.rack]));
    for (const r of assignReplicas(nodes, 12, 3, 1)) expect(new Set(r.map((id) => rackOf.get(id))).size).toBe(3);
  });

  it('the controller refuses a replication factor above the live nodes and an assignment to a node that is not live', async () => {
    const { controller, store } = await controllerOn([node(1), node(2), node(3)]);
    const tooMany = await controller.createTopic({ name: 'rf4', numPartitions: 1, replicationFactor: 4 });
    expect(tooMany).toMatchObject({ error: 'INVALID_REPLICATION_FACTOR' });
    store.drop(3);
    const rf3 = await controller.createTopic({ name: 'rf3', numPartitions: 1, replicationFactor: 3 });
    expect(rf3).toMatchObject({ error: 'INVALID_REPLICATION_FACTOR' });
    const onDead = await controller.createTopic({ name: 'dead', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [3] }] });
    expect(onDead).toMatchObject({ error: 'INVALID_REPLICA_ASSIGNMENT' });
    const explicit = await controller.createTopic({ name: 'explicit', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [2, 1] }] });
    expect('error' in explicit ? explicit : explicit.partitions[0]).toMatchObject({ replicas: [2, 1], leader: 2 });
  });

  it('a node in a controlled shutdown or still starting gets no new partitions', async () => {
    const { controller, store } = await controllerOn([node(1), node(2), node(3, null, 'shutting-down'), node(4, null, 'starting')]);
    void store;
    const t = await controller.createTopic({ name: 'spread', numPartitions: 6, replicationFactor: 1 });
    expect('error' in t ? t : [...new Set(t.partitions.map((p) => p.leader))].sort()).toEqual([1, 2]);
  });
});

describe('leadership duties', () => {
  const p = (leader: number, replicas: number[], isr = replicas): PartitionImage => ({ partition: 0, leader, replicas, isr, leaderEpoch: 3, partitionEpoch: 0 });
  const live = (...ns: NodeRegistration[]) => new Map(ns.map((n) => [n.nodeId, n]));

  it('elects the first live in-sync replica, keeps a live leader, never a replica outside the ISR', () => {
    expect(electLeader(p(1, [1, 2, 3]), live(node(1), node(2)))).toBe(1);
    expect(electLeader(p(1, [1, 2, 3]), live(node(2), node(3)))).toBe(2);
    expect(electLeader(p(1, [1, 2, 3], [1, 3]), live(node(2), node(3)))).toBe(3);
    expect(electLeader(p(1, [1, 2], [1]), live(node(2)))).toBe(-1);
    // Shutting down with nowhere to go: it keeps leading until it exits.
    expect(electLeader(p(1, [1]), live(node(1, null, 'shutting-down')))).toBe(1);
    // An offline partition comes back with its in-sync replica.
    expect(electLeader(p(-1, [2]), live(node(2)))).toBe(2);
  });

  it('a node that leaves loses its leaderships (epoch up) and its ISR places, RF=1 partitions go offline, and come back with it', async () => {
    const { controller, store, metadata } = await controllerOn([node(1), node(2), node(3)]);
    await controller.createTopic({ name: 'one', numPartitions: 3, replicationFactor: 1 });
    await controller.createTopic({ name: 'two', numPartitions: 3, replicationFactor: 2 });
    const before = metadata.image.topicsByName.get('two')!.partitions.map((x) => ({ ...x }));
    store.drop(3);
    await expect.poll(() => leaders(metadata, 'one').filter((l) => l === -1).length).toBe(1);
    expect(leaders(metadata, 'two')).not.toContain(3);
    for (const [i, q] of metadata.image.topicsByName.get('two')!.partitions.entries()) {
      const b = before[i]!;
      if (b.leader === 3) expect(q.leaderEpoch).toBe(b.leaderEpoch + 1);
      else expect(q.leaderEpoch).toBe(b.leaderEpoch);
      // Node 3 leaves every ISR it was in (the partition epoch says so); the others keep theirs.
      expect(q.isr).toEqual(b.isr.filter((r) => r !== 3));
      expect(q.partitionEpoch).toBe(b.isr.includes(3) ? b.partitionEpoch + 1 : b.partitionEpoch);
    }
    await store.register(node(3));
    await expect.poll(() => leaders(metadata, 'one').includes(-1)).toBe(false);
    expect(leaders(metadata, 'one')).toContain(3);
  });

  it('next partition state: a gone follower leaves the ISR, the last ISR member never does, unclean election only when allowed', () => {
    const st = (leader: number, replicas: number[], isr: number[]): PartitionImage => ({ partition: 0, leader, replicas, isr, leaderEpoch: 4, partitionEpoch: 9 });
    expect(nextPartitionState(st(1, [1, 2, 3], [1, 2, 3]), live(node(1), node(2), node(3)), false)).toBeNull();
    expect(nextPartitionState(st(1, [1, 2, 3], [1, 2, 3]), live(node(1), node(2)), false)).toEqual({ leader: 1, isr: [1, 2], leaderEpoch: 4, partitionEpoch: 10 });
    expect(nextPartitionState(st(1, [1, 2, 3], [1, 2, 3]), live(node(2), node(3)), false)).toEqual({ leader: 2, isr: [2, 3], leaderEpoch: 5, partitionEpoch: 10 });
    // The last in-sync replica gone: offline, the ISR kept so that it alone may lead again.
    expect(nextPartitionState(st(1, [1, 2], [1]), live(node(2)), false)).toEqual({ leader: -1, isr: [1], leaderEpoch: 5, partitionEpoch: 10 });
    expect(nextPartitionState(st(1, [1, 2], [1]), live(node(2)), true)).toEqual({ leader: 2, isr: [2], leaderEpoch: 5, partitionEpoch: 10 });
    // A shutting-down follower leaves the ISR; a shutting-down leader hands over.
    expect(nextPartitionState(st(1, [1, 2], [1, 2]), live(node(1), node(2, null, 'shutting-down')), false)).toEqual({ leader: 1, isr: [1], leaderEpoch: 4, partitionEpoch: 10 });
    expect(nextPartitionState(st(1, [1, 2], [1, 2]), live(node(1, null, 'shutting-down'), node(2)), false)).toEqual({ leader: 2, isr: [2], leaderEpoch: 5, partitionEpoch: 10 });
  });

  it('AlterPartition: applied from the current leader in its epochs, refused from a stale one', async () => {
    const { controller, metadata } = await controllerOn([node(1), node(2), node(3)]);
    const t = await controller.createTopic({ name: 'isr', numPartitions: 1, replicationFactor: 3 });
    if ('error' in t) throw new Error(t.message);
    const p = t.partitions[0]!;
    const change = { topicId: t.topicId, partition: 0, leaderId: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch };
    const shrunk = [p.leader, p.replicas.find((r) => r !== p.leader)!];
    expect(await controller.alterPartition({ ...change, isr: shrunk })).toMatchObject({ isr: shrunk, partitionEpoch: p.partitionEpoch + 1 });
    expect(metadata.image.topicsById.get(t.topicId)!.partitions[0]!.isr).toEqual(shrunk);
    // The same proposal again names an old partition epoch.
    expect(await controller.alterPartition({ ...change, isr: p.replicas })).toMatchObject({ error: 'INVALID_UPDATE_VERSION' });
    const now = { ...change, partitionEpoch: p.partitionEpoch + 1 };
    expect(await controller.alterPartition({ ...now, leaderEpoch: p.leaderEpoch - 1, isr: p.replicas })).toMatchObject({ error: 'FENCED_LEADER_EPOCH' });
    expect(await controller.alterPartition({ ...now, leaderId: shrunk[1]!, isr: p.replicas })).toMatchObject({ error: 'NOT_LEADER_OR_FOLLOWER' });
    expect(await controller.alterPartition({ ...now, isr: shrunk.slice(1) })).toMatchObject({ error: 'INVALID_REQUEST' });
    expect(await controller.alterPartition({ ...now, isr: p.replicas })).toMatchObject({ isr: p.replicas, partitionEpoch: p.partitionEpoch + 2 });
  });

  it('refuses changes with a clear error when the store is unavailable, and hands out producer ids in blocks no one else had', async () => {
    const { controller, store } = await controllerOn([node(1), node(2)]);
    const a = await controller.allocateProducerId();
    const b = await controller.allocateProducerId();
    expect(b).toBe((a as number) + 1);
    const block = await controller.allocateProducerIdBlock();
    expect(block).toMatchObject({ start: 1000, length: 1000 });
    store.available = false;
    const failed = await controller.createTopic({ name: 'later', numPartitions: 1, replicationFactor: 1 });
    expect(failed).toMatchObject({ error: 'REQUEST_TIMED_OUT' });
    expect((failed as { message: string }).message).toContain('unavailable');
    store.available = true;
    expect(await controller.createTopic({ name: 'later', numPartitions: 1, replicationFactor: 1 })).not.toHaveProperty('error');
  });

  it('a node that is not the controller and has none to forward to answers NOT_CONTROLLER', async () => {
    const { controller, store } = await controllerOn([node(1), node(2)]);
    store.controller = -1;
    expect(await controller.createTopic({ name: 'x', numPartitions: 1, replicationFactor: 1 })).toMatchObject({ error: 'NOT_CONTROLLER' });
  });
});

describe('metadata deltas', () => {
  it('records yield the partitions that appeared or changed, deleted topics and changed configs', async () => {
    const m = new ClusterMetadata();
    const seen: MetadataDelta[] = [];
    m.onDelta((d) => {
      seen.push(d);
      return Promise.resolve();
    });
    await m.apply({
      kind: 'records',
      offset: 0,
      records: [
        { type: 'Topic', name: 'a', topicId: 'A' },
        { type: 'Partition', topicId: 'A', partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0 },
        { type: 'Partition', topicId: 'A', partition: 1, replicas: [2], isr: [2], leader: 2, leaderEpoch: 0 },
      ],
    });
    expect(seen[0]!.partitions.map((c) => [c.after.partition, c.before?.leader, c.after.leader])).toEqual([
      [0, undefined, 1],
      [1, undefined, 2],
    ]);
    // Two changes to one partition in a batch are one change, from the first state to the last.
    await m.apply({
      kind: 'records',
      offset: 3,
      records: [
        { type: 'Partition', topicId: 'A', partition: 0, replicas: [1], isr: [1], leader: -1, leaderEpoch: 1 },
        { type: 'Partition', topicId: 'A', partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 2 },
        { type: 'Config', resourceType: 'topic', resourceName: 'a', name: 'retention.ms', value: '1000' },
      ],
    });
    expect(seen[1]!.partitions).toHaveLength(1);
    expect(seen[1]!.partitions[0]).toMatchObject({ before: { leader: 1, leaderEpoch: 0 }, after: { leader: 1, leaderEpoch: 2 } });
    expect(seen[1]!.configs).toEqual([{ resourceType: 'topic', resourceName: 'a' }]);
    // A batch already applied (a watch that delivers again) changes nothing.
    await m.apply({ kind: 'records', offset: 3, records: [{ type: 'RemoveTopic', topicId: 'A' }] });
    expect(seen).toHaveLength(2);
    await m.apply({ kind: 'records', offset: 6, records: [{ type: 'RemoveTopic', topicId: 'A' }] });
    expect(seen[2]!.deletedTopics.map((t) => t.name)).toEqual(['a']);
    await expect(m.apply({ kind: 'records', offset: 9, records: [] })).rejects.toThrow(/offset 9/);
  });

  it('a snapshot replaces the image and its delta is the difference', async () => {
    const old = new MetadataImage();
    const next = new MetadataImage();
    const common: MetadataRecord[] = [
      { type: 'Topic', name: 'keep', topicId: 'K' },
      { type: 'Partition', topicId: 'K', partition: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0 },
    ];
    for (const r of [...common, { type: 'Topic', name: 'gone', topicId: 'G' } as MetadataRecord]) old.apply(r);
    for (const r of [...common, { type: 'Partition', topicId: 'K', partition: 0, replicas: [1, 2], isr: [1, 2], leader: 2, leaderEpoch: 1 } as MetadataRecord]) next.apply(r);
    const d = diffImages(old, next);
    expect(d.deletedTopics.map((t) => t.name)).toEqual(['gone']);
    expect(d.partitions.map((c) => [c.before?.leader, c.after.leader])).toEqual([[1, 2]]);
    const m = new ClusterMetadata();
    await m.apply({ kind: 'snapshot', offset: 10, records: next.toRecords() });
    expect(m.appliedEnd).toBe(10);
    expect(m.image.toRecords()).toEqual(next.toRecords());
  });
});
