/**
 * What an actor is, as seen by the thread that hosts it.
 *
 * An actor lives on exactly one worker thread and handles its messages one turn at a time: the
 * host hands it every message that queued up since its last turn, in order, and the actor
 * answers each. Handing over the whole queue at once is what lets a partition actor commit many
 * appends in one SQLite transaction (group commit) instead of one transaction per message.
 *
 * Expected failures (a corrupt batch, an offset out of range) are `{ ok: false }` outcomes.
 * Throwing (or rejecting) means the actor itself is broken: the host stops it, answers its
 * queued messages with ACTOR_FAILED, and reports it to the supervisor, which decides whether to
 * restart it (TigerBeetle's rule: an assertion failure is a bug that crashes the actor; an
 * expected failure is an error value).
 */
import type { Emitter } from './events.js';
import type { SerializedError } from './envelope.js';

export type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: SerializedError }
  | DeferredOutcome;

/**
 * An answer the actor gives later (a JoinGroup that waits for the rest of its group). The host
 * keeps the ask open; the actor calls `complete` exactly once, from any later turn. The ask still
 * counts against the sender's mailbox credit until then, so actors bound how many they defer.
 */
export interface DeferredOutcome {
  readonly ok: 'deferred';
  /** Called by the host with the function that sends the reply. */
  bind(send: (o: Outcome) => void): void;
}

/** Creates a deferred answer: put `outcome` in the turn's results and call `complete` later. */
export function deferred(): { outcome: DeferredOutcome; complete(o: Exclude<Outcome, DeferredOutcome>): void } {
  let send: ((o: Outcome) => void) | undefined;
  let early: Outcome | undefined;
  let done = false;
  return {
    outcome: {
      ok: 'deferred',
      bind(s) {
        send = s;
        if (early) s(early);
      },
    },
    complete(o) {
      if (done) return;
      done = true;
      if (send) send(o);
      else early = o;
    },
  };
}

export interface ActorContext {
  readonly id: string;
  readonly kind: string;
  /** Which worker thread hosts the actor (0-based). */
  readonly threadIndex: number;
  /** The clock every actor reads time from, so tests can inject their own. */
  readonly now: () => number;
  /** Publishes a notification to the main thread; batched with replies, no answer expected. */
  notify(event: unknown): void;
  /** Lifecycle events inside this thread (see `ThreadEvents`). */
  readonly events: Emitter<ThreadEvents>;
}

export interface Actor {
  /** Handles the messages queued since the last turn, in order: one outcome per message. */
  receive(messages: readonly unknown[]): Outcome[] | Promise<Outcome[]>;
  /** A plain-data view of the actor's state for the console and `brook actors`. */
  inspect(): unknown;
  /** Releases what the actor owns (a database, timers). Called once, on stop, move or failure. */
  stop(): void | Promise<void>;
}

export type ActorFactory = (ctx: ActorContext, config: unknown) => Actor | Promise<Actor>;

/** Lifecycle events that fan out inside one thread (mitt). */
export type ThreadEvents = {
  started: { actorId: string; kind: string };
  stopped: { actorId: string; reason: string };
  failed: { actorId: string; error: SerializedError };
};

export function ok(value: unknown): Outcome {
  return { ok: true, value };
}

export function fail(error: SerializedError | { name?: string; message: string; code?: string }): Outcome {
  return { ok: false, error: { name: error.name ?? 'Error', message: error.message, code: error.code } };
}
