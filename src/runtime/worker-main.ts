/**
 * The entry point of every worker thread. It imports the registry of actor kinds the supervisor
 * was started with (`SupervisorOptions.actorKinds`, a module URL: the runtime does not import
 * the actors it hosts), builds a ThreadHost with it, exposes its control API through comlink on
 * the port the supervisor passed in, and carries data-plane batches on the worker's parent port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { ActorFactory } from './actor.js';
import type { ToWorker } from './envelope.js';
import { ThreadHost } from './thread-host.js';
import { portCheckpointer, useWalCheckpointer } from '../storage/wal-checkpointer.js';

export interface WorkerBoot {
  readonly threadIndex: number;
  readonly controlPort: MessagePort;
  /** The URL of a module exporting `actorKinds: ReadonlyMap<string, ActorFactory>`. */
  readonly actorKindsUrl: string;
  /** Ports to services outside the runtime (SupervisorOptions.threadPorts). */
  readonly ports: Record<string, MessagePort>;
}

const boot = workerData as WorkerBoot;
const port = parentPort;
if (!port) throw new Error('worker-main must run inside a worker thread');

const checkpointerPort = boot.ports.walCheckpointer;
if (checkpointerPort) useWalCheckpointer(portCheckpointer(checkpointerPort));

const registry = (await import(boot.actorKindsUrl)) as { actorKinds?: ReadonlyMap<string, ActorFactory> };
if (!(registry.actorKinds instanceof Map)) throw new Error(`${boot.actorKindsUrl} exports no actorKinds map`);
const { actorKinds } = registry;

const host = new ThreadHost(boot.threadIndex, actorKinds, {
  post: (batch, transfer) => port.postMessage(batch, transfer),
});
port.on('message', (batch: ToWorker[]) => host.deliver(batch));
Comlink.expose(host, nodeEndpoint(boot.controlPort as unknown as Parameters<typeof nodeEndpoint>[0]));
