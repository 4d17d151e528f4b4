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
import type { MessageOf, Protocol, ReplyOf } from './protocol.js';

/** The answer to one message: its reply `R`, an expected failure, or an answer given later. */
export type Outcome<R = unknown> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: SerializedError } | DeferredOutcome<R>;

/**
 * An answer the actor gives later (a JoinGroup that waits for the rest of its group). The host
 * keeps the ask open; the actor calls `complete` exactly once, from any later turn. The ask still
 * counts against the sender's mailbox credit until then, so actors bound how many they defer.
 */
export interface DeferredOutcome<R = unknown> {
  readonly ok: 'deferred';
  /** Called by the host with the function that sends the reply. */
  bind(send: (o: Outcome<R>) => void): void;
}

/** Creates a deferred answer: put `outcome` in the turn's results and call `complete` later. */
export function deferred<R = unknown>(): { outcome: DeferredOutcome<R>; complete(o: Exclude<Outcome<R>, DeferredOutcome<R>>): void } {
  let send: ((o: Outcome<R>) => void) | undefined;
  let early: Outcome<R> | undefined;
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

/** Cancels a message scheduled with `ActorContext.schedule` that has not been delivered yet. */
export type CancelScheduled = () => void;

export interface ActorContext<P extends Protocol = Protocol> {
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
  /**
   * Delivers `msg` to this actor after `delayMs`, through its mailbox, as any other message:
   * work an actor does on a timer runs as one of its turns, so a tick that throws fails the
   * actor (and the supervisor restarts it) at once, not at the next unrelated message. Nobody
   * waits for the answer; an error outcome is dropped. Scheduled messages die with the actor.
   */
  schedule(msg: MessageOf<P>, delayMs: number): CancelScheduled;
}

export interface Actor<P extends Protocol = Protocol> {
  /** Handles the messages queued since the last turn, in order: one outcome per message. */
  receive(messages: readonly MessageOf<P>[]): Outcome[] | Promise<Outcome[]>;
  /** A plain-data view of the actor's state for the console and `brook actors`. */
  inspect(): unknown;
  /** Releases what the actor owns (a database, timers). Called once, on stop, move or failure. */
  stop(): void | Promise<void>;
  /**
   * When, once stopped (passivated), it must run again for work of its own (a partition's next
   * retention deletion), in ms since the epoch; null or absent for never. Asked just before stop.
   */
  nextWakeAtMs?(): number | null;
}

/**
 * Starts an actor of one kind. The host cannot check what crosses threads, so a factory takes
 * the context and config as the runtime has them and the kind's registry entry narrows them.
 */
export type ActorFactory = (ctx: ActorContext, config: unknown) => Actor | Promise<Actor>;

/**
 * Registers a kind's factory, typed by its protocol, under the host's untyped one. This is the
 * one place the runtime trusts that what arrives at an actor is of its protocol: every ask
 * that reaches it was typed by its sender (`Supervisor.ask`), or is the console's debugging
 * route, which checks the message type by name.
 */
export function actorKind<P extends Protocol>(factory: (ctx: ActorContext<P>, config: unknown) => Actor<P> | Promise<Actor<P>>): ActorFactory {
  return factory as unknown as ActorFactory;
}

/**
 * An actor's dispatch table: one handler per message type `K` of `P`, each answering with that
 * message's reply, so the compiler checks every answer against the protocol and a type
 * without a handler is an error. `A` are extra arguments the actor passes (its clock reading).
 */
export type Handlers<P extends Protocol, K extends keyof P & string = keyof P & string, A extends unknown[] = []> = {
  readonly [T in K]: (m: MessageOf<P, T>, ...args: A) => Outcome<ReplyOf<P, T>>;
};

/** Lifecycle events that fan out inside one thread (mitt). */
export type ThreadEvents = {
  started: { actorId: string; kind: string };
  stopped: { actorId: string; reason: string };
  failed: { actorId: string; error: SerializedError };
};

export function ok<R>(value: R): { readonly ok: true; readonly value: R } {
  return { ok: true, value };
}

export function fail(error: SerializedError | { name?: string; message: string; code?: string }): { readonly ok: false; readonly error: SerializedError } {
  return { ok: false, error: { name: error.name ?? 'Error', message: error.message, code: error.code } };
}
