/**
 * Controller: validates metadata changes, appends them to the metadata log and applies them to
 * the image. Lives on the main thread; a cluster view. A single node is its own controller; a
 * later issue replicates the log across nodes by consensus, and only the elected controller
 * runs these methods.
 *
 * Every method either appends all its records or none, and returns an error value (a Kafka error
 * name and a message) rather than throwing for a request that is merely invalid.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { MetadataImage, type PartitionImage, type TopicImage } from './metadata-image.js';
import { MetadataLog } from './metadata-log.js';
import type { ConfigResourceType, MetadataRecord } from './metadata-records.js';
import { validateBrokerConfig, validateTopicConfig } from './topic-configs.js';

export interface ControllerError {
  readonly error: string;
  readonly message: string;
}

export interface ControllerOptions {
  readonly nodeId: number;
  readonly defaultPartitions: number;
  readonly defaultReplicationFactor: number;
}

/** What a change did, so the node can start or stop partition actors before answering. */
export type MetadataChange =
  | { readonly type: 'partitionsCreated'; readonly topic: TopicImage; readonly partitions: readonly PartitionImage[] }
  | { readonly type: 'topicDeleted'; readonly topic: TopicImage }
  | { readonly type: 'configChanged'; readonly resourceType: ConfigResourceType; readonly resourceName: string };

export interface NewTopic {
  readonly name: string;
  /** -1 takes the broker default (num.partitions). */
  readonly numPartitions: number;
  /** -1 takes the broker default (default.replication.factor). */
  readonly replicationFactor: number;
  readonly assignments?: readonly { readonly partitionIndex: number; readonly brokerIds: readonly number[] }[];
  readonly configs?: readonly { readonly name: string; readonly value: string | null }[];
}

/** Producer ids are handed out in blocks, one metadata record per block (as Kafka does). */
const PRODUCER_ID_BLOCK = 1000;
/** Kafka's limit on topic names; longer names cannot form a partition directory name. */
const TOPIC_NAME_MAX = 249;
const PARTITIONS_MAX = 100_000;

export function validateTopicName(name: string): string | undefined {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be '${name}'`;
  if (name.length > TOPIC_NAME_MAX) return `topic name is longer than ${TOPIC_NAME_MAX} characters`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) return `topic name '${name}' has characters other than ASCII alphanumerics, '.', '_' and '-'`;
  return undefined;
}

export class Controller {
  readonly image = new MetadataImage();
  private readonly log: MetadataLog;
  private producerIdsLeft = 0;
  private nextProducerId = 0;
  private readonly listeners: ((c: MetadataChange) => Promise<void>)[] = [];

  constructor(
    dataDir: string,
    private readonly opts: ControllerOptions,
  ) {
    this.log = new MetadataLog(join(dataDir, 'cluster-metadata.db'));
    for (const r of this.log.replay()) this.image.apply(r);
    if (this.image.clusterId === '') {
      this.append([{ type: 'Cluster', clusterId: randomBytes(16).toString('base64url') }]);
    }
  }

  /** Registers a reaction to changes; `commit` waits for every listener before returning. */
  onChange(listener: (c: MetadataChange) => Promise<void>): void {
    this.listeners.push(listener);
  }

  registerBroker(host: string, port: number): void {
    const known = this.image.brokers.get(this.opts.nodeId);
    if (known && known.host === host && known.port === port) return;
    this.append([{ type: 'RegisterBroker', nodeId: this.opts.nodeId, host, port, rack: null }]);
  }

  async createTopic(t: NewTopic, validateOnly = false): Promise<ControllerError | TopicImage> {
    const invalidName = validateTopicName(t.name);
    if (invalidName) return { error: 'INVALID_TOPIC_EXCEPTION', message: invalidName };
    if (this.image.topicsByName.has(t.name)) return { error: 'TOPIC_ALREADY_EXISTS', message: `topic '${t.name}' already exists` };
    const planned = this.planReplicas(t);
    if ('error' in planned) return planned;
    for (const c of t.configs ?? []) {
      const why = validateTopicConfig(c.name, c.value);
      if (why) return { error: 'INVALID_CONFIG', message: why };
    }
    const topicId = randomUUID();
    const records: MetadataRecord[] = [{ type: 'Topic', name: t.name, topicId }];
    planned.forEach((replicas, partition) => {
      records.push({ type: 'Partition', topicId, partition, replicas, isr: replicas, leader: replicas[0]!, leaderEpoch: 0 });
    });
    for (const c of t.configs ?? []) {
      if (c.value !== null) records.push({ type: 'Config', resourceType: 'topic', resourceName: t.name, name: c.name, value: c.value });
    }
    if (validateOnly) return { name: t.name, topicId, partitions: [], configs: new Map() };
    this.append(records);
    const topic = this.image.topicsById.get(topicId)!;
    await this.emit({ type: 'partitionsCreated', topic, partitions: topic.partitions });
    return topic;
  }

  async deleteTopic(name: string): Promise<ControllerError | TopicImage> {
    const topic = this.image.topicsByName.get(name);
    if (!topic) return { error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic '${name}' does not exist` };
    if (name.startsWith('__')) return { error: 'INVALID_TOPIC_EXCEPTION', message: `internal topic '${name}' cannot be deleted` };
    this.append([{ type: 'RemoveTopic', topicId: topic.topicId }]);
    await this.emit({ type: 'topicDeleted', topic });
    return topic;
  }

  async createPartitions(name: string, count: number, assignments: readonly (readonly number[])[] | null, validateOnly = false): Promise<ControllerError | TopicImage> {
    const topic = this.image.topicsByName.get(name);
    if (!topic) return { error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic '${name}' does not exist` };
    const current = topic.partitions.length;
    if (count <= current) {
      return { error: 'INVALID_PARTITIONS', message: `topic '${name}' has ${current} partitions; the new count must be larger, got ${count}` };
    }
    if (count > PARTITIONS_MAX) return { error: 'INVALID_PARTITIONS', message: `at most ${PARTITIONS_MAX} partitions, got ${count}` };
    if (assignments && assignments.length !== count - current) {
      return { error: 'INVALID_REPLICA_ASSIGNMENT', message: `expected ${count - current} assignments, got ${assignments.length}` };
    }
    const rf = topic.partitions[0]?.replicas.length ?? 1;
    const records: MetadataRecord[] = [];
    for (let p = current; p < count; p++) {
      const replicas = assignments ? [...assignments[p - current]!] : this.defaultReplicas(rf, p);
      const bad = this.checkReplicas(replicas);
      if (bad) return bad;
      records.push({ type: 'Partition', topicId: topic.topicId, partition: p, replicas, isr: replicas, leader: replicas[0]!, leaderEpoch: 0 });
    }
    if (validateOnly) return topic;
    this.append(records);
    await this.emit({ type: 'partitionsCreated', topic, partitions: topic.partitions.slice(current) });
    return topic;
  }

  /**
   * Changes configs of one resource. `replace` (AlterConfigs) sets exactly the given configs and
   * removes the others; `incremental` (IncrementalAlterConfigs) applies set/delete operations.
   */
  async alterConfigs(
    resourceType: ConfigResourceType,
    resourceName: string,
    changes: readonly { readonly name: string; readonly value: string | null }[],
    mode: 'replace' | 'incremental',
    validateOnly = false,
  ): Promise<ControllerError | undefined> {
    let current: Map<string, string> | undefined;
    if (resourceType === 'topic') {
      const topic = this.image.topicsByName.get(resourceName);
      if (!topic) return { error: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic '${resourceName}' does not exist` };
      current = topic.configs;
    } else {
      if (resourceName !== '' && resourceName !== String(this.opts.nodeId)) {
        return { error: 'INVALID_REQUEST', message: `unknown broker '${resourceName}'` };
      }
      current = this.image.brokerConfigs.get(resourceName) ?? new Map();
    }
    for (const c of changes) {
      const why = resourceType === 'topic' ? validateTopicConfig(c.name, c.value) : validateBrokerConfig(c.name, c.value);
      if (why) return { error: 'INVALID_CONFIG', message: why };
    }
    const records: MetadataRecord[] = changes.map((c) => ({ type: 'Config', resourceType, resourceName, name: c.name, value: c.value }));
    if (mode === 'replace') {
      for (const name of current.keys()) {
        if (!changes.some((c) => c.name === name)) records.push({ type: 'Config', resourceType, resourceName, name, value: null });
      }
    }
    if (validateOnly || records.length === 0) return undefined;
    this.append(records);
    await this.emit({ type: 'configChanged', resourceType, resourceName });
    return undefined;
  }

  /** Hands out a new producer id, allocating a block in the metadata log when one runs out. */
  allocateProducerId(): number {
    if (this.producerIdsLeft === 0) {
      const start = this.image.nextProducerId;
      this.append([{ type: 'ProducerIds', nextProducerId: start + PRODUCER_ID_BLOCK }]);
      this.nextProducerId = start;
      this.producerIdsLeft = PRODUCER_ID_BLOCK;
    }
    this.producerIdsLeft--;
    return this.nextProducerId++;
  }

  close(): void {
    this.log.close();
  }

  private append(records: MetadataRecord[]): void {
    this.log.append(records);
    for (const r of records) this.image.apply(r);
  }

  private async emit(change: MetadataChange): Promise<void> {
    for (const l of this.listeners) await l(change);
  }

  private planReplicas(t: NewTopic): ControllerError | number[][] {
    if (t.assignments && t.assignments.length > 0) {
      if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
        return { error: 'INVALID_REQUEST', message: 'both assignments and a partition count or replication factor were given' };
      }
      const sorted = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
      if (sorted.some((a, i) => a.partitionIndex !== i)) return { error: 'INVALID_REPLICA_ASSIGNMENT', message: 'partition indices must be 0..n-1' };
      const out = sorted.map((a) => [...a.brokerIds]);
      for (const r of out) {
        const bad = this.checkReplicas(r);
        if (bad) return bad;
      }
      return out;
    }
    const partitions = t.numPartitions === -1 ? this.opts.defaultPartitions : t.numPartitions;
    const rf = t.replicationFactor === -1 ? this.opts.defaultReplicationFactor : t.replicationFactor;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > PARTITIONS_MAX) {
      return { error: 'INVALID_PARTITIONS', message: `number of partitions must be from 1 to ${PARTITIONS_MAX}, got ${partitions}` };
    }
    const brokers = Math.max(1, this.image.brokers.size);
    if (!Number.isInteger(rf) || rf < 1 || rf > brokers) {
      return { error: 'INVALID_REPLICATION_FACTOR', message: `replication factor ${rf} is larger than the ${brokers} available broker(s)` };
    }
    return Array.from({ length: partitions }, (_, p) => this.defaultReplicas(rf, p));
  }

  private defaultReplicas(rf: number, partition: number): number[] {
    const ids = [...this.image.brokers.keys()].sort((a, b) => a - b);
    if (ids.length === 0) ids.push(this.opts.nodeId);
    return Array.from({ length: rf }, (_, i) => ids[(partition + i) % ids.length]!);
  }

  private checkReplicas(replicas: readonly number[]): ControllerError | undefined {
    if (replicas.length === 0) return { error: 'INVALID_REPLICA_ASSIGNMENT', message: 'a partition needs at least one replica' };
    if (new Set(replicas).size !== replicas.length) return { error: 'INVALID_REPLICA_ASSIGNMENT', message: `duplicate broker in replicas ${replicas.join(',')}` };
    const unknown = replicas.filter((r) => !this.image.brokers.has(r));
    if (unknown.length > 0) return { error: 'INVALID_REPLICA_ASSIGNMENT', message: `unknown broker(s) ${unknown.join(',')}` };
    return undefined;
  }
}
