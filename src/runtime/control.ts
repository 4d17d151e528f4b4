/**
 * The control plane between the supervisor (main thread) and a worker thread, carried by
 * comlink over a dedicated MessagePort. It is for rare, coarse operations (spawn, stop, inspect);
 * the data plane (`envelope.ts`) carries produce and fetch traffic, because comlink is measured
 * at about 25k calls/s against 273k messages/s for batched raw postMessage.
 */

export interface ActorInspection {
  readonly id: string;
  readonly kind: string;
  readonly threadIndex: number;
  /** Messages queued and not yet handed to the actor. */
  readonly mailboxDepth: number;
  readonly busy: boolean;
  readonly messagesHandled: number;
  /** Time messages waited in the mailbox and time spent handling them, in milliseconds. */
  readonly waitMs: Percentiles;
  readonly runMs: Percentiles;
  /** The actor's own view of its state (for a partition: its offsets, epoch, size). */
  readonly state: unknown;
}

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface ThreadStats {
  readonly threadIndex: number;
  readonly actors: number;
  /** Event-loop utilisation since the previous call (0..1). */
  readonly eventLoopUtilization: number;
  /** Event-loop delay (perf_hooks.monitorEventLoopDelay) since the previous call, in milliseconds. */
  readonly eventLoopDelayMs: Percentiles;
  readonly processCpuUserMs: number;
  readonly processCpuSystemMs: number;
}

/** The API each worker thread exposes to the supervisor through comlink. */
export interface WorkerControl {
  spawn(actorId: string, kind: string, config: unknown): Promise<void>;
  /** Stops the actor and releases what it owns; any messages still queued fail with ACTOR_UNAVAILABLE. */
  stop(actorId: string, reason: string): Promise<void>;
  inspect(actorId: string): Promise<ActorInspection | null>;
  list(): Promise<ActorInspection[]>;
  stats(): Promise<ThreadStats>;
}
