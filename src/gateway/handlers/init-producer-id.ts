/**
 * InitProducerId 0-5 for idempotent producers: a fresh producer id with epoch 0 from the
 * controller's id blocks. Transactional ids are refused until transactions are built.
 */
import { errorCode } from '../../protocol/errors.js';
import { handler } from '../context.js';

export const initProducerId = handler(22, 0, 5, (ctx, req) => {
  if (req.transactionalId !== null && req.transactionalId !== '') {
    return { throttleTimeMs: 0, errorCode: errorCode('TRANSACTIONAL_ID_AUTHORIZATION_FAILED'), producerId: -1, producerEpoch: -1 };
  }
  return { throttleTimeMs: 0, errorCode: 0, producerId: ctx.broker.controller.allocateProducerId(), producerEpoch: 0 };
});
