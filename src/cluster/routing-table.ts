/**
 * RoutingTable: topic-partition -> the address of the actor that leads it. Lives on the main
 * thread and reads the metadata image, so it is current as soon as a change is applied. A
 * partition it cannot route becomes a Kafka error name at once, never a wait. Callers route
 * through PartitionClient and GroupCoordinatorClient, which ask the address they get here.
 */
import type { PartitionProtocol } from '../../actors/partition/messages.js';
import type { ActorAddress } from '../runtime/protocol.js';
import type { MetadataImage, PartitionImage, TopicImage } from './metadata-image.js';

export type PartitionAddress = ActorAddress<PartitionProtocol>;

export type Route =
  | { readonly ok: true; readonly address: PartitionAddress; readonly topic: TopicImage; readonly partition: PartitionImage }
  | { readonly ok: false; readonly error: 'UNKNOWN_TOPIC_OR_PARTITION' | 'NOT_LEADER_OR_FOLLOWER' | 'LEADER_NOT_AVAILABLE' | 'UNKNOWN_TOPIC_ID' };

export function partitionActorId(topic: string, partition: number): string {
  return `partition:${topic}:${partition}`;
}

export class RoutingTable {
  constructor(
    private readonly image: MetadataImage,
    private readonly nodeId: number,
  ) {}

  /** The leader actor of a partition on this node, or why there is none. */
  leader(topicName: string, partition: number): Route {
    const topic = this.image.topicsByName.get(topicName);
    return this.leaderOf(topic, partition);
  }

  leaderById(topicId: string, partition: number): Route {
    const topic = this.image.topicsById.get(topicId);
    if (!topic) return { ok: false, error: 'UNKNOWN_TOPIC_ID' };
    return this.leaderOf(topic, partition);
  }

  /**
   * Where a consumer may read a partition on this node (KIP-392): its leader here, else this
   * node's follower replica (which serves what it has below its own high watermark), else the
   * leader's routing error.
   */
  reader(topicName: string, topicId: string, partition: number, byId: boolean): Route {
    const topic = byId ? this.image.topicsById.get(topicId) : this.image.topicsByName.get(topicName);
    if (byId && !topic) return { ok: false, error: 'UNKNOWN_TOPIC_ID' };
    const leader = this.leaderOf(topic, partition);
    if (leader.ok || leader.error !== 'NOT_LEADER_OR_FOLLOWER') return leader;
    const replica = this.replica(topic, partition);
    return replica.ok ? replica : leader;
  }

  /**
   * This node's replica of a partition, leader or follower (replication's own asks, and
   * follower fetching): NOT_LEADER_OR_FOLLOWER when this node holds no replica of it.
   */
  replica(topic: TopicImage | undefined, partition: number): Route {
    const p = topic?.partitions[partition];
    if (!topic || !p) return { ok: false, error: 'UNKNOWN_TOPIC_OR_PARTITION' };
    if (!p.replicas.includes(this.nodeId)) return { ok: false, error: 'NOT_LEADER_OR_FOLLOWER' };
    return { ok: true, address: { nodeId: this.nodeId, actorId: partitionActorId(topic.name, partition) }, topic, partition: p };
  }

  private leaderOf(topic: TopicImage | undefined, partition: number): Route {
    const p = topic?.partitions[partition];
    if (!topic || !p) return { ok: false, error: 'UNKNOWN_TOPIC_OR_PARTITION' };
    // Offline (its only in-sync replicas are down): clients retry until a leader returns.
    if (p.leader < 0) return { ok: false, error: 'LEADER_NOT_AVAILABLE' };
    // Clients reach a leader on another node directly: they refresh metadata and go there.
    if (p.leader !== this.nodeId) return { ok: false, error: 'NOT_LEADER_OR_FOLLOWER' };
    return { ok: true, address: { nodeId: p.leader, actorId: partitionActorId(topic.name, partition) }, topic, partition: p };
  }
}
