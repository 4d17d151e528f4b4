/**
 * PartitionManager: keeps this node's partition actors in step with the metadata image. Lives
 * on the main thread; a node view. It applies each MetadataDelta the node's ClusterMetadata
 * yields (from its own controller's writes or from records watched in the store alike): a
 * partition this node now leads gets its actor, one it no longer leads has its actor stopped
 * (its files stay: it is still a replica), a deleted topic's actors stop and its files go, and a
 * config change reaches the running actors. The controller's caller gets its answer after that.
 *
 * Each partition's start and stop run one after the other, and each re-reads the image when it
 * runs, so a leadership that moves away and back quickly ends where the image says.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { GroupCoordinatorConfig } from '../../actors/group-coordinator/coordinator-actor.js';
import { OFFSETS_TOPIC } from './offsets-topic.js';
import type { GroupCoordinatorSettings } from '../../actors/group-coordinator/messages.js';
import type { PartitionConfig } from '../../actors/partition/messages.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { TopicConfig } from '../storage/topic-config.js';
import type { ClusterMetadata, MetadataDelta } from './cluster-metadata.js';
import type { PartitionClient } from './partition-client.js';
import { effectiveTopicConfig, parseTopicConfig } from './topic-configs.js';
import type { PartitionImage, TopicImage } from './metadata-image.js';
import { partitionActorId } from './routing-table.js';

export class PartitionManager {
  /** The start or stop under way per actor id; the next one runs after it. */
  private readonly pending = new Map<string, Promise<void>>();
  /** Parsed effective configs per topic; dropped for a topic when its (or the broker's) configs change. */
  private readonly topicConfigs = new WeakMap<TopicImage, TopicConfig>();

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
    private readonly log?: { error(obj: object, msg: string): void },
  ) {
    metadata.onDelta((d) => this.apply(d));
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
    return this.serialise(id, () => {
      const now = this.metadata.image.topicsById.get(topic.topicId)?.partitions[partition];
      if (now && now.leader === this.nodeId) return this.supervisor.has(id) ? Promise.resolve() : this.spawn(topic, now);
      this.partitions.batchCache.forget(topic.topicId, partition);
      return this.supervisor.has(id) ? this.supervisor.stop(id, now ? `leadership moved to node ${now.leader}` : 'partition removed') : Promise.resolve();
    });
  }

  private async removeTopic(topic: TopicImage): Promise<void> {
    for (const p of topic.partitions) this.partitions.batchCache.forget(topic.topicId, p.partition);
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
      const topicConfig = this.topicConfig(topic);
      for (const p of topic.partitions) {
        const id = partitionActorId(topic.name, p.partition);
        if (!this.supervisor.has(id)) continue;
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
    const cacheState = topic.name === OFFSETS_TOPIC ? undefined : this.partitions.batchCache.stateFor(topic.topicId, p.partition);
    return {
      topic: topic.name,
      partition: p.partition,
      path: join(this.topicDir(topic), `${p.partition}.db`),
      durability: this.durability,
      ...this.actorSettings,
      topicConfig,
      ...(cacheState ? { cacheState } : {}),
    };
  }

  private async spawn(topic: TopicImage, p: PartitionImage): Promise<void> {
    if (p.leader !== this.nodeId) return;
    const id = partitionActorId(topic.name, p.partition);
    if (this.supervisor.has(id)) return;
    const config = this.partitionConfig(topic, p);
    // A __consumer_offsets partition is owned by the group coordinator of the groups stored in
    // it, under the same actor id: it answers partition messages as a partition actor does.
    // Registered passivated: the log opens on the first request (or maintenance wake), so a
    // restart or a topic with many partitions opens nothing up front. A log that exists is woken
    // once soon for its retention; a new one has nothing to retain yet.
    const lazy = { lazy: true, firstWake: existsSync(config.path) };
    if (topic.name === OFFSETS_TOPIC) {
      const coordinator: GroupCoordinatorConfig = { ...config, groups: this.groupSettings };
      await this.supervisor.spawn(id, 'group-coordinator', coordinator, undefined, lazy);
      return;
    }
    await this.supervisor.spawn(id, 'partition', config, undefined, lazy);
  }
}
