/**
 * WorkerHandle: the supervisor's view of one worker thread. Lives on the main thread.
 *
 * It owns the thread, batches outgoing asks into one postMessage per event-loop turn (with the
 * ArrayBuffers they carry transferred, not copied), matches replies to asks, and reports the
 * thread's death. It does not decide anything: supervision is `Supervisor`'s job.
 *
 * Invariant: every ask handed to `send` ends in exactly one `onSettled` call (a reply, or the
 * thread's exit), which is what keeps the supervisor's per-actor in-flight counts exact.
 */
import type { EventLoopUtilization } from 'node:perf_hooks';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { ThreadLoad, WorkerControl } from './control.js';
import type { FromWorker, SerializedError, ToWorker } from './envelope.js';
import { RuntimeError } from './errors.js';
import { runtimeDefaults, threadStatsWindowMs } from './limits.js';
import type { WorkerBoot } from './worker-main.js';

export interface SentAsk {
  readonly actorId: string;
  readonly msg: unknown;
  readonly transfer: readonly ArrayBuffer[] | undefined;
  /** Called once with the outcome; `ok=false` carries a SerializedError. */
  settle(ok: boolean, value: unknown): void;
}

export interface WorkerHandleEvents {
  onReply(ask: SentAsk): void;
  onActorFailed(handle: WorkerHandle, actorId: string, error: SerializedError): void;
  onNotify(actorId: string, event: unknown): void;
  onExit(handle: WorkerHandle, reason: string): void;
}

/**
 * The compiled worker entry. Tests run the TypeScript sources directly (vitest transforms them),
 * but a worker thread needs plain JavaScript, so from a `.ts` module we point at the build
 * output, which `npm test` produces first.
 */
function workerEntryUrl(): URL {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith('.ts')) return new URL('../../dist/src/runtime/worker-main.js', here);
  return new URL('./worker-main.js', here);
}

export class WorkerHandle {
  /**
   * The thread's control API. Every call settles: a comlink call to a thread that died would
   * never answer, so each one races the thread's exit and then fails with ACTOR_FAILED.
   */
  readonly control: WorkerControl;
  private readonly remote: Comlink.Remote<WorkerControl>;
  private readonly exitedWith: Promise<string>;
  private resolveExit!: (reason: string) => void;
  private readonly worker: Worker;
  private readonly inFlight = new Map<number, SentAsk>();
  private outbox: ToWorker[] = [];
  private outTransfer: ArrayBuffer[] = [];
  private flushScheduled = false;
  private nextId = 1;
  private exited = false;
  /**
   * The thread's event-loop utilisation, sampled from this (main) thread every
   * `threadStatsWindowMs` through `worker.performance`: reading it needs nothing from the
   * thread, so a thread stuck in a long synchronous turn is measured, not waited for, and the
   * figure is the same for every reader until the next sample.
   */
  private eluSample: EventLoopUtilization | null = null;
  private load: ThreadLoad | null = null;
  private readonly eluTimer: NodeJS.Timeout;

  constructor(
    readonly threadIndex: number,
    /** The registry module the thread imports its actor kinds from (SupervisorOptions.actorKinds). */
    actorKindsUrl: string,
    ports: Record<string, MessagePort>,
    private readonly events: WorkerHandleEvents,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.worker = new Worker(workerEntryUrl(), {
      workerData: { threadIndex, controlPort: port2, actorKindsUrl, ports } satisfies WorkerBoot,
      transferList: [port2, ...Object.values(ports)],
      name: `brook-worker-${threadIndex}`,
    });
    this.remote = Comlink.wrap<WorkerControl>(nodeEndpoint(port1 as unknown as Parameters<typeof nodeEndpoint>[0]));
    this.exitedWith = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
    const r = this.remote;
    this.control = {
      spawn: (id, kind, config) => this.guard(r.spawn(id, kind, config)),
      stop: (id, reason) => this.guard(r.stop(id, reason)),
      inspect: (id) => this.guard(r.inspect(id)),
      list: () => this.guard(r.list()),
      stats: () => this.guard(r.stats()),
    };
    this.eluTimer = setInterval(() => this.sampleEventLoop(), threadStatsWindowMs);
    this.eluTimer.unref();
    this.worker.on('online', () => {
      this.eluSample = this.worker.performance.eventLoopUtilization();
    });
    this.worker.on('message', (batch: FromWorker[]) => this.receive(batch));
    this.worker.on('error', (err) => this.exit(`thread threw: ${err.message}`));
    this.worker.on('exit', (code) => this.exit(`thread exited with code ${code}`));
  }

  get alive(): boolean {
    return !this.exited;
  }

  get threadId(): number {
    return this.worker.threadId;
  }

  /**
   * The thread's event-loop utilisation over the last sampling interval. Until the first
   * interval has closed it is the utilisation since the thread started.
   */
  eventLoopLoad(): ThreadLoad {
    if (this.load) return this.load;
    const total = this.worker.performance.eventLoopUtilization();
    return {
      eventLoopUtilization: total.utilization,
      eventLoopIntervalMs: total.idle + total.active,
      eventLoopSampledAt: Date.now(),
      eventLoopActiveMsTotal: total.active,
      eventLoopIdleMsTotal: total.idle,
    };
  }

  private sampleEventLoop(): void {
    if (this.exited) return;
    const now = this.worker.performance.eventLoopUtilization();
    const before = this.eluSample;
    this.eluSample = now;
    // Before the thread is online it reads all zeros; there is no interval to report yet.
    if (!before || now.idle + now.active <= before.idle + before.active) return;
    const d = this.worker.performance.eventLoopUtilization(now, before);
    this.load = {
      eventLoopUtilization: d.utilization,
      eventLoopIntervalMs: d.idle + d.active,
      eventLoopSampledAt: Date.now(),
      eventLoopActiveMsTotal: now.active,
      eventLoopIdleMsTotal: now.idle,
    };
  }

  /** Queues an ask for the next batch to this thread. */
  send(ask: SentAsk): void {
    if (this.exited) {
      ask.settle(false, { name: 'RuntimeError', code: 'ACTOR_FAILED', message: `worker thread ${this.threadIndex} has exited` });
      return;
    }
    const id = this.nextId++;
    this.inFlight.set(id, ask);
    this.outbox.push({ k: 'ask', id, to: ask.actorId, msg: ask.msg });
    if (ask.transfer) for (const b of ask.transfer) this.outTransfer.push(b);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // One postMessage per event-loop turn carries every ask queued in that turn.
      setImmediate(() => this.flush());
    }
  }

  private guard<T>(call: Promise<T>): Promise<T> {
    const died = this.exitedWith.then((reason): never => {
      throw new RuntimeError('ACTOR_FAILED', `worker thread ${this.threadIndex} died (${reason})`);
    });
    return Promise.race([call, died]);
  }

  /** Terminates the thread (shutdown, or a test simulating a crash). */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.exited) return;
    while (this.outbox.length > 0) {
      const batch = this.outbox.length <= runtimeDefaults.batchEnvelopesMax ? this.outbox : this.outbox.slice(0, runtimeDefaults.batchEnvelopesMax);
      this.outbox = batch === this.outbox ? [] : this.outbox.slice(batch.length);
      const transfer = this.outbox.length === 0 ? this.outTransfer : [];
      if (this.outbox.length === 0) this.outTransfer = [];
      this.worker.postMessage(batch, transfer);
    }
  }

  /**
   * Settles the batch's replies before delivering its notifications, though an actor raises a
   * notification during the turn whose replies follow it: the notification's listeners then run
   * their continuations after the replies' callers run theirs. A fetch woken by a partition's
   * HighWatermarkAdvanced thus finds the append that moved it already in the batch cache (filled
   * when the append's reply arrives) instead of missing it and reading the log: with
   * notifications first, 30-45% of a tailing consumer's fetches missed the cache.
   */
  private receive(batch: FromWorker[]): void {
    const notifications: Extract<FromWorker, { k: 'notify' }>[] = [];
    for (const env of batch) {
      switch (env.k) {
        case 'reply': {
          const ask = this.inFlight.get(env.id);
          if (!ask) break;
          this.inFlight.delete(env.id);
          this.events.onReply(ask);
          ask.settle(env.ok, env.value);
          break;
        }
        case 'failed':
          this.events.onActorFailed(this, env.actorId, env.error);
          break;
        case 'notify':
          notifications.push(env);
          break;
        default: {
          const never: never = env;
          throw new Error(`unknown envelope ${JSON.stringify(never)}`);
        }
      }
    }
    for (const env of notifications) this.events.onNotify(env.actorId, env.event);
  }

  private exit(reason: string): void {
    if (this.exited) return;
    this.exited = true;
    clearInterval(this.eluTimer);
    const error = { name: 'RuntimeError', code: 'ACTOR_FAILED', message: `worker thread ${this.threadIndex} died (${reason})` };
    const asks = [...this.inFlight.values()];
    this.inFlight.clear();
    this.outbox = [];
    for (const ask of asks) {
      this.events.onReply(ask);
      ask.settle(false, error);
    }
    this.remote[Comlink.releaseProxy]();
    this.resolveExit(reason);
    this.events.onExit(this, reason);
  }
}
