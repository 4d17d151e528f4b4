/**
 * FindCoordinator 0-6: a group's coordinator is the node leading the group's
 * `__consumer_offsets` partition; on one node, this node once the topic exists. Batched keys
 * from v4. Transaction coordinators (key type 1) do not exist yet: COORDINATOR_NOT_AVAILABLE,
 * which clients retry.
 */
import { errorCode } from '../../protocol/errors.js';
import type { FindCoordinatorResponseInput } from '../../protocol/messages/find-coordinator.js';
import { handler, type RequestContext } from '../context.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

export const findCoordinator = handler(10, 0, 6, (ctx, req) => {
  if (ctx.header.apiVersion >= 4) {
    return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map((k) => coordinatorFor(ctx, k, req.keyType)) };
  }
  const c = coordinatorFor(ctx, req.key, req.keyType);
  return { throttleTimeMs: 0, errorCode: c.errorCode, errorMessage: c.errorMessage, nodeId: c.nodeId, host: c.host, port: c.port };
});

function coordinatorFor(ctx: RequestContext, key: string, keyType: number): FindCoordinatorResponseInput.Coordinator {
  const none = (name: 'COORDINATOR_NOT_AVAILABLE' | 'INVALID_REQUEST' | 'NOT_COORDINATOR', message: string) => ({
    key,
    nodeId: -1,
    host: '',
    port: -1,
    errorCode: errorCode(name),
    errorMessage: message,
  });
  if (keyType === KEY_TYPE_TRANSACTION) return none('COORDINATOR_NOT_AVAILABLE', 'transaction coordinators are not available yet');
  if (keyType !== KEY_TYPE_GROUP) return none('INVALID_REQUEST', `unknown coordinator key type ${keyType}`);
  const route = ctx.broker.groups.route(key);
  if (!route.ok) return none(route.error === 'NOT_COORDINATOR' ? 'NOT_COORDINATOR' : 'COORDINATOR_NOT_AVAILABLE', `no coordinator for group '${key}' on this node`);
  const { host, port } = ctx.broker.advertised;
  return { key, nodeId: ctx.broker.config.nodeId, host, port, errorCode: 0, errorMessage: null };
}
