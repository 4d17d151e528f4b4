/**
 * PartitionClient: how the main thread reaches a partition (Kafka gateway, HTTP gateway,
 * partition manager). Lives on the main thread; a node view. It owns the three steps every
 * caller used to write for itself: route (RoutingTable: topic-partition → the leader actor's
 * address, or UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER / UNKNOWN_TOPIC_ID at once),
 * ask (typed by PartitionProtocol, through the one ask path, ActorAsks), and map a failure to a
 * Kafka error code (actor-errors.ts). It also owns waiting for a partition's high watermark to
 * move (HighWatermarkWatch) and reading every local partition's own state for the console.
 *
 * Asks never reject: a result is a reply or a Kafka error code, so a handler answers each
 * partition on its own.
 */
import type { PartitionProtocol, PartitionState } from '../../actors/partition/messages.js';
import type { AskableType, MessageOf, ReplyOf } from '../runtime/protocol.js';
import type { Supervisor } from '../runtime/supervisor.js';
import { LogReaders } from '../storage/log-readers.js';
import { ActorAsks, type AskOptions } from './actor-asks.js';
import { BatchCache, type AppendedForCache, type CachedRead } from './batch-cache.js';
import { partitionErrorOf, refused, type AskResult } from './actor-errors.js';
import { HighWatermarkWatch, type CommitOutcome } from './high-watermark-watch.js';
import type { TopicImage } from './metadata-image.js';
import { partitionActorId, type PartitionAddress, type Route, type RoutingTable } from './routing-table.js';

export type { AskResult, PartitionAddress, Route };

/** A message any caller may ask a partition, of type `K`. */
export type PartitionAsk<K extends AskableType<PartitionProtocol>> = MessageOf<PartitionProtocol, K>;

export class PartitionClient {
  private readonly watch: HighWatermarkWatch;

  constructor(
    private readonly asks: ActorAsks,
    private readonly routes: RoutingTable,
    private readonly supervisor: Supervisor,
    /** Recent batches of each partition, filled from acknowledged appends (off when its size is 0). */
    readonly batchCache: BatchCache = new BatchCache(0),
    /** Threads reading partition logs for fetches the cache misses (none: the actor reads). */
    readonly readers: LogReaders = new LogReaders(0),
  ) {
    this.watch = new HighWatermarkWatch(supervisor);
  }

  /** The leader of a partition, by topic name. */
  route(topic: string, partition: number): Route {
    return this.routes.leader(topic, partition);
  }

  /** The leader of a partition, by topic id (Fetch 13+), or by name when `byId` is false. */
  routeOf(topic: string, topicId: string, partition: number, byId: boolean): Route {
    return byId ? this.routes.leaderById(topicId, partition) : this.routes.leader(topic, partition);
  }

  /** Asks a routed partition; an unroutable one is answered with its routing error at once. */
  async ask<K extends AskableType<PartitionProtocol>>(route: Route, msg: PartitionAsk<K>, opts?: AskOptions): Promise<AskResult<ReplyOf<PartitionProtocol, K>>> {
    if (!route.ok) return refused(route.error);
    try {
      const value = await this.asks.ask(route.address, msg, opts);
      // An acknowledged append's stored batches fill the batch cache, in the order the replies come.
      if (msg.type === 'Append') this.batchCache.appended(route.topic.topicId, route.partition.partition, value as AppendedForCache);
      return { ok: true, value };
    } catch (err) {
      return { ok: false, ...partitionErrorOf(err) };
    }
  }

  /** Routes by name, then asks (the HTTP gateway's and the partition manager's way in). */
  askByName<K extends AskableType<PartitionProtocol>>(
    topic: string,
    partition: number,
    msg: PartitionAsk<K>,
    opts?: AskOptions,
  ): Promise<AskResult<ReplyOf<PartitionProtocol, K>>> {
    return this.ask(this.route(topic, partition), msg, opts);
  }

  /**
   * Whole batches from `fetchOffset` up to `maxBytes` out of the batch cache, below the high
   * watermark and at or above the log start; null when the cache cannot answer (ask `Read`).
   */
  cachedRead(route: Route, fetchOffset: number, maxBytes: number, behindOk = false): CachedRead | null {
    if (!route.ok || !this.batchCache.enabled) return null;
    return this.batchCache.read(route.topic.topicId, route.partition.partition, fetchOffset, maxBytes, behindOk);
  }

  /**
   * The same read from a log reader thread (src/storage/log-readers.ts), off the partition's
   * thread: only of committed records (at or above the log start, below the high watermark, as
   * the partition's shared state says), and answered only if nothing that may remove batches
   * happened meanwhile (the state's epoch is unchanged). Null sends the read to the actor.
   */
  async readerRead(route: Route, fetchOffset: number, maxBytes: number): Promise<CachedRead | null> {
    if (!route.ok || !this.readers.enabled) return null;
    const state = this.batchCache.logState(route.topic.topicId, route.partition.partition);
    const before = state?.reader.read();
    if (!state || !before || fetchOffset < before.logStartOffset || fetchOffset >= before.highWatermark) return null;
    const records = await this.readers.read({ path: state.path, fetchOffset, maxBytes, limit: before.highWatermark });
    if (records === null || records.length === 0) return null;
    const after = state.reader.read();
    if (!after || after.epoch !== before.epoch) return null;
    return { records: Buffer.from(records.buffer, records.byteOffset, records.byteLength), highWatermark: after.highWatermark, logStartOffset: after.logStartOffset };
  }

  /**
   * Resolves when any of the routed partitions has new records (with the actor id of the first
   * that did), or after `timeoutMs` (with null): a long-polling fetch.
   */
  waitForRecords(routes: readonly Route[], timeoutMs: number): Promise<string | null> {
    const actorIds = routes.flatMap((r) => (r.ok ? [r.address.actorId] : []));
    return this.watch.wait(actorIds, timeoutMs);
  }

  /** The leader here or, failing that, this node's follower replica: where a fetch from a follower (KIP-392) reads. */
  readerRouteOf(topic: string, topicId: string, partition: number, byId: boolean): Route {
    return this.routes.reader(topic, topicId, partition, byId);
  }

  /** This node's replica of a partition, whether it leads or follows (replication's asks). */
  replicaRoute(topic: TopicImage | undefined, partition: number): Route {
    return this.routes.replica(topic, partition);
  }

  /**
   * acks=all: resolves once the partition's high watermark passes `endOffset` in the leader epoch
   * the records were appended in (null), or why the produce fails (KafkaErrorName).
   */
  waitForCommit(route: Route, endOffset: number, leaderEpoch: number, timeoutMs: number): Promise<CommitOutcome> {
    if (!route.ok) return Promise.resolve('NOT_LEADER_OR_FOLLOWER');
    return this.watch.waitForCommit(route.address.actorId, endOffset, leaderEpoch, timeoutMs);
  }

  /** Calls `onAdvanced` whenever the partition's high watermark moves; returns the unsubscribe (live tail). */
  onHighWatermark(address: PartitionAddress, onAdvanced: () => void): () => void {
    return this.watch.subscribe(address.actorId, onAdvanced);
  }

  /** Every partition actor's own state on this node, by actor id (one control call per thread). */
  async localStates(): Promise<Map<string, PartitionState>> {
    const out = new Map<string, PartitionState>();
    for (const t of await this.supervisor.threads()) {
      for (const a of t.actors) {
        const p = partitionStateOf(a.state);
        if (p) out.set(a.id, p);
      }
    }
    return out;
  }

  /** The state of a local partition in a `localStates` map. */
  static stateIn(states: ReadonlyMap<string, PartitionState>, topic: string, partition: number): PartitionState | undefined {
    return states.get(partitionActorId(topic, partition));
  }
}

/** A partition's state from an actor's inspection: a group coordinator nests it under `partition`. */
function partitionStateOf(state: unknown): PartitionState | null {
  if (state === null || typeof state !== 'object') return null;
  const nested = (state as { partition?: unknown }).partition;
  const p = (nested !== null && typeof nested === 'object' ? nested : state) as Partial<PartitionState>;
  return typeof p.logEndOffset === 'number' ? (p as PartitionState) : null;
}
