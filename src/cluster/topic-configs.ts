/**
 * Topic configs with Kafka's names, types, defaults and validation, and the broker-level
 * synonyms (log.retention.ms for retention.ms, ...) that set cluster-wide defaults. One table
 * drives CreateTopics/AlterConfigs validation and DescribeConfigs (with each value's source).
 */
import { type MessageTimestampType, type TopicCompressionType, type TopicConfig, defaultTopicConfig } from '../storage/topic-config.js';
import type { MetadataImage } from './metadata-image.js';

/** DescribeConfigs' config types (Kafka's ConfigType). */
export const ConfigType = { BOOLEAN: 1, STRING: 2, INT: 3, SHORT: 4, LONG: 5, DOUBLE: 6, LIST: 7, CLASS: 8, PASSWORD: 9 } as const;
/** DescribeConfigs' config sources (Kafka's ConfigSource). */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

const LONG_MAX = '9223372036854775807';

export interface TopicConfigDef {
  readonly name: string;
  /** The broker-level name whose value is the default for every topic (Kafka's synonym). */
  readonly brokerName: string;
  readonly type: number;
  readonly defaultValue: string;
  readonly doc: string;
  /** Returns an explanation when `value` is invalid. */
  readonly validate: (value: string) => string | undefined;
}

function longAtLeast(min: number): (v: string) => string | undefined {
  return (v) => (/^-?\d+$/.test(v) && BigInt(v) >= BigInt(min) && BigInt(v) <= BigInt(LONG_MAX) ? undefined : `must be an integer >= ${min}`);
}

function intBetween(min: number, max: number): (v: string) => string | undefined {
  return (v) => (/^-?\d+$/.test(v) && Number(v) >= min && Number(v) <= max ? undefined : `must be an integer from ${min} to ${max}`);
}

function oneOf(values: string[]): (v: string) => string | undefined {
  return (v) => (values.includes(v) ? undefined : `must be one of ${values.join(', ')}`);
}

/**
 * message.format.version takes what Kafka's MetadataVersion.fromVersionString parses: a release
 * (0.8.0 to 0.11.0, 1.0 to 3.9), optionally with an -IV suffix or further segments, which Kafka
 * drops ("2.8.1" is 2.8).
 */
const messageFormatVersion = (v: string): string | undefined => {
  const [release = '', iv, ...rest] = v.split('-');
  const parts = release.split('.');
  const kept = parts.slice(0, release.startsWith('0.') ? 3 : 2).join('.');
  const known = /^(0\.8\.[0-2]|0\.9\.0|0\.10\.[0-2]|0\.11\.0|1\.[01]|2\.[0-8]|3\.[0-9])$/.test(kept);
  const wellFormed = parts.every((p) => /^\d+$/.test(p)) && rest.length === 0 && (iv === undefined || /^IV\d+$/.test(iv));
  return known && wellFormed ? undefined : 'must be a Kafka release such as 2.8 or 3.0-IV1';
};

const cleanupPolicy = (v: string): string | undefined => {
  const parts = v.split(',').map((s) => s.trim());
  return parts.length > 0 && parts.every((p) => p === 'delete' || p === 'compact') && new Set(parts).size === parts.length
    ? undefined
    : 'must be delete, compact, or compact,delete';
};

export const topicConfigDefs: readonly TopicConfigDef[] = [
  {
    name: 'cleanup.policy',
    brokerName: 'log.cleanup.policy',
    type: ConfigType.LIST,
    defaultValue: 'delete',
    doc: 'delete old segments, compact by key, or both',
    validate: cleanupPolicy,
  },
  {
    name: 'compression.type',
    brokerName: 'compression.type',
    type: ConfigType.STRING,
    defaultValue: 'producer',
    doc: 'producer keeps batches as sent; a codec makes the broker recompress',
    validate: oneOf(['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd']),
  },
  {
    name: 'delete.retention.ms',
    brokerName: 'log.cleaner.delete.retention.ms',
    type: ConfigType.LONG,
    defaultValue: '86400000',
    doc: 'how long tombstones are kept in compacted topics',
    validate: longAtLeast(0),
  },
  {
    name: 'max.compaction.lag.ms',
    brokerName: 'log.cleaner.max.compaction.lag.ms',
    type: ConfigType.LONG,
    defaultValue: LONG_MAX,
    doc: 'longest time a record stays ineligible for compaction',
    validate: longAtLeast(1),
  },
  {
    name: 'max.message.bytes',
    brokerName: 'message.max.bytes',
    type: ConfigType.INT,
    defaultValue: '1048588',
    doc: 'largest record batch accepted',
    validate: intBetween(0, 2 ** 31 - 1),
  },
  {
    name: 'message.downconversion.enable',
    brokerName: 'log.message.downconversion.enable',
    type: ConfigType.BOOLEAN,
    defaultValue: 'true',
    doc: 'deprecated in Kafka 3.0 (KIP-724) and ignored: Brook serves Fetch v4 and up only, which never needs record batches converted to an older format',
    validate: oneOf(['true', 'false']),
  },
  {
    name: 'message.format.version',
    brokerName: 'log.message.format.version',
    type: ConfigType.STRING,
    defaultValue: '3.0-IV1',
    doc: 'deprecated in Kafka 3.0 and ignored, as Kafka 3.x ignores it: record batches are stored in format v2 whatever it says',
    validate: messageFormatVersion,
  },
  {
    name: 'message.timestamp.after.max.ms',
    brokerName: 'log.message.timestamp.after.max.ms',
    type: ConfigType.LONG,
    defaultValue: LONG_MAX,
    doc: "how far a CreateTime timestamp may be ahead of the broker's clock; when left at its default, message.timestamp.difference.max.ms applies instead",
    validate: longAtLeast(0),
  },
  {
    name: 'message.timestamp.before.max.ms',
    brokerName: 'log.message.timestamp.before.max.ms',
    type: ConfigType.LONG,
    defaultValue: LONG_MAX,
    doc: "how far a CreateTime timestamp may be behind the broker's clock; when left at its default, message.timestamp.difference.max.ms applies instead",
    validate: longAtLeast(0),
  },
  {
    name: 'message.timestamp.difference.max.ms',
    brokerName: 'log.message.timestamp.difference.max.ms',
    type: ConfigType.LONG,
    defaultValue: LONG_MAX,
    doc: "deprecated in Kafka 3.6 (KIP-937): how far a CreateTime timestamp may be from the broker's clock either way, for whichever of message.timestamp.before.max.ms and message.timestamp.after.max.ms is left at its default",
    validate: longAtLeast(0),
  },
  {
    name: 'message.timestamp.type',
    brokerName: 'log.message.timestamp.type',
    type: ConfigType.STRING,
    defaultValue: 'CreateTime',
    doc: "CreateTime keeps the producer's timestamp; LogAppendTime stamps the broker's",
    validate: oneOf(['CreateTime', 'LogAppendTime']),
  },
  {
    name: 'min.compaction.lag.ms',
    brokerName: 'log.cleaner.min.compaction.lag.ms',
    type: ConfigType.LONG,
    defaultValue: '0',
    doc: 'shortest time a record stays uncompacted',
    validate: longAtLeast(0),
  },
  {
    name: 'min.insync.replicas',
    brokerName: 'min.insync.replicas',
    type: ConfigType.INT,
    defaultValue: '1',
    doc: 'replicas that must acknowledge an acks=all write',
    validate: intBetween(1, 2 ** 31 - 1),
  },
  {
    name: 'retention.bytes',
    brokerName: 'log.retention.bytes',
    type: ConfigType.LONG,
    defaultValue: '-1',
    doc: 'size a partition may reach before old segments are deleted (-1: no limit)',
    validate: longAtLeast(-1),
  },
  {
    name: 'retention.ms',
    brokerName: 'log.retention.ms',
    type: ConfigType.LONG,
    defaultValue: '604800000',
    doc: 'age after which segments are deleted (-1: no limit)',
    validate: longAtLeast(-1),
  },
  {
    name: 'segment.bytes',
    brokerName: 'log.segment.bytes',
    type: ConfigType.INT,
    defaultValue: '1073741824',
    doc: 'size of the unit retention deletes',
    validate: intBetween(14, 2 ** 31 - 1),
  },
  { name: 'segment.ms', brokerName: 'log.roll.ms', type: ConfigType.LONG, defaultValue: '604800000', doc: 'age of the unit retention deletes', validate: longAtLeast(1) },
  {
    name: 'unclean.leader.election.enable',
    brokerName: 'unclean.leader.election.enable',
    type: ConfigType.BOOLEAN,
    defaultValue: 'false',
    doc: 'allow an out-of-sync replica to become leader',
    validate: oneOf(['true', 'false']),
  },
];

export const topicConfigByName: ReadonlyMap<string, TopicConfigDef> = new Map(topicConfigDefs.map((d) => [d.name, d]));
export const topicConfigByBrokerName: ReadonlyMap<string, TopicConfigDef> = new Map(topicConfigDefs.map((d) => [d.brokerName, d]));

/** Validates one topic config; returns a message naming the config and the rule when invalid. */
export function validateTopicConfig(name: string, value: string | null): string | undefined {
  const def = topicConfigByName.get(name);
  if (!def) return `unknown topic config ${name}; known: ${topicConfigDefs.map((d) => d.name).join(', ')}`;
  if (value === null) return undefined;
  const why = def.validate(value);
  return why && `invalid value '${value}' for ${name}: ${why}`;
}

/** Validates one broker-level default; the same rules as the topic config it is a synonym of. */
export function validateBrokerConfig(name: string, value: string | null): string | undefined {
  const def = topicConfigByBrokerName.get(name);
  if (!def) return `unknown or read-only broker config ${name}; dynamic broker configs: ${topicConfigDefs.map((d) => d.brokerName).join(', ')}`;
  if (value === null) return undefined;
  const why = def.validate(value);
  return why && `invalid value '${value}' for ${name}: ${why}`;
}

/**
 * A topic's effective configs, resolved as DescribeConfigs does (admin-configs.ts): the topic's
 * override, else this broker's dynamic value (when nodeId is given), else the cluster-wide
 * dynamic default (broker resource ''), each under the def's broker-level name, else the
 * built-in default. Returns every topic config, so the result is complete for parseTopicConfig.
 */
export function effectiveTopicConfig(image: MetadataImage, topicName: string, nodeId?: number): Record<string, string> {
  const overrides = image.topicsByName.get(topicName)?.configs;
  const own = nodeId === undefined ? undefined : image.brokerConfigs.get(String(nodeId));
  const clusterDefault = image.brokerConfigs.get('');
  const out: Record<string, string> = {};
  for (const def of topicConfigDefs) {
    out[def.name] = overrides?.get(def.name) ?? own?.get(def.brokerName) ?? clusterDefault?.get(def.brokerName) ?? def.defaultValue;
  }
  return out;
}

/**
 * How far a CreateTime timestamp may lie behind and ahead of the broker's clock, in ms (Infinity:
 * no limit), from a resolved map (effectiveTopicConfig's). As in Kafka 3.6+ (KIP-937, LogConfig's
 * getMessageTimestampBeforeMaxMs): message.timestamp.before.max.ms and .after.max.ms win when
 * set to anything but their default, Long.MAX_VALUE; otherwise the deprecated
 * message.timestamp.difference.max.ms that older clients still send applies to that side.
 */
export function messageTimestampLimits(map: Readonly<Record<string, string>>): { beforeMaxMs: number; afterMaxMs: number } {
  const difference = map['message.timestamp.difference.max.ms'] ?? LONG_MAX;
  const side = (name: string): number => {
    const own = map[name] ?? LONG_MAX;
    return limitOf(BigInt(own) === BigInt(LONG_MAX) ? difference : own);
  };
  return { beforeMaxMs: side('message.timestamp.before.max.ms'), afterMaxMs: side('message.timestamp.after.max.ms') };
}

function timestampLimitsOf(map: Readonly<Record<string, string>>): Pick<TopicConfig, 'messageTimestampBeforeMaxMs' | 'messageTimestampAfterMaxMs'> {
  const { beforeMaxMs, afterMaxMs } = messageTimestampLimits(map);
  return { messageTimestampBeforeMaxMs: beforeMaxMs, messageTimestampAfterMaxMs: afterMaxMs };
}

/** A long config as a number: -1 (and Kafka's Long.MAX_VALUE, which no clock reaches) mean no limit. */
function limitOf(value: string): number {
  const n = Number(value);
  return n < 0 || n >= Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : n;
}

/**
 * The typed configs a partition log acts on, from a resolved map (effectiveTopicConfig's).
 * Values are assumed valid (the controller validated them on the way in); a missing name takes
 * the built-in default.
 */
export function parseTopicConfig(map: Readonly<Record<string, string>>): TopicConfig {
  const get = (name: string): string => map[name] ?? topicConfigByName.get(name)!.defaultValue;
  const policy = new Set(
    get('cleanup.policy')
      .split(',')
      .map((p) => p.trim()),
  );
  return {
    cleanupPolicy: policy.has('compact') ? (policy.has('delete') ? 'compact,delete' : 'compact') : 'delete',
    retentionMs: limitOf(get('retention.ms')),
    retentionBytes: limitOf(get('retention.bytes')),
    deleteRetentionMs: limitOf(get('delete.retention.ms')),
    minCompactionLagMs: Number(get('min.compaction.lag.ms')),
    maxCompactionLagMs: limitOf(get('max.compaction.lag.ms')),
    segmentMs: limitOf(get('segment.ms')),
    segmentBytes: Number(get('segment.bytes')),
    maxMessageBytes: Number(get('max.message.bytes')),
    messageTimestampType: get('message.timestamp.type') as MessageTimestampType,
    ...timestampLimitsOf(map),
    compressionType: get('compression.type') as TopicCompressionType,
    minCleanableDirtyRatio: defaultTopicConfig.minCleanableDirtyRatio,
  };
}
