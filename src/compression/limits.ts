/**
 * Every bound the compression layer enforces, in one place. A compressed batch is peer input,
 * so decompression stops at a fixed output size rather than trusting a ratio: a 1 MiB zstd
 * frame can expand to gigabytes.
 */

/** Largest output any decompress call will produce (the broker's largest batch is far smaller). */
export const DECOMPRESSED_BYTES_MAX = 128 * 1024 * 1024;

/** Snappy's own framing (xerial) chunks are at most this long, compressed, as the Java writer makes them. */
export const XERIAL_CHUNK_BYTES_MAX = 64 * 1024 * 1024;

/** Default compression levels: each codec's own default, the same the Java client uses. */
export const GZIP_LEVEL_DEFAULT = 6;
export const ZSTD_LEVEL_DEFAULT = 3;

/** The CPU pool's bounds (src/compression/cpu-pool.ts); node settings override threads and queueMax. */
export interface CpuPoolSettings {
  /** Pool threads per worker thread that uses the pool; 0 runs every task inline. */
  readonly threads: number;
  /** Tasks waiting in the pool's queue at most; past it callers wait for room (backpressure). */
  readonly queueMax: number;
  /** Callers waiting for room at most; past it a call fails at once (CpuPoolBusyError). */
  readonly waitersMax: number;
  /** How long a caller waits for room before its call fails (CpuPoolBusyError). */
  readonly queueWaitTimeoutMs: number;
  /** Inputs smaller than this run inline: the hop to a pool thread costs more than the work. */
  readonly inlineBytesMax: number;
  /** A pool thread without work for this long exits (the pool starts threads again on demand). */
  readonly idleTimeoutMs: number;
}

export const CPU_POOL_DEFAULTS: CpuPoolSettings = Object.freeze({
  threads: 1,
  queueMax: 64,
  waitersMax: 1024,
  queueWaitTimeoutMs: 10_000,
  inlineBytesMax: 16 * 1024,
  idleTimeoutMs: 30_000,
});
