/**
 * The partition actor's messages: a closed union, answered by one exhaustive switch in
 * partition-actor.ts. Commands are imperative (`Append`), queries are `GetX`, notifications
 * are past tense (`HighWatermarkAdvanced`). Sent between the main thread and the partition
 * actors' worker threads.
 */
import type { FailurePointName } from '../../src/storage/failure-points.js';
import type { TopicConfig } from '../../src/storage/topic-config.js';

export type PartitionMessage =
  /** Appends a produce request's record batches (one or more v2 batches, as the client sent them). */
  | { readonly type: 'Append'; readonly records: Uint8Array }
  /** Reads stored batches from `fetchOffset`, whole batches up to `maxBytes` (always at least one). */
  | { readonly type: 'Read'; readonly fetchOffset: number; readonly maxBytes: number }
  | { readonly type: 'GetOffsets' }
  /** The first offset whose timestamp is at or after `timestampMs` (ListOffsets), or the max-timestamp record. */
  | { readonly type: 'GetOffsetForTimestamp'; readonly timestampMs: number }
  | { readonly type: 'GetMaxTimestampOffset' }
  | { readonly type: 'DeleteRecordsBefore'; readonly offset: number }
  | { readonly type: 'TruncateTo'; readonly offset: number }
  | { readonly type: 'SetLeaderEpoch'; readonly leaderEpoch: number }
  /** The topic's effective configs changed (retention, compaction, timestamps, compression). */
  | { readonly type: 'SetTopicConfig'; readonly config: TopicConfig }
  /** Arms (or disarms) a named storage failure point for the next `times` operations. */
  | { readonly type: 'SetFailurePoint'; readonly point: FailurePointName; readonly enabled: boolean; readonly times?: number };

export interface Appended {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
  readonly duplicate: boolean;
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
}
