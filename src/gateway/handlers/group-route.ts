/**
 * What the group handlers share beyond the GroupCoordinatorClient (src/cluster), which routes
 * each group to its coordinator, asks it and maps failures to Kafka error codes: the request's
 * client id, and bytes that crossed a thread as the encoder wants them.
 */
import type { RequestContext } from '../context.js';

/** Bytes that crossed a thread arrive as a plain Uint8Array; the encoder wants a Buffer. */
export { asBuffer } from '../../storage/record-batch.js';

/** The request's client id, as members report it in DescribeGroups. */
export function clientIdOf(ctx: RequestContext): string {
  return ctx.header.clientId ?? '';
}
