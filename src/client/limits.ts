/**
 * Every default and bound of Brook's client, in one place. Each is a per-client option unless
 * it says otherwise; the names follow Kafka's Java client settings where one exists
 * (batch.size is batchBytes, linger.ms is lingerMs, buffer.memory is bufferMemoryBytes).
 */

// Connections.
/** A TCP connect plus the ApiVersions handshake must finish within this. */
export const CONNECT_TIMEOUT_MS_DEFAULT = 10_000;
/** A request without a response after this fails with RequestTimeoutError (Java's request.timeout.ms). */
export const REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
/**
 * Requests in flight on one connection. Beyond this, request() waits (with the request timeout)
 * for a slot: the socket's write buffer and the broker's pipeline never grow without bound.
 */
export const CONNECTION_IN_FLIGHT_MAX = 64;
/** Bytes of the buffer each connection reads small responses into (reused, one per connection). */
export const READ_BUFFER_BYTES = 64 * 1024;
/** Responses at least this large are read straight into a buffer of their own instead. */
export const DIRECT_FRAME_BYTES_MIN = 16 * 1024;
/** A response frame larger than this closes the connection: the peer is broken or hostile. */
export const RESPONSE_FRAME_BYTES_MAX = 256 * 1024 * 1024;
/** Reconnect and retry backoff: exponential from the first to the max, with 20% jitter. */
export const RETRY_BACKOFF_MS_DEFAULT = 100;
export const RETRY_BACKOFF_MS_MAX = 1_000;
/** Attempts of a metadata-style request (admin calls, metadata refresh, coordinator lookup). */
export const REQUEST_ATTEMPTS_MAX = 8;

// Metadata.
/** Cached metadata older than this is refreshed on next use (Java's metadata.max.age.ms). */
export const METADATA_MAX_AGE_MS_DEFAULT = 5 * 60_000;

// Producer.
/**
 * Largest record batch, in bytes (Java's batch.size). 1,000,000 is librdkafka's default, not the
 * Java client's 16 KiB: Brook's broker stores and acknowledges per batch, and measured with
 * bench/clients.mjs, 16 KiB batches produced 1 KiB records at 44 MB/s where 1 MB batches reach
 * 146 MB/s. The limit costs no latency (a batch leaves on linger or an idle broker, not only
 * when full) and no idle memory (a batch buffer starts at 16 KiB and doubles as records come).
 */
export const BATCH_BYTES_DEFAULT = 1_000_000;
/**
 * How long a non-full batch waits for more records (Java's linger.ms). 5 ms is Kafka 4.0's
 * default (KIP-1030): a few ms of latency buy batches many times larger under load. A batch
 * whose leader has no produce request in flight is sent at once instead (see Producer), so a
 * lone `await send()` does not pay the linger.
 */
export const LINGER_MS_DEFAULT = 5;
/** Records buffered but not yet acknowledged, in bytes (Java's buffer.memory). */
export const BUFFER_MEMORY_BYTES_DEFAULT = 32 * 1024 * 1024;
/** How long send() waits for buffer memory or metadata before failing (Java's max.block.ms). */
export const MAX_BLOCK_MS_DEFAULT = 60_000;
/** A record is given up on this long after send() (Java's delivery.timeout.ms). */
export const DELIVERY_TIMEOUT_MS_DEFAULT = 120_000;
/** Largest produce request, in bytes (Java's max.request.size). */
export const MAX_REQUEST_BYTES_DEFAULT = 1024 * 1024;
/**
 * Produce requests in flight per broker connection. With idempotence Kafka's broker keeps the
 * last five batches per producer for duplicate detection, so five is the ceiling there.
 */
export const PRODUCER_IN_FLIGHT_MAX_DEFAULT = 5;
export const IDEMPOTENT_IN_FLIGHT_MAX = 5;
/** Broker-side timeout sent in each Produce request. */
export const PRODUCE_TIMEOUT_MS_DEFAULT = 30_000;

// Consumer.
/** Bytes of fetched but not yet consumed records held per consumer (prefetch). */
export const PREFETCH_BYTES_MAX_DEFAULT = 32 * 1024 * 1024;
/** Fetch request bounds (Java's fetch.max.bytes, max.partition.fetch.bytes, fetch.max.wait.ms). */
export const FETCH_MAX_BYTES_DEFAULT = 16 * 1024 * 1024;
export const FETCH_PARTITION_MAX_BYTES_DEFAULT = 4 * 1024 * 1024;
export const FETCH_MAX_WAIT_MS_DEFAULT = 500;
export const FETCH_MIN_BYTES_DEFAULT = 1;
/** Group timings, as the Java consumer's defaults. */
export const SESSION_TIMEOUT_MS_DEFAULT = 45_000;
export const REBALANCE_TIMEOUT_MS_DEFAULT = 60_000;
export const HEARTBEAT_INTERVAL_MS_DEFAULT = 3_000;
export const AUTO_COMMIT_INTERVAL_MS_DEFAULT = 5_000;
/** Join/sync rounds of one rebalance before the consumer gives up and reports an error. */
export const REBALANCE_ROUNDS_MAX = 20;
/** Records a single eachBatch call or iterator chunk carries at most. */
export const BATCH_RECORDS_MAX = 10_000;
