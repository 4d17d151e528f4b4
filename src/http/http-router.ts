/**
 * The HTTP gateway's small router (main thread): routes are data (method, path pattern,
 * handler), each file of routes exports a list, and http-gateway.ts dispatches. Bodies and
 * replies are JSON; a handler throws HttpError for an expected failure with its status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { ActorAsks } from '../cluster/actor-asks.js';
import type { AskResult } from '../cluster/actor-errors.js';
import type { ClusterMetadata } from '../cluster/cluster-metadata.js';
import type { Controller } from '../cluster/controller.js';
import type { GroupCoordinatorClient } from '../cluster/group-coordinator-client.js';
import type { PartitionClient } from '../cluster/partition-client.js';
import type { NodeConfig } from '../config.js';
import type { GatewayProbe } from '../gateway/probe.js';
import type { Supervisor } from '../runtime/supervisor.js';
import { httpLimits } from './limits.js';
import type { ReplicaLagSource } from './replication-view.js';

/**
 * What the HTTP gateway uses of its node (BrookNode implements it). Actors are reached through
 * the clients per actor kind, as the Kafka gateway reaches them; the supervisor is here for
 * what only it does (inspect, restart, move, add threads).
 */
export interface HttpNode {
  readonly config: NodeConfig;
  readonly controller: Controller;
  /** This node's copy of the cluster metadata (its applied offset). */
  readonly metadata: ClusterMetadata;
  readonly supervisor: Supervisor;
  /** The one ask path, for the console's raw send route. */
  readonly asks: ActorAsks;
  readonly partitions: PartitionClient;
  readonly groups: GroupCoordinatorClient;
  /** Lag of the partitions this node follows (its ReplicaFetcher). */
  readonly replicaFetcher: ReplicaLagSource;
  readonly probe: GatewayProbe;
  readonly advertised: { readonly host: string; readonly port: number };
  readonly metrics: Registry;
  metricsText(): Promise<string>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RouteRequest {
  readonly node: HttpNode;
  /** The pattern's capture groups, URI-decoded. */
  readonly params: string[];
  readonly query: URLSearchParams;
  /** The parsed JSON body of a POST, PUT or DELETE ({} when empty); undefined for GET. */
  readonly body: unknown;
}

/**
 * The reply of an ask, or the failure as a 500 with the ask's own message (what a failed ask
 * answered before the clients mapped failures to Kafka error codes; the console shows it).
 */
export function replyOrThrow<R>(r: AskResult<R>): R {
  if (r.ok) return r.value;
  throw new HttpError(500, r.message);
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
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, got ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return n;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
