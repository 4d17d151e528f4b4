/**
 * Partition reassignment (KIP-455), leader elections and the automatic leader rebalance in the
 * controller, alone: the pure partition changes of src/cluster/reassignment.ts, and the
 * Controller on an in-memory MetadataStore (as controller-unit.test.ts builds one: one log, a
 * live set the test edits, a controller the test names), with no process or socket. The
 * ReplicaFetcher's throttle bucket too. The cluster tests (reassignment.test.ts) run the same
 * on real nodes.
 */
import { describe, expect, it } from 'vitest';
import { ClusterMetadata, diffImages } from '../../src/cluster/cluster-metadata.js';
import { Controller } from '../../src/cluster/controller.js';
import { ControllerChannel } from '../../src/cluster/controller-channel.js';
import { MetadataImage, type PartitionImage, type TopicImage } from '../../src/cluster/metadata-image.js';
import type { MetadataRecord } from '../../src/cluster/metadata-records.js';
import { MetadataStoreError, type MetadataStore, type MetadataStoreListener, type NodeRegistration } from '../../src/cluster/metadata-store.js';
import { cancelReassignment, checkTarget, completeReassignment, electLeader, fieldsOf, imbalancedPartitions, startReassignment } from '../../src/cluster/reassignment.js';
import { RateBucket } from '../../src/cluster/replica-fetcher.js';

class MemoryStore implements MetadataStore {
  readonly description = 'memory';
  readonly log: MetadataRecord[][] = [];
  readonly nodes = new Map<number, NodeRegistration>();
  controller = -1;
  private listener: MetadataStoreListener | undefined;

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
  drop(nodeId: number): void {
    this.nodes.delete(nodeId);
    this.listener?.membershipChanged();
  }
  private end(): number {
    return this.log.reduce((n, b) => n + b.length, 0);
  }
}

const quiet = { info: () => undefined, warn: () => undefined };

function node(nodeId: number, state: NodeRegistration['state'] = 'alive'): NodeRegistration {
  return { nodeId, incarnationId: `inc-${nodeId}`, host: '127.0.0.1', port: 9000 + nodeId, httpPort: -1, rack: null, state };
}

const live = (...ids: number[]) => new Map(ids.map((id) => [id, node(id)]));

async function controllerOn(ids: number[]) {
  const nodes = ids.map((id) => node(id));
  const store = new MemoryStore(ids[0]!);
  const metadata = new ClusterMetadata();
  const controller = new Controller(
    store,
    metadata,
    new ControllerChannel(ids[0]!, 1_000),
    { nodeId: ids[0]!, defaultPartitions: 1, defaultReplicationFactor: 1, offsetsTopicPartitions: 3, requestTimeoutMs: 1_000 },
    quiet,
  );
  await store.open(nodes[0]!, {
    batch: (b) => metadata.apply(b),
    membershipChanged: () => controller.membershipChanged(),
    snapshot: () => ({ kind: 'snapshot', offset: metadata.appliedEnd, records: metadata.image.toRecords() }),
  });
  for (const n of nodes) store.nodes.set(n.nodeId, n);
  store.controller = ids[0]!;
  expect(await controller.settle()).toBeUndefined();
  return { store, metadata, controller };
}

/** Creates a topic with explicit replica lists (leader: the first replica). */
async function topicOn(controller: Controller, name: string, assignments: number[][]): Promise<TopicImage> {
  const t = await controller.createTopic({
    name,
    numPartitions: -1,
    replicationFactor: -1,
    assignments: assignments.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })),
  });
  if ('error' in t) throw new Error(t.message);
  return t;
}

const part = (metadata: ClusterMetadata, topic: string, n = 0): PartitionImage => metadata.image.topicsByName.get(topic)!.partitions[n]!;

/** The leader's AlterPartition for `isr` in the partition's current epochs. */
function isrChange(t: TopicImage, p: PartitionImage, isr: number[]) {
  return { topicId: t.topicId, partition: p.partition, leaderId: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr };
}

const image = (leader: number, replicas: number[], isr: number[], extra: Partial<PartitionImage> = {}): PartitionImage => ({
  partition: 0,
  leader,
  replicas,
  isr,
  leaderEpoch: 5,
  partitionEpoch: 7,
  ...extra,
});

describe('reassignment changes (pure)', () => {
  it('a move [1,2] -> [2,3]: replicas target first then removing, adding and removing set, ISR and leader kept, partition epoch up', () => {
    expect(startReassignment(image(1, [1, 2], [1, 2]), [2, 3], live(1, 2, 3))).toEqual({
      replicas: [2, 3, 1],
      isr: [1, 2],
      leader: 1,
      leaderEpoch: 5,
      partitionEpoch: 8,
      addingReplicas: [3],
      removingReplicas: [1],
    });
  });

  it('a reassignment that only removes completes at once; one that changes nothing is no change', () => {
    expect(startReassignment(image(3, [1, 2, 3], [1, 2, 3]), [1, 2], live(1, 2, 3))).toEqual({
      replicas: [1, 2],
      isr: [1, 2],
      leader: 1,
      leaderEpoch: 6,
      partitionEpoch: 8,
      addingReplicas: [],
      removingReplicas: [],
    });
    expect(startReassignment(image(1, [1, 2], [1, 2]), [1, 2], live(1, 2))).toBeNull();
    // A new order alone: the preferred leader changes, at once.
    expect(startReassignment(image(1, [1, 2], [1, 2]), [2, 1], live(1, 2))).toMatchObject({ replicas: [2, 1], leader: 1, addingReplicas: [], removingReplicas: [] });
  });

  it('completes once every target replica is in the ISR: replicas = target, removing out of the ISR, a removed leader hands over (epoch + 1)', () => {
    const started = startReassignment(image(1, [1, 2], [1, 2]), [2, 3], live(1, 2, 3))!;
    expect(completeReassignment(started, live(1, 2, 3))).toBeNull();
    expect(completeReassignment({ ...started, isr: [1, 2, 3] }, live(1, 2, 3))).toEqual({
      replicas: [2, 3],
      isr: [2, 3],
      leader: 2,
      leaderEpoch: 6,
      partitionEpoch: 8,
      addingReplicas: [],
      removingReplicas: [],
    });
    // The leader stays where it is a target replica.
    const keep = startReassignment(image(1, [1, 2], [1, 2]), [1, 3], live(1, 2, 3))!;
    expect(completeReassignment({ ...keep, isr: [1, 2, 3] }, live(1, 2, 3))).toMatchObject({ replicas: [1, 3], isr: [1, 3], leader: 1, leaderEpoch: 5 });
    // A target replica that was a replica already but is out of the ISR holds the completion back, as in Kafka.
    const lagging = startReassignment(image(1, [1, 2], [1]), [2, 3], live(1, 2, 3))!;
    expect(completeReassignment({ ...lagging, isr: [1, 3] }, live(1, 2, 3))).toBeNull();
    // The new leader is alive: node 2 is down, node 3 leads; with no target replica alive, the removed leader stays until one is.
    expect(completeReassignment({ ...started, isr: [1, 2, 3] }, live(1, 3))).toMatchObject({ leader: 3 });
    expect(completeReassignment({ ...started, isr: [1, 2, 3] }, live(1))).toBeNull();
  });

  it('target checks: empty, duplicates and adding replicas that are not live are INVALID_REPLICA_ASSIGNMENT', () => {
    const p = image(1, [1, 2], [1, 2]);
    expect(checkTarget(p, [], live(1, 2, 3))).toMatchObject({ error: 'INVALID_REPLICA_ASSIGNMENT' });
    expect(checkTarget(p, [3, 3], live(1, 2, 3))).toMatchObject({ error: 'INVALID_REPLICA_ASSIGNMENT' });
    expect(checkTarget(p, [2, 4], live(1, 2, 3))).toMatchObject({ error: 'INVALID_REPLICA_ASSIGNMENT', message: expect.stringContaining('4') as string });
    // A replica it has already may be down.
    expect(checkTarget(p, [2, 3], live(1, 3))).toBeUndefined();
  });

  it('cancel drops the adding replicas (Kafka keeps the order replicas have now), a leader among them hands over; nothing under way is NO_REASSIGNMENT_IN_PROGRESS', () => {
    const p = image(1, [2, 3, 1], [1, 2, 3], { addingReplicas: [3], removingReplicas: [1] });
    expect(cancelReassignment(p, false, live(1, 2, 3))).toEqual({
      replicas: [2, 1],
      isr: [1, 2],
      leader: 1,
      leaderEpoch: 5,
      partitionEpoch: 8,
      addingReplicas: [],
      removingReplicas: [],
    });
    const led = image(3, [2, 3, 1], [1, 3], { addingReplicas: [3], removingReplicas: [1] });
    expect(cancelReassignment(led, false, live(1, 2, 3))).toMatchObject({ replicas: [2, 1], isr: [1], leader: 1, leaderEpoch: 6 });
    expect(cancelReassignment(image(1, [1, 2], [1, 2]), false, live(1, 2))).toMatchObject({ error: 'NO_REASSIGNMENT_IN_PROGRESS' });
    // Only adding replicas in sync: an unclean revert, allowed only with unclean.leader.election.enable.
    const onlyAdding = image(3, [3, 1], [3], { addingReplicas: [3], removingReplicas: [1] });
    expect(cancelReassignment(onlyAdding, false, live(1, 3))).toMatchObject({ error: 'INVALID_REPLICA_ASSIGNMENT' });
    expect(cancelReassignment(onlyAdding, true, live(1, 3))).toMatchObject({ replicas: [1], isr: [1], leader: 1, leaderEpoch: 6 });
  });
});

describe('leader elections (pure)', () => {
  it('preferred: the first replica when alive and in the ISR; ELECTION_NOT_NEEDED when it leads; PREFERRED_LEADER_NOT_AVAILABLE otherwise', () => {
    expect(electLeader(image(2, [1, 2], [1, 2]), 'preferred', live(1, 2))).toMatchObject({ leader: 1, leaderEpoch: 6, partitionEpoch: 8, isr: [1, 2] });
    expect(electLeader(image(1, [1, 2], [1, 2]), 'preferred', live(1, 2))).toMatchObject({ error: 'ELECTION_NOT_NEEDED' });
    expect(electLeader(image(2, [1, 2], [2]), 'preferred', live(1, 2))).toMatchObject({ error: 'PREFERRED_LEADER_NOT_AVAILABLE' });
    expect(electLeader(image(2, [1, 2], [1, 2]), 'preferred', live(2))).toMatchObject({ error: 'PREFERRED_LEADER_NOT_AVAILABLE' });
  });

  it('unclean: only a partition without a leader; an in-sync replica first, else any live one with an ISR of itself', () => {
    expect(electLeader(image(1, [1, 2], [1, 2]), 'unclean', live(1, 2))).toMatchObject({ error: 'ELECTION_NOT_NEEDED' });
    expect(electLeader(image(-1, [1, 2, 3], [1, 3]), 'unclean', live(2, 3))).toMatchObject({ leader: 3, isr: [3] });
    expect(electLeader(image(-1, [1, 2], [1]), 'unclean', live(2))).toMatchObject({ leader: 2, isr: [2], leaderEpoch: 6 });
    expect(electLeader(image(-1, [1, 2], [1]), 'unclean', live(3))).toMatchObject({ error: 'ELIGIBLE_LEADERS_NOT_AVAILABLE' });
  });

  it('imbalance: a node whose preferred partitions are led elsewhere past the percentage gets them back (where it is in sync)', () => {
    const img = new MetadataImage();
    img.apply({ type: 'Topic', name: 't', topicId: 'T' });
    const parts: [number, number[], number[]][] = [
      [2, [1, 2], [1, 2]], // node 1 preferred, led by 2
      [1, [1, 2], [1, 2]], // node 1 preferred, led by 1
      [1, [2, 1], [1, 2]], // node 2 preferred, led by 1
      [1, [2, 1], [1]], // node 2 preferred, led by 1, 2 not in sync
    ];
    parts.forEach(([leader, replicas, isr], partition) => img.apply({ type: 'Partition', topicId: 'T', partition, replicas, isr, leader, leaderEpoch: 0 }));
    const moved = (pct: number) => imbalancedPartitions(img, live(1, 2), pct).map((m) => m.partition.partition);
    // Node 1: 1 of 2 not led (50 %); node 2: 2 of 2 (100 %), of which one is in sync.
    expect(moved(10).sort()).toEqual([0, 2]);
    expect(moved(50)).toEqual([2]);
    expect(moved(100)).toEqual([]);
    // A partition under reassignment is left alone.
    img.apply({ type: 'Partition', topicId: 'T', partition: 2, replicas: [2, 3, 1], isr: [1, 2], leader: 1, leaderEpoch: 0, addingReplicas: [3], removingReplicas: [1] });
    expect(moved(10)).toEqual([0]);
  });
});

describe('the controller', () => {
  it("a reassignment [1,2] -> [2,3] starts, the leader's AlterPartition adding node 3 completes it: replicas [2,3], ISR [2,3], leader 2 (epoch + 1)", async () => {
    const { controller, metadata } = await controllerOn([1, 2, 3]);
    const t = await topicOn(controller, 'move', [[1, 2]]);
    expect(await controller.alterPartitionReassignments([{ topic: 'move', partition: 0, replicas: [2, 3] }])).toEqual([{ topic: 'move', partition: 0 }]);
    const started = part(metadata, 'move');
    expect(started).toMatchObject({ replicas: [2, 3, 1], isr: [1, 2], leader: 1, addingReplicas: [3], removingReplicas: [1] });
    expect(await controller.listPartitionReassignments(null)).toEqual([{ topic: 'move', partition: 0, replicas: [2, 3, 1], addingReplicas: [3], removingReplicas: [1] }]);
    expect(await controller.listPartitionReassignments([{ topic: 'move', partitions: [0] }])).toHaveLength(1);
    expect(await controller.listPartitionReassignments([{ topic: 'nope', partitions: [0] }])).toMatchObject({ error: 'UNKNOWN_TOPIC_OR_PARTITION' });

    const done = await controller.alterPartition(isrChange(t, started, [1, 2, 3]));
    expect(done).toMatchObject({ replicas: [2, 3], isr: [2, 3], leader: 2, leaderEpoch: started.leaderEpoch + 1, partitionEpoch: started.partitionEpoch + 1 });
    expect(part(metadata, 'move')).toMatchObject({ addingReplicas: [], removingReplicas: [] });
    expect(await controller.listPartitionReassignments(null)).toEqual([]);
  });

  it('refuses unknown partitions, bad targets and duplicates per partition; the valid ones of the same request apply', async () => {
    const { controller, metadata } = await controllerOn([1, 2, 3]);
    await topicOn(controller, 'mixed', [[1], [2]]);
    const r = await controller.alterPartitionReassignments([
      { topic: 'mixed', partition: 0, replicas: [1, 3] },
      { topic: 'mixed', partition: 1, replicas: [2, 9] },
      { topic: 'mixed', partition: 5, replicas: [1] },
      { topic: 'gone', partition: 0, replicas: [1] },
      { topic: 'mixed', partition: 0, replicas: [3] },
    ]);
    expect(r).toMatchObject([
      { partition: 0 },
      { partition: 1, error: { error: 'INVALID_REPLICA_ASSIGNMENT' } },
      { partition: 5, error: { error: 'UNKNOWN_TOPIC_OR_PARTITION' } },
      { topic: 'gone', error: { error: 'UNKNOWN_TOPIC_OR_PARTITION' } },
      { partition: 0, error: { error: 'INVALID_REQUEST' } },
    ]);
    expect((r as unknown[])[0]).not.toHaveProperty('error');
    expect(await controller.alterPartitionReassignments([{ topic: 'mixed', partition: 1, replicas: null }])).toMatchObject([
      { partition: 1, error: { error: 'NO_REASSIGNMENT_IN_PROGRESS' } },
    ]);
    expect(part(metadata, 'mixed', 0)).toMatchObject({ replicas: [1, 3], addingReplicas: [3], removingReplicas: [] });
    expect(part(metadata, 'mixed', 1)).toMatchObject({ replicas: [2], addingReplicas: [], removingReplicas: [] });
  });

  it('cancel reverts to the original replicas; a reassignment may be replaced by another', async () => {
    const { controller, metadata } = await controllerOn([1, 2, 3, 4]);
    await topicOn(controller, 'undo', [[1, 2]]);
    await controller.alterPartitionReassignments([{ topic: 'undo', partition: 0, replicas: [1, 3] }]);
    expect(part(metadata, 'undo')).toMatchObject({ replicas: [1, 3, 2], addingReplicas: [3], removingReplicas: [2] });
    expect(await controller.alterPartitionReassignments([{ topic: 'undo', partition: 0, replicas: null }])).toEqual([{ topic: 'undo', partition: 0 }]);
    expect(part(metadata, 'undo')).toMatchObject({ replicas: [1, 2], isr: [1, 2], leader: 1, addingReplicas: [], removingReplicas: [] });
    // Replaced: the replicas of the first one count as the current ones.
    await controller.alterPartitionReassignments([{ topic: 'undo', partition: 0, replicas: [1, 3] }]);
    await controller.alterPartitionReassignments([{ topic: 'undo', partition: 0, replicas: [1, 4] }]);
    expect(part(metadata, 'undo')).toMatchObject({ replicas: [1, 4, 2, 3], addingReplicas: [4], removingReplicas: [2, 3] });
  });

  it('the duties complete a reassignment whose target replicas are all in the ISR already', async () => {
    const { controller, metadata, store } = await controllerOn([1, 2, 3]);
    const t = await topicOn(controller, 'late', [[1, 2]]);
    // As an older controller might have left it: target [2,3] all in sync, not completed.
    await store.append(metadata.appliedEnd, [
      {
        type: 'Partition',
        topicId: t.topicId,
        partition: 0,
        replicas: [2, 3, 1],
        isr: [1, 2, 3],
        leader: 1,
        leaderEpoch: 0,
        partitionEpoch: 3,
        addingReplicas: [3],
        removingReplicas: [1],
      },
    ]);
    expect(await controller.settle()).toBeUndefined();
    expect(part(metadata, 'late')).toMatchObject({ replicas: [2, 3], isr: [2, 3], leader: 2, leaderEpoch: 1, partitionEpoch: 4, addingReplicas: [], removingReplicas: [] });
  });

  it('a node that dies mid-reassignment keeps the reassignment (its adding replicas and removing ones) through the duties', async () => {
    const { controller, metadata, store } = await controllerOn([1, 2, 3]);
    await topicOn(controller, 'keep', [[1, 2]]);
    await controller.alterPartitionReassignments([{ topic: 'keep', partition: 0, replicas: [2, 3] }]);
    store.drop(1);
    await expect.poll(() => part(metadata, 'keep').leader).toBe(2);
    expect(part(metadata, 'keep')).toMatchObject({ replicas: [2, 3, 1], isr: [2], addingReplicas: [3], removingReplicas: [1] });
  });

  it('ElectLeaders preferred: after a failover and the preferred replica back in sync, it leads again; then ELECTION_NOT_NEEDED', async () => {
    const { controller, metadata, store } = await controllerOn([1, 2, 3]);
    const t = await topicOn(controller, 'pref', [[2, 3]]);
    store.drop(2);
    await expect.poll(() => part(metadata, 'pref').leader).toBe(3);
    await store.register(node(2));
    expect(await controller.electLeaders('preferred', [{ topic: 'pref', partitions: [0] }])).toMatchObject([{ partition: 0, error: { error: 'PREFERRED_LEADER_NOT_AVAILABLE' } }]);
    // Node 3 (leader) sees node 2 caught up.
    const p = part(metadata, 'pref');
    expect(await controller.alterPartition(isrChange(t, p, [3, 2]))).not.toHaveProperty('error');
    expect(await controller.electLeaders('preferred', [{ topic: 'pref', partitions: [0] }])).toEqual([{ topic: 'pref', partition: 0 }]);
    expect(part(metadata, 'pref')).toMatchObject({ leader: 2, leaderEpoch: p.leaderEpoch + 1 });
    expect(await controller.electLeaders('preferred', [{ topic: 'pref', partitions: [0, 7] }])).toMatchObject([
      { partition: 0, error: { error: 'ELECTION_NOT_NEEDED' } },
      { partition: 7, error: { error: 'UNKNOWN_TOPIC_OR_PARTITION' } },
    ]);
    // Every partition: those that need nothing are left out of the answer.
    expect(await controller.electLeaders('preferred', null)).toEqual([]);
  });

  it('ElectLeaders unclean brings an offline partition back on a live out-of-sync replica', async () => {
    const { controller, metadata, store } = await controllerOn([1, 2, 3]);
    const t = await topicOn(controller, 'dirty', [[2, 3]]);
    const p = part(metadata, 'dirty');
    await controller.alterPartition(isrChange(t, p, [2]));
    store.drop(2);
    await expect.poll(() => part(metadata, 'dirty').leader).toBe(-1);
    expect(await controller.electLeaders('unclean', [{ topic: 'dirty', partitions: [0] }])).toEqual([{ topic: 'dirty', partition: 0 }]);
    expect(part(metadata, 'dirty')).toMatchObject({ leader: 3, isr: [3] });
  });

  it('the leader rebalance moves leaderships back past leader.imbalance.per.broker.percentage, on the timer too; auto.leader.rebalance.enable=false stops the timer', async () => {
    const { controller, metadata, store } = await controllerOn([1, 2, 3]);
    const t = await topicOn(controller, 'bal', [
      [2, 3],
      [3, 2],
    ]);
    expect(await controller.alterConfigs('broker', '', [{ name: 'auto.leader.rebalance.enable', value: 'false' }], 'incremental')).toBeUndefined();
    store.drop(2);
    await expect.poll(() => part(metadata, 'bal', 0).leader).toBe(3);
    await store.register(node(2));
    const p = part(metadata, 'bal', 0);
    await controller.alterPartition(isrChange(t, p, [3, 2]));
    // 1 of node 2's 1 preferred partitions is led elsewhere: 100 % > 100 % is false.
    expect(await controller.alterConfigs('broker', '', [{ name: 'leader.imbalance.per.broker.percentage', value: '100' }], 'incremental')).toBeUndefined();
    expect(await controller.rebalanceLeaders()).toBe(0);
    expect(await controller.alterConfigs('broker', '', [{ name: 'leader.imbalance.per.broker.percentage', value: '10' }], 'incremental')).toBeUndefined();
    // The timer, every second: disabled, nothing moves.
    expect(await controller.alterConfigs('broker', '', [{ name: 'leader.imbalance.check.interval.seconds', value: '1' }], 'incremental')).toBeUndefined();
    await new Promise((r) => setTimeout(r, 2_200));
    expect(part(metadata, 'bal', 0).leader).toBe(3);
    expect(await controller.alterConfigs('broker', '', [{ name: 'auto.leader.rebalance.enable', value: null }], 'incremental')).toBeUndefined();
    await expect.poll(() => part(metadata, 'bal', 0).leader, { timeout: 5_000 }).toBe(2);
    expect(part(metadata, 'bal', 1).leader).toBe(3);
    controller.close();
  });

  it('validates the throttle and rebalance broker configs', async () => {
    const { controller, metadata } = await controllerOn([1, 2]);
    for (const [name, value] of [
      ['follower.replication.throttled.rate', '0'],
      ['leader.replication.throttled.rate', 'fast'],
      ['auto.leader.rebalance.enable', 'yes'],
      ['leader.imbalance.per.broker.percentage', '101'],
      ['leader.imbalance.check.interval.seconds', '0'],
    ]) {
      expect(await controller.alterConfigs('broker', '1', [{ name: name!, value: value! }], 'incremental'), name).toMatchObject({ error: 'INVALID_CONFIG' });
    }
    expect(await controller.alterConfigs('broker', '1', [{ name: 'follower.replication.throttled.rate', value: '1048576' }], 'incremental')).toBeUndefined();
    expect(metadata.image.brokerConfigs.get('1')?.get('follower.replication.throttled.rate')).toBe('1048576');
  });
});

describe('the image and its deltas', () => {
  it('adding and removing replicas default to [], survive a snapshot, and a change of them is a partition change', () => {
    const a = new MetadataImage();
    a.apply({ type: 'Topic', name: 't', topicId: 'T' });
    a.apply({ type: 'Partition', topicId: 'T', partition: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0 });
    expect(fieldsOf(a.topicsById.get('T')!.partitions[0]!)).toMatchObject({ addingReplicas: [], removingReplicas: [] });
    const b = new MetadataImage();
    for (const r of a.toRecords()) b.apply(r);
    b.apply({ type: 'Partition', topicId: 'T', partition: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, addingReplicas: [2], removingReplicas: [] });
    expect(diffImages(a, b).partitions).toHaveLength(1);
    const c = new MetadataImage();
    for (const r of b.toRecords()) c.apply(r);
    expect(c.topicsById.get('T')!.partitions[0]).toMatchObject({ addingReplicas: [2], removingReplicas: [] });
    expect(diffImages(b, c).partitions).toHaveLength(0);
  });
});

describe('the throttle bucket', () => {
  it('holds a second of its rate, refills with time, goes into debt and says how long to wait', () => {
    const b = new RateBucket();
    b.refill(Number.POSITIVE_INFINITY, 0);
    expect(b.available).toBe(Number.POSITIVE_INFINITY);
    b.take(1e9);
    expect(b.waitMs).toBe(0);
    b.refill(1000, 0);
    expect(b.available).toBe(1000);
    b.take(1500);
    expect(b.available).toBe(-500);
    expect(b.waitMs).toBe(501);
    b.refill(1000, 250);
    expect(b.available).toBe(-250);
    b.refill(1000, 10_000);
    expect(b.available).toBe(1000);
  });
});
