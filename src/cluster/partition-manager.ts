/**
 * PartitionManager: keeps this node's partition actors in step with the metadata image. Lives
 * on the main thread; a node view. At start it spawns an actor for every partition this node
 * leads; afterwards it reacts to controller changes (new partitions spawn, a deleted topic's
 * actors stop and their files are removed) before the controller's caller gets its answer.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { GroupCoordinatorConfig } from '../../actors/group-coordinator/coordinator-actor.js';
import { OFFSETS_TOPIC } from './offsets-topic.js';
import type { GroupCoordinatorSettings } from '../../actors/group-coordinator/messages.js';
import type { PartitionConfig } from '../../actors/partition/messages.js';
import type { Supervisor } from '../runtime/supervisor.js';
import type { TopicConfig } from '../storage/topic-config.js';
import type { Controller, MetadataChange } from './controller.js';
import type { PartitionClient } from './partition-client.js';
import { effectiveTopicConfig, parseTopicConfig } from './topic-configs.js';
import type { PartitionImage, TopicImage } from './metadata-image.js';
import { partitionActorId } from './routing-table.js';

export class PartitionManager {
  constructor(
    private readonly supervisor: Supervisor,
    /** How the running actors are told of a config change: the same typed ask as every caller's. */
    private readonly partitions: PartitionClient,
    private readonly controller: Controller,
    private readonly nodeId: number,
    private readonly dataDir: string,
    private readonly durability: 'normal' | 'full',
    private readonly groupSettings: GroupCoordinatorSettings,
    /** Node settings handed to every partition actor it spawns (log.retention.check.interval.ms, the CPU pool's). */
    private readonly actorSettings: Pick<PartitionConfig, 'logRetentionCheckIntervalMs' | 'cpuPool'> = {},
  ) {
    controller.onChange((c) => this.apply(c));
  }

  /** Spawns every partition this node leads, as the image says after replay. */
  async startAll(): Promise<void> {
    const work: Promise<void>[] = [];
    for (const topic of this.controller.image.topicsByName.values()) {
      for (const p of topic.partitions) work.push(this.spawn(topic, p));
    }
    await Promise.all(work);
  }

  /** The directory holding a topic's partition databases; the topic id keeps a re-created topic apart. */
  topicDir(topic: TopicImage): string {
    return join(this.dataDir, 'logs', `${topic.name}.${topic.topicId}`);
  }

  private async apply(c: MetadataChange): Promise<void> {
    switch (c.type) {
      case 'partitionsCreated':
        await Promise.all(c.partitions.map((p) => this.spawn(c.topic, p)));
        return;
      case 'topicDeleted':
        await Promise.all(c.topic.partitions.map((p) => this.supervisor.stop(partitionActorId(c.topic.name, p.partition), 'topic deleted')));
        rmSync(this.topicDir(c.topic), { recursive: true, force: true });
        return;
      case 'configChanged':
        await this.pushConfigs(c.resourceType === 'topic' ? [c.resourceName] : [...this.controller.image.topicsByName.keys()]);
        return;
      default: {
        const never: never = c;
        throw new Error(`unknown metadata change ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * Tells every local partition of these topics its new effective configs, and records them with
   * the supervisor so a restart or a move keeps them.
   */
  private async pushConfigs(topicNames: readonly string[]): Promise<void> {
    const work: Promise<unknown>[] = [];
    for (const name of topicNames) {
      const topic = this.controller.image.topicsByName.get(name);
      if (!topic) continue;
      for (const p of topic.partitions) {
        const id = partitionActorId(topic.name, p.partition);
        if (!this.supervisor.has(id)) continue;
        const topicConfig = this.topicConfig(topic);
        const config = this.partitionConfig(topic, p, topicConfig);
        this.supervisor.updateConfig(id, topic.name === OFFSETS_TOPIC ? { ...config, groups: this.groupSettings } : config);
        // A partition that cannot take it now (restarting) gets it from its config when it starts.
        work.push(this.partitions.askByName(topic.name, p.partition, { type: 'SetTopicConfig', config: topicConfig }));
      }
    }
    await Promise.all(work);
  }

  private topicConfig(topic: TopicImage): TopicConfig {
    return parseTopicConfig(effectiveTopicConfig(this.controller.image, topic.name, this.nodeId));
  }

  private partitionConfig(topic: TopicImage, p: PartitionImage, topicConfig = this.topicConfig(topic)): PartitionConfig {
    return {
      topic: topic.name,
      partition: p.partition,
      path: join(this.topicDir(topic), `${p.partition}.db`),
      durability: this.durability,
      ...this.actorSettings,
      topicConfig,
    };
  }

  private async spawn(topic: TopicImage, p: PartitionImage): Promise<void> {
    if (p.leader !== this.nodeId) return;
    const id = partitionActorId(topic.name, p.partition);
    if (this.supervisor.has(id)) return;
    const config = this.partitionConfig(topic, p);
    // A __consumer_offsets partition is owned by the group coordinator of the groups stored in
    // it, under the same actor id: it answers partition messages as a partition actor does.
    if (topic.name === OFFSETS_TOPIC) {
      const coordinator: GroupCoordinatorConfig = { ...config, groups: this.groupSettings };
      await this.supervisor.spawn(id, 'group-coordinator', coordinator);
      return;
    }
    await this.supervisor.spawn(id, 'partition', config);
  }
}
