/**
 * The client's view of a cluster, shared by one Producer, Consumer or Admin on the caller's
 * thread: bootstrap addresses, broker connections by node id (opened lazily on first use and
 * reopened after a failure), and a metadata cache of topics, partitions and their leaders.
 * Metadata refreshes are coalesced: callers that ask while one is in flight share its answer.
 * Routing errors (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, a dead connection) are
 * answered by the callers with invalidate() and a retry after backoff.
 */
import { Connection } from './connection.js';
import { ClientClosedError, ConnectionError, InvalidArgumentError, isRetriableError, KafkaProtocolError, TimeoutError } from './errors.js';
import {
  CONNECT_TIMEOUT_MS_DEFAULT,
  METADATA_MAX_AGE_MS_DEFAULT,
  REQUEST_ATTEMPTS_MAX,
  REQUEST_TIMEOUT_MS_DEFAULT,
  RETRY_BACKOFF_MS_DEFAULT,
  RETRY_BACKOFF_MS_MAX,
} from './limits.js';

export interface ClientOptions {
  /** host:port strings; any one reachable broker is enough. */
  bootstrapServers: string[];
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  retryBackoffMs?: number;
  metadataMaxAgeMs?: number;
}

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionInfo {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionInfo[];
}

const BOOTSTRAP_NODE_BASE = -1000;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Exponential backoff with 20% jitter, capped at RETRY_BACKOFF_MS_MAX. */
export function backoffMs(attempt: number, baseMs: number): number {
  const exp = Math.min(RETRY_BACKOFF_MS_MAX, baseMs * 2 ** Math.min(attempt, 16));
  return Math.round(exp * (0.8 + Math.random() * 0.4));
}

export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s.trim());
  if (m === null) throw new InvalidArgumentError(`bootstrap server "${s}" is not host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

export class Cluster {
  readonly clientId: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly retryBackoffMs: number;
  private readonly metadataMaxAgeMs: number;
  private readonly bootstrap: { host: string; port: number }[];
  private readonly brokers = new Map<number, BrokerInfo>();
  private readonly connections = new Map<string, Promise<Connection>>();
  private readonly topics = new Map<string, TopicInfo>();
  private readonly topicNamesById = new Map<string, string>();
  private topicsFetchedAt = new Map<string, number>();
  private refreshing: Promise<void> | null = null;
  private refreshWanted = new Set<string>();
  private closed = false;
  clusterId: string | null = null;
  controllerId = -1;

  constructor(opts: ClientOptions) {
    if (!Array.isArray(opts.bootstrapServers) || opts.bootstrapServers.length === 0) {
      throw new InvalidArgumentError('bootstrapServers must name at least one host:port');
    }
    this.bootstrap = opts.bootstrapServers.map(parseHostPort);
    this.clientId = opts.clientId ?? 'brook';
    this.connectTimeoutMs = opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS_DEFAULT;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
    this.retryBackoffMs = opts.retryBackoffMs ?? RETRY_BACKOFF_MS_DEFAULT;
    this.metadataMaxAgeMs = opts.metadataMaxAgeMs ?? METADATA_MAX_AGE_MS_DEFAULT;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * A connection to a broker by node id, opened on first use. Group coordination uses its own
   * connection ('group' lane), as the Java client does: a broker answers one connection's
   * requests in order, so a commit or heartbeat queued behind a long-polling Fetch would
   * otherwise wait for the poll to end.
   */
  connection(nodeId: number, lane: 'data' | 'group' = 'data'): Promise<Connection> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    const key = lane === 'data' ? String(nodeId) : `${lane}:${nodeId}`;
    const existing = this.connections.get(key);
    if (existing !== undefined) return existing;
    const address = nodeId <= BOOTSTRAP_NODE_BASE ? this.bootstrap[BOOTSTRAP_NODE_BASE - nodeId] : this.brokers.get(nodeId);
    if (address === undefined) return Promise.reject(new ConnectionError(`no address known for broker ${nodeId}`));
    const opening = Connection.open({
      host: address.host,
      port: address.port,
      clientId: this.clientId,
      connectTimeoutMs: this.connectTimeoutMs,
      requestTimeoutMs: this.requestTimeoutMs,
      onClose: () => {
        if (this.connections.get(key) === opening) this.connections.delete(key);
      },
    });
    this.connections.set(key, opening);
    opening.catch(() => {
      if (this.connections.get(key) === opening) this.connections.delete(key);
    });
    return opening;
  }

  /** Any live connection: an open one if there is one, else a known broker, else a bootstrap address. */
  async anyConnection(): Promise<Connection> {
    for (const p of this.connections.values()) {
      const c = await p.catch(() => null);
      if (c !== null && !c.isDead) return c;
    }
    const candidates = [...this.brokers.keys(), ...this.bootstrap.map((_, i) => BOOTSTRAP_NODE_BASE - i)];
    let lastErr: unknown = new ConnectionError('no broker reachable');
    for (const id of candidates) {
      try {
        return await this.connection(id);
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  }

  /** The node id's broker, or undefined. */
  broker(nodeId: number): BrokerInfo | undefined {
    return this.brokers.get(nodeId);
  }

  brokerList(): BrokerInfo[] {
    return [...this.brokers.values()];
  }

  topic(name: string): TopicInfo | undefined {
    return this.topics.get(name);
  }

  topicNameById(id: string): string | undefined {
    return this.topicNamesById.get(id);
  }

  knownTopics(): string[] {
    return [...this.topics.keys()];
  }

  /** Marks a topic's metadata stale so the next use refreshes it. */
  invalidate(topic: string): void {
    this.topicsFetchedAt.set(topic, 0);
  }

  /**
   * Metadata of `topics`, from cache when fresh, else refreshed. Topics that do not exist are
   * absent from the result (auto-created first when `allowAutoTopicCreation`), so callers decide
   * whether that is an error.
   */
  async topicsMetadata(topics: string[], opts: { allowAutoTopicCreation?: boolean; forceRefresh?: boolean } = {}): Promise<Map<string, TopicInfo>> {
    const now = Date.now();
    const stale = topics.filter(
      (t) => opts.forceRefresh || !this.topics.has(t) || now - (this.topicsFetchedAt.get(t) ?? 0) > this.metadataMaxAgeMs || !this.isHealthy(this.topics.get(t)!),
    );
    if (stale.length > 0) await this.refresh(stale, opts.allowAutoTopicCreation ?? false);
    const out = new Map<string, TopicInfo>();
    for (const t of topics) {
      const info = this.topics.get(t);
      if (info !== undefined) out.set(t, info);
    }
    return out;
  }

  private isHealthy(t: TopicInfo): boolean {
    return t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0);
  }

  /**
   * Waits until every topic exists with a leader for each partition, refreshing with backoff,
   * for at most `timeoutMs`.
   */
  async waitForTopics(topics: string[], timeoutMs: number, allowAutoTopicCreation = false): Promise<Map<string, TopicInfo>> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const md = await this.topicsMetadata(topics, { allowAutoTopicCreation, forceRefresh: attempt > 0 });
      const missing = topics.filter((t) => !md.has(t) || !this.isHealthy(md.get(t)!));
      if (missing.length === 0) return md;
      if (Date.now() + backoffMs(attempt, this.retryBackoffMs) > deadline) {
        throw new KafkaProtocolError(3, `topics ${missing.join(', ')} not available after ${timeoutMs} ms`);
      }
      await sleep(backoffMs(attempt, this.retryBackoffMs));
    }
  }

  /** Refreshes metadata of `topics` (all topics when null), coalescing concurrent callers. */
  async refresh(topics: string[] | null, allowAutoTopicCreation = false): Promise<void> {
    if (topics === null) return this.fetchMetadata(null, allowAutoTopicCreation);
    for (const t of topics) this.refreshWanted.add(t);
    while (this.refreshing !== null) {
      await this.refreshing.catch(() => undefined);
      if (topics.every((t) => !this.refreshWanted.has(t))) return;
    }
    const wanted = [...this.refreshWanted];
    this.refreshWanted.clear();
    this.refreshing = this.fetchMetadata(wanted, allowAutoTopicCreation);
    try {
      await this.refreshing;
    } finally {
      this.refreshing = null;
    }
  }

  private async fetchMetadata(topics: string[] | null, allowAutoTopicCreation: boolean): Promise<void> {
    const res = await this.withRetry('Metadata', async () => {
      const conn = await this.anyConnection();
      return conn.request(3, (v) => ({
        topics: topics === null ? (v >= 1 ? null : []) : topics.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })),
        allowAutoTopicCreation,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      }));
    });
    this.applyMetadata(res);
  }

  applyMetadata(res: import('../protocol/index.js').ResponseBodies[3]): void {
    for (const b of res.brokers) this.brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
    this.clusterId = res.clusterId;
    this.controllerId = res.controllerId;
    const now = Date.now();
    for (const t of res.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== 0 && t.errorCode !== 5) {
        // UNKNOWN_TOPIC_OR_PARTITION and friends: forget the topic; LEADER_NOT_AVAILABLE keeps it, leaderless.
        this.topics.delete(t.name);
        this.topicsFetchedAt.delete(t.name);
        continue;
      }
      const info: TopicInfo = {
        name: t.name,
        topicId: t.topicId,
        isInternal: t.isInternal,
        partitions: t.partitions
          .map((p) => ({
            partition: p.partitionIndex,
            leader: p.errorCode === 0 || p.errorCode === 9 ? p.leaderId : -1,
            leaderEpoch: p.leaderEpoch,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            errorCode: p.errorCode,
          }))
          .sort((a, b) => a.partition - b.partition),
      };
      this.topics.set(t.name, info);
      this.topicNamesById.set(t.topicId, t.name);
      this.topicsFetchedAt.set(t.name, now);
    }
  }

  /**
   * Runs `fn` up to REQUEST_ATTEMPTS_MAX times while it fails with a retriable error, with
   * exponential backoff between attempts.
   */
  async withRetry<T>(what: string, fn: (attempt: number) => Promise<T>, attempts = REQUEST_ATTEMPTS_MAX): Promise<T> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (this.closed) throw new ClientClosedError();
      try {
        return await fn(attempt);
      } catch (err) {
        lastErr = err;
        if (!isRetriableError(err) || attempt === attempts - 1) break;
        await sleep(backoffMs(attempt, this.retryBackoffMs));
      }
    }
    if (lastErr instanceof Error) throw lastErr;
    throw new TimeoutError(`${what} failed after ${attempts} attempts`);
  }

  /** The group coordinator's node id (FindCoordinator with key type 0). */
  async findCoordinator(groupId: string): Promise<number> {
    return this.withRetry('FindCoordinator', async () => {
      const conn = await this.anyConnection();
      const v = conn.versionOf(10);
      const res = await conn.request(10, { key: groupId, keyType: 0, coordinatorKeys: [groupId] });
      let nodeId: number;
      let host: string;
      let port: number;
      let errorCode: number;
      let errorMessage: string | null;
      if (v >= 4) {
        const c = res.coordinators.find((x) => x.key === groupId) ?? res.coordinators[0];
        if (c === undefined) throw new KafkaProtocolError(15, `FindCoordinator ${groupId}: empty answer`);
        ({ nodeId, host, port, errorCode, errorMessage } = c);
      } else {
        ({ nodeId, host, port, errorCode, errorMessage } = res);
      }
      if (errorCode !== 0) throw new KafkaProtocolError(errorCode, `FindCoordinator ${groupId}`, errorMessage);
      if (!this.brokers.has(nodeId)) this.brokers.set(nodeId, { nodeId, host, port, rack: null });
      return nodeId;
    });
  }

  /** Closes every connection; in-flight requests fail with ClientClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const conns = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(
      conns.map(async (p) => {
        const c = await p.catch(() => null);
        c?.destroy();
      }),
    );
  }
}
