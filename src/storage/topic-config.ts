/**
 * The topic configs a partition log acts on, typed. Each field is the camelCase form of the
 * Kafka config it comes from (retention.ms is retentionMs); "no limit" values (-1, or Kafka's
 * Long.MAX_VALUE) are Infinity here so comparisons need no special cases. The cluster layer
 * resolves a topic's effective string map (src/cluster/topic-configs.ts) and parses it into
 * this shape; storage never reads the metadata image. Used on the main thread and on the
 * partition actors' worker threads.
 */

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';
export type MessageTimestampType = 'CreateTime' | 'LogAppendTime';
export type TopicCompressionType = 'producer' | 'uncompressed' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface TopicConfig {
  /** cleanup.policy: 'delete' enables retention, 'compact' enables compaction; Kafka's 'delete,compact' is normalised. */
  readonly cleanupPolicy: CleanupPolicy;
  /**
   * retention.ms: a segment whose newest record timestamp, and whose newest batch's append time,
   * are both older than this is deleted (see PartitionLog.enforceRetention).
   */
  readonly retentionMs: number;
  /** retention.bytes: oldest non-active segments are deleted while the log is larger than this. */
  readonly retentionBytes: number;
  /** delete.retention.ms: how long a tombstone survives after the cleaner first retains it. */
  readonly deleteRetentionMs: number;
  /** min.compaction.lag.ms: a segment holding a record younger than this is not cleaned. */
  readonly minCompactionLagMs: number;
  /** max.compaction.lag.ms: a dirty record older than this forces a cleaning pass and a roll. */
  readonly maxCompactionLagMs: number;
  /** segment.ms: the active segment rolls once it is this old. */
  readonly segmentMs: number;
  /** segment.bytes: the active segment rolls before a batch would take it past this size. */
  readonly segmentBytes: number;
  /** max.message.bytes: the largest batch accepted (MESSAGE_TOO_LARGE beyond). */
  readonly maxMessageBytes: number;
  readonly messageTimestampType: MessageTimestampType;
  /**
   * message.timestamp.before.max.ms / after.max.ms (Kafka 3.6+, KIP-937; the older
   * message.timestamp.difference.max.ms maps onto both): a CreateTime batch whose timestamps lie
   * further in the past or the future than these is INVALID_TIMESTAMP. Infinity: no limit.
   */
  readonly messageTimestampBeforeMaxMs: number;
  readonly messageTimestampAfterMaxMs: number;
  readonly compressionType: TopicCompressionType;
  /**
   * min.cleanable.dirty.ratio: Kafka's threshold of dirty bytes over all bytes before a
   * cleaning pass starts. Not in Brook's topic config table yet; the default is Kafka's.
   */
  readonly minCleanableDirtyRatio: number;
}

/** Kafka's built-in defaults, the same values as src/cluster/topic-configs.ts. */
export const defaultTopicConfig: TopicConfig = Object.freeze({
  cleanupPolicy: 'delete',
  retentionMs: 604_800_000,
  retentionBytes: Number.POSITIVE_INFINITY,
  deleteRetentionMs: 86_400_000,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.POSITIVE_INFINITY,
  segmentMs: 604_800_000,
  segmentBytes: 1_073_741_824,
  maxMessageBytes: 1_048_588,
  messageTimestampType: 'CreateTime',
  messageTimestampBeforeMaxMs: Number.POSITIVE_INFINITY,
  messageTimestampAfterMaxMs: Number.POSITIVE_INFINITY,
  compressionType: 'producer',
  minCleanableDirtyRatio: 0.5,
});

export function deletesOldSegments(cfg: TopicConfig): boolean {
  return cfg.cleanupPolicy !== 'compact';
}

export function compacts(cfg: TopicConfig): boolean {
  return cfg.cleanupPolicy !== 'delete';
}

/** The codec number (batch attributes bits 0-2) that compression.type asks for, or null for 'producer'. */
export function targetCodec(type: TopicCompressionType): 0 | 1 | 2 | 3 | 4 | null {
  switch (type) {
    case 'producer':
      return null;
    case 'uncompressed':
      return 0;
    case 'gzip':
      return 1;
    case 'snappy':
      return 2;
    case 'lz4':
      return 3;
    case 'zstd':
      return 4;
  }
}

/** Checks the invariants a config must hold before a log acts on it; a violation is a caller bug. */
export function checkTopicConfig(cfg: TopicConfig): void {
  const positive = ['segmentBytes', 'segmentMs', 'maxMessageBytes', 'maxCompactionLagMs'] as const;
  for (const name of positive) {
    if (!(cfg[name] > 0)) throw new Error(`topic config ${name} must be positive, got ${cfg[name]}`);
  }
  const nonNegative = [
    'retentionMs',
    'retentionBytes',
    'deleteRetentionMs',
    'minCompactionLagMs',
    'minCleanableDirtyRatio',
    'messageTimestampBeforeMaxMs',
    'messageTimestampAfterMaxMs',
  ] as const;
  for (const name of nonNegative) {
    if (!(cfg[name] >= 0)) throw new Error(`topic config ${name} must not be negative, got ${cfg[name]}`);
  }
}
