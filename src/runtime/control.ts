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

/** What a worker thread reports about itself over the control plane. */
export interface WorkerStats {
  readonly threadIndex: number;
  readonly actors: number;
  /**
   * Event-loop delay (perf_hooks.monitorEventLoopDelay, which is per thread) over the thread's
   * last closed window of `threadStatsWindowMs`, in milliseconds; before the first window
   * closes, since the thread started.
   */
  readonly eventLoopDelayMs: Percentiles;
}

/**
 * A worker thread's own load, measured from the main thread (WorkerHandle) with
 * `worker.performance.eventLoopUtilization()`. Node 20 has no per-thread CPU clock
 * (`process.cpuUsage()` is the whole process's); event-loop utilisation is the share of wall
 * time the thread's loop was not idle waiting for events, so for these threads (JavaScript and
 * synchronous SQLite) it is the thread's CPU share, plus any time blocked in a synchronous
 * syscall such as fsync.
 */
export interface ThreadLoad {
  /** 0..1 over the last sampling interval (see `eventLoopIntervalMs`). */
  readonly eventLoopUtilization: number;
  /** The length of that interval in milliseconds (about `threadStatsWindowMs`). */
  readonly eventLoopIntervalMs: number;
  /** When the interval ended (epoch milliseconds, main thread's clock). */
  readonly eventLoopSampledAt: number;
  /** Since the thread started, for readers that compute utilisation over intervals of their own. */
  readonly eventLoopActiveMsTotal: number;
  readonly eventLoopIdleMsTotal: number;
}

/** A thread's figures as the supervisor reports them: the thread's own, and its load. */
export type ThreadStats = WorkerStats & ThreadLoad;

/** What a stopped actor leaves behind: when it wants to run again (ms since the epoch), or null for never. */
export interface StopResult {
  readonly wakeAtMs: number | null;
}

/** The API each worker thread exposes to the supervisor through comlink. */
export interface WorkerControl {
  spawn(actorId: string, kind: string, config: unknown): Promise<void>;
  /**
   * Stops the actor and releases what it owns; any messages still queued fail with
   * ACTOR_UNAVAILABLE. Answers when the actor wants to be woken again (Actor.nextWakeAtMs), for
   * a passivated actor's maintenance.
   */
  stop(actorId: string, reason: string): Promise<StopResult>;
  inspect(actorId: string): Promise<ActorInspection | null>;
  list(): Promise<ActorInspection[]>;
  stats(): Promise<WorkerStats>;
}
