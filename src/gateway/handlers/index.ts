/**
 * The gateway's dispatch table: one handler per api, each with the versions Brook advertises.
 * Minimum versions follow KIP-896 (the oldest versions Kafka 4.0 still serves), kept wide enough
 * for librdkafka 2.0.2, which turns features on only when its exact low versions are in range.
 */
import type { HandlerEntry } from '../context.js';
import { adminHandlers } from './admin.js';
import { apiVersions } from './api-versions.js';
import { fetch } from './fetch.js';
import { initProducerId } from './init-producer-id.js';
import { listOffsets } from './list-offsets.js';
import { describeCluster, metadata } from './metadata.js';
import { produce } from './produce.js';

const entries: HandlerEntry[] = [
  apiVersions, metadata, describeCluster, produce, fetch, listOffsets, initProducerId, ...adminHandlers,
] as HandlerEntry[];

const table = new Map<number, HandlerEntry>(entries.map((e) => [e.apiKey, e]));

export function handlerFor(apiKey: number): HandlerEntry | undefined {
  return table.get(apiKey);
}

export function supportedApiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return [...table.values()]
    .map((e) => ({ apiKey: e.apiKey, minVersion: e.minVersion, maxVersion: e.maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey);
}
