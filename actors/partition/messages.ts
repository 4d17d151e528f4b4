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
  /** Appends a produce request's record batches (one or more v2 batches, as the client sent them). */
  Append: { request: { readonly records: Uint8Array }; reply: Appended };
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

/** Published to the main thread after a turn that moved the high watermark. */
export interface HighWatermarkAdvanced {
  readonly type: 'HighWatermarkAdvanced';
  readonly highWatermark: number;
  readonly logEndOffset: number;
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
}
