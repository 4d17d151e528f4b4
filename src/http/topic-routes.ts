/**
 * Topic routes of the HTTP gateway (main thread): list and describe topics with their
 * partitions' offsets and sizes (from the partition actors' own state), create and delete
 * topics through the controller, and the message browser.
 *
 *   GET    /api/topics                                   every topic with per-partition state
 *   GET    /api/topics/:name                             one topic, with its effective configs and,
 *                                                        per partition, its followers' lag as its
 *                                                        leader (this node or a live peer) sees it
 *   GET    /api/topics/:name/followers                   this node's share of that: the followers
 *                                                        of the partitions it leads
 *   POST   /api/topics                                   {"name","partitions","configs":{k:v}}
 *   DELETE /api/topics/:name
 *   GET    /api/topics/:name/partitions/:p/records       ?offset=N (negative: from the end)
 *                                                        &timestamp=ms &search=text &limit=N
 */
import type { PartitionState } from '../../actors/partition/messages.js';
import { PartitionClient } from '../cluster/partition-client.js';
import { effectiveTopicConfig } from '../cluster/topic-configs.js';
import type { TopicImage } from '../cluster/metadata-image.js';
import { HttpError, intParam, isObject, replyOrThrow, type HttpNode, type Route } from './http-router.js';
import { httpLimits } from './limits.js';
import { decodeRecords, textMatcher, type RecordView } from './record-view.js';
import { fetcherLag, followersOf, localRole, partitionReplication, type FollowerView } from './replication-view.js';

/** How long a describe waits for another node's followers. */
const PEER_TIMEOUT_MS = 2_000;

/** A follower as the topic views show it: its leader's view plus how long ago it last caught up, on the leader's clock. */
export interface FollowerLag extends FollowerView {
  readonly caughtUpAgoMs: number | null;
}

/** GET /api/topics/:name/followers: the partitions of a topic this node leads, each with its followers. */
export interface LocalFollowers {
  readonly nodeId: number;
  readonly partitions: readonly { readonly partition: number; readonly leaderEpoch: number; readonly followers: readonly FollowerLag[] }[];
}

export const topicRoutes: Route[] = [
  { method: 'GET', pattern: /^\/api\/topics$/, run: async ({ node }) => listTopics(node) },
  { method: 'GET', pattern: /^\/api\/topics\/([^/]+)$/, run: async ({ node, params }) => describeTopic(node, params[0]!) },
  { method: 'GET', pattern: /^\/api\/topics\/([^/]+)\/followers$/, run: async ({ node, params }) => localFollowers(node, requireTopic(node, params[0]!)) },
  { method: 'POST', pattern: /^\/api\/topics$/, run: async ({ node, body }) => createTopic(node, body) },
  { method: 'DELETE', pattern: /^\/api\/topics\/([^/]+)$/, run: async ({ node, params }) => deleteTopic(node, params[0]!) },
  {
    method: 'GET',
    pattern: /^\/api\/topics\/([^/]+)\/partitions\/(\d+)\/records$/,
    run: async ({ node, params, query }) => browse(node, params[0]!, Number(params[1]), query),
  },
];

function withAge(followers: readonly FollowerView[] | null, now: number): FollowerLag[] | null {
  return followers?.map((f) => ({ ...f, caughtUpAgoMs: f.lastCaughtUpMs === null ? null : Math.max(0, now - f.lastCaughtUpMs) })) ?? null;
}

/**
 * A topic and its partitions as this node sees them: replicas, ISR, leader and flags from the
 * metadata image; offsets and size from this node's replica (leader or follower: `role` says
 * which; null when it holds none or its actor is passivated); the followers' lag where this node
 * leads; and, where it follows, how far behind its leader it is (`replicaLagRecords`).
 */
function topicView(node: HttpNode, t: TopicImage, states: ReadonlyMap<string, PartitionState>, lag: ReadonlyMap<string, number>) {
  const nodeId = node.config.nodeId;
  const now = Date.now();
  const partitions = t.partitions.map((p) => {
    const s = PartitionClient.stateIn(states, t.name, p.partition);
    const role = localRole(p, nodeId);
    return {
      partition: p.partition,
      ...partitionReplication(p),
      role,
      followers: role === 'leader' ? withAge(followersOf(s, p), now) : null,
      replicaLagRecords: role === 'follower' ? (lag.get(`${t.name}:${p.partition}`) ?? null) : null,
      logStartOffset: s?.logStartOffset ?? null,
      logEndOffset: s?.logEndOffset ?? null,
      highWatermark: s?.highWatermark ?? null,
      sizeBytes: s?.sizeBytes ?? null,
    };
  });
  const sum = (f: (p: (typeof partitions)[number]) => number | null) => partitions.reduce((a, p) => a + (f(p) ?? 0), 0);
  return {
    name: t.name,
    topicId: t.topicId,
    internal: t.name.startsWith('__'),
    partitions,
    records: sum((p) => (p.highWatermark === null || p.logStartOffset === null ? null : p.highWatermark - p.logStartOffset)),
    sizeBytes: sum((p) => p.sizeBytes),
    underReplicated: partitions.filter((p) => p.underReplicated).length,
    offline: partitions.filter((p) => p.offline).length,
    overrides: Object.fromEntries(t.configs),
  };
}

async function listTopics(node: HttpNode) {
  const states = await node.partitions.localStates();
  const lag = fetcherLag(node.replicaFetcher);
  return [...node.controller.image.topicsByName.values()].sort((a, b) => a.name.localeCompare(b.name)).map((t) => topicView(node, t, states, lag));
}

function requireTopic(node: HttpNode, name: string): TopicImage {
  const t = node.controller.image.topicsByName.get(name);
  if (!t) throw new HttpError(404, `no topic ${name}`);
  return t;
}

/** The followers of each partition of `t` this node leads, from its leader actors' inspect state. */
async function localFollowers(node: HttpNode, t: TopicImage): Promise<LocalFollowers> {
  const nodeId = node.config.nodeId;
  const now = Date.now();
  const own = await node.partitions.localStates();
  const partitions = [];
  for (const p of t.partitions) {
    if (p.leader !== nodeId) continue;
    const followers = withAge(followersOf(PartitionClient.stateIn(own, t.name, p.partition), p), now);
    if (followers) partitions.push({ partition: p.partition, leaderEpoch: p.leaderEpoch, followers });
  }
  return { nodeId, partitions };
}

/**
 * One topic: its view, its effective configs, and the followers' lag of every partition whose
 * leader is a live node (asked over HTTP, as the placement view does); `followersUnavailable`
 * names the leaders that did not answer.
 */
async function describeTopic(node: HttpNode, name: string) {
  const t = requireTopic(node, name);
  const states = await node.partitions.localStates();
  const view = topicView(node, t, states, fetcherLag(node.replicaFetcher));
  const nodeId = node.config.nodeId;
  const leaders = new Set(t.partitions.map((p) => p.leader).filter((l) => l >= 0 && l !== nodeId));
  const unavailable: number[] = [];
  const answers = await Promise.all(
    node.controller
      .liveNodes()
      .filter((n) => leaders.has(n.nodeId))
      .map(async (n): Promise<LocalFollowers | null> => {
        try {
          if (n.httpPort < 0) throw new Error('no HTTP port');
          const res = await fetch(`http://${n.host}:${n.httpPort}/api/topics/${encodeURIComponent(name)}/followers`, { signal: AbortSignal.timeout(PEER_TIMEOUT_MS) });
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          return (await res.json()) as LocalFollowers;
        } catch {
          unavailable.push(n.nodeId);
          return null;
        }
      }),
  );
  const byPartition = new Map<number, readonly FollowerLag[]>();
  for (const a of answers) {
    if (a === null) continue;
    for (const p of a.partitions) {
      // Only an answer from the partition's leader in the epoch this node knows: anything else is stale.
      const known = t.partitions[p.partition];
      if (known?.leader === a.nodeId && known.leaderEpoch === p.leaderEpoch) byPartition.set(p.partition, p.followers);
    }
  }
  const partitions = view.partitions.map((p) => (p.followers === null && byPartition.has(p.partition) ? { ...p, followers: byPartition.get(p.partition)! } : p));
  return {
    ...view,
    partitions,
    followersUnavailable: unavailable.sort((a, b) => a - b),
    configs: effectiveTopicConfig(node.controller.image, name, nodeId),
  };
}

async function createTopic(node: HttpNode, body: unknown) {
  if (!isObject(body) || typeof body.name !== 'string') throw new HttpError(400, 'name is required');
  const numPartitions = intParam(body.partitions, 'partitions', 1, 10_000, -1);
  const configs = body.configs ?? {};
  if (!isObject(configs)) throw new HttpError(400, 'configs must be an object of name to string value');
  const list = Object.entries(configs).map(([name, value]) => {
    if (typeof value !== 'string') throw new HttpError(400, `config ${name} must be a string`);
    return { name, value };
  });
  const created = await node.controller.createTopic({ name: body.name, numPartitions, replicationFactor: -1, configs: list });
  if ('error' in created) throw new HttpError(created.error === 'TOPIC_ALREADY_EXISTS' ? 409 : 400, `${created.error}: ${created.message}`);
  return { created: created.name, partitions: created.partitions.length };
}

async function deleteTopic(node: HttpNode, name: string) {
  requireTopic(node, name);
  const deleted = await node.controller.deleteTopic(name);
  if ('error' in deleted) throw new HttpError(400, `${deleted.error}: ${deleted.message}`);
  return { deleted: name };
}

/**
 * One page of the message browser: records from a start (an offset, an offset back from the
 * end, or a timestamp), optionally only those whose key or value contains `search`. A search
 * scans at most `browseScanBytesMax` bytes per call and says where to continue (`nextOffset`).
 */
async function browse(node: HttpNode, topic: string, partition: number, q: URLSearchParams) {
  const t = requireTopic(node, topic);
  if (!t.partitions[partition]) throw new HttpError(404, `no partition ${topic}-${partition}`);
  const limit = intParam(q.get('limit'), 'limit', 1, httpLimits.browseRecordsMax, 50);
  const partitions = node.partitions;
  const offsets = replyOrThrow(await partitions.askByName(topic, partition, { type: 'GetOffsets' }));
  const { logStartOffset, highWatermark } = offsets;
  let start: number;
  if (q.get('timestamp')) {
    const ts = intParam(q.get('timestamp'), 'timestamp', 0, Number.MAX_SAFE_INTEGER);
    const found = replyOrThrow(await partitions.askByName(topic, partition, { type: 'GetOffsetForTimestamp', timestampMs: ts }));
    start = found ? found.offset : highWatermark;
  } else {
    // Without an offset, a page shows the latest records; a search starts from the beginning.
    const o = intParam(q.get('offset'), 'offset', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, q.get('search') ? 0 : -limit);
    start = o < 0 ? highWatermark + o : o;
  }
  start = Math.min(Math.max(start, logStartOffset), highWatermark);
  const search = q.get('search') ?? '';
  const match = search === '' ? undefined : textMatcher(search);
  const records: RecordView[] = [];
  let cursor = start;
  let scanned = 0;
  while (cursor < highWatermark && records.length < limit && scanned < httpLimits.browseScanBytesMax) {
    const r = replyOrThrow(await partitions.askByName(topic, partition, { type: 'Read', fetchOffset: cursor, maxBytes: httpLimits.browseReadBytes }));
    if (r.records.length === 0) break;
    scanned += r.records.length;
    const page = await decodeRecords(r.records, partition, cursor, match);
    for (const rec of page.records) if (records.length < limit) records.push(rec);
    // The next page starts after the last record returned, or after everything scanned.
    cursor = records.length >= limit ? records[records.length - 1]!.offset + 1 : page.nextOffset;
  }
  return { topic, partition, logStartOffset, highWatermark, startOffset: start, nextOffset: cursor, scannedBytes: scanned, done: cursor >= highWatermark, records };
}
