/**
 * NodeProbe: the node's own metrics (main thread), refreshed at each scrape from the supervisor
 * and, over the control plane, from every worker thread: partitions, actors' mailbox depth and
 * restarts, each thread's event-loop utilisation and delay, and consumer groups' committed
 * offsets and lag from the group coordinator actors. Names follow Redpanda and kafka_exporter
 * (the group and partition offset metrics use kafka_exporter's names exactly, so its dashboards
 * work unchanged).
 *
 * Replication (computed at each scrape from the metadata image, the leader actors' inspect
 * state and the ReplicaFetcher; nothing is counted per request), with Kafka's JMX names as the
 * Prometheus JMX exporter writes them:
 *   kafka_server_replicamanager_partitioncount            replicas on this node, leader or follower
 *   kafka_server_replicamanager_leadercount               partitions this node leads
 *   kafka_server_replicamanager_underreplicatedpartitions partitions it leads whose ISR < replicas
 *   kafka_server_replicamanager_underminisrpartitioncount / _atminisrpartitioncount
 *                                                         ISR below / at min.insync.replicas
 *   kafka_server_replicafetchermanager_maxlag{clientId="Replica"}
 *                                                         most records any partition this node
 *                                                         follows is behind its leader
 *   kafka_controller_kafkacontroller_activecontrollercount 1 on the active controller
 *   kafka_controller_kafkacontroller_offlinepartitionscount / _globalpartitioncount
 *                                                         on the active controller (0 elsewhere):
 *                                                         partitions with no leader (-1) / all
 *   kafka_cluster_partition_underreplicated / _insyncreplicascount / _replicascount {topic,partition}
 *                                                         per partition this node leads (Kafka's
 *                                                         kafka.cluster:type=Partition metrics)
 *   redpanda_kafka_under_replicated_replicas{redpanda_namespace,redpanda_topic}
 *                                                         replicas missing from the ISR, summed
 *                                                         over the topic's partitions led here
 *   redpanda_cluster_unavailable_partitions               on the active controller: no leader
 * and Brook's own per partition this node leads or follows (label cardinality bounded by the
 * replicas the node holds; `__consumer_offsets` included: its 50 partitions are the ones whose
 * ISR decides whether offset commits are acknowledged):
 *   brook_partition_replicas, brook_partition_isr_size, brook_partition_under_replicated {topic,partition}
 *   brook_replica_lag_records{topic,partition}            this node as follower: records behind
 *                                                         its leader's log end (ReplicaFetcher)
 *   brook_partition_follower_lag_records{topic,partition,replica}
 *                                                         this node as leader: each follower's
 *                                                         lag as of its last fetch (open actors)
 */
import { Gauge, type Registry } from 'prom-client';
import type { ClusterMetadata } from './cluster/cluster-metadata.js';
import type { Controller } from './cluster/controller.js';
import type { NodeConfig } from './config.js';
import { listGroupsWithLag, type GroupViewNode } from './http/groups.js';
import { followersOf, isOffline, isUnderReplicated, nodeReplicationCounts, replicationFactorOf, type ReplicaLagSource } from './http/replication-view.js';
import { threadStatsWindowMs } from './runtime/limits.js';
import type { Supervisor } from './runtime/supervisor.js';
import type { WalCheckpointerThread } from './storage/wal-checkpointer.js';

/** What the probe reads of its node (BrookNode implements it). */
export interface ProbedNode extends GroupViewNode {
  readonly config: NodeConfig;
  readonly controller: Controller;
  readonly metadata: ClusterMetadata;
  readonly supervisor: Supervisor;
  readonly walCheckpointer: Pick<WalCheckpointerThread, 'stats'>;
  /** Lag of the partitions this node follows. */
  readonly replicaFetcher: ReplicaLagSource;
}

type PartitionLabels = 'topic' | 'partition';

export class NodeProbe {
  private readonly partitions: Gauge;
  private readonly underReplicated: Gauge;
  private readonly mailboxDepth: Gauge<'actor' | 'kind' | 'thread'>;
  private readonly restarts: Gauge<'actor' | 'kind'>;
  private readonly elu: Gauge<'thread'>;
  private readonly threads: Gauge;
  private readonly loopDelay: Gauge<'thread' | 'quantile'>;
  private readonly groupLag: Gauge<'consumergroup' | 'topic' | 'partition'>;
  private readonly groupLagSum: Gauge<'consumergroup' | 'topic'>;
  private readonly groupOffset: Gauge<'consumergroup' | 'topic' | 'partition'>;
  private readonly groupMembers: Gauge<'consumergroup'>;
  private readonly partitionOffset: Gauge<'topic' | 'partition'>;
  private readonly partitionOldest: Gauge<'topic' | 'partition'>;
  private readonly walCheckpoints: Gauge<'outcome'>;
  private readonly liveNodes: Gauge;
  private readonly isController: Gauge;
  private readonly controllerId: Gauge;
  private readonly offline: Gauge;
  private readonly metadataOffset: Gauge;
  private readonly logsOpen: Gauge;
  private readonly logsOpenMax: Gauge;
  private readonly logsPassivated: Gauge;
  private readonly fetchCache: Gauge<'stat'>;
  private readonly fetchReaders: Gauge<'stat'>;
  private readonly rm: {
    partitionCount: Gauge;
    leaderCount: Gauge;
    underReplicated: Gauge;
    underMinIsr: Gauge;
    atMinIsr: Gauge;
    maxLag: Gauge<'clientId'>;
  };
  private readonly kc: { active: Gauge; offline: Gauge; partitions: Gauge };
  private readonly kafkaPartition: { underReplicated: Gauge<PartitionLabels>; isr: Gauge<PartitionLabels>; replicas: Gauge<PartitionLabels> };
  private readonly rpUnderReplicated: Gauge<'redpanda_namespace' | 'redpanda_topic'>;
  private readonly rpUnavailable: Gauge;
  private readonly partReplicas: Gauge<PartitionLabels>;
  private readonly partIsr: Gauge<PartitionLabels>;
  private readonly partUnder: Gauge<PartitionLabels>;
  private readonly replicaLag: Gauge<PartitionLabels>;
  private readonly followerLag: Gauge<PartitionLabels | 'replica'>;

  constructor(
    registry: Registry,
    private readonly node: ProbedNode,
  ) {
    const registers = [registry];
    this.partitions = new Gauge({ name: 'brook_kafka_partitions', help: 'Partitions led by this node', registers });
    this.underReplicated = new Gauge({ name: 'brook_kafka_under_replicated_partitions', help: 'Partitions whose ISR is smaller than their replica set', registers });
    this.liveNodes = new Gauge({ name: 'brook_cluster_nodes', help: 'Nodes live in the cluster (registered with a live lease), as this node sees them', registers });
    this.isController = new Gauge({ name: 'brook_cluster_controller', help: '1 on the node that is the active controller, else 0 (Kafka ActiveControllerCount)', registers });
    this.controllerId = new Gauge({ name: 'brook_cluster_controller_id', help: 'Node id of the elected controller, -1 while none', registers });
    this.offline = new Gauge({
      name: 'brook_cluster_unavailable_partitions',
      help: 'Partitions of the cluster without a live leader (Redpanda unavailable_partitions, Kafka OfflinePartitionsCount)',
      registers,
    });
    this.logsOpen = new Gauge({ name: 'brook_partition_logs_open', help: 'Partition logs open now (active partition and group coordinator actors)', registers });
    this.logsOpenMax = new Gauge({ name: 'brook_partition_logs_open_max', help: 'The budget of open partition logs (max.open.partition.logs)', registers });
    this.logsPassivated = new Gauge({ name: 'brook_partition_logs_passivated', help: 'Partitions of this node passivated: log closed until their next request', registers });
    this.fetchCache = new Gauge({
      name: 'brook_fetch_cache',
      help: 'The batch cache answering fetches near the tail on the main thread: hits and misses (fetches since start), evictions (batches), bytes held, max_bytes (its budget), partitions held',
      labelNames: ['stat'],
      registers,
    });
    this.fetchReaders = new Gauge({
      name: 'brook_fetch_readers',
      help: 'The log reader threads answering fetches the batch cache misses: threads (alive), reads (sent to them since start), declined (answered by the partition instead: queue full, failure, timeout), failed',
      labelNames: ['stat'],
      registers,
    });
    this.metadataOffset = new Gauge({ name: 'brook_cluster_metadata_offset', help: 'Metadata log records this node has applied', registers });
    this.mailboxDepth = new Gauge({
      name: 'brook_actor_mailbox_depth',
      help: 'Messages queued for an actor (in flight to it plus waiting on the main thread)',
      labelNames: ['actor', 'kind', 'thread'],
      registers,
    });
    this.restarts = new Gauge({ name: 'brook_actor_restarts_total', help: 'Times the supervisor restarted an actor', labelNames: ['actor', 'kind'], registers });
    this.elu = new Gauge({
      name: 'brook_thread_event_loop_utilization',
      help: `Event-loop utilisation of a worker thread (its share of wall time busy, measured from the main thread) over its last closed window of ${threadStatsWindowMs / 1000} s (0..1)`,
      labelNames: ['thread'],
      registers,
    });
    this.threads = new Gauge({ name: 'brook_worker_threads', help: 'Live worker threads', registers });
    this.loopDelay = new Gauge({
      name: 'brook_thread_event_loop_delay_seconds',
      help: `Event-loop delay of a worker thread over its last closed window of ${threadStatsWindowMs / 1000} s (quantile 0.5, 0.99 and 1 = max)`,
      labelNames: ['thread', 'quantile'],
      registers,
    });
    const group = ['consumergroup', 'topic', 'partition'] as const;
    this.groupLag = new Gauge({ name: 'kafka_consumergroup_lag', help: "High watermark minus the group's committed offset, per partition", labelNames: group, registers });
    this.groupLagSum = new Gauge({
      name: 'kafka_consumergroup_lag_sum',
      help: "Lag of a group summed over a topic's partitions",
      labelNames: ['consumergroup', 'topic'],
      registers,
    });
    this.groupOffset = new Gauge({ name: 'kafka_consumergroup_current_offset', help: 'Offset a group has committed, per partition', labelNames: group, registers });
    this.groupMembers = new Gauge({ name: 'kafka_consumergroup_members', help: 'Members of a consumer group', labelNames: ['consumergroup'], registers });
    this.partitionOffset = new Gauge({
      name: 'kafka_topic_partition_current_offset',
      help: 'High watermark of a partition led by this node',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.walCheckpoints = new Gauge({
      name: 'brook_wal_checkpoints_total',
      help: 'WAL checkpoint work of the checkpointer thread: requests, rounds run, requests dropped (queue full), errors',
      labelNames: ['outcome'],
      registers,
    });
    this.rm = {
      partitionCount: new Gauge({
        name: 'kafka_server_replicamanager_partitioncount',
        help: 'Partition replicas on this node, leader or follower (Kafka ReplicaManager PartitionCount)',
        registers,
      }),
      leaderCount: new Gauge({ name: 'kafka_server_replicamanager_leadercount', help: 'Partitions this node leads (Kafka ReplicaManager LeaderCount)', registers }),
      underReplicated: new Gauge({
        name: 'kafka_server_replicamanager_underreplicatedpartitions',
        help: 'Partitions this node leads whose ISR is smaller than their replica set (Kafka ReplicaManager UnderReplicatedPartitions)',
        registers,
      }),
      underMinIsr: new Gauge({
        name: 'kafka_server_replicamanager_underminisrpartitioncount',
        help: 'Partitions this node leads whose ISR is below min.insync.replicas (at most the replication factor): acks=all produce fails there',
        registers,
      }),
      atMinIsr: new Gauge({
        name: 'kafka_server_replicamanager_atminisrpartitioncount',
        help: 'Partitions this node leads whose ISR is exactly min.insync.replicas (at most the replication factor): one more loss stops acks=all',
        registers,
      }),
      maxLag: new Gauge({
        name: 'kafka_server_replicafetchermanager_maxlag',
        help: 'Most records any partition this node follows is behind its leader (Kafka ReplicaFetcherManager MaxLag)',
        labelNames: ['clientId'],
        registers,
      }),
    };
    this.kc = {
      active: new Gauge({
        name: 'kafka_controller_kafkacontroller_activecontrollercount',
        help: '1 on the node that is the active controller, else 0',
        registers,
      }),
      offline: new Gauge({
        name: 'kafka_controller_kafkacontroller_offlinepartitionscount',
        help: 'On the active controller: partitions without a leader (-1); 0 on the other nodes',
        registers,
      }),
      partitions: new Gauge({
        name: 'kafka_controller_kafkacontroller_globalpartitioncount',
        help: 'On the active controller: partitions in the cluster; 0 on the other nodes',
        registers,
      }),
    };
    const partitionLabels = ['topic', 'partition'] as const;
    this.kafkaPartition = {
      underReplicated: new Gauge({
        name: 'kafka_cluster_partition_underreplicated',
        help: '1 when a partition this node leads has an ISR smaller than its replica set',
        labelNames: partitionLabels,
        registers,
      }),
      isr: new Gauge({ name: 'kafka_cluster_partition_insyncreplicascount', help: 'ISR size of a partition this node leads', labelNames: partitionLabels, registers }),
      replicas: new Gauge({ name: 'kafka_cluster_partition_replicascount', help: 'Replicas of a partition this node leads', labelNames: partitionLabels, registers }),
    };
    this.rpUnderReplicated = new Gauge({
      name: 'redpanda_kafka_under_replicated_replicas',
      help: 'Replicas missing from the ISR, summed over the partitions of a topic this node leads',
      labelNames: ['redpanda_namespace', 'redpanda_topic'],
      registers,
    });
    this.rpUnavailable = new Gauge({
      name: 'redpanda_cluster_unavailable_partitions',
      help: 'On the active controller: partitions without a leader; 0 on the other nodes',
      registers,
    });
    this.partReplicas = new Gauge({
      name: 'brook_partition_replicas',
      help: 'Replicas (replication factor) of a partition this node leads or follows',
      labelNames: partitionLabels,
      registers,
    });
    this.partIsr = new Gauge({ name: 'brook_partition_isr_size', help: 'ISR size of a partition this node leads or follows', labelNames: partitionLabels, registers });
    this.partUnder = new Gauge({
      name: 'brook_partition_under_replicated',
      help: '1 when a partition this node leads or follows has an ISR smaller than its replica set, else 0',
      labelNames: partitionLabels,
      registers,
    });
    this.replicaLag = new Gauge({
      name: 'brook_replica_lag_records',
      help: "Records this node's replica of a partition it follows is behind its leader's log end (as of the last fetch answer)",
      labelNames: partitionLabels,
      registers,
    });
    this.followerLag = new Gauge({
      name: 'brook_partition_follower_lag_records',
      help: "On the leader: a follower's lag behind the leader's log end as of its last fetch, per partition this node leads (while its actor is open)",
      labelNames: [...partitionLabels, 'replica'],
      registers,
    });
    this.partitionOldest = new Gauge({
      name: 'kafka_topic_partition_oldest_offset',
      help: 'Log start offset of a partition led by this node',
      labelNames: ['topic', 'partition'],
      registers,
    });
  }

  async refresh(): Promise<void> {
    this.refreshReplication();
    const { controller } = this.node;
    this.liveNodes.set(controller.liveNodes().length);
    this.isController.set(controller.isActive ? 1 : 0);
    this.controllerId.set(controller.controllerId);
    this.metadataOffset.set(this.node.metadata.appliedEnd);
    const passivation = this.node.supervisor.passivationStats();
    this.logsOpen.set(passivation.active);
    this.logsOpenMax.set(passivation.maxActive);
    this.logsPassivated.set(passivation.passivated);
    const cache = this.node.partitions.batchCache.stats();
    this.fetchCache.set({ stat: 'hits' }, cache.hits);
    this.fetchCache.set({ stat: 'misses' }, cache.misses);
    this.fetchCache.set({ stat: 'evictions' }, cache.evictions);
    this.fetchCache.set({ stat: 'bytes' }, cache.bytes);
    this.fetchCache.set({ stat: 'max_bytes' }, cache.maxBytes);
    this.fetchCache.set({ stat: 'partitions' }, cache.partitions);
    const readers = this.node.partitions.readers.stats();
    this.fetchReaders.set({ stat: 'threads' }, readers.threads);
    this.fetchReaders.set({ stat: 'reads' }, readers.reads);
    this.fetchReaders.set({ stat: 'declined' }, readers.declined);
    this.fetchReaders.set({ stat: 'failed' }, readers.failed);
    this.mailboxDepth.reset();
    this.restarts.reset();
    for (const a of this.node.supervisor.listActors()) {
      this.mailboxDepth.set({ actor: a.id, kind: a.kind, thread: String(a.threadIndex ?? -1) }, a.inFlight + a.waiting);
      this.restarts.set({ actor: a.id, kind: a.kind }, a.restarts);
    }
    const threads = await this.node.supervisor.threads();
    this.elu.reset();
    this.threads.set(threads.length);
    this.loopDelay.reset();
    for (const t of threads) {
      const thread = String(t.stats.threadIndex);
      this.elu.set({ thread }, t.stats.eventLoopUtilization);
      const d = t.stats.eventLoopDelayMs;
      this.loopDelay.set({ thread, quantile: '0.5' }, d.p50 / 1000);
      this.loopDelay.set({ thread, quantile: '0.99' }, d.p99 / 1000);
      this.loopDelay.set({ thread, quantile: '1' }, d.max / 1000);
    }
    const wal = await this.node.walCheckpointer.stats().catch(() => null);
    this.walCheckpoints.reset();
    if (wal) {
      this.walCheckpoints.set({ outcome: 'requested' }, wal.requests);
      this.walCheckpoints.set({ outcome: 'run' }, wal.checkpoints);
      this.walCheckpoints.set({ outcome: 'dropped' }, wal.dropped);
      this.walCheckpoints.set({ outcome: 'error' }, wal.errors);
    }
    await this.refreshOffsets();
  }

  /** Replication from the metadata image and the ReplicaFetcher: no actor is asked. */
  private refreshReplication(): void {
    const { controller, config } = this.node;
    const { image } = controller;
    const c = nodeReplicationCounts(image, config.nodeId);
    this.partitions.set(c.leaderCount);
    this.underReplicated.set(c.underReplicated);
    this.rm.partitionCount.set(c.partitionCount);
    this.rm.leaderCount.set(c.leaderCount);
    this.rm.underReplicated.set(c.underReplicated);
    this.rm.underMinIsr.set(c.underMinIsr);
    this.rm.atMinIsr.set(c.atMinIsr);
    let offline = 0;
    let total = 0;
    for (const t of image.topicsByName.values()) {
      total += t.partitions.length;
      for (const p of t.partitions) if (isOffline(p)) offline++;
    }
    this.offline.set(offline);
    const active = controller.isActive;
    this.kc.active.set(active ? 1 : 0);
    this.kc.offline.set(active ? offline : 0);
    this.kc.partitions.set(active ? total : 0);
    this.rpUnavailable.set(active ? offline : 0);
    this.rpUnderReplicated.reset();
    for (const [topic, n] of c.underReplicatedReplicasByTopic) this.rpUnderReplicated.set({ redpanda_namespace: 'kafka', redpanda_topic: topic }, n);
    for (const g of [this.partReplicas, this.partIsr, this.partUnder, this.kafkaPartition.underReplicated, this.kafkaPartition.isr, this.kafkaPartition.replicas]) g.reset();
    for (const r of c.local) {
      const labels = { topic: r.topic.name, partition: String(r.partition.partition) };
      const under = isUnderReplicated(r.partition) ? 1 : 0;
      this.partReplicas.set(labels, replicationFactorOf(r.partition));
      this.partIsr.set(labels, r.partition.isr.length);
      this.partUnder.set(labels, under);
      if (r.role !== 'leader') continue;
      this.kafkaPartition.underReplicated.set(labels, under);
      this.kafkaPartition.isr.set(labels, r.partition.isr.length);
      this.kafkaPartition.replicas.set(labels, replicationFactorOf(r.partition));
    }
    this.replicaLag.reset();
    let maxLag = 0;
    for (const l of this.node.replicaFetcher.lag()) {
      this.replicaLag.set({ topic: l.topic, partition: String(l.partition) }, l.lagRecords);
      maxLag = Math.max(maxLag, l.lagRecords);
    }
    this.rm.maxLag.set({ clientId: 'Replica' }, maxLag);
  }

  /** Partition offsets and consumer group offsets and lag (on by default, as in kafka_exporter). */
  private async refreshOffsets(): Promise<void> {
    const states = await this.node.partitions.localStates();
    const { image } = this.node.controller;
    const nodeId = this.node.config.nodeId;
    this.partitionOffset.reset();
    this.partitionOldest.reset();
    this.followerLag.reset();
    for (const s of states.values()) {
      const p = image.topicsByName.get(s.topic)?.partitions[s.partition];
      // A follower's replica reports its leader's partition: only the leader's copy is a series here.
      if (p && p.leader !== nodeId) continue;
      const labels = { topic: s.topic, partition: String(s.partition) };
      this.partitionOffset.set(labels, s.highWatermark);
      this.partitionOldest.set(labels, s.logStartOffset);
      for (const f of (p && followersOf(s, p)) ?? []) {
        if (f.lagRecords !== null) this.followerLag.set({ ...labels, replica: String(f.nodeId) }, f.lagRecords);
      }
    }
    // A passivated coordinator has no live group (its members' heartbeats would keep it active):
    // a scrape does not wake it.
    const groups = await listGroupsWithLag(this.node, (id) => this.node.supervisor.summary(id)?.status === 'running').catch(() => []);
    this.groupLag.reset();
    this.groupLagSum.reset();
    this.groupOffset.reset();
    this.groupMembers.reset();
    for (const g of groups) {
      this.groupMembers.set({ consumergroup: g.groupId }, g.members.length);
      const sums = new Map<string, number>();
      for (const o of g.offsets) {
        const labels = { consumergroup: g.groupId, topic: o.topic, partition: String(o.partition) };
        this.groupOffset.set(labels, o.committedOffset);
        if (o.lag === null) continue;
        this.groupLag.set(labels, o.lag);
        sums.set(o.topic, (sums.get(o.topic) ?? 0) + o.lag);
      }
      for (const [topic, lag] of sums) this.groupLagSum.set({ consumergroup: g.groupId, topic }, lag);
    }
  }
}
