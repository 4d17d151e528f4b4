/**
 * Asking a partition's leader actor, shared by the produce, fetch, list-offsets and
 * delete-records handlers: route, ask, and turn any failure into a Kafka error code.
 */
import type { Route } from '../../cluster/routing-table.js';
import { errorCode } from '../../protocol/errors.js';
import type { RequestContext } from '../context.js';
import { kafkaErrorOf } from '../errors.js';
import { gatewayLimits } from '../limits.js';

export type AskResult<R> = { ok: true; value: R } | { ok: false; code: number; message: string };

export async function askPartition<R>(
  ctx: RequestContext,
  route: Route,
  msg: unknown,
  opts: { timeoutMs?: number; transfer?: ArrayBuffer[] } = {},
): Promise<AskResult<R>> {
  if (!route.ok) return { ok: false, code: errorCode(route.error), message: route.error };
  try {
    const value = await ctx.broker.supervisor.ask<R>(route.actorId, msg, {
      timeoutMs: opts.timeoutMs ?? gatewayLimits.partitionAskTimeoutMs,
      transfer: opts.transfer,
    });
    return { ok: true, value };
  } catch (err) {
    return { ok: false, ...kafkaErrorOf(err) };
  }
}

/** Routes by topic id when the request carries one (Fetch 13+), else by name. */
export function routeOf(ctx: RequestContext, topic: string, topicId: string, partition: number, byId: boolean): Route {
  return byId ? ctx.broker.routes.leaderById(topicId, partition) : ctx.broker.routes.leader(topic, partition);
}
