/**
 * The entry point of every worker thread. It builds a ThreadHost with the actor kinds the
 * project registers (actors/index.ts), exposes its control API through comlink on the port the
 * supervisor passed in, and carries data-plane batches on the worker's parent port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { actorKinds } from '../../actors/index.js';
import type { ToWorker } from './envelope.js';
import { ThreadHost } from './thread-host.js';
import { portCheckpointer, useWalCheckpointer } from '../storage/wal-checkpointer.js';

export interface WorkerBoot {
  readonly threadIndex: number;
  readonly controlPort: MessagePort;
  /** Ports to services outside the runtime (SupervisorOptions.threadPorts). */
  readonly ports: Record<string, MessagePort>;
}

const boot = workerData as WorkerBoot;
const port = parentPort;
if (!port) throw new Error('worker-main must run inside a worker thread');

const checkpointerPort = boot.ports.walCheckpointer;
if (checkpointerPort) useWalCheckpointer(portCheckpointer(checkpointerPort));

const host = new ThreadHost(boot.threadIndex, actorKinds, {
  post: (batch, transfer) => port.postMessage(batch, transfer),
});
port.on('message', (batch: ToWorker[]) => host.deliver(batch));
Comlink.expose(host, nodeEndpoint(boot.controlPort as unknown as Parameters<typeof nodeEndpoint>[0]));
