/**
 * Fetch 4-17: reads stored batches from each partition's leader actor and returns them as they
 * are stored. Long poll: while fewer than min_bytes are ready, the request waits in the fetch
 * purgatory until a partition it reads gains records or max_wait_ms passes, then reads again.
 * Byte limits follow KIP-74: partition_max_bytes per partition and max_bytes in all, except that
 * the first partition with data always returns at least one whole batch, so a large batch never
 * stalls a consumer. Fetch sessions (KIP-227) are declined by answering session id 0, which
 * every client supports: each fetch is then a full fetch. Topic ids replace names from v13.
 */
import type { PartitionOffsets } from '../../../actors/partition/messages.js';
import type { AskResult, Route } from '../../cluster/partition-client.js';
import type { FetchRequest } from '../../protocol/messages/fetch.js';
import type { FetchResponseInput } from '../../protocol/messages/fetch.js';
import { errorCode } from '../../protocol/errors.js';
import type { Records } from '../../protocol/record-set.js';
import { handler, type RequestContext } from '../context.js';
import { gatewayLimits } from '../limits.js';

interface Wanted {
  readonly topicIndex: number;
  readonly req: FetchRequest.FetchPartition;
  readonly route: Route;
  /** On the leader: a replica in the consumer's rack it should read from instead (KIP-392), or -1. */
  readonly preferredReadReplica: number;
}

type PartitionData = FetchResponseInput.PartitionData;

export const fetch = handler(1, 4, 17, async (ctx, req) => {
  const byId = ctx.header.apiVersion >= 13;
  const replicaId = ctx.header.apiVersion >= 15 ? req.replicaState.replicaId : req.replicaId;
  // Consumers fetching with v11+ may read from a follower replica (KIP-392); a follower's fetch only from the leader.
  const fromFollower = replicaId < 0 && ctx.header.apiVersion >= 11;
  const rack = fromFollower && req.rackId !== '' ? req.rackId : null;
  const partitions = ctx.broker.partitions;
  const wanted: Wanted[] = [];
  req.topics.forEach((t, topicIndex) => {
    for (const p of t.partitions) {
      const route = fromFollower ? partitions.readerRouteOf(t.topic, t.topicId, p.partition, byId) : partitions.routeOf(t.topic, t.topicId, p.partition, byId);
      wanted.push({ topicIndex, req: p, route, preferredReadReplica: rack === null ? -1 : preferredReplica(ctx, route, rack) });
    }
  });
  const deadline = Date.now() + Math.min(Math.max(0, req.maxWaitMs), gatewayLimits.fetchWaitMsMax);
  if (replicaId >= 0) return replicaFetch(ctx, req, wanted, replicaId, deadline);
  // Kafka's broker caps a fetch at fetch.max.bytes whatever the client asks for.
  const maxBytes = req.maxBytes > 0 ? Math.min(req.maxBytes, gatewayLimits.fetchBytesMax) : gatewayLimits.fetchBytesMax;
  // read_committed bypasses the batch cache (it would have to filter aborted transactions).
  const cached = req.isolationLevel === 0;
  // A fetch that will wait may wait for an append's reply to reach the cache (BatchCache.read's
  // `behindOk`), once: its later reads take the log instead.
  let results = await readAll(ctx, wanted, maxBytes, cached, req.maxWaitMs > 0 && req.minBytes > 0);
  for (;;) {
    const ready = results.reduce((n, r) => n + (r.records?.length ?? 0), 0);
    // An error, or a partition sent to another replica, answers at once.
    const hasError = results.some((r) => r.errorCode !== 0 || (r.preferredReadReplica ?? -1) >= 0);
    const remaining = deadline - Date.now();
    if (ready >= req.minBytes || hasError || remaining <= 0) break;
    await ctx.broker.partitions.waitForRecords(
      wanted.map((w) => w.route),
      remaining,
    );
    results = await readAll(ctx, wanted, maxBytes, cached, false);
  }
  results.forEach((r, i) => {
    const route = wanted[i]!.route;
    if (route.ok && r.records) ctx.broker.probe.fetched(route.topic.name, r.records);
  });
  return fetchResponse(req, wanted, results);
});

/**
 * Reads the partitions in request order, in waves read concurrently, each wave asking for at
 * most `fetchWaveBytesMax` in all, so a request naming many partitions never holds more than
 * about one wave of record bytes however large its per-partition limits. Each partition asks
 * for what is left of max_bytes; the first partition with data keeps at least one whole batch
 * (KIP-74). Once max_bytes is spent, the remaining partitions report their offsets only.
 */
async function readAll(ctx: RequestContext, wanted: readonly Wanted[], maxBytes: number, cached: boolean, behindOk: boolean): Promise<PartitionData[]> {
  const out: PartitionData[] = [];
  let budget = maxBytes;
  let first = true;
  let i = 0;
  while (i < wanted.length) {
    if (budget <= 0 && !first) {
      out.push(...(await Promise.all(wanted.slice(i).map((w) => readOne(ctx, w, 0, false)))));
      break;
    }
    const wave: { w: Wanted; limit: number }[] = [];
    let waveBytes = 0;
    while (i < wanted.length) {
      const limit = Math.max(1, Math.min(wanted[i]!.req.partitionMaxBytes, budget));
      if (wave.length > 0 && waveBytes + limit > gatewayLimits.fetchWaveBytesMax) break;
      wave.push({ w: wanted[i]!, limit });
      waveBytes += limit;
      i++;
    }
    for (const r of await Promise.all(wave.map(({ w, limit }) => readOne(ctx, w, limit, cached, behindOk)))) {
      const n = r.records?.length ?? 0;
      if (n > 0 && (n <= budget || first)) {
        budget -= n;
        first = false;
      } else if (n > 0) {
        r.records = Buffer.alloc(0);
      }
      out.push(r);
    }
  }
  return out;
}

/**
 * Reads one partition up to `maxBytes`; with 0, only its offsets (max_bytes already spent). With
 * `cached`, from the batch cache when it holds the batches asked for (src/cluster/batch-cache.ts),
 * else from a log reader thread when the records are committed (src/storage/log-readers.ts),
 * else from the partition's actor.
 */
async function readOne(ctx: RequestContext, w: Wanted, maxBytes: number, cached: boolean, behindOk = false): Promise<PartitionData & { records: Records | null }> {
  const partitions = ctx.broker.partitions;
  const fenced = epochError(w);
  if (fenced) return errorData(w, fenced);
  if (w.preferredReadReplica >= 0) {
    // KIP-392: no records from here, only where to read them and the partition's offsets.
    const o = await partitions.ask(w.route, { type: 'GetOffsets' });
    if (!o.ok) return errorData(w, o.code);
    return { ...errorData(w, 0, o.value), preferredReadReplica: w.preferredReadReplica };
  }
  const hit =
    cached && maxBytes > 0 ? (partitions.cachedRead(w.route, w.req.fetchOffset, maxBytes, behindOk) ?? (await partitions.readerRead(w.route, w.req.fetchOffset, maxBytes))) : null;
  if (hit) {
    return {
      partitionIndex: w.req.partition,
      errorCode: 0,
      highWatermark: hit.highWatermark,
      lastStableOffset: hit.highWatermark,
      logStartOffset: hit.logStartOffset,
      abortedTransactions: null,
      preferredReadReplica: -1,
      records: hit.records,
    };
  }
  const r: AskResult<PartitionOffsets & { readonly records?: Uint8Array }> =
    maxBytes > 0 ? await partitions.ask(w.route, { type: 'Read', fetchOffset: w.req.fetchOffset, maxBytes }) : await partitions.ask(w.route, { type: 'GetOffsets' });
  if (!r.ok) return errorData(w, r.code);
  const v = r.value;
  return {
    partitionIndex: w.req.partition,
    errorCode: 0,
    highWatermark: v.highWatermark,
    // No transactions yet, so everything below the high watermark is stable.
    lastStableOffset: v.highWatermark,
    logStartOffset: v.logStartOffset,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: v.records ? Buffer.from(v.records.buffer, v.records.byteOffset, v.records.byteLength) : Buffer.alloc(0),
  };
}

/** A partition's answer carrying only an error. */
function errorData(w: Wanted, code: number, offsets?: PartitionOffsets): PartitionData & { records: Buffer } {
  return {
    partitionIndex: w.req.partition,
    errorCode: code,
    highWatermark: offsets?.highWatermark ?? -1,
    lastStableOffset: offsets?.highWatermark ?? -1,
    logStartOffset: offsets?.logStartOffset ?? -1,
    abortedTransactions: null,
    preferredReadReplica: -1,
    // Kafka sends an empty record set, not null, with an error; kafka-python and librdkafka rely on it.
    records: Buffer.alloc(0),
  };
}

/**
 * KIP-320: a fetch naming the leader epoch it knows (v9+) is refused when the epoch is older than
 * the partition's (FENCED_LEADER_EPOCH: the client's metadata is stale) or newer
 * (UNKNOWN_LEADER_EPOCH: this node's is); -1 skips the check.
 */
function epochError(w: Wanted): number {
  const known = w.req.currentLeaderEpoch;
  if (known < 0 || !w.route.ok) return 0;
  const current = w.route.partition.leaderEpoch;
  if (known < current) return errorCode('FENCED_LEADER_EPOCH');
  if (known > current) return errorCode('UNKNOWN_LEADER_EPOCH');
  return 0;
}

/**
 * A follower's fetch (replica id >= 0): each partition's leader actor answers with records up to
 * its log end (not the high watermark) and notes the follower's progress, which moves the ISR
 * and the high watermark. It long-polls like a consumer's fetch, waking on any change of the
 * partitions it reads (their log end included). A diverging follower gets the epoch to truncate
 * by; one outside the log gets OFFSET_OUT_OF_RANGE with the log's offsets.
 */
async function replicaFetch(ctx: RequestContext, req: FetchRequest, wanted: readonly Wanted[], replicaId: number, deadline: number) {
  const partitions = ctx.broker.partitions;
  const readReplica = async (w: Wanted): Promise<PartitionData & { records: Buffer }> => {
    const r = await partitions.ask(w.route, {
      type: 'ReplicaFetch',
      replicaId,
      fetchOffset: w.req.fetchOffset,
      lastFetchedEpoch: w.req.lastFetchedEpoch,
      currentLeaderEpoch: w.req.currentLeaderEpoch,
      maxBytes: Math.max(1, Math.min(w.req.partitionMaxBytes, gatewayLimits.fetchWaveBytesMax)),
    });
    if (!r.ok) return errorData(w, r.code);
    const v = r.value;
    if (v.outOfRange) return errorData(w, errorCode('OFFSET_OUT_OF_RANGE'), v);
    return {
      partitionIndex: w.req.partition,
      errorCode: 0,
      highWatermark: v.highWatermark,
      lastStableOffset: v.highWatermark,
      logStartOffset: v.logStartOffset,
      divergingEpoch: v.divergingEpoch ? { epoch: v.divergingEpoch.leaderEpoch, endOffset: v.divergingEpoch.endOffset } : { epoch: -1, endOffset: -1 },
      abortedTransactions: null,
      preferredReadReplica: -1,
      records: Buffer.from(v.records.buffer, v.records.byteOffset, v.records.byteLength),
    };
  };
  // Every partition is read at once; past max_bytes the later ones keep their offsets but drop their records.
  const readAllReplica = async (): Promise<Array<PartitionData & { records: Buffer }>> => {
    let budget = Math.min(req.maxBytes > 0 ? req.maxBytes : gatewayLimits.fetchBytesMax, gatewayLimits.fetchBytesMax);
    const out = await Promise.all(wanted.map(readReplica));
    for (const r of out) {
      if (r.records.length > budget && budget < Math.min(req.maxBytes, gatewayLimits.fetchBytesMax)) r.records = Buffer.alloc(0);
      budget -= r.records.length;
    }
    return out;
  };
  let results = await readAllReplica();
  for (;;) {
    const ready = results.reduce((n, r) => n + r.records.length, 0);
    const settled = results.some((r) => r.errorCode !== 0 || (r.divergingEpoch?.epoch ?? -1) >= 0 || (r.divergingEpoch?.endOffset ?? -1) >= 0);
    const remaining = deadline - Date.now();
    if (ready >= Math.max(1, req.minBytes) || settled || remaining <= 0) break;
    const woke = await partitions.waitForRecords(
      wanted.map((w) => w.route),
      remaining,
    );
    // A follower's fetch names every partition it follows here: only the one that moved is read
    // again (the others' answers, offsets and all, still hold), or all of them at the deadline.
    const i = woke === null ? -1 : wanted.findIndex((w) => w.route.ok && w.route.address.actorId === woke);
    if (i < 0) results = await readAllReplica();
    else results[i] = await readReplica(wanted[i]!);
  }
  return fetchResponse(req, wanted, results);
}

/**
 * KIP-392's rack-aware replica selector, on the leader: for a consumer that names its rack
 * (client.rack) and a partition led here from another rack, the first live in-sync replica in
 * the consumer's rack; -1 to read from the leader.
 */
function preferredReplica(ctx: RequestContext, route: Route, rack: string): number {
  if (!route.ok || route.partition.leader !== ctx.broker.config.nodeId) return -1;
  const brokers = ctx.broker.controller.image.brokers;
  if (brokers.get(route.partition.leader)?.rack === rack) return -1;
  const live = new Set(ctx.broker.controller.liveNodes().map((n) => n.nodeId));
  return route.partition.isr.find((r) => r !== route.partition.leader && live.has(r) && brokers.get(r)?.rack === rack) ?? -1;
}

/** The response: each partition's answer under its topic, in request order; fetch sessions declined (session id 0). */
function fetchResponse(req: FetchRequest, wanted: readonly Wanted[], results: readonly PartitionData[]) {
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: req.topics.map((t, topicIndex) => ({
      topic: t.topic,
      topicId: t.topicId,
      partitions: results.filter((_, i) => wanted[i]!.topicIndex === topicIndex),
    })),
  };
}
