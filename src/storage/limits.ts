/**
 * Every bound of the storage layer, named in one place. Values that a topic config can
 * override (max.message.bytes) are defaults here and options on PartitionLog.open.
 */

/** Size of the fixed RecordBatch v2 header, up to and including recordCount. */
export const batchHeaderBytes = 61;

/**
 * Smallest legal batchLength: the header minus the baseOffset and batchLength fields.
 * A batch with no records at all would be exactly this long, and is still rejected
 * because recordCount must be at least one.
 */
export const minBatchLength = batchHeaderBytes - 12;

/** Smallest encoded record: seven one-byte varints/ints (length, attributes, deltas, key, value, headers). */
export const minRecordBytes = 7;

/** Kafka's default message.max.bytes: the largest single batch accepted (header included). */
export const defaultMaxBatchBytes = 1_048_588;

/**
 * Largest records field of one append. Kafka bounds it by segment.bytes; we have no
 * segments, so this bound only stops a single transaction from growing without limit.
 */
export const maxAppendBytes = 64 * 1024 * 1024;

/** How many recent batches per producer are remembered for duplicate detection (Kafka: 5). */
export const producerBatchesRemembered = 5;

/** Upper bound on records decoded from one batch, to bound iteration of hostile input. */
export const maxRecordsPerBatch = 1_000_000;

/** Upper bound on headers per record, for the same reason. */
export const maxHeadersPerRecord = 100_000;

/** Offsets stay exact JS numbers in this layer. */
export const maxOffset = Number.MAX_SAFE_INTEGER;

/** Schema version written to the meta table; bumped on any incompatible schema change. */
export const schemaVersion = 1;

/** Kafka's RecordBatch magic for the v2 format, the only one we store. */
export const currentMagic = 2;
