/**
 * Replication as the console, the HTTP API and /metrics see it (main thread), read from what a
 * node already has, so nothing here costs a produce or fetch anything:
 *
 * - the metadata image (on every node): each partition's replicas, ISR, leader and epochs, so
 *   under-replicated (ISR smaller than the replica set) and offline (no leader, -1) partitions;
 * - the leader's partition actor (its inspect state's `replication`, actors/partition/replication.ts
 *   `describe()`): each follower's log end, lag in records and when it last caught up;
 * - the node's ReplicaFetcher (`lag()`): how far each partition this node follows is behind its
 *   leader's log end.
 */
import type { PartitionState } from '../../actors/partition/messages.js';
import type { MetadataImage, PartitionImage, TopicImage } from '../cluster/metadata-image.js';
import { effectiveTopicConfig } from '../cluster/topic-configs.js';

/** What the views read of the node's ReplicaFetcher (BrookNode's `replicaFetcher`). */
export interface ReplicaLagSource {
  lag(): readonly { readonly topic: string; readonly partition: number; readonly leader: number; readonly lagRecords: number }[];
}

/** One follower's progress as its leader sees it. */
export interface FollowerView {
  readonly nodeId: number;
  readonly inIsr: boolean;
  /** The follower's log end as of its last fetch (-1 before its first fetch in this epoch). */
  readonly logEndOffset: number;
  /** The leader's log end minus the follower's; null before its first fetch. */
  readonly lagRecords: number | null;
  /** Wall-clock ms when it was last caught up with the leader's log end (Kafka's lastCaughtUpTimeMs). */
  readonly lastCaughtUpMs: number | null;
}

/** A reassignment's joining and leaving replicas, where the image has them (KIP-455); [] otherwise. */
function reassignment(p: PartitionImage): { adding: readonly number[]; removing: readonly number[] } {
  const r = p as { addingReplicas?: readonly number[]; removingReplicas?: readonly number[] };
  return { adding: r.addingReplicas ?? [], removing: r.removingReplicas ?? [] };
}

/**
 * The replication factor the ISR is held against: as Kafka's OngoingReassignmentState, replicas a
 * reassignment is still adding do not count until they join.
 */
export function replicationFactorOf(p: PartitionImage): number {
  const { adding } = reassignment(p);
  return adding.length === 0 ? p.replicas.length : p.replicas.filter((r) => !adding.includes(r)).length;
}

export const isUnderReplicated = (p: PartitionImage): boolean => p.isr.length < replicationFactorOf(p);
export const isOffline = (p: PartitionImage): boolean => p.leader < 0;

/** The role this node's replica of `p` has by the image: leader, follower, or none (it holds no replica). */
export function localRole(p: PartitionImage, nodeId: number): 'leader' | 'follower' | null {
  if (p.leader === nodeId) return 'leader';
  return p.replicas.includes(nodeId) ? 'follower' : null;
}

/**
 * Each follower's progress from a leader's inspect state (its `replication.followers`); null when
 * the state is missing (the actor is passivated or on another node) or not a leader's.
 */
export function followersOf(state: PartitionState | undefined, p: PartitionImage): FollowerView[] | null {
  const r = state?.replication;
  if (r === null || typeof r !== 'object') return null;
  const role = (r as { role?: unknown }).role;
  if (role === null || typeof role !== 'object' || (role as { role?: unknown }).role !== 'leader') return null;
  const followers = (r as { followers?: unknown }).followers;
  if (followers === null || typeof followers !== 'object') return null;
  const out: FollowerView[] = [];
  for (const [id, f] of Object.entries(followers as Record<string, unknown>)) {
    if (f === null || typeof f !== 'object') continue;
    const g = f as { leo?: unknown; lagRecords?: unknown; lastCaughtUpMs?: unknown };
    const nodeId = Number(id);
    out.push({
      nodeId,
      inIsr: p.isr.includes(nodeId),
      logEndOffset: typeof g.leo === 'number' ? g.leo : -1,
      lagRecords: typeof g.lagRecords === 'number' ? g.lagRecords : null,
      lastCaughtUpMs: typeof g.lastCaughtUpMs === 'number' ? g.lastCaughtUpMs : null,
    });
  }
  return out.sort((a, b) => a.nodeId - b.nodeId);
}

/** The fetcher's lag of each partition this node follows, keyed `topic:partition`. */
export function fetcherLag(source: ReplicaLagSource | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of source?.lag() ?? []) out.set(`${l.topic}:${l.partition}`, l.lagRecords);
  return out;
}

/** One partition's replication fields of the topic and placement views. */
export function partitionReplication(p: PartitionImage) {
  const { adding, removing } = reassignment(p);
  return {
    leader: p.leader,
    leaderEpoch: p.leaderEpoch,
    partitionEpoch: p.partitionEpoch,
    replicas: p.replicas,
    isr: p.isr,
    addingReplicas: adding,
    removingReplicas: removing,
    underReplicated: isUnderReplicated(p),
    offline: isOffline(p),
  };
}

/** Counts over the whole image: what the Cluster page and the controller's metrics show. */
export function clusterReplicationCounts(image: MetadataImage): { partitions: number; underReplicated: number; offline: number } {
  let partitions = 0;
  let underReplicated = 0;
  let offline = 0;
  for (const t of image.topicsByName.values()) {
    for (const p of t.partitions) {
      partitions++;
      if (isUnderReplicated(p)) underReplicated++;
      if (isOffline(p)) offline++;
    }
  }
  return { partitions, underReplicated, offline };
}

/** A partition this node holds a replica of, for the per-partition metrics. */
export interface LocalReplica {
  readonly topic: TopicImage;
  readonly partition: PartitionImage;
  readonly role: 'leader' | 'follower';
}

/** This node's share of the image, as Kafka's ReplicaManager counts it. */
export interface NodeReplicationCounts {
  /** Replicas on this node, leader or follower (Kafka's PartitionCount). */
  readonly partitionCount: number;
  /** Partitions this node leads (LeaderCount). */
  readonly leaderCount: number;
  /** Partitions this node leads whose ISR is smaller than their replica set (UnderReplicatedPartitions). */
  readonly underReplicated: number;
  /** Partitions this node leads whose ISR is below min.insync.replicas (UnderMinIsrPartitionCount). */
  readonly underMinIsr: number;
  /** Partitions this node leads whose ISR is exactly min.insync.replicas (AtMinIsrPartitionCount). */
  readonly atMinIsr: number;
  /** Per topic: replicas missing from the ISR, summed over the partitions this node leads (Redpanda's under_replicated_replicas). */
  readonly underReplicatedReplicasByTopic: ReadonlyMap<string, number>;
  /** Every partition this node holds a replica of. */
  readonly local: readonly LocalReplica[];
}

export function nodeReplicationCounts(image: MetadataImage, nodeId: number): NodeReplicationCounts {
  let partitionCount = 0;
  let leaderCount = 0;
  let underReplicated = 0;
  let underMinIsr = 0;
  let atMinIsr = 0;
  const byTopic = new Map<string, number>();
  const local: LocalReplica[] = [];
  for (const t of image.topicsByName.values()) {
    let minIsr: number | undefined;
    for (const p of t.partitions) {
      const role = localRole(p, nodeId);
      if (role === null) continue;
      partitionCount++;
      local.push({ topic: t, partition: p, role });
      if (role !== 'leader') continue;
      leaderCount++;
      const missing = Math.max(0, replicationFactorOf(p) - p.isr.length);
      byTopic.set(t.name, (byTopic.get(t.name) ?? 0) + missing);
      if (missing > 0) underReplicated++;
      // Resolved once per topic, only for topics this node leads something of.
      minIsr ??= Number(effectiveTopicConfig(image, t.name, nodeId)['min.insync.replicas'] ?? 1) || 1;
      // As Kafka's effectiveMinIsr: min.insync.replicas, at most the replication factor.
      const effective = Math.min(minIsr, replicationFactorOf(p));
      if (p.isr.length < effective) underMinIsr++;
      else if (p.isr.length === effective) atMinIsr++;
    }
  }
  return { partitionCount, leaderCount, underReplicated, underMinIsr, atMinIsr, underReplicatedReplicasByTopic: byTopic, local };
}
