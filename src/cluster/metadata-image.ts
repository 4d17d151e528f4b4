/**
 * MetadataImage: the in-memory image of the cluster metadata log, a cluster view. Lives on the
 * main thread; not thread-safe. It changes only by `apply`, in log order, so replaying the log
 * rebuilds exactly the image the node had.
 */
import type { ConfigResourceType, MetadataRecord } from './metadata-records.js';

export interface PartitionImage {
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly leaderEpoch: number;
  /** Rises with every change of leader, ISR or replicas; see the Partition record. */
  readonly partitionEpoch: number;
  /**
   * A reassignment under way (KIP-455): the replicas joining and those leaving; [] when none
   * (the image always sets them; literals elsewhere may leave them out).
   */
  readonly addingReplicas?: readonly number[];
  readonly removingReplicas?: readonly number[];
}

/** The replicas a reassignment is adding to a partition ([] when none is under way). */
export function addingReplicasOf(p: PartitionImage): readonly number[] {
  return p.addingReplicas ?? [];
}

/** The replicas a reassignment is removing from a partition ([] when none is under way). */
export function removingReplicasOf(p: PartitionImage): readonly number[] {
  return p.removingReplicas ?? [];
}

/** Whether a reassignment of the partition is under way. */
export function isReassigning(p: PartitionImage): boolean {
  return addingReplicasOf(p).length > 0 || removingReplicasOf(p).length > 0;
}

export interface TopicImage {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: PartitionImage[];
  /** Per-topic overrides only; defaults come from the broker configs and topic-configs.ts. */
  readonly configs: Map<string, string>;
}

export interface BrokerImage {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export class MetadataImage {
  readonly topicsByName = new Map<string, TopicImage>();
  readonly topicsById = new Map<string, TopicImage>();
  readonly brokers = new Map<number, BrokerImage>();
  /** Broker-level configs keyed by resource name ('' is the cluster-wide default). */
  readonly brokerConfigs = new Map<string, Map<string, string>>();
  nextProducerId = 0;
  clusterId = '';

  apply(r: MetadataRecord): void {
    switch (r.type) {
      case 'Cluster':
        this.clusterId = r.clusterId;
        return;
      case 'RegisterBroker':
        this.brokers.set(r.nodeId, { nodeId: r.nodeId, host: r.host, port: r.port, rack: r.rack });
        return;
      case 'Topic': {
        const t: TopicImage = { name: r.name, topicId: r.topicId, partitions: [], configs: new Map() };
        this.topicsByName.set(r.name, t);
        this.topicsById.set(r.topicId, t);
        return;
      }
      case 'Partition': {
        const t = this.topicsById.get(r.topicId);
        if (!t) throw new Error(`metadata log: partition record for unknown topic id ${r.topicId}`);
        t.partitions[r.partition] = {
          partition: r.partition,
          replicas: r.replicas,
          isr: r.isr,
          leader: r.leader,
          leaderEpoch: r.leaderEpoch,
          partitionEpoch: r.partitionEpoch ?? 0,
          addingReplicas: r.addingReplicas ?? [],
          removingReplicas: r.removingReplicas ?? [],
        };
        return;
      }
      case 'RemoveTopic': {
        const t = this.topicsById.get(r.topicId);
        if (!t) return;
        this.topicsById.delete(r.topicId);
        this.topicsByName.delete(t.name);
        return;
      }
      case 'Config':
        this.applyConfig(r.resourceType, r.resourceName, r.name, r.value);
        return;
      case 'ProducerIds':
        this.nextProducerId = Math.max(this.nextProducerId, r.nextProducerId);
        return;
      default: {
        const never: never = r;
        throw new Error(`metadata log: unknown record ${JSON.stringify(never)}`);
      }
    }
  }

  /** The image as records that rebuild it when applied in order (a snapshot). */
  toRecords(): MetadataRecord[] {
    const out: MetadataRecord[] = [];
    if (this.clusterId !== '') out.push({ type: 'Cluster', clusterId: this.clusterId });
    for (const b of this.brokers.values()) out.push({ type: 'RegisterBroker', nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
    for (const [resourceName, configs] of this.brokerConfigs) {
      for (const [name, value] of configs) out.push({ type: 'Config', resourceType: 'broker', resourceName, name, value });
    }
    for (const t of this.topicsByName.values()) {
      out.push({ type: 'Topic', name: t.name, topicId: t.topicId });
      for (const p of t.partitions) {
        out.push({
          type: 'Partition',
          topicId: t.topicId,
          partition: p.partition,
          replicas: p.replicas,
          isr: p.isr,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          partitionEpoch: p.partitionEpoch,
          ...(isReassigning(p) ? { addingReplicas: addingReplicasOf(p), removingReplicas: removingReplicasOf(p) } : {}),
        });
      }
      for (const [name, value] of t.configs) out.push({ type: 'Config', resourceType: 'topic', resourceName: t.name, name, value });
    }
    if (this.nextProducerId > 0) out.push({ type: 'ProducerIds', nextProducerId: this.nextProducerId });
    return out;
  }

  /** Becomes a copy of `other` (a snapshot replaced the log), keeping this object: callers hold it. */
  replaceWith(other: MetadataImage): void {
    for (const m of [this.topicsByName, this.topicsById, this.brokers, this.brokerConfigs] as Map<unknown, unknown>[]) m.clear();
    for (const [k, v] of other.topicsByName) this.topicsByName.set(k, v);
    for (const [k, v] of other.topicsById) this.topicsById.set(k, v);
    for (const [k, v] of other.brokers) this.brokers.set(k, v);
    for (const [k, v] of other.brokerConfigs) this.brokerConfigs.set(k, v);
    this.nextProducerId = other.nextProducerId;
    this.clusterId = other.clusterId;
  }

  private applyConfig(type: ConfigResourceType, resource: string, name: string, value: string | null): void {
    let configs: Map<string, string> | undefined;
    if (type === 'topic') configs = this.topicsByName.get(resource)?.configs;
    else {
      configs = this.brokerConfigs.get(resource);
      if (!configs) this.brokerConfigs.set(resource, (configs = new Map<string, string>()));
    }
    if (!configs) return;
    if (value === null) configs.delete(name);
    else configs.set(name, value);
  }
}
