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
