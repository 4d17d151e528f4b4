/**
 * The HTTP gateway's small router (main thread): routes are data (method, path pattern,
 * handler), each file of routes exports a list, and http-gateway.ts dispatches. Bodies and
 * replies are JSON; a handler throws HttpError for an expected failure with its status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrookNode } from '../node.js';
import { httpLimits } from './limits.js';

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface RouteRequest {
  readonly node: BrookNode;
  /** The pattern's capture groups, URI-decoded. */
  readonly params: string[];
  readonly query: URLSearchParams;
  /** The parsed JSON body of a POST, PUT or DELETE ({} when empty); undefined for GET. */
  readonly body: unknown;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly pattern: RegExp;
  run(req: RouteRequest): Promise<unknown>;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > httpLimits.bodyBytesMax) throw new HttpError(413, `request body above ${httpLimits.bodyBytesMax} bytes`);
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}

/** An integer query or body parameter within [min, max], or `fallback` when absent. */
export function intParam(value: unknown, name: string, min: number, max: number, fallback?: number): number {
  if (value === undefined || value === null || value === '') {
    if (fallback === undefined) throw new HttpError(400, `${name} is required`);
    return fallback;
  }
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  return n;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
