/**
 * The runtime's own failures. Each carries a `code` so the gateway can turn it into a Kafka
 * error code without string matching: a request the runtime could not deliver or answer is a
 * retriable condition for a Kafka client, never a hang.
 */

export type RuntimeErrorCode =
  /** The actor's mailbox and its bounded waiting buffer are both full: the sender must back off. */
  | 'MAILBOX_FULL'
  /** No reply came within the ask's timeout. */
  | 'REQUEST_TIMED_OUT'
  /** The actor failed (or its thread died) while the message was queued or being handled. */
  | 'ACTOR_FAILED'
  /** The actor is unknown, stopped, or marked failed after breaching its restart intensity. */
  | 'ACTOR_UNAVAILABLE'
  /** The runtime is shutting down. */
  | 'SHUTTING_DOWN';

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  constructor(code: RuntimeErrorCode, message: string) {
    super(message);
    this.name = 'RuntimeError';
    this.code = code;
  }
}
