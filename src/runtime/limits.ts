/**
 * Every bound of the actor runtime, in one place (TigerBeetle's habit). Each can be overridden
 * per runtime through `RuntimeOptions`; these are the defaults.
 */
export const runtimeDefaults = {
  /**
   * Messages an actor may have queued or in progress at once. Beyond it, messages wait in the
   * sender-side buffer below, so a slow actor's queue never grows without bound.
   */
  mailboxCapacity: 1024,
  /**
   * Messages that may wait on the main thread for a full mailbox, or for an actor that is
   * restarting or moving. Beyond it `ask` fails at once with MAILBOX_FULL.
   */
  pendingCapacity: 4096,
  /** Default time an `ask` waits for its reply. */
  askTimeoutMs: 30_000,
  /** Restart intensity: at most `maxRestarts` restarts within `restartWindowMs`, then failed. */
  maxRestarts: 5,
  restartWindowMs: 30_000,
  /**
   * Replacement threads: at most this many worker threads are replaced within the window. A
   * thread that cannot stay up (a broken build, a native crash on load) would otherwise be
   * replaced forever; past the bound its actors go to the remaining threads, or fail.
   */
  threadReplacementsMax: 10,
  threadReplacementWindowMs: 60_000,
  /** Exponential backoff between restarts of one actor: min * 2^(n-1), capped at max. */
  restartBackoffMinMs: 50,
  restartBackoffMaxMs: 5_000,
  /** How long a move waits for an actor's in-flight messages to drain before giving up. */
  moveDrainTimeoutMs: 10_000,
  /** How long a control-plane call (spawn, stop, inspect) may take. */
  controlTimeoutMs: 30_000,
  /** Envelopes in one postMessage batch; a larger backlog is split across several posts. */
  batchEnvelopesMax: 4096,
} as const;

export type RuntimeLimits = { -readonly [K in keyof typeof runtimeDefaults]: number };

/**
 * The window of each worker thread's load figures: the main thread samples every thread's
 * event-loop utilisation this often, and each thread closes its event-loop delay histogram this
 * often. Every reader (the console, /metrics, the CLI) sees the last closed window, so one
 * reader's polling never shortens the interval another reader is shown. It is not a per-runtime
 * limit: the worker threads read it here, as they start.
 */
export const threadStatsWindowMs = 2_000;
