/**
 * The node's settings: one table names each setting once, with its flag, its BROOK_*
 * environment variable, its config-file key, its default and its parser. Flags override the
 * environment, which overrides the config file, which overrides the embedded defaults. A bad
 * value is a `ConfigError` naming the setting, where it came from, and the allowed values.
 */
import { availableParallelism, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { parseEtcdUrl } from './cluster/etcd-url.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface NodeConfig {
  nodeId: number;
  dataDir: string;
  workers: number;
  host: string;
  port: number;
  /** HTTP API, console and /metrics port on the same host (0 = ephemeral, -1 = off). */
  httpPort: number;
  advertisedHost: string | undefined;
  /** Where the cluster metadata lives: undefined for the embedded single node, or etcd://host:port[,host:port...][/prefix]. */
  metadataStore: string | undefined;
  /** This node's rack (Kafka broker.rack), for rack-aware replica placement. */
  rack: string | undefined;
  /** How long a node that stopped answering stays in the live set (the etcd lease TTL). */
  nodeSessionTimeoutMs: number;
  /** Metadata records between two snapshots in etcd (older records and history are then dropped). */
  metadataSnapshotRecords: number;
  /** A partition (or group coordinator) with no request for this long closes its log and frees its memory; 0 never. */
  partitionIdlePassivateMs: number;
  /** A follower not caught up with its leader for this long leaves the ISR (Kafka's replica.lag.time.max.ms). */
  replicaLagTimeMaxMs: number;
  /** How long a leader holds a follower's fetch when nothing is new (Kafka's replica.fetch.wait.max.ms). */
  replicaFetchWaitMaxMs: number;
  /** At most this many partition logs open at once; the least recently used idle ones close first. */
  maxOpenPartitionLogs: number;
  durability: 'normal' | 'full';
  /**
   * How often each partition checks time and size retention (Kafka's
   * log.retention.check.interval.ms); compaction keeps its own, shorter cadence.
   */
  logRetentionCheckIntervalMs: number;
  /** Threads of each worker thread's CPU pool (recompression, compaction codecs); 0 runs that work inline. */
  cpuPoolThreads: number;
  /** Tasks that may wait in each CPU pool's queue; past it appends wait for room (backpressure). */
  cpuPoolQueueMax: number;
  /** Bytes of recent batches the main thread keeps to answer fetches near the tail (the batch cache); 0 turns it off. */
  fetchCacheBytes: number;
  fetchReaderThreads: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** The size cap of one request frame once the connection has sent ApiVersions or any request. */
  maxRequestBytes: number;
  maxConnections: number;
  idleTimeoutMs: number;
  /** Topic defaults (Kafka's num.partitions, auto.create.topics.enable, default.replication.factor). */
  numPartitions: number;
  autoCreateTopics: boolean;
  defaultReplicationFactor: number;
  /** Partitions of the __consumer_offsets topic (Kafka's offsets.topic.num.partitions). */
  offsetsTopicPartitions: number;
  /** Consumer group settings (Kafka's group.* and offsets.* broker configs). */
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupInitialRebalanceDelayMs: number;
  groupMaxSize: number;
  offsetsRetentionMinutes: number;
  offsetMetadataMaxBytes: number;
}

type Parser<T> = (raw: string) => T;

interface Setting<K extends keyof NodeConfig> {
  readonly key: K;
  /** Flag name without dashes, also the config-file key (kebab-case). */
  readonly flag: string;
  readonly env: string;
  readonly describe: string;
  readonly parse: Parser<NodeConfig[K]>;
  readonly def: () => NodeConfig[K];
}

function int(min: number, max: number): Parser<number> {
  return (raw) => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new Error(`expected an integer from ${min} to ${max}, got '${raw}'`);
    }
    return n;
  };
}

function oneOf<T extends string>(...values: T[]): Parser<T> {
  return (raw) => {
    if (!(values as string[]).includes(raw)) throw new Error(`expected one of ${values.join(', ')}, got '${raw}'`);
    return raw as T;
  };
}

const bool: Parser<boolean> = (raw) => {
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new Error(`expected true or false, got '${raw}'`);
};

const text: Parser<string> = (raw) => {
  if (raw.trim() === '') throw new Error('expected a non-empty value');
  return raw;
};

const metadataStoreUrl: Parser<string> = (raw) => {
  const parsed = parseEtcdUrl(raw);
  if (typeof parsed === 'string') throw new Error(parsed);
  return raw.trim();
};

function setting<K extends keyof NodeConfig>(s: Setting<K>): Setting<K> {
  return s;
}

export const settings = [
  setting({ key: 'nodeId', flag: 'node-id', env: 'BROOK_NODE_ID', describe: "this node's id in the cluster (Kafka node.id)", parse: int(0, 2 ** 31 - 1), def: () => 0 }),
  setting({ key: 'dataDir', flag: 'data-dir', env: 'BROOK_DATA_DIR', describe: 'directory for partition logs and metadata', parse: text, def: () => './data' }),
  setting({
    key: 'workers',
    flag: 'workers',
    env: 'BROOK_WORKERS',
    describe: 'worker threads hosting actors (default: one per core)',
    parse: int(1, 256),
    def: () => availableParallelism(),
  }),
  setting({ key: 'host', flag: 'host', env: 'BROOK_HOST', describe: 'address the Kafka listener binds', parse: text, def: () => '127.0.0.1' }),
  setting({ key: 'port', flag: 'port', env: 'BROOK_PORT', describe: 'Kafka listener port (0 = ephemeral, printed at start)', parse: int(0, 65535), def: () => 9092 }),
  setting({
    key: 'httpPort',
    flag: 'http-port',
    env: 'BROOK_HTTP_PORT',
    describe: 'HTTP API, console and /metrics port (0 = ephemeral, -1 = off)',
    parse: int(-1, 65535),
    def: () => 8080,
  }),
  setting({
    key: 'advertisedHost',
    flag: 'advertised-host',
    env: 'BROOK_ADVERTISED_HOST',
    describe: 'host name clients are told to connect to (default: --host)',
    parse: text,
    def: () => undefined,
  }),
  setting({
    key: 'metadataStore',
    flag: 'metadata-store',
    env: 'BROOK_METADATA_STORE',
    describe: 'cluster metadata store: etcd://host:port[,host:port...] to join a cluster (default: embedded single node)',
    parse: metadataStoreUrl,
    def: () => undefined,
  }),
  setting({ key: 'rack', flag: 'rack', env: 'BROOK_RACK', describe: "this node's rack (Kafka broker.rack), for rack-aware replica placement", parse: text, def: () => undefined }),
  setting({
    key: 'nodeSessionTimeoutMs',
    flag: 'node-session-timeout-ms',
    env: 'BROOK_NODE_SESSION_TIMEOUT_MS',
    describe: 'how long a node that stops answering stays live in a cluster (its etcd lease; Kafka broker.session.timeout.ms)',
    parse: int(2_000, 300_000),
    def: () => 6_000,
  }),
  setting({
    key: 'replicaLagTimeMaxMs',
    flag: 'replica-lag-time-max-ms',
    env: 'BROOK_REPLICA_LAG_TIME_MAX_MS',
    describe: 'a follower not caught up with its leader for this long leaves the ISR (replica.lag.time.max.ms)',
    parse: int(100, 2 ** 31 - 1),
    def: () => 30_000,
  }),
  setting({
    key: 'replicaFetchWaitMaxMs',
    flag: 'replica-fetch-wait-max-ms',
    env: 'BROOK_REPLICA_FETCH_WAIT_MAX_MS',
    describe: "how long a leader holds a follower's fetch when nothing is new (replica.fetch.wait.max.ms)",
    parse: int(0, 60_000),
    def: () => 500,
  }),
  setting({
    key: 'partitionIdlePassivateMs',
    flag: 'partition-idle-passivate-ms',
    env: 'BROOK_PARTITION_IDLE_PASSIVATE_MS',
    describe: 'a partition with no request for this long closes its log and frees its memory until the next request (partition.idle.passivate.ms; 0 = never)',
    parse: int(0, 2 ** 31 - 1),
    def: () => 300_000,
  }),
  setting({
    key: 'maxOpenPartitionLogs',
    flag: 'max-open-partition-logs',
    env: 'BROOK_MAX_OPEN_PARTITION_LOGS',
    describe: 'partition logs open at once (3 file descriptors each); past it the least recently used idle ones close (max.open.partition.logs)',
    parse: int(1, 10_000_000),
    def: () => 4_000,
  }),
  setting({
    key: 'metadataSnapshotRecords',
    flag: 'metadata-snapshot-records',
    env: 'BROOK_METADATA_SNAPSHOT_RECORDS',
    describe: 'metadata records between snapshots in etcd; the log and history below a snapshot are dropped (Kafka metadata.log.max.snapshot.interval)',
    parse: int(10, 10_000_000),
    def: () => 1_000,
  }),
  setting({
    key: 'durability',
    flag: 'durability',
    env: 'BROOK_DURABILITY',
    describe: 'SQLite synchronous mode of partition logs: normal or full',
    parse: oneOf('normal', 'full'),
    def: () => 'normal' as const,
  }),
  setting({
    key: 'cpuPoolThreads',
    flag: 'cpu-pool-threads',
    env: 'BROOK_CPU_POOL_THREADS',
    describe: "piscina threads per worker thread for recompression and compaction codecs (0: inline on the partition's thread)",
    parse: int(0, 64),
    def: () => 1,
  }),
  setting({
    key: 'cpuPoolQueueMax',
    flag: 'cpu-pool-queue-max',
    env: 'BROOK_CPU_POOL_QUEUE_MAX',
    describe: "tasks that may wait in each CPU pool's queue before appends wait for room",
    parse: int(1, 100_000),
    def: () => 64,
  }),
  setting({
    key: 'fetchCacheBytes',
    flag: 'fetch-cache-bytes',
    env: 'BROOK_FETCH_CACHE_BYTES',
    describe: 'bytes of recent batches kept on the main thread to answer fetches near the tail, LRU across partitions (0 = off; default 256 MiB or 1/16 of RAM, the smaller)',
    parse: int(0, 2 ** 48),
    def: () => Math.min(256 * 1024 * 1024, Math.floor(totalmem() / 16)),
  }),
  setting({
    key: 'fetchReaderThreads',
    flag: 'fetch-reader-threads',
    env: 'BROOK_FETCH_READER_THREADS',
    describe:
      "threads reading partition logs for fetches the batch cache misses, beside the partitions' own threads, so a consumer catching up does not delay appends (0 = reads on the partition's thread; default one per core, at most 4)",
    parse: int(0, 64),
    def: () => Math.min(4, availableParallelism()),
  }),
  setting({
    key: 'logRetentionCheckIntervalMs',
    flag: 'log-retention-check-interval-ms',
    env: 'BROOK_LOG_RETENTION_CHECK_INTERVAL_MS',
    describe: 'how often each partition deletes segments past retention.ms or retention.bytes (Kafka log.retention.check.interval.ms)',
    parse: int(1, 2 ** 31 - 1),
    def: () => 300_000,
  }),
  setting({
    key: 'logLevel',
    flag: 'log-level',
    env: 'BROOK_LOG_LEVEL',
    describe: 'debug, info, warn, error or silent',
    parse: oneOf('debug', 'info', 'warn', 'error', 'silent'),
    def: () => 'info' as const,
  }),
  setting({
    key: 'maxRequestBytes',
    flag: 'max-request-bytes',
    env: 'BROOK_MAX_REQUEST_BYTES',
    describe: 'largest request frame accepted (Kafka socket.request.max.bytes)',
    parse: int(1024, 2 ** 30),
    def: () => 100 * 1024 * 1024,
  }),
  setting({
    key: 'maxConnections',
    flag: 'max-connections',
    env: 'BROOK_MAX_CONNECTIONS',
    describe: 'open client connections at most',
    parse: int(1, 1_000_000),
    def: () => 10_000,
  }),
  setting({
    key: 'idleTimeoutMs',
    flag: 'idle-timeout-ms',
    env: 'BROOK_IDLE_TIMEOUT_MS',
    describe: 'close connections idle this long (Kafka connections.max.idle.ms)',
    parse: int(1000, 2 ** 31 - 1),
    def: () => 600_000,
  }),
  setting({
    key: 'numPartitions',
    flag: 'num-partitions',
    env: 'BROOK_NUM_PARTITIONS',
    describe: 'partitions of an auto-created topic (Kafka num.partitions)',
    parse: int(1, 100_000),
    def: () => 1,
  }),
  setting({
    key: 'autoCreateTopics',
    flag: 'auto-create-topics',
    env: 'BROOK_AUTO_CREATE_TOPICS',
    describe: 'create unknown topics on Metadata requests that allow it (true/false)',
    parse: bool,
    def: () => true,
  }),
  setting({
    key: 'defaultReplicationFactor',
    flag: 'default-replication-factor',
    env: 'BROOK_DEFAULT_REPLICATION_FACTOR',
    describe: 'replication factor of topics created without one',
    parse: int(1, 32),
    def: () => 1,
  }),
  setting({
    key: 'offsetsTopicPartitions',
    flag: 'offsets-topic-partitions',
    env: 'BROOK_OFFSETS_TOPIC_PARTITIONS',
    describe: 'partitions of __consumer_offsets (Kafka offsets.topic.num.partitions)',
    parse: int(1, 1000),
    def: () => 50,
  }),
  setting({
    key: 'groupMinSessionTimeoutMs',
    flag: 'group-min-session-timeout-ms',
    env: 'BROOK_GROUP_MIN_SESSION_TIMEOUT_MS',
    describe: 'shortest session timeout a group member may ask for (Kafka group.min.session.timeout.ms)',
    parse: int(1, 2 ** 31 - 1),
    def: () => 6_000,
  }),
  setting({
    key: 'groupMaxSessionTimeoutMs',
    flag: 'group-max-session-timeout-ms',
    env: 'BROOK_GROUP_MAX_SESSION_TIMEOUT_MS',
    describe: 'longest session timeout a group member may ask for (Kafka group.max.session.timeout.ms)',
    parse: int(1, 2 ** 31 - 1),
    def: () => 1_800_000,
  }),
  setting({
    key: 'groupInitialRebalanceDelayMs',
    flag: 'group-initial-rebalance-delay-ms',
    env: 'BROOK_GROUP_INITIAL_REBALANCE_DELAY_MS',
    describe: 'how long an empty group waits for more members before its first rebalance completes (Kafka group.initial.rebalance.delay.ms)',
    parse: int(0, 300_000),
    def: () => 3_000,
  }),
  setting({
    key: 'groupMaxSize',
    flag: 'group-max-size',
    env: 'BROOK_GROUP_MAX_SIZE',
    describe: 'members one consumer group may have (Kafka group.max.size)',
    parse: int(1, 100_000),
    def: () => 256,
  }),
  setting({
    key: 'offsetsRetentionMinutes',
    flag: 'offsets-retention-minutes',
    env: 'BROOK_OFFSETS_RETENTION_MINUTES',
    describe: 'how long an empty group keeps its committed offsets (Kafka offsets.retention.minutes)',
    parse: int(1, 2 ** 31 - 1),
    def: () => 10_080,
  }),
  setting({
    key: 'offsetMetadataMaxBytes',
    flag: 'offset-metadata-max-bytes',
    env: 'BROOK_OFFSET_METADATA_MAX_BYTES',
    describe: 'largest metadata string of one committed offset (Kafka offset.metadata.max.bytes)',
    parse: int(0, 1024 * 1024),
    def: () => 4096,
  }),
] as const;

export function defaultConfig(): NodeConfig {
  const c = {} as Record<string, unknown>;
  for (const s of settings) c[s.key] = s.def();
  return c as unknown as NodeConfig;
}

/**
 * Builds the node config from, in increasing precedence: defaults, a config file (JSON with
 * camelCase or kebab-case keys, or `key=value` lines), BROOK_* environment variables, and flags
 * (raw strings keyed by the camelCase setting name, as commander gives them).
 */
export function resolveConfig(sources: { file?: string; env?: NodeJS.ProcessEnv; flags?: Record<string, string | undefined> }): NodeConfig {
  const config = defaultConfig() as unknown as Record<string, unknown>;
  const fileValues = sources.file ? readConfigFile(sources.file) : {};
  for (const s of settings) {
    const fromFile = fileValues[s.key] ?? fileValues[s.flag];
    if (fromFile !== undefined) config[s.key] = parseOrThrow(s, typeof fromFile === 'string' ? fromFile : JSON.stringify(fromFile), `config file ${sources.file} key '${s.flag}'`);
    const fromEnv = sources.env?.[s.env];
    if (fromEnv !== undefined && fromEnv !== '') config[s.key] = parseOrThrow(s, fromEnv, `environment variable ${s.env}`);
    const fromFlag = sources.flags?.[s.key];
    if (fromFlag !== undefined) config[s.key] = parseOrThrow(s, fromFlag, `flag --${s.flag}`);
  }
  const unknown = Object.keys(fileValues).filter((k) => !settings.some((s) => s.key === k || s.flag === k));
  if (unknown.length > 0) {
    throw new ConfigError(`config file ${sources.file}: unknown setting ${unknown.join(', ')}; known: ${settings.map((s) => s.flag).join(', ')}`);
  }
  return config as unknown as NodeConfig;
}

function parseOrThrow<K extends keyof NodeConfig>(s: Setting<K>, raw: string, where: string): NodeConfig[K] {
  try {
    return s.parse(raw);
  } catch (err) {
    throw new ConfigError(`invalid ${where} (${s.describe}): ${(err as Error).message}`);
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (path.endsWith('.json')) {
    try {
      const v = JSON.parse(text) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected a JSON object');
      return v as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`config file ${path} is not valid: ${(err as Error).message}`);
    }
  }
  const out: Record<string, unknown> = {};
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new ConfigError(`config file ${path} line ${i + 1}: expected key=value, got '${t}'`);
    out[t.slice(0, eq).trim()] = t.slice(eq + 1).trim();
  });
  return out;
}
