/**
 * Actor and thread routes of the HTTP gateway (main thread): what `brook actors`, `brook
 * workers add`, `brook console` and the web console use.
 *
 *   GET  /api/overview                      node, uptime, threads with their stats and actors
 *   GET  /api/actors                        every actor with supervisor summary and thread view
 *   GET  /api/actors/:id                    one actor, inspected on its thread
 *   POST /api/actors/:id/restart            restart through the supervisor
 *   POST /api/actors/:id/passivate          close its log now (partition, group coordinator)
 *   POST /api/actors/:id/wake               open a passivated actor's log now
 *   POST /api/actors/:id/failure-points     {"point":"append","enabled":true,"times":1}
 *   POST /api/actors/:id/send               {"message":{"type":"GetOffsets"}}: ask, return the reply
 *   GET  /api/actor-kinds                   message types each actor kind accepts (for send)
 *   POST /api/workers                       {"count":1}: add worker threads, actors move
 *   GET  /api/history?seconds=300           per-second produce/fetch throughput and latency
 */
import type { PartitionProtocol } from '../../actors/partition/messages.js';
import type { FailurePointName } from '../storage/failure-points.js';
import { bytesReplacer, fromJsonMessage, messageTypesByKind } from './actor-messages.js';
import { HttpError, intParam, isObject, type HttpNode, type Route } from './http-router.js';
import { httpLimits } from './limits.js';

export const actorRoutes: Route[] = [
  { method: 'GET', pattern: /^\/api\/overview$/, run: async ({ node }) => overview(node) },
  { method: 'GET', pattern: /^\/api\/actors$/, run: async ({ node }) => actors(node) },
  { method: 'GET', pattern: /^\/api\/actor-kinds$/, run: () => Promise.resolve(Object.fromEntries(messageTypesByKind)) },
  { method: 'GET', pattern: /^\/api\/actors\/([^/]+)$/, run: async ({ node, params }) => inspectActor(node, params[0]!) },
  {
    method: 'POST',
    pattern: /^\/api\/actors\/([^/]+)\/restart$/,
    run: async ({ node, params: [id] }) => {
      if (!node.supervisor.has(id!)) throw new HttpError(404, `no actor ${id}`);
      await node.supervisor.restart(id!, 'restart requested over HTTP');
      return { restarted: id };
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/actors\/([^/]+)\/passivate$/,
    run: async ({ node, params: [id] }) => {
      if (!node.supervisor.has(id!)) throw new HttpError(404, `no actor ${id}`);
      return { actorId: id, passivated: await node.supervisor.passivateActor(id!) };
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/actors\/([^/]+)\/wake$/,
    run: async ({ node, params: [id] }) => {
      if (!node.supervisor.has(id!)) throw new HttpError(404, `no actor ${id}`);
      await node.supervisor.activateActor(id!);
      return { actorId: id, status: node.supervisor.summary(id!)?.status };
    },
  },
  { method: 'POST', pattern: /^\/api\/actors\/([^/]+)\/failure-points$/, run: async ({ node, params, body }) => setFailurePoint(node, params[0]!, body) },
  { method: 'POST', pattern: /^\/api\/actors\/([^/]+)\/send$/, run: async ({ node, params, body }) => send(node, params[0]!, body) },
  { method: 'POST', pattern: /^\/api\/workers$/, run: async ({ node, body }) => addWorkers(node, body) },
  {
    method: 'GET',
    pattern: /^\/api\/history$/,
    // A bad `seconds` throws here, which the gateway's try turns into a 400 as it would a rejection.
    run: ({ node, query }) => Promise.resolve(node.probe.history.snapshot(intParam(query.get('seconds'), 'seconds', 1, node.probe.history.secondsMax - 1, 300))),
  },
];

async function overview(node: HttpNode): Promise<unknown> {
  const threads = await node.supervisor.threads();
  const summaries = new Map(node.supervisor.listActors().map((a) => [a.id, a]));
  return {
    nodeId: node.config.nodeId,
    clusterId: node.controller.image.clusterId,
    uptimeMs: Math.round(process.uptime() * 1000),
    listener: `${node.advertised.host}:${node.advertised.port}`,
    dataDir: node.config.dataDir,
    durability: node.config.durability,
    topics: node.controller.image.topicsByName.size,
    partitionLogs: node.supervisor.passivationStats(),
    // The main thread's batch cache (src/cluster/batch-cache.ts): fetches answered without the partition's actor.
    fetchCache: node.partitions.batchCache.stats(),
    fetchReaders: node.partitions.readers.stats(),
    pid: process.pid,
    nodeVersion: process.version,
    rssBytes: process.memoryUsage().rss,
    // The whole process's CPU time since it started (every thread together); the console turns
    // two of these into a share of a core. Each thread's own load is in `threads`.
    processCpuMs: (({ user, system }) => ({ user: user / 1000, system: system / 1000 }))(process.cpuUsage()),
    threads: threads
      .sort((a, b) => a.stats.threadIndex - b.stats.threadIndex)
      .map((t) => ({
        ...t.stats,
        actors: t.actors.map((a) => a.id).sort(),
        actorKinds: t.actors.map((a) => ({ id: a.id, kind: a.kind, status: summaries.get(a.id)?.status ?? 'unknown', mailboxDepth: a.mailboxDepth })),
      })),
  };
}

async function actors(node: HttpNode): Promise<unknown> {
  const threads = await node.supervisor.threads();
  const onThreads = new Map(threads.flatMap((t) => t.actors.map((a) => [a.id, a] as const)));
  return node.supervisor.listActors().map((s) => ({ ...s, ...(onThreads.get(s.id) ?? {}), threadIndex: s.threadIndex }));
}

async function inspectActor(node: HttpNode, id: string): Promise<unknown> {
  const summary = node.supervisor.summary(id);
  if (!summary) throw new HttpError(404, `no actor ${id}`);
  return { ...summary, ...((await node.supervisor.inspect(id)) ?? {}), threadIndex: summary.threadIndex };
}

async function setFailurePoint(node: HttpNode, id: string, body: unknown): Promise<unknown> {
  const b = body as { point?: unknown; enabled?: unknown; times?: unknown };
  const points = ['append', 'commit', 'read', 'truncate', 'deleteRecords'];
  if (typeof b.point !== 'string' || !points.includes(b.point)) throw new HttpError(400, `point must be one of ${points.join(', ')}`);
  if (typeof b.enabled !== 'boolean') throw new HttpError(400, 'enabled must be true or false');
  if (b.times !== undefined && (typeof b.times !== 'number' || !Number.isInteger(b.times) || b.times < 1)) throw new HttpError(400, 'times must be a positive integer');
  const summary = node.supervisor.summary(id);
  if (!summary) throw new HttpError(404, `no actor ${id}`);
  if (!(messageTypesByKind.get(summary.kind) ?? []).includes('SetFailurePoint')) throw new HttpError(400, `${summary.kind} actors have no failure points`);
  // Any actor that answers SetFailurePoint owns a partition log (a partition or a coordinator).
  return node.asks.ask(node.asks.addressOf<PartitionProtocol>(id), { type: 'SetFailurePoint', point: b.point as FailurePointName, enabled: b.enabled, times: b.times });
}

async function addWorkers(node: HttpNode, body: unknown): Promise<unknown> {
  const count = (body as { count?: unknown }).count ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 64) throw new HttpError(400, 'count must be an integer from 1 to 64');
  return node.supervisor.addWorkers(count);
}

/**
 * Asks an actor one message of its kind's union and returns the reply. The request body is
 * bounded by the router; the reply is bounded here (a Read of many megabytes is refused rather
 * than sent), and the ask has its own timeout.
 */
async function send(node: HttpNode, id: string, body: unknown): Promise<unknown> {
  const summary = node.supervisor.summary(id);
  if (!summary) throw new HttpError(404, `no actor ${id}`);
  const message = isObject(body) ? body.message : undefined;
  if (!isObject(message) || typeof message.type !== 'string') throw new HttpError(400, 'body must be {"message": {"type": ..., ...}}');
  const allowed = messageTypesByKind.get(summary.kind) ?? [];
  if (!allowed.includes(message.type)) throw new HttpError(400, `${summary.kind} actors accept ${allowed.join(', ') || 'no messages over HTTP'}; not '${message.type}'`);
  let reply: unknown;
  try {
    reply = await node.asks.askUnchecked(node.asks.addressOf(id), fromJsonMessage(message) as { type: string }, { timeoutMs: httpLimits.sendTimeoutMs });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw new HttpError(502, `${id} answered with an error${e.code ? ` ${e.code}` : ''}: ${e.message ?? String(err)}`);
  }
  const text = JSON.stringify({ reply: reply ?? null }, bytesReplacer);
  if (text.length > httpLimits.sendReplyBytesMax)
    throw new HttpError(413, `reply of ${text.length} bytes is above ${httpLimits.sendReplyBytesMax}; ask for less (e.g. a smaller maxBytes)`);
  return JSON.parse(text) as unknown;
}
