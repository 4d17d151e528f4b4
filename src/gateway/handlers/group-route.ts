/**
 * Reaching a group's coordinator, shared by the group handlers: the group maps to a
 * `__consumer_offsets` partition as in Kafka (so tools that compute it agree), and that
 * partition's actor is the coordinator. Any failure becomes a Kafka error code at once.
 */
import { groupPartition, OFFSETS_TOPIC } from '../../../actors/group-coordinator/limits.js';
import type { GroupMessage } from '../../../actors/group-coordinator/messages.js';
import { partitionActorId } from '../../cluster/routing-table.js';
import { errorCode, KAFKA_ERRORS, type KafkaErrorName } from '../../protocol/errors.js';
import type { RequestContext } from '../context.js';
import { gatewayLimits } from '../limits.js';

export type CoordinatorRoute = { ok: true; actorId: string; partition: number } | { ok: false; error: KafkaErrorName };

export function coordinatorRoute(ctx: RequestContext, groupId: string): CoordinatorRoute {
  const topic = ctx.broker.controller.image.topicsByName.get(OFFSETS_TOPIC);
  if (!topic || topic.partitions.length === 0) return { ok: false, error: 'COORDINATOR_NOT_AVAILABLE' };
  const partition = groupPartition(groupId, topic.partitions.length);
  const route = ctx.broker.routes.leader(OFFSETS_TOPIC, partition);
  if (!route.ok) return { ok: false, error: route.error === 'NOT_LEADER_OR_FOLLOWER' ? 'NOT_COORDINATOR' : 'COORDINATOR_NOT_AVAILABLE' };
  return { ok: true, actorId: route.actorId, partition };
}

/** Every coordinator actor of this node (ListGroups asks them all). */
export function localCoordinators(ctx: RequestContext): string[] {
  const topic = ctx.broker.controller.image.topicsByName.get(OFFSETS_TOPIC);
  if (!topic) return [];
  return topic.partitions.filter((p) => p.leader === ctx.broker.config.nodeId).map((p) => partitionActorId(OFFSETS_TOPIC, p.partition));
}

export type CoordinatorAnswer<R> = { ok: true; value: R } | { ok: false; code: number; message: string };

/** Runtime failures as coordinator errors: a restarting coordinator is loading, anything else is unavailable (clients retry both). */
function coordinatorErrorOf(err: unknown): { code: number; message: string } {
  const name = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (name === 'ACTOR_FAILED') return { code: errorCode('COORDINATOR_LOAD_IN_PROGRESS'), message };
  if (typeof name === 'string' && name in KAFKA_ERRORS) return { code: errorCode(name as KafkaErrorName), message };
  return { code: errorCode('COORDINATOR_NOT_AVAILABLE'), message };
}

export async function askActor<R>(ctx: RequestContext, actorId: string, msg: GroupMessage, timeoutMs?: number): Promise<CoordinatorAnswer<R>> {
  try {
    const value = await ctx.broker.supervisor.ask<R>(actorId, msg, { timeoutMs: timeoutMs ?? gatewayLimits.partitionAskTimeoutMs });
    return { ok: true, value };
  } catch (err) {
    return { ok: false, ...coordinatorErrorOf(err) };
  }
}

export async function askCoordinator<R>(ctx: RequestContext, groupId: string, msg: GroupMessage, timeoutMs?: number): Promise<CoordinatorAnswer<R>> {
  const route = coordinatorRoute(ctx, groupId);
  if (!route.ok) return { ok: false, code: errorCode(route.error), message: route.error };
  return askActor<R>(ctx, route.actorId, msg, timeoutMs);
}

/** Bytes that crossed a thread arrive as a plain Uint8Array; the encoder wants a Buffer. */
export { asBuffer } from '../../storage/record-batch.js';

/** The request's client id, as members report it in DescribeGroups. */
export function clientIdOf(ctx: RequestContext): string {
  return ctx.header.clientId ?? '';
}
