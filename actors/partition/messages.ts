/**
 * The partition actor's protocol: every message it answers, each paired with its reply type
 * (src/runtime/protocol.ts), answered by one dispatch table in partition-actor.ts. Commands are
 * imperative (`Append`), queries are `GetX`, notifications are past tense
 * (`HighWatermarkAdvanced`). Sent between the main thread and the partition actors' worker
 * threads; the main thread asks through `PartitionClient` (src/cluster/partition-client.ts).
 */
import type { MessageOf } from '../../src/runtime/protocol.js';
import type { FailurePointName } from '../../src/storage/failure-points.js';
import type { TopicConfig } from '../../src/storage/topic-config.js';
import type { CpuPoolSettings } from '../../src/compression/limits.js';
import type { CpuPoolStats } from '../../src/compression/cpu-pool.js';

export type PartitionProtocol = {
  /**
   * Appends a produce request's record batches (one or more v2 batches, as the client sent them).
   * With `acks` -1, refused with NOT_ENOUGH_REPLICAS while the ISR is smaller than
   * min.insync.replicas; the caller then waits for the high watermark (PartitionClient.waitForCommit).
   */
  Append: { request: { readonly records: Uint8Array; readonly acks?: number }; reply: Appended };
  /** Reads stored batches from `fetchOffset`, whole batches up to `maxBytes` (always at least one). */
  Read: { request: { readonly fetchOffset: number; readonly maxBytes: number }; reply: ReadResult };
  GetOffsets: { request: {}; reply: PartitionOffsets };
  /** The first offset whose timestamp is at or after `timestampMs` (ListOffsets); null when none is. */
  GetOffsetForTimestamp: { request: { readonly timestampMs: number }; reply: TimestampOffset | null };
  /** The offset of the record with the largest timestamp (ListOffsets -3); null for an empty log. */
  GetMaxTimestampOffset: { request: {}; reply: TimestampOffset | null };
  DeleteRecordsBefore: { request: { readonly offset: number }; reply: RecordsDeleted };
  TruncateTo: { request: { readonly offset: number }; reply: PartitionOffsets };
  SetLeaderEpoch: { request: { readonly leaderEpoch: number }; reply: PartitionOffsets };
  /** The topic's effective configs changed (retention, compaction, timestamps, compression). */
  SetTopicConfig: { request: { readonly config: TopicConfig }; reply: PartitionOffsets };
  /** Arms (or disarms) a named storage failure point for the next `times` operations. */
  SetFailurePoint: {
    request: { readonly point: FailurePointName; readonly enabled: boolean; readonly times?: number };
    reply: FailurePointsArmed;
  };
  /** This replica's role and, for a leader, its ISR, from the metadata image (the PartitionManager sends every change). */
  SetRole: { request: { readonly replication: ReplicaRole }; reply: ReplicaStatus };
  /**
   * A follower's fetch, on its leader (Kafka's Fetch with a replica id): records from
   * `fetchOffset` up to the log end, the follower's progress noted for the ISR and the high
   * watermark. With `lastFetchedEpoch`, a follower whose log diverged from the leader's gets the
   * epoch and end offset to truncate to instead of records (KIP-595's diverging epoch).
   */
  ReplicaFetch: {
    request: {
      readonly replicaId: number;
      readonly fetchOffset: number;
      readonly lastFetchedEpoch: number;
      readonly currentLeaderEpoch: number;
      readonly maxBytes: number;
    };
    reply: ReplicaFetched;
  };
  /**
   * On a follower: the leader's batches, appended unchanged, and the leader's high watermark and
   * log start. Each of the follower's messages names the leader epoch it fetched in; one from
   * another epoch than the follower's role is refused (FENCED_LEADER_EPOCH), so an answer from a
   * deposed leader that arrives late is never applied.
   */
  AppendReplica: {
    request: { readonly leaderEpoch: number; readonly records: Uint8Array; readonly leaderHighWatermark: number; readonly leaderLogStartOffset: number };
    reply: ReplicaStatus;
  };
  /** On a follower: the leader reported its log diverges; truncate to where the two agree (by leader epoch). */
  TruncateOnDivergence: { request: { readonly leaderEpoch: number; readonly epoch: number; readonly endOffset: number }; reply: ReplicaStatus };
  /** On a follower behind the leader's log start: empty the log and start it at `offset`. */
  ResetTo: { request: { readonly leaderEpoch: number; readonly offset: number }; reply: ReplicaStatus };
  /** This replica's offsets and latest leader epoch. */
  GetReplicaStatus: { request: {}; reply: ReplicaStatus };
  /** OffsetForLeaderEpoch: where `leaderEpoch` ends in this (leader's) log; `currentLeaderEpoch` -1 skips the fencing check. */
  GetEpochEndOffset: { request: { readonly leaderEpoch: number; readonly currentLeaderEpoch: number }; reply: EpochEndOffset };
  /** Internal: a leader's periodic check of its followers (ISR shrink after replica.lag.time.max.ms). */
  CheckReplicas: { request: {}; reply: void; internal: true };
  /**
   * A passivated partition woken for its maintenance (by the supervisor, when the time the actor
   * gave at passivation comes): a retention check now, then a compaction step.
   */
  Maintain: { request: {}; reply: void };
  /**
   * Internal: one bounded step of log maintenance (retention when due, then compaction), which
   * the actor schedules to itself (see partition-actor.ts). Never asked from outside.
   */
  RunMaintenance: { request: {}; reply: void; internal: true };
};

/** Every message a partition actor receives: the protocol's requests, each with its `type`. */
export type PartitionMessage = MessageOf<PartitionProtocol>;

/** The answer to DeleteRecordsBefore: where the log now starts. */
export interface RecordsDeleted {
  readonly logStartOffset: number;
}

/** The answer to SetFailurePoint: every failure point now armed. */
export interface FailurePointsArmed {
  readonly armed: readonly string[];
}

export interface Appended {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
  readonly duplicate: boolean;
  /**
   * The batches as stored (base offset assigned), for the main thread's batch cache
   * (src/cluster/batch-cache.ts): only when the actor has a cache state and the topic is not
   * compacted, transferred back with the reply.
   */
  readonly stored?: Uint8Array;
  /** The cache epoch the append was made in (src/cluster/batch-cache-state.ts). */
  readonly cacheEpoch?: number;
  /** The leader epoch it was appended in: acks=all is answered once the high watermark passes it in this epoch. */
  readonly leaderEpoch: number;
}

/**
 * A replica's role, from the metadata image. A leader knows its replicas and committed ISR and
 * the epochs an ISR change must name; a follower knows its leader. Absent on a single node,
 * where the partition leads alone and its high watermark follows its log end.
 */
export type ReplicaRole =
  | {
      readonly role: 'leader';
      readonly nodeId: number;
      readonly leaderEpoch: number;
      readonly partitionEpoch: number;
      readonly replicas: readonly number[];
      readonly isr: readonly number[];
      /** The topic's min.insync.replicas: acks=all needs an ISR at least this large. */
      readonly minInsyncReplicas: number;
      /** replica.lag.time.max.ms: a follower not caught up for this long leaves the ISR. */
      readonly replicaLagTimeMaxMs: number;
    }
  | { readonly role: 'follower'; readonly nodeId: number; readonly leader: number; readonly leaderEpoch: number };

export interface ReplicaStatus extends PartitionOffsets {
  /** The latest epoch in this log's leader-epoch cache, -1 for none: a follower's lastFetchedEpoch. */
  readonly latestEpoch: number;
}

export interface EpochEndOffset {
  readonly leaderEpoch: number;
  readonly endOffset: number;
}

export interface ReplicaFetched extends PartitionOffsets {
  readonly records: Uint8Array;
  /** Set when the follower's log diverges: truncate by it, then fetch again. */
  readonly divergingEpoch?: EpochEndOffset;
  /** The fetch offset is outside [log start, log end]: the offsets say where the log is. */
  readonly outOfRange?: boolean;
}

/** Published by a leader that wants its ISR changed; the main thread asks the controller (AlterPartition). */
export interface IsrChangeProposed {
  readonly type: 'IsrChangeProposed';
  readonly topic: string;
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly isr: readonly number[];
}

export interface PartitionOffsets {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  readonly leaderEpoch: number;
}

export interface ReadResult extends PartitionOffsets {
  /** The stored batches, concatenated, exactly as stored (one transferred buffer). */
  readonly records: Uint8Array;
}

export interface TimestampOffset {
  readonly offset: number;
  readonly timestampMs: number;
}

/** Published to the main thread after a turn that moved the high watermark or the log end, or changed the role or ISR. */
export interface HighWatermarkAdvanced {
  readonly type: 'HighWatermarkAdvanced';
  readonly highWatermark: number;
  readonly logEndOffset: number;
  /** The replica's current leader epoch, and whether it leads in it: an acks=all waiter of another epoch fails. */
  readonly leaderEpoch: number;
  readonly leader: boolean;
  /** The committed ISR's size (1 on a single node): acks=all below min.insync.replicas is NOT_ENOUGH_REPLICAS_AFTER_APPEND. */
  readonly isrSize: number;
  /** The topic's min.insync.replicas as the leader knows it (1 on a single node). */
  readonly minInsyncReplicas: number;
}

export interface PartitionState extends PartitionOffsets {
  readonly topic: string;
  readonly partition: number;
  readonly path: string;
  readonly sizeBytes: number;
  readonly durability: string;
  readonly failurePoints: readonly string[];
  readonly segments: number;
  readonly config: TopicConfig;
  readonly cleaner: unknown;
  readonly lastMaintenanceError: string | undefined;
  /** Retention checks started since the actor started (one per log.retention.check.interval.ms), for the console and tests. */
  readonly retentionChecks: number;
  /** The CPU pool of the actor's thread, shared by its partitions (recompression, key checks, compaction codecs). */
  readonly cpuPool: CpuPoolStats;
  /** The replica's role, proposed ISR and, on a leader, each follower's progress. */
  readonly replication: unknown;
}

export interface PartitionConfig {
  readonly topic: string;
  readonly partition: number;
  /** The SQLite file of this partition's log. */
  readonly path: string;
  readonly durability: 'normal' | 'full';
  /** The topic's effective configs at spawn; later changes arrive as SetTopicConfig. */
  readonly topicConfig?: TopicConfig;
  /** The node's log.retention.check.interval.ms: how often retention runs; 300000 (Kafka's default) when absent. */
  readonly logRetentionCheckIntervalMs?: number;
  /** The node's CPU pool settings (src/compression/cpu-pool.ts); the pool's defaults when absent. */
  readonly cpuPool?: Partial<CpuPoolSettings>;
  /** Shared with the main thread's batch cache (src/cluster/batch-cache-state.ts); absent when the cache is off. */
  readonly cacheState?: SharedArrayBuffer;
  /** This replica's role in a cluster; absent on a single node. */
  readonly replication?: ReplicaRole;
}
