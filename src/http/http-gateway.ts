/**
 * HttpGateway: the node's HTTP front door (main thread), beside the Kafka listener. It serves
 * the web console (GET /, /console/*), the JSON API the console, `brook actors`, `brook workers
 * add` and `brook console` use, the live tail WebSocket, and Prometheus metrics at /metrics.
 * Requests are small and bounded: bodies above `httpLimits.bodyBytesMax` are refused.
 *
 * Routes (each file lists its own in its header):
 *   GET  /, /console/*                      the web console (console-assets.ts)
 *   /api/overview, /api/actors..., /api/workers, /api/history          actor-routes.ts
 *   /api/cluster, /api/cluster/placement, /api/cluster/local            cluster-routes.ts
 *   /api/topics..., /api/topics/:name/partitions/:p/records            topic-routes.ts
 *   /api/groups, /api/groups/:id                                       groups.ts
 *   GET  /api/tail?topic=T (WebSocket)      live tail (live-tail.ts)
 *   GET  /metrics                           Prometheus text
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { listen } from '../gateway/listen.js';
import type { HttpNode } from './http-router.js';
import { actorRoutes } from './actor-routes.js';
import { clusterRoutes } from './cluster-routes.js';
import { ConsoleAssets } from './console-assets.js';
import { groupRoutes } from './groups.js';
import { HttpError, readJson, sendJson, type Route } from './http-router.js';
import { TailHub } from './live-tail.js';
import { topicRoutes } from './topic-routes.js';

const routes: readonly Route[] = [...actorRoutes, ...clusterRoutes, ...topicRoutes, ...groupRoutes];

export class HttpGateway {
  private readonly server: Server;
  private readonly assets = new ConsoleAssets();
  private readonly tail: TailHub;

  constructor(private readonly node: HttpNode) {
    this.server = createServer((req, res) => void this.serve(req, res));
    this.tail = new TailHub(node);
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  listen(host: string, port: number): Promise<number> {
    return listen(this.server, host, port);
  }

  close(): Promise<void> {
    this.tail.close();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/api/tail') return this.tail.upgrade(req, socket, head, url);
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
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
      if (req.method === 'GET' && this.assets.serve(url.pathname, res)) return;
      let allowed: string | undefined;
      for (const r of routes) {
        const m = r.pattern.exec(url.pathname);
        if (!m) continue;
        if (r.method !== req.method) {
          allowed = r.method;
          continue;
        }
        const body = req.method === 'GET' ? undefined : await readJson(req);
        const params = m.slice(1).map((p) => decodeURIComponent(p));
        sendJson(res, 200, await r.run({ node: this.node, params, query: url.searchParams, body }));
        return;
      }
      if (allowed) throw new HttpError(405, `${req.method} ${url.pathname} is not allowed (${allowed} is)`);
      throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) sendJson(res, status, { error: (err as Error).message });
      else res.destroy();
    }
  }
}
