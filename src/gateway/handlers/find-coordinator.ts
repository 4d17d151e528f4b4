/**
 * FindCoordinator 0-6: a group's coordinator is the node leading the group's
 * `__consumer_offsets` partition, wherever in the cluster that is. In a cluster the controller
 * creates `__consumer_offsets` on the first FindCoordinator (over the nodes live then), as Kafka
 * does. Batched keys from v4. Transaction coordinators (key type 1) do not exist yet:
 * COORDINATOR_NOT_AVAILABLE, which clients retry.
 */
import { groupPartition, OFFSETS_TOPIC } from '../../cluster/offsets-topic.js';
import { errorCode } from '../../protocol/errors.js';
import type { FindCoordinatorResponseInput } from '../../protocol/messages/find-coordinator.js';
import { handler, type RequestContext } from '../context.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

export const findCoordinator = handler(10, 0, 6, async (ctx, req) => {
  if (req.keyType === KEY_TYPE_GROUP && !ctx.broker.controller.image.topicsByName.has(OFFSETS_TOPIC)) {
    const failed = await ctx.broker.controller.ensureOffsetsTopic();
    if (failed) ctx.broker.log.warn({ error: failed.error, reason: failed.message }, `cannot create ${OFFSETS_TOPIC} yet`);
  }
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
  const { controller } = ctx.broker;
  const topic = controller.image.topicsByName.get(OFFSETS_TOPIC);
  if (!topic || topic.partitions.length === 0) return none('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} does not exist yet`);
  const partition = groupPartition(key, topic.partitions.length);
  const leader = topic.partitions[partition]?.leader ?? -1;
  const node = controller.liveNodes().find((n) => n.nodeId === leader);
  if (!node) return none('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} partition ${partition} (group '${key}') has no live leader`);
  return { key, nodeId: node.nodeId, host: node.host, port: node.port, errorCode: 0, errorMessage: null };
}
