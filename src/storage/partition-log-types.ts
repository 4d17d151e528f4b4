/**
 * The public types of PartitionLog (partition-log.ts): its options, what its calls return, and
 * the segment description. In a file of their own so that the files PartitionLog is made of can
 * import them without importing partition-log.ts (no import cycle); partition-log.ts re-exports
 * them.
 *
 * Types only: nothing here runs.
 */
import type { FailurePoints } from './failure-points.js';
import type { BatchCodecs } from './record-batch.js';
import type { TopicConfig } from './topic-config.js';
import type { WalCheckpointer } from './wal-checkpointer.js';

export type Durability = 'normal' | 'full';

export interface PartitionLogOptions {
  path: string;
  durability?: Durability;
  /** Wall clock in ms, injectable for simulation; defaults to Date.now. */
  clock?: () => number;
  /** The topic's configs; defaults to Kafka's. Change them at run time with setConfig. */
  config?: Partial<TopicConfig>;
  /** Largest batch accepted; the same as config.maxMessageBytes, which wins when both are given. */
  maxBatchBytes?: number;
  /** Codecs for compaction's decompress/recompress; src/compression's by default. */
  codecs?: BatchCodecs;
  /**
   * Defaults to true: the high watermark follows logEndOffset, as on a single node. When false
   * (a replicated partition) replication moves it with setHighWatermark, and open restores the
   * last checkpointed value. Switch at run time with setHighWatermarkFollowsLogEnd.
   */
  highWatermarkFollowsLogEnd?: boolean;
  failurePoints?: FailurePoints;
  /**
   * Checkpoints this log's WAL on another thread (see wal-checkpointer.ts) instead of inside the
   * commit that fills it; SQLite's inline checkpoint stays as a backstop at 8x the threshold.
   * Without one, SQLite checkpoints inline every 1000 pages, as it does by default.
   */
  walCheckpointer?: WalCheckpointer;
}

export interface AppendOptions {
  nowMs?: number;
  /** Only the transaction coordinator may write control batches (markers). */
  origin?: 'client' | 'coordinator';
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The broker time stamped on the batches for LogAppendTime topics; -1 for CreateTime. */
  logAppendTimeMs: number;
  logStartOffset: number;
  duplicate: boolean;
}

/** Options of a follower's append (PartitionLog.appendReplica). */
export interface ReplicaAppendOptions {
  nowMs?: number;
}

/**
 * One entry of the leader-epoch cache (Kafka's EpochEntry): the first offset written under a
 * leader epoch. Entries rise in both epoch and startOffset.
 */
export interface LeaderEpochEntry {
  epoch: number;
  startOffset: number;
}

/**
 * OffsetForLeaderEpoch's answer for one partition: the largest cached epoch at or below the
 * requested one and the offset its records end at (exclusive); both -1 when unknown.
 */
export interface EpochEndOffset {
  epoch: number;
  endOffset: number;
}

export interface ReadOptions {
  /** Batches ending at or past this offset are not returned; defaults to highWatermark. */
  maxOffsetExclusive?: number;
}

export interface ReadResult {
  batches: Buffer[];
  bytes: number;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
}

export interface TimestampOffset {
  offset: number;
  timestampMs: number;
}

/**
 * One segment: Kafka's unit of retention, here a range of batches from baseOffset up to the
 * next segment's baseOffset. Only baseOffset and createdMs are stored (the segments table);
 * size, newest timestamp and newest append time are kept in memory and recomputed on open.
 */
export interface Segment {
  readonly baseOffset: number;
  /** Wall-clock time the segment was rolled (its first batch appended); segment.ms counts from it. */
  readonly createdMs: number;
  sizeBytes: number;
  /** Largest max_timestamp of its batches, -1 when empty. */
  maxTimestamp: number;
  /**
   * Wall-clock time the broker appended its newest batch (the largest append_time_ms), -1 when
   * empty: time retention never deletes a segment within retention.ms of it, whatever the
   * records' own timestamps say (see retentionTimeMs).
   */
  newestAppendTimeMs: number;
}

export interface RetentionProgress {
  batchesDeleted: number;
  bytesDeleted: number;
  logStartOffset: number;
  /** True when the step stopped at its batch bound with more to delete. */
  more: boolean;
}
