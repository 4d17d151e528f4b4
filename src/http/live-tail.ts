/**
 * Live tail over WebSocket (main thread): `GET /api/tail?topic=T[&partition=P][&back=N]`
 * upgrades to a WebSocket that receives `{"type":"records","records":[...]}` frames as records
 * reach the high watermark, starting at the end (or N records back per partition).
 *
 * It does not poll: partition actors already publish HighWatermarkAdvanced after each turn
 * that adds records, and each tailed partition subscribes to it through the PartitionClient
 * (the same watch that wakes long-polling fetches).
 *
 * Bounded: at most `tailSocketsMax` sockets; each wake-up pushes at most `tailRecordsPerWake`
 * records per partition; and a socket whose send buffer is above `tailBufferedBytesMax`
 * (a slow browser) skips ahead to the high watermark and is told so with a `skipped` frame.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { replyOrThrow, type HttpNode } from './http-router.js';
import { httpLimits } from './limits.js';
import { decodeRecords } from './record-view.js';

interface Cursor {
  readonly partition: number;
  offset: number;
  pumping: boolean;
  again: boolean;
}

export class TailHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });

  constructor(private readonly node: HttpNode) {}

  get sockets(): number {
    return this.wss.clients.size;
  }

  /** Takes over an HTTP upgrade of /api/tail; anything wrong is answered with a plain HTTP error. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    const topic = this.node.controller.image.topicsByName.get(url.searchParams.get('topic') ?? '');
    const refuse = (status: string, why: string) => {
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${why}\n`);
    };
    if (!topic) return refuse('404 Not Found', `no topic ${url.searchParams.get('topic') ?? ''}`);
    if (this.wss.clients.size >= httpLimits.tailSocketsMax) return refuse('503 Service Unavailable', `at most ${httpLimits.tailSocketsMax} tails at once`);
    const only = url.searchParams.get('partition');
    const partitions = topic.partitions
      .filter((p) => p.leader === this.node.config.nodeId && (only === null || only === '' || String(p.partition) === only))
      .map((p) => p.partition);
    const back = Math.max(0, Math.min(1000, Number(url.searchParams.get('back') ?? 0) || 0));
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.tail(ws, topic.name, partitions, back));
  }

  private async tail(ws: WebSocket, topic: string, partitions: number[], back: number): Promise<void> {
    const cursors: Cursor[] = [];
    const unsubscribes: (() => void)[] = [];
    ws.on('close', () => {
      for (const off of unsubscribes) off();
    });
    ws.on('error', () => ws.terminate());
    const client = this.node.partitions;
    for (const partition of partitions) {
      const route = client.route(topic, partition);
      if (!route.ok) continue;
      // A restarting partition starts at 0 and catches up on its next notification.
      const o = await client.ask(route, { type: 'GetOffsets' });
      const offset = o.ok ? Math.max(o.value.logStartOffset, o.value.highWatermark - back) : 0;
      const c: Cursor = { partition, offset, pumping: false, again: false };
      cursors.push(c);
      unsubscribes.push(client.onHighWatermark(route.address, () => void this.pump(ws, topic, c)));
    }
    send(ws, { type: 'subscribed', topic, partitions: cursors.map((c) => ({ partition: c.partition, offset: c.offset })) });
    for (const c of cursors) void this.pump(ws, topic, c);
  }

  /** Sends what is between the cursor and the high watermark; one pump per partition at a time. */
  private async pump(ws: WebSocket, topic: string, c: Cursor): Promise<void> {
    if (c.pumping) {
      c.again = true;
      return;
    }
    c.pumping = true;
    try {
      do {
        c.again = false;
        const o = replyOrThrow(await this.node.partitions.askByName(topic, c.partition, { type: 'GetOffsets' }));
        if (c.offset < o.logStartOffset) c.offset = o.logStartOffset;
        if (ws.bufferedAmount > httpLimits.tailBufferedBytesMax) {
          send(ws, { type: 'skipped', partition: c.partition, from: c.offset, to: o.highWatermark });
          c.offset = o.highWatermark;
          continue;
        }
        let sent = 0;
        while (c.offset < o.highWatermark && sent < httpLimits.tailRecordsPerWake && ws.readyState === ws.OPEN) {
          const r = replyOrThrow(await this.node.partitions.askByName(topic, c.partition, { type: 'Read', fetchOffset: c.offset, maxBytes: httpLimits.browseReadBytes }));
          if (r.records.length === 0) break;
          const page = await decodeRecords(r.records, c.partition, c.offset);
          const records = page.records.filter((x) => x.offset < o.highWatermark).slice(0, httpLimits.tailRecordsPerWake - sent);
          if (records.length > 0) send(ws, { type: 'records', topic, records });
          sent += records.length;
          c.offset = records.length > 0 ? records[records.length - 1]!.offset + 1 : page.nextOffset;
        }
        if (c.offset < o.highWatermark) c.again = true;
      } while (c.again && ws.readyState === ws.OPEN);
    } catch (err) {
      send(ws, { type: 'error', partition: c.partition, message: (err as Error).message });
    } finally {
      c.pumping = false;
    }
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}

function send(ws: WebSocket, value: unknown): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(value));
}
