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
