/**
 * ApiVersions 0-4 (main thread): the apis this node serves and the versions it accepts.
 */
import { handler, type HandlerEntry } from '../context.js';

/** One api as ApiVersions advertises it. */
export interface AdvertisedApi {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/**
 * ApiVersions 0-4: every api Brook serves with the versions it accepts. The dispatch table
 * (index.ts) hands in its own list, so this handler does not import the table that holds it.
 */
export function apiVersionsHandler(supported: () => AdvertisedApi[]): HandlerEntry<18> {
  return handler(18, 0, 4, () => ({
    errorCode: 0,
    apiKeys: supported(),
    throttleTimeMs: 0,
  }));
}
