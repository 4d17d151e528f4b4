/** The Kafka gateway's bounds, in one place. Per-node settings (frame cap, connections, idle timeout) live in config.ts. */
export const gatewayLimits = {
  /**
   * Largest frame accepted before a connection has sent one well-formed request. Clients open
   * with ApiVersions (tiny); kafka-python may open with a produce of up to its 1 MiB
   * max_request_size, hence a little over 1 MiB rather than a few KiB.
   */
  untrustedFrameBytesMax: 1024 * 1024 + 64 * 1024,
  /** The smallest request: api key, api version and correlation id (request header v0). */
  requestHeaderBytesMin: 8,
  /** Requests one connection may have in flight; reading pauses beyond it (Kafka's queued.max.requests is per broker). */
  inFlightRequestsMax: 128,
  /** Bytes waiting in a socket's write buffer before reading from it pauses. */
  writeBufferBytesMax: 64 * 1024 * 1024,
  /** Largest fetch response in record bytes, whatever max_bytes asks (Kafka's fetch.max.bytes default). */
  fetchBytesMax: 57_671_680,
  /** Record bytes one fetch asks of its partitions at once; partitions beyond wait for the next wave. */
  fetchWaveBytesMax: 64 * 1024 * 1024,
  /** Longest long poll a fetch may ask for (max_wait_ms is clamped to it). */
  fetchWaitMsMax: 60_000,
} as const;
