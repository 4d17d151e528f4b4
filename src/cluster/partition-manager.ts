/**
 * PartitionManager: keeps this node's replica actors in step with the metadata image. Lives on
 * the main thread; a node view. It applies each MetadataDelta the node's ClusterMetadata yields
 * (from its own controller's writes or from records watched in the store alike): every partition
 * this node holds a replica of has its actor, told its role (SetRole: leader with its ISR and
 * epochs, or follower of a leader), and a follower is fetched for by the ReplicaFetcher; a
 * partition this node no longer holds (a reassignment moved its replica away) has its actor
 * stopped and its log file deleted, a deleted topic's actors stop and its files go, and a config
 * change reaches the running actors. A `__consumer_offsets` partition
 * is a group coordinator where this node leads it and a plain replica where it follows. The
 * controller's caller gets its answer after that.
 *
 * A leader's ISR proposals (IsrChangeProposed, from its actor) go to the controller
 * (AlterPartition); whatever the answer, the actor is then told its role as the image has it.
 *
 * Each partition's start and stop run one after the other, and each re-reads the image when it
 * runs, so a leadership that moves away and back quickly ends where the image says.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { GroupCoordinatorConfig } from '../../actors/group-coordinator/coordinator-actor.js';
import { OFFSETS_TOPIC } from './offsets-topic.js';
import type { GroupCoordinatorSettings } from '../../actors/group-coordinator/messages.js';
import type { IsrChangeProposed, PartitionConfig, ReplicaRole } from '../../actors/partition/messages.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { TopicConfig } from '../storage/topic-config.js';
import type { ClusterMetadata, MetadataDelta } from './cluster-metadata.js';
import type { PartitionClient } from './partition-client.js';
import { effectiveTopicConfig, parseTopicConfig } from './topic-configs.js';
import type { PartitionImage, TopicImage } from './metadata-image.js';
import { partitionActorId } from './routing-table.js';
import type { IsrChange } from './controller-channel.js';
import type { ReplicaFetcher } from './replica-fetcher.js';

/** What the manager needs of the rest of the node for replication. */
export interface ReplicationHooks {
  readonly fetcher: ReplicaFetcher;
  /** The controller's AlterPartition: resolves with an error name, or undefined once applied. */
  readonly alterIsr: (change: IsrChange) => Promise<{ error: string; message: string } | undefined>;
  readonly replicaLagTimeMaxMs: number;
}

export class PartitionManager {
  /** The start or stop under way per actor id; the next one runs after it. */
  private readonly pending = new Map<string, Promise<void>>();
  /** Parsed effective configs per topic; dropped for a topic when its (or the broker's) configs change. */
  private readonly topicConfigs = new WeakMap<TopicImage, TopicConfig>();
  private readonly minIsrs = new WeakMap<TopicImage, number>();

  constructor(
    private readonly supervisor: Supervisor,
    /** How the running actors are told of a config change: the same typed ask as every caller's. */
    private readonly partitions: PartitionClient,
    private readonly metadata: ClusterMetadata,
    private readonly nodeId: number,
    private readonly dataDir: string,
    private readonly durability: 'normal' | 'full',
    private readonly groupSettings: GroupCoordinatorSettings,
    /** Node settings handed to every partition actor it spawns (log.retention.check.interval.ms, the CPU pool's). */
    private readonly actorSettings: Pick<PartitionConfig, 'logRetentionCheckIntervalMs' | 'cpuPool'> = {},
    private readonly replication: ReplicationHooks,
    private readonly log?: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void; info?(obj: object, msg: string): void },
  ) {
    metadata.onDelta((d) => this.apply(d));
    supervisor.onNotify((_actorId, event) => {
      if ((event as Partial<IsrChangeProposed>).type === 'IsrChangeProposed') void this.proposeIsr(event as IsrChangeProposed);
    });
  }

  /** A leader's ISR proposal: to the controller, then the actor hears its role as the image has it. */
  private async proposeIsr(e: IsrChangeProposed): Promise<void> {
    const { topic: name, partition } = e;
    const topic = this.metadata.image.topicsByName.get(name);
    if (!topic) return;
    const failed = await this.replication.alterIsr({
      topicId: topic.topicId,
      partition,
      leaderId: this.nodeId,
      leaderEpoch: e.leaderEpoch,
      partitionEpoch: e.partitionEpoch,
      isr: e.isr,
    });
    if (failed) this.log?.warn({ topic: name, partition, isr: e.isr, error: failed.error, reason: failed.message }, 'ISR change refused');
    const now = this.metadata.image.topicsByName.get(name);
    if (now) await this.reconcile(now, partition);
  }

  /** The directory holding a topic's partition databases; the topic id keeps a re-created topic apart. */
  topicDir(topic: TopicImage): string {
    return join(this.dataDir, 'logs', `${topic.name}.${topic.topicId}`);
  }

  private async apply(d: MetadataDelta): Promise<void> {
    const work: Promise<unknown>[] = [];
    for (const topic of d.deletedTopics) work.push(this.removeTopic(topic));
    for (const c of d.partitions) work.push(this.reconcile(c.topic, c.after.partition));
    const configTopics = new Set<string>();
    for (const c of d.configs) {
      if (c.resourceType === 'topic') configTopics.add(c.resourceName);
      else for (const name of this.metadata.image.topicsByName.keys()) configTopics.add(name);
    }
    if (configTopics.size > 0) work.push(this.pushConfigs([...configTopics]));
    await Promise.all(work);
  }

  /** Runs `op` for an actor id after the one under way; never rejects (a failure is logged). */
  private serialise(id: string, op: () => Promise<void>): Promise<void> {
    const prev = this.pending.get(id);
    const run = (prev ? prev.then(op) : op()).catch((err: unknown) => {
      this.log?.error({ actorId: id, err: err instanceof Error ? err.message : String(err) }, 'partition actor could not be started or stopped');
    });
    this.pending.set(id, run);
    void run.then(() => {
      if (this.pending.get(id) === run) this.pending.delete(id);
    });
    return run;
  }

  /**
   * Starts or stops a partition's actor to match the image as it is when this runs: started
   * where this node leads it, stopped where it does not. A start with nothing under way begins
   * in this turn, so routing and the actor change together.
   */
  private reconcile(topic: TopicImage, partition: number): Promise<void> {
    const id = partitionActorId(topic.name, partition);
    return this.serialise(id, async () => {
      const current = this.metadata.image.topicsById.get(topic.topicId);
      const now = current?.partitions[partition];
      const fetcher = this.replication.fetcher;
      if (!current || !now || !now.replicas.includes(this.nodeId)) {
        fetcher.unfollow(topic.topicId, partition);
        this.partitions.batchCache.forget(topic.topicId, partition);
        if (this.supervisor.has(id)) await this.supervisor.stop(id, now ? `this node no longer holds a replica (replicas ${now.replicas.join(',')})` : 'partition removed');
        // A replica moved away (also while this node was down): its log is of no more use here.
        if (current && now) this.removeReplicaFiles(current, partition, now.replicas);
        return;
      }
      const leading = now.leader === this.nodeId;
      if (!leading) this.partitions.batchCache.forget(topic.topicId, partition);
      // A __consumer_offsets replica coordinates its groups only while it leads.
      const kind = current.name === OFFSETS_TOPIC && leading ? 'group-coordinator' : 'partition';
      const running = this.supervisor.summary(id);
      if (running && running.kind !== kind) await this.supervisor.stop(id, leading ? 'became leader of its offsets partition' : 'no longer leads its offsets partition');
      const config = this.partitionConfig(current, now);
      if (!this.supervisor.has(id)) await this.spawn(current, now, config);
      else {
        this.supervisor.updateConfig(id, kind === 'group-coordinator' ? { ...config, groups: this.groupSettings } : config);
        // A passivated replica hears its role from its config when it next opens.
        if (this.supervisor.summary(id)?.status !== 'passivated') {
          const r = await this.partitions.ask(this.partitions.replicaRoute(current, partition), { type: 'SetRole', replication: config.replication! });
          if (!r.ok) this.log?.warn({ actorId: id, error: r.code, reason: r.message }, 'replica did not take its role');
        }
      }
      if (leading || now.leader < 0) fetcher.unfollow(topic.topicId, partition);
      else fetcher.follow(current, partition, now.leader, now.leaderEpoch);
    });
  }

  /**
   * Deletes the log of a partition this node no longer holds a replica of (after its actor
   * stopped): `<topicDir>/<n>.db` with its -wal and -shm. The topic's directory stays: another
   * partition of the topic may be starting in it.
   */
  private removeReplicaFiles(topic: TopicImage, partition: number, replicas: readonly number[]): void {
    const db = join(this.topicDir(topic), `${partition}.db`);
    const files = [db, `${db}-wal`, `${db}-shm`].filter((f) => existsSync(f));
    if (files.length === 0) return;
    try {
      for (const f of files) rmSync(f, { force: true });
      this.log?.info?.({ topic: topic.name, partition, replicas, path: db }, 'deleted the log of a replica this node no longer holds');
    } catch (err) {
      this.log?.warn({ topic: topic.name, partition, path: db, err: (err as Error).message }, 'could not delete the log of a removed replica');
    }
  }

  /** The role the image gives this node's replica of a partition. */
  private roleOf(topic: TopicImage, p: PartitionImage): ReplicaRole {
    if (p.leader !== this.nodeId) return { role: 'follower', nodeId: this.nodeId, leader: p.leader, leaderEpoch: p.leaderEpoch };
    return {
      role: 'leader',
      nodeId: this.nodeId,
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch,
      replicas: p.replicas,
      isr: p.isr,
      minInsyncReplicas: this.minIsr(topic),
      replicaLagTimeMaxMs: this.replication.replicaLagTimeMaxMs,
    };
  }

  private minIsr(topic: TopicImage): number {
    let n = this.minIsrs.get(topic);
    if (n === undefined) {
      n = Number(effectiveTopicConfig(this.metadata.image, topic.name, this.nodeId)['min.insync.replicas'] ?? 1);
      if (!Number.isInteger(n) || n < 1) n = 1;
      this.minIsrs.set(topic, n);
    }
    return n;
  }

  private async removeTopic(topic: TopicImage): Promise<void> {
    for (const p of topic.partitions) {
      this.partitions.batchCache.forget(topic.topicId, p.partition);
      this.replication.fetcher.unfollow(topic.topicId, p.partition);
    }
    await Promise.all(
      topic.partitions.map((p) =>
        this.serialise(partitionActorId(topic.name, p.partition), () => this.supervisor.stop(partitionActorId(topic.name, p.partition), 'topic deleted')),
      ),
    );
    rmSync(this.topicDir(topic), { recursive: true, force: true });
  }

  /**
   * Tells every local partition of these topics its new effective configs, and records them with
   * the supervisor so a restart or a move keeps them.
   */
  private async pushConfigs(topicNames: readonly string[]): Promise<void> {
    const work: Promise<unknown>[] = [];
    for (const name of topicNames) {
      const topic = this.metadata.image.topicsByName.get(name);
      if (!topic) continue;
      this.topicConfigs.delete(topic);
      const minIsrBefore = this.minIsrs.get(topic);
      this.minIsrs.delete(topic);
      const topicConfig = this.topicConfig(topic);
      for (const p of topic.partitions) {
        const id = partitionActorId(topic.name, p.partition);
        if (!this.supervisor.has(id)) continue;
        // A leader's role carries min.insync.replicas.
        if (p.leader === this.nodeId && minIsrBefore !== this.minIsr(topic)) work.push(this.reconcile(topic, p.partition));
        const config = this.partitionConfig(topic, p, topicConfig);
        this.supervisor.updateConfig(id, topic.name === OFFSETS_TOPIC ? { ...config, groups: this.groupSettings } : config);
        // A passivated partition gets it from its config when it next opens: not woken for it.
        if (this.supervisor.summary(id)?.status === 'passivated') continue;
        // A partition that cannot take it now (restarting) gets it from its config when it starts.
        work.push(this.partitions.askByName(topic.name, p.partition, { type: 'SetTopicConfig', config: topicConfig }));
      }
    }
    await Promise.all(work);
  }

  /** A topic's effective config, parsed once and shared by its partitions' configs (a topic may have thousands). */
  private topicConfig(topic: TopicImage): TopicConfig {
    let config = this.topicConfigs.get(topic);
    if (!config) this.topicConfigs.set(topic, (config = parseTopicConfig(effectiveTopicConfig(this.metadata.image, topic.name, this.nodeId))));
    return config;
  }

  private partitionConfig(topic: TopicImage, p: PartitionImage, topicConfig = this.topicConfig(topic)): PartitionConfig {
    // The batch cache's shared state, the same for every config of this partition (restarts, moves, config changes).
    const path = join(this.topicDir(topic), `${p.partition}.db`);
    const cacheState = topic.name === OFFSETS_TOPIC ? undefined : this.partitions.batchCache.stateFor(topic.topicId, p.partition, path);
    return {
      topic: topic.name,
      partition: p.partition,
      path,
      durability: this.durability,
      ...this.actorSettings,
      topicConfig,
      ...(cacheState ? { cacheState } : {}),
      replication: this.roleOf(topic, p),
    };
  }

  private async spawn(topic: TopicImage, p: PartitionImage, config: PartitionConfig): Promise<void> {
    const id = partitionActorId(topic.name, p.partition);
    if (this.supervisor.has(id)) return;
    // A __consumer_offsets partition is owned by the group coordinator of the groups stored in
    // it, under the same actor id: it answers partition messages as a partition actor does.
    // Registered passivated: the log opens on the first request (or maintenance wake), so a
    // restart or a topic with many partitions opens nothing up front. A log that exists is woken
    // once soon for its retention; a new one has nothing to retain yet.
    const lazy = { lazy: true, firstWake: existsSync(config.path) };
    if (topic.name === OFFSETS_TOPIC && p.leader === this.nodeId) {
      const coordinator: GroupCoordinatorConfig = { ...config, groups: this.groupSettings };
      await this.supervisor.spawn(id, 'group-coordinator', coordinator, undefined, lazy);
      return;
    }
    await this.supervisor.spawn(id, 'partition', config, undefined, lazy);
  }
}
