/**
 * InitProducerId 0-5 for idempotent producers: a fresh producer id with epoch 0 from this node's
 * block of ids (blocks come from the controller, so no two nodes hand out the same id), and
 * AllocateProducerIds 0, the controller's side: a block for a node. Transactional ids are
 * refused until transactions are built.
 */
import { errorCode, type KafkaErrorName } from '../../protocol/errors.js';
import { handler } from '../context.js';

export const initProducerId = handler(22, 0, 5, async (ctx, req) => {
  if (req.transactionalId !== null && req.transactionalId !== '') {
    return { throttleTimeMs: 0, errorCode: errorCode('TRANSACTIONAL_ID_AUTHORIZATION_FAILED'), producerId: -1, producerEpoch: -1 };
  }
  const id = await ctx.broker.controller.allocateProducerId();
  if (typeof id !== 'number') {
    ctx.broker.log.warn({ error: id.error, reason: id.message }, 'no producer id block');
    // Retriable for clients: they ask again.
    return { throttleTimeMs: 0, errorCode: errorCode('COORDINATOR_NOT_AVAILABLE'), producerId: -1, producerEpoch: -1 };
  }
  return { throttleTimeMs: 0, errorCode: 0, producerId: id, producerEpoch: 0 };
});

export const allocateProducerIds = handler(67, 0, 0, async (ctx) => {
  const block = await ctx.broker.controller.allocateProducerIdBlock({ clientId: ctx.header.clientId ?? undefined });
  if ('error' in block) return { throttleTimeMs: 0, errorCode: errorCode(block.error as KafkaErrorName), producerIdStart: -1, producerIdLen: 0 };
  return { throttleTimeMs: 0, errorCode: 0, producerIdStart: block.start, producerIdLen: block.length };
});
