/**
 * Turns what went wrong while serving one partition into a Kafka error code. Actor replies carry
 * Kafka error names (StorageError codes are spelled as Kafka's); the runtime's own failures map
 * to retriable codes so that clients refresh metadata and retry rather than give up.
 */
import { KAFKA_ERRORS, errorCode, type KafkaErrorName } from '../protocol/errors.js';

const runtimeCodes: Record<string, KafkaErrorName> = {
  MAILBOX_FULL: 'REQUEST_TIMED_OUT',
  REQUEST_TIMED_OUT: 'REQUEST_TIMED_OUT',
  // The actor is restarting or moving: like a leader change, the client retries after a metadata refresh.
  ACTOR_FAILED: 'NOT_LEADER_OR_FOLLOWER',
  SHUTTING_DOWN: 'NOT_LEADER_OR_FOLLOWER',
  // Failed for good (restart intensity exceeded): the partition's storage is offline.
  ACTOR_UNAVAILABLE: 'KAFKA_STORAGE_ERROR',
};

export function kafkaErrorOf(err: unknown): { code: number; message: string } {
  const name = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof name === 'string') {
    if (name in runtimeCodes) return { code: errorCode(runtimeCodes[name]!), message };
    if (name in KAFKA_ERRORS) return { code: errorCode(name as KafkaErrorName), message };
  }
  return { code: errorCode('UNKNOWN_SERVER_ERROR'), message };
}

export { errorCode };
