/**
 * What went wrong in an ask, as a Kafka error code (main thread). Actor replies carry Kafka
 * error names (StorageError codes are spelled as Kafka's); the runtime's own failures map to
 * retriable codes, so that clients refresh metadata and retry rather than give up. Partitions
 * and group coordinators map the runtime's failures differently, as Kafka's brokers answer
 * differently for a partition and for a coordinator that is moving or loading.
 */
import { KAFKA_ERRORS, errorCode, type KafkaErrorName } from '../protocol/errors.js';

/** An ask's result as the Kafka and HTTP gateways use it: never a rejection. */
export type AskResult<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly code: number; readonly message: string };

const partitionRuntimeCodes: Record<string, KafkaErrorName> = {
  MAILBOX_FULL: 'REQUEST_TIMED_OUT',
  REQUEST_TIMED_OUT: 'REQUEST_TIMED_OUT',
  // The actor is restarting or moving: like a leader change, the client retries after a metadata refresh.
  ACTOR_FAILED: 'NOT_LEADER_OR_FOLLOWER',
  SHUTTING_DOWN: 'NOT_LEADER_OR_FOLLOWER',
  // Failed for good (restart intensity exceeded): the partition's storage is offline.
  ACTOR_UNAVAILABLE: 'KAFKA_STORAGE_ERROR',
};

/** A failed ask of a partition (its leader actor), as Kafka's code. */
export function partitionErrorOf(err: unknown): { code: number; message: string } {
  const name = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof name === 'string') {
    if (name in partitionRuntimeCodes) return { code: errorCode(partitionRuntimeCodes[name]!), message };
    if (name in KAFKA_ERRORS) return { code: errorCode(name as KafkaErrorName), message };
  }
  return { code: errorCode('UNKNOWN_SERVER_ERROR'), message };
}

/**
 * A failed ask of a group coordinator, as Kafka's code: a restarting coordinator is loading,
 * anything else the runtime reports is unavailable (clients retry both).
 */
export function coordinatorErrorOf(err: unknown): { code: number; message: string } {
  const name = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (name === 'ACTOR_FAILED') return { code: errorCode('COORDINATOR_LOAD_IN_PROGRESS'), message };
  if (typeof name === 'string' && name in KAFKA_ERRORS) return { code: errorCode(name as KafkaErrorName), message };
  return { code: errorCode('COORDINATOR_NOT_AVAILABLE'), message };
}

/** A routing failure as an ask result. */
export function refused<R>(error: KafkaErrorName): AskResult<R> {
  return { ok: false, code: errorCode(error), message: error };
}
