/**
 * Brook's consumer, on the caller's thread. Partitions come from assign() or, with a groupId,
 * from the group (GroupMember runs join/sync/heartbeat in the background). One fetch loop per
 * leader broker long-polls its partitions and decodes the records into a prefetch buffer that
 * holds at most prefetchBytesMax bytes: a full buffer stops the fetch loops until records are
 * consumed, so a slow consumer never grows memory. Records are read with `for await` (one at a
 * time) or run({ eachBatch }) (one partition's batch at a time).
 *
 * Offsets: a partition's `position` is the next offset to fetch; `consumed` is the offset after
 * the last record the application finished with (a record yielded by the iterator counts as
 * finished when the next one is asked for; an eachBatch batch when its handler resolves). Auto
 * commit commits `consumed` every autoCommitIntervalMs, before partitions are revoked, and on
 * close. seek(), pause() and a revocation bump the partition's epoch so fetches already in
 * flight for it are dropped. Not thread-safe.
 */
import { Cluster, backoffMs, sleep, type ClientOptions } from './cluster.js';
import { ClientClosedError, InvalidArgumentError, isRetriableError, KafkaClientError, KafkaProtocolError } from './errors.js';
import type { AssignorName } from './assignors.js';
import { GroupMember } from './group-member.js';
import {
  AUTO_COMMIT_INTERVAL_MS_DEFAULT,
  BATCH_RECORDS_MAX,
  FETCH_MAX_BYTES_DEFAULT,
  FETCH_MAX_WAIT_MS_DEFAULT,
  FETCH_MIN_BYTES_DEFAULT,
  FETCH_PARTITION_MAX_BYTES_DEFAULT,
  HEARTBEAT_INTERVAL_MS_DEFAULT,
  PREFETCH_BYTES_MAX_DEFAULT,
  REBALANCE_TIMEOUT_MS_DEFAULT,
  SESSION_TIMEOUT_MS_DEFAULT,
} from './limits.js';
import { commitOffsets, CoordinatorCache, EARLIEST_TIMESTAMP, fetchCommittedOffsets, LATEST_TIMESTAMP, listOffsets, type TopicPartition } from './offsets.js';
import { decodeScanned, scanBatches, type ConsumerRecord, type ScannedBatches } from './record-batch.js';

export type { ConsumerRecord };

export interface ConsumerOptions extends ClientOptions {
  /** Joins this consumer group on subscribe(); without it, use assign(). */
  groupId?: string;
  groupInstanceId?: string;
  /** Assignors offered to the group, in order of preference. */
  assignors?: AssignorName[];
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  /** Where to start without a committed offset (auto.offset.reset); subscribe({ fromBeginning }) sets it too. */
  autoOffsetReset?: 'earliest' | 'latest';
  isolationLevel?: 'read_uncommitted' | 'read_committed';
  prefetchBytesMax?: number;
  fetchMaxBytes?: number;
  fetchPartitionMaxBytes?: number;
  fetchMaxWaitMs?: number;
  fetchMinBytes?: number;
}

/** The settings a consumer runs with, defaults filled in (for tools that print them). */
export interface ConsumerSettings {
  groupId: string | null;
  autoOffsetReset: 'earliest' | 'latest';
  isolationLevel: 'read_uncommitted' | 'read_committed';
  fetchMaxBytes: number;
  fetchPartitionMaxBytes: number;
  fetchMaxWaitMs: number;
  fetchMinBytes: number;
  prefetchBytesMax: number;
}

export interface Batch {
  topic: string;
  partition: number;
  records: ConsumerRecord[];
  highWatermark: number;
}

export interface RunOptions {
  eachBatch?: (batch: Batch) => Promise<void> | void;
  eachMessage?: (record: ConsumerRecord) => Promise<void> | void;
}

interface PartitionState {
  topic: string;
  partition: number;
  /** Next offset to fetch; null until resolved from a commit or the reset policy. */
  position: number | null;
  consumed: number | null;
  committed: number | null;
  paused: boolean;
  epoch: number;
  fetching: boolean;
  highWatermark: number;
}

/**
 * Fetched records waiting for delivery. A chunk holds whole batches as fetched and is decoded
 * only when it is delivered (decodeChunk): the prefetch buffer then holds bytes, not one object
 * and one Buffer view per record, which the garbage collector would otherwise copy and promote
 * while they wait (measured: GC took half the consumer's time for 100 B records).
 */
interface Chunk {
  state: PartitionState;
  epoch: number;
  /** null until decoded. */
  records: ConsumerRecord[] | null;
  batches: Buffer[];
  /** Records below this offset (earlier records of the first batch) are skipped when decoding. */
  fromOffset: number;
  decoding: Promise<void> | null;
  index: number;
  bytes: number;
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly cluster: Cluster;
  private readonly coordinators: CoordinatorCache;
  private readonly groupId: string | null;
  private readonly opts: ConsumerOptions;
  private readonly autoCommit: boolean;
  private autoOffsetReset: 'earliest' | 'latest';
  private readonly isolationLevel: number;
  private readonly prefetchBytesMax: number;
  private readonly states = new Map<string, PartitionState>();
  private readonly chunks: Chunk[] = [];
  private bufferedBytes = 0;
  private readonly fetchers = new Map<number, Promise<void>>();
  private dataWaiters: (() => void)[] = [];
  private spaceWaiters: (() => void)[] = [];
  private member: GroupMember | null = null;
  private subscription: { topics: string[]; patterns: RegExp[] } | null = null;
  private autoCommitTimer: NodeJS.Timeout | null = null;
  /**
   * The record the iterator yielded last (its partition, the partition's epoch then, its offset),
   * kept in three fields rather than an object per record.
   */
  private yieldedState: PartitionState | null = null;
  private yieldedEpoch = 0;
  private yieldedOffset = 0;
  private fatalError: Error | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private readonly pendingSeeks = new Map<string, number>();

  constructor(opts: ConsumerOptions) {
    this.opts = opts;
    this.cluster = new Cluster({ clientId: 'brook-consumer', ...opts });
    this.coordinators = new CoordinatorCache(this.cluster);
    this.groupId = opts.groupId ?? null;
    this.autoCommit = (opts.autoCommit ?? true) && this.groupId !== null;
    this.autoOffsetReset = opts.autoOffsetReset ?? 'latest';
    this.isolationLevel = opts.isolationLevel === 'read_committed' ? 1 : 0;
    this.prefetchBytesMax = opts.prefetchBytesMax ?? PREFETCH_BYTES_MAX_DEFAULT;
  }

  /** The settings in effect, defaults filled in. */
  get settings(): ConsumerSettings {
    return {
      groupId: this.groupId,
      autoOffsetReset: this.autoOffsetReset,
      isolationLevel: this.isolationLevel === 1 ? 'read_committed' : 'read_uncommitted',
      fetchMaxBytes: this.opts.fetchMaxBytes ?? FETCH_MAX_BYTES_DEFAULT,
      fetchPartitionMaxBytes: this.opts.fetchPartitionMaxBytes ?? FETCH_PARTITION_MAX_BYTES_DEFAULT,
      fetchMaxWaitMs: this.opts.fetchMaxWaitMs ?? FETCH_MAX_WAIT_MS_DEFAULT,
      fetchMinBytes: this.opts.fetchMinBytes ?? FETCH_MIN_BYTES_DEFAULT,
      prefetchBytesMax: this.prefetchBytesMax,
    };
  }

  // ---------------------------------------------------------------------------------------
  // Assignment.

  /** Subscribes the group to topics by name and/or pattern; partitions arrive when the group settles. */
  subscribe(opts: { topics: (string | RegExp)[]; fromBeginning?: boolean }): Promise<void> {
    // Not async (nothing in it awaits); the executor turns what it throws into a rejection.
    return new Promise<void>((resolve) => {
      this.assertOpen();
      if (this.groupId === null) throw new InvalidArgumentError('subscribe() needs a groupId; use assign() without a group');
      if (opts.fromBeginning !== undefined) this.autoOffsetReset = opts.fromBeginning ? 'earliest' : 'latest';
      this.subscription = {
        topics: opts.topics.filter((t): t is string => typeof t === 'string'),
        patterns: opts.topics.filter((t): t is RegExp => t instanceof RegExp),
      };
      if (this.member === null) {
        this.member = new GroupMember(
          this.cluster,
          this.coordinators,
          {
            groupId: this.groupId,
            groupInstanceId: this.opts.groupInstanceId ?? null,
            sessionTimeoutMs: this.opts.sessionTimeoutMs ?? SESSION_TIMEOUT_MS_DEFAULT,
            rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs ?? REBALANCE_TIMEOUT_MS_DEFAULT,
            heartbeatIntervalMs: this.opts.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS_DEFAULT,
            assignors: this.opts.assignors ?? ['cooperative-sticky', 'range'],
          },
          {
            subscribedTopics: () => this.subscribedTopics(),
            owned: () => this.assignment(),
            onAssigned: (added) => this.addPartitions(added),
            onRevoked: (revoked) => this.revokePartitions(revoked, true),
            onLost: (lost) => void this.revokePartitions(lost, false),
            onError: (err) => this.fail(err),
          },
        );
        this.member.start();
      } else {
        this.member.requestRejoin();
      }
      this.startAutoCommit();
      resolve();
    });
  }

  private async subscribedTopics(): Promise<string[]> {
    const sub = this.subscription;
    if (sub === null) return [];
    const topics = new Set(sub.topics);
    if (sub.patterns.length > 0) {
      await this.cluster.refresh(null);
      for (const t of this.cluster.knownTopics()) {
        if (!this.cluster.topic(t)?.isInternal && sub.patterns.some((p) => p.test(t))) topics.add(t);
      }
    }
    return [...topics];
  }

  /** Takes these partitions without a group (no rebalancing); replaces any earlier assign(). */
  async assign(partitions: TopicPartition[]): Promise<void> {
    this.assertOpen();
    if (this.member !== null) throw new InvalidArgumentError('assign() cannot be mixed with subscribe()');
    const keep = new Set(partitions.map((p) => tpKey(p.topic, p.partition)));
    await this.revokePartitions(
      this.assignment().filter((p) => !keep.has(tpKey(p.topic, p.partition))),
      this.autoCommit,
    );
    await this.addPartitions(partitions.filter((p) => !this.states.has(tpKey(p.topic, p.partition))));
    this.startAutoCommit();
  }

  /** Partitions this consumer holds now. */
  assignment(): TopicPartition[] {
    return [...this.states.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /** Resolves once a group consumer holds an assignment (true) or after timeoutMs (false). */
  async waitForAssignment(timeoutMs = 30_000): Promise<boolean> {
    if (this.member === null) return this.states.size > 0;
    return this.member.waitStable(timeoutMs);
  }

  private async addPartitions(added: TopicPartition[]): Promise<void> {
    if (added.length === 0) return;
    for (const tp of added) {
      // A state replaced here must look revoked to anything holding it (see nextChunk).
      const old = this.states.get(tpKey(tp.topic, tp.partition));
      if (old !== undefined) old.epoch++;
      this.states.set(tpKey(tp.topic, tp.partition), {
        topic: tp.topic,
        partition: tp.partition,
        position: null,
        consumed: null,
        committed: null,
        paused: false,
        epoch: 0,
        fetching: false,
        highWatermark: -1,
      });
    }
    await this.resolvePositions(added);
    this.ensureFetchers();
  }

  /** Positions from pending seeks, committed offsets, then the reset policy. */
  private async resolvePositions(tps: TopicPartition[]): Promise<void> {
    let need = tps.filter((tp) => {
      const s = this.states.get(tpKey(tp.topic, tp.partition));
      const seek = this.pendingSeeks.get(tpKey(tp.topic, tp.partition));
      if (s !== undefined && seek !== undefined) {
        this.pendingSeeks.delete(tpKey(tp.topic, tp.partition));
        s.position = s.consumed = seek;
        return false;
      }
      return s !== undefined && s.position === null;
    });
    if (need.length === 0) return;
    if (this.groupId !== null) {
      const committed = await fetchCommittedOffsets(this.coordinators, this.groupId, need);
      for (const c of committed) {
        const s = this.states.get(tpKey(c.topic, c.partition));
        if (s !== undefined && c.offset >= 0) s.position = s.consumed = s.committed = c.offset;
      }
      need = need.filter((tp) => this.states.get(tpKey(tp.topic, tp.partition))?.position === null);
    }
    if (need.length > 0) await this.resetOffsets(need);
  }

  private async resetOffsets(tps: TopicPartition[]): Promise<void> {
    const ts = this.autoOffsetReset === 'earliest' ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP;
    const offsets = await listOffsets(this.cluster, tps, ts, this.isolationLevel);
    for (const o of offsets) {
      const s = this.states.get(tpKey(o.topic, o.partition));
      if (s !== undefined) {
        s.position = s.consumed = o.offset;
        s.epoch++;
      }
    }
  }

  private async revokePartitions(revoked: TopicPartition[], commit: boolean): Promise<void> {
    if (revoked.length === 0) return;
    if (commit && this.autoCommit) await this.commit().catch((err: unknown) => this.reportCommitError(err));
    for (const tp of revoked) {
      const s = this.states.get(tpKey(tp.topic, tp.partition));
      if (s === undefined) continue;
      s.epoch++;
      this.states.delete(tpKey(tp.topic, tp.partition));
    }
    this.dropChunks((c) => !this.states.has(tpKey(c.state.topic, c.state.partition)));
  }

  private reportCommitError(err: unknown): void {
    // A failed commit before a revocation is not fatal: the next owner re-reads from the last commit.
    if (!(err instanceof KafkaClientError)) throw err;
  }

  // ---------------------------------------------------------------------------------------
  // Fetching.

  private ensureFetchers(): void {
    // After a fatal error nothing is fetched: the error is surfaced and the consumer must be closed.
    if (this.closed || this.fatalError !== null || this.cluster.isClosed) return;
    const nodes = new Set<number>();
    for (const s of this.states.values()) {
      if (s.paused || s.position === null) continue;
      const leader = this.cluster.topic(s.topic)?.partitions[s.partition]?.leader ?? -1;
      nodes.add(leader);
    }
    for (const node of nodes) {
      if (this.fetchers.has(node)) continue;
      const loop = this.fetchLoop(node).finally(() => {
        this.fetchers.delete(node);
        // Partitions may have moved meanwhile; the short delay keeps a loop with nothing to fetch
        // (its partitions still in flight on another broker) from spinning.
        if (!this.closed) setTimeout(() => this.ensureFetchers(), this.cluster.retryBackoffMs);
      });
      this.fetchers.set(node, loop);
    }
  }

  private fetchablePartitions(nodeId: number): PartitionState[] {
    const out: PartitionState[] = [];
    for (const s of this.states.values()) {
      if (s.paused || s.position === null || s.fetching) continue;
      const leader = this.cluster.topic(s.topic)?.partitions[s.partition]?.leader ?? -1;
      if (leader === nodeId) out.push(s);
    }
    return out;
  }

  /** Fetches from one broker while it leads partitions this consumer reads. */
  private async fetchLoop(nodeId: number): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      if (this.bufferedBytes >= this.prefetchBytesMax) {
        await this.waitForSpace();
        continue;
      }
      if (nodeId < 0) {
        // Partitions without a known leader: refresh metadata, then hand them to the right loop.
        const topics = [...new Set([...this.states.values()].map((s) => s.topic))];
        await sleep(backoffMs(failures, this.cluster.retryBackoffMs));
        await this.cluster.refresh(topics).catch(() => undefined);
        return;
      }
      const parts = this.fetchablePartitions(nodeId);
      if (parts.length === 0) return;
      try {
        await this.fetchOnce(nodeId, parts);
        failures = 0;
      } catch (err) {
        if (this.closed) return;
        if (!isRetriableError(err)) {
          this.fail(err as Error);
          return;
        }
        failures++;
        for (const t of new Set(parts.map((p) => p.topic))) this.cluster.invalidate(t);
        await sleep(backoffMs(failures, this.cluster.retryBackoffMs));
        await this.cluster.refresh([...new Set(parts.map((p) => p.topic))]).catch(() => undefined);
        if (this.fetchablePartitions(nodeId).length < parts.length) return;
      }
    }
  }

  private async fetchOnce(nodeId: number, parts: PartitionState[]): Promise<void> {
    const conn = await this.cluster.connection(nodeId);
    const epochs = parts.map((p) => p.epoch);
    const offsets = parts.map((p) => p.position!);
    const byTopic = new Map<string, PartitionState[]>();
    for (const p of parts) {
      let l = byTopic.get(p.topic);
      if (l === undefined) byTopic.set(p.topic, (l = []));
      l.push(p);
    }
    const maxWaitMs = this.opts.fetchMaxWaitMs ?? FETCH_MAX_WAIT_MS_DEFAULT;
    const fetchMaxBytes = Math.min(this.opts.fetchMaxBytes ?? FETCH_MAX_BYTES_DEFAULT, Math.max(1, this.prefetchBytesMax - this.bufferedBytes));
    for (const p of parts) p.fetching = true;
    let res;
    try {
      res = await conn.request(
        1,
        {
          clusterId: null,
          replicaId: -1,
          replicaState: { replicaId: -1, replicaEpoch: -1 },
          maxWaitMs,
          minBytes: this.opts.fetchMinBytes ?? FETCH_MIN_BYTES_DEFAULT,
          maxBytes: fetchMaxBytes,
          isolationLevel: this.isolationLevel,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [...byTopic].map(([topic, ps]) => ({
            topic,
            topicId: this.cluster.topic(topic)?.topicId ?? '00000000-0000-0000-0000-000000000000',
            partitions: ps.map((p) => ({
              partition: p.partition,
              currentLeaderEpoch: -1,
              fetchOffset: p.position!,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes: this.opts.fetchPartitionMaxBytes ?? FETCH_PARTITION_MAX_BYTES_DEFAULT,
              replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
            })),
          })),
          forgottenTopicsData: [],
          rackId: '',
        },
        { timeoutMs: this.cluster.requestTimeoutMs + maxWaitMs },
      );
    } finally {
      for (const p of parts) p.fetching = false;
    }
    if (res.errorCode !== 0) throw new KafkaProtocolError(res.errorCode, 'Fetch');
    const resets: TopicPartition[] = [];
    let retriable: KafkaProtocolError | null = null;
    for (const t of res.responses) {
      const topic = t.topic !== '' ? t.topic : (this.cluster.topicNameById(t.topicId) ?? '');
      for (const pd of t.partitions) {
        const i = parts.findIndex((p) => p.topic === topic && p.partition === pd.partitionIndex);
        if (i < 0) continue;
        const s = parts[i]!;
        if (s.epoch !== epochs[i] || this.states.get(tpKey(s.topic, s.partition)) !== s) continue;
        if (pd.errorCode === 1) {
          resets.push({ topic: s.topic, partition: s.partition });
          continue;
        }
        if (pd.errorCode !== 0) {
          const err = new KafkaProtocolError(pd.errorCode, `Fetch ${s.topic}-${s.partition}`);
          if (!err.retriable) throw err;
          retriable = err;
          continue;
        }
        s.highWatermark = pd.highWatermark;
        if (pd.records === null || pd.records.length === 0) continue;
        const scanned = scanBatches(pd.records, {
          topic: s.topic,
          partition: s.partition,
          fromOffset: offsets[i]!,
          abortedTransactions: this.isolationLevel === 1 ? (pd.abortedTransactions ?? []) : null,
        });
        if (scanned.nextOffset > s.position!) s.position = scanned.nextOffset;
        if (scanned.batches.length > 0) this.pushChunks(s, scanned, offsets[i]!);
      }
    }
    if (resets.length > 0) await this.resetOffsets(resets);
    if (retriable !== null) throw retriable;
  }

  /** Queues scanned batches as undecoded chunks of at most BATCH_RECORDS_MAX records (by header counts). */
  private pushChunks(state: PartitionState, scanned: ScannedBatches, fromOffset: number): void {
    const { batches, recordCounts } = scanned;
    const total = recordCounts.reduce((a, b) => a + b, 0);
    let from = 0;
    while (from < batches.length) {
      let to = from;
      let n = 0;
      while (to < batches.length && (to === from || n + recordCounts[to]! <= BATCH_RECORDS_MAX)) n += recordCounts[to++]!;
      const share = total === 0 ? 0 : Math.ceil(scanned.bytes * (n / total));
      this.chunks.push({ state, epoch: state.epoch, records: null, batches: batches.slice(from, to), fromOffset, decoding: null, index: 0, bytes: share });
      this.bufferedBytes += share;
      from = to;
    }
    const w = this.dataWaiters;
    this.dataWaiters = [];
    for (const f of w) f();
  }

  /**
   * Decodes a chunk's records when it is about to be delivered; synchronous unless a batch is
   * compressed. A chunk that decodes to more than BATCH_RECORDS_MAX records (one huge batch) is
   * split in place. A corrupt record is fatal, as a corrupt batch is at fetch time.
   */
  private decodeChunk(c: Chunk): void | Promise<void> {
    if (c.decoding !== null) return c.decoding;
    const records: ConsumerRecord[] = [];
    const opts = { topic: c.state.topic, partition: c.state.partition, fromOffset: c.fromOffset, abortedTransactions: null };
    const done = (): void => {
      c.decoding = null;
      if (records.length <= BATCH_RECORDS_MAX) {
        c.records = records;
        return;
      }
      c.records = records.slice(0, BATCH_RECORDS_MAX);
      const at = this.chunks.indexOf(c);
      const bytes = c.bytes;
      c.bytes = Math.ceil(bytes * (BATCH_RECORDS_MAX / records.length));
      for (let i = BATCH_RECORDS_MAX, k = 1; i < records.length; i += BATCH_RECORDS_MAX, k++) {
        const part = records.slice(i, i + BATCH_RECORDS_MAX);
        const share = Math.ceil(bytes * (part.length / records.length));
        this.bufferedBytes += share;
        const rest: Chunk = { state: c.state, epoch: c.epoch, records: part, batches: [], fromOffset: c.fromOffset, decoding: null, index: 0, bytes: share };
        if (at >= 0) this.chunks.splice(at + k, 0, rest);
        else this.releaseChunk(rest);
      }
    };
    const failed = (err: unknown): void => {
      c.decoding = null;
      c.records = [];
      this.fail(err as Error);
    };
    try {
      const p = decodeScanned(c.batches, opts, records);
      if (p === undefined) return done();
      c.decoding = p.then(done, failed);
      return c.decoding;
    } catch (err) {
      return failed(err);
    }
  }

  private waitForSpace(): Promise<void> {
    return new Promise((resolve) => {
      // Woken when records are consumed; the timer only re-checks for close().
      const timer = setTimeout(done, 1_000);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.spaceWaiters.push(done);
    });
  }

  private releaseChunk(c: Chunk): void {
    this.bufferedBytes -= c.bytes;
    const w = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const f of w) f();
  }

  private dropChunks(pred: (c: Chunk) => boolean): void {
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      if (pred(this.chunks[i]!)) this.releaseChunk(this.chunks.splice(i, 1)[0]!);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Delivery.

  /** The next chunk whose partition is still assigned, unpaused, and not re-positioned since. */
  private nextChunk(): Chunk | null {
    for (let i = 0; i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      // Every way a partition leaves this consumer or moves (revoke, replace, seek, pause, close)
      // bumps its epoch, so the epoch alone says the chunk is live; the iterator asks per record.
      const live = c.epoch === c.state.epoch;
      if (!live || (c.records !== null && c.index >= c.records.length)) {
        this.chunks.splice(i--, 1);
        this.releaseChunk(c);
        continue;
      }
      if (c.state.paused) continue;
      return c;
    }
    return null;
  }

  private waitForData(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.dataWaiters.push(done);
    });
  }

  private markYieldedConsumed(): void {
    const s = this.yieldedState;
    if (s === null) return;
    this.yieldedState = null;
    // Every way a partition leaves (revoke, seek, pause, close) bumps its epoch, so an unchanged
    // epoch means the partition is still this consumer's, at the same position.
    if (s.epoch === this.yieldedEpoch) s.consumed = this.yieldedOffset + 1;
  }

  /**
   * Records one at a time. A record counts as consumed (for commits) when the next one is asked
   * for, so an application that crashes mid-record sees it again. Ends when the consumer closes.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    try {
      while (true) {
        this.markYieldedConsumed();
        if (this.fatalError !== null) throw this.fatalError;
        if (this.closed) return;
        const c = this.nextChunk();
        if (c === null) {
          // The timeout only re-checks close() and errors; records wake the wait at once.
          await this.waitForData(1_000);
          continue;
        }
        if (c.records === null) {
          // Decoded now, then looked up again: the chunk may have gone meanwhile.
          const p = this.decodeChunk(c);
          if (p !== undefined) await p;
          continue;
        }
        const r = c.records[c.index++]!;
        if (c.index >= c.records.length) {
          this.chunks.splice(this.chunks.indexOf(c), 1);
          this.releaseChunk(c);
        }
        this.yieldedState = c.state;
        this.yieldedEpoch = c.epoch;
        this.yieldedOffset = r.offset;
        yield r;
      }
    } finally {
      this.markYieldedConsumed();
    }
  }

  /**
   * Runs a handler over the records in the background: eachBatch receives one partition's
   * fetched records at a time, eachMessage one record. A handler that throws has its batch
   * delivered again (from its first record not yet finished) after a backoff. Resolves once
   * started; the loop ends with close().
   */
  run(opts: RunOptions): Promise<void> {
    // Not async (nothing here awaits); the executor turns what it throws into a rejection.
    return new Promise<void>((resolve) => {
      this.assertOpen();
      if (this.running !== null) throw new InvalidArgumentError('run() is already running');
      if (opts.eachBatch === undefined && opts.eachMessage === undefined) throw new InvalidArgumentError('run() needs eachBatch or eachMessage');
      this.running = this.runLoop(opts);
      resolve();
    });
  }

  private async runLoop(opts: RunOptions): Promise<void> {
    let failures = 0;
    while (!this.closed && this.fatalError === null) {
      const c = this.nextChunk();
      if (c === null) {
        await this.waitForData(1_000);
        continue;
      }
      if (c.records === null) {
        const p = this.decodeChunk(c);
        if (p !== undefined) await p;
        continue;
      }
      this.chunks.splice(this.chunks.indexOf(c), 1);
      const records = c.index === 0 ? c.records : c.records.slice(c.index);
      const state = c.state;
      let done = 0;
      try {
        if (opts.eachBatch !== undefined) {
          await opts.eachBatch({ topic: state.topic, partition: state.partition, records, highWatermark: state.highWatermark });
          done = records.length;
        } else {
          for (const r of records) {
            if (state.epoch !== c.epoch || this.closed) break;
            await opts.eachMessage!(r);
            done++;
            state.consumed = r.offset + 1;
          }
        }
        failures = 0;
      } catch (err) {
        failures++;
        // Deliver again from the first record not finished.
        if (state.epoch === c.epoch && this.states.get(tpKey(state.topic, state.partition)) === state && done < records.length) {
          this.seekState(state, records[done]!.offset);
        }
        void err;
        await sleep(backoffMs(failures, this.cluster.retryBackoffMs));
      } finally {
        this.releaseChunk(c);
      }
      if (done > 0 && state.epoch === c.epoch && this.states.get(tpKey(state.topic, state.partition)) === state) state.consumed = records[done - 1]!.offset + 1;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Position control.

  /** Moves a partition's position: the next record delivered is at `offset`. */
  seek(tp: { topic: string; partition: number; offset: number }): void {
    this.assertOpen();
    const s = this.states.get(tpKey(tp.topic, tp.partition));
    if (s === undefined) {
      // Not assigned yet (a group still joining): applied when it is.
      this.pendingSeeks.set(tpKey(tp.topic, tp.partition), tp.offset);
      return;
    }
    this.seekState(s, tp.offset);
  }

  private seekState(s: PartitionState, offset: number): void {
    s.position = offset;
    s.consumed = offset;
    s.epoch++;
    if (this.yieldedState === s) this.yieldedState = null;
    this.dropChunks((c) => c.state === s);
    this.ensureFetchers();
  }

  /** Stops fetching and delivering these topics (all partitions, or those listed). */
  pause(topics: { topic: string; partitions?: number[] }[]): void {
    for (const s of this.matching(topics)) {
      s.paused = true;
      // Buffered records are dropped and fetched again after resume, so pausing frees memory.
      s.position = s.consumed;
      s.epoch++;
    }
    this.dropChunks((c) => c.state.paused);
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    for (const s of this.matching(topics)) s.paused = false;
    this.ensureFetchers();
  }

  paused(): TopicPartition[] {
    return [...this.states.values()].filter((s) => s.paused).map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  private matching(topics: { topic: string; partitions?: number[] }[]): PartitionState[] {
    return [...this.states.values()].filter((s) => topics.some((t) => t.topic === s.topic && (t.partitions === undefined || t.partitions.includes(s.partition))));
  }

  /** The next offset each assigned partition will deliver. */
  position(tp: TopicPartition): number | null {
    return this.states.get(tpKey(tp.topic, tp.partition))?.consumed ?? null;
  }

  // ---------------------------------------------------------------------------------------
  // Commits.

  /**
   * Commits offsets: those given, or else the consumed position of every assigned partition
   * that moved since its last commit. Needs a groupId.
   */
  async commit(offsets?: { topic: string; partition: number; offset: number }[]): Promise<void> {
    if (this.groupId === null) throw new InvalidArgumentError('commit() needs a groupId');
    this.markYieldedConsumed();
    const list =
      offsets ??
      [...this.states.values()].filter((s) => s.consumed !== null && s.consumed !== s.committed).map((s) => ({ topic: s.topic, partition: s.partition, offset: s.consumed! }));
    if (list.length === 0) return;
    await commitOffsets(this.coordinators, this.groupId, list, {
      generationId: this.member?.generationId ?? -1,
      memberId: this.member?.memberId ?? '',
      groupInstanceId: this.opts.groupInstanceId ?? null,
    });
    for (const o of list) {
      const s = this.states.get(tpKey(o.topic, o.partition));
      if (s !== undefined) s.committed = o.offset;
    }
  }

  /** The group's committed offsets of the assigned partitions. */
  async committed(tps: TopicPartition[] = this.assignment()): Promise<{ topic: string; partition: number; offset: number }[]> {
    if (this.groupId === null) throw new InvalidArgumentError('committed() needs a groupId');
    return (await fetchCommittedOffsets(this.coordinators, this.groupId, tps)).map(({ topic, partition, offset }) => ({ topic, partition, offset }));
  }

  private startAutoCommit(): void {
    if (!this.autoCommit || this.autoCommitTimer !== null) return;
    const interval = this.opts.autoCommitIntervalMs ?? AUTO_COMMIT_INTERVAL_MS_DEFAULT;
    this.autoCommitTimer = setInterval(() => {
      if (this.member !== null && !this.member.isStable) return;
      this.commit().catch((err: unknown) => this.reportCommitError(err));
    }, interval);
    this.autoCommitTimer.unref();
  }

  // ---------------------------------------------------------------------------------------
  // Lifecycle.

  private fail(err: Error): void {
    this.fatalError ??= err;
    const w = this.dataWaiters;
    this.dataWaiters = [];
    for (const f of w) f();
  }

  private assertOpen(): void {
    if (this.closed) throw new ClientClosedError('consumer');
  }

  /** Commits (with auto commit), leaves the group, and closes every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.markYieldedConsumed();
    if (this.autoCommitTimer !== null) clearInterval(this.autoCommitTimer);
    try {
      if (this.autoCommit && this.states.size > 0) await this.commit().catch((err: unknown) => this.reportCommitError(err));
      await this.member?.leave();
    } finally {
      this.closed = true;
      for (const s of this.states.values()) s.epoch++;
      this.fail(new ClientClosedError('consumer'));
      this.fatalError = null;
      for (const f of this.spaceWaiters.splice(0)) f();
      await this.running?.catch(() => undefined);
      await this.cluster.close();
      await this.member?.stopped();
      await Promise.all([...this.fetchers.values()].map((p) => p.catch(() => undefined)));
    }
  }
}
