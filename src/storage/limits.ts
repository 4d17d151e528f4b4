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
 * Largest records field of one append, so a single transaction cannot grow without limit.
 * Kafka bounds it by segment.bytes; ours are logical segments and may be smaller.
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

/**
 * Schema version written to the meta table; bumped on any incompatible schema change.
 * Version 2 added the segments table and batches.delete_horizon_ms; version 3 added
 * batches.append_time_ms (the wall-clock time the broker appended the batch, which time
 * retention never deletes within retention.ms of); version 4 added the leader_epochs table
 * (the leader-epoch cache, seeded from the stored batches' leader epochs). Older logs are
 * migrated on open.
 */
export const schemaVersion = 4;

/** Default number of batches one enforceRetention call may delete, so one tick stays short. */
export const retentionBatchesPerStepDefault = 1_000;

/** Default bytes one compactStep call may read or decompress: about 10 ms uncompressed, 10-120 ms compressed (bench/lifecycle.mjs). */
export const compactionBytesPerStepDefault = 1024 * 1024;

/**
 * Most distinct keys one cleaning pass indexes (Kafka bounds its offset map by
 * log.cleaner.dedupe.buffer.size the same way): when the map is full, the pass cleans the
 * dirty range indexed so far and the next pass continues from there.
 */
export const compactionKeysMax = 1_000_000;

/** Kafka's RecordBatch magic for the v2 format, the only one we store. */
export const currentMagic = 2;
