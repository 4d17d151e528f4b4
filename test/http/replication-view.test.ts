/**
 * Replication as the console, the HTTP API, /metrics and `topics describe` show it, unit-level:
 * counts over a metadata image (under-replicated, offline, at and under min.insync.replicas,
 * a reassignment's joining replicas not counted), a leader's follower progress read from its
 * inspect state, the CLI's filter of partitions, and NodeProbe's scrape of a three-replica
 * image from node 1's point of view (a fake node: no threads, no actors but one leader's state).
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { PartitionState } from '../../actors/partition/messages.js';
import { partitionHealth } from '../../src/cli/topics.js';
import { MetadataImage } from '../../src/cluster/metadata-image.js';
import { partitionActorId } from '../../src/cluster/routing-table.js';
import { clusterReplicationCounts, followersOf, localRole, nodeReplicationCounts, partitionReplication } from '../../src/http/replication-view.js';
import { NodeProbe, type ProbedNode } from '../../src/node-probe.js';
import { LogReaders } from '../../src/storage/log-readers.js';

/** Topic `t` (3 partitions) and `__consumer_offsets` (1), with min.insync.replicas=2 on `t`. */
function image(): MetadataImage {
  const img = new MetadataImage();
  img.apply({ type: 'Topic', name: 't', topicId: 'id-t' });
  // 0: led by 1, node 3 out of the ISR. 1: led by 2, whole. 2: no leader (offline), ISR just 3.
  img.apply({ type: 'Partition', topicId: 'id-t', partition: 0, replicas: [1, 2, 3], isr: [1, 2], leader: 1, leaderEpoch: 4, partitionEpoch: 9 });
  img.apply({ type: 'Partition', topicId: 'id-t', partition: 1, replicas: [2, 3, 1], isr: [2, 3, 1], leader: 2, leaderEpoch: 0, partitionEpoch: 0 });
  img.apply({ type: 'Partition', topicId: 'id-t', partition: 2, replicas: [3, 1, 2], isr: [3], leader: -1, leaderEpoch: 2, partitionEpoch: 5 });
  img.apply({ type: 'Config', resourceType: 'topic', resourceName: 't', name: 'min.insync.replicas', value: '2' });
  img.apply({ type: 'Topic', name: '__consumer_offsets', topicId: 'id-o' });
  img.apply({ type: 'Partition', topicId: 'id-o', partition: 0, replicas: [1, 2], isr: [1], leader: 1, leaderEpoch: 1, partitionEpoch: 1 });
  return img;
}

/** A leader's inspect state as the partition actor reports it (actors/partition/replication.ts describe()). */
function leaderState(topic: string, partition: number): PartitionState {
  return {
    topic,
    partition,
    logStartOffset: 0,
    logEndOffset: 120,
    highWatermark: 100,
    leaderEpoch: 4,
    replication: {
      role: { role: 'leader', nodeId: 1, leaderEpoch: 4, partitionEpoch: 9, replicas: [1, 2, 3], isr: [1, 2], minInsyncReplicas: 2, replicaLagTimeMaxMs: 30_000 },
      pendingIsr: null,
      epochStartOffset: 0,
      followers: {
        '2': { leo: 100, lastCaughtUpMs: 1_000, lastFetchLeaderLeo: 120, lastFetchMs: 1_000, lagRecords: 20 },
        '3': { leo: -1, lastCaughtUpMs: 500, lastFetchLeaderLeo: -1, lastFetchMs: 500, lagRecords: null },
      },
    },
  } as unknown as PartitionState;
}

describe('replication views', () => {
  it('counts a node’s replicas, leaderships, under-replicated and min-ISR partitions from the image', () => {
    const img = image();
    const one = nodeReplicationCounts(img, 1);
    expect(one.partitionCount).toBe(4);
    expect(one.leaderCount).toBe(2);
    // t-0 (ISR 2 of 3) and __consumer_offsets-0 (ISR 1 of 2).
    expect(one.underReplicated).toBe(2);
    // t-0: ISR 2 = its min.insync.replicas 2; __consumer_offsets-0: ISR 1 = the default 1. Both at min, none under.
    expect(one.atMinIsr).toBe(2);
    expect(one.underMinIsr).toBe(0);
    expect([...one.underReplicatedReplicasByTopic]).toEqual([
      ['t', 1],
      ['__consumer_offsets', 1],
    ]);
    const two = nodeReplicationCounts(img, 2);
    expect(two.leaderCount).toBe(1);
    expect(two.underReplicated).toBe(0);
    expect(clusterReplicationCounts(img)).toEqual({ partitions: 4, underReplicated: 3, offline: 1 });
    expect(localRole(img.topicsByName.get('t')!.partitions[0]!, 3)).toBe('follower');
    expect(localRole(img.topicsByName.get('__consumer_offsets')!.partitions[0]!, 3)).toBeNull();
  });

  it('counts a partition under min.insync.replicas, and does not hold a joining replica against the ISR', () => {
    const img = image();
    img.apply({ type: 'Partition', topicId: 'id-t', partition: 0, replicas: [1, 2, 3], isr: [1], leader: 1, leaderEpoch: 5, partitionEpoch: 10 });
    expect(nodeReplicationCounts(img, 1).underMinIsr).toBe(1);
    // A reassignment adding node 4: until it joins, RF is still 3 and the full ISR is not under-replicated.
    img.apply({
      type: 'Partition',
      topicId: 'id-t',
      partition: 0,
      replicas: [1, 2, 3, 4],
      isr: [1, 2, 3],
      leader: 1,
      leaderEpoch: 5,
      partitionEpoch: 11,
      addingReplicas: [4],
      removingReplicas: [3],
    });
    const p = img.topicsByName.get('t')!.partitions[0]!;
    if ((p as { addingReplicas?: unknown }).addingReplicas === undefined) return; // an image without reassignments
    expect(partitionReplication(p)).toMatchObject({ underReplicated: false, offline: false, addingReplicas: [4], removingReplicas: [3] });
  });

  it("reads each follower's progress from a leader's inspect state", () => {
    const p = image().topicsByName.get('t')!.partitions[0]!;
    expect(followersOf(leaderState('t', 0), p)).toEqual([
      { nodeId: 2, inIsr: true, logEndOffset: 100, lagRecords: 20, lastCaughtUpMs: 1_000 },
      { nodeId: 3, inIsr: false, logEndOffset: -1, lagRecords: null, lastCaughtUpMs: 500 },
    ]);
    const follower = { ...leaderState('t', 0), replication: { role: { role: 'follower', nodeId: 2, leader: 1, leaderEpoch: 4 }, followers: {} } } as unknown as PartitionState;
    expect(followersOf(follower, p)).toBeNull();
    expect(followersOf(undefined, p)).toBeNull();
  });

  it('filters partitions as kafka-topics.sh --under-replicated/--unavailable/--under-min-isr/--at-min-isr-partitions do', () => {
    const live = new Set([1, 2]);
    expect(partitionHealth({ leader: 1, replicas: [1, 2, 3], isr: [1, 2] }, live, 2)).toEqual({ underReplicated: true, unavailable: false, underMinIsr: false, atMinIsr: true });
    expect(partitionHealth({ leader: 1, replicas: [1, 2, 3], isr: [1] }, live, 2)).toEqual({ underReplicated: true, unavailable: false, underMinIsr: true, atMinIsr: false });
    expect(partitionHealth({ leader: -1, replicas: [3], isr: [3] }, live)).toEqual({ underReplicated: false, unavailable: true, underMinIsr: true, atMinIsr: true });
    // A leader whose node is not live (before the controller notices) is unavailable too.
    expect(partitionHealth({ leader: 3, replicas: [3, 1], isr: [3, 1] }, live)).toMatchObject({ underReplicated: false, unavailable: true });
  });
});

describe('NodeProbe replication metrics', () => {
  function probed(active: boolean): { registry: Registry; probe: NodeProbe } {
    const img = image();
    const states = new Map([[partitionActorId('t', 0), leaderState('t', 0)]]);
    const node = {
      config: { nodeId: 1 },
      controller: { image: img, isActive: active, controllerId: active ? 1 : 2, liveNodes: () => [{ nodeId: 1 }, { nodeId: 2 }] },
      metadata: { appliedEnd: 10 },
      supervisor: {
        passivationStats: () => ({ active: 0, maxActive: 10, passivated: 0 }),
        listActors: () => [],
        threads: () => Promise.resolve([]),
        summary: () => undefined,
      },
      walCheckpointer: { stats: () => Promise.resolve(null) },
      partitions: {
        batchCache: { stats: () => ({ hits: 0, misses: 0, evictions: 0, bytes: 0, maxBytes: 0, partitions: 0 }) },
        readers: new LogReaders(0),
        localStates: () => Promise.resolve(states),
      },
      groups: { local: () => [] },
      replicaFetcher: {
        lag: () => [
          { topic: 't', partition: 1, leader: 2, lagRecords: 7 },
          { topic: 't', partition: 2, leader: 3, lagRecords: 0 },
        ],
      },
    } as unknown as ProbedNode;
    const registry = new Registry();
    registry.setDefaultLabels({ node: '1' });
    return { registry, probe: new NodeProbe(registry, node) };
  }

  async function scrape(active: boolean): Promise<string> {
    const { registry, probe } = probed(active);
    await probe.refresh();
    return registry.metrics();
  }

  it("exposes Kafka's and Redpanda's names and Brook's per-partition gauges, computed from the image and the fetcher", async () => {
    const text = await scrape(true);
    const line = (s: string) => expect(text.split('\n')).toContain(s);
    line('kafka_server_replicamanager_partitioncount{node="1"} 4');
    line('kafka_server_replicamanager_leadercount{node="1"} 2');
    line('kafka_server_replicamanager_underreplicatedpartitions{node="1"} 2');
    line('kafka_server_replicamanager_atminisrpartitioncount{node="1"} 2');
    line('kafka_server_replicamanager_underminisrpartitioncount{node="1"} 0');
    line('kafka_server_replicafetchermanager_maxlag{clientId="Replica",node="1"} 7');
    line('kafka_controller_kafkacontroller_activecontrollercount{node="1"} 1');
    line('kafka_controller_kafkacontroller_offlinepartitionscount{node="1"} 1');
    line('kafka_controller_kafkacontroller_globalpartitioncount{node="1"} 4');
    line('redpanda_cluster_unavailable_partitions{node="1"} 1');
    line('redpanda_kafka_under_replicated_replicas{redpanda_namespace="kafka",redpanda_topic="t",node="1"} 1');
    line('kafka_cluster_partition_underreplicated{topic="t",partition="0",node="1"} 1');
    line('kafka_cluster_partition_insyncreplicascount{topic="t",partition="0",node="1"} 2');
    line('kafka_cluster_partition_replicascount{topic="t",partition="0",node="1"} 3');
    // Brook's per-partition gauges: every partition node 1 holds, led or followed (t-2 is offline).
    line('brook_partition_replicas{topic="t",partition="1",node="1"} 3');
    line('brook_partition_isr_size{topic="t",partition="2",node="1"} 1');
    line('brook_partition_under_replicated{topic="t",partition="2",node="1"} 1');
    line('brook_partition_under_replicated{topic="t",partition="1",node="1"} 0');
    line('brook_partition_under_replicated{topic="__consumer_offsets",partition="0",node="1"} 1');
    line('brook_replica_lag_records{topic="t",partition="1",node="1"} 7');
    line('brook_partition_follower_lag_records{topic="t",partition="0",replica="2",node="1"} 20');
    // A follower that has not fetched yet has no lag to show; Kafka's per-partition metrics are the leader's only.
    expect(text).not.toContain('brook_partition_follower_lag_records{topic="t",partition="0",replica="3"');
    expect(text).not.toContain('kafka_cluster_partition_underreplicated{topic="t",partition="1"');
    line('kafka_topic_partition_current_offset{topic="t",partition="0",node="1"} 100');
  });

  it('reports the controller figures as 0 on a node that is not the active controller', async () => {
    const text = await scrape(false);
    expect(text.split('\n')).toContain('kafka_controller_kafkacontroller_offlinepartitionscount{node="1"} 0');
    expect(text.split('\n')).toContain('kafka_controller_kafkacontroller_activecontrollercount{node="1"} 0');
    expect(text.split('\n')).toContain('brook_cluster_unavailable_partitions{node="1"} 1');
  });
});
