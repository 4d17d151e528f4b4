/**
 * Brook's admin client, on the caller's thread: topics, partitions, configs, groups and their
 * offsets, offsets by time, record deletion, partition reassignments and leader elections, and
 * the cluster's description. Each call is one or
 * a few requests with bounded retries of retriable errors (Cluster.withRetry); a non-retriable
 * broker error throws KafkaProtocolError with its code. Connections open lazily; close() ends them.
 */
import { decodeConsumerProtocolAssignment, decodeConsumerProtocolSubscription } from '../protocol/index.js';
import { Cluster, type BrokerInfo, type ClientOptions, type TopicInfo } from './cluster.js';
import { KafkaProtocolError } from './errors.js';
import {
  commitOffsets,
  CoordinatorCache,
  EARLIEST_TIMESTAMP,
  fetchCommittedOffsets,
  LATEST_TIMESTAMP,
  listOffsets,
  type CommittedOffset,
  type PartitionOffset,
  type TopicPartition,
} from './offsets.js';

export type ConfigResourceType = 'topic' | 'broker' | 'broker-logger';
const RESOURCE_TYPES: Record<ConfigResourceType, number> = { topic: 2, broker: 4, 'broker-logger': 8 };
const RESOURCE_NAMES = new Map(Object.entries(RESOURCE_TYPES).map(([k, v]) => [v, k as ConfigResourceType]));
const CONFIG_OPS = { set: 0, delete: 1, append: 2, subtract: 3 } as const;
const TOPIC_ALREADY_EXISTS = 36;

/** A config resource in messages; the empty broker name is the cluster-wide default, as Kafka writes it. */
function resourceLabel(type: ConfigResourceType, name: string): string {
  return `${type} ${name === '' ? '<default>' : name}`;
}

export interface NewTopic {
  name: string;
  /** -1 (or omitted) takes the broker's default. */
  numPartitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  source: number;
  isSensitive: boolean;
}

export interface ConfigResourceResult {
  type: ConfigResourceType;
  name: string;
  configs: ConfigEntry[];
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Decoded consumer-protocol subscription and assignment (protocol type "consumer"). */
  subscription: string[];
  assignment: TopicPartition[];
}

export interface GroupDescription {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: GroupMemberDescription[];
}

export interface ClusterDescription {
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerInfo[];
}

export type OffsetSpec = 'earliest' | 'latest' | { timestamp: number };

/** One partition's outcome of a request that names many: errorCode 0, or the broker's error. */
export interface PartitionOutcome {
  topic: string;
  partition: number;
  errorCode: number;
  errorMessage: string | null;
}

/** A reassignment under way (ListPartitionReassignments). */
export interface PartitionReassignment {
  topic: string;
  partition: number;
  /** Target replicas first, then the removing ones. */
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

export type ElectionType = 'preferred' | 'unclean';

export class Admin {
  readonly cluster: Cluster;
  private readonly coordinators: CoordinatorCache;

  constructor(opts: ClientOptions) {
    this.cluster = new Cluster({ clientId: 'brook-admin', ...opts });
    this.coordinators = new CoordinatorCache(this.cluster);
  }

  private async controller() {
    if (this.cluster.controllerId < 0) await this.cluster.refresh([]);
    const id = this.cluster.controllerId;
    return id >= 0 ? this.cluster.connection(id) : this.cluster.anyConnection();
  }

  // ---------------------------------------------------------------------------------------
  // Topics.

  /**
   * Creates topics. A topic that exists already is an error unless `ifNotExists`; with
   * `waitForLeaders` (the default) resolves once every new partition has a leader.
   */
  async createTopics(opts: { topics: NewTopic[]; validateOnly?: boolean; timeoutMs?: number; ifNotExists?: boolean; waitForLeaders?: boolean }): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? this.cluster.requestTimeoutMs;
    const pending = new Set(opts.topics.map((t) => t.name));
    await this.cluster.withRetry('CreateTopics', async () => {
      const conn = await this.controller();
      const res = await conn.request(
        19,
        {
          topics: opts.topics
            .filter((t) => pending.has(t.name))
            .map((t) => ({
              name: t.name,
              numPartitions: t.numPartitions ?? -1,
              replicationFactor: t.replicationFactor ?? -1,
              assignments: [],
              configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
            })),
          timeoutMs,
          validateOnly: opts.validateOnly ?? false,
        },
        { timeoutMs: timeoutMs + this.cluster.requestTimeoutMs },
      );
      let retriable: KafkaProtocolError | null = null;
      for (const t of res.topics) {
        if (t.errorCode === 0 || (t.errorCode === TOPIC_ALREADY_EXISTS && opts.ifNotExists)) {
          pending.delete(t.name);
          continue;
        }
        const err = new KafkaProtocolError(t.errorCode, `CreateTopics ${t.name}`, t.errorMessage);
        if (!err.retriable) throw err;
        retriable = err;
      }
      if (retriable !== null) throw retriable;
    });
    if (opts.validateOnly || opts.waitForLeaders === false) return;
    await this.cluster.waitForTopics(
      opts.topics.map((t) => t.name),
      timeoutMs,
    );
  }

  /** Names of every topic (internal ones only when asked). */
  async listTopics(opts: { includeInternal?: boolean } = {}): Promise<string[]> {
    const conn = await this.cluster.anyConnection();
    const res = await conn.request(3, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    this.cluster.applyMetadata(res);
    return res.topics
      .filter((t) => t.errorCode === 0 && t.name !== null && (opts.includeInternal || !t.isInternal))
      .map((t) => t.name!)
      .sort();
  }

  /** Partitions, leaders, replicas and ISR of each topic; a missing topic throws UNKNOWN_TOPIC_OR_PARTITION. */
  async describeTopics(topics: string[]): Promise<TopicInfo[]> {
    const md = await this.cluster.topicsMetadata(topics, { forceRefresh: true });
    return topics.map((t) => {
      const info = md.get(t);
      if (info === undefined) throw new KafkaProtocolError(3, `DescribeTopics ${t}`);
      return info;
    });
  }

  async deleteTopics(opts: { topics: string[]; timeoutMs?: number }): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? this.cluster.requestTimeoutMs;
    await this.cluster.withRetry('DeleteTopics', async () => {
      const conn = await this.controller();
      const res = await conn.request(
        20,
        {
          topics: opts.topics.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })),
          topicNames: opts.topics,
          timeoutMs,
        },
        { timeoutMs: timeoutMs + this.cluster.requestTimeoutMs },
      );
      for (const r of res.responses) {
        if (r.errorCode !== 0) throw new KafkaProtocolError(r.errorCode, `DeleteTopics ${r.name ?? r.topicId}`, r.errorMessage);
      }
    });
    for (const t of opts.topics) this.cluster.invalidate(t);
  }

  /** Raises each topic's partition count to `count`. */
  async createPartitions(opts: { topics: { name: string; count: number }[]; validateOnly?: boolean; timeoutMs?: number }): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? this.cluster.requestTimeoutMs;
    await this.cluster.withRetry('CreatePartitions', async () => {
      const conn = await this.controller();
      const res = await conn.request(
        37,
        {
          topics: opts.topics.map((t) => ({ name: t.name, count: t.count, assignments: null })),
          timeoutMs,
          validateOnly: opts.validateOnly ?? false,
        },
        { timeoutMs: timeoutMs + this.cluster.requestTimeoutMs },
      );
      for (const r of res.results) {
        if (r.errorCode !== 0) throw new KafkaProtocolError(r.errorCode, `CreatePartitions ${r.name}`, r.errorMessage);
      }
    });
    for (const t of opts.topics) this.cluster.invalidate(t.name);
  }

  // ---------------------------------------------------------------------------------------
  // Configs.

  private async resourceConnection(type: ConfigResourceType, name: string) {
    // Broker resources must go to that broker; topic resources to any broker (the controller here).
    if (type !== 'topic' && name !== '') {
      const id = Number(name);
      if (Number.isInteger(id)) {
        if (this.cluster.broker(id) === undefined) await this.cluster.refresh([]);
        if (this.cluster.broker(id) !== undefined) return this.cluster.connection(id);
      }
    }
    return this.controller();
  }

  async describeConfigs(opts: { resources: { type: ConfigResourceType; name: string; keys?: string[] }[] }): Promise<ConfigResourceResult[]> {
    const results: ConfigResourceResult[] = [];
    for (const r of opts.resources) {
      const res = await this.cluster.withRetry('DescribeConfigs', async () => {
        const conn = await this.resourceConnection(r.type, r.name);
        return conn.request(32, {
          resources: [{ resourceType: RESOURCE_TYPES[r.type], resourceName: r.name, configurationKeys: r.keys ?? null }],
          includeSynonyms: false,
          includeDocumentation: false,
        });
      });
      for (const x of res.results) {
        if (x.errorCode !== 0) throw new KafkaProtocolError(x.errorCode, `DescribeConfigs ${resourceLabel(r.type, r.name)}`, x.errorMessage);
        results.push({
          type: RESOURCE_NAMES.get(x.resourceType) ?? r.type,
          name: x.resourceName,
          configs: x.configs.map((c) => ({
            name: c.name,
            value: c.value,
            readOnly: c.readOnly,
            isDefault: c.isDefault || c.configSource === 5,
            source: c.configSource,
            isSensitive: c.isSensitive,
          })),
        });
      }
    }
    return results;
  }

  /** Replaces a resource's whole dynamic config (AlterConfigs): keys not named revert to defaults. */
  async alterConfigs(opts: { resources: { type: ConfigResourceType; name: string; configs: Record<string, string | null> }[]; validateOnly?: boolean }): Promise<void> {
    for (const r of opts.resources) {
      await this.cluster.withRetry('AlterConfigs', async () => {
        const conn = await this.resourceConnection(r.type, r.name);
        const res = await conn.request(33, {
          resources: [{ resourceType: RESOURCE_TYPES[r.type], resourceName: r.name, configs: Object.entries(r.configs).map(([name, value]) => ({ name, value })) }],
          validateOnly: opts.validateOnly ?? false,
        });
        for (const x of res.responses) if (x.errorCode !== 0) throw new KafkaProtocolError(x.errorCode, `AlterConfigs ${resourceLabel(r.type, r.name)}`, x.errorMessage);
      });
    }
  }

  /** Changes named keys only (IncrementalAlterConfigs): set, delete, append or subtract. */
  async incrementalAlterConfigs(opts: {
    resources: { type: ConfigResourceType; name: string; ops: { name: string; op: keyof typeof CONFIG_OPS; value?: string | null }[] }[];
    validateOnly?: boolean;
  }): Promise<void> {
    for (const r of opts.resources) {
      await this.cluster.withRetry('IncrementalAlterConfigs', async () => {
        const conn = await this.resourceConnection(r.type, r.name);
        const res = await conn.request(44, {
          resources: [
            {
              resourceType: RESOURCE_TYPES[r.type],
              resourceName: r.name,
              configs: r.ops.map((o) => ({ name: o.name, configOperation: CONFIG_OPS[o.op], value: o.value ?? null })),
            },
          ],
          validateOnly: opts.validateOnly ?? false,
        });
        for (const x of res.responses) if (x.errorCode !== 0) throw new KafkaProtocolError(x.errorCode, `IncrementalAlterConfigs ${resourceLabel(r.type, r.name)}`, x.errorMessage);
      });
    }
  }

  // ---------------------------------------------------------------------------------------
  // Offsets and records.

  private async partitionsOf(topic: string, partitions?: number[]): Promise<TopicPartition[]> {
    if (partitions !== undefined) return partitions.map((partition) => ({ topic, partition }));
    const info = (await this.cluster.waitForTopics([topic], this.cluster.requestTimeoutMs)).get(topic)!;
    return info.partitions.map((p) => ({ topic, partition: p.partition }));
  }

  /** Offsets of a topic's partitions: earliest, latest, or the first at or after a timestamp (-1 if none). */
  async listOffsets(opts: { topic: string; partitions?: number[]; at?: OffsetSpec; isolationLevel?: 'read_uncommitted' | 'read_committed' }): Promise<PartitionOffset[]> {
    const at = opts.at ?? 'latest';
    const ts = at === 'earliest' ? EARLIEST_TIMESTAMP : at === 'latest' ? LATEST_TIMESTAMP : at.timestamp;
    const res = await listOffsets(this.cluster, await this.partitionsOf(opts.topic, opts.partitions), ts, opts.isolationLevel === 'read_committed' ? 1 : 0);
    return res.sort((a, b) => a.partition - b.partition);
  }

  /** Deletes records before `offset` in each partition (offset -1: up to the high watermark); returns new low watermarks. */
  async deleteRecords(opts: { topic: string; partitions: { partition: number; offset: number }[]; timeoutMs?: number }): Promise<{ partition: number; lowWatermark: number }[]> {
    const timeoutMs = opts.timeoutMs ?? this.cluster.requestTimeoutMs;
    return this.cluster.withRetry('DeleteRecords', async (attempt) => {
      const info = (await this.cluster.waitForTopics([opts.topic], timeoutMs)).get(opts.topic)!;
      if (attempt > 0) await this.cluster.refresh([opts.topic]);
      const byLeader = new Map<number, { partitionIndex: number; offset: number }[]>();
      for (const p of opts.partitions) {
        const leader = info.partitions[p.partition]?.leader ?? -1;
        if (leader < 0) throw new KafkaProtocolError(3, `DeleteRecords: no leader for ${opts.topic}-${p.partition}`);
        let l = byLeader.get(leader);
        if (l === undefined) byLeader.set(leader, (l = []));
        l.push({ partitionIndex: p.partition, offset: p.offset });
      }
      const out: { partition: number; lowWatermark: number }[] = [];
      for (const [leader, partitions] of byLeader) {
        const conn = await this.cluster.connection(leader);
        const res = await conn.request(21, { topics: [{ name: opts.topic, partitions }], timeoutMs }, { timeoutMs: timeoutMs + this.cluster.requestTimeoutMs });
        for (const t of res.topics) {
          for (const p of t.partitions) {
            if (p.errorCode !== 0) throw new KafkaProtocolError(p.errorCode, `DeleteRecords ${t.name}-${p.partitionIndex}`);
            out.push({ partition: p.partitionIndex, lowWatermark: p.lowWatermark });
          }
        }
      }
      return out.sort((a, b) => a.partition - b.partition);
    });
  }

  // ---------------------------------------------------------------------------------------
  // Reassignments and leader elections.

  /**
   * Starts a reassignment of each partition to its target replicas, or cancels the one under
   * way (replicas null). Resolves with each partition's outcome (errorCode 0 or the error);
   * a request-level error (no controller) is retried, then thrown.
   */
  async alterPartitionReassignments(opts: { reassignments: { topic: string; partition: number; replicas: number[] | null }[]; timeoutMs?: number }): Promise<PartitionOutcome[]> {
    const timeoutMs = opts.timeoutMs ?? this.cluster.requestTimeoutMs;
    const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
    for (const r of opts.reassignments) {
      let list = byTopic.get(r.topic);
      if (list === undefined) byTopic.set(r.topic, (list = []));
      list.push({ partitionIndex: r.partition, replicas: r.replicas });
    }
    const res = await this.cluster.withRetry('AlterPartitionReassignments', async () => {
      const conn = await this.controller();
      const r = await conn.request(
        45,
        { timeoutMs, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) },
        { timeoutMs: timeoutMs + this.cluster.requestTimeoutMs },
      );
      if (r.errorCode !== 0) throw new KafkaProtocolError(r.errorCode, 'AlterPartitionReassignments', r.errorMessage);
      return r;
    });
    for (const t of opts.reassignments) this.cluster.invalidate(t.topic);
    return res.responses.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, errorCode: p.errorCode, errorMessage: p.errorMessage })));
  }

  /** The reassignments under way, of the partitions named (default: of every partition). */
  async listPartitionReassignments(opts: { partitions?: { topic: string; partition: number }[]; timeoutMs?: number } = {}): Promise<PartitionReassignment[]> {
    let topics: { name: string; partitionIndexes: number[] }[] | null = null;
    if (opts.partitions !== undefined) {
      const byTopic = new Map<string, number[]>();
      for (const p of opts.partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
      topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
    }
    const res = await this.cluster.withRetry('ListPartitionReassignments', async () => {
      const conn = await this.controller();
      const r = await conn.request(46, { timeoutMs: opts.timeoutMs ?? this.cluster.requestTimeoutMs, topics });
      if (r.errorCode !== 0) throw new KafkaProtocolError(r.errorCode, 'ListPartitionReassignments', r.errorMessage);
      return r;
    });
    return res.topics
      .flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          replicas: p.replicas,
          addingReplicas: p.addingReplicas,
          removingReplicas: p.removingReplicas,
        })),
      )
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /**
   * A preferred or unclean leader election for each partition named, or for every partition
   * (partitions null: only those where an election was needed are answered). Resolves with
   * each partition's outcome; ELECTION_NOT_NEEDED (84) says the right leader leads already.
   */
  async electLeaders(opts: { electionType: ElectionType; partitions: { topic: string; partition: number }[] | null; timeoutMs?: number }): Promise<PartitionOutcome[]> {
    const timeoutMs = opts.timeoutMs ?? this.cluster.requestTimeoutMs;
    let topicPartitions: { topic: string; partitions: number[] }[] | null = null;
    if (opts.partitions !== null) {
      const byTopic = new Map<string, number[]>();
      for (const p of opts.partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
      topicPartitions = [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
    }
    const electionType = opts.electionType === 'preferred' ? 0 : 1;
    const res = await this.cluster.withRetry('ElectLeaders', async () => {
      const conn = await this.controller();
      if (conn.versionOf(43) < 1 && electionType !== 0) throw new KafkaProtocolError(35, 'ElectLeaders: the broker knows only preferred elections (v0)');
      const r = await conn.request(43, { electionType, topicPartitions, timeoutMs }, { timeoutMs: timeoutMs + this.cluster.requestTimeoutMs });
      if (r.errorCode !== 0) throw new KafkaProtocolError(r.errorCode, 'ElectLeaders');
      return r;
    });
    for (const t of topicPartitions ?? []) this.cluster.invalidate(t.topic);
    return res.replicaElectionResults
      .flatMap((t) => t.partitionResult.map((p) => ({ topic: t.topic, partition: p.partitionId, errorCode: p.errorCode, errorMessage: p.errorMessage })))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  // ---------------------------------------------------------------------------------------
  // Groups.

  async listGroups(): Promise<{ groupId: string; protocolType: string; state: string }[]> {
    await this.cluster.refresh([]);
    const brokers = this.cluster.brokerList();
    const all = await Promise.all(
      brokers.map(async (b) =>
        this.cluster.withRetry('ListGroups', async () => {
          const conn = await this.cluster.connection(b.nodeId);
          const res = await conn.request(16, { statesFilter: [], typesFilter: [] });
          if (res.errorCode !== 0) throw new KafkaProtocolError(res.errorCode, 'ListGroups');
          return res.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState }));
        }),
      ),
    );
    return all.flat().sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  async describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    return Promise.all(
      groupIds.map((groupId) =>
        this.coordinators.request(groupId, 'DescribeGroups', async (conn) => {
          const res = await conn.request(15, { groups: [groupId], includeAuthorizedOperations: false });
          const g = res.groups[0];
          if (g === undefined) throw new KafkaProtocolError(-1, `DescribeGroups ${groupId}: empty answer`);
          if (g.errorCode !== 0) throw new KafkaProtocolError(g.errorCode, `DescribeGroups ${groupId}`);
          return {
            groupId: g.groupId,
            state: g.groupState,
            protocolType: g.protocolType,
            protocol: g.protocolData,
            members: g.members.map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              subscription: g.protocolType === 'consumer' && m.memberMetadata.length > 0 ? decodeConsumerProtocolSubscription(m.memberMetadata).value.topics : [],
              assignment:
                g.protocolType === 'consumer' && m.memberAssignment.length > 0
                  ? decodeConsumerProtocolAssignment(m.memberAssignment).value.assignedPartitions.flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition })))
                  : [],
            })),
          };
        }),
      ),
    );
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    for (const groupId of groupIds) {
      await this.coordinators.request(groupId, 'DeleteGroups', async (conn) => {
        const res = await conn.request(42, { groupsNames: [groupId] });
        for (const r of res.results) if (r.errorCode !== 0) throw new KafkaProtocolError(r.errorCode, `DeleteGroups ${r.groupId}`);
      });
    }
  }

  /** A group's committed offsets (all of them, or those of `topics`). */
  async fetchOffsets(opts: { groupId: string; topics?: string[] }): Promise<CommittedOffset[]> {
    let tps: TopicPartition[] | null = null;
    if (opts.topics !== undefined) tps = (await Promise.all(opts.topics.map((t) => this.partitionsOf(t)))).flat();
    const res = await fetchCommittedOffsets(this.coordinators, opts.groupId, tps);
    return res.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** Commits offsets for a group that has no active members (as kafka-consumer-groups --reset-offsets does). */
  async setOffsets(opts: { groupId: string; topic: string; partitions: { partition: number; offset: number }[] }): Promise<void> {
    await commitOffsets(
      this.coordinators,
      opts.groupId,
      opts.partitions.map((p) => ({ topic: opts.topic, partition: p.partition, offset: p.offset })),
      { generationId: -1, memberId: '' },
    );
  }

  /** Resets a group's offsets of a topic to its earliest or latest offsets, or to those at a timestamp. */
  async resetOffsets(opts: { groupId: string; topic: string; to: OffsetSpec }): Promise<PartitionOffset[]> {
    const offsets = await this.listOffsets({ topic: opts.topic, at: opts.to });
    const end = opts.to === 'latest' ? offsets : await this.listOffsets({ topic: opts.topic, at: 'latest' });
    const target = offsets.map((o, i) => ({ ...o, offset: o.offset < 0 ? end[i]!.offset : o.offset }));
    await this.setOffsets({ groupId: opts.groupId, topic: opts.topic, partitions: target });
    return target;
  }

  /** Deletes a group's committed offsets of some partitions (OffsetDelete). */
  async deleteOffsets(opts: { groupId: string; topic: string; partitions: number[] }): Promise<void> {
    await this.coordinators.request(opts.groupId, 'OffsetDelete', async (conn) => {
      const res = await conn.request(47, { groupId: opts.groupId, topics: [{ name: opts.topic, partitions: opts.partitions.map((partitionIndex) => ({ partitionIndex })) }] });
      if (res.errorCode !== 0) throw new KafkaProtocolError(res.errorCode, `OffsetDelete ${opts.groupId}`);
      for (const t of res.topics)
        for (const p of t.partitions) if (p.errorCode !== 0) throw new KafkaProtocolError(p.errorCode, `OffsetDelete ${opts.groupId} ${t.name}-${p.partitionIndex}`);
    });
  }

  // ---------------------------------------------------------------------------------------
  // Cluster.

  async describeCluster(): Promise<ClusterDescription> {
    const conn = await this.cluster.anyConnection();
    if (conn.versionOf(60) < 0) {
      await this.cluster.refresh([]);
      return { clusterId: this.cluster.clusterId, controllerId: this.cluster.controllerId, brokers: this.cluster.brokerList() };
    }
    const res = await conn.request(60, { includeClusterAuthorizedOperations: false, endpointType: 1 });
    if (res.errorCode !== 0) throw new KafkaProtocolError(res.errorCode, 'DescribeCluster', res.errorMessage);
    return {
      clusterId: res.clusterId,
      controllerId: res.controllerId,
      brokers: res.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack })),
    };
  }

  async close(): Promise<void> {
    await this.cluster.close();
  }
}
