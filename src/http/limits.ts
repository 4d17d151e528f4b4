/** Every bound of the HTTP gateway and the console's APIs in one place. */
export const httpLimits = {
  /** Largest JSON request body. */
  bodyBytesMax: 64 * 1024,
  /** Largest JSON reply of `POST /api/actors/:id/send`; a bigger reply is refused, not truncated. */
  sendReplyBytesMax: 1024 * 1024,
  /** How long `send` waits for the actor's reply. */
  sendTimeoutMs: 10_000,
  /** Records the message browser returns per page, and bytes it reads per step from a partition. */
  browseRecordsMax: 500,
  browseReadBytes: 1024 * 1024,
  /** Bytes a search scans before it returns what it found and where to continue. */
  browseScanBytesMax: 16 * 1024 * 1024,
  /** A key, value or header value longer than this is cut in the browser and the tail (flagged). */
  displayValueBytesMax: 16 * 1024,
  /** Live tail: open WebSockets, and bytes queued on one socket before records are skipped. */
  tailSocketsMax: 64,
  tailBufferedBytesMax: 4 * 1024 * 1024,
  /** Records one tail pushes per partition per wake-up (the rest follow on the next wake-up). */
  tailRecordsPerWake: 200,
  /** Static console files are small; anything bigger in the folder is not served. */
  staticFileBytesMax: 2 * 1024 * 1024,
} as const;
