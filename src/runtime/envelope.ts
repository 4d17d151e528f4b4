/**
 * The data-plane envelopes that cross between the main thread and a worker host.
 *
 * Every envelope travels inside a batch (an array posted in one `postMessage` call, with the
 * ArrayBuffers it carries in the transfer list), because a MessagePort round trip costs about
 * 20 µs while a batch of 64 costs little more than one (shared/design/PERFORMANCE.md). The
 * control plane (spawn, stop, inspect) does not use these: it goes through comlink, see
 * `control.ts`.
 */

/** A request for an actor: the reply is matched to `id` on the sending side. */
export interface AskEnvelope {
  readonly k: 'ask';
  readonly id: number;
  readonly to: string;
  readonly msg: unknown;
}

/** The answer to one `AskEnvelope`. */
export interface ReplyEnvelope {
  readonly k: 'reply';
  readonly id: number;
  readonly ok: boolean;
  /** The reply value when `ok`; a `SerializedError` otherwise. */
  readonly value: unknown;
}

/**
 * An actor threw while handling a message (or while starting): it has been stopped on its
 * worker and every message still in its mailbox was answered with an error. The supervisor on
 * the main thread decides whether to restart it.
 */
export interface ActorFailedEnvelope {
  readonly k: 'failed';
  readonly actorId: string;
  readonly error: SerializedError;
}

/**
 * A notification an actor publishes to whoever routes to it (for example a partition's high
 * watermark moved, which wakes long-polling fetches). Notifications carry no reply.
 */
export interface NotifyEnvelope {
  readonly k: 'notify';
  readonly actorId: string;
  readonly event: unknown;
}

export type ToWorker = AskEnvelope;
export type FromWorker = ReplyEnvelope | ActorFailedEnvelope | NotifyEnvelope;

/** Errors cross threads as plain data; `code` carries a Kafka error name where one applies. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      code: typeof code === 'string' ? code : undefined,
      stack: err.stack,
    };
  }
  return { name: 'Error', message: String(err) };
}

/**
 * An error that came back from an actor on another thread. `code` is the Kafka error name the
 * actor chose (for example CORRUPT_MESSAGE), or one of the runtime's own codes below.
 */
export class RemoteActorError extends Error {
  readonly code: string | undefined;
  constructor(e: SerializedError) {
    super(e.message);
    this.name = e.name;
    this.code = e.code;
    if (e.stack) this.stack = e.stack;
  }
}

/**
 * Marks transferable buffers on a reply: the worker host puts `transfer` in the postMessage
 * transfer list instead of copying. A buffer that is transferred is unusable by the sender
 * afterwards, so only buffers the actor no longer needs may be listed.
 */
export interface Transferable {
  readonly transfer?: ArrayBuffer[];
}

export function withTransfer<T extends object>(value: T, transfer: ArrayBuffer[]): T & Transferable {
  return Object.assign(value, { transfer });
}
