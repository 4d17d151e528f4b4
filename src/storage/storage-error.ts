/**
 * Expected storage failures, as values the partition actor turns into Kafka error codes.
 * Each code is spelled exactly as the Kafka error it maps to; a bug is never a StorageError
 * but a plain Error (an assertion), which crashes the owning actor.
 */

export type StorageErrorCode =
  | 'OFFSET_OUT_OF_RANGE'
  | 'CORRUPT_MESSAGE'
  | 'MESSAGE_TOO_LARGE'
  | 'RECORD_LIST_TOO_LARGE'
  | 'INVALID_TIMESTAMP'
  | 'UNSUPPORTED_FOR_MESSAGE_FORMAT'
  | 'OUT_OF_ORDER_SEQUENCE_NUMBER'
  | 'INVALID_PRODUCER_EPOCH'
  | 'KAFKA_STORAGE_ERROR'
  | 'INVALID_RECORD';

/** The numeric Kafka error code of each StorageErrorCode, as on the wire. */
export const kafkaErrorCodes: Readonly<Record<StorageErrorCode, number>> = {
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  MESSAGE_TOO_LARGE: 10,
  RECORD_LIST_TOO_LARGE: 18,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  INVALID_PRODUCER_EPOCH: 47,
  KAFKA_STORAGE_ERROR: 56,
  INVALID_RECORD: 87,
};

export class StorageError extends Error {
  override readonly name = 'StorageError';

  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The Kafka wire error code for this error. */
  get kafkaErrorCode(): number {
    return kafkaErrorCodes[this.code];
  }
}

/** Throws a plain Error: for invariants whose violation is a bug, not an expected failure. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`storage invariant violated: ${message}`);
}
