/**
 * HttpGateway: the node's HTTP front door (main thread), beside the Kafka listener. It serves the
 * JSON API that `brook actors`, `brook workers add` and the debug console use, and Prometheus
 * metrics at /metrics. Requests are small and bounded: bodies above `bodyBytesMax` are refused.
 *
 * Routes:
 *   GET  /api/overview                      node, uptime, threads with their stats and actors
 *   GET  /api/actors                        every actor with supervisor summary and thread view
 *   GET  /api/actors/:id                    one actor, inspected on its thread
 *   POST /api/actors/:id/restart            restart through the supervisor
 *   POST /api/actors/:id/failure-points     {"point":"append","enabled":true,"times":1}
 *   POST /api/workers                       {"count":1}: add worker threads, actors move
 *   GET  /metrics                           Prometheus text
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listen } from '../gateway/listen.js';
import type { BrookNode } from '../node.js';

const bodyBytesMax = 64 * 1024;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

type Route = (node: BrookNode, params: string[], body: unknown) => Promise<unknown>;

const routes: { method: string; pattern: RegExp; run: Route }[] = [
  { method: 'GET', pattern: /^\/api\/overview$/, run: (n) => overview(n) },
  { method: 'GET', pattern: /^\/api\/actors$/, run: (n) => actors(n) },
  { method: 'GET', pattern: /^\/api\/actors\/([^/]+)$/, run: (n, [id]) => inspectActor(n, id!) },
  { method: 'POST', pattern: /^\/api\/actors\/([^/]+)\/restart$/, run: async (n, [id]) => {
    await n.supervisor.restart(id!, 'restart requested over HTTP');
    return { restarted: id };
  } },
  { method: 'POST', pattern: /^\/api\/actors\/([^/]+)\/failure-points$/, run: (n, [id], body) => setFailurePoint(n, id!, body) },
  { method: 'POST', pattern: /^\/api\/workers$/, run: (n, _p, body) => addWorkers(n, body) },
];

export class HttpGateway {
  private readonly server: Server;

  constructor(private readonly node: BrookNode) {
    this.server = createServer((req, res) => void this.serve(req, res));
  }

  listen(host: string, port: number): Promise<number> {
    return listen(this.server, host, port);
  }


  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'GET' && url.pathname === '/metrics') {
        const text = await this.node.metricsText();
        res.writeHead(200, { 'content-type': this.node.metrics.contentType });
        res.end(text);
        return;
      }
      for (const r of routes) {
        const m = r.pattern.exec(url.pathname);
        if (!m || r.method !== req.method) continue;
        const body = req.method === 'POST' ? await readJson(req) : undefined;
        const params = m.slice(1).map((p) => decodeURIComponent(p));
        sendJson(res, 200, await r.run(this.node, params, body));
        return;
      }
      throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      sendJson(res, status, { error: (err as Error).message });
    }
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > bodyBytesMax) throw new HttpError(413, `request body above ${bodyBytesMax} bytes`);
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}

async function overview(node: BrookNode): Promise<unknown> {
  const threads = await node.supervisor.threads();
  return {
    nodeId: node.config.nodeId,
    clusterId: node.controller.image.clusterId,
    uptimeMs: Math.round(process.uptime() * 1000),
    listener: `${node.advertised.host}:${node.advertised.port}`,
    dataDir: node.config.dataDir,
    topics: node.controller.image.topicsByName.size,
    threads: threads.map((t) => ({ ...t.stats, actors: t.actors.map((a) => a.id) })),
  };
}

async function actors(node: BrookNode): Promise<unknown> {
  const threads = await node.supervisor.threads();
  const onThreads = new Map(threads.flatMap((t) => t.actors.map((a) => [a.id, a] as const)));
  return node.supervisor.listActors().map((s) => ({ ...s, ...(onThreads.get(s.id) ?? {}) }));
}

async function inspectActor(node: BrookNode, id: string): Promise<unknown> {
  const summary = node.supervisor.summary(id);
  if (!summary) throw new HttpError(404, `no actor ${id}`);
  return { ...summary, ...((await node.supervisor.inspect(id)) ?? {}) };
}

async function setFailurePoint(node: BrookNode, id: string, body: unknown): Promise<unknown> {
  const b = body as { point?: unknown; enabled?: unknown; times?: unknown };
  const points = ['append', 'commit', 'read', 'truncate', 'deleteRecords'];
  if (typeof b.point !== 'string' || !points.includes(b.point)) throw new HttpError(400, `point must be one of ${points.join(', ')}`);
  if (typeof b.enabled !== 'boolean') throw new HttpError(400, 'enabled must be true or false');
  if (b.times !== undefined && (typeof b.times !== 'number' || !Number.isInteger(b.times) || b.times < 1)) throw new HttpError(400, 'times must be a positive integer');
  if (!node.supervisor.has(id)) throw new HttpError(404, `no actor ${id}`);
  return node.supervisor.ask(id, { type: 'SetFailurePoint', point: b.point, enabled: b.enabled, times: b.times });
}

async function addWorkers(node: BrookNode, body: unknown): Promise<unknown> {
  const count = (body as { count?: unknown }).count ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 64) throw new HttpError(400, 'count must be an integer from 1 to 64');
  return node.supervisor.addWorkers(count);
}
