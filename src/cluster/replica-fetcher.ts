/**
 * ReplicaFetcher: how this node's follower replicas pull from their leaders (Kafka's replica
 * fetcher threads). Lives on the main thread; one fetch loop per leader node, each on its own
 * connection, carrying every partition this node follows there in one Fetch request with this
 * node's replica id, its log end as the fetch offset and its last fetched epoch (KIP-595's
 * divergence check). The leader answers with records up to its log end, its high watermark and
 * log start, or the epoch to truncate by; each partition's answer goes to the local replica actor
 * (AppendReplica, TruncateOnDivergence, ResetTo), and the next fetch starts from where that left
 * the log. The leader long-polls, so a follower learns of new records at once.
 *
 * The PartitionManager says what to follow (`follow`, `unfollow`) as the metadata image changes.
 * Bounded: one request in flight per leader; per partition at most `partitionMaxBytes` per fetch;
 * every request has a timeout; a failed connection is retried after `backoffMs`.
 *
 * Reassignment throttle (Kafka's replication quotas, KIP-73, as `kafka-reassign-partitions
 * --throttle` sets them): a partition this node is being added to by a reassignment is
 * throttled. Its fetches take at most `follower.replication.throttled.rate` bytes/s of this
 * node (a broker config: this node's own value, else the cluster-wide default) and at most
 * `leader.replication.throttled.rate` bytes/s of its leader node's, both as token buckets with
 * one second of burst that every throttled partition draws from. Unset, a rate is unlimited.
 * A throttled partition asks for no more bytes than the buckets hold and sits out the fetches
 * while they are empty; a batch larger than that still comes whole (the leader always sends at
 * least one), and the bucket goes into debt for it. Both rates are enforced here, on the
 * follower: the leader's side is the sum of what its throttled followers fetch, each bounded by
 * the leader's rate.
 */
import { Connection } from '../client/connection.js';
import { errorName } from '../protocol/errors.js';
import type { FetchResponse } from '../protocol/messages/fetch.js';
import type { ReplicaStatus } from '../../actors/partition/messages.js';
import { addingReplicasOf, type MetadataImage, type TopicImage } from './metadata-image.js';
import type { AskResult, PartitionClient } from './partition-client.js';
import { brokerConfigValue } from './reassignment.js';

export interface ReplicaFetcherSettings {
  /** How long the leader may hold a fetch with nothing new (Kafka's replica.fetch.wait.max.ms). */
  readonly fetchWaitMaxMs: number;
  /** Per partition per fetch (replica.fetch.max.bytes) and per fetch (replica.fetch.response.max.bytes). */
  readonly partitionMaxBytes: number;
  readonly fetchMaxBytes: number;
  readonly requestTimeoutMs: number;
  /** After a failed fetch or a partition's error (replica.fetch.backoff.ms). */
  readonly backoffMs: number;
}

export const replicaFetcherDefaults: ReplicaFetcherSettings = {
  fetchWaitMaxMs: 500,
  partitionMaxBytes: 1024 * 1024,
  fetchMaxBytes: 10 * 1024 * 1024,
  requestTimeoutMs: 30_000,
  backoffMs: 500,
};

interface Followed {
  readonly topic: TopicImage;
  readonly partition: number;
  readonly leaderEpoch: number;
  /** Unknown until the replica's status was read. */
  fetchOffset: number;
  lastFetchedEpoch: number;
  highWatermark: number;
  /** No fetch for it before this time (after an error). */
  delayedUntil: number;
  /** The leader's log end at the last answer, for the lag it reports. */
  leaderLogEnd: number;
}

interface FetcherLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const key = (topicId: string, partition: number) => `${topicId}:${partition}`;

/** A rate limit in bytes/s as a token bucket with one second of burst; may go into debt. */
export class RateBucket {
  private tokens = Number.POSITIVE_INFINITY;
  private rate = Number.POSITIVE_INFINITY;
  private at = 0;

  /** Tops the bucket up for the time since the last call, at `rate` bytes/s (Infinity: unlimited). */
  refill(rate: number, now: number): void {
    if (rate !== this.rate) {
      // A new rate starts with a full second of it.
      this.rate = rate;
      this.tokens = rate;
    } else if (Number.isFinite(rate)) {
      this.tokens = Math.min(rate, this.tokens + ((now - this.at) / 1000) * rate);
    }
    this.at = now;
  }

  /** Bytes that may be fetched now (Infinity when unlimited, 0 or less while in debt). */
  get available(): number {
    return this.tokens;
  }

  /** Milliseconds until the bucket holds something again. */
  get waitMs(): number {
    return this.tokens > 0 || !Number.isFinite(this.rate) ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  take(bytes: number): void {
    if (Number.isFinite(this.tokens)) this.tokens -= bytes;
  }
}

/** A throttle rate config as bytes/s; unset (or Kafka's Long.MAX_VALUE default) is unlimited. */
function rateOf(value: string | undefined): number {
  const n = Number(value);
  return value === undefined || !Number.isFinite(n) || n <= 0 || n >= Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : n;
}

/** The buckets every leader loop of one node shares. */
class Throttle {
  readonly follower = new RateBucket();
  private readonly leaders = new Map<number, RateBucket>();

  constructor(
    private readonly nodeId: number,
    private readonly image: MetadataImage,
  ) {}

  /** Whether this node is being added to the partition by a reassignment (its fetches are throttled). */
  throttled(topicId: string, partition: number): boolean {
    const p = this.image.topicsById.get(topicId)?.partitions[partition];
    return p !== undefined && addingReplicasOf(p).includes(this.nodeId);
  }

  /** The buckets for fetching from `leader`, topped up to `now`. */
  buckets(leader: number, now: number): [RateBucket, RateBucket] {
    let l = this.leaders.get(leader);
    if (!l) this.leaders.set(leader, (l = new RateBucket()));
    this.follower.refill(rateOf(brokerConfigValue(this.image, this.nodeId, 'follower.replication.throttled.rate')), now);
    l.refill(rateOf(brokerConfigValue(this.image, leader, 'leader.replication.throttled.rate')), now);
    return [this.follower, l];
  }
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class ReplicaFetcher {
  private readonly loops = new Map<number, LeaderLoop>();
  private closed = false;
  private readonly throttle: Throttle;

  constructor(
    private readonly nodeId: number,
    private readonly image: MetadataImage,
    private readonly partitions: PartitionClient,
    private readonly log: FetcherLog,
    private readonly settings: ReplicaFetcherSettings = replicaFetcherDefaults,
  ) {
    this.throttle = new Throttle(nodeId, image);
  }

  /** Follows `leader` for this partition in `leaderEpoch` (replacing what it followed before). */
  follow(topic: TopicImage, partition: number, leader: number, leaderEpoch: number): void {
    if (this.closed) return;
    const k = key(topic.topicId, partition);
    for (const [id, loop] of this.loops) if (id !== leader) loop.remove(k);
    let loop = this.loops.get(leader);
    if (!loop) {
      loop = new LeaderLoop(leader, this.nodeId, this.image, this.partitions, this.log, this.settings, this.throttle, () => {
        if (this.loops.get(leader) === loop) this.loops.delete(leader);
      });
      this.loops.set(leader, loop);
    }
    loop.add(k, { topic, partition, leaderEpoch, fetchOffset: -1, lastFetchedEpoch: -1, highWatermark: -1, delayedUntil: 0, leaderLogEnd: -1 });
  }

  unfollow(topicId: string, partition: number): void {
    const k = key(topicId, partition);
    for (const loop of this.loops.values()) loop.remove(k);
  }

  /**
   * Records each followed partition is behind its leader's log end (as of the last answer), for
   * /metrics and the console; `throttled` for one a reassignment is adding this node to.
   */
  lag(): { topic: string; partition: number; leader: number; lagRecords: number; throttled: boolean }[] {
    const out: { topic: string; partition: number; leader: number; lagRecords: number; throttled: boolean }[] = [];
    for (const [leader, loop] of this.loops) {
      for (const f of loop.followed()) {
        if (f.leaderLogEnd >= 0 && f.fetchOffset >= 0) {
          out.push({
            topic: f.topic.name,
            partition: f.partition,
            leader,
            lagRecords: Math.max(0, f.leaderLogEnd - f.fetchOffset),
            throttled: this.throttle.throttled(f.topic.topicId, f.partition),
          });
        }
      }
    }
    return out;
  }

  close(): void {
    this.closed = true;
    for (const loop of this.loops.values()) loop.close();
    this.loops.clear();
  }
}

/** The fetch loop towards one leader node. */
class LeaderLoop {
  private readonly partitions = new Map<string, Followed>();
  private conn: Connection | undefined;
  private running = false;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly leader: number,
    private readonly nodeId: number,
    private readonly image: MetadataImage,
    private readonly client: PartitionClient,
    private readonly log: FetcherLog,
    private readonly settings: ReplicaFetcherSettings,
    private readonly throttle: Throttle,
    private readonly onIdle: () => void,
  ) {}

  add(k: string, f: Followed): void {
    const had = this.partitions.get(k);
    // The same leadership again (a re-sent role): keep where the fetch got to.
    if (had && had.leaderEpoch === f.leaderEpoch) return;
    this.partitions.set(k, f);
    this.wake?.();
    if (!this.running) void this.run();
  }

  remove(k: string): void {
    this.partitions.delete(k);
  }

  followed(): IterableIterator<Followed> {
    return this.partitions.values();
  }

  close(): void {
    this.closed = true;
    this.partitions.clear();
    this.wake?.();
    this.conn?.destroy();
    this.conn = undefined;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.partitions.size > 0) {
        try {
          const fetched = await this.fetchOnce();
          if (!fetched) await this.idle();
        } catch (err) {
          if (this.closed) break;
          this.log.warn({ leader: this.leader, err: (err as Error).message }, 'replica fetch failed; retrying');
          this.conn?.destroy();
          this.conn = undefined;
          await sleep(this.settings.backoffMs);
        }
      }
    } finally {
      this.running = false;
      this.conn?.destroy();
      this.conn = undefined;
      if (this.partitions.size === 0 || this.closed) this.onIdle();
      else void this.run();
    }
  }

  /** Waits until a partition's delay ends or one is added (bounded by the backoff). */
  private idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.settings.backoffMs);
      timer.unref();
      this.wake = done;
    });
  }

  /** One fetch round: false when no partition was ready to fetch. */
  private async fetchOnce(): Promise<boolean> {
    const now = Date.now();
    const ready: Followed[] = [];
    const s = this.settings;
    // Throttled partitions (a reassignment adding this node) share what the buckets hold.
    const buckets = this.throttle.buckets(this.leader, now);
    const allowance = Math.min(buckets[0].available, buckets[1].available);
    const throttled = new Set<Followed>();
    for (const f of this.partitions.values()) {
      if (f.delayedUntil > now) continue;
      if (this.throttle.throttled(f.topic.topicId, f.partition)) {
        if (allowance <= 0) {
          f.delayedUntil = now + Math.min(s.backoffMs, Math.max(buckets[0].waitMs, buckets[1].waitMs));
          continue;
        }
        throttled.add(f);
      }
      if (f.fetchOffset < 0 && !(await this.loadStatus(f))) continue;
      ready.push(f);
    }
    if (ready.length === 0) return false;
    const conn = await this.connection();
    const maxBytesOf = (f: Followed) => (throttled.has(f) ? Math.max(1, Math.min(s.partitionMaxBytes, Math.floor(allowance))) : s.partitionMaxBytes);
    const byTopic = new Map<string, Followed[]>();
    for (const f of ready) {
      const list = byTopic.get(f.topic.topicId) ?? [];
      list.push(f);
      byTopic.set(f.topic.topicId, list);
    }
    const res = await conn.request(
      1,
      {
        clusterId: null,
        replicaId: this.nodeId,
        replicaState: { replicaId: this.nodeId, replicaEpoch: -1 },
        maxWaitMs: s.fetchWaitMaxMs,
        minBytes: 1,
        maxBytes: s.fetchMaxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic.values()].map((list) => ({
          topic: list[0]!.topic.name,
          topicId: list[0]!.topic.topicId,
          partitions: list.map((f) => ({
            partition: f.partition,
            currentLeaderEpoch: f.leaderEpoch,
            fetchOffset: f.fetchOffset,
            lastFetchedEpoch: f.lastFetchedEpoch,
            logStartOffset: -1,
            partitionMaxBytes: maxBytesOf(f),
            replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
          })),
        })),
        forgottenTopicsData: [],
        rackId: '',
      },
      { timeoutMs: s.fetchWaitMaxMs + s.requestTimeoutMs },
    );
    if (res.errorCode !== 0) throw new Error(`fetch from node ${this.leader} failed: ${errorName(res.errorCode) ?? res.errorCode}`);
    const work: Promise<void>[] = [];
    for (const t of res.responses) {
      const list = byTopic.get(t.topicId) ?? [...byTopic.values()].find((l) => l[0]!.topic.name === t.topic);
      for (const p of t.partitions) {
        const f = list?.find((x) => x.partition === p.partitionIndex);
        if (!f) continue;
        if (throttled.has(f)) for (const b of buckets) b.take(p.records?.length ?? 0);
        work.push(this.apply(f, p));
      }
    }
    await Promise.all(work);
    return true;
  }

  /** Reads the replica's log end and latest epoch before its first fetch. */
  private async loadStatus(f: Followed): Promise<boolean> {
    const r = await this.client.ask(this.client.replicaRoute(f.topic, f.partition), { type: 'GetReplicaStatus' });
    if (!r.ok) {
      f.delayedUntil = Date.now() + this.settings.backoffMs;
      return false;
    }
    this.took(f, r.value);
    return true;
  }

  /** One partition's answer, applied to the local replica unless it stopped following meanwhile. */
  private async apply(f: Followed, p: FetchResponse.PartitionData): Promise<void> {
    const k = key(f.topic.topicId, f.partition);
    if (this.partitions.get(k) !== f) return;
    const route = this.client.replicaRoute(f.topic, f.partition);
    const code = errorName(p.errorCode);
    let r: AskResult<ReplicaStatus>;
    if (p.errorCode === 0 && p.divergingEpoch && (p.divergingEpoch.epoch >= 0 || p.divergingEpoch.endOffset >= 0)) {
      r = await this.client.ask(route, { type: 'TruncateOnDivergence', leaderEpoch: f.leaderEpoch, epoch: p.divergingEpoch.epoch, endOffset: p.divergingEpoch.endOffset });
    } else if (code === 'OFFSET_OUT_OF_RANGE' && p.logStartOffset >= 0) {
      // Behind the leader's log start: start over there. Ahead of its log end: cut back to its high watermark.
      if (f.fetchOffset < p.logStartOffset) r = await this.client.ask(route, { type: 'ResetTo', leaderEpoch: f.leaderEpoch, offset: p.logStartOffset });
      else r = await this.client.ask(route, { type: 'TruncateOnDivergence', leaderEpoch: f.leaderEpoch, epoch: -1, endOffset: Math.max(p.highWatermark, p.logStartOffset) });
    } else if (p.errorCode !== 0) {
      // NOT_LEADER_OR_FOLLOWER, a fenced or unknown epoch, an unknown partition: the metadata will say what to follow.
      f.delayedUntil = Date.now() + this.settings.backoffMs;
      return;
    } else {
      const records = p.records ?? Buffer.alloc(0);
      if (records.length === 0 && p.highWatermark === f.highWatermark) {
        f.leaderLogEnd = Math.max(f.leaderLogEnd, p.highWatermark);
        return;
      }
      const own = new Uint8Array(records.length);
      own.set(records);
      r = await this.client.ask(
        route,
        { type: 'AppendReplica', leaderEpoch: f.leaderEpoch, records: own, leaderHighWatermark: p.highWatermark, leaderLogStartOffset: p.logStartOffset },
        { transfer: [own.buffer] },
      );
    }
    if (this.partitions.get(k) !== f) return;
    if (!r.ok) {
      this.log.warn({ topic: f.topic.name, partition: f.partition, leader: this.leader, error: r.code, reason: r.message }, 'replica could not apply what its leader sent');
      f.delayedUntil = Date.now() + this.settings.backoffMs;
      f.fetchOffset = -1; // read the replica's state again before the next fetch
      return;
    }
    this.took(f, r.value);
    f.leaderLogEnd = Math.max(p.highWatermark, f.fetchOffset);
  }

  private took(f: Followed, s: ReplicaStatus): void {
    f.fetchOffset = s.logEndOffset;
    f.lastFetchedEpoch = s.latestEpoch;
    f.highWatermark = s.highWatermark;
  }

  private async connection(): Promise<Connection> {
    if (this.conn && !this.conn.isDead) return this.conn;
    const b = this.image.brokers.get(this.leader);
    if (!b) throw new Error(`node ${this.leader} has no registered address`);
    this.conn = await Connection.open({
      host: b.host,
      port: b.port,
      clientId: `brook-replica-fetcher-${this.nodeId}`,
      connectTimeoutMs: Math.min(5_000, this.settings.requestTimeoutMs),
      requestTimeoutMs: this.settings.requestTimeoutMs,
    });
    return this.conn;
  }
}
